"""ResultsGrid: one page of search results in an ipydatagrid ``DataGrid``, with the
summary line, Previous / Next buttons and a column chooser. It shows a
:class:`~dkist_widgets.core.search.SearchResult` and maps grid selections to dataset
ids; the search panel owns the searching, the selection trait and the actions.

Choices
-------
* **Paging, not one huge grid.** The grid holds one page of results; sorting and
  filtering act on the page shown, which the summary says in plain words. 10,000
  results stay responsive because only one page ever reaches the browser (see
  ``benchmarks/results/search_grid.md``).
* **A header click sorts** (issue 14.1). In ipydatagrid's row-selection mode a click
  on a column header selects every row (lumino's mouse handler), so Fetch, Open and
  Transfer would act on every dataset. The grid reports the click (``cell-click``
  with region ``column-header``) just *before* that selection; the selection that
  follows such a click is taken as "sort by this column": the page is sorted in
  the kernel on the *raw* values (numbers, not their text), ascending then
  descending on the next click, missing values last, the header shows ▲ / ▼, and
  the selection the user had is put back. A click on a header's resize edge or
  menu icon selects nothing, so it does not sort. ipydatagrid's own menu sort
  still works (its view order is then read back through ``get_visible_data()``).
* **Values as the user reads them** (issue 14.4): r0 through
  :mod:`dkist_widgets.core.units` (the display unit of ``core.units``,
  rounded to a millimetre, the unit in the header), sizes with units
  (``human_bytes``; the API's ``datasetSize`` is GiB). The kernel keeps the raw
  numbers for sorting and for the records handed on.
* **Column widths are set in the kernel** from the longest text of each column
  (header included, about 7 px a character at the grid's 12 px font, room for the
  sort arrow and menu icon, capped at :data:`MAX_COLUMN_PX`), so no value or unit is
  cut off and :meth:`ResultsGrid.header_layout` can say where each header is.
* **Stable selection.** The grid's index is "Dataset ID" (ipydatagrid's primary
  key); selected rectangles are positions in the *sorted/filtered view*, mapped to
  dataset ids through the order the kernel drew (or ``get_visible_data()`` after a
  menu sort or filter).
* The summary is escaped text; cell values are plain data (the grid renders text).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import ipywidgets as w

from ..core import search as core
from ..core.formatting import escape, human_bytes
from ..core.inventory import dataset_bytes
from ..core.units import r0_decimals, r0_label, r0_rounded

__all__ = ["ResultsGrid", "dataframe", "display_name", "display_value"]

#: Raw column -> how its header reads in the grid (units named).
R0_COLUMN = "Average Fried Parameter"
SIZE_COLUMN = "Dataset Size"
#: A header click is followed by its selection within this many seconds.
HEADER_CLICK_WINDOW_S = 5.0
_ARROWS = (" ▲", " ▼")
#: Column width: px per character of the 12 px grid font, padding, cap.
CHAR_PX, PAD_PX, MIN_COLUMN_PX, MAX_COLUMN_PX = 7.2, 34, 70, 340


TIME_COLUMNS = ("Start Time", "End Time", "Embargo End Date", "Creation Date", "Last Updated")


def display_name(column: str) -> str:
    """The header text of a raw result column (r0 with its unit)."""
    return r0_label("Average r0") if column == R0_COLUMN else column


def display_value(column: str, value):
    """A cell as shown: r0 rounded in the display unit, sizes with units, else as is."""
    if column == R0_COLUMN:
        rounded = r0_rounded(value)
        return math.nan if rounded is None else rounded
    if column in TIME_COLUMNS and isinstance(value, str) and len(value) > 19 and value[10:11] == "T":
        return value[:19].replace("T", " ")  # to the second; the records keep the full time
    if column == SIZE_COLUMN:
        nbytes = dataset_bytes({"datasetSize": value})
        if nbytes is not None:
            return human_bytes(nbytes)
        return "" if value is None or isinstance(value, (int, float)) else str(value)
    return value


def dataframe(rows, columns, index="Dataset ID"):
    """A pandas frame of ``rows`` indexed by dataset id (empty frames keep the columns)."""
    import pandas as pd

    frame = pd.DataFrame.from_records(rows, columns=columns) if rows else pd.DataFrame(columns=columns)
    if index in frame.columns:
        frame = frame.set_index(index)
    else:
        frame.index.name = index
    return frame


def _text_px(text) -> int:
    return int(len(str(text)) * CHAR_PX + PAD_PX)


def _widths(view) -> dict:
    """Pixel width per column name (index included) from its longest text."""
    out = {}
    columns = [(view.index.name or "Dataset ID", list(view.index))] + [(c, list(view[c])) for c in view.columns]
    for name, values in columns:
        texts = ["" if v != v else v for v in values]  # NaN shows as an empty cell
        longest = max([_text_px(name)] + [_text_px(v) for v in texts])
        out[str(name)] = max(MIN_COLUMN_PX, min(MAX_COLUMN_PX, longest))
    return out


class ResultsGrid(w.VBox):
    """The result page view. ``on_page(+1 / -1)`` is called by Previous / Next;
    ``on_columns()`` after the user changed the columns (the grid selection is gone)."""

    def __init__(self, columns, *, on_page: Callable[[int], object], on_columns: Callable[[], None], **kwargs):
        super().__init__(**kwargs)
        from ipydatagrid import DataGrid, TextRenderer

        self._text_renderer = TextRenderer

        self.wanted_columns = list(columns)
        self.frame = None
        #: (raw column, descending) of the last header-click sort, or None.
        self.sort: tuple[str, bool] | None = None
        #: Dataset ids in the order the grid shows them (kernel-side order).
        self.view_ids: list[str] = []
        self.sort_note = ""
        self._shown_columns: list[str] = []
        self._pending_header: tuple[str, float, list[str]] | None = None
        self._result: core.SearchResult | None = None
        self.last_header_click: dict | None = None
        self._on_columns_changed = on_columns
        self.summary = w.HTML()
        self.summary.add_class("dkw-search-summary")
        self.prev_button = w.Button(description="◀ Previous", disabled=True, layout=w.Layout(width="110px"))
        self.next_button = w.Button(description="Next ▶", disabled=True, layout=w.Layout(width="110px"))
        self.prev_button.on_click(lambda _b: on_page(-1))
        self.next_button.on_click(lambda _b: on_page(+1))
        self.column_chooser = w.SelectMultiple(
            options=list(self.wanted_columns), value=(), rows=8, layout=w.Layout(width="320px")
        )
        self.column_chooser.add_class("dkw-search-columns")
        self.column_chooser.observe(self._on_columns, names="value")
        empty = dataframe([], ["Dataset ID", *[display_name(c) for c in self.wanted_columns if c != "Dataset ID"]])
        self.grid = DataGrid(
            empty,
            selection_mode="row",
            column_widths=_widths(empty),
            layout=w.Layout(height="300px", width="100%"),
            auto_fit_columns=False,
            base_column_size=110,
        )
        self.grid.add_class("dkw-search-grid")
        self.grid.on_cell_click(self._on_cell_click)
        self.children = [
            w.HBox([self.summary, self.prev_button, self.next_button], layout=w.Layout(align_items="center")),
            w.Accordion(children=[self.column_chooser], titles=("Columns",), selected_index=None),
            self.grid,
        ]

    def load(self, result: core.SearchResult) -> list[str]:
        """Take ``result``'s rows and offer its columns; return the columns to show."""
        rows, columns = result.rows, result.columns
        self.frame = dataframe(rows, columns)
        available = [c for c in columns if c != "Dataset ID"]
        chosen = [c for c in self.wanted_columns if c in available and c != "Dataset ID"]
        self.column_chooser.unobserve(self._on_columns, names="value")
        try:
            self.column_chooser.options = available
            self.column_chooser.value = tuple(chosen)
        finally:
            self.column_chooser.observe(self._on_columns, names="value")
        return chosen if len(self.frame) else list(self.wanted_columns)

    def summarise(self, result: core.SearchResult) -> None:
        self._result = result
        self._write_summary()

    def _write_summary(self) -> None:
        result = self._result
        if result is None:
            return
        text = escape(result.summary())
        if self.sort is not None and self.frame is not None and len(self.frame):
            column, desc = self.sort
            order = "descending" if desc else "ascending"
            if result.n_pages > 1:
                first = result.first_index + 1
                scope = (
                    f"this page only (datasets {first:,}-{first + len(self.frame) - 1:,} of "
                    f"{result.total:,}); other pages are sorted when shown"
                )
            else:
                scope = f"all {len(self.frame):,} results"
            self.sort_note = f"Sorted by {display_name(column)}, {order}: {scope}."
            text += f" <span class='dkw-search-sort-note'>{escape(self.sort_note)}</span>"
        else:
            self.sort_note = ""
            if result.n_pages > 1:
                text += (
                    " <span class='dkw-search-sort-note'>Click a column header to sort this page; "
                    "sorting applies to this page.</span>"
                )
        self.summary.value = text

    def _ordered(self):
        """The loaded page in the order to show (sorted on raw values, missing last)."""
        frame = self.frame
        if self.sort is None or frame is None or not len(frame):
            return frame
        import pandas as pd

        column, desc = self.sort
        if column == "Dataset ID":
            key = pd.Series([str(i) for i in frame.index])
        elif column in frame.columns:
            raw = frame[column].reset_index(drop=True)
            numeric = pd.to_numeric(raw, errors="coerce")
            key = numeric if numeric.notna().sum() >= raw.notna().sum() else raw.astype(str).where(raw.notna())
        else:
            return frame
        order = key.sort_values(ascending=not desc, kind="stable", na_position="last").index
        return frame.iloc[list(order)]

    def render(self, columns) -> None:
        """Show ``columns`` of the loaded page, sorted as :attr:`sort` says (the selection is cleared)."""
        frame = self._ordered()
        if frame is None:
            return
        cols = [c for c in columns if c in frame.columns]
        self._shown_columns = cols
        if len(frame):
            view = frame[cols].copy()
            for c in cols:
                if c in (R0_COLUMN, SIZE_COLUMN, *TIME_COLUMNS):
                    view[c] = [display_value(c, v) for v in view[c]]
            names = {c: display_name(c) for c in cols}
            if self.sort is not None and self.sort[0] in names:
                names[self.sort[0]] += _ARROWS[int(self.sort[1])]
            view = view.rename(columns=names)
        else:
            view = dataframe([], ["Dataset ID", *[display_name(c) for c in columns if c != "Dataset ID"]])
        self.view_ids = [str(i) for i in frame.index]
        self.grid.clear_selection()
        self.grid.transform([])
        self.grid._visible_rows = []
        self.grid.data = view
        self.grid.column_widths = _widths(view)
        r0_header = next((n for n in view.columns if str(n).startswith(display_name(R0_COLUMN))), None)
        self.grid.renderers = {r0_header: self._text_renderer(format=f".{r0_decimals()}f")} if r0_header else {}
        self._write_summary()

    def header_layout(self) -> dict:
        """``{"row_header": px, "columns": [[header, px], ...]}`` in the order drawn."""
        view = self.grid.data
        widths = dict(self.grid.column_widths or {})
        index = view.index.name or "Dataset ID"
        return {
            "row_header": widths.get(index, self.grid.base_row_header_size),
            "columns": [[str(c), widths.get(str(c), self.grid.base_column_size)] for c in view.columns],
        }

    def raw_column(self, header: str) -> str | None:
        """The raw column a header text names (arrows and units taken off)."""
        text = str(header)
        for arrow in _ARROWS:
            text = text.removesuffix(arrow)
        if text in ("Dataset ID", self.grid.data.index.name):
            return "Dataset ID"
        for c in self._shown_columns:
            if display_name(c) == text:
                return c
        return None

    def sort_by(self, column: str, descending: bool | None = None) -> None:
        """Sort the page by a raw column (``descending=None``: toggle as a header click does)."""
        if descending is None:
            descending = self.sort is not None and self.sort[0] == column and not self.sort[1]
        keep = self.selected_ids()
        self.sort = (column, bool(descending))
        self.render(self._shown_columns or self.wanted_columns)
        if keep:
            self.select(keep)

    def _on_cell_click(self, content) -> None:
        if content.get("region") != "column-header":
            return
        self.last_header_click = dict(content)
        column = self.raw_column(content.get("column", ""))
        if column is not None:
            self._pending_header = (column, time.monotonic(), self.selected_ids())

    def take_header_selection(self, rects) -> bool:
        """If ``rects`` is the every-row selection of a header click just reported, sort by
        that column, put the earlier selection back and return True."""
        pending, self._pending_header = self._pending_header, None
        if pending is None or self.frame is None:
            return False
        column, when, before = pending
        n = len(self.view_ids)
        every_row = len(rects or []) == 1 and int(rects[0]["r1"]) == 0 and int(rects[0]["r2"]) >= n - 1
        if not every_row or time.monotonic() - when > HEADER_CLICK_WINDOW_S:
            return False
        descending = self.sort is not None and self.sort[0] == column and not self.sort[1]
        self.sort = (column, descending)
        self.render(self._shown_columns or self.wanted_columns)
        if before:
            self.select(before)
        return True

    def _on_columns(self, change) -> None:
        self.wanted_columns = list(change["new"]) or list(core.DEFAULT_COLUMNS)
        self.render(list(change["new"]))
        self._on_columns_changed()

    def _view_index(self) -> list[str]:
        visible = list(self.grid._visible_rows or [])
        menu_order = visible and visible != list(range(len(self.view_ids)))
        if self.grid._transforms or menu_order:  # the user sorted/filtered with ipydatagrid's own menu
            try:
                return [str(i) for i in self.grid.get_visible_data().index]
            except Exception:  # noqa: BLE001 - ipydatagrid's view unavailable: keep our own order
                pass
        return list(self.view_ids)

    def selected_ids(self, rects=None) -> list[str]:
        """Dataset ids of the selected rows (or of ``rects``), in view order, without repeats."""
        ids: list[str] = []
        rects = list(self.grid.selections or []) if rects is None else list(rects)
        if rects and self.frame is not None and len(self.frame):
            view_index = self._view_index()
            seen = set()
            for rect in rects:
                for r in range(int(rect["r1"]), int(rect["r2"]) + 1):
                    if 0 <= r < len(view_index) and view_index[r] not in seen:
                        seen.add(view_index[r])
                        ids.append(str(view_index[r]))
        return ids

    def select(self, ids) -> None:
        """Select rows by dataset id (ValueError naming the ids not in the grid)."""
        wanted = [str(i) for i in ids]
        view_index = self._view_index() if self.frame is not None else []
        missing = [i for i in wanted if i not in view_index]
        if missing:
            raise ValueError(f"not in the grid: {missing}")
        self.grid.clear_selection()
        ncols = max(len(self._shown_columns), 1)
        for i in wanted:
            r = view_index.index(i)
            self.grid.select(r, 0, r, ncols)
