"""Search results: records (the API's camelCase dicts) -> grid rows, one page as a
:class:`SearchResult`, and records back from a ``DKISTQueryResponseTable``.

Choices
-------
* **Rows.** Result records are turned into rows keyed by dkist's column names
  (``dkist.utils.inventory.INVENTORY_KEY_MAP``: "Dataset ID", "Average Fried
  Parameter", ...), with plain Python values: numbers (NaN where missing),
  strings, lists joined with ", ". "Wavelength" is a ``"min-max"`` string; the
  numbers are in "Wavelength Min"/"Wavelength Max". "Dataset Size" is in GiB as
  dkist's table says.
* **Records with empty or wrong-typed fields** (issue 14.11) are shown, not dropped:
  a record without a usable ``datasetId`` gets the row id ``"(record N: no
  datasetId)"`` so the grid's index stays unique; :func:`record_problems` names
  each field an action needs that is missing, empty or of the wrong type, and
  :data:`ACTION_NEEDS` says which actions need which fields (every product goes
  through ``datasetId``; a transfer also needs ``bucket`` and
  ``primaryProposalId`` for the Globus path).
* ``recordCount`` is read from the API's answer (``DKISTQueryResponseTable`` keeps
  it only as a total over OR-ed queries); :meth:`SearchResult.table` still gives
  the real ``DKISTQueryResponseTable`` built by dkist from the same JSON.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .request import SearchRequest

__all__ = [
    "DEFAULT_COLUMNS",
    "NUMERIC_KEYS",
    "non_numbers",
    "SearchResult",
    "rows_from_records",
    "records_from_table",
    "result_from_fido",
    "ACTION_NEEDS",
    "record_problems",
    "row_id",
    "action_blockers",
]

#: Action -> the record fields it cannot work without.
ACTION_NEEDS = {
    "fetch": ("datasetId",),
    "open": ("datasetId",),
    "report": ("datasetId",),
    "movie": ("datasetId",),
    "transfer": ("datasetId", "bucket", "primaryProposalId"),
}


def record_problems(record: Mapping) -> dict[str, str]:
    """Field -> what is wrong with it, for the fields :data:`ACTION_NEEDS` names."""
    out = {}
    for key in sorted({k for keys in ACTION_NEEDS.values() for k in keys}):
        if key not in record:
            out[key] = "missing"
            continue
        value = record[key]
        if value is None or (isinstance(value, float) and math.isnan(value)):
            out[key] = "empty"
        elif isinstance(value, bool) or not isinstance(value, (str, int)):
            out[key] = f"a {type(value).__name__}, not text"
        elif not str(value).strip():
            out[key] = "empty"
    return out


def row_id(record: Mapping, position: int) -> str:
    """The grid row id of a record: its ``datasetId``, or a placeholder naming its position."""
    if "datasetId" in record_problems(record):
        return f"(record {position + 1}: no datasetId)"
    return str(record["datasetId"])


def action_blockers(records: Iterable[Mapping], ids: Iterable[str]) -> dict[str, list[str]]:
    """Action -> one line per record it cannot work for ("S0023: bucket is empty")."""
    out: dict[str, list[str]] = {}
    for record, ident in zip(records, ids, strict=True):
        problems = record_problems(record)
        for action, needs in ACTION_NEEDS.items():
            bad = [f"{key} is {problems[key]}" for key in needs if key in problems]
            if bad:
                out.setdefault(action, []).append(f"{ident}: {', '.join(bad)}")
    return out


#: The workshop's columns, shown by default.
DEFAULT_COLUMNS = (
    "Dataset ID",
    "Start Time",
    "Instrument",
    "Wavelength",
    "Average Fried Parameter",
    "Primary Proposal ID",
    "Dataset Size",
    "Embargoed",
)


def _column_name(key: str) -> str:
    from dkist.utils.inventory import INVENTORY_KEY_MAP

    return INVENTORY_KEY_MAP[key] if key in INVENTORY_KEY_MAP else key


def _cell(value) -> Any:
    if value is None:
        return float("nan")
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return float(value) if isinstance(value, float) else value
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return str(value)


#: Record keys the API answers with numbers (dkist's test payloads and the API docs);
#: anything else there (a string, a list, ``true``) is shown blank and counted.
NUMERIC_KEYS = frozenset(
    {
        "wavelengthMin",
        "wavelengthMax",
        "qualityAverageFriedParameter",
        "datasetSize",
        "frameCount",
        "exposureTime",
        "averageDatasetSpectralSampling",
        "averageDatasetSpatialSampling",
        "averageDatasetTemporalSampling",
        "qualityAveragePolarimetricAccuracy",
    }
)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def non_numbers(records: Iterable[Mapping]) -> int:
    """How many values in :data:`NUMERIC_KEYS` are present, not null, and not numbers."""
    return sum(
        1
        for record in records
        for key in NUMERIC_KEYS
        if record.get(key) is not None and not _is_number(record.get(key))
    )


def rows_from_records(records: Iterable[Mapping]) -> tuple[list[dict], list[str]]:
    """(rows keyed by dkist column names, every column name in first-seen order).

    A value that should be a number (:data:`NUMERIC_KEYS`) but is not becomes NaN
    (blank), so a malformed answer cannot put text into a numeric column.
    """
    rows: list[dict] = []
    columns: dict[str, None] = {c: None for c in DEFAULT_COLUMNS}
    for position, record in enumerate(records):
        row: dict[str, Any] = {}
        for key, value in record.items():
            if key in NUMERIC_KEYS and value is not None and not _is_number(value):
                value = None
            row[_column_name(key)] = _cell(value)
        row["Dataset ID"] = row_id(record, position)
        lo, hi = record.get("wavelengthMin"), record.get("wavelengthMax")
        if _is_number(lo) and _is_number(hi):
            row["Wavelength"] = f"{float(lo):.2f}-{float(hi):.2f}"
        for name in row:
            columns.setdefault(name, None)
        rows.append(row)
    names = [c for c in columns if any(c in r for r in rows)] if rows else []
    for row in rows:
        for name in names:
            row.setdefault(name, float("nan"))
    return rows, names


@dataclass
class SearchResult:
    """One page of a search: the records, the total the API counts, and what was asked."""

    records: list[dict]
    total: int
    request: SearchRequest | None = None
    url: str = ""
    seconds: float = 0.0
    from_table: bool = False
    _rows: tuple[list[dict], list[str]] | None = field(default=None, repr=False)

    @property
    def shown(self) -> int:
        return len(self.records)

    @property
    def page(self) -> int:
        return self.request.page if self.request else 1

    @property
    def page_size(self) -> int:
        return self.request.page_size if self.request else max(len(self.records), 1)

    @property
    def n_pages(self) -> int:
        return max(1, math.ceil(self.total / self.page_size)) if self.total else 1

    @property
    def first_index(self) -> int:
        """0-based index of the first record of this page among all results."""
        return (self.page - 1) * self.page_size

    def _build(self):
        if self._rows is None:
            self._rows = rows_from_records(self.records)
        return self._rows

    @property
    def rows(self) -> list[dict]:
        return self._build()[0]

    @property
    def columns(self) -> list[str]:
        return self._build()[1]

    def record(self, dataset_id: str) -> dict | None:
        """The record with this row id (its ``datasetId`` or its placeholder)."""
        for position, record in enumerate(self.records):
            if row_id(record, position) == str(dataset_id):
                return record
        return None

    def row_ids(self) -> list[str]:
        return [row_id(r, i) for i, r in enumerate(self.records)]

    def damaged(self) -> list[str]:
        """One line per record with a missing, empty or wrong-typed field an action needs."""
        out = []
        for ident, record in zip(self.row_ids(), self.records, strict=True):
            problems = record_problems(record)
            if problems:
                out.append(f"{ident}: " + ", ".join(f"{k} is {v}" for k, v in problems.items()))
        return out

    def summary(self) -> str:
        if not self.total and not self.records:
            return "No dataset matches."
        if self.from_table:
            extra = f" of {self.total:,} available" if self.total > self.shown else ""
            return f"Showing {self.shown:,}{extra} results (from a result table)."
        first = self.first_index + 1 if self.records else 0
        last = self.first_index + self.shown
        bad = non_numbers(self.records)
        damaged = (
            f" {bad:,} value{'s' if bad != 1 else ''} that should be numbers "
            f"{'were' if bad != 1 else 'was'} not and {'are' if bad != 1 else 'is'} left blank."
            if bad
            else ""
        )
        return f"Showing {first:,}-{last:,} of {self.total:,} datasets (page {self.page} of {self.n_pages}).{damaged}"

    def table(self):
        """dkist's own ``DKISTQueryResponseTable`` for these records."""
        from dkist.net.client import DKISTClient, DKISTQueryResponseTable

        doc = {"recordCount": self.total, "searchResults": self.records}
        table = DKISTQueryResponseTable.from_results([doc], client=DKISTClient())
        table.display_keys = table._core_keys
        return table


