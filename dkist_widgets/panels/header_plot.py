"""The header explorer's plot: a bqplot figure drawing a :class:`HeaderSelectionState`.

It draws the state and turns two mouse gestures into state changes; it decides
nothing about which frames are selected.

Choices
-------
* **Series**: one ``Lines`` per Stokes state chosen (Stokes I alone by default),
  x = ``DATE-AVG`` (or frame number). Masked values are NaN, drawn as gaps; each
  series is min/max-decimated to at most ``3 * n_bins`` points
  (:func:`~dkist_widgets.core.header_table.decimate_minmax`), so a million frames
  cost what a thousand do. Spans where ``AO_LOCK`` is false are grey rectangles
  (merged below ~1/500 of the x range). ``ATMOS_R0`` is drawn in the display unit
  of :mod:`dkist_widgets.core.units` (metres, as the headers hold it), named on the
  axis.
* **Brush**: a ``BrushIntervalSelector`` on x; on release (``brushing`` turning
  False, not on every mouse move) it calls ``state.brush``. Kept intervals are
  shaded blue when there is more than one or "add intervals" is on. When the state
  has no interval (cleared, or replaced by another panel) the brush is cleared too.
* **Threshold**: a dashed line across the plot and a round handle (a one-point
  ``Scatter`` with ``enable_move``, ``restrict_y``, ``update_on_move=False``) that
  sits in the plot's **right margin**: bqplot lays a selector's overlay over the
  plot area, above the marks, so a handle inside it could never be grabbed while
  the brush is on. The handle does not stretch the x scale (``preserve_domain``).
  Dropping it calls ``state.drag_threshold`` with the value rounded to what the
  key means (r0: :func:`~dkist_widgets.core.units.r0_rounded`, a millimetre;
  others: 3 significant digits, in display units); a handle position equal to where the
  state puts it is the plot's own placement coming back and is ignored, so no
  guard flag is needed.
* **Marks made on first use**: in a live kernel every widget model costs a message
  and a view in the browser before the panel paints, so the first build makes only
  what it draws: the AO-unlocked spans, the series of the Stokes states shown, the
  threshold handle. A series is made (with its points) when its state is first
  shown; the blue intervals, the selection highlight, the threshold line and the
  frame-number x scale when first needed. (Not the hidden red frame marker: its
  stroke pads the grey spans' scale, see ``__init__``; the other marks' strokes are
  narrower than the handle's padding of their scales.) Each joins the figure in its
  drawing order (spans, intervals, series, selection, threshold, handle, marker).
  Asked for before that (``plot.threshold_line``, ``series_marks["Q"]``), a mark is
  made empty and hidden, as it used to start.
"""

from __future__ import annotations

import bqplot as bq
import ipywidgets as w
import numpy as np
from bqplot.interacts import BrushIntervalSelector

from ..core.header_table import decimate_minmax, describe_key
from ..core.units import R0_DISPLAY_SCALE, R0_DISPLAY_UNIT, R0_KEY, r0_decimals, r0_from_display, r0_text, r0_to_display

__all__ = ["HeaderPlot", "to_display", "from_display", "display_unit", "round_shown", "value_text", "STOKES_COLOURS"]

STOKES_COLOURS = {"I": "#1f77b4", "Q": "#2ca02c", "U": "#9467bd", "V": "#8c564b", "all": "#1f77b4"}
#: Where the threshold handle sits, as a fraction of the x range right of the last value.
HANDLE_OFFSET = 0.025


def to_display(key, values):
    """Header units -> the unit ``key`` is drawn and typed in (r0: :data:`R0_DISPLAY_UNIT`)."""
    return r0_to_display(values) if key == R0_KEY else values


def from_display(key, value):
    """A value drawn or typed for ``key`` -> header units."""
    return r0_from_display(value) if key == R0_KEY else value


