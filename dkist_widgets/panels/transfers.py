"""TransferMonitor: start Globus transfers of DKIST files and watch them without blocking.

A thin view over :mod:`dkist_widgets.core.transfers`. The
:class:`~dkist_widgets.core.transfers.TransferWatcher` polls from a background thread
and this panel only sets widget traits from its callbacks, so the rows keep moving
while a cell runs. Cancel asks for confirmation. As files land, the model's
local-file state is refreshed (at most once per ``refresh_interval`` seconds, plus a
final refresh when a task ends) so the file map and previews fill in, and the
model is told which of its files are transferring or failed
(:class:`~dkist_widgets.core.transfers.TransferFileStates`), so the file map lights
them. Planning leaves the model alone; the monitor then gives it the file sizes the
plan listed (``model.set_file_sizes``).

Bytes before a transfer: as soon as a dataset is open (and again after a login)
the monitor lists the dataset's folder on the DKIST endpoint in the background
(one ``operation_ls`` per folder, cached by the session) and gives the model the
exact sizes; until then, or when Globus cannot answer, the model's estimate from
the inventory is shown and labelled as one. The start buttons show the bytes each
would move, the same number the task row then reports.

Messages that ask for a login ("Log in to Globus first") are cleared, and the
sizes listed, when the login state changes to logged in.

Settings come from :meth:`TransferSettings.from_environment` unless given: the
panel knows nothing of the sandbox, which sets the same variables a user sets. A
login is made unless ``DKIST_WIDGETS_GLOBUS_LOGIN=none``.

A monitor left open through many transfers stays the same size: it shows every
unfinished task and the ``max_finished_rows`` newest finished ones; older finished
tasks move to "Earlier transfers" (the store's history), and ``completed`` keeps the
newest :data:`~dkist_widgets.core.transfers.FINISHED_KEEP` task ids.

Everything shown that comes from Globus, the user or the data (labels, paths, event
descriptions) is escaped. No token is ever put in a trait: the login panel keeps
them in the core's private token file.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterable, Mapping
from typing import Any

import globus_sdk
import ipywidgets as w

from ..core.formatting import escape
from ..core.globus_auth import LOGGED_IN, ConsentRequired, GlobusLogin, NotLoggedIn, is_auth_error
from ..core.inventory import inventory_of
from ..core.jobs import BackgroundJob
from ..core.path_template import placeholder_fields
from ..core.transfers import (
    FINISHED_KEEP,
    SYNC_LEVELS,
    PathTemplateError,
    TaskProgress,
    TaskStore,
    TransferFileStates,
    TransferPlan,
    TransferSession,
    TransferSettings,
    TransferWatcher,
    expand_destination,
    find_local_endpoint,
    template_fields,
)
from ..core.transfers.destination_folder import DestinationRefused
from .login import LoginPanel, close_tree
from .static_assets import theme_style
from .static_form import StaticForm
from .transfer_row import TaskRow

__all__ = ["TransferMonitor"]

log = logging.getLogger(__name__)

LOGIN_FIRST = "Log in to Globus first (see above), then try again."

_SYNC_CHOICES = [
    ("Skip files already there (checksum)", "checksum"),
    ("Skip if same size and not older (mtime)", "mtime"),
    ("Skip if same size", "size"),
    ("Skip if the file exists", "exists"),
]
assert {v for _, v in _SYNC_CHOICES} == set(SYNC_LEVELS)


def _default_login(settings: TransferSettings) -> GlobusLogin | None:
    """A login unless the settings say the Transfer API needs none (``DKIST_WIDGETS_GLOBUS_LOGIN=none``)."""
    return GlobusLogin() if settings.login_required else None


class TransferMonitor(StaticForm, w.VBox):
    """Start Globus transfers of the model's files and watch every task live.

    Parameters
    ----------
    model
        A :class:`~dkist_widgets.core.model.DatasetModel` (optional: without one only
        :meth:`transfer_datasets` / :meth:`transfer_quality` can start transfers).
    settings
        :class:`TransferSettings`; default: :meth:`TransferSettings.from_environment`.
    login
        ``"auto"`` (a :class:`GlobusLogin`, none when ``settings.login_required`` is False),
        a login, or ``None``.
    session, store, watcher
        Supply to share them between panels; made here otherwise (and then stopped by
        :meth:`close`).
    max_finished_rows
        Finished tasks shown as rows (newest first); older ones are listed under
        "Earlier transfers".
    """

    static_title = "Globus transfers"

    def static_lines(self) -> list[tuple[str, str]]:
        lines = super().static_lines()
        tasks = self.watcher.tasks()
        if not tasks:
            lines.append(("transfers", "none started"))
        for progress in tasks:
            name = progress.label or progress.task_id
            lines.append((name, f"{progress.status.lower()}: {progress.text}"))
        return lines

    def __init__(
        self,
        model: Any = None,
        *,
        settings: TransferSettings | None = None,
        login: GlobusLogin | None | str = "auto",
        session: TransferSession | None = None,
        store: TaskStore | None = None,
        watcher: TransferWatcher | None = None,
        refresh_interval: float = 1.0,
        active_interval: float = 2.0,
        follow_downloads: bool = True,
        max_finished_rows: int = 20,
        **kwargs: Any,
    ):
        if session is None:
            settings = settings or TransferSettings.from_environment()
            if login == "auto":
                login = _default_login(settings)
            session = TransferSession(settings, login)
        self.session = session
        self.settings = session.settings
        self.login = session.login
        self.model = model
        self.follow_downloads = follow_downloads
        self.refresh_interval = refresh_interval
        self._owns_watcher = watcher is None
        self.watcher = watcher or TransferWatcher(session, store, active_interval=active_interval, autostart=False)
        self._rows: dict[str, TaskRow] = {}
        self.max_finished_rows = max_finished_rows
        self._lock = threading.RLock()
        self._last_refresh = 0.0
        self._refresh_timer: threading.Timer | None = None
        self.completed: list[str] = []
        #: Which of the model's files each task moves (for the file map's states).
        self.file_states = TransferFileStates()
        self._login_message = False  # the message line asks for a login
        self._consent_retry: str | None = None  # what to start again after a consent sign-in
        self._sizes_job: BackgroundJob | None = None
        self._sizes_listed_for: Any = None  # the dataset whose sizes were listed

        # ---- login
        self.login_panel = LoginPanel(self.login) if self.login is not None else None
        self.problem = w.HTML()
        # ---- destination
        self.endpoint = w.Dropdown(description="To", options=self._endpoint_options(), layout=w.Layout(width="32em"))
        self.endpoint.add_class("dkw-destination")
        self.search_text = w.Text(placeholder="find a collection or bookmark", layout=w.Layout(width="16em"))
        self.search_button = w.Button(description="Find", icon="search", layout=w.Layout(width="auto"))
        self.root = w.Text(value=self.settings.destination_root, description="Root", layout=w.Layout(width="16em"))
        self.template = w.Text(
            value=self.settings.destination_template, description="Folder", layout=w.Layout(width="32em")
        )
        self.template.add_class("dkw-template")
        self.path_preview = w.HTML()
        self.label = w.Text(placeholder="label (optional)", description="Label", layout=w.Layout(width="32em"))
        self.sync = w.Dropdown(
            options=_SYNC_CHOICES, value=self.settings.sync_level, description="Sync", layout=w.Layout(width="26em")
        )
        # ---- start
        wide = {"layout": w.Layout(width="auto")}
        self.start_selection = w.Button(description="Selected frames", icon="download", button_style="primary", **wide)
        self.start_subset = w.Button(description="Working subset", icon="download", **wide)
        self.start_dataset = w.Button(description="Whole dataset", icon="download", **wide)
        self.start_quality = w.Button(description="Quality report + movie", icon="file", **wide)
        for button, which in (
            (self.start_selection, "selection"),
            (self.start_subset, "subset"),
            (self.start_dataset, "dataset"),
            (self.start_quality, "quality"),
        ):
            button.on_click(lambda _b, which=which: self._start_clicked(which))
            button.add_class("dkw-start-" + which)
        self.message = w.HTML()
        self.sizes_note = w.HTML()
        self.sizes_note.add_class("dkw-sizes-note")
        self.rows = w.VBox()
        self.history_html = w.HTML()
        self.history = w.Accordion(children=[self.history_html])
        self.history.set_title(0, "Earlier transfers")
        self.history.selected_index = None
        from .notifier import Notifier

        self.notifier = Notifier()

        self.search_button.on_click(lambda _b: self._search())
        self.endpoint.observe(self._destination_chosen, names="index")
        self.template.observe(lambda _c: self._preview_path(), names="value")
        self.root.observe(lambda _c: self._preview_path(), names="value")

        header = [theme_style()] + ([self.login_panel] if self.login_panel is not None else [])
        super().__init__(
            header
            + [
                self.problem,
                w.HBox([self.endpoint, self.search_text, self.search_button]),
                w.HBox([self.root, self.template]),
                self.path_preview,
                w.HBox([self.label, self.sync]),
                w.HBox([self.start_selection, self.start_subset, self.start_dataset, self.start_quality]),
                self.sizes_note,
                self.message,
                self.notifier,
                self.rows,
                self.history,
            ],
            **kwargs,
        )
        self.add_class("dkw-transfer-monitor")
        if model is not None:
            model.observe(self._on_model, names=["selection_version", "working_preview", "dataset"])
            model.observe(self._update_transfer_states, names=["local_files_version"])
            model.observe(self._on_model, names=["file_sizes_version"])
            model.observe(self._list_sizes, names=["dataset"])
        if self.login is not None:
            self.login.observe(self._on_login_state, names=["state"])
        self._on_model()
        self._list_sizes()
        for progress in self.watcher.tasks():
            self._row(progress)
        self._render_history()
        self.watcher.add_callback("change", self._on_change)
        self.watcher.add_callback("complete", self._on_complete)
        self.watcher.add_callback("files", self._on_files)
        self.watcher.start()

    # ------------------------------------------------------------------ destination
    def _endpoint_options(self) -> list[tuple[str, str]]:
        options = []
        if self.settings.destination_endpoint_id:
            options.append(("This computer (configured destination)", self.settings.destination_endpoint_id))
        else:
            local = find_local_endpoint()
            if local:
                options.append(("This computer (Globus Connect Personal)", local))
        return options

    def _search(self) -> None:
        """Own collections, guest collections and bookmarks first, each labelled (plain
        text: a Dropdown shows its labels as text), then other matches; empty text
        lists the user's own, shared and bookmarked places."""
        text = self.search_text.value
        try:
            found = self.session.find_destinations(text)
        except Exception as err:  # noqa: BLE001 - reported to the user, never raised into the caller
            self._say(self._explain(err), error=True)
            return
        if not found:
            self._say(f"No collection or bookmark matches {text!r}.", error=True)
            return
        keep = [o for o in self.endpoint.options if o[0].startswith("This computer")]
        here = {value for _, value in keep}
        found = [d for d in found if d.path is not None or d.endpoint_id not in here]  # listed once
        if not found:
            self._say(f"Only this computer matches {text!r}.")
            return
        #: what each option of the list stands for (None: "This computer")
        self._destinations = [None] * len(keep) + list(found)
        self.endpoint.options = keep + [(d.label, d.endpoint_id) for d in found]
        self.endpoint.index = len(keep)
        groups = ", ".join(dict.fromkeys(d.group_label.lower() for d in found))
        self._say(f"{len(found)} destination(s) found ({groups}); pick one in the list.")

    def _destination_chosen(self, _change=None) -> None:
        """A bookmark sends the files under its folder: it becomes the destination root;
        a collection picked after a bookmark gets the configured root back."""
        chosen = getattr(self, "_destinations", [])
        index = self.endpoint.index
        pick = chosen[index] if index is not None and index < len(chosen) else None
        if pick is not None and pick.path:
            self.root.value = self._bookmark_root = pick.path
        elif getattr(self, "_bookmark_root", None) == self.root.value:
            self.root.value = self.settings.destination_root
            self._bookmark_root = None
        self._preview_path()

    def _preview_path(self) -> None:
        inv = self._model_inventory()
        fields = template_fields(inv) if inv else placeholder_fields()
        try:
            path = expand_destination(self.template.value, fields, self.root.value)
        except PathTemplateError as err:
            self.path_preview.value = f'<span class="dkw-path-error dkw-error">{escape(err)}</span>'
            return
        # "on this machine" only when the chosen destination is this machine's collection
        here = self.endpoint.value in (None, self.settings.destination_endpoint_id, find_local_endpoint())
        local = self.session.local_folder(path) if inv and here else None
        where = f" (on this machine: {escape(local)})" if local else ""
        self.path_preview.value = f'<span class="dkw-path">Files go to <code>{escape(path)}</code>{where}</span>'

    # ------------------------------------------------------------------ model
    def _model_inventory(self) -> Mapping[str, Any] | None:
        if self.model is None or self.model.dataset is None:
            return None
        try:
            return inventory_of(self.model.dataset, required=True)
        except ValueError:
            return None

    def _on_model(self, _change=None) -> None:
        has = self._model_inventory() is not None
        n_sel = self.model.n_selected if has else 0
        preview = self.model.working_preview if has else None
        n_sub = preview.n_files if preview is not None else 0
        sel_bytes = f", {self.model.download_bytes().short}" if n_sel else ""
        sub_bytes = f", {preview.download_bytes.short}" if n_sub else ""
        self.start_selection.description = f"Selected frames ({n_sel} files{sel_bytes})"
        self.start_subset.description = f"Working subset ({n_sub} files{sub_bytes})"
        self._show_sizes_note(preview if has else None)
        self.start_selection.disabled = not has or n_sel == 0
        self.start_subset.disabled = not has or n_sub == 0
        self.start_dataset.disabled = not has
        self.start_quality.disabled = not has
        self._preview_path()

    def _show_sizes_note(self, whole) -> None:
        """Say where the bytes on the buttons come from: a listing (exact) or an estimate."""
        if whole is None:
            self.sizes_note.value = ""
            return
        everything = self.model.download_bytes(whole.frame_ids)
        if everything.exact:
            text = "Sizes are exact: from a Globus listing of the dataset's folder."
        else:
            mark = everything.short.split(" ")[0]
            text = (
                f"Sizes marked {mark} are estimates from {everything.basis_text}; "
                "the exact sizes appear once Globus lists the dataset's folder"
                + (" (log in to Globus)." if self.login is not None and not self.login.is_logged_in else ".")
            )
        self.sizes_note.value = (
            f'<span class="dkw-muted" data-exact="{str(everything.exact).lower()}">{escape(text)}</span>'
        )

    def _list_sizes(self, _change=None) -> None:
        """List the dataset's folder in the background and give the model the exact sizes."""
        model = self.model
        if model is None or self._model_inventory() is None:
            return
        dataset = model.dataset
        if self._sizes_listed_for is dataset or (self._sizes_job is not None and self._sizes_job.running):
            return

        def done(sizes) -> None:
            if model.dataset is dataset and (sizes >= 0).any():
                self._sizes_listed_for = dataset
                model.set_file_sizes(sizes)

        def failed(err: BaseException) -> None:  # not logged in, Globus down: the estimate stays
            log.debug("could not list the dataset's file sizes: %s", err)

        self._sizes_job = BackgroundJob(
            lambda _cancel: self.session.file_sizes_for(model), on_done=done, on_error=failed, name="dkw-list-sizes"
        ).start()

    def _on_login_state(self, change) -> None:
        """A login clears the messages that asked for one and lists the sizes."""
        if change["new"] != LOGGED_IN:
            return
        if self._login_message:
            self.message.value = ""
            self._login_message = False
        self._list_sizes()
        retry, self._consent_retry = self._consent_retry, None
        if retry is not None:
            self._start_clicked(retry)

    # ------------------------------------------------------------------ starting
    def _plan_kwargs(self) -> dict:
        return {"label": self.label.value.strip() or None, "template": self.template.value, "root": self.root.value}

    def start(self, which: str) -> str:
        """Start a transfer of the model's ``selection``, ``subset``, whole ``dataset`` or ``quality`` files."""
        inv = self._model_inventory()
        if inv is None:
            raise ValueError("open a dataset first (the monitor has no model with a dataset)")
        if which in ("selection", "subset"):
            plan = self.session.plan_model(self.model, which, **self._plan_kwargs())
            self._give_sizes()
        elif which == "dataset":
            plan = self.session.plan_datasets([inv], **self._plan_kwargs())
        elif which == "quality":
            plan = self.session.plan_quality(inv, **self._plan_kwargs())
        else:
            raise ValueError("which must be selection, subset, dataset or quality")
        return self._submit(plan, follow=True)

    def transfer_datasets(self, records: Iterable[Mapping[str, Any]], label: str | None = None) -> str:
        """Whole datasets (e.g. rows chosen in the search panel): one task; returns its id."""
        kwargs = self._plan_kwargs()
        if label:
            kwargs["label"] = label
        return self._submit(self.session.plan_datasets(records, **kwargs), follow=False)

    def transfer_quality(self, record: Mapping[str, Any]) -> str:
        """A dataset's quality report and movie; returns the task id."""
        return self._submit(self.session.plan_quality(record, **self._plan_kwargs()), follow=False)

    def _submit(self, plan: TransferPlan, *, follow: bool) -> str:
        dest = self.endpoint.value or self.session.destination_endpoint()
        if not dest:
            raise ValueError("choose a destination endpoint (none was found on this computer)")
        plan = self.session.for_destination(plan, dest)  # local_dirs only if the files land here
        task_id = self.session.submit(plan, destination_endpoint_id=dest, sync_level=self.sync.value)  # checks them
        # say it before watching: a quick task may finish (and say so) at once
        self._say(f"Started {plan.label!r}: {plan.summary}. Task {task_id}.")
        progress = self.watcher.watch(task_id, plan)
        self.file_states.add(task_id, plan, self.model)
        self._row(progress)
        self._update_transfer_states()
        self._render_history()
        if follow and self.follow_downloads and plan.local_dirs:
            self._follow(plan.local_dirs[0])
        return task_id

    def _give_sizes(self) -> None:
        """Tell the model its files' sizes from the listing the plan made (no new request)."""
        try:
            self.model.set_file_sizes(self.session.file_sizes_for(self.model))
        except Exception as err:  # noqa: BLE001 - sizes are a nicety
            log.debug("could not give the model its file sizes: %s", err)

    def _update_transfer_states(self, _change=None) -> None:
        """Tell the model which of its files are transferring and which failed (any thread)."""
        model = self.model
        if model is None or model.dataset is None:
            return
        try:
            moving, failed = self.file_states.states(model, self.watcher.tasks())
            model.set_transfer_states(moving, failed)
        except Exception:  # colours on a map must not stop the monitor
            log.exception("could not update the model's transfer states")

    def _follow(self, local_dir: str) -> None:
        """Point the model at the folder files land in, unless it already has local files elsewhere."""
        model = self.model
        if model is None or model.dataset is None:
            return
        current = getattr(model.dataset.files, "basepath", None) if not model.is_tiled else None
        if current is not None and os.path.realpath(str(current)) == os.path.realpath(local_dir):
            return
        if model.n_local_files == 0:
            model.set_basepath(local_dir)
        else:
            self._say(
                f"Files land in {local_dir}; the dataset still reads its files from {current} (it already has local files there)."
            )

    def _start_clicked(self, which: str) -> None:
        buttons = (self.start_selection, self.start_subset, self.start_dataset, self.start_quality)
        states = [b.disabled for b in buttons]
        for b in buttons:
            b.disabled = True
        try:
            self.start(which)
        except ConsentRequired as err:
            # a GCS v5 collection wants a consent / identity / MFA: sign in for exactly
            # that in the login panel, then the same transfer is started again once
            self._consent_retry = which
            if self.login is not None:
                self.login.start_login(err)
            # the core's sentence ends "...then submit again"; here the retry is automatic
            need = str(err).split(": sign in again", 1)[0]
            self._say(
                f"{need}: open the new sign-in link in the Globus sign-in panel; the transfer then starts by itself.",
                error=True,
            )
            self._login_message = True
        except Exception as err:  # noqa: BLE001 - a click must never raise into the comm
            self._say(self._explain(err), error=True)
        finally:
            for b, s in zip(buttons, states, strict=True):
                b.disabled = s
            self._on_model()

    def _explain(self, err: BaseException) -> str:
        if isinstance(err, NotLoggedIn) or is_auth_error(err):
            if self.login is not None:
                self.login.handle_error(err)
            self._login_message = True  # _say clears the flag; set again just after
            return LOGIN_FIRST
        if isinstance(err, (ValueError, PathTemplateError, DestinationRefused)):
            return str(err)
        if isinstance(err, globus_sdk.NetworkError):
            return (
                "Cannot reach Globus (connection refused or network down): nothing was done; try again when it answers."
            )
        message = getattr(err, "message", None) or str(err)
        return f"Globus refused: {message}" if hasattr(err, "http_status") else f"{type(err).__name__}: {message}"

    # ------------------------------------------------------------------ watcher callbacks (watcher thread)
    def _row(self, progress: TaskProgress) -> TaskRow:
        with self._lock:
            row = self._rows.get(progress.task_id)
            if row is None:
                row = TaskRow(self, progress)
                self._rows[progress.task_id] = row
                self.rows.children = (row,) + tuple(self.rows.children)
            return row

    def _on_change(self, changed: list[TaskProgress]) -> None:
        self.problem.value = (
            f'<span class="dkw-problem dkw-error">{escape(self.watcher.problem)}</span>' if self.watcher.problem else ""
        )
        for p in changed:  # unfinished tasks, or ones ending this tick: none whose row was trimmed
            self._row(p).update(p)
        if changed:
            self._update_transfer_states()

    def _trim_rows(self) -> None:
        """Keep every unfinished row and the ``max_finished_rows`` newest finished ones."""
        with self._lock:
            keep, dropped, finished = [], [], 0
            for row in self.rows.children:
                progress = self.watcher.progress(row.task_id)
                if progress is None or progress.done:
                    finished += 1
                    if finished > self.max_finished_rows:
                        dropped.append(row)
                        continue
                keep.append(row)
            if not dropped:
                return
            self.rows.children = tuple(keep)
            for row in dropped:
                self._rows.pop(row.task_id, None)
        for row in dropped:
            close_tree(row)

    def _on_complete(self, p: TaskProgress) -> None:
        self.completed.append(p.task_id)
        del self.completed[:-FINISHED_KEEP]
        self._trim_rows()
        if p.succeeded:
            self._say(f"Transfer {p.label!r} finished: {p.text}.", kind="done")
            self.notifier.notify(f"Transfer finished: {p.label}", p.text)
        elif p.cancelled:
            self._say(f"Transfer {p.label!r} was cancelled.", kind="done")
        else:
            self._say(f"Transfer {p.label!r} {p.words}.", error=True)
            self.notifier.notify(f"Transfer {p.words}: {p.label}", p.text)
        self._render_history()
        self._refresh_model(p, final=True)
        self._update_transfer_states()

    def _on_files(self, p: TaskProgress) -> None:
        self._refresh_model(p)

    def _refresh_model(self, p: TaskProgress, final: bool = False) -> None:
        model = self.model
        inv = self._model_inventory()
        if inv is None or str(inv.get("datasetId")) not in p.dataset_ids:
            return
        with self._lock:
            now = time.monotonic()
            wait = self.refresh_interval - (now - self._last_refresh)
            if wait > 0 and not final:
                if self._refresh_timer is None:
                    self._refresh_timer = threading.Timer(wait, self._timed_refresh)
                    self._refresh_timer.daemon = True
                    self._refresh_timer.start()
                return
            self._last_refresh = now
        try:
            model.refresh_local_files()
        except Exception:  # noqa: BLE001 - a refresh is best effort
            pass

    def _timed_refresh(self) -> None:
        with self._lock:
            self._refresh_timer = None
            self._last_refresh = time.monotonic()
        if self.model is not None and self.model.dataset is not None:
            try:
                self.model.refresh_local_files()
            except Exception:  # noqa: BLE001 - a timed refresh is best effort: the next one tries again
                pass

    # ------------------------------------------------------------------ cancel
    def cancel(self, task_id: str) -> str:
        """Cancel a task (no confirmation: the row's Cancel button asks first)."""
        code = self.watcher.cancel(task_id)
        self._say(f"Cancel requested for task {task_id}: Globus answered {code}.")
        return code

    def _cancel_from_row(self, task_id: str) -> None:
        try:
            self.cancel(task_id)
        except Exception as err:  # noqa: BLE001 - reported to the user, never raised into the caller
            self._say(self._explain(err), error=True)

    # ------------------------------------------------------------------ messages, history
    def _say(self, text: str, *, error: bool = False, kind: str = "info") -> None:
        self._login_message = text == LOGIN_FIRST
        cls = "dkw-transfer-message" + (
            " dkw-error" if error else " dkw-ok dkw-done" if kind == "done" else " dkw-text"
        )
        self.message.value = f'<span class="{cls}">{escape(text)}</span>'

    def _render_history(self) -> None:
        watched = set(self._rows)
        rows = []
        for rec in self.watcher.history():
            if rec["task_id"] in watched:
                continue
            summary = rec.get("summary") or {}
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(rec.get("submitted_at", 0)))
            rows.append(
                f"<tr><td>{escape(when)}</td><td>{escape(rec.get('label', ''))}</td>"
                f"<td>{escape(summary.get('status', 'unknown'))}</td><td>{escape(rec['task_id'])}</td></tr>"
            )
        self.history_html.value = (
            f'<table class="dkw-history">{"".join(rows)}</table>' if rows else "<i>no earlier transfers</i>"
        )
        self.history.set_title(0, f"Earlier transfers ({len(rows)})")

    def close(self) -> None:
        self.watcher.remove_callback("change", self._on_change)
        self.watcher.remove_callback("complete", self._on_complete)
        self.watcher.remove_callback("files", self._on_files)
        if self._owns_watcher:
            self.watcher.stop()
        if self.model is not None:
            try:
                self.model.unobserve(self._on_model, names=["selection_version", "working_preview", "dataset"])
                self.model.unobserve(self._update_transfer_states, names=["local_files_version"])
                self.model.unobserve(self._on_model, names=["file_sizes_version"])
                self.model.unobserve(self._list_sizes, names=["dataset"])
            except ValueError:
                pass
            if self.model.dataset is not None:
                self.model.set_transfer_states((), ())  # nobody watches these tasks any more
        if self.login is not None:
            try:
                self.login.unobserve(self._on_login_state, names=["state"])
            except ValueError:
                pass
        if self._sizes_job is not None:
            self._sizes_job.cancel()
        if self._refresh_timer is not None:
            self._refresh_timer.cancel()
        with self._lock:
            self._rows.clear()
        for child in self.children:
            close_tree(child)
        super().close()
