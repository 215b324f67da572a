"""Columnar access to a dataset's header table, and selection algebra on frame ids.

Everything the header explorer computes lives here, with no widgets, so it can be
tested and benchmarked on a plain astropy ``Table`` of a million rows:

* **Columns as numpy.** :meth:`HeaderTable.numeric` gives a key as ``float64`` with
  ``NaN`` where the value is masked (a ``MaskedColumn``), NaN already, or not
  parseable; ``True``/``False`` become 1/0. Results are cached per key (the table
  is read-only for the explorer).
* **Time axis.** ``DATE-AVG``, else ``DATE-BEG``, else the frame number, with a
  message saying which and why (:class:`TimeAxis`). Times are parsed by numpy
  (``datetime64[us]``, ~0.8 s per million ISO strings); values are seconds since
  the earliest time, so selections are plain float intervals.
* **Stokes grouping** (:class:`StokesGroups`): the Stokes axis of the file grid when
  the caller knows it (``stokes_axis``), else ``DINDEX4`` for VISP (1-based in real
  data, 0-based from the data simulator: a column whose smallest value is 0 is read
  as 0-based), else one group. Index 0..3 name I, Q, U, V.
* **Selections are frame ids** (sorted unique ``int64``): header rows, i.e. C-order
  positions in ``ds.files.fileuri_array``. Intervals on the x axis, thresholds on a
  key, AND/OR, complement, the longest good run (longest stretch of consecutive
  frames *in time order* that all meet the criteria, the workshop's "slice up to the
  first bad frame"), and expansion to every Stokes state at the chosen time slots.
* **Decimation** for plotting (:func:`decimate_minmax`): the x range is cut into
  ``n_bins`` equal bins; each bin contributes its minimum and maximum (so spikes and
  dips survive at any zoom-out), a NaN when the bin holds masked values (the gap
  stays visible) and a NaN for an empty bin (real gaps in time are not bridged). At
  most ``3 * n_bins`` points per series, whatever the dataset size; series shorter
  than ``2 * n_bins`` are sent as they are, exact.
* **Key catalogue** (:func:`key_catalogue`, re-exported from :mod:`.key_catalogue`):
  meaning and unit of every SPEC-0214 key.
* **Shared per dataset** (:func:`shared_header_table`): one ``HeaderTable`` per dataset
  for every panel; its parsed times, numeric columns, series and decimations
  (:meth:`HeaderTable.decimated`) are computed once. For a dataset opened lazily the
  headers are :class:`~dkist_widgets.core.lazy_open.HeaderColumns`: only the columns
  used are read, text is 1-byte, and times are parsed from it directly.
* **Grid rows** (:meth:`HeaderTable.rows`): the table's own columns as the rows of a
  windowed grid that sorts and filters in the kernel and sends only the visible rows:
  a window reads only its rows (a lazily held column not read yet is inflated only
  up to them), a sort is the column's stable order, computed once per key and
  direction per dataset (:meth:`HeaderTable.sort_order`), a filter is a mask over the
  column. :meth:`HeaderTable.frame_table` gives the same values as a pandas DataFrame.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from .key_catalogue import KeyInfo, catalogue_problem, describe_key, key_catalogue  # re-exported
from .table_view import FrameColumns, stable_order

__all__ = [
    "HeaderTable",
    "HeaderRows",
    "shared_header_table",
    "read_ahead",
    "read_plot_columns_ahead",
    "time_values",
    "plot_keys",
    "TimeAxis",
    "StokesGroups",
    "KeyInfo",
    "MissingKeyError",
    "decimate_minmax",
    "longest_true_run",
    "key_catalogue",
    "describe_key",
    "catalogue_problem",
    "STOKES_NAMES",
    "R0_KEY",
    "FRAME_COLUMN",
]

STOKES_NAMES = ("I", "Q", "U", "V")
R0_KEY = "ATMOS_R0"
#: Name of the stable frame-id column in grid rows.
FRAME_COLUMN = "frame"
TIME_KEYS = ("DATE-AVG", "DATE-BEG")


class MissingKeyError(KeyError):
    """A header key the caller asked for is not in this dataset's headers."""

    def __str__(self) -> str:  # KeyError would print the repr of the message
        return str(self.args[0]) if self.args else "missing key"


# ---------------------------------------------------------------------------- axes


@dataclass(frozen=True)
class TimeAxis:
    """The x axis of every frame.

    ``values`` are float64 seconds since ``origin`` (``source`` a date key) or the
    frame id (``source == "frame"``); NaN where a date is missing or unparseable.
    """

    values: np.ndarray
    source: str
    origin: np.datetime64 | None = None
    message: str = ""

    @property
    def is_time(self) -> bool:
        return self.source != "frame"

    @cached_property
    def order(self) -> np.ndarray:
        """Frame ids in time order (stable: ties keep frame order; NaN last)."""
        return np.argsort(self.values, kind="stable")

    def to_axis(self, value) -> float:
        """An x value given as seconds/frame number, ISO string, ``datetime64``,
        ``datetime`` or astropy ``Time`` -> float on this axis."""
        if value is None:
            raise ValueError("an interval bound is None")
        if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
            return float(value)
        if not self.is_time:
            raise ValueError(f"the x axis is the frame number ({self.message}); give numbers, not {value!r}")
        if hasattr(value, "isot") and hasattr(value, "jd"):  # astropy Time
            value = value.isot
        if isinstance(value, str):
            value = value.strip().rstrip("Z")
        moment = np.datetime64(value, "us")
        if np.isnat(moment):
            raise ValueError(f"not a time: {value!r}")
        return float((moment - self.origin) / np.timedelta64(1, "us")) / 1e6

    def to_datetime(self, values) -> np.ndarray:
        """Axis values (seconds since origin) -> ``datetime64[us]`` (NaN -> NaT)."""
        values = np.asarray(values, dtype=float)
        out = np.full(values.shape, np.datetime64("NaT"), dtype="datetime64[us]")
        ok = np.isfinite(values)
        out[ok] = self.origin + np.round(values[ok] * 1e6).astype(np.int64).astype("timedelta64[us]")
        return out


