"""File-index arithmetic for a dkist ``Dataset``: what ``ds[item]`` touches, without ``ds[item]``.

A dkist ``Dataset`` is a dask array striped over FITS files. Its file manager holds
``fileuri_array`` (one entry per file, shaped like the *file axes*) and ``shape``
(the array inside each file, often with a leading 1). The data array is laid out as

    data.shape == fileuri_array.shape + in_file_shape_without_its_leading_1

(``dkist.io.dask.striped_array.BaseStripedExternalArray._output_shape_from_ref_array``),
with one exception: when the dataset has exactly **one** file, dkist drops the file
axes altogether and ``data.shape`` is the in-file shape. So the first
``n_file_axes`` data axes are the file axes, the rest lie inside every file.

Slicing ``ds[item]`` then (dkist 1.18, ndcube 2.4, astropy 8; astropy 7.x below):

* slices the dask array (numpy basic indexing: ``output shape``);
* slices ``fileuri_array`` with the first ``n_file_axes`` entries of the item
  (``FileManager._array_slice_to_loader_slice``): an axis inside each file never
  reduces the file count, even when its slice is empty;
* slices the header table with its own arithmetic (``Dataset._slice_headers``),
  which raises for some items that numpy would accept.

:class:`FileIndex` answers the same questions (output shape, dropped axes, files
touched, their frame ids, byte counts) from the shapes alone, in microseconds,
and rejects exactly the items dkist rejects, with a message that says why.

What dkist 1.18.1 rejects (checked against ``ds[item]`` on the test ASDFs that ship
with dkist; tests/test_fileindex.py re-checks every rule with hypothesis):

============================================  ===============================  ==========
item                                          dkist raises                     we raise
============================================  ===============================  ==========
``None`` / ``np.newaxis``                     IndexError                       IndexError
two ``...``                                   IndexError                       IndexError
slice step other than ``None``/1              IndexError (WCS)                 IndexError
negative int, negative slice start            ValueError (size unknown)        ValueError
more entries than data axes                   ValueError                       ValueError
an int on every axis (0-d result)             ValueError (WCS)                 ValueError
float, str, array, ``np.bool_``, nested list  ValueError                       ValueError
non-int slice bound (``slice(1.0, 3)``)       TypeError                        ValueError
int >= axis length (any axis)                 IndexError                       IndexError
file axis: negative slice stop                ValueError (headers)             ValueError
file axis: start > (stop or length)           ValueError (headers)             ValueError
file axis: stop > length, selection nonempty  ValueError (headers)             ValueError
a length-1 file axis and more than one file   IndexError/ValueError (headers)  ValueError
============================================  ===============================  ==========

Quirks mirrored rather than "fixed", because the point is to say what dkist does:

* a ``list`` at the top level is treated like a tuple (``ds[[0, 1]] == ds[0, 1]``);
* ``True``/``False`` are ints (``ds[True] == ds[1]``), ``np.bool_`` is rejected;
* on a file axis ``slice(3, 0)`` is accepted (dkist's header code reads ``stop=0``
  as "to the end"), it selects no file;
* slices on axes inside the files clip like numpy (``slice(0, 10**6)`` is fine).

The table is dkist's behaviour with astropy 8, whose ``simplify_basic_index`` checks
the item. dkist 1.18 with astropy 7.0-7.2 (``sanitize_slices``, the oldest versions
pyproject.toml allows) differs, and the index follows whichever astropy is
installed, asking astropy itself once per process (``ellipsis_counts_as_an_axis``,
``bools_reach_numpy``, ``negatives_reach_numpy``, ``step_rejected_on_sliced_wcs``):

* ``...`` counts as an axis: ``ds[:, 0, 0, 0, ...]`` on a 4-d dataset raises;
* ``True``/``False`` reach numpy as booleans when dkist indexes ``fileuri_array``:
  the data is row 1/0, but ``ds[True].files`` lists every file and ``ds[False]``
  none (a boolean scalar adds an axis instead of taking one);
* negative ints and slice starts count from the end, except on a file axis where
  dkist's header slicing meets a negative coordinate (it raises unless the file
  selection is empty), and a negative stop on a file axis is only rejected when it
  falls before the start;
* on a dataset that is itself a slice (its WCS is a ``SlicedLowLevelWCS``) any
  explicit slice step, even 1, raises.

Frames: a frame id is a row of ``ds.headers``, which is the C-order flat position in
``fileuri_array`` (``ds.files.filenames[i]`` is the file of header row ``i``).

Everything here is plain numpy; nothing reads a FITS file or calls ``ds[...]``,
except the once-per-process self-check that :meth:`FileIndex.from_dataset` runs
(``fileindex_check.py``): a few items compared with dkist's own ``ds[item]``, so a
newer dkist that slices differently is reported instead of silently changing counts.
"""

