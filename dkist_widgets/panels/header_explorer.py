"""HeaderExplorer: the header table linked to a plot of any key, brushing good-seeing frames.

The workshop's move (plot ``ATMOS_R0``, find where the seeing is good, keep those
frames, fetch only their files) as one panel over a
:class:`~dkist_widgets.core.model.DatasetModel`. The recipe that decides the
selection is a :class:`~dkist_widgets.core.header_selection.HeaderSelectionState`;
the arithmetic is in :mod:`dkist_widgets.core.header_table`. This module composes:

* :mod:`.header_plot`: the bqplot figure, brush and threshold handle (draws the state);
* :mod:`.header_controls`: toggles, boxes and buttons linked to the state's traits;
* :mod:`.header_texts`: summary, key description, frame values and the selection as
  ``ds[...]`` code, as escaped HTML;
* :mod:`.header_saved`: save the selection and its recipe next to the dataset, load one back;
* a :class:`~dkist_widgets.panels.frame_table.FrameTable` of a few keys plus a
  stable ``frame`` column (sorted and filtered in the kernel; a clicked row sends
  its frame id, which the plot marks with a red line).

How a selection travels
-----------------------
A gesture changes the state; one observer of the state's recipe traits writes
``state.frames(table)`` into the model (``source="header_explorer"``); the model's
``selection_version`` then redraws the highlight, the table and the summary, from
``model.selected_mask``. When someone else replaces the selection (another panel,
or this panel's API methods, ``source="header_explorer.api"``) the recipe no longer
describes it, so it is cleared: the brush, the threshold and the buttons show that.
An empty recipe never overwrites a selection it did not make. There is no guard
flag: each direction stops because setting a value to what it already is changes
nothing (traitlets, ``traitlets.link``, and the model's ``select_frames``).

Few widget models
-----------------
In a live kernel each widget model is a message, a hop through the server and a
model and view in the browser before the panel paints, so a first build makes few
(76 at a million frames with four Stokes states, from 133): the parts share
their layouts and styles (:mod:`.shared_looks`), and marks not drawn yet are made
on first use (:mod:`.header_plot`). The empty placeholder of the table is made only
when there is no table to show.
"""

from __future__ import annotations

import ipywidgets as w
import numpy as np

from ..core.formatting import escape
from ..core.header_selection import RECIPE_TRAITS, HeaderSelectionState
from ..core.header_table import (
    R0_KEY,
    HeaderTable,
    catalogue_problem,
    read_plot_columns_ahead,
    shared_header_table,
)
from ..core.units import r0_text
from .frame_table import FrameTable
from .header_controls import HeaderControls
from .header_plot import HeaderPlot, value_text
from .header_saved import SavedSelectionControls
from .header_texts import code_html, frame_html, key_info_html, summary_html
from .shared_looks import SharedLooks
from .static_form import StaticForm

__all__ = ["HeaderExplorer", "DEFAULT_TABLE_KEYS"]

SOURCE = "header_explorer"
DEFAULT_TABLE_KEYS = (
    "DATE-AVG",
    "ATMOS_R0",
    "AO_LOCK",
    "OOBSHIFT",
    "DINDEX3",
    "DINDEX4",
    "DINDEX5",
    "LIGHTLVL",
    "XPOSURE",
)
N_BINS = 1000

#: Widgets and marks reachable as attributes of the explorer (tests and notebooks use them).
_PLOT_PARTS = (
    "figure",
    "brush",
    "threshold_handle",
    "threshold_line",
    "unlocked_mark",
    "intervals_mark",
    "selected_mark",
    "marker_mark",
    "x_axis",
    "y_axis",
)
_CONTROL_PARTS = (
    "key_picker",
    "x_toggle",
    "threshold_mode",
    "threshold_text",
    "threshold_unit",
    "combine",
    "add_intervals",
    "invert_button",
    "longest_button",
    "clear_button",
    "all_stokes",
    "only_selected",
    "recipe",
)


def _plot_part(name: str) -> property:
    """``explorer.<name>`` is ``explorer.plot.<name>`` (some marks are made on first use)."""
    return property(lambda self: getattr(self.plot, name), doc=f"The plot's ``{name}``.")


def _stokes_axis(dataset) -> int | None:
    """Axis of the file grid holding Stokes (from the dataset's physical types), if any."""
    try:
        n_file_axes = len(dataset.files.fileuri_array.shape)
        types = dataset.array_axis_physical_types
    except Exception:  # noqa: BLE001 - a tiled or odd dataset: no grid axis
        return None
    for axis in range(min(n_file_axes, len(types))):
        if any("stokes" in t for t in types[axis]):
            return axis
    return None