@dataclass(frozen=True)
class StokesGroups:
    """Stokes state of every frame: ``codes[i]`` indexes ``names``."""

    codes: np.ndarray
    names: tuple[str, ...]
    source: str
    message: str = ""

    def frames(self, stokes=None) -> np.ndarray:
        """Frame ids whose Stokes state is in ``stokes`` (names or indices; None: all)."""
        if stokes is None:
            return np.arange(self.codes.size, dtype=np.int64)
        wanted = self.codes_of(stokes)
        return np.flatnonzero(np.isin(self.codes, wanted)).astype(np.int64)

    def codes_of(self, stokes) -> np.ndarray:
        if isinstance(stokes, (str, int, np.integer)):
            stokes = [stokes]
        out = []
        for s in stokes:
            if isinstance(s, (int, np.integer)):
                if not 0 <= s < len(self.names):
                    raise ValueError(f"Stokes index {s} out of range 0..{len(self.names) - 1}")
                out.append(int(s))
            elif str(s) in self.names:
                out.append(self.names.index(str(s)))
            else:
                raise ValueError(
                    f"unknown Stokes state {s!r}: this dataset has {', '.join(self.names)} ({self.source})"
                )
        return np.asarray(out, dtype=np.int64)


# ---------------------------------------------------------------------------- table