from __future__ import annotations

import numbers
import operator
from dataclasses import dataclass
from functools import cache, cached_property
from math import prod
from typing import Any

import numpy as np

__all__ = [
    "check_frame_ids",
    "FileIndex",
    "ResolvedItem",
    "SliceCover",
    "format_item",
    "normalise_item",
]


# ---------------------------------------------------------------------------
# item parsing


def _as_index(value: Any, what: str) -> int:
    """``operator.index`` with dkist's messages: ints and numpy ints (and bools) only."""
    if isinstance(value, np.bool_):
        raise ValueError(f"dkist rejects {what} {value!r}: numpy booleans are not indices")
    if not isinstance(value, numbers.Integral):
        raise ValueError(
            f"dkist rejects {what} {value!r} ({type(value).__name__}): "
            "only integers, slices of integers and ... are accepted"
        )
    return operator.index(value)


def normalise_item(item: Any) -> tuple:
    """Turn what a user may pass to ``ds[...]`` into a tuple of ints, slices and ``...``.

    Only the *types* are checked and normalised here (numpy ints become ``int``,
    a top-level list becomes a tuple, as dkist does); bounds are checked against a
    shape by :meth:`FileIndex.resolve`. Raises ``ValueError``/``IndexError`` for
    what dkist rejects whatever the shape.
    """
    if isinstance(item, list):
        # dkist (through astropy's simplify_basic_index) treats a list like a tuple.
        item = tuple(item)
    elif not isinstance(item, tuple):
        item = (item,)
    out = []
    n_ellipsis = 0
    for entry in item:
        if type(entry) is int:
            if entry < 0 and not negatives_reach_numpy():
                raise ValueError(f"dkist rejects the negative index {entry}: count from the start of the axis instead")
            out.append(entry)
        elif entry is Ellipsis:
            n_ellipsis += 1
            if n_ellipsis > 1:
                raise IndexError("dkist rejects an item with more than one '...'")
            out.append(Ellipsis)
        elif entry is None:
            raise IndexError("dkist rejects None (np.newaxis) in an item: a Dataset cannot gain axes")
        elif isinstance(entry, slice):
            step = entry.step
            if step is not None:
                if isinstance(step, numbers.Integral) and not isinstance(step, np.bool_):
                    if step != 1:
                        raise IndexError(
                            f"dkist rejects the slice {_fmt_slice_raw(entry)}: "
                            "slices with a step other than 1 are not supported"
                        )
                elif step == 1:  # e.g. 1.0: passes dkist's WCS check, then dask raises
                    raise ValueError(f"dkist rejects the slice step {step!r}: only integers")
                else:
                    raise IndexError(
                        f"dkist rejects the slice step {step!r}: slices with a step other than 1 are not supported"
                    )
            start, stop = entry.start, entry.stop
            if start is not None and type(start) is not int:
                start = _as_index(start, "the slice start")
            if stop is not None and type(stop) is not int:
                stop = _as_index(stop, "the slice stop")
            if start is not None and start < 0 and not negatives_reach_numpy():
                raise ValueError(
                    f"dkist rejects the negative slice start {start}: count from the start of the axis instead"
                )
            out.append(slice(start, stop))
        elif type(entry) is bool and bools_reach_numpy():
            out.append(entry)  # kept: dkist's file slicing differs from an int (astropy < 8)
        else:
            if isinstance(entry, (list, tuple, np.ndarray)):
                raise ValueError(
                    f"dkist rejects {entry!r} inside an item: "
                    "lists and arrays of indices (fancy indexing) are not supported"
                )
            value = _as_index(entry, "the index")
            if value < 0 and not negatives_reach_numpy():
                raise ValueError(f"dkist rejects the negative index {value}: count from the start of the axis instead")
            out.append(value)
    return tuple(out)