def records_from_table(table) -> list[dict]:
    """Records (API keys) back from a ``DKISTQueryResponseTable`` (Fido results a user holds)."""
    import numpy as np
    from astropy.time import Time
    from astropy.units import Quantity
    from dkist.utils.inventory import INVENTORY_KEY_MAP

    reverse = {v: k for k, v in INVENTORY_KEY_MAP.items()}
    records = []
    for row in table:
        record: dict[str, Any] = {}
        for name in table.colnames:
            value = row[name]
            if name == "Wavelength":
                lo, hi = Quantity(value).to_value("nm")
                record["wavelengthMin"], record["wavelengthMax"] = float(lo), float(hi)
                continue
            key = reverse.get(name, name)
            if isinstance(value, Time):
                value = value.copy()
                value.precision = 6
                value = value.isot
            elif isinstance(value, Quantity):  # a scalar, or a list such as "Filter Wavelengths"
                value = float(value.value) if value.isscalar else np.asarray(value.value).tolist()
            elif isinstance(value, np.ndarray):
                value = value.tolist()
            elif isinstance(value, np.generic):
                value = value.item()
            if isinstance(value, float) and math.isnan(value):
                value = None
            record[key] = value
        records.append(record)
    return records


def _dkist_tables(res) -> list:
    from dkist.net.client import DKISTQueryResponseTable

    if isinstance(res, DKISTQueryResponseTable):
        return [res]
    tables = []
    for table in getattr(res, "_list", None) or (list(res) if hasattr(res, "__iter__") else []):
        if isinstance(table, DKISTQueryResponseTable):
            tables.append(table)
    if not tables:
        raise TypeError(f"SearchPanel.from_results needs Fido results holding DKIST tables (got {type(res).__name__})")
    return tables


def result_from_fido(res) -> SearchResult:
    """A :class:`SearchResult` of the DKIST tables in Fido results a user holds
    (``UnifiedResponse`` or a ``DKISTQueryResponseTable``); TypeError for anything else.

    The total is the tables' ``total_available_results`` (or their length) summed.
    """
    records, total = [], 0
    for table in _dkist_tables(res):
        if len(table.colnames):
            records += records_from_table(table)
        total += int(getattr(table, "total_available_results", 0) or len(table))
    return SearchResult(records=records, total=max(total, len(records)), from_table=True)