def round_shown(key, value: float) -> float:
    """A value in display units rounded to what it means: r0 to a millimetre
    (:func:`~dkist_widgets.core.units.r0_decimals`), other keys to 3 significant digits."""
    if key == R0_KEY:
        return round(float(value), r0_decimals())
    return float(f"{float(value):.3g}")


def value_text(key, value) -> str:
    """A header value of ``key`` as shown, with its unit: r0 by
    :func:`~dkist_widgets.core.units.r0_text` ("0.082 m"), others to 4 significant digits."""
    if key == R0_KEY:
        return r0_text(value)
    return f"{float(to_display(key, value)):.4g} {display_unit(key)}".strip()


def display_unit(key) -> str:
    if key == R0_KEY:
        return R0_DISPLAY_UNIT
    info = describe_key(key) if key else None
    return info.units if info is not None and info.units and info.units != "None" else ""


def _trim_nan(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Drop leading and trailing NaN points: bqplot places a line's label at its last
    point and logs a console error when that point's y is NaN (gaps inside stay)."""
    finite = np.flatnonzero(np.isfinite(y))
    if finite.size == 0:
        return x[:0], y[:0]
    return x[finite[0] : finite[-1] + 1], y[finite[0] : finite[-1] + 1]


class _SeriesMarks(dict):
    """Stokes state -> its ``Lines``. A state is drawn when first shown; asked for before
    that (a notebook, a test), it gets an empty hidden line, as every state once had."""

    def __init__(self, make, names):
        super().__init__()
        self._make = make
        self._names = names

    def __missing__(self, name):
        if name not in self._names:
            raise KeyError(name)
        mark = self[name] = self._make(name, np.zeros(0), np.zeros(0), visible=False)
        return mark


class HeaderPlot:
    """Figure, marks, brush and threshold handle over one state and one model."""

    def __init__(self, state, model, *, n_bins: int):
        self.state = state
        self.model = model
        self.n_bins = int(n_bins)
        self.table = None
        self.marked_frame: int | None = None
        self._x_range = (0.0, 1.0)
        self._stokes_names: tuple[str, ...] = ()  # of the table shown
        self._drawn: set[str] = set()  # the Stokes states whose series is drawn
        self.x_scale = bq.DateScale()
        self._frame_scale: bq.LinearScale | None = None
        self.y_scale = bq.LinearScale()
        self.unit_scale = bq.LinearScale(min=0.0, max=1.0)
        self.x_axis = bq.Axis(scale=self.x_scale, label="DATE-AVG", num_ticks=6, tick_format="%H:%M:%S")
        # the label sits left of the widest tick text ("0.180"), not across it
        self.y_axis = bq.Axis(
            scale=self.y_scale, orientation="vertical", label="", tick_format=".3g", label_offset="58px"
        )
        scales = {"x": self.x_scale, "y": self.unit_scale}
        xy = {"x": self.x_scale, "y": self.y_scale}
        # made when first drawn (see "Marks made on first use"): None until then. Each
        # pads its scales by half its stroke, less than the threshold handle does, so
        # adding one moves nothing
        self._intervals_mark: bq.Lines | None = None
        self._selected_mark: bq.Lines | None = None
        self._threshold_line: bq.Lines | None = None
        # rectangles: closed 5-point lines filled; no outline (stroke_width 0), since
        # ``opacities`` would fade the fill too
        self.unlocked_mark = bq.Lines(
            x=np.zeros((0, 5)),
            y=np.zeros((0, 5)),
            scales=scales,
            fill="inside",
            colors=["#bbbbbb"],
            fill_colors=["#bbbbbb"],
            fill_opacities=[0.45],
            stroke_width=0.0,
            labels=["AO unlocked"],
        )
        # made up front though hidden: bqplot pads a scale's range by half the widest
        # stroke of its marks, so this 1.5 px line is what keeps the grey spans 0.75 px
        # inside the plot's top and bottom edges (made on first use, they would move)
        self.marker_mark = bq.Lines(
            x=np.zeros(0), y=np.array([0.0, 1.0]), scales=scales, colors=["red"], stroke_width=1.5, visible=False
        )
        self.series_marks: dict[str, bq.Lines] = {}
        self.threshold_handle = bq.Scatter(
            x=np.zeros(0),
            y=np.zeros(0),
            scales=xy,
            colors=["#d62728"],
            default_size=120,
            enable_move=True,
            restrict_y=True,
            update_on_move=False,
            visible=False,
            apply_clip=False,
            preserve_domain={"x": True},
            tooltip=None,
        )
        self.threshold_handle.observe(self._on_handle_dropped, names="y")
        self.brush = BrushIntervalSelector(scale=self.x_scale, color="steelblue")
        self.brush.observe(self._on_brushing, names="brushing")
        self.figure = bq.Figure(
            marks=[],
            axes=[self.x_axis, self.y_axis],
            interaction=self.brush,
            fig_margin={"top": 20, "bottom": 40, "left": 80, "right": 50},
            layout=w.Layout(width="100%", height="330px"),
            animation_duration=0,
        )
        self.figure.add_class("dkw-header-plot")
        state.observe(lambda _c: self.redraw(), names=["key", "x", "stokes"])
        state.observe(lambda _c: self.draw_overlays(), names=["intervals", "add_intervals", "threshold", "direction"])

    # ------------------------------------------------------------------ marks made on first use

    @property
    def frame_scale(self) -> bq.LinearScale:
        """The x scale of frame numbers (made when the x axis first shows frames)."""
        if self._frame_scale is None:
            self._frame_scale = bq.LinearScale()
        return self._frame_scale

    def _xy(self) -> dict:
        return {"x": self.x_axis.scale, "y": self.y_scale}

    def _unit_y(self) -> dict:
        return {"x": self.x_axis.scale, "y": self.unit_scale}

    def _marks(self) -> list:
        """The figure's marks in drawing order: those made so far, series of the states shown."""
        made = [
            self.unlocked_mark,
            self._intervals_mark,
            *(self.series_marks[name] for name in self._stokes_names if name in self._drawn),
            self._selected_mark,
            self._threshold_line,
            self.threshold_handle,
            self.marker_mark,
        ]
        return [mark for mark in made if mark is not None]

    def _first_use(self, attr: str, make) -> bq.Lines:
        """The mark held in ``attr``, made by ``make()`` the first time it is asked for; a
        mark made after the figure was drawn joins it in its place."""
        mark = getattr(self, attr)
        if mark is None:
            mark = make()
            setattr(self, attr, mark)
            if self.table is not None:
                self.figure.marks = self._marks()
        return mark

    @property
    def intervals_mark(self) -> bq.Lines:
        """Kept brushed intervals, shaded blue."""
        return self._first_use(
            "_intervals_mark",
            lambda: bq.Lines(
                x=np.zeros((0, 5)),
                y=np.zeros((0, 5)),
                scales=self._unit_y(),
                fill="inside",
                colors=["#4a90d9"],
                fill_colors=["#4a90d9"],
                fill_opacities=[0.15],
                stroke_width=0.0,
            ),
        )

    @property
    def selected_mark(self) -> bq.Lines:
        """The selected frames drawn over their series."""
        return self._first_use(
            "_selected_mark",
            lambda: bq.Lines(
                x=np.zeros(0),
                y=np.zeros(0),
                scales=self._xy(),
                colors=["#ff7f0e"],
                stroke_width=3.0,
                labels=["selected"],
            ),
        )

    @property
    def threshold_line(self) -> bq.Lines:
        """The dashed line across the plot at the threshold."""
        return self._first_use(
            "_threshold_line",
            lambda: bq.Lines(
                x=np.zeros(0), y=np.zeros(0), scales=self._xy(), colors=["#d62728"], line_style="dashed", visible=False
            ),
        )

    def _new_series(self, name: str, x, y, visible: bool = True) -> bq.Lines:
        """A line for Stokes state ``name``, made with its points (one message, not two)."""
        return bq.Lines(
            x=x,
            y=y,
            scales=self._xy(),
            colors=[STOKES_COLOURS.get(name, "#1f77b4")],
            labels=[f"Stokes {name}"],
            display_legend=len(self._stokes_names) > 1,
            visible=visible,
        )

    def _draw_series(self, name: str, x, y) -> None:
        mark = self.series_marks.get(name)
        if mark is None:
            self.series_marks[name] = self._new_series(name, x, y)
            return
        with mark.hold_sync():
            mark.x = x
            mark.y = y
            mark.visible = True

    # ------------------------------------------------------------------ table

    def show(self, table) -> None:
        """Draw ``table`` (``None``: an empty plot)."""
        self.table = table
        self.marked_frame = None
        self.marker_mark.visible = False
        if table is None:
            self.figure.marks = []
            return
        self._stokes_names = tuple(table.stokes.names)
        self.series_marks = _SeriesMarks(self._new_series, self._stokes_names)
        self._drawn = set()
        self.redraw()

    # ------------------------------------------------------------------ drawing

    def _x_out(self, values) -> np.ndarray:
        if self.state.x == "time":
            return self.table.time.to_datetime(values)
        return np.asarray(values, dtype=float)

    def redraw(self) -> None:
        """Axes, series, AO-unlocked spans, overlays and selection, from the state."""
        table, state = self.table, self.state
        if table is None:
            return
        key = state.key if state.key is not None and table.has(state.key) else None
        xs = self.x_scale if state.x == "time" else self.frame_scale
        if self.x_axis.scale is not xs:
            series = list(self.series_marks.values())
            for mark in [*(m for m in self._marks() if m not in series), *series]:
                mark.scales = {**mark.scales, "x": xs}
            self.x_axis.scale = xs
            self.brush.scale = xs
            self.brush.selected = None
        self.x_axis.label = f"{table.time.source} (UTC)" if state.x == "time" else "frame"
        self.x_axis.tick_format = "%H:%M:%S" if state.x == "time" else ".0f"
        unit = display_unit(key)
        label = key or ""
        if key == R0_KEY:
            label = f"{key} [{unit}]" + ("" if R0_DISPLAY_SCALE == 1.0 else " (headers: m)")
        elif unit:
            label = f"{key} [{unit}]"
        self.y_axis.label = label
        # r0 ticks to the millimetre it means ("0.080"), other keys to 3 significant digits
        self.y_axis.tick_format = f".{r0_decimals()}f" if key == R0_KEY else ".3g"
        shown = set(state.stokes)
        self._x_range = table.x_range(state.x)
        self._drawn = set()
        for name in self._stokes_names:
            if key is None or (name not in shown and len(self._stokes_names) > 1):
                if name in self.series_marks:
                    self.series_marks[name].visible = False
                continue
            xd, yd = _trim_nan(
                *table.decimated(
                    key, self.n_bins, x=state.x, stokes=None if name == "all" else name, display=to_display
                )
            )
            self._draw_series(name, self._x_out(xd), yd)
            self._drawn.add(name)
        self.figure.marks = self._marks()
        lo, hi = self._x_range
        spans = table.unlocked_spans(x=state.x, within=state.within(table), min_gap=(hi - lo) / 500)
        self._set_rects(self.unlocked_mark, spans)
        self.draw_overlays()
        self.draw_selection()
        if self.marked_frame is not None:
            self.mark_frame(self.marked_frame)

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

    def draw_overlays(self) -> None:
        """Brushed intervals and the threshold line and handle, from the state."""
        if self.table is None:
            return
        state = self.state
        kept = state.intervals if state.add_intervals or len(state.intervals) > 1 else []
        if kept or self._intervals_mark is not None:
            self._set_rects(self.intervals_mark, kept)
        if not state.intervals and self.brush.selected is not None:
            self.brush.selected = None
        lo, hi = self._x_range
        if state.threshold_on:
            y = float(to_display(state.key, state.threshold))
            with self.threshold_line.hold_sync():
                self.threshold_line.x = self._x_out(np.array([lo, hi]))
                self.threshold_line.y = np.array([y, y])
                self.threshold_line.visible = True
        elif self._threshold_line is not None:
            self._threshold_line.visible = False
        y = self.handle_y()
        with self.threshold_handle.hold_sync():
            self.threshold_handle.x = self._x_out(np.array([hi + HANDLE_OFFSET * (hi - lo)]))
            self.threshold_handle.y = np.array([y])
            self.threshold_handle.visible = bool(np.isfinite(y))

    def handle_y(self) -> float:
        """Where the state puts the handle (display units): the threshold when on, else
        the median of the plotted key, so a threshold can be dragged in; NaN: no handle."""
        state, table = self.state, self.table
        if state.key is None or table is None or not table.has(state.key):
            return np.nan
        if state.threshold_on:
            return float(to_display(state.key, state.threshold))
        median = table.median(state.key)  # computed once per dataset
        return float(to_display(state.key, median)) if median is not None else np.nan

    def draw_selection(self) -> None:
        """Highlight the model's selected frames on the plotted series (decimated like them)."""
        table, key = self.table, self.state.key
        if table is None or key is None or not table.has(key):
            return
        mask = self.model.selected_mask if self.model.n_selected else None
        xs, ys = [], []
        for name in self._stokes_names:
            if name not in self._drawn or mask is None:  # nothing selected: nothing to highlight
                continue
            x, y, ids = table.series(key, x=self.state.x, stokes=None if name == "all" else name)
            sel = mask[ids] if mask.size == table.n_frames else np.zeros(ids.size, dtype=bool)
            if not sel.any():
                continue
            xd, yd = _trim_nan(*decimate_minmax(x, np.where(sel, to_display(key, y), np.nan), self.n_bins))
            if xd.size == 0:
                continue
            if xs:  # a NaN between series breaks the line
                xs.append(xd[:1])
                ys.append([np.nan])
            xs.append(xd)
            ys.append(yd)
        if not xs and self._selected_mark is None:
            return  # nothing to highlight yet: the mark is made with the first selection
        with self.selected_mark.hold_sync():
            self.selected_mark.x = self._x_out(np.concatenate(xs) if xs else np.zeros(0))
            self.selected_mark.y = np.concatenate(ys).astype(float) if xs else np.zeros(0)

    def mark_frame(self, frame: int) -> None:
        """A red vertical line at ``frame``."""
        self.marked_frame = frame
        x = self.table.axis(self.state.x).values[frame]
        if np.isfinite(x):
            with self.marker_mark.hold_sync():
                self.marker_mark.x = self._x_out(np.array([x, x]))
                self.marker_mark.visible = True

    # ------------------------------------------------------------------ gestures

    def _on_brushing(self, change) -> None:
        if change["new"] or self.table is None:
            return  # act only when the mouse is released
        selected = self.brush.selected
        if selected is None or len(selected) != 2:
            return
        lo, hi = selected
        if self.state.x == "time":
            lo = self.table.time.to_axis(np.datetime64(lo, "us"))
            hi = self.table.time.to_axis(np.datetime64(hi, "us"))
        self.state.brush(float(lo), float(hi))

    def _on_handle_dropped(self, change) -> None:
        new = change["new"]
        if self.table is None or new is None or len(new) == 0:
            return
        shown = float(new[0])
        if shown == self.handle_y() or not np.isfinite(shown):
            return  # the plot's own placement, not a drag
        shown = round_shown(self.state.key, shown)  # a mouse is not more precise than the axis
        self.state.drag_threshold(from_display(self.state.key, shown))