@cache
def ellipsis_counts_as_an_axis() -> bool:
    """Whether the installed astropy counts ``...`` as one of the WCS's axes.

    dkist checks an item's length with astropy's ``sanitize_slices`` (file manager and
    WCS alike). Up to astropy 7.2 that compares ``len(item)`` *including* the ``...``
    with the number of axes, so ``ds[:, 0, 0, 0, ...]`` on a 4-d dataset raises
    ``ValueError`` although numpy lets ``...`` stand for no axis; astropy 8.0
    (``simplify_basic_index``) follows numpy. Asked of astropy itself, once, so the
    index mirrors whichever astropy is installed.
    """
    try:
        from astropy.wcs.wcsapi.wrappers.sliced_wcs import sanitize_slices
    except ImportError:  # pragma: no cover - astropy is a dependency; moved in a future astropy
        return False
    try:
        sanitize_slices((0, Ellipsis), 1)
    except ValueError:
        return True
    except Exception:  # noqa: BLE001 - pragma: no cover - any other answer: follow numpy
        return False
    return False


@cache
def negatives_reach_numpy() -> bool:
    """Whether the installed astropy lets negative ints and slice starts through.

    Astropy 8.0's ``simplify_basic_index`` rejects them (dkist gives it no axis
    sizes); up to astropy 7.2 ``sanitize_slices`` passes them on, so they count from
    the end as in numpy, except where dkist's header slicing meets them on a file
    axis (see :meth:`FileIndex._check_header_slicing`). Asked of astropy itself, once.
    """
    try:
        from astropy.wcs.wcsapi.wrappers.sliced_wcs import sanitize_slices

        sanitize_slices((-1,), 1)
    except Exception:  # noqa: BLE001 - astropy 8 raises; any failure: follow astropy 8
        return False
    return True


@cache
def bools_reach_numpy() -> bool:
    """Whether the installed astropy leaves ``True``/``False`` in an item as booleans.

    Up to astropy 7.2, ``sanitize_slices`` keeps them, and dkist's file manager then
    indexes ``fileuri_array`` with them: numpy reads a boolean *scalar* as a new
    length-1 (``True``) or length-0 (``False``) axis that consumes no file axis, so
    ``ds[True].files`` lists every file (and ``ds[False].files`` none) while the
    data is row 1 (row 0). Astropy 8.0 turns them into ints first (``ds[True] ==
    ds[1]``). Asked of astropy itself, once.
    """
    try:
        from astropy.wcs.wcsapi.wrappers.sliced_wcs import sanitize_slices

        return sanitize_slices((True,), 1)[0] is True
    except Exception:  # noqa: BLE001 - pragma: no cover - any other answer: follow astropy 8
        return False


@cache
def step_rejected_on_sliced_wcs() -> bool:
    """Whether the installed astropy rejects slicing an already sliced WCS with an
    explicit step of 1.

    Up to astropy 7.2, ``combine_slices`` refuses any slice whose step is not
    ``None``, so ``ds[0][0:9:1]`` raises ``ValueError`` while ``ds[0][0:9]`` works
    (a dataset loaded from an ASDF has a gWCS, not a sliced one, and is not
    affected). Astropy 8.0 accepts a step of 1. Asked of astropy itself, once.
    """
    try:
        from astropy.wcs.wcsapi.wrappers.sliced_wcs import combine_slices

        combine_slices(slice(None), slice(None, None, 1))
    except ValueError:
        return True
    except Exception:  # noqa: BLE001 - pragma: no cover - any other answer: follow astropy 8
        return False
    return False


def _has_sliced_wcs(ds) -> bool:
    try:
        from astropy.wcs.wcsapi import SlicedLowLevelWCS

        return isinstance(getattr(ds.wcs, "low_level_wcs", ds.wcs), SlicedLowLevelWCS)
    except Exception:  # noqa: BLE001 - pragma: no cover - no WCS: nothing to reject
        return False


def _expand(item: tuple, ndim: int) -> list:
    """Replace ``...`` and pad with full slices to ``ndim`` entries (``ValueError`` if too long)."""
    entries = list(item)
    if Ellipsis in entries:
        if len(entries) > ndim and ellipsis_counts_as_an_axis():
            raise ValueError(
                f"dkist (with astropy < 8) rejects an item with {len(entries) - 1} indices and '...' "
                f"on a dataset with {ndim} axes: leave out the '...'"
            )
        at = entries.index(Ellipsis)
        entries[at : at + 1] = [slice(None)] * (ndim - len(entries) + 1)
    if len(entries) > ndim:
        raise ValueError(
            f"dkist rejects an item with {len([e for e in item if e is not Ellipsis])} "
            f"indices: the dataset has {ndim} axes"
        )
    return entries + [slice(None)] * (ndim - len(entries))


def _fmt_bound(value: int | None) -> str:
    return "" if value is None else str(value)


def _fmt_slice_raw(s: slice) -> str:
    text = f"{_fmt_bound(s.start)}:{_fmt_bound(s.stop)}"
    if s.step is not None:
        text += f":{s.step}"
    return text


