"""The shared lazy dataset model: one dkist dataset, a working slice, a frame selection.

Panels read a :class:`DatasetModel`, observe its traits, and write back only through
its methods. Nothing here reads FITS data or calls ``ds[...]``: every answer comes
from :mod:`dkist_widgets.core.fileindex` arithmetic over the file grid.

Choices
-------
* **Frames** are header rows: for a ``Dataset`` the C-order flat position in
  ``ds.files.fileuri_array``; for a ``TiledDataset`` the row in
  ``ds.combined_headers``, i.e. the tiles that were unmasked when the model got the
  dataset, in C order over the tile grid, each contributing its own frames in order
  (this is how dkist stacks the tile header tables). Frame ids never change while
  the model holds the dataset.
* **Traits vs methods.** Small values panels display are traits (``working_item``,
  ``working_preview``, ``n_selected``, ``n_local_files``...). Big arrays
  (``selected_frames``, ``local_files``, ``selected_tiles``) are read-only numpy
  arrays behind properties; a change bumps an ``Int`` version trait
  (``selection_version``, ``local_files_version``, ``tiles_version``) so observers
  are told without traitlets comparing arrays. Everything that changes state is a
  method that validates first and leaves the state untouched when it raises.
* **Threads.** Widget callbacks may arrive on the main thread or a comm thread.
  Every mutation runs under one ``threading.RLock``, and the version trait is
  bumped inside it, so observers see a consistent model and can call back into it
  from the same thread; an observer must not block waiting for another thread that
  uses the model.
* **Sliced datasets.** A model may hold ``ds[...]`` rather than a loaded dataset.
  Its file grid is then ``ds.files.fileuri_array`` and the answers are the files
  of the composed slice. dkist 1.18.1 itself gets re-slicing wrong (it applies
  the second item to the *original* file grid, see tests), so compare such
  answers with ``root[composed item]``.
* **Tiled datasets.** ``selected_tiles`` (boolean over the tile grid, default: the
  unmasked tiles) chooses which tiles a preview covers; a preview applies the item
  to every chosen tile, as ``TiledDataset.slice_tiles`` does, and sums files and
  bytes.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import traitlets

from .file_sizes import DownloadBytes, SizeEstimate, download_bytes, estimate_file_size
from .fileindex import FileIndex, SliceCover, check_frame_ids, format_item, normalise_item
from .inventory import inventory_of

__all__ = ["DatasetModel", "SlicePreview", "FrameBytes", "SELECTION_MODES"]

SELECTION_MODES = ("replace", "add", "remove", "intersect")


class FrameBytes(NamedTuple):
    """Bytes of a set of frames: ``on_disk`` (FITS file sizes; ``None`` unless every size
    is known) and ``data`` (frames x the array bytes of one file)."""

    on_disk: int | None
    data: int


@dataclass
class _Tile:
    """One component dataset: its grid position (``None`` for a plain Dataset)."""

    position: tuple[int, ...] | None
    dataset: Any
    index: FileIndex
    offset: int  # first frame id of this tile

    @property
    def stop(self) -> int:
        return self.offset + self.index.n_frames


@dataclass(frozen=True)
class SlicePreview:
    """What ``ds[item]`` would be, without building it.

    ``shape``, ``dropped_axes``, ``n_files``, ``nbytes`` and ``loaded_nbytes`` are
    computed eagerly (microseconds whatever the dataset size); ``files``,
    ``frame_ids``, ``file_positions``, ``file_bytes`` and ``n_local`` are computed
    on first access (they are as long as the number of files touched).

    Attributes
    ----------
    item
        The item as normalised (a tuple; ``None`` means the whole dataset).
    shape
        ``ds[item].data.shape`` (for a tiled dataset: of each chosen tile when they
        agree, else ``None``; see ``tile_shapes``).
    dropped_axes
        Data axes removed by an int index.
    n_files
        ``len(ds[item].files)`` (summed over chosen tiles).
    nbytes
        Bytes of the result array: ``dtype.itemsize x prod(shape)`` (summed over tiles).
    loaded_nbytes
        Bytes dkist reads to compute it: every touched file's whole array
        (``n_files x prod(files.shape) x itemsize``), since one file is one dask chunk.
    snippet
        Python to reproduce the slice with dkist (``ds[0, :42]``).
    tiles
        Grid positions of the tiles covered (``()`` for a plain Dataset).
    """

    item: tuple | None
    shape: tuple[int, ...] | None
    dropped_axes: tuple[int, ...]
    n_files: int
    nbytes: int
    loaded_nbytes: int
    tiles: tuple = ()
    tile_shapes: dict = field(default_factory=dict)
    _parts: tuple = field(default=(), repr=False, compare=False)
    _local: np.ndarray | None = field(default=None, repr=False, compare=False)
    _snippet: Any = field(default=None, repr=False, compare=False)
    _estimates: Any = field(default=None, repr=False, compare=False)

    @cached_property
    def snippet(self) -> str:
        """Python that reproduces this slice with dkist, e.g. ``ds[0, :42]`` (built on first access)."""
        return self._snippet() if callable(self._snippet) else str(self._snippet)

    @cached_property
    def frame_ids(self) -> np.ndarray:
        """Sorted frame ids (header rows) of the files touched."""
        if not self._parts:
            return np.zeros(0, dtype=np.int64)
        return np.concatenate([tile.offset + tile.index.frame_ids(r) for tile, r in self._parts])

    @cached_property
    def files(self) -> list[str]:
        """``ds[item].files.filenames`` (tiles concatenated in grid order)."""
        out: list[str] = []
        for tile, r in self._parts:
            out.extend(tile.index.files(r).tolist())
        return out

    @cached_property
    def file_positions(self) -> np.ndarray:
        """``(n_files, n_axes)`` positions in ``fileuri_array`` (tile position first when tiled)."""
        blocks = []
        for tile, r in self._parts:
            local = tile.index.file_positions(tile.index.frame_ids(r))
            if tile.position is not None:
                pos = np.broadcast_to(np.asarray(tile.position, dtype=np.int64), (local.shape[0], len(tile.position)))
                local = np.concatenate([pos, local], axis=1)
            blocks.append(local)
        if not blocks:
            return np.zeros((0, 0), dtype=np.int64)
        return np.concatenate(blocks, axis=0)

    @cached_property
    def file_bytes(self) -> int | None:
        """On-disk bytes of the FITS files touched, ``None`` unless every size is known.

        Sizes come from :meth:`DatasetModel.set_file_sizes` (a Globus listing, a local
        stat, ...); nothing estimates them.
        """
        total = 0
        for tile, r in self._parts:
            part = tile.index.file_bytes(tile.index.frame_ids(r))
            if part is None:
                return None
            total += part
        return total

    @cached_property
    def download_bytes(self) -> DownloadBytes:
        """Bytes a transfer of the files touched moves: exact sizes where known, else the
        labelled estimate (see :mod:`dkist_widgets.core.file_sizes`)."""
        return download_bytes(
            (tile.index.file_sizes, tile.index.frame_ids(r), self._estimates[tile.offset]) for tile, r in self._parts
        )

    @cached_property
    def n_local(self) -> int:
        """How many of the touched files were on disk at the last ``refresh_local_files``."""
        if self._local is None:
            return 0
        return int(np.count_nonzero(self._local[self.frame_ids]))


class DatasetModel(traitlets.HasTraits):
    """One dkist ``Dataset``/``TiledDataset``, a working slice, a frame selection, local files.

    Parameters
    ----------
    dataset
        A dkist ``Dataset`` or ``TiledDataset`` (or ``None``; see :meth:`set_dataset`).
    refresh_local
        List the dataset's folders at once to fill ``local_files`` (default True).
    """

    dataset = traitlets.Any(None, allow_none=True, read_only=True, help="The dkist dataset held.")
    is_tiled = traitlets.Bool(False, read_only=True)
    n_frames = traitlets.Int(0, read_only=True, help="Frames (= files = header rows).")
    working_item = traitlets.Any(None, allow_none=True, read_only=True, help="Normalised item or None (whole dataset).")
    working_preview = traitlets.Any(None, allow_none=True, read_only=True, help="SlicePreview of working_item.")
    selection_version = traitlets.Int(0, read_only=True, help="Bumped on every change of selected_frames.")
    selection_source = traitlets.Unicode("", read_only=True, help="Who made the last selection change.")
    n_selected = traitlets.Int(0, read_only=True)
    local_files_version = traitlets.Int(0, read_only=True, help="Bumped when local_files is refreshed.")
    n_local_files = traitlets.Int(0, read_only=True)
    tiles_version = traitlets.Int(0, read_only=True, help="Bumped when selected_tiles changes.")
    file_sizes_version = traitlets.Int(0, read_only=True)
    transfer_states_version = traitlets.Int(
        0, read_only=True, help="Bumped when transferring_frames or failed_frames change."
    )

    def __init__(self, dataset=None, *, refresh_local: bool = True, **kwargs):
        super().__init__(**kwargs)
        self._lock = threading.RLock()
        self._tiles: list[_Tile] = []
        self._is_tiled = False  # plain copy of the is_tiled trait for hot paths
        self._tile_grid_shape: tuple[int, ...] = ()
        self._selected = _frozen(np.zeros(0, dtype=np.int64))
        self._selected_mask_of: tuple[np.ndarray, np.ndarray] | None = None  # (selected ids, their mask)
        self._local = _frozen(np.zeros(0, dtype=bool))
        self._selected_tiles = _frozen(np.zeros(0, dtype=bool))
        self._transferring = self._failed = _frozen(np.zeros(0, dtype=np.int64))
        self._tile_headers = None  # unmasked tiles' header rows, stacked on first use (see headers)
        self._estimates: dict[int, SizeEstimate] = {}  # per tile offset: bytes assumed for an unlisted file
        if dataset is not None:
            self.set_dataset(dataset, refresh_local=refresh_local)

    @classmethod
    def from_asdf(cls, path, **kwargs) -> DatasetModel:
        """A model holding the dataset of the ASDF at ``path``, opened lazily (:mod:`.lazy_open`;
        ``dkist.load_dataset`` when the lazy reader declines). Errors as ``open_dataset_file``."""
        from .lazy_open import open_dataset_file

        return cls(open_dataset_file(path), **kwargs)

    # ------------------------------------------------------------------ dataset

    def set_dataset(self, dataset, *, refresh_local: bool = True) -> None:
        """Hold a new dataset (or ``None``); resets slice, selection, local files and sizes."""
        tiles, grid_shape, tiled = _tiles_of(dataset) if dataset is not None else ([], (), False)
        n = sum(t.index.n_frames for t in tiles)
        with self._lock:
            with self.hold_trait_notifications():
                self._tiles = tiles
                self._unreadable = {}  # frame id -> (what is wrong, (size, mtime)): see mark_unreadable
                self._tile_headers = None
                self._estimates = _size_estimates(dataset, tiles)
                self._is_tiled = tiled
                self._tile_grid_shape = grid_shape
                self._selected = _frozen(np.zeros(0, dtype=np.int64))
                self._local = _frozen(np.zeros(n, dtype=bool))
                self._selected_tiles = _frozen(~np.ma.getmaskarray(dataset._data) if tiled else np.zeros(0, dtype=bool))
                self.set_trait("dataset", dataset)
                self.set_trait("is_tiled", tiled)
                self.set_trait("n_frames", n)
                self.set_trait("working_item", None)
                self.set_trait("working_preview", self._preview(None) if tiles else None)
                self.set_trait("n_selected", 0)
                self.set_trait("selection_source", "")
                self.set_trait("selection_version", self.selection_version + 1)
                self.set_trait("n_local_files", 0)
                self.set_trait("local_files_version", self.local_files_version + 1)
                self.set_trait("tiles_version", self.tiles_version + 1)
                self.set_trait("file_sizes_version", self.file_sizes_version + 1)
                self._transferring = self._failed = _frozen(np.zeros(0, dtype=np.int64))
                self.set_trait("transfer_states_version", self.transfer_states_version + 1)
            if refresh_local and tiles:
                self.refresh_local_files()

    def _require(self) -> None:
        if not self._tiles:
            raise ValueError("the model holds no dataset yet: call set_dataset(ds) first")

    @property
    def headers(self):
        """The header table whose rows are the frames (``combined_headers`` when tiled).

        dkist keeps ``combined_headers`` for every tile even when some are masked; the
        frames are the unmasked tiles' only, so then their own tables are stacked
        (once per dataset) in frame order. For a dataset opened lazily this is its
        :class:`~.lazy_open.HeaderColumns` (columns read when asked for; ``ds.headers``
        would build the whole table).
        """
        ds = self.dataset
        if ds is None:
            return None
        if not self.is_tiled:
            from .lazy_open import header_columns_of  # opened lazily: the compact columns, not a full Table

            columns = header_columns_of(ds)
            return columns if columns is not None else ds.headers
        combined = ds.combined_headers
        if combined is None or len(combined) == self.n_frames or not self._tiles:
            return combined
        with self._lock:  # set_dataset swaps dataset, tiles and this cache under the lock
            if self.dataset is not ds:  # replaced since it was read above
                return combined
            if self._tile_headers is None:
                self._tile_headers = _stack_tile_headers(self._tiles, combined)
            return self._tile_headers

    @property
    def headers_match_files(self) -> bool:
        """Whether the header table has one row per file (some test ASDFs have none)."""
        headers = self.headers
        return headers is not None and len(headers) == self.n_frames

    @property
    def wcs_shape_mismatch(self) -> str | None:
        """A message when the gWCS's ``array_shape`` disagrees with the data shape, else ``None``.

        dkist slices the WCS too, and some gWCS transforms fail for an int index past
        their own ``array_shape`` even though the data has that pixel: previews then
        answer where dkist raises. Real DKIST ASDFs agree; this flags ones that do not.
        """
        ds = self.dataset
        if ds is None:
            return None
        tiles = [t.dataset for t in self._tiles]
        for tile in tiles:
            wcs_shape = getattr(tile.wcs, "array_shape", None)
            if wcs_shape is not None and tuple(wcs_shape) != tuple(tile.data.shape):
                return f"the WCS array_shape {tuple(wcs_shape)} differs from the data shape {tuple(tile.data.shape)}"
        return None

    @property
    def file_index(self) -> FileIndex:
        """The :class:`FileIndex` of a plain Dataset (``ValueError`` when tiled)."""
        self._require()
        if self.is_tiled:
            raise ValueError("a tiled dataset has one FileIndex per tile: see tile_indexes")
        return self._tiles[0].index

    @property
    def tile_indexes(self) -> dict[tuple[int, ...], FileIndex]:
        """Tile grid position -> its :class:`FileIndex` (tiled datasets)."""
        return {t.position: t.index for t in self._tiles if t.position is not None}

    @property
    def tile_grid_shape(self) -> tuple[int, ...]:
        return self._tile_grid_shape

    # ------------------------------------------------------------------ slices

    def preview(self, item: Any = None) -> SlicePreview:
        """What ``ds[item]`` would be (``None``: the working item, or the whole dataset).

        Raises ``ValueError``/``IndexError`` for items dkist rejects.
        """
        self._require()
        with self._lock:
            if item is None:
                item = self.working_item
            return self._preview(item)

    def set_slice(self, item: Any) -> SlicePreview:
        """Make ``item`` the working slice (``None`` clears it). Raises and keeps the old one if dkist would reject it."""
        self._require()
        with self._lock:
            if item is None:
                normalised = None
                preview = self._preview(None)
            else:
                normalised = normalise_item(item)
                preview = self._preview(normalised)
            with self.hold_trait_notifications():
                self.set_trait("working_item", normalised)
                self.set_trait("working_preview", preview)
            return preview

    def clear_slice(self) -> None:
        self.set_slice(None)

    def frames_for_item(self, item: Any) -> np.ndarray:
        """Frame ids ``ds[item]`` touches (over the chosen tiles when tiled); ``None``: all."""
        self._require()
        with self._lock:
            return self._preview(None if item is None else normalise_item(item)).frame_ids

    def _preview(self, item) -> SlicePreview:
        if not self._is_tiled:
            tile = self._tiles[0]
            parts = [(tile, tile.index.whole() if item is None else tile.index.resolve(item))]
        else:
            parts = [
                (tile, tile.index.whole() if item is None else tile.index.resolve(item))
                for tile in self._chosen_tiles()
            ]
        if not self._is_tiled:
            tile, r = parts[0]
            index = tile.index
            snippet = "ds" if item is None else (lambda: f"ds[{format_item(r.item, index.data_shape)}]")
            return SlicePreview(
                item,
                r.shape,
                r.dropped_axes,
                r.n_files,
                index.nbytes(r),
                index.loaded_nbytes(r),
                _parts=(parts[0],),
                _local=self._local,
                _snippet=snippet,
                _estimates=self._estimates,
            )
        shapes = {tile.position: r.shape for tile, r in parts}
        distinct = set(shapes.values())
        dropped = parts[0][1].dropped_axes if parts else ()
        return SlicePreview(
            item=item,
            shape=distinct.pop() if len(distinct) == 1 else None,
            dropped_axes=dropped,
            n_files=sum(r.n_files for _, r in parts),
            nbytes=sum(t.index.nbytes(r) for t, r in parts),
            loaded_nbytes=sum(t.index.loaded_nbytes(r) for t, r in parts),
            _snippet=self._tiled_snippet(item, [t.position for t, _ in parts]),
            tiles=tuple(t.position for t, _ in parts),
            tile_shapes=shapes,
            _parts=tuple(parts),
            _local=self._local,
            _estimates=self._estimates,
        )

    def _tiled_snippet(self, item, positions) -> str:
        all_unmasked = len(positions) == len(self._tiles)
        text = "..." if item is None else format_item(item)
        if all_unmasked:
            return "ds" if item is None else f"ds.slice_tiles[{text}]"
        pos = ", ".join(f"({', '.join(map(str, p))})" for p in positions)
        sliced = "ds[p]" if item is None else f"ds[p][{text}]"
        return f"[{sliced} for p in [{pos}]]"

    # ------------------------------------------------------------------ tiles

    @property
    def selected_tiles(self) -> np.ndarray:
        """Boolean over the tile grid: tiles a preview covers (read-only; empty if not tiled)."""
        return self._selected_tiles

    def select_tiles(self, mask) -> None:
        """Choose the tiles previews cover (boolean over the tile grid). Masked tiles cannot be chosen."""
        self._require()
        if not self.is_tiled:
            raise ValueError("select_tiles needs a TiledDataset")
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != self._tile_grid_shape:
            raise ValueError(f"the tile mask must have shape {self._tile_grid_shape}, got {mask.shape}")
        available = np.zeros(self._tile_grid_shape, dtype=bool)
        for t in self._tiles:
            available[t.position] = True
        if np.any(mask & ~available):
            raise ValueError("some chosen tiles are masked in the dataset (they have no data)")
        with self._lock:
            if np.array_equal(mask, self._selected_tiles):
                return
            self._selected_tiles = _frozen(mask.copy())
            with self.hold_trait_notifications():
                self.set_trait("working_preview", self._preview(self.working_item))
                self.set_trait("tiles_version", self.tiles_version + 1)

    def _chosen_tiles(self) -> list[_Tile]:
        if not self.is_tiled:
            return self._tiles
        return [t for t in self._tiles if self._selected_tiles[t.position]]

    # ------------------------------------------------------------------ selection

    @property
    def selected_frames(self) -> np.ndarray:
        """Sorted unique frame ids selected (read-only array; observe ``selection_version``)."""
        return self._selected

    @property
    def selected_mask(self) -> np.ndarray:
        """Boolean per frame: selected (read-only; built once per selection change)."""
        with self._lock:
            ids = self._selected
            if self._selected_mask_of is None or self._selected_mask_of[0] is not ids:
                mask = np.zeros(self.n_frames, dtype=bool)
                mask[ids] = True
                self._selected_mask_of = (ids, _frozen(mask))
            return self._selected_mask_of[1]

    def select_frames(self, frame_ids, *, source: str = "", mode: str = "replace") -> np.ndarray:
        """Change the selection; ``mode`` is replace/add/remove/intersect.

        ``frame_ids`` may be ints or a boolean mask over all frames. Out-of-range ids
        raise ``IndexError`` and change nothing. ``selection_version`` is bumped only
        when the selection really changes (so linked panels that echo a selection
        back do not loop). Returns the new selection.
        """
        self._require()
        if mode not in SELECTION_MODES:
            raise ValueError(f"mode must be one of {SELECTION_MODES}, got {mode!r}")
        ids = self._check_frames(frame_ids)
        with self._lock:
            old = self._selected
            if mode == "replace":
                new = ids
            elif mode == "add":
                new = np.union1d(old, ids)
            elif mode == "remove":
                new = np.setdiff1d(old, ids, assume_unique=True)
            else:
                new = np.intersect1d(old, ids, assume_unique=True)
            if np.array_equal(new, old):
                return old
            self._selected = _frozen(new.astype(np.int64, copy=False))
            with self.hold_trait_notifications():
                self.set_trait("n_selected", int(new.size))
                self.set_trait("selection_source", str(source))
                self.set_trait("selection_version", self.selection_version + 1)
            return self._selected

    def clear_selection(self, *, source: str = "") -> None:
        self.select_frames(np.zeros(0, dtype=np.int64), source=source, mode="replace")

    def _check_frames(self, frame_ids) -> np.ndarray:
        return check_frame_ids(frame_ids, self.n_frames)

    def _split(self, ids: np.ndarray):
        """Yield (tile, local ids) for the tiles holding some of these frames."""
        for tile in self._tiles:
            lo, hi = np.searchsorted(ids, [tile.offset, tile.stop])
            if hi > lo:
                yield tile, ids[lo:hi] - tile.offset

    # ------------------------------------------------------------------ frames <-> files

    def files_for_frames(self, frame_ids=None) -> list[str]:
        """File names of these frames (default: the selection), in frame order."""
        self._require()
        ids = self._selected if frame_ids is None else self._check_frames(frame_ids)
        out: list[str] = []
        for tile, local in self._split(ids):
            out.extend(tile.index.files_for_frames(local).tolist())
        return out

    def bytes_for_frames(self, frame_ids=None) -> FrameBytes:
        """:class:`FrameBytes` of these frames (default: the selection), summed over tiles."""
        self._require()
        ids = self._selected if frame_ids is None else self._check_frames(frame_ids)
        on_disk: int | None = 0
        data = 0
        for tile in self._tiles:  # every tile, so an unknown size is never skipped over
            lo, hi = np.searchsorted(ids, [tile.offset, tile.stop])
            local = ids[lo:hi] - tile.offset
            part = tile.index.file_bytes(local)
            on_disk = None if part is None or on_disk is None else on_disk + part
            data += int(local.size) * int(tile.index.frame_bytes)
        return FrameBytes(on_disk, data)

    def frames_for_files(self, names) -> np.ndarray:
        """Frame ids of these file names; ``KeyError`` lists unknown names."""
        self._require()
        names = np.asarray(list(names))
        if names.size == 0:
            return np.zeros(0, dtype=np.int64)
        if not self.is_tiled:
            return self._tiles[0].index.frames_for_files(names)
        found = np.zeros(names.size, dtype=bool)
        out = []
        for tile in self._tiles:
            sorted_names, order = tile.index._name_order
            pos = np.minimum(np.searchsorted(sorted_names, names), sorted_names.size - 1)
            hit = sorted_names[pos] == names
            found |= hit
            out.append(tile.offset + order[pos[hit]])
        if not np.all(found):
            missing = names[~found]
            raise KeyError(f"{missing.size} file names are not in this dataset, e.g. {missing[:3].tolist()}")
        return np.unique(np.concatenate(out).astype(np.int64))

    def file_positions(self, frame_ids) -> np.ndarray:
        """``(n, axes)`` positions of frames in ``fileuri_array`` (tile position first when tiled)."""
        self._require()
        ids = self._check_frames(frame_ids)
        blocks = []
        for tile, local in self._split(ids):
            pos = tile.index.file_positions(local)
            if tile.position is not None:
                tp = np.broadcast_to(np.asarray(tile.position, dtype=np.int64), (pos.shape[0], len(tile.position)))
                pos = np.concatenate([tp, pos], axis=1)
            blocks.append(pos)
        return np.concatenate(blocks) if blocks else np.zeros((0, 0), dtype=np.int64)

    def slices_for_frames(self, frame_ids=None, *, name: str = "ds") -> SliceCover:
        """Disjoint ``ds[...]`` items whose files are exactly these frames (default: the selection).

        For a tiled dataset the items are ``(tile_position, item)`` and the snippet
        reads ``ds[i, j][item]``. See :meth:`FileIndex.cover_frames` for how the cover is built.
        """
        self._require()
        ids = self._selected if frame_ids is None else self._check_frames(frame_ids)
        if not self.is_tiled:
            return self._tiles[0].index.cover_frames(ids, name=name)
        items = []
        lines = []
        for tile, local in self._split(ids):
            cover = tile.index.cover_frames(local)
            tp = ", ".join(map(str, tile.position))
            for it in cover.items:
                items.append((tile.position, it))
                lines.append(f"{name}[{tp}][{format_item(it, tile.index.grid_shape)}]")
        if not lines:
            snippet = f"# no frames selected: nothing to slice from {name}"
        elif len(lines) == 1:
            snippet = lines[0]
        else:
            snippet = "parts = [\n" + "".join(f"    {line},\n" for line in lines) + "]"
        return SliceCover(items=items, snippet=snippet, n_files=int(ids.size))

    # ------------------------------------------------------------------ local files

    @property
    def local_files(self) -> np.ndarray:
        """Boolean per frame (frame order = flat ``fileuri_array`` order): file exists under basepath."""
        return self._local

    def refresh_local_files(self) -> int:
        """Re-check which files exist under each tile's ``files.basepath``.

        One ``os.scandir`` per distinct folder (file URIs may hold sub-folders), no
        per-file ``stat``. A missing basepath or folder means "none there". Returns
        the number of local files.
        """
        self._require()
        local = np.zeros(self.n_frames, dtype=bool)
        for tile in self._tiles:
            local[tile.offset : tile.stop] = _exists_under(
                tile.dataset.files.basepath, tile.index.fileuri_array.ravel()
            )
        self._drop_unreadable(local)
        with self._lock:
            self._local = _frozen(local)
            with self.hold_trait_notifications():
                self.set_trait("n_local_files", int(np.count_nonzero(local)))
                self.set_trait("local_files_version", self.local_files_version + 1)
                if self.working_preview is not None:
                    self.set_trait("working_preview", self._preview(self.working_item))
        return self.n_local_files

    # -- files on disk that cannot be used (issue 14.11; a self-contained addition by the preview's owner)

    def mark_unreadable(self, frames) -> int:
        """``{frame id: what is wrong}`` for files on disk that are damaged or of the wrong
        shape (found by a reader such as the preview). They leave ``local_files`` and the
        on-disk count until the file changes on disk (size or mtime); ``unreadable`` holds
        the reasons. Returns the number of local files."""
        self._require()
        marks = getattr(self, "_unreadable", {})
        for frame, why in dict(frames).items():
            path = self._frame_path(int(frame))
            marks[int(frame)] = (str(why), _stat_key(path))
        self._unreadable = marks
        return self.refresh_local_files()

    @property
    def unreadable(self) -> dict[int, str]:
        """Frame id -> what is wrong with its file (see :meth:`mark_unreadable`)."""
        return {f: why for f, (why, _key) in getattr(self, "_unreadable", {}).items()}

    def _frame_path(self, frame: int):
        for tile in self._tiles:
            if tile.offset <= frame < tile.stop:
                base = tile.dataset.files.basepath
                uri = str(tile.index.fileuri_array.ravel()[frame - tile.offset])
                return None if base is None else Path(base).expanduser() / uri
        raise IndexError(f"frame {frame} is not in 0..{self.n_frames - 1}")

    def _drop_unreadable(self, local: np.ndarray) -> None:
        marks = getattr(self, "_unreadable", {})
        for frame, (_why, key) in list(marks.items()):
            if frame >= local.size or _stat_key(self._frame_path(frame)) != key:
                del marks[frame]  # replaced, removed or another dataset: look again
            else:
                local[frame] = False

    def set_basepath(self, basepath) -> int:
        """Point the dataset's files at ``basepath`` (dkist's ``files.basepath``) and refresh."""
        self._require()
        for tile in self._tiles:
            tile.dataset.files.basepath = basepath
        return self.refresh_local_files()

    def set_file_sizes(self, sizes) -> None:
        """On-disk sizes in bytes per frame (negative/NaN = unknown), used by ``SlicePreview.file_bytes``."""
        self._require()
        sizes = np.asarray(sizes, dtype=float).ravel()
        if sizes.size != self.n_frames:
            raise ValueError(f"expected {self.n_frames} sizes, got {sizes.size}")
        with self._lock:
            for tile in self._tiles:
                tile.index.set_file_sizes(sizes[tile.offset : tile.stop])
            with self.hold_trait_notifications():
                self.set_trait("working_preview", self._preview(self.working_item))
                self.set_trait("file_sizes_version", self.file_sizes_version + 1)

    def download_bytes(self, frame_ids=None) -> DownloadBytes:
        """Bytes a transfer of these frames' files moves (default: the selection): exact
        sizes where :meth:`set_file_sizes` gave them, else the labelled estimate."""
        self._require()
        with self._lock:
            ids = self._selected if frame_ids is None else self._check_frames(frame_ids)
            parts = []
            for tile in self._tiles:  # ids are sorted: each tile's are one run
                lo, hi = np.searchsorted(ids, [tile.offset, tile.stop])
                parts.append((tile.index.file_sizes, ids[lo:hi] - tile.offset, self._estimates[tile.offset]))
            return download_bytes(parts)

    # ------------------------------------------------------------------ transfer states

    @property
    def transferring_frames(self) -> np.ndarray:
        """Frame ids whose files a running transfer is moving (observe ``transfer_states_version``)."""
        return self._transferring

    @property
    def failed_frames(self) -> np.ndarray:
        """Frame ids whose files a transfer failed to move (observe ``transfer_states_version``)."""
        return self._failed

    def set_transfer_states(self, transferring=(), failed=()) -> bool:
        """Replace both sets (frame ids); a frame in both counts as failed.

        Bumps ``transfer_states_version`` only when something changed; returns whether it did.
        """
        self._require()
        moving = self._check_frames(transferring)
        failed = self._check_frames(failed)
        moving = np.setdiff1d(moving, failed, assume_unique=True)
        with self._lock:
            if np.array_equal(moving, self._transferring) and np.array_equal(failed, self._failed):
                return False
            self._transferring = _frozen(moving.astype(np.int64, copy=False))
            self._failed = _frozen(failed.astype(np.int64, copy=False))
            self.set_trait("transfer_states_version", self.transfer_states_version + 1)
            return True


# ---------------------------------------------------------------------- helpers


def _frozen(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


def _stack_tile_headers(tiles, combined):
    """The header rows of these tiles, in frame order; ``combined`` when a tile's rows are unusable."""
    from astropy.table import vstack

    parts = []
    for tile in tiles:
        part = getattr(tile.dataset, "headers", None)
        if part is None or len(part) != tile.index.n_frames:
            return combined  # headers_match_files then says so
        parts.append(part)
    return vstack(parts, metadata_conflicts="silent")


