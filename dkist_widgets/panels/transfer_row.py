"""One transfer task as a row of the transfer monitor: words, bar, counts, Cancel, events.

Everything shown that comes from Globus or the user (labels, paths, event
descriptions) is escaped. Cancel asks for confirmation before it asks Globus.
Colours are the theme classes of :data:`~.static_assets.THEME_CSS` (readable in
JupyterLab's light and dark themes), never inline colours.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import ipywidgets as w

from ..core.formatting import escape
from ..core.transfers import TaskProgress

if TYPE_CHECKING:  # only for the annotation: the row calls back into its monitor
    from .transfers import TransferMonitor

__all__ = ["TaskRow"]


class TaskRow(w.VBox):
    """One task: words, bar, counts, Cancel (with a confirm step), event log."""

    def __init__(self, monitor: TransferMonitor, progress: TaskProgress):
        self.monitor = monitor
        self.task_id = progress.task_id
        self.title = w.HTML()
        self.status = w.HTML()
        self.bar = w.FloatProgress(value=0.0, min=0.0, max=1.0, layout=w.Layout(width="320px"))
        self.bar.add_class("dkw-task-bar")
        self.info = w.HTML()
        self.cancel_button = w.Button(description="Cancel", icon="stop", layout=w.Layout(width="auto"))
        self.confirm_text = w.HTML("Cancel this transfer? Files already copied stay; the file being copied is dropped.")
        self.confirm_yes = w.Button(description="Yes, cancel it", button_style="danger", layout=w.Layout(width="auto"))
        self.confirm_no = w.Button(description="Keep going", layout=w.Layout(width="auto"))
        self.confirm_row = w.HBox([self.confirm_text, self.confirm_yes, self.confirm_no])
        self.confirm_row.layout.display = "none"
        self.events = w.HTML()
        self.event_log = w.Accordion(children=[self.events])
        self.event_log.set_title(0, "Events (0)")
        self.event_log.selected_index = None
        self.cancel_button.on_click(lambda _b: self._ask())
        self.confirm_no.on_click(lambda _b: self._hide_confirm())
        self.confirm_yes.on_click(lambda _b: self._confirm())
        super().__init__(
            [
                self.title,
                w.HBox([self.status]),
                w.HBox([self.bar, self.info, self.cancel_button]),
                self.confirm_row,
                self.event_log,
            ],
            layout=w.Layout(border="1px solid var(--jp-border-color2, #ddd)", padding="4px", margin="2px 0"),
        )
        self.add_class("dkw-task-row")
        self._last_events: tuple = ()
        self.update(progress)

    def _ask(self) -> None:
        self.confirm_row.layout.display = ""

    def _hide_confirm(self) -> None:
        self.confirm_row.layout.display = "none"

    def _confirm(self) -> None:
        self._hide_confirm()
        self.monitor._cancel_from_row(self.task_id)

    def update(self, p: TaskProgress) -> None:
        self.title.value = (
            f'<b class="dkw-task-label">{escape(p.label or "(no label)")}</b> '
            f'<span class="dkw-muted">task {escape(p.task_id)} &rarr; {escape(p.destination_path)}</span>'
        )
        tone = (
            "dkw-ok"
            if p.succeeded
            else "dkw-error"
            if (p.done and not p.cancelled) or p.faults
            else "dkw-warn"
            if p.cancelled
            else "dkw-text"
        )
        self.status.value = (
            f'<span class="dkw-task-status {tone}" data-status="{escape(p.status)}">{escape(p.words)}</span>'
        )
        self.bar.value = float(p.fraction or 0.0)
        self.bar.bar_style = (
            "success"
            if p.succeeded
            else "danger"
            if p.done and not p.cancelled
            else "warning"
            if p.cancelled or p.faults
            else "info"
        )
        self.info.value = f'<span class="dkw-task-info">{escape(p.text)}</span>'
        self.cancel_button.layout.display = "none" if p.done else ""
        if p.done:
            self._hide_confirm()
        if p.events != self._last_events:
            self._last_events = p.events
            rows = "".join(
                f'<tr><td>{escape(e.get("time") or "")}</td><td class="{"dkw-error" if e.get("is_error") else "dkw-text"}">'
                f"{escape(e.get('code') or '')}</td><td>{escape(e.get('description') or '')}</td></tr>"
                for e in p.events
            )
            self.events.value = f'<table class="dkw-task-events">{rows}</table>' if rows else "<i>no events</i>"
            self.event_log.set_title(0, f"Events ({len(p.events)})")
