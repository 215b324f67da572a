"""explore(): every panel laid out around one DatasetModel.

``explore(x)`` accepts what a user holds at each step of the DKIST workflow:

* nothing — start with the search form;
* Fido results (a ``UnifiedResponse`` or a DKIST results table) — the search panel
  shows them, Open loads a row into the model;
* a path to a dataset's ASDF file (``str`` or ``Path``) — loaded with
  ``dkist.load_dataset`` (through :func:`~dkist_widgets.core.dataset_files.open_dataset_file`);
* a dkist ``Dataset`` or ``TiledDataset`` (or a slice of one).

Choices
-------
* **One model.** All panels share one :class:`~dkist_widgets.core.model.DatasetModel`
  (``explorer.model``; pass ``model=`` to reuse one), so a selection made on the
  header plot shows on the file map and is what the transfer monitor sends.
* **Tabs, built lazily, only the selected one attached.** The overview sits on
  top; the panels live in a ``Tab``. A panel is built the first time its tab is
  shown (or when asked for through :meth:`Explorer.panel`), so opening an
  explorer costs only the overview and the first tab. Only the selected tab holds
  its panel (the others hold a placeholder): bqplot figures drawn into a hidden,
  zero-size tab get negative sizes, and hidden views would still be updated. Search is built at once when there is no dataset yet or
  results were given. Opening a dataset from the search switches to Headers.
* **A file or dataset that cannot be opened is a message, not a traceback.** A
  truncated or corrupt ASDF, an ASDF with no DKIST dataset, or a dataset the model
  refuses (no files, every tile masked) gives an explorer with a red note saying
  why (``explorer.load_error``) and the model unchanged: a dataset it held stays,
  and an empty one starts on the Search tab so the user can pick another. Only a
  path that does not exist and an input of the wrong type raise.
* **Failures stay local.** Each panel is built inside a guard: an exception (or
  a missing optional panel such as the preview) becomes a visible message in
  that tab and the rest of the explorer works.
* **Search → transfers.** The search panel's transfer request (Transfer button)
  goes to :meth:`TransferMonitor.transfer_datasets` and the Transfers tab is
  shown.
* **Nothing blocks a fresh kernel** (issue 18.4). In a Jupyter kernel,
  :func:`explore` returns an :class:`Explorer` at once showing its title and the
  steps (importing dkist, ~5 s in a new kernel; reading the file; building the
  panels), and a :class:`~dkist_widgets.core.jobs.BackgroundJob` does the work,
  then the same widget fills in. Reading an attribute that is not there yet
  (``ex.model``, ``ex.panel``) waits for the build, so the next cell can use the
  explorer as before; :meth:`Explorer.wait` waits explicitly. Outside a kernel
  (scripts, tests) or with ``background=False`` it builds before returning. Wrong
  input types and paths that do not exist still raise at once.
* **Narrow windows and themes.** Boxes wrap (``flex-flow: row wrap``) and widths
  are relative; colours come from JupyterLab CSS variables.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ipywidgets as w

from .core.dataset_files import (
    DatasetFileError,
    open_dataset_file,  # lazy open; dkist.load_dataset when it declines
)
from .core.formatting import escape
from .core.jobs import BackgroundJob
from .core.model import DatasetModel
from .panels.static_form import StaticForm

__all__ = ["explore", "Explorer", "PANEL_TITLES"]

PANEL_TITLES = ("Search", "Headers", "Slice & files", "Preview", "Transfers")

_STYLE = """<style>
.dkw-explorer { color: var(--jp-ui-font-color1, #222); max-width: 100%; }
.dkw-explorer .dkw-explorer-title { font-size: var(--jp-ui-font-size2, 15px); }
.dkw-explorer .dkw-wrap { display: flex; flex-flow: row wrap; gap: 8px; }
.dkw-explorer .dkw-panel-error { border-left: 4px solid var(--jp-error-color1, #d32f2f);
  padding: 4px 8px; background: var(--jp-layout-color2, #f5f5f5); }
.dkw-explorer .dkw-panel-note { border-left: 4px solid var(--jp-warn-color1, #f57c00);
  padding: 4px 8px; background: var(--jp-layout-color2, #f5f5f5); }
.dkw-explorer .widget-tab > .p-TabBar, .dkw-explorer .widget-tab > .lm-TabBar { flex-wrap: wrap; }
</style>"""


def _is_fido_results(x) -> bool:
    name = type(x).__name__
    return name in ("UnifiedResponse", "DKISTQueryResponseTable") or (
        hasattr(x, "colnames") and "Dataset ID" in getattr(x, "colnames", ())
    )


def _is_dataset(x) -> bool:
    return type(x).__name__ in ("Dataset", "TiledDataset") or (
        hasattr(x, "files") and hasattr(x, "wcs") and hasattr(x, "headers")
    )


def _panel_error(title: str, err: BaseException) -> w.HTML:
    return w.HTML(
        f"<div class='dkw-panel-error' data-testid='panel-error'><b>{escape(title)} could not be shown.</b> "
        f"{escape(type(err).__name__)}: {escape(err)}<br>The other panels still work.</div>"
    )


def _make_preview(model):
    try:
        from .panels.preview import Preview
    except ImportError as err:
        return w.HTML(
            "<div class='dkw-panel-note' data-testid='panel-note'><b>Preview is not available in this "
            f"version</b> ({escape(err)}). Plot a slice in code instead: "
            "<code>ds[0, :, 50, :].plot()</code>.</div>"
        )
    return Preview(model)


def _make_slice(model):
    from .panels.file_map import FileMap
    from .panels.slice_builder import SliceBuilder

    builder = SliceBuilder(model)
    fmap = FileMap(model)
    box = w.VBox([builder, fmap], layout=w.Layout(width="100%"))
    box.slice_builder, box.file_map = builder, fmap
    return box


class Explorer(StaticForm, w.VBox):
    """The explorer widget; see :func:`explore`.

    Attributes
    ----------
    model
        The shared :class:`DatasetModel`.
    overview
        The :class:`~dkist_widgets.panels.overview.DatasetOverview` on top.
    tabs
        The ``Tab`` holding the panels, titled :data:`PANEL_TITLES`.
    errors
        ``{title: exception}`` for panels that failed to build.
    load_error
        Why the input given to :func:`explore` could not be opened (``""`` if it could).
    """

    #: set while a skeleton shown by explore() in a kernel is being built (see :meth:`wait`)
    _pending: threading.Event | None = None
    _builder: int | None = None  # the building thread's ident

    static_title = "DKIST explorer"

    def __init__(self, model: DatasetModel, *, results=None, load_error: str = "", **kwargs):
        if self._pending is None:  # a skeleton from _show_skeleton() is already a live VBox
            super().__init__(**kwargs)
        self.add_class("dkw-explorer")
        self.layout.width = "100%"
        self.model = model
        self.errors: dict[str, BaseException] = {}
        self._panels: dict[str, Any] = {}
        self._lock = threading.RLock()
        self._results = results
        self._builders: dict[str, Callable[[], Any]] = {
            "Search": self._make_search,
            "Headers": lambda: _header_explorer(model),
            "Slice & files": lambda: _make_slice(model),
            "Preview": lambda: _make_preview(model),
            "Transfers": self._make_transfers,
        }
        from .panels.overview import DatasetOverview

        try:
            self.overview = DatasetOverview(model)
        except Exception as err:  # noqa: BLE001
            self.errors["Overview"] = err
            self.overview = _panel_error("Overview", err)
        self._slots = {title: w.VBox(layout=w.Layout(width="100%", min_height="40px")) for title in PANEL_TITLES}
        for title, slot in self._slots.items():
            slot.children = [self._placeholder(title)]
        self.tabs = w.Tab(children=[self._slots[t] for t in PANEL_TITLES], layout=w.Layout(width="100%"))
        self.tabs.titles = PANEL_TITLES
        self.title = w.HTML(_STYLE + "<span class='dkw-explorer-title'><b>DKIST explorer</b></span>")
        self.load_error = load_error
        self.load_message = w.HTML(_load_error_html(load_error, model))
        from .panels.header_saved import SavedSelectionOffer

        # selections saved next to this dataset: one click loads one in the Headers tab
        self.saved_offer = SavedSelectionOffer(model, on_load=lambda path: self.show("Headers").saved.load(path))
        self.children = [self.title, self.load_message, self.saved_offer, self.overview, self.tabs]

        start = "Search" if (model.dataset is None or results is not None) else "Headers"
        if results is not None or model.dataset is None:
            self.panel("Search")
        self.tabs.observe(self._on_tab, names="selected_index")
        self.tabs.selected_index = PANEL_TITLES.index(start)
        self._slots[start].children = [self.panel(start)]
        model.observe(self._on_dataset, names="dataset")

    # ------------------------------------------------------------------ skeleton
    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the panels are built (True at once unless explore() showed a skeleton)."""
        if self._pending is None or threading.get_ident() == self._builder:
            return True
        return self._pending.wait(timeout)

    def __getattr__(self, name: str):
        # only called for attributes not (yet) set: on a skeleton, wait for the build
        pending = object.__getattribute__(self, "_pending")
        if (
            pending is not None
            and not name.startswith("_")
            and not pending.is_set()
            and threading.get_ident() != object.__getattribute__(self, "_builder")
        ):
            pending.wait()
            return object.__getattribute__(self, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    # ------------------------------------------------------------------ panels
    def panel(self, title: str):
        """The panel under ``title`` (built now if it was not yet); an error HTML if it failed."""
        self.wait()  # a skeleton: its panels exist once built
        if title not in self._builders:
            raise KeyError(f"no panel {title!r}; choose from {', '.join(PANEL_TITLES)}")
        with self._lock:
            if title in self._panels:
                return self._panels[title]
            try:
                built = self._builders[title]()
            except Exception as err:  # noqa: BLE001 - one panel must not break the explorer
                self.errors[title] = err
                built = _panel_error(title, err)
            self._panels[title] = built
            if self.tabs.selected_index == PANEL_TITLES.index(title):
                self._slots[title].children = [built]
            return built

    @property
    def built_panels(self) -> list[str]:
        self.wait()
        return [t for t in PANEL_TITLES if t in self._panels]

    def show(self, title: str):
        """Switch to the tab ``title`` and return its panel."""
        panel = self.panel(title)
        self.tabs.selected_index = PANEL_TITLES.index(title)
        return panel

    def _on_tab(self, change) -> None:
        old, index = change["old"], change["new"]
        if old is not None and old != index:
            # Detach the hidden tab's panel: plots drawn in a zero-size (hidden)
            # container get negative sizes (bqplot), and hidden views cost updates.
            self._slots[PANEL_TITLES[old]].children = [self._placeholder(PANEL_TITLES[old])]
        if index is not None:
            title = PANEL_TITLES[index]
            self._slots[title].children = [self.panel(title)]

    @staticmethod
    def _placeholder(title: str) -> w.HTML:
        return w.HTML(f"<i>{escape(title)}: shown when this tab is selected.</i>")

    def _on_dataset(self, change) -> None:
        if change["new"] is not None:
            self.load_message.value = ""  # a dataset opened since: the old failure is history
        if change["new"] is not None and self.tabs.selected_index == PANEL_TITLES.index("Search"):
            self.show("Headers")

    def _make_search(self):
        from .panels.search import SearchPanel

        if self._results is not None:
            panel = SearchPanel.from_results(self._results, model=self.model)
        else:
            panel = SearchPanel(self.model)
        panel.on_transfer_request(self._transfer_records)
        return panel

    def _make_transfers(self):
        from .panels.transfers import TransferMonitor

        return TransferMonitor(self.model)

    def _transfer_records(self, records) -> None:
        monitor = self.panel("Transfers")
        if "Transfers" in self.errors:
            raise RuntimeError(f"the transfer monitor could not start: {self.errors['Transfers']}")
        self.tabs.selected_index = PANEL_TITLES.index("Transfers")
        monitor.transfer_datasets(records)

    def close(self) -> None:
        self.wait()
        try:
            self.model.unobserve(self._on_dataset, names="dataset")
        except ValueError:
            pass
        for panel in self._panels.values():
            panel.close()
        self.overview.close()
        self.load_message.close()
        self.saved_offer.close()
        for holder in self.tabs.children:  # tab holders: no live container keeps closed panels
            holder.close()
        self.tabs.close()
        super().close()


def _load_error_html(message: str, model: DatasetModel) -> str:
    if not message:
        return ""
    if model.dataset is not None:
        after = "Nothing was changed: the explorer still shows the dataset it had."
    else:
        after = "Nothing was loaded: search for a dataset below, or pass another file or dataset to explore()."
    return f"<div class='dkw-panel-error' data-testid='load-error'><b>{escape(message)}</b><br>{escape(after)}</div>"


def _header_explorer(model):
    from .panels.header_explorer import HeaderExplorer

    return HeaderExplorer(model)


def _in_kernel() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


_STEPS = ("Importing dkist (about 5 s the first time in a kernel)", "Reading {name}", "Building the panels")


def _steps_html(done: int, name: str, started: float, error: str = "") -> str:
    rows = []
    for i, step in enumerate(_STEPS):
        text = escape(step.format(name=name))
        mark = "&#10003;" if i < done else ("&#8230;" if i == done and not error else "&#183;")
        rows.append(f"<div data-testid='explore-step' data-done='{int(i < done)}'>{mark} {text}</div>")
    if error:
        rows.append(f"<div class='dkw-panel-error' data-testid='load-error'><b>{escape(error)}</b></div>")
    elapsed = escape(f"{time.monotonic() - started:.1f} s")
    return f"<div data-testid='explore-progress'>{''.join(rows)}<small>{elapsed}</small></div>"


def _show_skeleton(x, model: DatasetModel | None, results) -> Explorer:
    """An :class:`Explorer` showing its title and progress now; a BackgroundJob builds the rest."""
    ex = Explorer.__new__(Explorer)
    ex._pending = threading.Event()
    w.VBox.__init__(ex, layout=w.Layout(width="100%"))
    ex.add_class("dkw-explorer")
    name = Path(x).name if isinstance(x, (str, os.PathLike)) else type(x).__name__ if x is not None else "nothing"
    started = time.monotonic()
    status = w.HTML(_steps_html(0, name, started))
    ex.children = [w.HTML(_STYLE + "<span class='dkw-explorer-title'><b>DKIST explorer</b></span>"), status]

    def build(_cancel):
        ex._builder = threading.get_ident()
        import dkist  # noqa: F401  - the slow part of a first explore() in a fresh kernel

        status.value = _steps_html(1, name, started)
        target, load_error, given = _load_into(x, model if model is not None else DatasetModel())
        status.value = _steps_html(2, name, started)
        Explorer.__init__(ex, target, results=given, load_error=load_error)

    def failed(err):
        ex.build_error = err
        status.value = _steps_html(0, name, started, f"The explorer could not be built: {type(err).__name__}: {err}")
        ex._pending.set()

    BackgroundJob(build, on_done=lambda _none: ex._pending.set(), on_error=failed, name="dkw-explore").start()
    return ex


def _load_into(x, model: DatasetModel) -> tuple[DatasetModel, str, Any]:
    """Put ``x`` into ``model``: ``(model, load error or "", Fido results or None)``."""
    results = None
    load_error = ""
    if isinstance(x, (str, os.PathLike)):
        try:
            model.set_dataset(open_dataset_file(Path(x)))
        except DatasetFileError as err:
            load_error = str(err)
        except (ValueError, TypeError) as err:  # loaded, but the model refuses it
            load_error = f"Could not open {Path(x).name}: {err}"
    elif x is not None and _is_fido_results(x):
        results = x
    elif x is not None:
        try:
            model.set_dataset(x)
        except (ValueError, TypeError) as err:  # model.set_dataset validates before changing anything
            load_error = f"Could not explore this {type(x).__name__}: {err}"
    return model, load_error, results


def explore(x: Any = None, *, model: DatasetModel | None = None, background: bool | None = None) -> Explorer:
    """Lay out every panel around one model, starting from what you have.

    Parameters
    ----------
    x
        ``None`` (start with the search form), Fido results (``UnifiedResponse``
        or DKIST table), a path to an ASDF file, or a dkist ``Dataset`` /
        ``TiledDataset``.
    model
        A :class:`DatasetModel` to share with other panels (made when None). With
        a dataset or path, the dataset is put into it.
    background
        Show the explorer's skeleton at once and build it in the background
        (default: when running in a Jupyter kernel); see the module docstring.

    A file that exists but cannot be opened (truncated, corrupt, no DKIST dataset)
    and a dataset the model cannot hold (no files, every tile masked) do not raise:
    the explorer shows why (``Explorer.load_error``) and the model is left as it was.

    Raises
    ------
    FileNotFoundError
        ``x`` is a path that does not exist.
    TypeError
        ``x`` is none of the above.
    """
    is_path = isinstance(x, (str, os.PathLike))
    if not (x is None or is_path or _is_fido_results(x) or _is_dataset(x)):
        raise TypeError(
            "explore() takes a dkist Dataset or TiledDataset, a path to an ASDF file, "
            f"Fido search results, or nothing; got {type(x).__name__}"
        )
    if background is None:
        background = _in_kernel()
    if background:
        if is_path and not Path(x).expanduser().is_file():
            raise FileNotFoundError(f"no ASDF file at {str(Path(x).expanduser())!r}")
        return _show_skeleton(x, model, x if (x is not None and not is_path and _is_fido_results(x)) else None)
    model, load_error, results = _load_into(x, model if model is not None else DatasetModel())
    return Explorer(model, results=results, load_error=load_error)