def format_item(item: Any, shape: tuple[int, ...] | None = None) -> str:
    """Render an item the way a user types it between ``ds[`` and ``]``.

    ``slice(0, 42)`` -> ``:42``; with ``shape`` given, a slice covering the whole axis
    renders as ``:`` and trailing ``:`` are dropped; an empty item renders as ``...``.
    """
    entries = list(item) if isinstance(item, (tuple, list)) else [item]
    parts = []
    for axis, entry in enumerate(entries):
        if entry is Ellipsis:
            parts.append("...")
        elif isinstance(entry, slice):
            start = None if entry.start in (None, 0) else entry.start
            stop = entry.stop
            if shape is not None and axis < len(shape) and stop is not None and stop == shape[axis]:
                stop = None
            parts.append(_fmt_slice_raw(slice(start, stop, entry.step)))
        else:
            parts.append(str(entry))
    if shape is not None:
        while parts and parts[-1] == ":":
            parts.pop()
    return ", ".join(parts) if parts else "..."


# ---------------------------------------------------------------------------
# results


@dataclass(frozen=True)
class ResolvedItem:
    """What ``ds[item]`` is, worked out from the shapes.

    Attributes
    ----------
    item
        The canonical item: one entry per data axis, ints and ``slice(start, stop)``
        with both bounds set and clipped to the axis. ``ds[resolved.item]`` is
        accepted by dkist and gives the same data shape and files as the original.
    file_item
        The index into ``fileuri_array`` (one entry per file axis; ``()`` for a
        single-file dataset), canonical like ``item``.
    shape
        ``ds[item].data.shape``.
    dropped_axes
        Data axes (numbered in the dataset before slicing) indexed by an int.
    file_grid_shape
        ``ds[item].files.fileuri_array.shape``.
    n_files
        ``len(ds[item].files)``.
    """

    item: tuple
    file_item: tuple
    shape: tuple[int, ...]
    dropped_axes: tuple[int, ...]
    file_grid_shape: tuple[int, ...]
    n_files: int


@dataclass(frozen=True)
class SliceCover:
    """A list of ``ds[...]`` items whose files together are exactly a set of frames.

    ``items`` are tuples to pass to ``ds[...]`` (for a tiled dataset each entry is
    ``(tile_index, item)``), ``snippet`` is Python a user can paste, and
    ``n_files`` counts the files covered (each exactly once: the items are
    disjoint).
    """

    items: list
    snippet: str
    n_files: int


# ---------------------------------------------------------------------------
# the index


def check_frame_ids(frame_ids, n_frames: int) -> np.ndarray:
    """Frame ids (integers or a boolean mask over all frames) as a sorted unique int64
    array; ``IndexError`` for ids outside ``0..n_frames-1``, ``ValueError`` for other types."""
    ids = np.asarray(frame_ids)
    if ids.dtype == bool:
        if ids.shape != (n_frames,):
            raise IndexError(f"a boolean frame mask needs {n_frames} entries")
        return np.flatnonzero(ids).astype(np.int64)
    if ids.size == 0:
        return np.zeros(0, dtype=np.int64)
    if not np.issubdtype(ids.dtype, np.integer):
        raise ValueError(f"frame ids must be integers, got {ids.dtype}")
    ids = np.unique(ids.astype(np.int64, copy=False).ravel())
    if ids[0] < 0 or ids[-1] >= n_frames:
        bad = ids[(ids < 0) | (ids >= n_frames)]
        raise IndexError(f"frame ids {bad[:5].tolist()} are outside 0..{n_frames - 1}")
    return ids


