"""FrameTable: a windowed table of frames drawn as plain DOM rows (one widget model).

The header explorer's table. The rows stay in the kernel
(:class:`~dkist_widgets.core.table_view.TableView` sorts and filters them); the
browser asks for the window of rows it scrolls to and receives only their text. A
million-row table therefore sends what a dozen rows cost, and the table paints as
fast as any HTML: no canvas, and a single widget model instead of a grid's five.

Why not ipydatagrid: its canvas grid copies every visible cell with its own
``drawImage``, several times while the panel settles. Over the explorer's columns at
100k frames, ``benchmarks/bench_header_explorer_paint.py`` records the
``StreamingDataGrid`` alone painting in 0.66 s with 440 ``drawImage`` calls taking
0.36 s (Chromium without GPU), and this table alone in 0.26 s with none. The search panel still uses
ipydatagrid for its paged results (hundreds of rows).

Browser → kernel: ``window_start`` (first row wanted), ``sort`` (``[column,
descending]`` from a header click), ``filters`` (``{column: text}`` from the filter
boxes) and a ``click`` message naming the clicked row's frame. Kernel → browser:
``columns``, ``n_rows``, ``window_rows``, ``rows_start`` + ``rows`` (the text of the window, the
frame column first), ``selected_rows`` (which of those rows are selected, drawn
highlighted), ``marked_frame`` and ``problem`` (e.g. a filter not understood; shown
as text).
"""

from __future__ import annotations

import threading

import anywidget
import numpy as np
import traitlets

from ..core.table_view import TableView
from .static_assets import esm_path

__all__ = ["FrameTable"]

WINDOW_ROWS = 60  # rows sent per window (the view shows ~10; the rest is scroll margin)


class FrameTable(anywidget.AnyWidget):
    """Windowed, sortable, filterable table over a DataFrame with a ``frame`` column, or
    over :class:`~dkist_widgets.core.table_view.FrameColumns` (e.g. the header table's
    own columns, :meth:`~dkist_widgets.core.header_table.HeaderTable.rows`: no row is
    copied until it is shown).

    ``selected``: bool mask over the rows (drawn highlighted).
    ``on_click(callback)``: ``callback(frame_id)`` when a row is clicked.
    """

    _esm = esm_path("frame_table")

    columns = traitlets.List(traitlets.Unicode()).tag(sync=True)
    n_rows = traitlets.Int(0).tag(sync=True)
    n_total = traitlets.Int(0).tag(sync=True)
    window_start = traitlets.Int(0).tag(sync=True)
    rows_start = traitlets.Int(0).tag(sync=True)
    rows = traitlets.List().tag(sync=True)
    selected_rows = traitlets.List(traitlets.Bool()).tag(sync=True)
    sort = traitlets.List().tag(sync=True)  # [] or [column, descending]
    filters = traitlets.Dict().tag(sync=True)
    marked_frame = traitlets.Int(-1).tag(sync=True)
    problem = traitlets.Unicode("").tag(sync=True)
    height_rows = traitlets.Int(10).tag(sync=True)
    window_rows = traitlets.Int(WINDOW_ROWS).tag(sync=True)  # rows per window (the browser asks by it)

    def __init__(
        self, frame, *, selected=None, frame_column: str = "frame", height_rows: int = 10, formats=None, **kwargs
    ):
        self.view = TableView(frame, frame_column=frame_column, formats=dict(formats or {}))
        self._selected = np.zeros(len(frame), dtype=bool) if selected is None else np.asarray(selected, bool)
        self._lock = threading.RLock()
        self._click_callbacks = []
        super().__init__(height_rows=height_rows, **kwargs)
        self._refresh(reset_window=True)
        self.observe(self._on_window, names="window_start")
        self.observe(self._on_sort, names="sort")
        self.observe(self._on_filters, names="filters")
        self.on_msg(self._on_message)

    # ------------------------------------------------------------------ API

    @property
    def frame(self):
        return self.view.frame

    def set_frame(self, frame, *, selected=None) -> None:
        """Replace the rows (keeps sort and filters when their columns remain)."""
        with self._lock:
            self.view.set_frame(frame)
            if self.view.sort_column not in self.view.columns:
                self.view.sort_column = None
            if selected is not None:
                self._selected = np.asarray(selected, dtype=bool)
            self._refresh()

    @property
    def selected(self) -> np.ndarray:
        """The highlighted rows (bool mask over the DataFrame's rows; a copy)."""
        return self._selected.copy()

    def set_selected(self, mask) -> None:
        """Rows to highlight (bool mask over the DataFrame's rows)."""
        with self._lock:
            self._selected = np.asarray(mask, dtype=bool)
            self._send_window()

    def set_row_mask(self, mask) -> None:
        """Show only these rows (None: all), e.g. "only selected rows"."""
        with self._lock:
            self.view.set_row_mask(mask)
            self._refresh(reset_window=True)

    def sort_by(self, column: str | None, descending: bool = False) -> None:
        """What a header click does (None: frame order)."""
        self.sort = [] if column is None else [column, bool(descending)]

    def click_row(self, row: int) -> int:
        """What a click on view row ``row`` does; returns the frame id it names."""
        frame_id = int(self.view.frames(row, row + 1)[0])
        self._clicked(frame_id)
        return frame_id

    def on_click(self, callback) -> None:
        self._click_callbacks.append(callback)

    def view_frames(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Frame ids in view order (after filters, mask and sort)."""
        return self.view.frames(start, stop)

    # ------------------------------------------------------------------ sync

    def _refresh(self, reset_window: bool = False) -> None:
        view = self.view
        with self.hold_sync():
            self.columns = view.columns
            self.n_total = len(view.source)
            self.n_rows = view.n_rows
            self.problem = "; ".join(f"filter on {c}: {why}" for c, why in view.problems.items())
            if reset_window or self.window_start >= max(1, self.n_rows):
                self.window_start = 0
            self._send_window()

    def _send_window(self) -> None:
        start = max(0, min(int(self.window_start), max(0, self.view.n_rows - 1)))
        stop = min(self.view.n_rows, start + self.window_rows)
        positions = self.view.order[start:stop]
        with self.hold_sync():
            self.rows_start = start
            self.rows = self.view.rows_text(start, stop)
            self.selected_rows = [bool(b) for b in self._selected[positions]] if self._selected.size else []

    def _on_window(self, _change) -> None:
        with self._lock:
            self._send_window()

    def _on_sort(self, change) -> None:
        new = change["new"] or []
        with self._lock:
            try:
                self.view.set_sort(new[0] if new else None, bool(new[1]) if len(new) > 1 else False)
            except KeyError as err:
                self.problem = str(err.args[0])
                return
            self._refresh(reset_window=True)

    def _on_filters(self, change) -> None:
        with self._lock:
            self.view.set_filters(change["new"] or {})
            self._refresh(reset_window=True)

    def _on_message(self, _widget, content, _buffers) -> None:
        if isinstance(content, dict) and content.get("type") == "click":
            try:
                frame_id = int(content.get("frame"))
            except (TypeError, ValueError):
                return
            self._clicked(frame_id)

    def _clicked(self, frame_id: int) -> None:
        if not self.view.source.has_frame(frame_id):
            return  # not a row of this table (e.g. a click from a stale view after a reload)
        self.marked_frame = frame_id
        for callback in list(self._click_callbacks):
            callback(frame_id)