def _size_estimates(dataset, tiles) -> dict[int, SizeEstimate]:
    """Per tile: the bytes assumed for a file not yet listed (inventory mean, else array bytes)."""
    whole = inventory_of(dataset) if dataset is not None else {}
    return {t.offset: estimate_file_size(inventory_of(t.dataset) or whole, t.index.frame_bytes) for t in tiles}


def _tiles_of(dataset):
    """Split a Dataset/TiledDataset into tiles with frame offsets."""
    from dkist import Dataset, TiledDataset  # imported lazily: dkist is slow to import

    if isinstance(dataset, TiledDataset):
        data = dataset._data
        mask = np.ma.getmaskarray(data)
        tiles = []
        offset = 0
        for position in np.ndindex(data.shape):
            if mask[position]:
                continue
            tile_ds = data.data[position]
            index = FileIndex.from_dataset(tile_ds)
            tiles.append(_Tile(position=tuple(int(p) for p in position), dataset=tile_ds, index=index, offset=offset))
            offset += index.n_frames
        if not tiles:
            raise ValueError("every tile of this TiledDataset is masked")
        return tiles, tuple(data.shape), True
    if isinstance(dataset, Dataset):
        return [_Tile(position=None, dataset=dataset, index=FileIndex.from_dataset(dataset), offset=0)], (), False
    raise TypeError(f"expected a dkist Dataset or TiledDataset, got {type(dataset).__name__}")