class FileIndex:
    """The file grid of one dkist ``Dataset`` and the arithmetic over it.

    Parameters
    ----------
    fileuri_array
        ``ds.files.fileuri_array`` (kept by reference, never copied).
    data_shape
        ``ds.data.shape``.
    in_file_shape
        ``ds.files.shape`` (the array inside each file, possibly with a leading 1).
    itemsize
        ``ds.data.dtype.itemsize``.
    loader_ndim
        ``len(ds.files.output_shape)``: dkist expands ``...`` against this many axes
        when it picks the file-axis part of an item. It differs from
        ``len(data_shape)`` only for datasets saved with an in-file crop that drops
        an axis. Defaults to ``len(data_shape)``.
    file_sizes
        Optional on-disk size in bytes of every file, in frame order (C order over
        ``fileuri_array``); negative or NaN means unknown.
    sliced_wcs
        ``ds.wcs`` is already an astropy ``SlicedLowLevelWCS`` (the dataset is itself
        a slice): with astropy < 8 any explicit slice step, even 1, is then rejected
        (:func:`step_rejected_on_sliced_wcs`).
    """

    def __init__(
        self,
        fileuri_array: np.ndarray,
        data_shape: tuple[int, ...],
        in_file_shape: tuple[int, ...],
        itemsize: int,
        *,
        loader_ndim: int | None = None,
        file_sizes: np.ndarray | None = None,
        sliced_wcs: bool = False,
    ):
        self.fileuri_array = np.asarray(fileuri_array)
        self.grid_shape = tuple(int(n) for n in self.fileuri_array.shape)
        self.data_shape = tuple(int(n) for n in data_shape)
        self.in_file_shape = tuple(int(n) for n in in_file_shape)
        self.itemsize = int(itemsize)
        self.loader_ndim = len(self.data_shape) if loader_ndim is None else int(loader_ndim)
        self.n_frames = int(self.fileuri_array.size)
        if self.n_frames == 0:
            raise ValueError(
                "this dataset has no files (a slice such as ds[0:0] selects none): there is nothing to explore"
            )
        # dkist drops the file axes of a one-file dataset (output_shape is the in-file shape).
        self.n_file_axes = 0 if self.n_frames == 1 else len(self.grid_shape)
        if self.data_shape[: self.n_file_axes] != self.grid_shape[: self.n_file_axes]:
            raise ValueError(
                f"the data array {self.data_shape} does not start with the file grid "
                f"{self.grid_shape}: not a layout dkist produces"
            )
        self.ndim = len(self.data_shape)
        self.sliced_wcs = bool(sliced_wcs)
        self.frame_bytes = prod(self.in_file_shape) * self.itemsize
        # C-order strides of the file grid, in frames.
        strides = []
        acc = 1
        for n in reversed(self.grid_shape):
            strides.append(acc)
            acc *= n
        self.grid_strides = tuple(reversed(strides))
        self._unsliceable_reason = self.unsliceable_reason
        self._file_sizes = None
        if file_sizes is not None:
            self.set_file_sizes(file_sizes)

    # -- construction -----------------------------------------------------

    @classmethod
    def from_dataset(cls, ds, *, file_sizes=None) -> FileIndex:
        """Build the index of a dkist ``Dataset`` from its file manager (no data read)."""
        files = ds.files
        if files is None:
            raise ValueError("this Dataset has no file manager (it was not loaded from an ASDF)")
        fm = files._fm
        loader_ndim = None
        try:
            loader_ndim = len(fm.output_shape)
        except Exception:  # noqa: BLE001 - pragma: no cover - a file manager without output_shape
            loader_ndim = None
        index = cls(
            files.fileuri_array,
            tuple(ds.data.shape),
            tuple(files.shape),
            ds.data.dtype.itemsize,
            loader_ndim=loader_ndim,
            file_sizes=file_sizes,
            sliced_wcs=_has_sliced_wcs(ds),
        )
        # Once per process: compare a few answers with dkist's own ds[item]
        # (fileindex_check.py says why and what happens when they disagree).
        from .fileindex_check import check_once

        check_once(ds, index)
        return index

    def set_file_sizes(self, file_sizes) -> None:
        """Record on-disk file sizes (bytes, frame order; negative/NaN = unknown)."""
        sizes = np.asarray(file_sizes, dtype=float).ravel()
        if sizes.size != self.n_frames:
            raise ValueError(f"expected {self.n_frames} file sizes, got {sizes.size}")
        self._file_sizes = sizes

    @property
    def file_sizes(self) -> np.ndarray | None:
        return self._file_sizes

    @property
    def unsliceable_reason(self) -> str | None:
        """Why dkist 1.18.1 cannot slice this dataset at all, or ``None``.

        ``Dataset._slice_headers`` drops length-1 axes of the file grid and then
        fails (``IndexError``/``ValueError``) for every item when the grid has one,
        unless the dataset is a single file.
        """
        if self.n_file_axes and 1 in self.grid_shape:
            return (
                f"dkist 1.18 cannot slice a dataset whose file grid {self.grid_shape} has a "
                "length-1 axis (its header slicing fails for every item)"
            )
        return None

    # -- resolving items --------------------------------------------------

    def whole(self) -> ResolvedItem:
        """The whole dataset, unsliced (answered even where dkist cannot slice)."""
        k = self.n_file_axes
        item = tuple(slice(0, n) for n in self.data_shape)
        return ResolvedItem(
            item=item,
            file_item=item[:k],
            shape=self.data_shape,
            dropped_axes=(),
            file_grid_shape=self.grid_shape if k else self.grid_shape,
            n_files=self.n_frames,
        )

    def resolve(self, item: Any) -> ResolvedItem:
        """Work out ``ds[item]`` (shape, files) or raise what dkist would raise.

        ``ValueError``/``IndexError`` with a message saying what is wrong; see the
        module docstring for the table of rules. Pure Python over the (few) axes:
        a few microseconds whatever the number of files.
        """
        parsed = normalise_item(item)
        if self.sliced_wcs and step_rejected_on_sliced_wcs():
            for entry in item if isinstance(item, (tuple, list)) else (item,):
                if isinstance(entry, slice) and entry.step is not None:
                    raise ValueError(
                        f"dkist (with astropy < 8) rejects the slice {_fmt_slice_raw(entry)} on a dataset "
                        "that is itself a slice: leave out the step"
                    )
        ndim = self.ndim
        entries = _expand(parsed, ndim)
        if self._unsliceable_reason:
            raise ValueError(self._unsliceable_reason)
        k = self.n_file_axes
        data_shape = self.data_shape
        canonical = []
        shape = []
        dropped = []
        for axis in range(ndim):
            entry = entries[axis]
            size = data_shape[axis]
            if type(entry) is slice:
                stop = entry.stop
                if axis < k and stop is not None and stop < 0 and not negatives_reach_numpy():
                    raise ValueError(
                        f"dkist rejects the slice {_fmt_slice_raw(entry)} on file axis {axis}: "
                        "a negative stop breaks its header slicing; use an explicit stop"
                    )
                lo, hi, _ = entry.indices(size)
                if hi < lo:
                    hi = lo
                canonical.append(slice(lo, hi))
                shape.append(hi - lo)
            else:
                if entry >= size or entry < -size:
                    raise IndexError(f"index {entry} is out of bounds for axis {axis} with size {size}")
                canonical.append(entry + size if entry < 0 else entry)
                dropped.append(axis)
        if len(dropped) == ndim:
            raise ValueError(
                f"dkist rejects ds[{format_item(parsed)}]: an index on every axis leaves a "
                "0-dimensional result, which a Dataset cannot hold; use a slice of length 1"
            )
        if k:
            if self.loader_ndim == ndim:
                self._check_header_slicing(entries[:k])
                file_item = tuple(canonical[:k])
            else:
                file_entries = _expand(parsed, self.loader_ndim)[:k]
                self._check_header_slicing(file_entries)
                file_item = tuple(_canonical_file_entry(e, n) for e, n in zip(file_entries, self.grid_shape))
            if any(type(e) is bool for e in file_item):
                file_item, grid = self._boolean_file_item(file_item)
            else:
                grid = tuple([e.stop - e.start for e in file_item if type(e) is slice])
        else:
            file_item = ()
            grid = self.grid_shape
        return ResolvedItem(tuple(canonical), file_item, tuple(shape), tuple(dropped), grid, prod(grid))

    def _boolean_file_item(self, file_item: tuple) -> tuple[tuple, tuple[int, ...]]:
        """File selection of a file item holding booleans (astropy < 8, see
        :func:`bools_reach_numpy`): ``fileuri_array[file_item]`` in numpy's terms.

        The booleans consume no axis: the other entries index the file axes in order,
        and any ``False`` empties the selection. Returned as a canonical file item
        (same files, same C order) and numpy's own result shape.
        """
        grid = np.broadcast_to(np.zeros((), dtype=np.int8), self.grid_shape)[file_item].shape
        rest = [e for e in file_item if type(e) is not bool]
        rest += [slice(0, n) for n in self.grid_shape[len(rest) :]]
        if not all(e for e in file_item if type(e) is bool):
            rest = [slice(0, 0), *(slice(0, n) for n in self.grid_shape[1:])]
        return tuple(rest), tuple(grid)

    def _check_header_slicing(self, file_entries: list) -> None:
        """Mirror the failures of ``dkist.Dataset._slice_headers`` (dkist 1.18.1).

        It builds ``np.mgrid`` over ``slice(start or 0, stop or n)`` per file axis
        (``stop=0`` reads as "to the end") and ravels the grid against the file-grid
        shape: a negative extent raises, and so does any coordinate past the end, or
        before the start (a negative int or start, which reach it with astropy < 8
        only), when the grid is not empty.
        """
        if (
            len(file_entries) == 1
            and type(file_entries[0]) is slice
            and (file_entries[0].start is None and file_entries[0].stop is None)
        ):
            return  # dkist short-cuts the full slice of a 1-d grid
        extents = []
        too_far = None
        for axis, (entry, size) in enumerate(zip(file_entries, self.grid_shape)):
            if isinstance(entry, slice):
                lo = entry.start or 0
                hi = entry.stop or size
            else:
                lo, hi = entry, entry + 1
            if hi < lo:
                raise ValueError(
                    f"dkist rejects the slice {_fmt_slice_raw(entry)} on file axis {axis}: "
                    f"its start is past its stop (an empty file-axis slice needs start == stop)"
                )
            if too_far is None and (hi > size or lo < 0):
                too_far = (axis, entry, size)
            extents.append(hi - lo)
        if too_far is not None and prod(extents) > 0:
            axis, entry, size = too_far
            what = _fmt_slice_raw(entry) if isinstance(entry, slice) else f"index {entry}"
            if (entry.start or 0) < 0 if isinstance(entry, slice) else entry < 0:
                raise ValueError(
                    f"dkist rejects the {what} on file axis {axis}: its header slicing does not "
                    "count from the end; count from the start of the axis instead"
                )
            raise ValueError(
                f"dkist rejects the slice {what} on file axis {axis}: "
                f"it runs past the {size} files along that axis (stop at {size} at most)"
            )

    # -- what a resolved item touches ---------------------------------------

    def _axis_ranges(self, file_item: tuple) -> list[np.ndarray]:
        ranges = []
        for entry in file_item:
            if isinstance(entry, slice):
                ranges.append(np.arange(entry.start, entry.stop, dtype=np.int64))
            else:
                ranges.append(np.array([entry], dtype=np.int64))
        return ranges

    def frame_ids(self, resolved: ResolvedItem) -> np.ndarray:
        """Sorted frame ids (header rows) of the files ``ds[item]`` touches."""
        if not resolved.file_item:
            return np.arange(self.n_frames, dtype=np.int64)
        ranges = self._axis_ranges(resolved.file_item)
        ids = np.zeros((1,) * len(ranges), dtype=np.int64)
        for axis, (r, stride) in enumerate(zip(ranges, self.grid_strides)):
            shape = [1] * len(ranges)
            shape[axis] = r.size
            ids = ids + (r * stride).reshape(shape)
        return ids.ravel()

    def files(self, resolved: ResolvedItem) -> np.ndarray:
        """``ds[item].files.filenames`` as a numpy string array (C order)."""
        if not resolved.file_item:
            return self.fileuri_array.ravel()
        return np.asarray(self.fileuri_array[resolved.file_item]).ravel()

    def nbytes(self, resolved: ResolvedItem) -> int:
        """Bytes of ``ds[item].data``: itemsize x output elements."""
        return prod(resolved.shape) * self.itemsize

    def loaded_nbytes(self, resolved: ResolvedItem) -> int:
        """Bytes dkist loads to compute ``ds[item].data``.

        Each file is one dask chunk and its loader reads the whole array in the file,
        so this is ``n_files x prod(in_file_shape) x itemsize`` whatever the in-file
        part of the item.
        """
        return resolved.n_files * self.frame_bytes

    def file_bytes(self, frame_ids: np.ndarray) -> int | None:
        """On-disk bytes of these files, or ``None`` if any size is unknown."""
        if self._file_sizes is None:
            return None
        sizes = self._file_sizes[frame_ids]
        if sizes.size and not np.all(sizes >= 0):  # NaN compares False
            return None
        return int(sizes.sum())

    # -- frames and files -------------------------------------------------

    def check_frames(self, frame_ids) -> np.ndarray:
        """Frame ids as a sorted unique int64 array; ``IndexError`` for ids out of range."""
        return check_frame_ids(frame_ids, self.n_frames)

    def files_for_frames(self, frame_ids) -> np.ndarray:
        """File names of these frames (frames sorted, duplicates removed)."""
        return self.fileuri_array.ravel()[self.check_frames(frame_ids)]

    def file_positions(self, frame_ids) -> np.ndarray:
        """``(n, n_grid_axes)`` positions of these frames in ``fileuri_array``."""
        ids = self.check_frames(frame_ids)
        if not self.grid_shape:
            return np.zeros((ids.size, 0), dtype=np.int64)
        return np.stack(np.unravel_index(ids, self.grid_shape), axis=1).astype(np.int64)

    @cached_property
    def _name_order(self) -> tuple[np.ndarray, np.ndarray]:
        flat = self.fileuri_array.ravel()
        order = np.argsort(flat, kind="stable")
        return flat[order], order

    def frames_for_files(self, names) -> np.ndarray:
        """Frame ids of these file names (sorted, unique); ``KeyError`` names unknown ones."""
        names = np.asarray(list(names) if not isinstance(names, np.ndarray) else names)
        if names.size == 0:
            return np.zeros(0, dtype=np.int64)
        sorted_names, order = self._name_order
        pos = np.searchsorted(sorted_names, names)
        pos_clipped = np.minimum(pos, sorted_names.size - 1)
        found = sorted_names[pos_clipped] == names
        if not np.all(found):
            missing = names[~found]
            raise KeyError(f"{missing.size} file names are not in this dataset, e.g. {missing[:3].tolist()}")
        return np.unique(order[pos_clipped].astype(np.int64))

    def frames_for_item(self, item: Any) -> np.ndarray:
        """Frame ids ``ds[item]`` touches."""
        return self.frame_ids(self.resolve(item))

    # -- covering a selection with slices ----------------------------------

    def cover_frames(self, frame_ids, *, name: str = "ds") -> SliceCover:
        """Items whose ``ds[item].files`` together are exactly these frames' files.

        The cover is built axis by axis: neighbouring positions along the first file
        axis whose sub-selections are identical share one slice, recursively; along
        the last axis the runs of consecutive frames become slices. On a 1-d file
        grid that is the minimum (one item per contiguous run); on more axes it is
        exact and disjoint but not always the minimum number of boxes (the minimum
        is a hard problem in general). Length-1 runs become ints (``ds[0, 5]``),
        whole axes ``:``, and trailing whole axes are left out.
        """
        ids = self.check_frames(frame_ids)
        if ids.size == 0:
            return SliceCover(items=[], snippet=f"# no frames selected: nothing to slice from {name}", n_files=0)
        reason = self.unsliceable_reason
        if reason:
            raise ValueError(reason)
        if self.n_file_axes == 0:
            items = [(Ellipsis,)]
        else:
            mask = np.zeros(self.n_frames, dtype=bool)
            mask[ids] = True
            boxes = _boxes(mask.reshape(self.grid_shape))
            items = [self._box_item(box) for box in boxes]
        return SliceCover(items=items, snippet=_snippet(items, name, self.grid_shape), n_files=int(ids.size))

    def _box_item(self, box: list[tuple[int, int]]) -> tuple:
        entries: list = []
        for (lo, hi), size in zip(box, self.grid_shape):
            if hi - lo == 1:
                entries.append(lo)
            else:
                entries.append(slice(None if lo == 0 else lo, None if hi == size else hi))
        while entries and entries[-1] == slice(None):
            entries.pop()
        if not entries:
            return (Ellipsis,)
        if all(not isinstance(e, slice) for e in entries) and len(entries) >= self.ndim:
            # cannot happen for real datasets (in-file axes exist), but never emit a 0-d item
            entries[-1] = slice(entries[-1], entries[-1] + 1)
        return tuple(entries)


