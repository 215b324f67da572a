"""SearchPanel: the DKIST archive search as a form and a results grid; fetch, open,
look at a dataset's quality report and preview movie, hand datasets to transfers.

All the search logic lives in :mod:`dkist_widgets.core.search`; this is the view.

Choices
-------
* **Never freezes the notebook.** Searches, downloads and loading run in
  :class:`~dkist_widgets.core.search.BackgroundJob` threads that only set widget
  traits; a watchdog gives up after ``search_timeout`` seconds with a message and
  a late answer is dropped (each search carries a generation number). While work
  runs, ``busy`` is True and a spinner with a Cancel button shows.
* **Paging, not one huge grid.** The grid holds one page of results (``page size``
  rows, at most 1000) fetched with the API's ``pageNumber``/``pageSize``; Previous
  / Next ask for another page (:class:`~dkist_widgets.panels.search_results.ResultsGrid`
  shows it and maps its selection to dataset ids; ``selected_ids`` holds ids).
* **Parts.** The form is :class:`~dkist_widgets.panels.search_form.SearchForm`
  (its controls stay reachable as ``panel.start``, ``panel.r0_min``, ...); the
  quality report and preview movie are shown by
  :class:`~dkist_widgets.panels.search_products.ProductViewer` (a PDF output and a
  ``Video``; ``panel.report_output``, ``panel.movie_box``, ...).
* **Paths.** Fetch, Open and the report/movie go where the "Save to"
  :class:`~dkist_widgets.core.path_template.PathTemplate` says: dkist's own keys
  (``{primary_proposal_id}``, as in ``Fido.fetch``), the aliases and ``{file}``.
* **Transfers.** The panel does not know the transfer monitor: Transfer calls the
  callbacks registered with :meth:`SearchPanel.on_transfer_request` with the
  selected records (API keys), and ``transfer_request`` (a kernel-side trait) holds
  the last such list. Above ``confirm_bytes`` or ``confirm_files`` it first shows
  files, bytes and an estimated time and asks
  (:class:`~dkist_widgets.panels.search_transfer_confirm.TransferConfirm`, which
  also reads the ``DKIST_WIDGETS_CONFIRM_TRANSFER_*`` environment variables).
* **Sorting.** A click on a column header sorts the page (it no longer selects
  every row); see :mod:`dkist_widgets.panels.search_results`.
* Every text that comes from the user or the data centre is escaped before it goes
  into HTML.
"""

from __future__ import annotations

import threading

import ipywidgets as w
import traitlets

from ..core import search as core
from ..core.formatting import escape
from .search_actions import SearchActions
from .search_form import FIELD_CONTROLS, PAGE_SIZES, SearchForm
from .search_products import ProductViewer
from .search_results import ResultsGrid
from .search_results import dataframe as _dataframe  # noqa: F401 - benchmarks/bench_search_grid.py imports it
from .search_transfer_confirm import TransferConfirm
from .static_form import StaticForm

__all__ = ["SearchPanel", "PAGE_SIZES"]

_SPINNER_CSS = """<style>
.dkw-search-spinner{display:inline-block;width:12px;height:12px;border:2px solid #999;
border-top-color:transparent;border-radius:50%;animation:dkwspin .8s linear infinite;
vertical-align:middle;margin-right:6px}
@keyframes dkwspin{to{transform:rotate(360deg)}}
</style>"""


