"""dkist's file manager for a dataset's files, with a loader made only for a file that is used.

``dkist``'s ``StripedExternalArray`` makes one ``AstropyFITSLoader`` per file when it is
built, and ``stack_loader_array`` one dask task per file plus one per file for the
reshape (a million files: 8 s and 10 s). :class:`LazyStripedArray` is a
``StripedExternalArray`` (so ``FileManager``, ``DKISTFileManager``, slicing,
``basepath``, ``filenames``, ``download()`` and ``save_dataset`` work unchanged) whose
``loader_array`` is a :class:`LoaderGrid`: it has the grid's shape and makes (and
keeps) the loader of a file the first time that file is indexed.

The dataset's array (:func:`lazy_dask_array`) is ``dask.array.from_array`` over
:class:`FileGridArray`: one chunk per file, exactly the chunks dkist's array has
(``(1,)*grid dims + the file's array``), its graph a blockwise layer that is culled
before any task is made, so computing a slice makes tasks (and loaders) only for the
files it touches. A file is read by its loader as dkist reads it (``AstropyFITSLoader``:
NaN when the file is absent) and, like dkist's, the loader resolves ``basepath`` when
it reads, so setting ``ds.files.basepath`` later redirects arrays made before.
"""

from __future__ import annotations

import threading
import uuid

import numpy as np

__all__ = ["flat_positions", "LoaderGrid", "LazyStripedArray", "FileGridArray", "lazy_dask_array"]


def _striped_base():
    from dkist.io.dask.striped_array import StripedExternalArray

    return StripedExternalArray


def flat_positions(shape: tuple[int, ...], item) -> np.ndarray:
    """C-order flat positions in a grid of ``shape`` selected by ``item`` (ints, slices, ``...``),
    shaped as numpy would shape ``grid[item]``; other items go through a full index grid."""
    item = item if isinstance(item, tuple) else (item,)
    if any(i is Ellipsis for i in item):
        at = next(k for k, i in enumerate(item) if i is Ellipsis)
        fill = len(shape) - (len(item) - 1)
        item = item[:at] + (slice(None),) * fill + item[at + 1 :]
    if len(item) > len(shape) or not all(isinstance(i, (slice, int, np.integer)) for i in item):
        return np.arange(int(np.prod(shape))).reshape(shape)[item]
    item = item + (slice(None),) * (len(shape) - len(item))
    axes = [np.arange(n)[i] for n, i in zip(shape, item)]
    kept = [np.atleast_1d(a) for a in axes]
    flat = np.ravel_multi_index(np.ix_(*kept), shape) if kept else np.zeros((), dtype=np.intp)
    out_shape = tuple(a.size for a in axes if np.ndim(a))
    return flat.reshape(out_shape)


class LoaderGrid:
    """An object-array stand-in of the grid's shape whose loaders are made on first index."""

    dtype = np.dtype(object)

    def __init__(self, owner: LazyStripedArray):
        self._owner = owner
        self.shape = owner._fileuri_array.shape
        self.ndim = len(self.shape)
        self.size = int(owner._fileuri_array.size)
        self._made: dict[int, object] = {}
        self._lock = threading.Lock()

    def loader(self, flat_index: int):
        """The loader of the file at C-order position ``flat_index`` (made once)."""
        found = self._made.get(flat_index)
        if found is not None:
            return found
        with self._lock:
            found = self._made.get(flat_index)
            if found is None:
                owner = self._owner
                found = owner._loader(
                    owner._fileuri_array.flat[flat_index], owner.shape, owner.dtype, owner.target, owner.basepath
                )
                self._made[flat_index] = found
            return found

    def __getstate__(self):  # picklable (dask's process and distributed schedulers): no lock
        state = self.__dict__.copy()
        del state["_lock"]
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._lock = threading.Lock()

    @property
    def n_made(self) -> int:
        return len(self._made)

    def made(self):
        return list(self._made.values())

    def __len__(self) -> int:
        return self.shape[0] if self.shape else 0

    def __getitem__(self, item):
        positions = flat_positions(self.shape, item)
        if np.ndim(positions) == 0:
            return self.loader(int(positions))
        out = np.empty(positions.shape, dtype=object)
        for i, flat_index in enumerate(positions.flat):
            out.flat[i] = self.loader(int(flat_index))
        return out

    def __array__(self, dtype=None, copy=None):
        return self[...]

    @property
    def flat(self):
        return self[...].flat


class LazyStripedArray(_striped_base()):
    """``StripedExternalArray`` without a loader per file at construction (see the module doc)."""

    def __init__(self, fileuris: np.ndarray, target, dtype, shape, *, loader, basepath=None):
        # Not calling super().__init__: it makes every loader. Same attributes otherwise.
        self.shape = tuple(shape)
        self.dtype = dtype
        self.target = target
        self._loader = loader
        self._basepath = self._sanitize_basepath(basepath)
        self.chunksize = None
        self._fileuri_array = np.atleast_1d(fileuris)
        self._loader_array = LoaderGrid(self)

    @property
    def basepath(self):
        return self._basepath

    @basepath.setter
    def basepath(self, value):
        self._basepath = self._sanitize_basepath(value)
        for loader in self._loader_array.made():
            loader.basepath = self._basepath

    def _generate_array(self):
        if self._loader_array.size == 1:  # dkist squashes a single file's array: use its own code
            from dkist.io.dask.utils import stack_loader_array

            return stack_loader_array(np.asarray(self._loader_array), self.output_shape, None)
        return lazy_dask_array(self)


class FileGridArray:
    """Array-like over the whole dataset for ``dask.array.from_array``: indexing one file's chunk reads it."""

    def __init__(self, striped: LazyStripedArray):
        self._striped = striped
        self._grid = striped._loader_array
        file_shape = tuple(striped.shape)
        self.file_shape = file_shape[1:] if file_shape[0] == 1 else file_shape
        self.grid_shape = self._grid.shape
        self.shape = tuple(self.grid_shape) + tuple(self.file_shape)
        self.dtype = np.dtype(striped.dtype)
        self.ndim = len(self.shape)

    def __getitem__(self, item):
        item = item if isinstance(item, tuple) else (item,)
        n = len(self.grid_shape)
        grid_item, pixel_item = item[:n], item[n:]
        positions = flat_positions(self.grid_shape, grid_item)
        out_grid_shape = positions.shape
        blocks = []
        for flat_index in positions.ravel():
            data = np.asarray(self._grid.loader(int(flat_index)).data)
            blocks.append(data.reshape(self.file_shape)[pixel_item])
        if not blocks:
            return np.empty(out_grid_shape + (0,) * len(self.file_shape), dtype=self.dtype)
        return np.stack(blocks).reshape(out_grid_shape + blocks[0].shape).astype(self.dtype, copy=False)


def lazy_dask_array(striped: LazyStripedArray):
    """The dataset's dask array: dkist's shape, chunks and dtype, tasks made per touched file."""
    import dask.array

    source = FileGridArray(striped)
    chunks = tuple((1,) * n for n in source.grid_shape) + tuple((s,) for s in source.file_shape)
    # dask shows the part of the name before "-"; dkist's array is "load_files" reshaped to the grid
    # (a no-op, keeping the name, for a one-axis grid)
    prefix = "load_files" if len(source.grid_shape) == 1 else "reshape"
    name = f"{prefix}-{uuid.uuid4().hex}"
    return dask.array.from_array(
        source,
        chunks=chunks,
        name=name,
        asarray=False,
        fancy=False,
        lock=False,
        inline_array=False,
        meta=np.empty((0,) * source.ndim, dtype=source.dtype),
    )
