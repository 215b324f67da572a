"""FrameStatsPanel: per-frame pixel statistics over the local files, with progress and cancel
(moved out of :mod:`dkist_widgets.panels.preview`, which re-exports it)."""

from __future__ import annotations

import ipywidgets as w

from ..core import pixels as px
from ..core.formatting import escape
from .static_form import StaticForm

__all__ = ["FrameStatsPanel"]


class FrameStatsPanel(StaticForm, w.VBox):
    """Compute per-frame pixel statistics over the local files, with progress and cancel.

    Runs a :class:`~dkist_widgets.core.pixels.StatsJob` as a background job
    (:class:`~dkist_widgets.core.jobs.BackgroundJob`; dask threads, or ``client`` when
    given). When it ends, the statistics are added to
    ``model.headers`` as ``PIX_*`` columns (:func:`~dkist_widgets.core.pixels.add_stats_columns`),
    so a ``HeaderExplorer`` created afterwards plots, thresholds and brushes them like
    r0. ``on_done(job)`` is called (from the worker thread) after that.
    """

    static_title = "Frame statistics"

    def __init__(self, model, *, client=None, n_workers: int = 2, on_done=None, **kwargs):
        super().__init__(**kwargs)
        self.add_class("dkw-frame-stats")
        self.model = model
        self.client = client
        self.n_workers = int(n_workers)
        self.on_done = on_done
        self.job: px.StatsJob | None = None
        self.added: list[str] = []
        self.start_button = w.Button(description="compute statistics", icon="play", layout=w.Layout(width="200px"))
        self.cancel_button = w.Button(description="cancel", icon="stop", disabled=True, layout=w.Layout(width="110px"))
        self.bar = w.IntProgress(value=0, min=0, max=1, layout=w.Layout(width="300px"))
        self.message = w.HTML()
        self.start_button.on_click(lambda _b: self.start())
        self.cancel_button.on_click(lambda _b: self.cancel())
        self.children = [w.HBox([self.start_button, self.cancel_button, self.bar]), self.message]

    def start(self) -> px.StatsJob:
        """Start a job over all local frames (``RuntimeError`` while one runs)."""
        if self.job is not None and not self.job.finished:
            raise RuntimeError("statistics are already being computed")
        self.job = px.StatsJob(self.model, client=self.client, n_workers=self.n_workers, progress=self._progress)
        self.bar.max = max(1, self.job.n_total)
        self.bar.value = 0
        self.start_button.disabled = True
        self.cancel_button.disabled = False
        where = "a dask.distributed client" if self.client is not None else f"{self.n_workers} threads"
        self.message.value = escape(f"reading {self.job.n_total} local files with {where}…")
        return self.job.start(on_finished=self._finished)

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()

    def _progress(self, done: int, total: int) -> None:
        self.bar.value = done

    def _finished(self, job: px.StatsJob) -> None:
        """Called from the job's worker thread when it has finished."""
        if job.error is not None:
            self.message.value = escape(f"failed: {type(job.error).__name__}: {job.error}")
        else:
            try:
                self.added = px.add_stats_columns(self.model.headers, job) if self.model.headers_match_files else []
                state = "cancelled" if job.cancelled else "done"
                rate = job.n_done / job.elapsed if job.elapsed > 0 else 0.0
                target = (
                    f"; columns {', '.join(self.added)} added to the headers"
                    if self.added
                    else "; the header table does not match the files: no columns added"
                )
                bad = ""
                if job.problems:
                    paths = px.frame_paths(self.model)
                    named = [f"{paths[f][0].name} {why}" for f, why in sorted(job.problems.items())[:5]]
                    bad = (
                        f"; {len(job.problems)} file(s) gave no statistics: "
                        + "; ".join(named)
                        + (" …" if len(job.problems) > 5 else "")
                    )
                self.message.value = escape(
                    f"{state}: {job.n_done} of {job.n_total} files, {rate:.1f} files/s{target}{bad}"
                )
            except ValueError as exc:
                self.message.value = escape(f"statistics computed, columns not added: {exc}")
        self.start_button.disabled = False
        self.cancel_button.disabled = True
        if self.on_done is not None:
            self.on_done(job)
