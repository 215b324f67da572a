"""A sorted, filtered, windowed view of a table of frames (no widgets here).

The header explorer's table may hold a million rows; the browser shows a dozen. This
module keeps the rows in the kernel and answers three questions for the front end:
which rows are in the view (filters, an optional row mask, a sort), how many there
are, and the text of the rows in one window of the view. Only that window travels.

Choices
-------
* **Rows are identified by the ``frame`` column**, never by position: a click on a
  row of a sorted, filtered view names the frame the row shows.
* **Sort** is stable (equal values keep frame order); NaN and empty strings sort
  last in both directions, so "descending r0" starts with the best seeing.
* **Filters**, one text per column:

  - numeric columns: ``>0.05``, ``>=5``, ``<3``, ``<=3``, ``=1`` (or a bare number),
    ``!=1``, a range ``0.02..0.1`` (inclusive), or ``nan`` for the missing values;
    several conditions separated by spaces or commas all apply (``>2 <5``);
  - text and time columns: a case-insensitive substring (``2026-11-23T10:0``).

  A filter that cannot be understood is ignored and named in :attr:`TableView.problems`
  (the panel shows that text; nothing is raised at the user).
* **Text** of the cells: numbers with up to 6 significant digits, integers as
  integers, booleans as ``true``/``false``, missing values as an em dash.
* **Rows come from columns** (:class:`FrameColumns`): a pandas DataFrame
  (:class:`DataFrameColumns`) or the header table's own column arrays
  (:meth:`~dkist_widgets.core.header_table.HeaderTable.rows`), so a window of a
  million-frame table reads the dozen rows it shows and nothing is copied per row.
  A sort is the column's stable order over all rows (cached by the columns: the
  header table keeps one per column per dataset) with the rows filtered out
  dropped; filters are boolean masks over whole columns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "TableView",
    "FrameColumns",
    "DataFrameColumns",
    "stable_order",
    "parse_numeric_filter",
    "FilterError",
    "MISSING_TEXT",
]

MISSING_TEXT = "—"
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_CONDITION = re.compile(rf"^(>=|<=|!=|>|<|=)?\s*({_NUMBER})$")
_RANGE = re.compile(rf"^({_NUMBER})\s*\.\.\s*({_NUMBER})$")


class FilterError(ValueError):
    """A filter text that is not understood (the message says how to write one)."""


def parse_numeric_filter(text: str):
    """A function ``values -> bool mask`` for a numeric filter text (see module doc)."""
    parts = [p for p in re.split(r"[\s,]+", text.strip()) if p]
    # re-join operators written apart from their number: "> 5" -> ">5"
    joined: list[str] = []
    for part in parts:
        if joined and joined[-1] in (">", "<", ">=", "<=", "=", "!=", "=="):
            joined[-1] = joined[-1] + part
        else:
            joined.append(part)
    tests = []
    for part in joined:
        part = part.replace("==", "=")
        if part.lower() == "nan":
            tests.append(np.isnan)
            continue
        match = _RANGE.match(part)
        if match:
            lo, hi = sorted((float(match.group(1)), float(match.group(2))))
            tests.append(lambda v, lo=lo, hi=hi: (v >= lo) & (v <= hi))
            continue
        match = _CONDITION.match(part)
        if not match:
            raise FilterError(f"{part!r} is not a number condition: write e.g. >0.05, <=3, =1, 0.02..0.1 or nan")
        op, number = match.group(1) or "=", float(match.group(2))
        tests.append(
            {
                ">": lambda v, n=number: v > n,
                ">=": lambda v, n=number: v >= n,
                "<": lambda v, n=number: v < n,
                "<=": lambda v, n=number: v <= n,
                "=": lambda v, n=number: v == n,
                "!=": lambda v, n=number: v != n,
            }[op]
        )
    if not tests:
        return None

    def mask(values: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            out = np.ones(values.shape, dtype=bool)
            for test in tests:
                out &= test(values)
        return out

    return mask


def _cell_text(value) -> str:
    if value is None:
        return MISSING_TEXT
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        if not np.isfinite(value):
            return MISSING_TEXT if np.isnan(value) else ("inf" if value > 0 else "-inf")
        return f"{float(value):.6g}"
    text = str(value)
    return text if text else MISSING_TEXT


def stable_order(values: np.ndarray, *, numeric: bool, descending: bool = False) -> np.ndarray:
    """Positions of ``values`` in sort order: stable (ties keep position order), missing
    values (NaN; ``""`` for text) last in both directions."""
    if numeric:
        key = np.asarray(values, dtype=float)
        return np.argsort(-key if descending else key, kind="stable")  # NaN sorts last either way
    text = np.asarray(values).astype(str)
    missing = text == ""
    ranks = np.unique(text, return_inverse=True)[1].reshape(text.shape)  # ranks, so strings can descend too
    return np.lexsort((-ranks if descending else ranks, missing))


class FrameColumns:
    """The rows a :class:`TableView` sees, as whole columns (no row objects).

    Subclasses give :attr:`columns` (the frame column first), ``len``, and for a
    column: whether it is numeric, its values over all rows as float (:meth:`numbers`)
    or text (:meth:`texts`, ``""`` when missing), and the values of some rows for
    display (:meth:`cells`). :meth:`sort_order` is cached per column and direction.
    """

    frame_column: str = "frame"

    def __init__(self):
        self._orders: dict[tuple[str, bool], np.ndarray] = {}

    @property
    def columns(self) -> list[str]:
        raise NotImplementedError

    def __len__(self) -> int:
        raise NotImplementedError

    def is_numeric(self, column: str) -> bool:
        raise NotImplementedError

    def numbers(self, column: str) -> np.ndarray:
        raise NotImplementedError

    def texts(self, column: str) -> np.ndarray:
        raise NotImplementedError

    def cells(self, column: str, positions: np.ndarray) -> list:
        """Values of ``column`` at row ``positions`` as Python objects, for :func:`_cell_text`."""
        raise NotImplementedError

    def frame_ids(self, positions=None) -> np.ndarray:
        raise NotImplementedError

    def has_frame(self, frame_id: int) -> bool:
        return bool(np.any(self.frame_ids() == frame_id))

    def sort_order(self, column: str, descending: bool = False) -> np.ndarray:
        """All row positions sorted by ``column`` (see :func:`stable_order`), cached."""
        key = (column, bool(descending))
        found = self._orders.get(key)
        if found is None:
            numeric = self.is_numeric(column)
            found = stable_order(
                self.numbers(column) if numeric else self.texts(column), numeric=numeric, descending=descending
            )
            found.flags.writeable = False
            self._orders[key] = found
        return found

    def to_frame(self, positions=None):
        """A pandas DataFrame of rows ``positions`` (default: all), in that order."""
        raise NotImplementedError


class DataFrameColumns(FrameColumns):
    """:class:`FrameColumns` over a pandas DataFrame holding a frame column."""

    def __init__(self, frame, frame_column: str = "frame"):
        super().__init__()
        self.frame = frame
        self.frame_column = frame_column

    @property
    def columns(self) -> list[str]:
        return [str(c) for c in self.frame.columns]

    def __len__(self) -> int:
        return len(self.frame)

    def _values(self, column: str) -> np.ndarray:
        return self.frame[column].to_numpy()

    def is_numeric(self, column: str) -> bool:
        return self._values(column).dtype.kind in "iufb"

    def numbers(self, column: str) -> np.ndarray:
        return self._values(column).astype(float)

    def texts(self, column: str) -> np.ndarray:
        return self._values(column).astype(str)

    def cells(self, column: str, positions) -> list:
        return self._values(column)[positions].tolist()

    def frame_ids(self, positions=None) -> np.ndarray:
        ids = self._values(self.frame_column)
        return ids if positions is None else ids[positions]

    def to_frame(self, positions=None):
        return self.frame if positions is None else self.frame.iloc[positions].reset_index(drop=True)


def as_frame_columns(frame, frame_column: str = "frame") -> FrameColumns:
    """``frame`` (a :class:`FrameColumns` or a DataFrame) as :class:`FrameColumns`."""
    return frame if isinstance(frame, FrameColumns) else DataFrameColumns(frame, frame_column)


@dataclass
class TableView:
    """Rows of a table of frames (a DataFrame with a ``frame`` column, or any
    :class:`FrameColumns`) seen through filters, a mask and a sort."""

    frame: object  # pandas.DataFrame or FrameColumns
    frame_column: str = "frame"
    sort_column: str | None = None
    descending: bool = False
    filters: dict[str, str] = field(default_factory=dict)
    row_mask: np.ndarray | None = None  # over the frame's rows; None: all rows
    problems: dict[str, str] = field(default_factory=dict)
    #: Per-column text of a value (e.g. r0 to the millimetre); sorting and filtering
    #: still use the values themselves.
    formats: dict = field(default_factory=dict)
    _order: np.ndarray | None = field(default=None, repr=False)
    source: FrameColumns | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.set_frame(self.frame)

    @property
    def columns(self) -> list[str]:
        return self.source.columns

    @property
    def order(self) -> np.ndarray:
        """Positions (into :attr:`frame`) of the view's rows, in view order."""
        if self._order is None:
            self._order = self._compute_order()
        return self._order

    @property
    def n_rows(self) -> int:
        return int(self.order.size)

    def invalidate(self) -> None:
        """Recompute the view on next use (after the data, filters, mask or sort changed)."""
        self._order = None

    def set_sort(self, column: str | None, descending: bool = False) -> None:
        if column is not None and column not in self.columns:
            raise KeyError(f"no column {column!r} to sort by (columns: {', '.join(self.columns)})")
        self.sort_column, self.descending = column, bool(descending)
        self.invalidate()

    def set_filters(self, filters: dict[str, str]) -> None:
        self.filters = {str(k): str(v) for k, v in (filters or {}).items() if str(v).strip()}
        self.invalidate()

    def set_row_mask(self, mask) -> None:
        self.row_mask = None if mask is None else np.asarray(mask, dtype=bool)
        self.invalidate()

    def set_frame(self, frame) -> None:
        self.frame = frame
        self.source = as_frame_columns(frame, self.frame_column)
        self.frame_column = self.source.frame_column
        self.invalidate()

    def frames(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Frame ids of view rows ``start:stop``."""
        return self.source.frame_ids(self.order[start:stop])

    def rows_text(self, start: int, stop: int) -> list[list[str]]:
        """The cells' text of view rows ``start:stop`` (column order of :attr:`columns`)."""
        positions = self.order[max(0, start) : max(0, stop)]
        columns = []
        for name in self.source.columns:
            text = self.formats.get(name, _cell_text)
            columns.append([text(v) for v in self.source.cells(name, positions)])
        return [list(row) for row in zip(*columns)] if columns else []

    def position_of_frame(self, frame_id: int) -> int | None:
        """The view row showing ``frame_id`` (None when filtered out)."""
        hits = np.flatnonzero(self.frames() == int(frame_id))
        return int(hits[0]) if hits.size else None

    # ------------------------------------------------------------------ internals

    def _compute_order(self) -> np.ndarray:
        source = self.source
        n = len(source)
        keep = None if self.row_mask is None or self.row_mask.shape != (n,) else self.row_mask.copy()
        self.problems = {}
        columns = set(source.columns)
        for column, text in self.filters.items():
            if column not in columns:
                self.problems[column] = f"no column {column}"
                continue
            if source.is_numeric(column):
                try:
                    test = parse_numeric_filter(text)
                except FilterError as err:
                    self.problems[column] = str(err)
                    continue
                if test is None:
                    continue
                passed = test(source.numbers(column))
            else:
                needle = text.strip().lower()
                passed = np.char.find(np.char.lower(source.texts(column)), needle) >= 0
            keep = passed if keep is None else keep & passed
        if self.sort_column is None:
            return np.arange(n, dtype=np.int64) if keep is None else np.flatnonzero(keep)
        order = source.sort_order(self.sort_column, self.descending)  # all rows, cached per column
        return order if keep is None else order[keep[order]]  # a stable sort of the rows kept
