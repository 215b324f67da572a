"""A DKIST header table kept compact, each column read from the ASDF when first asked for.

``dkist.load_dataset`` builds the whole header table at once: every column inflated
from its block, text as 4-byte characters as wide as the widest value (3.6 GB at a
million frames, 3.1 GB of it text, 47 of 54 text columns identical in every frame).
:class:`HeaderColumns` reads a column's block only when the column is asked for and
keeps it compact:

* a text column whose values are all equal is kept as one value (a read-only,
  stride-0 view of it is what callers see);
* other text is kept as 1-byte characters when it is ASCII (astropy returns ``str``
  for the elements of a bytes column, and ``astype(str)`` decodes it), else as is;
* numbers and booleans stay numpy arrays of the file's type; masks stay masks.

It answers the parts of the astropy ``Table`` API the panels use (``colnames``,
``len``, ``table[key]`` -> an astropy ``Column``/``MaskedColumn`` over the compact
values, ``table[i]`` -> that row, read key by key, ``add_column``/``replace_column``
for derived columns such as ``PIX_*``). :meth:`HeaderColumns.to_table` builds the
table ``dkist.load_dataset`` would have built (same column order, dtypes, units,
descriptions, masks, metadata), plus any added columns; that is what ``ds.headers``
returns (see :mod:`.lazy_meta`).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .asdf_text import UnusualLayout
from .blocks import BlockFile

__all__ = ["HeaderColumns", "ColumnSpec"]

_PIECE_BYTES = 1 << 22  # a text column is inflated and made compact this many bytes at a time
_PREFIX_ROWS = 10_000  # rows up to which HeaderColumns.take inflates only a column's first bytes
_NOT_YET = object()  # HeaderColumns.derived: nothing computed for that entry yet


@dataclass
class ColumnSpec:
    """Where one column is and how to rebuild it as astropy would."""

    name: str
    source: int
    dtype: np.dtype
    length: int
    mask_source: int | None = None
    unit: Any = None
    description: str | None = None
    meta: dict = field(default_factory=dict)


def _dtype(node: dict) -> np.dtype:
    datatype = node["datatype"]
    order = {"big": ">", "little": "<"}.get(node.get("byteorder", "little"), "<")
    if isinstance(datatype, list):
        kind, width = datatype
        if kind == "ucs4":
            return np.dtype(f"{order}U{int(width)}")
        if kind == "ascii":
            return np.dtype(f"S{int(width)}")
        raise UnusualLayout(f"header column of type {datatype}")
    if datatype == "bool8":
        return np.dtype(bool)
    return np.dtype(datatype).newbyteorder(order)


def column_specs(table_node: dict) -> list[ColumnSpec]:
    """The specs of an untagged astropy table node (:func:`~.asdf_text.split_tree`)."""
    if table_node.get("qtable"):
        raise UnusualLayout("the header table is a QTable")
    specs = []
    for column in table_node["columns"]:
        if not isinstance(column, dict):
            raise UnusualLayout(f"a header column of a kind not read here ({type(column).__name__})")
        data = column.get("data")
        if not isinstance(data, dict) or not isinstance(data.get("source"), int):
            raise UnusualLayout(f"header column {column.get('name')!r} is not stored in a block")
        if data.get("offset", 0) or data.get("strides") or len(data.get("shape", ())) != 1:
            raise UnusualLayout(f"header column {column['name']!r} has an offset, strides or several dimensions")
        mask = data.get("mask")
        mask_source = None
        if mask is not None:
            if not isinstance(mask, dict) or not isinstance(mask.get("source"), int):
                raise UnusualLayout(f"header column {column['name']!r} has a mask that is not an array")
            mask_source = mask["source"]
        specs.append(
            ColumnSpec(
                name=str(column["name"]),
                source=data["source"],
                dtype=_dtype(data),
                length=int(data["shape"][0]),
                mask_source=mask_source,
                unit=column.get("unit"),
                description=column.get("description"),
                meta=dict(column.get("meta") or {}),
            )
        )
    names = [s.name for s in specs]
    if list(table_node.get("colnames", names)) != names:
        raise UnusualLayout("the header table's colnames differ from its columns")
    if len({s.length for s in specs}) > 1:
        raise UnusualLayout("header columns of different lengths")
    return specs


class _Constant:
    """A text column whose every value is ``value`` (kept once)."""

    def __init__(self, value: np.ndarray, length: int):
        self.value = value  # 0-d array of the file's dtype
        self.length = length

    def view(self) -> np.ndarray:
        return np.broadcast_to(self.value, (self.length,))


class HeaderColumns:
    """Header columns of one dataset, read from its ASDF blocks on first use (thread-safe)."""

    def __init__(self, blocks: BlockFile, specs: list[ColumnSpec], table_meta: dict | None = None):
        self._blocks = blocks
        self._specs = {s.name: s for s in specs}
        self._order = [s.name for s in specs]
        self._table_meta = dict(table_meta or {})
        self._values: dict[str, Any] = {}  # name -> ndarray | _Constant
        self._masks: dict[str, np.ndarray | None] = {}
        self._added: dict[str, Any] = {}  # astropy columns added by panels
        self._lock = threading.Lock()
        self._derived: dict[tuple[str, str], Any] = {}  # (key, what) -> computed from that column
        self._derived_locks: dict[tuple[str, str], threading.Lock] = {}
        self._table = None
        self._length = specs[0].length if specs else 0
        for spec in specs:
            for source in (spec.source, spec.mask_source):
                if source is not None and not 0 <= source < len(blocks):
                    raise UnusualLayout(
                        f"header column {spec.name!r} refers to block {source}, the file has {len(blocks)}"
                    )

    # ---------------------------------------------------------------- table-like API

    @property
    def colnames(self) -> list[str]:
        return self._order + [n for n in self._added if n not in self._specs]

    def __len__(self) -> int:
        return self._length

    def __contains__(self, key) -> bool:
        return key in self._specs or key in self._added

    def keys(self) -> list[str]:
        return self.colnames

    def __getitem__(self, key):
        if isinstance(key, str):
            return self.column(key)
        if isinstance(key, (int, np.integer)):
            index = int(key)
            if not -self._length <= index < self._length:
                raise IndexError(f"row {index} out of range for {self._length} rows")
            return _Row(self, index % self._length)
        raise TypeError("index the header columns by key (str) or row (int); use to_table() for more")

    def column(self, key: str):
        """An astropy ``Column`` (``MaskedColumn`` when masked) over the compact values of ``key``."""
        from astropy.table import Column, MaskedColumn

        if key in self._added:
            return self._added[key]
        spec = self._specs.get(key)
        if spec is None:
            raise KeyError(key)
        values, mask = self.arrays(key)
        kwargs = dict(name=key, unit=spec.unit, description=spec.description, meta=dict(spec.meta), copy=False)
        if mask is not None:
            return MaskedColumn(values, mask=mask, **kwargs)
        return Column(values, **kwargs)

    def arrays(self, key: str) -> tuple[np.ndarray, np.ndarray | None]:
        """``(values, mask or None)`` of ``key`` as compact read-only numpy arrays."""
        if key in self._added:
            col = self._added[key]
            return np.asarray(np.ma.getdata(col)), (np.ma.getmaskarray(col) if np.ma.is_masked(col) else None)
        with self._lock:
            if key not in self._values:
                self._load(self._specs[key])
            stored = self._values[key]
            mask = self._masks[key]
        return (stored.view() if isinstance(stored, _Constant) else stored), mask

    def dtype_of(self, key: str) -> np.dtype:
        """The dtype of ``key`` in ``ds.headers`` (the file's), without reading the column."""
        if key in self._added:
            return np.asarray(self._added[key][:0]).dtype
        return self._specs[key].dtype.newbyteorder("=")

    def value(self, key: str, row: int):
        """One value, as the column would give it (``np.ma.masked`` where masked)."""
        return self.column(key)[row]

    def is_loaded(self, key: str) -> bool:
        return key in self._values or key in self._added

    def derived(self, key: str, what: str, compute):
        """``compute()``, a value computed from column ``key`` only (e.g. its parsed times),
        computed once per column: a second caller, in any thread, waits for the first and
        gets the same object. Forgotten when ``key`` is replaced (:meth:`replace_column`)."""
        entry = (key, what)
        found = self._derived.get(entry, _NOT_YET)
        if found is not _NOT_YET:
            return found
        with self._lock:
            lock = self._derived_locks.setdefault(entry, threading.Lock())
        with lock:
            if entry not in self._derived:
                self._derived[entry] = compute()
            return self._derived[entry]

    def has_derived(self, key: str, what: str) -> bool:
        return (key, what) in self._derived

    def add_column(self, column, name: str | None = None) -> None:
        name = name or column.info.name
        if name in self:
            raise ValueError(f"column {name!r} already exists")
        self._set_added(name, column)

    def replace_column(self, name: str, column) -> None:
        if name not in self:
            raise KeyError(name)
        self._set_added(name, column)

    def _set_added(self, name: str, column) -> None:
        if len(column) != self._length:
            raise ValueError(f"column {name!r} has {len(column)} rows, the table {self._length}")
        column.info.name = name
        self._added[name] = column
        for entry in [e for e in self._derived if e[0] == name]:
            del self._derived[entry]
        table = self._table
        if table is not None:  # keep ds.headers in step once it exists
            if name in table.colnames:
                table.replace_column(name, column)
            else:
                table.add_column(column)

    # ---------------------------------------------------------------- memory

    def nbytes(self) -> int:
        """Bytes held by the columns read so far."""
        total = 0
        for stored in self._values.values():
            total += stored.value.nbytes if isinstance(stored, _Constant) else stored.nbytes
        return total + sum(m.nbytes for m in self._masks.values() if m is not None)

    # ---------------------------------------------------------------- the full table

    def to_table(self):
        """The astropy ``Table`` ``dkist.load_dataset`` builds (built once, then the same object)."""
        from astropy.table import Column, MaskedColumn, Table

        with self._lock:
            if self._table is not None:
                return self._table
        columns = []
        for name in self._order:
            spec = self._specs[name]
            if name in self._added:
                columns.append(self._added[name])
                continue
            values, mask = self.arrays(name)
            values = np.array(values, dtype=spec.dtype.newbyteorder("="))  # writable, full width, as dkist
            kwargs = dict(name=name, unit=spec.unit, description=spec.description, meta=dict(spec.meta), copy=False)
            columns.append(
                MaskedColumn(values, mask=mask.copy(), **kwargs) if mask is not None else Column(values, **kwargs)
            )
        table = Table(columns, meta=dict(self._table_meta), copy=False)
        for name, column in self._added.items():
            if name not in self._specs:
                table.add_column(column)
        with self._lock:
            if self._table is None:
                self._table = table
            return self._table

    # ---------------------------------------------------------------- reading

    def _read(self, source: int, dtype: np.dtype, length: int) -> np.ndarray:
        raw = self._blocks.read(source)
        if len(raw) < dtype.itemsize * length:
            raise UnusualLayout(f"block {source} holds {len(raw)} bytes, fewer than {length} x {dtype}")
        return np.frombuffer(raw, dtype=dtype, count=length)

    def _read_rows(self, source: int, dtype: np.dtype, n_rows: int) -> np.ndarray:
        """The first ``n_rows`` values of a block (only that much of it inflated)."""
        raw = self._blocks.read_prefix(source, dtype.itemsize * n_rows)
        if len(raw) < dtype.itemsize * n_rows:
            raise UnusualLayout(f"block {source} holds {len(raw)} bytes, fewer than {n_rows} x {dtype}")
        return np.frombuffer(raw, dtype=dtype, count=n_rows)

    def _load(self, spec: ColumnSpec) -> None:
        mask = None
        if spec.mask_source is not None:
            mask = self._read(spec.mask_source, np.dtype(bool), spec.length).copy()
            mask.flags.writeable = False
        if spec.dtype.kind == "U":
            self._values[spec.name] = self._load_text(spec)
            self._masks[spec.name] = mask
            return
        values = self._read(spec.source, spec.dtype, spec.length)
        if values.dtype.kind == "S" and values.size and (values == values[0]).all():
            self._values[spec.name] = _Constant(np.array(values[0], dtype=spec.dtype.newbyteorder("=")), spec.length)
        else:
            values = values.astype(values.dtype.newbyteorder("="), copy=True)
            values.flags.writeable = False
            self._values[spec.name] = values
        self._masks[spec.name] = mask

    def _load_text(self, spec: ColumnSpec):
        """A 4-byte text column, inflated piece by piece and made compact as it comes:
        one value (:class:`_Constant`) when all are equal, else 1-byte text when ASCII."""
        dtype = spec.dtype
        native = dtype.newbyteorder("=")
        length = spec.length
        out = None  # 1-byte text, allocated once a value differs from the first
        first = None
        row = 0
        rows_per_piece = max(1, _PIECE_BYTES // max(1, dtype.itemsize))
        for piece in self._blocks.iter_read(spec.source, rows_per_piece * dtype.itemsize, stop=dtype.itemsize * length):
            values = np.frombuffer(piece, dtype=dtype).astype(native, copy=False)
            n = values.size
            if first is None and n:
                first = np.array(values[0], dtype=native)
            if out is None and n and (values == first).all():
                row += n
                continue
            compact = _ascii_bytes(values)
            head = _ascii_bytes(first.reshape(1)) if out is None else None
            if compact.dtype.kind != "S" or (head is not None and head.dtype.kind != "S"):
                return self._read_text_whole(spec)  # not ASCII: kept as 4-byte text
            if out is None:
                out = np.empty(length, dtype=compact.dtype)
                out[:row] = head[0]
            out[row : row + n] = compact
            row += n
        if row < length:
            raise UnusualLayout(f"block {spec.source} holds {row} values, fewer than {length}")
        if out is None:
            if first is None:
                values = np.zeros(0, dtype=native)
                values.flags.writeable = False
                return values
            return _Constant(first, length)
        out.flags.writeable = False
        return out

    def _read_text_whole(self, spec: ColumnSpec) -> np.ndarray:
        values = self._read(spec.source, spec.dtype, spec.length).astype(spec.dtype.newbyteorder("="), copy=True)
        values.flags.writeable = False
        return values

    # ---------------------------------------------------------------- rows without the whole column

    def take(self, key: str, rows) -> tuple[np.ndarray, np.ndarray]:
        """``(values, mask)`` of ``key`` at ``rows`` (ints; mask all False where unmasked).

        A column not read yet whose rows are all near the top (the table's first window)
        is not read whole: only the blocks' first bytes up to the last row asked for are
        inflated. Values are the file's (4-byte text stays 4-byte; ``astype(str)`` gives
        the same strings as the compact column).
        """
        rows = np.asarray(rows, dtype=np.int64).ravel()
        if rows.size and (rows.min() < 0 or rows.max() >= self._length):
            raise IndexError(f"rows out of range for {self._length} rows")
        spec = self._specs.get(key)
        if spec is None and key not in self._added:
            raise KeyError(key)
        n_rows = int(rows.max()) + 1 if rows.size else 0
        if key in self._added or self.is_loaded(key) or n_rows > max(_PREFIX_ROWS, self._length // 8):
            values, mask = self.arrays(key)
            return values[rows], (mask[rows] if mask is not None else np.zeros(rows.size, dtype=bool))
        values = self._read_rows(spec.source, spec.dtype, n_rows).astype(spec.dtype.newbyteorder("="))
        mask = np.zeros(rows.size, dtype=bool)
        if spec.mask_source is not None:
            mask = self._read_rows(spec.mask_source, np.dtype(bool), n_rows)[rows].copy()
        return values[rows], mask

    def has_masked(self, key: str) -> bool:
        """Whether any value of ``key`` is masked (reads the mask only, not the values)."""
        if key in self._added or self.is_loaded(key):
            mask = self.arrays(key)[1]
            return bool(mask is not None and np.any(mask))
        spec = self._specs[key]
        if spec.mask_source is None:
            return False
        return bool(self._read(spec.mask_source, np.dtype(bool), spec.length).any())


def _ascii_bytes(values: np.ndarray) -> np.ndarray:
    """4-byte text as 1-byte text when every character is ASCII (else native-order 4-byte text).

    Done on the code points (a ``uint32`` view), ~5x faster than ``astype("S")``; trailing
    NULs, which numpy strips from both kinds, stay trailing NULs.
    """
    native = values.astype(values.dtype.newbyteorder("="), copy=False)
    width = native.dtype.itemsize // 4
    if width == 0 or native.size == 0:
        return native.copy()
    points = native.view(np.uint32).reshape(native.size, width)
    if (points >= 128).any():
        return native.copy()
    return points.astype(np.uint8).view(f"S{width}").reshape(native.shape)


class _Row:
    """One header row; each value is read (its column loaded) when asked for."""

    def __init__(self, columns: HeaderColumns, index: int):
        self._columns = columns
        self.index = index

    @property
    def colnames(self) -> list[str]:
        return self._columns.colnames

    def keys(self) -> list[str]:
        return self._columns.colnames

    def __getitem__(self, key: str):
        return self._columns.value(key, self.index)

    def __contains__(self, key) -> bool:
        return key in self._columns

    def __iter__(self):
        return (self[k] for k in self.colnames)

    def __len__(self) -> int:
        return len(self.colnames)