def _stat_key(path) -> tuple | None:
    """(size, mtime) of a file, None when absent: tells whether it changed."""
    try:
        st = os.stat(path) if path is not None else None
    except OSError:
        return None
    return None if st is None else (st.st_size, st.st_mtime_ns)


def _exists_under(basepath, uris: np.ndarray) -> np.ndarray:
    """Which of these relative URIs exist as files under ``basepath`` (one listing per folder)."""
    found = np.zeros(uris.size, dtype=bool)
    if basepath is None or uris.size == 0:
        return found
    base = Path(basepath).expanduser()
    if not base.is_dir():  # nothing downloaded yet: no need to look at a million names
        return found
    uris = uris.astype(str)
    # which names hold a folder: compare the code points at once (np.char.find is a
    # Python-level loop, 0.5 s for a million names)
    width = uris.dtype.itemsize // 4
    has_dir = (uris.view(np.uint32).reshape(uris.size, width) == ord("/")).any(axis=1) if width else found
    if not has_dir.any():
        folders = {"": np.arange(uris.size)}
        names = uris
    else:
        parts = np.char.rpartition(uris, "/")
        dirs, names = parts[:, 0], parts[:, 2]
        unique, inverse = np.unique(dirs, return_inverse=True)
        folders = {d: np.flatnonzero(inverse == i) for i, d in enumerate(unique)}
    for folder, members in folders.items():
        try:
            with os.scandir(base / folder) as entries:
                listing = [e.name for e in entries if e.is_file()]
        except (FileNotFoundError, NotADirectoryError, PermissionError):
            continue
        if listing:
            # a hash lookup per name (np.isin sorts both sides of unicode arrays: seconds at 1M)
            found[members] = pd.Index(names[members], dtype=object).isin(listing)
    return found