def _read_plot_columns_ahead(model, key) -> None:
    """Start reading the columns the first plot needs when the dataset was opened lazily."""
    if model.dataset is None or model.is_tiled:
        return
    read_plot_columns_ahead(model.headers, key)


def _r0_cell(value) -> str:
    """A table cell of r0: rounded to the millimetre in the display unit ("—" when masked)."""
    return r0_text(value, unit=False)


class HeaderExplorer(StaticForm, w.VBox):
    """Header table + plot + selection controls over a :class:`DatasetModel`.

    Parameters
    ----------
    model
        The shared :class:`~dkist_widgets.core.model.DatasetModel`.
    key
        The key plotted first (default ``ATMOS_R0`` when present).
    table_keys
        Keys shown as table columns (those present; default :data:`DEFAULT_TABLE_KEYS`).
    n_bins
        Decimation bins per series (at most ``3 * n_bins`` points drawn per series).
    """

    static_title = "Header explorer"

    def static_lines(self) -> list[tuple[str, str]]:
        lines = super().static_lines()
        recipe = self.state.describe() if self.table is not None else ""
        if recipe:
            lines.append(("recipe", recipe))
        return lines

    def __init__(self, model, *, key: str | None = None, table_keys=DEFAULT_TABLE_KEYS, n_bins: int = N_BINS, **kwargs):
        super().__init__(**kwargs)
        self.add_class("dkw-header-explorer")
        self.model = model
        _read_plot_columns_ahead(model, key)  # inflating them overlaps building the widgets below
        self.state = HeaderSelectionState()
        self.table: HeaderTable | None = None
        self._initial_key = key
        self._table_keys = list(table_keys)
        self._messages: list[str] = []  # about the table: time axis, Stokes, catalogue, r0 absent
        self._key_problem = ""  # about the key last typed
        self.looks = looks = SharedLooks()  # layouts and styles of this panel's parts: never changed
        self.plot = HeaderPlot(self.state, model, n_bins=n_bins)
        self.controls = HeaderControls(self.state, looks)
        for name in _CONTROL_PARTS:
            setattr(self, name, getattr(self.controls, name))
        self.key_info = looks.html()
        self.key_info.add_class("dkw-key-info")
        self.summary = looks.html()
        self.summary.add_class("dkw-header-summary")
        self.code = looks.html()
        self.code.add_class("dkw-header-code")
        self.status = looks.html()
        self.status.add_class("dkw-header-status")
        self.row_info = looks.html()
        self.saved = SavedSelectionControls(self, looks)
        self.grid = None
        self._grid_placeholder: w.HTML | None = None  # shown instead of the table when there is none
        self._parts_above_grid = (
            looks.html(
                "<b>Header explorer</b> <span style='opacity:.7'>— plot a header key, brush the good "
                "frames, fetch only their files</span>"
            ),
            w.HBox([self.key_picker, self.x_toggle, self.controls.stokes_box], layout=looks.layout()),
            self.key_info,
            self.figure,
            self.controls.threshold_row(),
            self.controls.button_row(),
            self.recipe,
            self.summary,
            self.code,
            self.saved.box,
            self.status,
        )
        self.key_picker.observe(self._on_key_text, names="value")
        self.clear_button.on_click(lambda _b: self.clear())
        self.only_selected.observe(lambda _c: self._refresh_grid_rows(), names="value")
        self.state.observe(self._apply, names=list(RECIPE_TRAITS))
        self.state.observe(self._on_key, names="key")
        model.observe(self._on_dataset, names=["dataset"])
        model.observe(self._on_model_selection, names=["selection_version"])
        model.observe(self._on_sizes, names=["file_sizes_version"])
        self._on_dataset(None)  # sets the children: the parts above, the table, the marked frame

    # ------------------------------------------------------------------ dataset

    def _on_dataset(self, _change) -> None:
        model = self.model
        ds = model.dataset
        self.table = None
        self.plot.show(None)
        self.controls.show(None)
        if ds is None or not model.headers_match_files:
            if ds is None:
                why = "<i>No dataset open.</i>"
            else:
                n = 0 if model.headers is None else len(model.headers)
                why = (
                    f"This dataset's header table has {escape(n)} rows for {escape(model.n_frames)} files: "
                    "frames cannot be matched to files, so nothing can be selected here."
                )
            self.status.value = why
            self.grid = None
            self._show_grid(None)
            self.summary.value = self.key_info.value = self.code.value = ""
            self.saved.refresh()
            return
        grid_shape = None if model.is_tiled else ds.files.fileuri_array.shape
        stokes_axis = None if model.is_tiled else _stokes_axis(ds)
        # one table per dataset, shared by every panel (times parsed, series decimated once)
        table = shared_header_table(model, grid_shape=grid_shape, stokes_axis=stokes_axis)
        # the table needs no time axis: built first, while the time column may still be read ahead
        self._build_grid(table)
        self.state.start(table, self._initial_key)  # before self.table is set: nothing is pushed
        self.table = table
        self._key_problem = ""
        self._messages = [m for m in (table.time.message, table.stokes.message, catalogue_problem()) if m]
        if R0_KEY not in table.keys:
            self._messages.insert(
                0, f"{R0_KEY} is not in these headers: plotting {self.state.key or 'nothing'} instead"
            )
        self.controls.show(table)
        self.plot.show(table)
        self._on_key(None)
        self._refresh_summary()
        self.saved.refresh()

    # ------------------------------------------------------------------ state -> model

    def _apply(self, _change=None) -> None:
        """Write the recipe's frames into the model (the one place this panel selects)."""
        table = self.table
        if table is None:
            return
        if self.state.settle(table):
            return  # a step was switched off; that change re-applied the recipe already
        if self.state.is_empty and self.model.selection_source != SOURCE:
            return  # an empty recipe claims nothing: a selection made elsewhere stays
        self._push(self.state.frames(table), mode="replace", source=SOURCE)

    def _push(self, ids, *, mode: str, source: str) -> np.ndarray:
        ids = np.asarray(ids, dtype=np.int64)
        if mode == "replace":  # a boolean mask skips a sort of the ids in the model
            mask = np.zeros(self.table.n_frames, dtype=bool)
            mask[ids] = True
            return self.model.select_frames(mask, source=source, mode="replace")
        return self.model.select_frames(ids, source=source, mode=mode)

    # ------------------------------------------------------------------ model -> view

    def _on_model_selection(self, _change) -> None:
        if self.table is None or self.model.dataset is None:
            return
        if self.model.selection_source != SOURCE:
            self.state.clear()  # the recipe no longer describes the selection
        self.plot.draw_selection()
        self._refresh_summary()
        self._refresh_grid_selection()
        self._render_status()

    def _on_sizes(self, _change) -> None:
        if self.table is not None:
            self._refresh_summary()

    def _on_key(self, _change) -> None:
        key = self.state.key
        if self.table is None:
            return
        if key is not None:
            self._add_table_column(key)
            self.key_info.value = key_info_html(self.model, self.table, key)
        self._render_status()

    def _refresh_summary(self) -> None:
        self.summary.value = "" if self.table is None else summary_html(self.model, self.table)
        self._refresh_code()

    def _refresh_code(self) -> None:
        if self.table is None:
            self.code.value = ""
            return
        self.code.value = code_html(self.model, self.recipe_words() or None)

    def recipe_words(self) -> str:
        """How the model's selection was made, in words with units ("" when nothing is selected)."""
        source = self.model.selection_source
        if self.table is None or not self.model.n_selected:
            return ""
        return self.state.describe(value_text) if source == SOURCE else f"selection set by {source}"

    def _render_status(self) -> None:
        messages = list(self._messages)
        key = self.state.key
        if key is None:
            messages.append("no numeric header key to plot")
        elif not np.isfinite(self.table.numeric(key)).any():
            messages.append(
                f"{key} has no finite values (all masked, NaN or infinite): no finite {key} "
                "values to plot or select by."
            )
        if self._key_problem:
            messages.append(self._key_problem)
        source = self.model.selection_source
        if source and not source.startswith(SOURCE):
            messages.append(f"Selection set by {source}; brush or threshold here to replace it.")
        self.status.value = "<br>".join(f"<span style='color:#a60'>{escape(m)}</span>" for m in messages)

    # ------------------------------------------------------------------ public API

    @property
    def key(self) -> str | None:
        """The key plotted (the threshold applies to it)."""
        return self.state.key

    @property
    def x(self) -> str:
        """The x axis: ``"time"`` or ``"frame"``."""
        return self.state.x

    @property
    def intervals(self) -> list[tuple[float, float]]:
        """Brushed intervals on the x axis."""
        return self.state.intervals

    @property
    def series_marks(self) -> dict:
        """Stokes state -> its ``Lines`` mark (rebuilt for each dataset)."""
        return self.plot.series_marks

    @property
    def shown_stokes(self) -> list[str]:
        """Names of the Stokes states plotted (and that the UI criteria apply to)."""
        names = self.table.stokes.names if self.table is not None else self.plot.series_marks
        return [name for name in names if name in self.state.stokes]

    @property
    def _marked_frame(self) -> int | None:
        return self.plot.marked_frame

    def set_key(self, key: str) -> None:
        """Plot ``key`` (numeric) and add it to the table; ``MissingKeyError`` if absent."""
        self._require_table()
        self.table.require(key)
        if not self.table.is_numeric(key):
            self._add_table_column(key)
            raise ValueError(f"{key!r} is not numeric: it is shown in the table but cannot be plotted")
        self.state.choose_key(self.table, key)

    def set_x(self, x: str) -> None:
        """x axis: ``"time"`` (DATE-AVG) or ``"frame"``; brushed intervals are cleared."""
        self._require_table()
        self.table.axis(x)
        if x == "time" and not self.table.time.is_time:
            raise ValueError(f"no time axis: {self.table.time.message}")
        self.state.x = x

    def set_stokes(self, names) -> None:
        """Plot (and apply the UI criteria to) these Stokes states."""
        self._require_table()
        codes = set(self.table.stokes.codes_of(names).tolist())
        self.state.stokes = [name for i, name in enumerate(self.table.stokes.names) if i in codes]

    def brush_interval(self, lo, hi, *, add: bool | None = None) -> np.ndarray:
        """What a mouse brush from ``lo`` to ``hi`` (x axis units or times) does."""
        self._require_table()
        axis = self.table.axis(self.state.x)
        self.state.brush(axis.to_axis(lo), axis.to_axis(hi), add=add)
        return self.model.selected_frames

    def set_threshold(self, value, mode: str = ">=") -> np.ndarray:
        """Set the UI threshold on the plotted key (``value`` in header units; None: off)."""
        self._require_table()
        self.state.set_threshold(value, mode)
        return self.model.selected_frames

    def criteria_frames(self) -> np.ndarray:
        """Frame ids meeting the UI criteria (brush, threshold, combine, invert, longest run, Stokes)."""
        self._require_table()
        return self.state.frames(self.table)

    def clear(self) -> None:
        """Clear brushed intervals, threshold, toggles and the model's selection."""
        self.state.clear()
        if self.model.dataset is not None:
            self.model.clear_selection(source=SOURCE)

    def select_where(
        self, key: str, min=None, max=None, *, stokes=None, all_stokes: bool = False, mode: str = "replace"
    ) -> np.ndarray:
        """Select frames whose ``key`` lies in ``[min, max]`` (header units, e.g. metres for r0).

        ``stokes``: only frames of these Stokes states; ``all_stokes``: then add the
        other Stokes states at the same time slots. ``mode`` as in
        ``model.select_frames``. Returns the model's new selection.
        """
        self._require_table()
        ids = self.table.frames_where(key, min, max, stokes=stokes)
        if all_stokes:
            ids = self.table.expand_stokes(ids)
        return self._push(ids, mode=mode, source=f"{SOURCE}.api")

    def select_time_range(self, t0, t1, *, stokes=None, mode: str = "replace") -> np.ndarray:
        """Select frames whose time (``DATE-AVG``; frame number if absent) lies in ``[t0, t1]``.

        Bounds: ISO strings, ``datetime64``, astropy ``Time``, or seconds since the
        first frame (frame numbers when there is no time axis).
        """
        self._require_table()
        within = None if stokes is None else self.table.stokes.frames(stokes)
        ids = self.table.frames_in_intervals([(t0, t1)], x="time", within=within)
        return self._push(ids, mode=mode, source=f"{SOURCE}.api")

    def longest_good_run(
        self, key: str = R0_KEY, min=None, max=None, *, stokes="I", all_stokes: bool = True, mode: str = "replace"
    ) -> np.ndarray:
        """Select the longest run of consecutive frames (time order, among ``stokes``) with ``key`` in range.

        With no bounds, "good" means "has a value" (r0 is masked where AO was unlocked).
        """
        self._require_table()
        if stokes is not None and len(self.table.stokes.names) == 1:
            stokes = None
        within = self.table.stokes.frames(stokes)
        good = self.table.frames_where(key, min, max, within=within)
        ids = self.table.longest_run(good, within=within)
        if all_stokes:
            ids = self.table.expand_stokes(ids)
        return self._push(ids, mode=mode, source=f"{SOURCE}.api")

    def invert_selection(self) -> np.ndarray:
        """Replace the model's selection by its complement."""
        self._require_table()
        return self._push(self.table.complement(self.model.selected_frames), mode="replace", source=f"{SOURCE}.api")

    def mark_frame(self, frame: int) -> None:
        """Show a frame in the plot (vertical red line) and its values under the table."""
        self._require_table()
        frame = int(frame)
        if not 0 <= frame < self.table.n_frames:
            raise IndexError(f"frame {frame} out of range 0..{self.table.n_frames - 1}")
        if self.grid is not None:
            self.grid.marked_frame = frame
        self.plot.mark_frame(frame)
        self.row_info.value = frame_html(self.model, self.table, frame, self.state.key)

    # ------------------------------------------------------------------ events

    def _on_key_text(self, change) -> None:
        if self.table is None:
            return
        key, chosen = self.controls.key_from_text(change["new"])
        if not key:
            return
        if not self.table.has(key):
            if chosen:
                self._key_problem = f"no header key {key!r}"
                self._render_status()
            return
        self._key_problem = ""
        try:
            self.set_key(key)
        except ValueError as error:
            self.key_info.value = key_info_html(self.model, self.table, key)
            self._key_problem = str(error)
        self._render_status()

    def _on_table_click(self, frame: int) -> None:
        """A clicked row names its frame (the table sends the row's ``frame`` value)."""
        if self.table is not None and 0 <= frame < self.table.n_frames:
            self.mark_frame(frame)

    # ------------------------------------------------------------------ table

    def _build_grid(self, table: HeaderTable) -> None:
        keys = [k for k in self._table_keys if table.has(k)]
        for key in (self._initial_key, R0_KEY):  # the plotted key is a column from the start
            if key and key not in keys and table.has(key):
                keys.append(key)
        self._grid_keys = keys
        # the table's own columns: the first window reads its rows only, sorts are the
        # table's cached column orders (shared by every build over this dataset)
        self._grid_rows = table.rows(keys)
        # r0 reads as in the plot and the threshold box: the display unit, to the millimetre
        self.grid = FrameTable(
            self._grid_rows,
            selected=self.model.selected_mask,
            height_rows=10,
            formats={R0_KEY: _r0_cell},
            layout=self.looks.layout(),
        )
        self.grid.add_class("dkw-header-grid")
        self.grid.on_click(self._on_table_click)
        self._show_grid(self.grid)

    def _show_grid(self, grid) -> None:
        """Put the table (or an empty placeholder) in its place among the children."""
        if grid is None:
            if self._grid_placeholder is None:
                self._grid_placeholder = self.looks.html()
            grid = self._grid_placeholder
        # row_info last: the browser test reads the marked frame there
        children = (*self._parts_above_grid, grid, self.row_info)
        if self.children != children:
            self.children = children

    @property
    def _grid_frame(self):
        """The table's rows in view order (after its filters, sort and "only selected")."""
        return self._grid_rows.to_frame(self.grid.view.order)

    def _add_table_column(self, key: str) -> None:
        if self.grid is None or key in self._grid_keys or not self.table.has(key):
            return
        self._grid_keys.append(key)
        self._grid_rows = self.table.rows(self._grid_keys)
        self.grid.set_frame(self._grid_rows)

    def _refresh_grid_rows(self) -> None:
        if self.grid is not None:
            self.grid.set_row_mask(self.model.selected_mask if self.only_selected.value else None)

    def _refresh_grid_selection(self) -> None:
        if self.grid is None:
            return
        self.grid.set_selected(self.model.selected_mask)
        if self.only_selected.value:
            self._refresh_grid_rows()

    def _require_table(self) -> None:
        if self.table is None:
            why = "no dataset is open" if self.model.dataset is None else "its header rows do not match its files"
            raise ValueError(f"the header explorer has no usable header table: {why}")


for _name in _PLOT_PARTS:  # explorer.figure, explorer.brush, ...: the plot's
    setattr(HeaderExplorer, _name, _plot_part(_name))
del _name
