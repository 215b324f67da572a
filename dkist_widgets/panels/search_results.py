"""ResultsGrid: one page of search results in an ipydatagrid ``DataGrid``, with the
summary line, Previous / Next buttons and a column chooser. It shows a
:class:`~dkist_widgets.core.search.SearchResult` and maps grid selections to dataset
ids; the search panel owns the searching, the selection trait and the actions.

Choices
-------
* **Paging, not one huge grid.** The grid holds one page of results; sorting and
  filtering (ipydatagrid's column menus) act on the page shown, which the summary
  says. 10,000 results stay responsive because only one page ever reaches the
  browser (see ``benchmarks/results/search_grid.md``).
* **Stable selection.** The grid's index is "Dataset ID" (ipydatagrid's primary
  key); selected rectangles are positions in the *sorted/filtered view*, mapped to
  dataset ids through ``grid.get_visible_data()``.
* The summary is escaped text; cell values are plain data (the grid renders text).
"""

from __future__ import annotations

from collections.abc import Callable

import ipywidgets as w

from ..core import search as core
from ..core.formatting import escape

__all__ = ["ResultsGrid", "dataframe"]


def dataframe(rows, columns, index="Dataset ID"):
    """A pandas frame of ``rows`` indexed by dataset id (empty frames keep the columns)."""
    import pandas as pd

    frame = pd.DataFrame.from_records(rows, columns=columns) if rows else pd.DataFrame(columns=columns)
    if index in frame.columns:
        frame = frame.set_index(index)
    else:
        frame.index.name = index
    return frame


class ResultsGrid(w.VBox):
    """The result page view. ``on_page(+1 / -1)`` is called by Previous / Next;
    ``on_columns()`` after the user changed the columns (the grid selection is gone)."""

    def __init__(self, columns, *, on_page: Callable[[int], object], on_columns: Callable[[], None], **kwargs):
        super().__init__(**kwargs)
        from ipydatagrid import DataGrid

        self.wanted_columns = list(columns)
        self.frame = None
        self._on_columns_changed = on_columns
        self.summary = w.HTML()
        self.summary.add_class("dkw-search-summary")
        self.prev_button = w.Button(description="◀ Previous", disabled=True, layout=w.Layout(width="110px"))
        self.next_button = w.Button(description="Next ▶", disabled=True, layout=w.Layout(width="110px"))
        self.prev_button.on_click(lambda _b: on_page(-1))
        self.next_button.on_click(lambda _b: on_page(+1))
        self.column_chooser = w.SelectMultiple(options=list(self.wanted_columns), value=(),
                                               rows=8, layout=w.Layout(width="320px"))
        self.column_chooser.add_class("dkw-search-columns")
        self.column_chooser.observe(self._on_columns, names="value")
        self.grid = DataGrid(dataframe([], list(self.wanted_columns)), selection_mode="row",
                             layout=w.Layout(height="300px", width="100%"), auto_fit_columns=True,
                             base_column_size=110)
        self.grid.add_class("dkw-search-grid")
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
        self.summary.value = escape(result.summary()) + (
            " <span style='opacity:.7'>Sorting and filtering apply to this page.</span>"
            if result.n_pages > 1 else "")

    def render(self, columns) -> None:
        """Show ``columns`` of the loaded page (the selection is cleared)."""
        frame = self.frame
        if frame is None:
            return
        cols = [c for c in columns if c in frame.columns]
        view = frame[cols] if len(frame) else dataframe([], ["Dataset ID", *columns])
        self.grid.clear_selection()
        self.grid.data = view

    def _on_columns(self, change) -> None:
        self.wanted_columns = list(change["new"]) or list(core.DEFAULT_COLUMNS)
        self.render(list(change["new"]))
        self._on_columns_changed()

    def selected_ids(self) -> list[str]:
        """Dataset ids of the selected rows, in view order, without repeats."""
        ids: list[str] = []
        rects = list(self.grid.selections or [])
        if rects and self.frame is not None and len(self.frame):
            try:
                view_index = list(self.grid.get_visible_data().index)
            except Exception:  # noqa: BLE001 - fall back to data order
                view_index = list(self.frame.index)
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
        view_index = list(self.grid.get_visible_data().index) if self.frame is not None else []
        missing = [i for i in wanted if i not in view_index]
        if missing:
            raise ValueError(f"not in the grid: {missing}")
        self.grid.clear_selection()
        ncols = max(len(self.grid.get_visible_data().columns) - 1, 0)
        for i in wanted:
            r = view_index.index(i)
            self.grid.select(r, 0, r, ncols)
