"""HeaderExplorer: the header table linked to a plot of any key, brushing good-seeing frames.

The workshop's move — plot ``ATMOS_R0``, find where the seeing is good, keep those
frames, fetch only their files — as one panel over a
:class:`~dkist_widgets.core.model.DatasetModel`. All arithmetic is in
:mod:`dkist_widgets.core.header_table`; this module only draws and wires.

Pieces
------
* **Key picker**: a ``Combobox`` whose options are every header key followed by its
  SPEC-0214 meaning and unit, so typing "fried" or "exposure" finds the key. The
  chosen key's description, unit and the dataset's header documentation link show
  below it. A numeric key is plotted; every chosen key becomes a table column.
* **Plot** (bqplot): one ``Lines`` per Stokes state shown (Stokes I alone by
  default), x = ``DATE-AVG`` (or frame number). Masked values are NaN, which bqplot
  draws as gaps. Series are min/max-decimated to <= 3000 points each
  (:func:`~dkist_widgets.core.header_table.decimate_minmax`), so a million frames
  cost what a thousand do; selections are always computed on the full data.
  Spans where ``AO_LOCK`` is false are grey rectangles (merged below ~1/500 of the
  x range). ``ATMOS_R0`` is drawn in **cm** (headers hold metres; the axis says so).
* **Selecting**: a ``BrushIntervalSelector`` on x acts when ``brushing`` turns False
  (not on every mouse move). With "add intervals" on, each brush adds an interval
  (kept intervals are shaded blue). The **threshold** is a horizontal dashed line
  with a round handle at its right end: the handle is a one-point ``Scatter`` with
  ``enable_move`` + ``restrict_y`` + ``update_on_move=False``, so dragging it moves
  the line and re-selects when released; a ``FloatText`` next to the ≥/≤ toggle
  holds the same value in display units for typing an exact number. Brush and
  threshold combine with AND (or OR); "invert" complements the result among the
  frames shown; "longest good run" keeps the longest stretch of consecutive
  frames (time order, among the Stokes states shown) that meet the criteria.
  "all Stokes at those times" (on by default) then adds the other Stokes states
  of the chosen time slots, so the files of complete Stokes sets are fetched.
  The result replaces the model's selection (``source="header_explorer"``).
* **Table**: a :class:`~dkist_widgets.panels.frame_table.FrameTable` (plain DOM rows,
  one widget model) over a DataFrame of a few keys plus a stable ``frame`` column;
  selected frames are highlighted. It sorts (header click) and filters (a box per
  column) in the kernel and sends only the window of rows scrolled to, whatever
  the dataset size. A clicked row sends its ``frame`` value, never its position,
  and that frame is marked in the plot by a red vertical line and its row
  outlined. "only selected rows" filters the table to the selection. (It replaced
  an ipydatagrid grid whose canvas repaints cost most of the panel's paint time.)
* **Summary**: frames, files, bytes and fraction of the dataset, escaped HTML.
  Bytes are the files' on-disk sizes when the model knows them
  (``set_file_sizes``), otherwise the data bytes (frames x array bytes per file).

When another panel changes the model's selection, the plot highlight, the table and
the summary follow it and the explorer's own criteria are shown as superseded.
"""

from __future__ import annotations

import threading

import bqplot as bq
from bqplot.interacts import BrushIntervalSelector
import ipywidgets as w
import numpy as np

from ..core.formatting import escape, human_bytes
from ..core.header_table import (
    R0_KEY,
    HeaderTable,
    catalogue_problem,
    decimate_minmax,
    describe_key,
)
from .frame_table import FrameTable

__all__ = ["HeaderExplorer", "DEFAULT_TABLE_KEYS"]

SOURCE = "header_explorer"
DEFAULT_TABLE_KEYS = ("DATE-AVG", "ATMOS_R0", "AO_LOCK", "OOBSHIFT", "DINDEX3", "DINDEX4", "DINDEX5",
                      "LIGHTLVL", "XPOSURE")
STOKES_COLOURS = {"I": "#1f77b4", "Q": "#2ca02c", "U": "#9467bd", "V": "#8c564b", "all": "#1f77b4"}
#: Per-key display scale: ATMOS_R0 is metres in the headers, shown in cm.
DISPLAY_UNITS = {R0_KEY: (100.0, "cm")}
N_BINS = 1000


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