class SearchPanel(StaticForm, SearchActions, w.VBox):
    """Search the DKIST archive; choose datasets; fetch, open, inspect, transfer.

    Parameters
    ----------
    model
        A :class:`~dkist_widgets.core.model.DatasetModel` that Open fills (one is
        made when None; it is ``panel.model``).
    choices
        :class:`~dkist_widgets.core.search.FormChoices`; fetched from the data
        centre's ``searchValues`` in the background when None.
    search_timeout
        Seconds before a search, a page or a download is given up.
    path_template
        Where ASDFs and the report/movie go: a
        :class:`~dkist_widgets.core.path_template.PathTemplate` with dkist's own keys
        (``Fido.fetch``'s, e.g. ``{dataset_id}``, ``{primary_proposal_id}``), the
        aliases ``{proposal_id}``, ``{date}``, ... and ``{file}``.
    columns
        Grid columns shown first (the workshop's by default).
    confirm_bytes, confirm_files
        Ask before a transfer moving more than this many bytes or files (default
        10 GB and 1000 files, or the environment variables
        ``DKIST_WIDGETS_CONFIRM_TRANSFER_BYTES`` / ``..._FILES``; 0 asks always).
    transfer_rate
        Bytes per second for the time estimate shown when asking
        (``DKIST_WIDGETS_TRANSFER_RATE``; default 100 MB/s).
    """

    busy = traitlets.Bool(False, help="True while a search, download or load runs.")
    selected_ids = traitlets.List(traitlets.Unicode(), help="Dataset ids of the selected rows.")
    opened_id = traitlets.Unicode("", help="Dataset id last opened into the model.")
    transfer_request = traitlets.List(help="Records last handed to the transfer hook.")
    result = traitlets.Any(None, allow_none=True, help="The SearchResult shown.")
    message_text = traitlets.Unicode("", help="Plain text of the last message.")
    message_kind = traitlets.Unicode("", help="info / ok / error")

    static_title = "DKIST archive search"

    def static_lines(self) -> list[tuple[str, str]]:
        res = self.result
        if res is None:
            return [("results", "no search run yet")]
        return [("results", res.summary())]

    def __init__(
        self,
        model=None,
        *,
        choices: core.FormChoices | None = None,
        search_timeout: float = 30.0,
        path_template: str = core.DEFAULT_PATH_TEMPLATE,
        columns=core.DEFAULT_COLUMNS,
        confirm_bytes: float | None = None,
        confirm_files: float | None = None,
        transfer_rate: float | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.add_class("dkw-search")
        if model is None:
            from ..core.model import DatasetModel

            model = DatasetModel()
        self.model = model
        self.search_timeout = float(search_timeout)
        self._lock = threading.RLock()
        self._generation = 0
        self._job: core.BackgroundJob | None = None
        self._transfer_callbacks = []
        self._wanted_columns = list(columns)
        self.choices = choices or core.FormChoices()
        self.choices_loaded = threading.Event()

        self._build_form(path_template)
        self._build_results()
        self._build_actions()
        self.transfer_confirm = TransferConfirm(
            confirm_bytes=confirm_bytes, confirm_files=confirm_files, transfer_rate=transfer_rate
        )
        self.children = [
            w.HTML("<b>DKIST archive search</b>"),
            self.form,
            w.HBox([self.search_button, self.cancel_button, self.busy_html], layout=w.Layout(align_items="center")),
            self.message,
            self.code_box,
            self.results_box,
            self.actions_box,
            self.transfer_confirm,
            self.viewer_box,
        ]
        self._apply_choices(self.choices)
        if choices is None:
            self._load_choices()
        else:
            self.choices_loaded.set()

    # ---------------------------------------------------------------- building

    def _build_form(self, path_template):
        self.form = SearchForm()
        for attr in FIELD_CONTROLS.values():  # panel.start, panel.r0_min, ... as before
            setattr(self, attr, getattr(self.form, attr))
        self.search_button = w.Button(description="Search", button_style="primary", icon="search")
        self.search_button.add_class("dkw-search-go")
        self.cancel_button = w.Button(description="Cancel", disabled=True)
        self.cancel_button.add_class("dkw-search-cancel")
        self.busy_html = w.HTML()
        self.busy_html.add_class("dkw-search-busy")
        self.message = w.HTML()
        self.message.add_class("dkw-search-message")
        self.code = w.HTML()
        self.code.add_class("dkw-search-code")
        self.code_box = w.Accordion(children=[self.code], titles=("Equivalent code",))
        self.search_button.on_click(lambda _b: self.search())
        self.cancel_button.on_click(lambda _b: self.cancel())
        self.path_template = w.Text(
            value=path_template,
            description="Save to",
            style={"description_width": "90px"},
            tooltip="A folder; keys as in Fido.fetch: {dataset_id}, {primary_proposal_id}, "
            "{instrument}, {product_id}, {date}, ... and {file}",
            layout=w.Layout(width="466px"),
        )
        self.path_template.add_class("dkw-search-path")

    def _build_results(self):
        self.results_box = ResultsGrid(
            self._wanted_columns,
            on_page=lambda step: self.goto_page(step, relative=True),
            on_columns=lambda: self._on_selection(None),
        )
        for name in ("summary", "prev_button", "next_button", "column_chooser", "grid"):
            setattr(self, name, getattr(self.results_box, name))
        self.grid.observe(self._on_selection, names="selections")

    @property
    def _frame(self):
        """The page shown, as a pandas frame indexed by dataset id (None before a result)."""
        return self.results_box.frame

    def _build_actions(self):
        def button(label, cls, handler, tooltip):
            b = w.Button(description=label, disabled=True, tooltip=tooltip)
            b.add_class(cls)
            b.on_click(lambda _b: handler())
            return b

        self.fetch_button = button(
            "Fetch ASDF", "dkw-search-fetch", self.fetch_selected, "Download the selected datasets' ASDF files"
        )
        self.open_button = button(
            "Open", "dkw-search-open", self.open_selected, "Load the first selected dataset into the shared model"
        )
        self.report_button = button(
            "Quality report",
            "dkw-search-report",
            self.show_quality_report,
            "Download and show the quality report (PDF)",
        )
        self.movie_button = button("Movie", "dkw-search-movie", self.play_movie, "Download and play the preview movie")
        self.transfer_button = button(
            "Transfer",
            "dkw-search-transfer",
            self.request_transfer,
            "Hand the selected datasets to the transfer monitor",
        )
        self.blocked_note = w.HTML()
        self.blocked_note.add_class("dkw-search-blocked-note")
        self.progress = w.FloatProgress(value=0, min=0, max=1, layout=w.Layout(width="300px", visibility="hidden"))
        self.progress_label = w.HTML()
        self.actions_box = w.VBox(
            [
                self.path_template,
                w.HBox(
                    [self.fetch_button, self.open_button, self.report_button, self.movie_button, self.transfer_button]
                ),
                self.blocked_note,
                w.HBox([self.progress, self.progress_label], layout=w.Layout(align_items="center")),
            ]
        )
        self.viewer_box = ProductViewer()
        self.report_output = self.viewer_box.report_output
        self.report_path = self.viewer_box.report_path
        self.movie_box = self.viewer_box.movie_box

    # ---------------------------------------------------------------- choices

    def _load_choices(self):
        def done(value):
            choices, problem = value
            self.choices = choices
            self._apply_choices(choices)
            if problem:
                self._say(problem, "info")
            self.choices_loaded.set()

        def failed(err):
            self._say(f"Could not read the search values: {err}", "info")
            self.choices_loaded.set()

        core.BackgroundJob(
            lambda _cancel: core.load_form_choices(timeout=min(10.0, self.search_timeout)),
            on_done=done,
            on_error=failed,
            name="dkw-search-values",
        ).start()

    def _apply_choices(self, choices: core.FormChoices):
        self.form.apply_choices(choices)

    # ---------------------------------------------------------------- form

    def form_values(self) -> dict:
        """The form as loosely typed values for :meth:`SearchRequest.from_form`."""
        return self.form.values()

    def set_form(self, **values) -> None:
        """Fill the form from :class:`SearchRequest` field names (tests, notebooks)."""
        self.form.set(**values)

    # ---------------------------------------------------------------- messages

    def _say(self, text: str, kind: str = "info") -> None:
        colour = {"error": "#b00020", "ok": "#1b5e20", "info": "inherit"}.get(kind, "inherit")
        icon = {"error": "⚠ ", "ok": "✓ ", "info": ""}.get(kind, "")
        self.message.value = (
            (
                f"<div class='dkw-msg dkw-msg-{escape(kind)}' style='color:{colour};"
                f"white-space:pre-wrap'>{icon}{escape(text)}</div>"
            )
            if text
            else ""
        )
        self.message_text = text
        self.message_kind = kind

    def _set_busy(self, label: str | None) -> None:
        self.busy = label is not None
        self.cancel_button.disabled = label is None
        self.search_button.disabled = label is not None
        self.busy_html.value = f"{_SPINNER_CSS}<span class='dkw-search-spinner'></span>{escape(label)}" if label else ""
        self._sync_buttons()

    def _sync_buttons(self) -> None:
        none = not self.selected_ids or self.busy
        res = self.result
        pairs = [(i, res.record(i)) for i in self.selected_ids] if res is not None and not none else []
        pairs = [(i, r) for i, r in pairs if r is not None]
        blockers = core.action_blockers([r for _i, r in pairs], [i for i, _r in pairs])
        notes = []
        for action, b in (
            ("fetch", self.fetch_button),
            ("open", self.open_button),
            ("report", self.report_button),
            ("movie", self.movie_button),
            ("transfer", self.transfer_button),
        ):
            b.disabled = none or action in blockers  # only what cannot work (issue 14.11)
            if not hasattr(b, "_dkw_tooltip"):
                b._dkw_tooltip = b.tooltip
            b.tooltip = (
                (f"{b.description} cannot work: " + "; ".join(blockers[action]))
                if action in blockers
                else b._dkw_tooltip
            )
            if action in blockers and not none:
                notes.append(
                    f"{b.description}: " + "; ".join(blockers[action][:3]) + (" …" if len(blockers[action]) > 3 else "")
                )
        self.blocked_note.value = (
            (
                "<div class='dkw-search-blocked'>⚠ Not possible for the selection — "
                + escape(" | ".join(notes))
                + "</div>"
            )
            if notes
            else ""
        )
        paged = res is not None and not res.from_table and res.request is not None and not self.busy
        self.prev_button.disabled = not (paged and res.page > 1)
        self.next_button.disabled = not (paged and res.page < res.n_pages)

    # ---------------------------------------------------------------- work

    def _start(self, label: str, fn, on_done, *, timeout: float | None) -> core.BackgroundJob:
        """Run ``fn(cancel)`` in the background; ``on_done(value)`` unless superseded."""
        with self._lock:
            if self._job is not None and self._job.running:
                self._job.cancel()
            self._generation += 1
            generation = self._generation

        # self._job stays set after the end: wait() waits on its ``finished`` event,
        # which is set only after these callbacks return.
        def done(value):
            with self._lock:
                if generation != self._generation:
                    return
            try:
                on_done(value)
            except Exception as err:  # noqa: BLE001 - reported to the user, never raised into the caller
                self._say(f"{label} failed: {err}", "error")
            finally:
                self._set_busy(None)

        def failed(err):
            with self._lock:
                if generation != self._generation:
                    return
            if isinstance(err, core.Cancelled):
                self._say(f"{label}: cancelled.", "info")
            elif isinstance(err, (core.SearchFailed, core.SearchInputError, core.DownloadError, ValueError)):
                self._say(str(err), "error")
            else:
                self._say(f"{label} failed: {type(err).__name__}: {err}", "error")
            self._set_busy(None)

        self._set_busy(f"{label}…")
        job = core.BackgroundJob(fn, on_done=done, on_error=failed, timeout=timeout, name=f"dkw-search-{label}")
        with self._lock:
            self._job = job
        job.start()
        return job

    def wait(self, timeout: float = 60.0) -> bool:
        """Block until the current background work ends (tests, scripts). True if it ended."""
        with self._lock:
            job = self._job
        return True if job is None else job.wait(timeout)

    def cancel(self) -> None:
        with self._lock:
            job = self._job
        if job is not None:
            job.cancel()

    # ---------------------------------------------------------------- search

    def search(self, page: int = 1) -> core.BackgroundJob | None:
        """Validate the form and search in the background (None if the form is wrong)."""
        try:
            request = core.SearchRequest.from_form({**self.form_values(), "page": page}, self.choices)
            code = core.fido_code(request)
        except core.SearchInputError as err:
            self._say("Cannot search: " + "; ".join(err.problems), "error")
            return None
        return self._run_request(request, code)

    def goto_page(self, page: int, *, relative: bool = False) -> core.BackgroundJob | None:
        res = self.result
        if res is None or res.request is None or res.from_table:
            return None
        target = res.page + page if relative else int(page)
        target = max(1, min(target, res.n_pages))
        request = res.request.with_page(target)
        return self._run_request(request, core.fido_code(request))

    def _run_request(self, request, code):
        self.code.value = f"<pre class='dkw-code'>{escape(code)}</pre>"
        self._say("", "info")
        timeout = self.search_timeout
        return self._start(
            "Searching",
            lambda _cancel: core.run_search(request, timeout=timeout),
            self._show_result,
            timeout=timeout + 2,
        )

    def _show_result(self, result: core.SearchResult) -> None:
        import pandas as pd

        with self.hold_trait_notifications():
            self.result = result
            self.selected_ids = []
            columns = self.results_box.load(result)
        self.results_box.render(columns)
        self.results_box.summarise(result)
        if not result.records:
            self._say(
                "No dataset matches this search."
                if result.total == 0
                else f"This page is empty ({result.total} results in all).",
                "info",
            )
        else:
            damaged = result.damaged()
            note = (
                ""
                if not damaged
                else f"\n{len(damaged)} record(s) with empty or wrong-typed fields (shown; "
                "only what needs those fields is disabled): "
                + "; ".join(damaged[:5])
                + (" …" if len(damaged) > 5 else "")
            )
            self._say(
                f"Found {result.total:,} dataset(s) in {result.seconds:.2f} s.{note}", "info" if damaged else "ok"
            )
        if isinstance(self._frame, pd.DataFrame):
            self._sync_buttons()

    def show_results(self, result: core.SearchResult) -> None:
        """Show a :class:`SearchResult` (what :meth:`from_results` uses)."""
        self._show_result(result)

    @classmethod
    def from_results(cls, res, model=None, **kwargs) -> SearchPanel:
        """A panel showing Fido results a user already holds (``UnifiedResponse`` or DKIST table)."""
        result = core.result_from_fido(res)
        kwargs.setdefault("choices", None)
        panel = cls(model=model, **kwargs)
        panel.code.value = "<pre class='dkw-code'>res  # results given to SearchPanel.from_results</pre>"
        panel._show_result(result)
        return panel

    # ---------------------------------------------------------------- selection

    def _on_selection(self, change) -> None:
        if change is not None and self.results_box.take_header_selection(change["new"]):
            pass  # a header click: the grid sorted and put the earlier selection back
        self.selected_ids = self.results_box.selected_ids()

    @traitlets.observe("selected_ids")
    def _selected_changed(self, _change):
        self._sync_buttons()
        if self.transfer_confirm.asking and [str(r.get("datasetId")) for r in self.transfer_confirm.pending] != list(
            self.selected_ids
        ):
            self.transfer_confirm.hide()  # the question was about another selection
        if self.selected_ids:
            n = len(self.selected_ids)
            self.progress_label.value = escape(
                f"{n} selected: {', '.join(self.selected_ids[:5])}" + (" …" if n > 5 else "")
            )
        else:
            self.progress_label.value = ""

    def select_ids(self, ids) -> None:
        """Select rows by dataset id (in the current view order)."""
        self.results_box.select(ids)
        self._on_selection(None)

    def selected_records(self) -> list[dict]:
        res = self.result
        if res is None:
            return []
        out = []
        for ds_id in self.selected_ids:
            record = res.record(ds_id)
            if record is not None:
                out.append(record)
        return out