class HeaderTable:
    """Read-only columnar view of a header table whose rows are frames.

    Parameters
    ----------
    headers
        An astropy ``Table`` (or anything with ``colnames`` and ``__getitem__`` giving
        columns), one row per frame.
    grid_shape
        ``ds.files.fileuri_array.shape``, when known (for Stokes grouping by the grid
        and for expanding a selection to every Stokes state).
    stokes_axis
        Which axis of ``grid_shape`` is the Stokes axis, when there is one.
    instrument
        Instrument name; ``DINDEX4`` is read as the Stokes index only for VISP.
        Default: the table's ``INSTRUME`` column.
    """

    def __init__(
        self,
        headers,
        *,
        grid_shape: Sequence[int] | None = None,
        stokes_axis: int | None = None,
        instrument: str | None = None,
    ):
        if headers is None:
            raise ValueError("this dataset carries no header table")
        self.headers = headers
        self.keys: list[str] = [str(k) for k in headers.colnames]
        self.n_frames = len(headers)
        self.grid_shape = tuple(int(n) for n in grid_shape) if grid_shape is not None else None
        if self.grid_shape is not None and int(np.prod(self.grid_shape)) != self.n_frames:
            self.grid_shape = None  # the headers do not match the file grid: ignore it
            stokes_axis = None
        self.stokes_axis = stokes_axis
        self._key_set = set(self.keys)
        self._numeric: dict[str, np.ndarray] = {}
        self._derived: dict[tuple, Any] = {}  # cached series, decimations, sort orders
        if instrument is None and "INSTRUME" in self.keys and self.n_frames:
            instrument = str(self.column_text("INSTRUME", [0])[0])  # row 0 only: not the whole column
        self.instrument = (instrument or "").strip()

    def __len__(self) -> int:
        return self.n_frames

    def has(self, key: str) -> bool:
        return key in self._key_set

    def require(self, key: str) -> None:
        if key not in self._key_set:
            close = [k for k in self.keys if key.upper().replace("_", "") in k.upper().replace("_", "")][:5]
            hint = f" (similar: {', '.join(close)})" if close else ""
            raise MissingKeyError(f"header key {key!r} is not in this dataset's headers{hint}")

    # -- columns ------------------------------------------------------------------

    def is_numeric(self, key: str) -> bool:
        """Whether ``key`` holds numbers or booleans (plottable, thresholdable)."""
        if key not in self._key_set:
            return False
        return self._kind(key) in "biuf"

    def _kind(self, key: str) -> str:
        """The numpy dtype kind of ``key``, without reading a lazily held column."""
        dtype_of = getattr(self.headers, "dtype_of", None)
        if dtype_of is not None:
            return dtype_of(key).kind
        return np.asarray(self.headers[key][:0]).dtype.kind

    @cached_property
    def numeric_keys(self) -> list[str]:
        return [k for k in self.keys if self.is_numeric(k)]

    def numeric(self, key: str) -> np.ndarray:
        """``key`` as float64 per frame, NaN where masked/missing (cached, read-only)."""
        cached = self._numeric.get(key)
        if cached is not None:
            return cached
        self.require(key)
        values = _to_float(key, *_column_arrays(self.headers[key]))
        values.flags.writeable = False
        self._numeric[key] = values
        return values

    def numeric_at(self, key: str, frame_ids) -> np.ndarray:
        """``numeric(key)[frame_ids]``, without reading the whole column when it is held
        lazily and not read yet (a table window's rows)."""
        cached = self._numeric.get(key)
        ids = self._positions(frame_ids)
        if cached is not None or ids.size > self.n_frames // 8:
            return self.numeric(key)[ids]
        self.require(key)
        return _to_float(key, *self._arrays_at(key, ids))

    def has_missing(self, key: str) -> bool:
        """Whether some frame has no value of numeric ``key`` (masked, NaN or unparseable).

        For integer and boolean columns only the mask is read (no value can be NaN).
        """
        cache_key = ("has_missing", key)
        found = self._derived.get(cache_key)
        if found is None:
            has_masked = getattr(self.headers, "has_masked", None)
            if key not in self._numeric and self._kind(key) in "biu":  # no NaN: missing = masked
                found = has_masked(key) if has_masked is not None else bool(_column_arrays(self.headers[key])[1].any())
            else:
                found = not bool(np.isfinite(self.numeric(key)).all())
            self._derived[cache_key] = found
        return found

    def median(self, key: str) -> float | None:
        """Median of the finite values of ``key`` (None without one), computed once."""
        cache_key = ("median", key)
        if cache_key not in self._derived:
            values = self.numeric(key)
            finite = values[np.isfinite(values)]
            self._derived[cache_key] = float(np.median(finite)) if finite.size else None
        return self._derived[cache_key]

    def _positions(self, frame_ids) -> np.ndarray:
        """Frame ids as int64 positions (a boolean mask -> its ids; negative ids count from the end)."""
        ids = np.asarray(frame_ids)
        if ids.dtype == bool:
            return np.flatnonzero(ids).astype(np.int64)
        ids = ids.astype(np.int64, copy=False)
        return np.where(ids < 0, ids + self.n_frames, ids) if ids.size and ids.min() < 0 else ids

    def _arrays_at(self, key: str, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(data, mask)`` of ``key`` at ``ids``; a lazily held column answers from its
        first rows without being read whole (``HeaderColumns.take``)."""
        take = getattr(self.headers, "take", None)
        if take is not None:
            return take(key, ids)
        data, mask = _column_arrays(self.headers[key])
        return data[ids], mask[ids]

    def valid(self, key: str) -> np.ndarray:
        """Boolean per frame: ``key`` has a finite value."""
        return np.isfinite(self.numeric(key))

    def column_text(self, key: str, frame_ids=None) -> np.ndarray:
        """``key`` as strings (masked -> ``""``), for display."""
        self.require(key)
        if frame_ids is None:
            data, mask = _column_arrays(self.headers[key])
        else:
            data, mask = self._arrays_at(key, self._positions(frame_ids))
        out = data.astype(str)
        out[mask] = ""
        return out

    # -- axes ---------------------------------------------------------------------

    @cached_property
    def time(self) -> TimeAxis:
        """The time axis (``DATE-AVG`` > ``DATE-BEG`` > frame number)."""
        problems = []
        for key in TIME_KEYS:
            if key not in self._key_set:
                problems.append(f"{key} is absent")
                continue
            values, origin, n_unreadable = time_values(self.headers, key)
            if values is None:
                problems.append(f"{key} holds no readable time")
                continue
            message = "; ".join(problems)
            if n_unreadable:
                message = "; ".join(filter(None, [message, f"{n_unreadable} frames have no readable {key}"]))
            return TimeAxis(values=values, source=key, origin=origin, message=message)
        problems.append("frames are placed by frame number")
        return TimeAxis(values=np.arange(self.n_frames, dtype=np.float64), source="frame", message="; ".join(problems))

    @cached_property
    def frame_axis(self) -> TimeAxis:
        """The frame number as an x axis."""
        return TimeAxis(values=np.arange(self.n_frames, dtype=np.float64), source="frame", message="")

    def x_range(self, x: str = "time") -> tuple[float, float]:
        """Smallest and largest finite value on axis ``x`` (``(0, 1)`` without one), computed once."""
        cache_key = ("x_range", x)
        if cache_key not in self._derived:
            values = self.axis(x).values
            finite = values[np.isfinite(values)]
            self._derived[cache_key] = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        return self._derived[cache_key]

    def axis(self, x: str = "time") -> TimeAxis:
        if x == "time":
            return self.time
        if x == "frame":
            return self.frame_axis
        raise ValueError(f"x axis must be 'time' or 'frame', not {x!r}")

    @cached_property
    def stokes(self) -> StokesGroups:
        """Stokes state of every frame (see the module docstring for the rules)."""
        n = self.n_frames
        if self.stokes_axis is not None and self.grid_shape is not None:
            size = self.grid_shape[self.stokes_axis]
            after = int(np.prod(self.grid_shape[self.stokes_axis + 1 :], dtype=np.int64))
            codes = ((np.arange(n, dtype=np.int64) // after) % size).astype(np.int8)  # C-order index on that axis
            return StokesGroups(
                codes=codes, names=_stokes_names(size), source=f"Stokes axis {self.stokes_axis} of the file grid"
            )
        if "DINDEX4" in self._key_set and self.instrument.upper() == "VISP":
            raw = self.numeric("DINDEX4")
            if np.isfinite(raw).all() and n:
                base = 0 if raw.min() == 0 else 1
                codes = (raw - base).astype(np.int64)
                if codes.min() >= 0 and codes.max() < 16:
                    message = "" if base == 1 else "DINDEX4 is 0-based here (real DKIST data is 1-based)"
                    return StokesGroups(
                        codes=codes.astype(np.int8),
                        names=_stokes_names(int(codes.max()) + 1),
                        source="DINDEX4",
                        message=message,
                    )
            return StokesGroups(
                codes=np.zeros(n, dtype=np.int8),
                names=("all",),
                source="none",
                message="DINDEX4 is masked or out of range: Stokes states not told apart",
            )
        if self.instrument.upper() == "VISP":
            why = "no Stokes axis in the file grid and no DINDEX4"
        else:
            why = f"no Stokes axis in the file grid (DINDEX4 is the Stokes index only for VISP; this is {self.instrument or 'an unknown instrument'})"
        return StokesGroups(codes=np.zeros(n, dtype=np.int8), names=("all",), source="none", message=why)

    # -- selection algebra ---------------------------------------------------------------

    def all_frames(self) -> np.ndarray:
        return np.arange(self.n_frames, dtype=np.int64)

    def frames_in_intervals(self, intervals: Iterable[tuple[Any, Any]], *, x: str = "time", within=None) -> np.ndarray:
        """Frames whose x value lies in any closed interval ``(lo, hi)`` (bounds in any order)."""
        axis = self.axis(x)
        values = axis.values
        keep = np.zeros(self.n_frames, dtype=bool)
        for lo, hi in intervals:
            lo, hi = axis.to_axis(lo), axis.to_axis(hi)
            if lo > hi:
                lo, hi = hi, lo
            keep |= (values >= lo) & (values <= hi)
        return self._restrict(np.flatnonzero(keep), within)

    def frames_where(self, key: str, min=None, max=None, *, stokes=None, within=None) -> np.ndarray:
        """Frames with a valid ``key`` value in ``[min, max]`` (header units; None = open).

        Masked frames never meet a criterion. ``stokes``: names/indices to keep.
        """
        values = self.numeric(key)
        keep = np.isfinite(values)
        with np.errstate(invalid="ignore"):
            if min is not None:
                keep &= values >= float(min)
            if max is not None:
                keep &= values <= float(max)
        if stokes is not None:
            keep &= np.isin(self.stokes.codes, self.stokes.codes_of(stokes))
        return self._restrict(np.flatnonzero(keep), within)

    def complement(self, ids, *, within=None) -> np.ndarray:
        """Frames of ``within`` (default all) that are not in ``ids``."""
        keep = np.ones(self.n_frames, dtype=bool) if within is None else self._mask(within)
        keep[_ids(ids)] = False
        return np.flatnonzero(keep).astype(np.int64)

    def longest_run(self, ids, *, within=None) -> np.ndarray:
        """The longest run of frames, consecutive in time order among ``within``, all in ``ids``.

        ``within`` (default: every frame) is the sequence walked in time order, e.g. the
        Stokes I frames. Ties go to the earliest run; frames with no time sort last.
        """
        universe = self.all_frames() if within is None else _ids(within)
        if universe.size == 0:
            return np.zeros(0, dtype=np.int64)
        t = self.time.values[universe]
        walk = universe[np.argsort(t, kind="stable")]
        member = self._mask(ids)[walk]
        start, stop = longest_true_run(member)
        return np.sort(walk[start:stop])

    def expand_stokes(self, ids) -> np.ndarray:
        """Every frame at the same time slot as a frame in ``ids``, whatever its Stokes state.

        By the file grid when its Stokes axis is known (same position on every other
        axis), otherwise by equal time values.
        """
        ids = _ids(ids)
        if ids.size == 0:
            return ids
        if self.stokes_axis is not None and self.grid_shape is not None:
            # frame id = ((before * size) + s) * after + rest: move s, keep the rest
            size = self.grid_shape[self.stokes_axis]
            after = int(np.prod(self.grid_shape[self.stokes_axis + 1 :], dtype=np.int64))
            base = ids - ((ids // after) % size) * after
            keep = np.zeros(self.n_frames, dtype=bool)
            for s in range(size):
                keep[base + s * after] = True
            return np.flatnonzero(keep).astype(np.int64)
        if len(self.stokes.names) == 1:
            return ids
        t = self.time.values
        slots = np.unique(t[ids][np.isfinite(t[ids])])
        keep = np.isin(t, slots)
        keep[ids] = True
        return np.flatnonzero(keep).astype(np.int64)

    def _restrict(self, ids, within) -> np.ndarray:
        ids = np.asarray(ids, dtype=np.int64)
        if within is None:
            return ids
        return ids[self._mask(within)[ids]]

    def _mask(self, ids) -> np.ndarray:
        """Boolean per frame from frame ids (or a boolean mask)."""
        ids = np.asarray(ids)
        if ids.dtype == bool:
            return ids.copy()
        mask = np.zeros(self.n_frames, dtype=bool)
        mask[ids.astype(np.int64, copy=False)] = True
        return mask

    # -- spans and series ------------------------------------------------------------------

    def unlocked_spans(self, *, x: str = "time", within=None, min_gap: float = 0.0) -> np.ndarray:
        """``(n, 2)`` x ranges where ``AO_LOCK`` is false, in time order among ``within``.

        Spans closer than ``min_gap`` merge (so a million frames give at most a few
        hundred rectangles). Empty when ``AO_LOCK`` is absent.
        """
        if "AO_LOCK" not in self._key_set:
            return np.zeros((0, 2))
        lock = self.numeric("AO_LOCK")
        universe = self.all_frames() if within is None else _ids(within)
        xs = self.axis(x).values[universe]
        order = np.argsort(xs, kind="stable")
        xs = xs[order]
        unlocked = (lock[universe][order] == 0) & np.isfinite(xs)
        if not unlocked.any():
            return np.zeros((0, 2))
        edges = np.diff(np.concatenate([[False], unlocked, [False]]).astype(np.int8))
        starts = np.flatnonzero(edges == 1)
        stops = np.flatnonzero(edges == -1) - 1
        lo, hi = xs[starts], xs[stops]
        # widen each span by half the typical step so a single frame shows
        step = np.nanmedian(np.diff(xs)) if xs.size > 1 else 1.0
        step = step if np.isfinite(step) and step > 0 else 1.0
        lo, hi = lo - step / 2, hi + step / 2
        if min_gap > 0 and lo.size > 1:
            keep_start = np.concatenate([[True], lo[1:] - hi[:-1] > min_gap])
            hi = np.maximum.reduceat(hi, np.flatnonzero(keep_start))
            lo = lo[keep_start]
        return np.column_stack([lo, hi])

    def series(
        self, key: str, *, x: str = "time", stokes=None, frame_ids=None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(x, y, ids)`` of one series in x order: frames of ``stokes`` (and of ``frame_ids``).

        Without ``frame_ids`` the result is cached (read-only arrays) per key, x and Stokes.
        """
        if frame_ids is None:
            cache_key = ("series", key, x, _stokes_key(stokes))
            found = self._derived.get(cache_key)
            if found is None:
                found = tuple(_frozen(a) for a in self._series(key, x=x, stokes=stokes, frame_ids=None))
                self._derived[cache_key] = found
            return found
        return self._series(key, x=x, stokes=stokes, frame_ids=frame_ids)

    def decimated(
        self, key: str, n_bins: int, *, x: str = "time", stokes=None, display=None
    ) -> tuple[np.ndarray, np.ndarray]:
        """``decimate_minmax`` of ``series(key, x=x, stokes=stokes)``, computed once per key,
        x, Stokes, bin count and ``display`` (read-only arrays).

        ``display(key, values)``, when given, converts the values for display first (e.g.
        r0 in cm); it is part of the cache key, so pass the same function each time.
        """
        cache_key = ("decimated", key, x, _stokes_key(stokes), int(n_bins), display)
        found = self._derived.get(cache_key)
        if found is None:
            xs, ys, _ids = self.series(key, x=x, stokes=stokes)
            ys = display(key, ys) if display is not None else ys
            found = tuple(_frozen(np.asarray(a)) for a in decimate_minmax(xs, ys, n_bins))
            self._derived[cache_key] = found
        return found

    def _series(self, key: str, *, x: str, stokes, frame_ids):
        values = self.numeric(key)
        ids = self.stokes.frames(stokes)
        if frame_ids is not None:
            ids = ids[self._mask(frame_ids)[ids]]
        xs = self.axis(x).values[ids]
        keep = np.isfinite(xs)
        ids, xs = ids[keep], xs[keep]
        order = np.argsort(xs, kind="stable")
        ids = ids[order]
        return xs[order], values[ids], ids

    # -- grid rows --------------------------------------------------------------------

    def frame_table(self, keys: Sequence[str], frame_ids=None):
        """A pandas DataFrame: ``frame`` column then ``keys`` (masked -> NaN / ``""``)."""
        import pandas as pd

        ids = self.all_frames() if frame_ids is None else _ids(frame_ids)
        columns = {FRAME_COLUMN: ids}
        for key in keys:
            if key in self._key_set and key != FRAME_COLUMN:
                columns[key] = self.grid_values(key, ids)  # one rule for the grid's types
        return pd.DataFrame(columns, copy=False)

    def grid_values(self, key: str, frame_ids) -> np.ndarray:
        """``key`` at ``frame_ids`` as the grid shows it: integers and booleans as such when
        no frame of the dataset lacks a value (else float with NaN), other numbers as float,
        text as ``str`` (masked -> ``""``); :meth:`frame_table` of all frames holds the same."""
        ids = np.asarray(frame_ids, dtype=np.int64)
        if not self.is_numeric(key):
            return self.column_text(key, ids)
        values = self.numeric_at(key, ids)
        kind = self._kind(key)
        if kind in "iu" and not self.has_missing(key):
            return values.astype(np.int64)
        if kind == "b" and not self.has_missing(key):
            return values.astype(bool)
        return values

    def rows(self, keys: Sequence[str]) -> HeaderRows:
        """The grid's rows as columns of this table (``frame`` then the ``keys`` present),
        one row per frame in frame order; for :class:`~dkist_widgets.panels.frame_table.FrameTable`.

        Nothing is copied per row: a window reads the rows it shows, a sort is the
        column's order kept by this table (:meth:`sort_order`), a filter a mask over
        :meth:`numeric` or the column's text.
        """
        return HeaderRows(self, keys)

    def sort_order(self, key: str, descending: bool = False) -> np.ndarray:
        """Frame ids sorted by ``key``: stable, missing values last in both directions
        (numbers by value, text by its string), computed once per key and direction."""
        cache_key = ("sort", key, bool(descending))
        found = self._derived.get(cache_key)
        if found is None:
            numeric = self.is_numeric(key)
            values = self.numeric(key) if numeric else self.column_text(key)
            found = _frozen(stable_order(values, numeric=numeric, descending=descending))
            self._derived[cache_key] = found
        return found


class HeaderRows(FrameColumns):
    """Rows of a :class:`HeaderTable` for a table view: the ``frame`` column and some keys
    (:meth:`HeaderTable.rows`). Row ``i`` is frame ``i``."""

    frame_column = FRAME_COLUMN

    def __init__(self, table: HeaderTable, keys: Sequence[str]):
        super().__init__()
        self.table = table
        self.keys = [k for k in dict.fromkeys(keys) if table.has(k) and k != FRAME_COLUMN]

    @property
    def columns(self) -> list[str]:
        return [FRAME_COLUMN, *self.keys]

    def __len__(self) -> int:
        return self.table.n_frames

    def is_numeric(self, column: str) -> bool:
        return column == FRAME_COLUMN or self.table.is_numeric(column)

    def numbers(self, column: str) -> np.ndarray:
        if column == FRAME_COLUMN:
            return np.arange(self.table.n_frames, dtype=np.float64)
        return self.table.numeric(column)

    def texts(self, column: str) -> np.ndarray:
        if column == FRAME_COLUMN:
            return np.arange(self.table.n_frames).astype(str)
        return self.table.column_text(column)

    def cells(self, column: str, positions) -> list:
        ids = np.asarray(positions, dtype=np.int64)
        if column == FRAME_COLUMN:
            return ids.tolist()
        return self.table.grid_values(column, ids).tolist()

    def frame_ids(self, positions=None) -> np.ndarray:
        if positions is None:
            return self.table.all_frames()
        return np.asarray(positions, dtype=np.int64)

    def has_frame(self, frame_id: int) -> bool:
        return 0 <= int(frame_id) < self.table.n_frames

    def sort_order(self, column: str, descending: bool = False) -> np.ndarray:
        if column == FRAME_COLUMN:
            order = self.table.all_frames()
            return order[::-1] if descending else order
        return self.table.sort_order(column, descending)

    def to_frame(self, positions=None):
        import pandas as pd

        ids = self.table.all_frames() if positions is None else np.asarray(positions, dtype=np.int64)
        columns = {FRAME_COLUMN: ids}
        for key in self.keys:
            columns[key] = self.table.grid_values(key, ids)
        return pd.DataFrame(columns, copy=False)


# ---------------------------------------------------------------------------- helpers


def _ids(ids) -> np.ndarray:
    ids = np.asarray(ids)
    if ids.dtype == bool:
        return np.flatnonzero(ids).astype(np.int64)
    if ids.size == 0:
        return np.zeros(0, dtype=np.int64)
    ids = ids.astype(np.int64, copy=False).ravel()
    if ids.size > 1 and not np.all(ids[1:] > ids[:-1]):  # sorting only when needed
        ids = np.unique(ids)
    return ids


def _column_arrays(column) -> tuple[np.ndarray, np.ndarray]:
    """Plain ``(data, mask)`` ndarrays of an astropy (Masked)Column or array."""
    values = getattr(column, "data", column)
    mask = np.asarray(np.ma.getmaskarray(values), dtype=bool)
    data = np.asarray(np.ma.getdata(values))
    if mask.shape != data.shape:
        mask = np.broadcast_to(mask, data.shape)
    return data, mask


def _to_float(key: str, data: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Column values -> float64 (NaN where masked or not a number); a new array."""
    kind = data.dtype.kind
    if kind in "biuf":
        values = data.astype(np.float64, copy=True)
    elif kind in "US":
        values = _strings_to_float(data)
    elif kind == "O":
        values = _objects_to_float(data)
    else:
        raise ValueError(f"header key {key!r} holds {data.dtype}, not numbers")
    values[mask] = np.nan
    return values


def _stokes_key(stokes):
    if stokes is None or isinstance(stokes, (str, int, np.integer)):
        return stokes
    return tuple(stokes)


def _frozen(array: np.ndarray) -> np.ndarray:
    if isinstance(array, np.ndarray) and array.flags.writeable:
        array = array.view()
        array.flags.writeable = False
    return array


_PER_COLUMN = ("sort", "median", "has_missing")  # HeaderTable._derived entries of one column alone
_SHARED: weakref.WeakKeyDictionary[Any, dict] = weakref.WeakKeyDictionary()
_SHARED_LOCK = threading.Lock()


def shared_header_table(model, *, grid_shape=None, stokes_axis=None) -> HeaderTable:
    """The :class:`HeaderTable` of ``model``'s dataset, built once and shared by every panel.

    Keyed (weakly) by the dataset, then by the header table object, its column names
    (a panel adding ``PIX_*`` columns gets a new one, which keeps the parsed times and
    numeric columns already computed), ``grid_shape`` and ``stokes_axis``. Panels call
    this instead of ``HeaderTable(model.headers, ...)``, so the time column is parsed
    and series decimated once per dataset, not once per panel build.
    """
    dataset = model.dataset
    headers = model.headers
    if dataset is None or headers is None:
        raise ValueError("this dataset carries no header table")
    grid = tuple(int(n) for n in grid_shape) if grid_shape is not None else None
    key = (id(headers), tuple(headers.colnames), grid, stokes_axis)
    with _SHARED_LOCK:
        per_dataset = _SHARED.setdefault(dataset, {})
        table = per_dataset.get(key)
        if table is not None and table.headers is headers:
            return table
        table = HeaderTable(headers, grid_shape=grid, stokes_axis=stokes_axis)
        for old in per_dataset.values():  # same header object, other columns: reuse what was computed
            if old.headers is headers:
                table._numeric.update({k: v for k, v in old._numeric.items() if k in table._key_set})
                # what depends on one column only (not on the grid's Stokes axis): sort orders, medians
                table._derived.update(
                    {k: v for k, v in old._derived.items() if k[0] in _PER_COLUMN and k[1] in table._key_set}
                )
                if "time" in old.__dict__:
                    table.__dict__["time"] = old.__dict__["time"]
        per_dataset.clear()  # keep one per dataset: older column sets are not asked for again
        per_dataset[key] = table
        return table


def read_ahead(headers, keys: Iterable[str], *, time_key: str | None = None) -> threading.Thread | None:
    """Start reading ``keys`` of a lazily held header table (``HeaderColumns``) in a thread,
    and parsing ``time_key`` (one of them) into :func:`time_values`.

    Called when a dataset is opened lazily (:func:`read_plot_columns_ahead`) and by a
    panel before it builds its widgets: inflating a column (zlib releases the GIL) then
    overlaps other work. Columns already read, keys absent and tables held in memory are
    skipped (``None`` when nothing is left to do). Errors are left for the caller's own
    read to raise.
    """
    is_loaded = getattr(headers, "is_loaded", None)
    arrays = getattr(headers, "arrays", None)
    has_derived = getattr(headers, "has_derived", None)
    if is_loaded is None or arrays is None or has_derived is None:
        return None
    names = set(headers.colnames)
    wanted = [k for k in dict.fromkeys(keys) if k in names and not is_loaded(k)]
    parse = time_key if time_key in names and not has_derived(time_key, "time_values") else None
    if not wanted and parse is None:
        return None

    def read() -> None:
        try:
            if parse is not None:  # the time axis first: the plot needs it before anything else
                time_values(headers, parse)
            for key in wanted:
                arrays(key)
        except Exception:  # noqa: BLE001 - the panel's own read of this column says what is wrong
            return

    thread = threading.Thread(target=read, name="dkw-header-read-ahead", daemon=True)
    thread.start()
    return thread


def read_plot_columns_ahead(headers, key: str | None = None) -> threading.Thread | None:
    """Start reading what the header explorer's first plot needs (:func:`plot_keys`) and
    parsing its time column, in a thread (see :func:`read_ahead`)."""
    if headers is None:
        return None
    return read_ahead(headers, plot_keys(headers, key), time_key=_first_time_key(headers))


def plot_keys(headers, key: str | None = None) -> list[str]:
    """The columns the header explorer's first plot reads: the time key it will use (the
    first of ``DATE-AVG``/``DATE-BEG`` present), ``key`` (default ``ATMOS_R0``), ``AO_LOCK``."""
    return [k for k in (_first_time_key(headers), key or R0_KEY, R0_KEY, "AO_LOCK") if k]


def _first_time_key(headers) -> str | None:
    """The first of ``DATE-AVG``/``DATE-BEG`` present: the time axis a plot tries first."""
    names = set(headers.colnames)
    return next((k for k in TIME_KEYS if k in names), None)


def _stokes_names(size: int) -> tuple[str, ...]:
    return tuple(STOKES_NAMES[i] if i < len(STOKES_NAMES) else f"S{i}" for i in range(size))


def _strings_to_float(data: np.ndarray) -> np.ndarray:
    out = np.full(data.shape, np.nan)
    text = np.char.strip(data.astype(str))
    lower = np.char.lower(text)
    out[lower == "true"] = 1.0
    out[lower == "false"] = 0.0
    rest = np.flatnonzero(np.isnan(out) & (text != ""))
    for i in rest:
        try:
            out[i] = float(text[i])
        except ValueError:
            pass
    return out


def _objects_to_float(data: np.ndarray) -> np.ndarray:
    out = np.full(data.shape, np.nan)
    for i, value in enumerate(data):
        try:
            out[i] = float(value)
        except (TypeError, ValueError):
            pass
    return out


def time_values(headers, key: str) -> tuple[np.ndarray | None, Any, int]:
    """``(seconds since the earliest time or None when no value is readable, that earliest
    time, number of unreadable values)`` of time column ``key``.

    Computed once per column of a lazily opened header table
    (:meth:`~.lazy_open.HeaderColumns.derived`: the read-ahead started when the dataset
    is opened, :func:`read_ahead`, may already have done it); every call on an astropy
    ``Table`` parses the column again (the table may have been edited in between).
    """

    def compute():
        moments = _parse_times(headers[key])
        ok = ~np.isnat(moments)
        if not ok.any():
            return None, None, int(moments.size)
        origin = moments[ok].min()
        values = np.full(moments.shape, np.nan)
        values[ok] = (moments[ok] - origin).astype(np.int64) / 1e6
        return _frozen(values), origin, int((~ok).sum())

    derived = getattr(headers, "derived", None)
    return compute() if derived is None else derived(key, "time_values", compute)


def _parse_times(column) -> np.ndarray:
    """ISO strings -> ``datetime64[us]`` (NaT where masked or unreadable)."""
    data, mask = _column_arrays(column)
    if data.dtype.kind == "M":
        out = data.astype("datetime64[us]")
    else:
        # 1-byte text (compact columns of a lazily opened dataset) is parsed as it is:
        # numpy reads datetimes from bytes ~10x faster than from 4-byte text
        text = data if data.dtype.kind == "S" else data.astype(str)
        zulu, nat = (b"Z", b"NaT") if text.dtype.kind == "S" else ("Z", "NaT")
        if text.size and np.char.endswith(text, zulu).any():
            text = np.char.rstrip(text, zulu)
        if mask.any():
            text = np.where(mask, nat, text)
        try:
            out = text.astype("datetime64[us]")
        except ValueError:
            out = np.full(text.shape, np.datetime64("NaT"), dtype="datetime64[us]")
            for i, value in enumerate(text):
                value = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
                try:
                    out[i] = np.datetime64(value.strip() or "NaT", "us")
                except ValueError:
                    pass
    out = out.copy()
    out[mask] = np.datetime64("NaT")
    return out


def longest_true_run(flags: np.ndarray) -> tuple[int, int]:
    """``(start, stop)`` of the longest run of True in a 1-d bool array (earliest on ties)."""
    flags = np.asarray(flags, dtype=bool)
    if not flags.any():
        return 0, 0
    edges = np.diff(np.concatenate([[False], flags, [False]]).astype(np.int8))
    starts = np.flatnonzero(edges == 1)
    stops = np.flatnonzero(edges == -1)
    best = int(np.argmax(stops - starts))
    return int(starts[best]), int(stops[best])


def decimate_minmax(x: np.ndarray, y: np.ndarray, n_bins: int = 1000) -> tuple[np.ndarray, np.ndarray]:
    """Reduce a series sorted by ``x`` to at most ``3 * n_bins`` points, keeping extremes and gaps.

    ``x`` must be finite and ascending; ``y`` may hold NaN (missing values). Series
    of at most ``2 * n_bins`` points are returned unchanged (copies). Otherwise each
    of ``n_bins`` equal x bins gives ``(centre, min)`` and ``(centre, max)`` of its
    valid values, followed by ``(centre, NaN)`` if it holds missing values; an empty
    bin gives one NaN. Runs of NaN collapse to one.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n = x.size
    if n <= 2 * n_bins:
        return x.copy(), y.copy()
    lo, hi = x[0], x[-1]
    span = hi - lo
    if not span > 0:
        valid = y[np.isfinite(y)]
        if valid.size == 0:
            return np.array([lo]), np.array([np.nan])
        return np.array([lo, lo]), np.array([valid.min(), valid.max()])
    bins = np.minimum(((x - lo) * (n_bins / span)).astype(np.int64), n_bins - 1)
    starts = np.searchsorted(bins, np.arange(n_bins))
    counts = np.diff(np.append(starts, n))
    nonempty = counts > 0
    finite = np.isfinite(y)
    idx = starts[nonempty]
    ymin = np.minimum.reduceat(np.where(finite, y, np.inf), idx)
    ymax = np.maximum.reduceat(np.where(finite, y, -np.inf), idx)
    n_valid = np.add.reduceat(finite.astype(np.int64), idx)
    has_missing = n_valid < counts[nonempty]
    centres_all = lo + (np.arange(n_bins) + 0.5) * (span / n_bins)

    # three slots per bin: min, max, gap marker; dropped where not needed
    xs = np.repeat(centres_all, 3)
    ys = np.full(3 * n_bins, np.nan)
    keep = np.zeros(3 * n_bins, dtype=bool)
    where = np.flatnonzero(nonempty)
    any_valid = n_valid > 0
    ys[3 * where] = np.where(any_valid, ymin, np.nan)
    ys[3 * where + 1] = np.where(any_valid, ymax, np.nan)
    keep[3 * where[any_valid]] = True
    keep[3 * where[any_valid] + 1] = True
    keep[3 * where[has_missing | ~any_valid] + 2] = True
    keep[3 * np.flatnonzero(~nonempty) + 2] = True
    xs, ys = xs[keep], ys[keep]
    # collapse runs of NaN to a single NaN
    nan = np.isnan(ys)
    dup = nan & np.concatenate([[False], nan[:-1]])
    return xs[~dup], ys[~dup]