def _canonical_file_entry(entry, size):
    if isinstance(entry, slice):
        lo, hi, _ = entry.indices(size)
        return slice(lo, max(lo, hi))
    return entry + size if entry < 0 else entry


def _runs(row: np.ndarray) -> list[tuple[int, int]]:
    """``[start, stop)`` runs of True in a 1-d boolean array."""
    padded = np.concatenate(([False], row, [False]))
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    return list(zip(edges[0::2].tolist(), edges[1::2].tolist()))


def _boxes(mask: np.ndarray) -> list[list[tuple[int, int]]]:
    """Disjoint boxes (one ``[start, stop)`` per axis) exactly covering a boolean mask."""
    if mask.ndim == 1:
        return [[run] for run in _runs(mask)]
    n = mask.shape[0]
    flat = mask.reshape(n, -1)
    nonempty = flat.any(axis=1)
    same_as_prev = np.zeros(n, dtype=bool)
    if n > 1:
        same_as_prev[1:] = np.all(flat[1:] == flat[:-1], axis=1)
    boxes = []
    start = 0
    while start < n:
        stop = start + 1
        while stop < n and same_as_prev[stop]:
            stop += 1
        if nonempty[start]:
            for sub in _boxes(mask[start]):
                boxes.append([(start, stop), *sub])
        start = stop
    return boxes


def _snippet(items: list, name: str, shape: tuple[int, ...]) -> str:
    exprs = [f"{name}[{format_item(item, shape)}]" for item in items]
    if len(exprs) == 1:
        return exprs[0]
    body = "".join(f"    {e},\n" for e in exprs)
    return f"parts = [\n{body}]"