def _trim_nan(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Drop leading and trailing NaN points: bqplot places a line's label at its last
    point and logs a console error when that point's y is NaN (gaps inside stay)."""
    finite = np.flatnonzero(np.isfinite(y))
    if finite.size == 0:
        return x[:0], y[:0]
    return x[finite[0] : finite[-1] + 1], y[finite[0] : finite[-1] + 1]


def _safe_url(url) -> str | None:
    url = str(url or "").strip()
    return url if url.lower().startswith(("http://", "https://")) else None


class HeaderExplorer(w.VBox):
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

    def __init__(self, model, *, key: str | None = None, table_keys=DEFAULT_TABLE_KEYS, n_bins: int = N_BINS, **kwargs):
        super().__init__(**kwargs)
        self.add_class("dkw-header-explorer")
        self.model = model
        self.n_bins = int(n_bins)
        self._lock = threading.RLock()
        self._initial_key = key
        self._table_keys = list(table_keys)
        self.table: HeaderTable | None = None
        self.key: str | None = None
        self.x = "time"
        self.intervals: list[tuple[float, float]] = []  # on the current x axis
        self._threshold_value: float | None = None  # header units
        self._selected_mask = np.zeros(0, dtype=bool)
        self._marked_frame: int | None = None
        self._updating = False
        self._build_controls()
        self._build_plot()
        self.grid = None
        self._grid_placeholder = w.HTML()  # replaced by the table once a dataset is usable
        self._grid_shown = self._grid_placeholder
        self.children = [
            w.HTML("<b>Header explorer</b> <span style='opacity:.7'>— plot a header key, brush the good "
                   "frames, fetch only their files</span>"),
            w.HBox([self.key_picker, self.x_toggle, self._stokes_box]),
            self.key_info,
            self.figure,
            w.HBox([w.HTML("threshold&nbsp;", layout=w.Layout(width="70px")), self.threshold_mode,
                    self.threshold_text, self.threshold_unit,
                    w.HTML("&nbsp;&nbsp;brush/threshold&nbsp;"), self.combine, self.add_intervals],
                   layout=w.Layout(align_items="center")),
            w.HBox([self.invert_button, self.longest_button, self.clear_button, self.all_stokes,
                    self.only_selected]),
            self.summary,
            self.status,
            self._grid_placeholder,
            self.row_info,
        ]
        model.observe(self._on_dataset, names=["dataset"])
        model.observe(self._on_model_selection, names=["selection_version"])
        model.observe(self._on_sizes, names=["file_sizes_version"])
        self._on_dataset(None)

    # ------------------------------------------------------------------ building

    def _build_controls(self) -> None:
        self.key_picker = w.Combobox(placeholder="search keys (name or meaning)", ensure_option=False,
                                     description="Key", layout=w.Layout(width="420px"))
        self.key_picker.add_class("dkw-key-picker")
        self.key_picker.observe(self._on_key_text, names="value")
        self.x_toggle = w.ToggleButtons(options=[("time", "time"), ("frame", "frame")], value="time",
                                        style={"button_width": "60px"}, tooltip="x axis")
        self.x_toggle.observe(lambda c: self.set_x(c["new"]), names="value")
        self._stokes_checks: dict[str, w.Checkbox] = {}
        self._stokes_box = w.HBox()
        self.key_info = w.HTML()
        self.key_info.add_class("dkw-key-info")
        self.threshold_mode = w.ToggleButtons(options=[("off", "off"), ("keep ≥", ">="), ("keep ≤", "<=")],
                                              value="off", style={"button_width": "84px"},
                                              tooltip="Keep frames whose plotted value is above/below the value "
                                                      "(or drag the red handle at the plot's right edge)")
        self.threshold_mode.observe(lambda _c: self._on_threshold_widgets(), names="value")
        self.threshold_text = w.FloatText(value=0.0, layout=w.Layout(width="100px"))
        self.threshold_text.add_class("dkw-threshold-value")
        self.threshold_text.observe(lambda _c: self._on_threshold_widgets(), names="value")
        self.threshold_unit = w.HTML(layout=w.Layout(width="40px"))
        self.combine = w.ToggleButtons(options=[("AND", "and"), ("OR", "or")], value="and",
                                       style={"button_width": "62px"},
                                       tooltip="How brushed intervals and the threshold combine")
        self.combine.observe(lambda _c: self._apply_criteria(), names="value")
        self.add_intervals = w.Checkbox(value=False, description="add intervals", indent=False,
                                        layout=w.Layout(width="120px"))
        self.invert_button = w.ToggleButton(value=False, description="Invert", tooltip="Select the frames not chosen")
        self.invert_button.observe(lambda _c: self._apply_criteria(), names="value")
        self.longest_button = w.ToggleButton(value=False, description="Longest good run",
                                             tooltip="Keep the longest stretch of consecutive frames meeting the criteria")
        self.longest_button.observe(lambda _c: self._apply_criteria(), names="value")
        self.clear_button = w.Button(description="Clear", tooltip="Clear brush, threshold and selection")
        self.clear_button.on_click(lambda _b: self.clear())
        self.all_stokes = w.Checkbox(value=True, description="all Stokes at those times", indent=False,
                                     layout=w.Layout(width="190px"))
        self.all_stokes.observe(lambda _c: self._apply_criteria(), names="value")
        self.only_selected = w.Checkbox(value=False, description="only selected rows", indent=False,
                                        layout=w.Layout(width="150px"))
        self.only_selected.observe(lambda _c: self._refresh_grid_rows(), names="value")
        self.summary = w.HTML()
        self.summary.add_class("dkw-header-summary")
        self.status = w.HTML()
        self.status.add_class("dkw-header-status")
        self.row_info = w.HTML()

    def _build_plot(self) -> None:
        self.x_scale = bq.DateScale()
        self.frame_scale = bq.LinearScale()
        self.y_scale = bq.LinearScale()
        self.unit_scale = bq.LinearScale(min=0.0, max=1.0)
        self.x_axis = bq.Axis(scale=self.x_scale, label="DATE-AVG", num_ticks=6, tick_format="%H:%M:%S")
        self.y_axis = bq.Axis(scale=self.y_scale, orientation="vertical", label="", tick_format=".3g")
        scales = {"x": self.x_scale, "y": self.unit_scale}
        # rectangles: closed 5-point lines filled; no outline (stroke_width 0), since
        # ``opacities`` would fade the fill too
        self.unlocked_mark = bq.Lines(x=np.zeros((0, 5)), y=np.zeros((0, 5)), scales=scales, fill="inside",
                                      colors=["#bbbbbb"], fill_colors=["#bbbbbb"], fill_opacities=[0.45],
                                      stroke_width=0.0, labels=["AO unlocked"])
        self.intervals_mark = bq.Lines(x=np.zeros((0, 5)), y=np.zeros((0, 5)), scales=scales, fill="inside",
                                       colors=["#4a90d9"], fill_colors=["#4a90d9"], fill_opacities=[0.15],
                                       stroke_width=0.0)
        self.series_marks: dict[str, bq.Lines] = {}
        self.selected_mark = bq.Lines(x=np.zeros(0), y=np.zeros(0), scales={"x": self.x_scale, "y": self.y_scale},
                                      colors=["#ff7f0e"], stroke_width=3.0, labels=["selected"])
        self.marker_mark = bq.Lines(x=np.zeros(0), y=np.array([0.0, 1.0]), scales=scales, colors=["red"],
                                    stroke_width=1.5, visible=False)
        self.threshold_line = bq.Lines(x=np.zeros(0), y=np.zeros(0), scales={"x": self.x_scale, "y": self.y_scale},
                                       colors=["#d62728"], line_style="dashed", visible=False)
        self.threshold_handle = bq.Scatter(x=np.zeros(0), y=np.zeros(0), scales={"x": self.x_scale, "y": self.y_scale},
                                           colors=["#d62728"], default_size=120, enable_move=True, restrict_y=True,
                                           update_on_move=False, visible=False,
                                           tooltip=None)
        self.threshold_handle.observe(self._on_handle_moved, names="y")
        self.brush = BrushIntervalSelector(scale=self.x_scale, color="steelblue")
        self.brush.observe(self._on_brushing, names="brushing")
        self.figure = bq.Figure(marks=[], axes=[self.x_axis, self.y_axis], interaction=self.brush,
                                fig_margin={"top": 20, "bottom": 40, "left": 70, "right": 30},
                                layout=w.Layout(width="100%", height="330px"), animation_duration=0)
        self.figure.add_class("dkw-header-plot")

    # ------------------------------------------------------------------ dataset

    def _on_dataset(self, _change) -> None:
        model = self.model
        ds = model.dataset
        self.intervals = []
        self._threshold_value = None
        self._marked_frame = None
        if ds is None:
            self.table = None
            self._show_unusable("<i>No dataset open.</i>")
            return
        if not model.headers_match_files:
            n = 0 if model.headers is None else len(model.headers)
            self.table = None
            self._show_unusable(
                f"This dataset's header table has {escape(n)} rows for {escape(model.n_frames)} files: "
                "frames cannot be matched to files, so nothing can be selected here.")
            return
        grid_shape = None if model.is_tiled else ds.files.fileuri_array.shape
        stokes_axis = None if model.is_tiled else _stokes_axis(ds)
        self.table = HeaderTable(model.headers, grid_shape=grid_shape, stokes_axis=stokes_axis)
        self._selected_mask = np.zeros(self.table.n_frames, dtype=bool)
        self._selected_mask[model.selected_frames] = True
        self.x = "time" if self.table.time.is_time else "frame"
        self.x_toggle.value = self.x
        self.x_toggle.disabled = not self.table.time.is_time
        self._build_stokes_checks()
        self._fill_key_picker()
        numeric = self.table.numeric_keys
        key = self._initial_key if self._initial_key in numeric else (R0_KEY if R0_KEY in numeric else
                                                                      (numeric[0] if numeric else None))
        self._messages = [m for m in (self.table.time.message, self.table.stokes.message, catalogue_problem()) if m]
        if R0_KEY not in self.table.keys:
            self._messages.insert(0, f"{R0_KEY} is not in these headers: plotting {key or 'nothing'} instead")
        self.key = None
        self._build_grid()
        self.set_key(key) if key else self._redraw()
        self._refresh_summary()

    def _show_unusable(self, html: str) -> None:
        self.status.value = html
        self.figure.marks = []
        self._show_grid(None)
        self.summary.value = ""
        self.key_info.value = ""

    def _build_stokes_checks(self) -> None:
        names = self.table.stokes.names
        self._stokes_checks = {}
        for i, name in enumerate(names):
            box = w.Checkbox(value=(i == 0), description=f"Stokes {name}" if name != "all" else "all frames",
                             indent=False, layout=w.Layout(width="85px"))
            box.observe(self._on_stokes_checks, names="value")
            self._stokes_checks[name] = box
        self._stokes_box.children = list(self._stokes_checks.values()) if len(names) > 1 else []
        self.series_marks = {
            name: bq.Lines(x=np.zeros(0), y=np.zeros(0), scales={"x": self.x_scale, "y": self.y_scale},
                           colors=[STOKES_COLOURS.get(name, "#1f77b4")], labels=[f"Stokes {name}"],
                           display_legend=len(names) > 1)
            for name in names
        }

    def _fill_key_picker(self) -> None:
        options = []
        self._option_key = {}
        for key in self.table.keys:
            info = describe_key(key)
            text = key
            if info is not None and (info.description or info.units):
                unit = f" [{info.units}]" if info.units else ""
                text = f"{key}{unit} — {info.description[:70]}"
            options.append(text)
            self._option_key[text] = key
        self.key_picker.options = options

    # ------------------------------------------------------------------ public API

    @property
    def shown_stokes(self) -> list[str]:
        """Names of the Stokes states plotted (and that the UI criteria apply to)."""
        return [name for name, box in self._stokes_checks.items() if box.value]

    def set_key(self, key: str) -> None:
        """Plot ``key`` (numeric) and add it to the table; ``MissingKeyError`` if absent."""
        self._require_table()
        self.table.require(key)
        if not self.table.is_numeric(key):
            self._add_table_column(key)
            raise ValueError(f"{key!r} is not numeric: it is shown in the table but cannot be plotted")
        with self._lock:
            self.key = key
            self._threshold_value = None
            self.threshold_mode.value = "off"
            self._add_table_column(key)
            self._show_key_info(key)
            self._redraw()

    def set_x(self, x: str) -> None:
        """x axis: ``"time"`` (DATE-AVG) or ``"frame"``; brushed intervals are cleared."""
        self._require_table()
        self.table.axis(x)
        if x == "time" and not self.table.time.is_time:
            raise ValueError(f"no time axis: {self.table.time.message}")
        with self._lock:
            self.x = x
            self.intervals = []
            if self.x_toggle.value != x:
                self.x_toggle.value = x
            self._redraw()

    def set_stokes(self, names) -> None:
        """Plot (and apply the UI criteria to) these Stokes states."""
        self._require_table()
        codes = set(self.table.stokes.codes_of(names).tolist())
        self._updating = True
        try:
            for i, (name, box) in enumerate(self._stokes_checks.items()):
                box.value = i in codes
        finally:
            self._updating = False
        self._redraw()
        self._apply_criteria()

    def select_where(self, key: str, min=None, max=None, *, stokes=None, all_stokes: bool = False,  # noqa: A002
                     mode: str = "replace") -> np.ndarray:
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

    def longest_good_run(self, key: str = R0_KEY, min=None, max=None, *, stokes="I",  # noqa: A002
                         all_stokes: bool = True, mode: str = "replace") -> np.ndarray:
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
        return self._push(self.table.complement(self.model.selected_frames), mode="replace",
                          source=f"{SOURCE}.api")

    def clear(self) -> None:
        """Clear brushed intervals, threshold, toggles and the model's selection."""
        with self._lock:
            self._updating = True
            try:
                self.intervals = []
                self._threshold_value = None
                self.threshold_mode.value = "off"
                self.invert_button.value = False
                self.longest_button.value = False
                self.brush.selected = None
            finally:
                self._updating = False
            if self.model.dataset is not None:
                self.model.clear_selection(source=SOURCE)
            self._draw_overlays()

    def brush_interval(self, lo, hi, *, add: bool | None = None) -> np.ndarray:
        """What a mouse brush from ``lo`` to ``hi`` (x axis units or times) does."""
        self._require_table()
        axis = self.table.axis(self.x)
        lo, hi = sorted((axis.to_axis(lo), axis.to_axis(hi)))
        add = self.add_intervals.value if add is None else add
        with self._lock:
            self.intervals = (self.intervals if add else []) + [(lo, hi)]
            self._draw_overlays()
            return self._apply_criteria()

    def set_threshold(self, value, mode: str = ">=") -> np.ndarray:
        """Set the UI threshold on the plotted key (``value`` in header units; None: off)."""
        self._require_table()
        with self._lock:
            self._updating = True
            try:
                if value is None or mode == "off":
                    self._threshold_value = None
                    self.threshold_mode.value = "off"
                else:
                    self._threshold_value = float(value)
                    self.threshold_mode.value = mode
                    self.threshold_text.value = float(value) * self._scale()
            finally:
                self._updating = False
            self._draw_threshold()
            return self._apply_criteria()

    def criteria_frames(self) -> np.ndarray:
        """Frame ids meeting the UI criteria (brush, threshold, combine, invert, longest run, Stokes)."""
        self._require_table()
        table = self.table
        names = self.shown_stokes or list(table.stokes.names)
        within = table.stokes.frames(None if len(table.stokes.names) == 1 else names)
        parts = []
        if self.intervals:
            parts.append(table.frames_in_intervals(self.intervals, x=self.x, within=within))
        if self._threshold_value is not None and self.key is not None and self.threshold_mode.value != "off":
            lo, hi = (self._threshold_value, None) if self.threshold_mode.value == ">=" else (None, self._threshold_value)
            parts.append(table.frames_where(self.key, lo, hi, within=within))
        if not parts:
            ids = np.zeros(0, dtype=np.int64) if not (self.invert_button.value or self.longest_button.value) else within
            if self.longest_button.value and self.key is not None:
                ids = table.frames_where(self.key, within=within)  # "good" = has a value
        elif len(parts) == 1:
            ids = parts[0]
        elif self.combine.value == "and":
            ids = np.intersect1d(parts[0], parts[1], assume_unique=True)
        else:
            ids = np.union1d(parts[0], parts[1])
        if self.invert_button.value and parts:
            ids = table.complement(ids, within=within)
        if self.longest_button.value:
            ids = table.longest_run(ids, within=within)
        if self.all_stokes.value:
            ids = table.expand_stokes(ids)
        return ids

    # ------------------------------------------------------------------ events

    def _on_key_text(self, change) -> None:
        if self.table is None or self._updating:
            return
        text = str(change["new"] or "").strip()
        key = self._option_key.get(text) or text.split(" — ")[0].split(" [")[0].strip().upper()
        if not key:
            return
        if not self.table.has(key):
            if text in self._option_key or len(text) >= 3 and text.upper() == key:
                self.status.value = f"<span style='color:#b00'>{escape(f'no header key {key!r}')}</span>"
            return
        try:
            self.set_key(key)
            self._render_status()
        except ValueError as error:
            self._show_key_info(key)
            self.status.value = escape(str(error))

    def _on_stokes_checks(self, _change) -> None:
        if self._updating or self.table is None:
            return
        self._redraw()
        self._apply_criteria()

    def _on_brushing(self, change) -> None:
        if change["new"] or self.table is None or self._updating:
            return  # act only when the mouse is released
        selected = self.brush.selected
        if selected is None or len(selected) != 2:
            return
        lo, hi = selected
        if self.x == "time":
            lo = self.table.time.to_axis(np.datetime64(lo, "us"))
            hi = self.table.time.to_axis(np.datetime64(hi, "us"))
        self.brush_interval(float(lo), float(hi))

    def _on_threshold_widgets(self) -> None:
        if self._updating or self.table is None:
            return
        if self.threshold_mode.value == "off":
            self._threshold_value = None
        else:
            self._threshold_value = float(self.threshold_text.value) / self._scale()
        self._draw_threshold()
        self._apply_criteria()

    def _on_handle_moved(self, change) -> None:
        if self._updating or self.table is None or change["new"] is None or len(change["new"]) == 0:
            return
        shown = float(change["new"][0])
        self._updating = True
        try:
            if self.threshold_mode.value == "off":
                self.threshold_mode.value = ">="
            self.threshold_text.value = round(shown, 6)
        finally:
            self._updating = False
        self._threshold_value = shown / self._scale()
        self._draw_threshold()
        self._apply_criteria()

    def _on_model_selection(self, _change) -> None:
        if self.table is None or self.model.dataset is None or not self.model.headers_match_files:
            return
        with self._lock:
            mask = np.zeros(self.table.n_frames, dtype=bool)
            mask[self.model.selected_frames] = True
            self._selected_mask = mask
            self._refresh_summary()
            if not self.model.selection_source.startswith(SOURCE):
                self.status.value = (f"Selection set by {escape(self.model.selection_source or 'another panel')}; "
                                     "brush or threshold here to replace it.")
            self._draw_selection()
            self._refresh_grid_selection()

    def _on_sizes(self, _change) -> None:
        if self.table is not None:
            self._refresh_summary()

    def _on_table_click(self, frame: int) -> None:
        """A clicked row names its frame (the table sends the row's ``frame`` value)."""
        if self.table is not None and 0 <= frame < self.table.n_frames:
            self.mark_frame(frame)

    def mark_frame(self, frame: int) -> None:
        """Show a frame in the plot (vertical red line) and its values under the table."""
        self._require_table()
        frame = int(frame)
        if not 0 <= frame < self.table.n_frames:
            raise IndexError(f"frame {frame} out of range 0..{self.table.n_frames - 1}")
        self._marked_frame = frame
        if self.grid is not None:
            self.grid.marked_frame = frame
        x = self.table.axis(self.x).values[frame]
        if np.isfinite(x):
            self.marker_mark.x = self._x_out(np.array([x, x]))
            self.marker_mark.visible = True
        parts = [f"<b>frame {frame}</b>"]
        if self.table.time.is_time:
            parts.append(escape(self.table.column_text(self.table.time.source, [frame])[0]))
        if self.key:
            value = self.table.numeric(self.key)[frame]
            parts.append(f"{escape(self.key)} = " + ("masked" if not np.isfinite(value) else
                                                     escape(f"{value * self._scale():.4g} {self._unit()}")))
        files = self.model.files_for_frames([frame])
        parts.append(f"file <code>{escape(files[0])}</code>")
        self.row_info.value = " · ".join(parts)

    # ------------------------------------------------------------------ selection

    def _key_has_values(self) -> bool:
        """Whether the plotted key has at least one finite value."""
        return self.key is None or bool(np.isfinite(self.table.numeric(self.key)).any())

    def _no_values_message(self) -> str:
        return (f"{self.key} has no finite values (all masked, NaN or infinite): no finite {self.key} "
                "values to plot or select by.")

    def _apply_criteria(self) -> np.ndarray:
        if self.table is None or self._updating or self.model.dataset is None:
            return np.zeros(0, dtype=np.int64)
        if self.longest_button.value and not self._key_has_values():
            # "longest good run" of a key with no value would select nothing: refuse, keep the selection
            self._updating = True
            try:
                self.longest_button.value = False
            finally:
                self._updating = False
            self._render_status()
            return self.model.selected_frames
        with self._lock:
            ids = self.criteria_frames()
            return self._push(ids, mode="replace", source=SOURCE)

    def _push(self, ids, *, mode: str, source: str) -> np.ndarray:
        ids = np.asarray(ids, dtype=np.int64)
        if mode == "replace":  # a boolean mask skips a sort of the ids in the model
            mask = np.zeros(self.table.n_frames, dtype=bool)
            mask[ids] = True
            return self.model.select_frames(mask, source=source, mode="replace")
        return self.model.select_frames(ids, source=source, mode=mode)

    # ------------------------------------------------------------------ drawing

    def _scale(self) -> float:
        return DISPLAY_UNITS.get(self.key, (1.0, ""))[0]

    def _unit(self) -> str:
        if self.key in DISPLAY_UNITS:
            return DISPLAY_UNITS[self.key][1]
        info = describe_key(self.key) if self.key else None
        return info.units if info is not None and info.units and info.units != "None" else ""

    def _x_out(self, values: np.ndarray) -> np.ndarray:
        if self.x == "time":
            return self.table.time.to_datetime(values)
        return np.asarray(values, dtype=float)

    def _redraw(self) -> None:
        if self.table is None:
            return
        with self._lock:
            xs = self.x_scale if self.x == "time" else self.frame_scale
            if self.x_axis.scale is not xs:
                for mark in [self.unlocked_mark, self.intervals_mark, self.marker_mark, self.selected_mark,
                             self.threshold_line, self.threshold_handle, *self.series_marks.values()]:
                    mark.scales = {**mark.scales, "x": xs}
                self.x_axis.scale = xs
                self.brush.scale = xs
                self.brush.selected = None
            self.x_axis.label = f"{self.table.time.source} (UTC)" if self.x == "time" else "frame"
            self.x_axis.tick_format = "%H:%M:%S" if self.x == "time" else ".0f"
            unit = self._unit()
            label = self.key or ""
            if self.key in DISPLAY_UNITS:
                label = f"{self.key} [{unit}] (headers: m)" if self.key == R0_KEY else f"{self.key} [{unit}]"
            elif unit:
                label = f"{self.key} [{unit}]"
            self.y_axis.label = label
            self.threshold_unit.value = escape(unit)
            shown = set(self.shown_stokes)
            self._x_range = self._full_x_range()
            marks = [self.unlocked_mark, self.intervals_mark]
            for name, mark in self.series_marks.items():
                if self.key is None or (name not in shown and len(self.series_marks) > 1):
                    mark.visible = False
                    continue
                x, y, _ids = self.table.series(self.key, x=self.x, stokes=None if name == "all" else name)
                xd, yd = _trim_nan(*decimate_minmax(x, y * self._scale(), self.n_bins))
                with mark.hold_sync():
                    mark.x = self._x_out(xd)
                    mark.y = yd
                    mark.visible = True
                marks.append(mark)
            marks += [self.selected_mark, self.threshold_line, self.threshold_handle, self.marker_mark]
            self.figure.marks = marks
            self._draw_unlocked()
            self._draw_overlays()
            if self._marked_frame is not None:
                self.mark_frame(self._marked_frame)
            self._render_status()

    def _within_shown(self) -> np.ndarray | None:
        names = self.shown_stokes
        if len(self.table.stokes.names) == 1 or not names:
            return None
        return self.table.stokes.frames(names)

    def _full_x_range(self) -> tuple[float, float]:
        values = self.table.axis(self.x).values
        finite = values[np.isfinite(values)]
        if finite.size == 0:
            return 0.0, 1.0
        return float(finite.min()), float(finite.max())

    def _draw_unlocked(self) -> None:
        lo, hi = self._x_range
        spans = self.table.unlocked_spans(x=self.x, within=self._within_shown(), min_gap=(hi - lo) / 500)
        self._set_rects(self.unlocked_mark, spans)

    def _set_rects(self, mark, spans) -> None:
        spans = np.asarray(spans, dtype=float).reshape(-1, 2)
        x = np.stack([spans[:, 0], spans[:, 0], spans[:, 1], spans[:, 1], spans[:, 0]], axis=1)
        y = np.tile(np.array([0.0, 1.0, 1.0, 0.0, 0.0]), (len(spans), 1))
        n = max(len(spans), 1)
        with mark.hold_sync():
            mark.x = self._x_out(x) if len(spans) else np.zeros((0, 5))
            mark.y = y
            mark.fill_colors = [mark.colors[0]] * n
            mark.fill_opacities = [mark.fill_opacities[0]] * n

    def _draw_overlays(self) -> None:
        if self.table is None:
            return
        self._set_rects(self.intervals_mark, self.intervals if self.add_intervals.value or len(self.intervals) > 1 else [])
        self._draw_threshold()
        self._draw_selection()

    def _draw_threshold(self) -> None:
        if self.table is None:
            return
        on = self._threshold_value is not None and self.threshold_mode.value != "off" and self.key is not None
        lo, hi = self._x_range
        if on:
            y = self._threshold_value * self._scale()
            with self.threshold_line.hold_sync():
                self.threshold_line.x = self._x_out(np.array([lo, hi]))
                self.threshold_line.y = np.array([y, y])
                self.threshold_line.visible = True
        else:
            self.threshold_line.visible = False
            y = self._handle_rest_y()
        # the handle always shows at the right edge, so a threshold can be dragged in
        self._updating = True
        try:
            with self.threshold_handle.hold_sync():
                self.threshold_handle.x = self._x_out(np.array([hi]))
                self.threshold_handle.y = np.array([y])
                self.threshold_handle.visible = bool(self.key is not None and np.isfinite(y))
        finally:
            self._updating = False

    def _handle_rest_y(self) -> float:
        if self.key is None:
            return np.nan
        values = self.table.numeric(self.key)
        finite = values[np.isfinite(values)]
        return float(np.median(finite)) * self._scale() if finite.size else np.nan

    def _draw_selection(self) -> None:
        """Highlight the selected frames of the plotted series (decimated like the series)."""
        if self.table is None or self.key is None:
            return
        xs, ys = [], []
        for name, mark in self.series_marks.items():
            if not mark.visible:
                continue
            x, y, ids = self.table.series(self.key, x=self.x, stokes=None if name == "all" else name)
            sel = self._selected_mask[ids] if self._selected_mask.size else np.zeros(ids.size, dtype=bool)
            if not sel.any():
                continue
            xd, yd = _trim_nan(*decimate_minmax(x, np.where(sel, y * self._scale(), np.nan), self.n_bins))
            if xd.size == 0:
                continue
            if xs:  # a NaN between series breaks the line
                xs.append(xd[:1])
                ys.append([np.nan])
            xs.append(xd)
            ys.append(yd)
        with self.selected_mark.hold_sync():
            if xs:
                self.selected_mark.x = self._x_out(np.concatenate(xs))
                self.selected_mark.y = np.concatenate(ys).astype(float)
            else:
                self.selected_mark.x = self._x_out(np.zeros(0))
                self.selected_mark.y = np.zeros(0)

    def _show_key_info(self, key: str) -> None:
        info = describe_key(key)
        parts = [f"<b>{escape(key)}</b>"]
        if info is not None:
            if info.units and info.units != "None":
                parts.append(f"unit: {escape(info.units)}")
            if info.description:
                parts.append(escape(info.description))
            if info.section_title:
                parts.append(f"<span style='opacity:.7'>SPEC-0214 {escape(info.section_title)}</span>")
        else:
            parts.append("<span style='opacity:.7'>not described in SPEC-0214</span>")
        if key == R0_KEY:
            parts.append("plotted in cm (×100); masked where AO was unlocked, r0 ≥ 0.3 m or OOBSHIFT ≥ 100")
        url = _safe_url((self.model.dataset.meta.get("inventory") or {}).get("headerDocumentationUrl")
                        if self.model.dataset is not None and hasattr(self.model.dataset, "meta") else None)
        if url is None and self.table is not None and self.table.has("HEAD_URL") and self.table.n_frames:
            url = _safe_url(self.table.column_text("HEAD_URL", [0])[0])
        if url:
            parts.append(f"<a href='{escape(url)}' target='_blank' rel='noopener'>header documentation</a>")
        self.key_info.value = " · ".join(parts)

    def _render_status(self) -> None:
        messages = list(getattr(self, "_messages", []))
        if self.key is None:
            messages.append("no numeric header key to plot")
        elif not self._key_has_values():
            messages.append(self._no_values_message())
        self.status.value = "<br>".join(f"<span style='color:#a60'>{escape(m)}</span>" for m in messages)

    # ------------------------------------------------------------------ summary

    def _refresh_summary(self) -> None:
        if self.table is None:
            self.summary.value = ""
            return
        ids = self.model.selected_frames
        n = int(ids.size)
        total = self.table.n_frames
        fraction = n / total if total else 0.0
        files = n  # one file per frame: headers_match_files holds here
        on_disk, data_bytes = self._bytes_for(ids)
        if on_disk is not None:
            bytes_text = f"{human_bytes(on_disk)} on disk"
        else:
            bytes_text = f"{human_bytes(data_bytes)} of data"
        parts = [
            f"<b data-testid='frames'>{n}</b> of {total} frames",
            f"<b data-testid='files'>{files}</b> files",
            f"<span data-testid='bytes'>{escape(bytes_text)}</span>",
            f"<span data-testid='fraction'>{fraction:.1%}</span> of the dataset",
        ]
        if n and len(self.table.stokes.names) > 1:
            counts = np.bincount(self.table.stokes.codes[ids], minlength=len(self.table.stokes.names))
            parts.append(escape(", ".join(f"{name} {c}" for name, c in zip(self.table.stokes.names, counts))))
        if n and self.table.time.is_time:
            t = self.table.time.values[ids]
            t = t[np.isfinite(t)]
            if t.size:
                span = self.table.time.to_datetime([t.min(), t.max()])
                parts.append(escape(f"{str(span[0])[:19]} → {str(span[1])[:19]}"))
        self.summary.value = "<div class='dkw-summary'>Selected: " + " · ".join(parts) + "</div>"

    def _bytes_for(self, ids: np.ndarray) -> tuple[int | None, int]:
        """(on-disk bytes if every size is known, data bytes) of these frames."""
        model = self.model
        if not model.is_tiled:
            index = model.file_index
            return index.file_bytes(ids), int(ids.size) * int(index.frame_bytes)
        on_disk: int | None = 0
        data = 0
        offset = 0
        for index in model.tile_indexes.values():
            lo, hi = np.searchsorted(ids, [offset, offset + index.n_frames])
            local = ids[lo:hi] - offset
            part = index.file_bytes(local)
            on_disk = None if part is None or on_disk is None else on_disk + part
            data += int(local.size) * int(index.frame_bytes)
            offset += index.n_frames
        return on_disk, data

    # ------------------------------------------------------------------ grid

    def _build_grid(self) -> None:
        keys = [k for k in self._table_keys if self.table.has(k)]
        for key in (self._initial_key, R0_KEY):  # the plotted key is a column from the start
            if key and key not in keys and self.table.has(key):
                keys.append(key)
        self._grid_keys = keys
        self._full_frame = self.table.frame_table(keys)
        self.grid = FrameTable(self._full_frame, selected=self._selected_mask, height_rows=10)
        self.grid.add_class("dkw-header-grid")
        self.grid.on_click(self._on_table_click)
        self._show_grid(self.grid)

    def _show_grid(self, grid) -> None:
        """Put the table (or an empty placeholder) in its place among the children."""
        current = self._grid_shown
        new = grid if grid is not None else self._grid_placeholder
        if current is not new:
            self.children = tuple(new if child is current else child for child in self.children)
            self._grid_shown = new

    @property
    def _grid_frame(self):
        """The table's rows in view order (after its filters, sort and "only selected")."""
        return self._full_frame.iloc[self.grid.view.order].reset_index(drop=True)

    def _add_table_column(self, key: str) -> None:
        if self.grid is None or key in self._grid_keys or not self.table.has(key):
            return
        self._grid_keys.append(key)
        extra = self.table.frame_table([key])
        self._full_frame[key] = extra[key].to_numpy()
        self.grid.set_frame(self._full_frame)

    def _refresh_grid_rows(self) -> None:
        if self.grid is None:
            return
        self.grid.set_row_mask(self._selected_mask if self.only_selected.value else None)

    def _refresh_grid_selection(self) -> None:
        if self.grid is None:
            return
        self.grid.set_selected(self._selected_mask)
        if self.only_selected.value:
            self._refresh_grid_rows()

    def _require_table(self) -> None:
        if self.table is None:
            why = "no dataset is open" if self.model.dataset is None else "its header rows do not match its files"
            raise ValueError(f"the header explorer has no usable header table: {why}")
