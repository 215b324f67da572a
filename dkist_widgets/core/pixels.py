"""Pixels of a dkist dataset, read lazily: images, profiles, colour limits, per-frame statistics.

No widgets here. Everything takes a :class:`~dkist_widgets.core.model.DatasetModel`
(for the file grid and ``local_files``) and reads only the files a request needs.

Choices
-------
* **Direct per-file reads.** A request is an item with exactly one or two
  ``slice(None)`` axes and ints elsewhere. Its file-axis part picks the files, its
  in-file part is applied to each file's HDU through ``hdu.section`` (memory-mapped
  for plain images, only the needed tiles for tile-compressed ones), so
  ``ds[0, :, 466, :]`` reads one row of each of 100 files rather than 100 whole
  frames, and no gWCS is touched. Files are opened as dkist's own loader opens
  them (``memmap=False, do_not_scale_image_data=True``, ``hdu.section``), so the
  values equal ``ds.data[...]`` (dkist issue 256 spends two thirds of a plot in
  the WCS). Files are read by a small thread pool. When the dataset's data axes do
  not split cleanly into file axes + in-file axes (a dataset sliced inside its
  files), the dataset's own dask array is used instead (NaN for missing files).
* **Missing is not a value.** Which files exist comes from ``model.local_files``
  (refreshed by :meth:`DatasetModel.refresh_local_files`); a file listed but
  unreadable, damaged or holding an array of the wrong shape counts as missing
  too, and the slab names it and says why (``Slab.problems``; issue 14.11). Results carry a boolean ``missing`` mask next
  to NaN-filled values, so a view can draw "missing" apart from NaN pixels in data.
* **Orientation.** :func:`read_image` returns ``(ny, nx)`` for
  ``image_axes=(x_axis, y_axis)``, row 0 at the *lowest* y index, as ndcube's
  ``plot(plot_axes=...)`` draws it (``origin="lower"``).
* **Statistics** (``StatsJob``, ``frame_statistics``, ``add_stats_columns``) live in
  :mod:`dkist_widgets.core.pixel_stats` and are re-exported here.
* **Where to start.** :func:`start_indices` picks the slider indices whose image
  holds the most files on disk (the first such), :func:`indices_on_disk` the
  indices along one slider axis whose image holds any (issue 14.8).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .fits_frames import read_image_part

__all__ = [
    "Slab",
    "Layout",
    "layout_of",
    "normalise_request",
    "read_slab",
    "read_image",
    "read_profile",
    "read_mosaic",
    "percentile_limits",
    "frame_paths",
    "start_indices",
    "indices_on_disk",
    "frame_ids_of",
]

_READ_THREADS = max(2, min(8, (os.cpu_count() or 2) * 2))


@dataclass(frozen=True)
class Slab:
    """Values read for one request.

    ``values`` is float32 with NaN where ``missing`` (file not on disk) and wherever
    the data itself is NaN; ``missing`` has the same shape. ``n_files`` is how many
    files the request touches, ``n_read`` how many were read.
    """

    values: np.ndarray
    missing: np.ndarray
    n_files: int
    n_read: int
    #: ``(file name, what is wrong)`` for files on disk that could not be used.
    problems: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Layout:
    """How a (tile) dataset's data axes split into file axes and in-file axes."""

    grid_shape: tuple[int, ...]
    infile_shape: tuple[int, ...]
    file_array_shape: tuple[int, ...]  # the array inside each FITS file (may have leading 1s)
    target_hdu: int
    basepath: Path | None
    uris: np.ndarray  # fileuri_array (grid shape)

    @property
    def direct(self) -> bool:
        """Whether per-file reads reproduce the data array (else use dask)."""
        return (
            int(np.prod(self.infile_shape)) == int(np.prod(self.file_array_shape))
            and len(self.file_array_shape) >= len(self.infile_shape)
            and tuple(self.file_array_shape[len(self.file_array_shape) - len(self.infile_shape) :]) == self.infile_shape
        )


def layout_of(dataset) -> Layout:
    """The :class:`Layout` of a plain dkist ``Dataset`` (one tile)."""
    files = dataset.files
    uris = np.asarray(files.fileuri_array)
    grid = tuple(int(n) for n in uris.shape)
    shape = tuple(int(n) for n in dataset.data.shape)
    infile = shape[len(grid) :]
    target = 0
    try:
        target = int(files._fm._striped_external_array.target)  # dkist's HDU index (private; 0 if absent)
    except AttributeError:
        pass
    base = files.basepath
    return Layout(
        grid_shape=grid,
        infile_shape=infile,
        file_array_shape=tuple(int(n) for n in files.shape),
        target_hdu=target,
        basepath=Path(base).expanduser() if base is not None else None,
        uris=uris,
    )


def normalise_request(shape: Sequence[int], image_axes: Sequence[int], indices: Sequence[int] | dict) -> tuple:
    """An item: ``slice(None)`` on ``image_axes``, an int index elsewhere.

    ``indices`` is a full-length sequence (entries on image axes ignored) or a dict
    ``axis -> index`` (absent axes default to 0). Negative indices count from the
    end. Raises ``ValueError``/``IndexError`` with the axis named.
    """
    ndim = len(shape)
    axes = [int(a) for a in image_axes]
    if not 1 <= len(axes) <= 2:
        raise ValueError(f"choose one or two image axes, got {list(image_axes)}")
    for a in axes:
        if not 0 <= a < ndim:
            raise ValueError(f"axis {a} is not an axis of this {ndim}-d dataset")
    if len(set(axes)) != len(axes):
        raise ValueError("the two image axes must differ")
    if isinstance(indices, dict):
        full = [int(indices.get(a, 0)) for a in range(ndim)]
    else:
        full = [int(i) for i in indices]
        if len(full) != ndim:
            raise ValueError(f"expected {ndim} indices, got {len(full)}")
    item = []
    for axis, (n, index) in enumerate(zip(shape, full, strict=False)):
        if axis in axes:
            item.append(slice(None))
            continue
        if not -n <= index < n:
            raise IndexError(f"index {index} is out of range for axis {axis} of length {n}")
        item.append(index % n)
    return tuple(item)


def _why(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text[:160]}" if text else type(exc).__name__


def _read_part(path: Path, target: int, file_item: tuple, file_shape: tuple | None = None):
    """``(array, None)`` or ``(None, what is wrong)`` for ``file_item`` of HDU ``target``."""
    # plain images straight from the file (issue 18.5); anything unusual, damaged or of
    # another shape than file_shape goes on to astropy, which names what is wrong
    part = read_image_part(path, target, file_item, file_shape)
    if part is not None:
        return part, None
    from astropy.io import fits

    try:
        with fits.open(path, memmap=False, do_not_scale_image_data=True, lazy_load_hdus=True) as hdul:
            hdu = hdul[target]
            shape = tuple(int(n) for n in (hdu.shape or ()))
            if file_shape is not None and shape != tuple(file_shape):
                return None, f"holds an array of shape {shape}, the dataset's files hold {tuple(file_shape)}"
            part = hdu.section[file_item]
            return np.array(part, dtype=np.float32), None
    except FileNotFoundError:
        return None, "vanished from disk"
    except (OSError, IndexError, TypeError, ValueError, KeyError, EOFError) as exc:
        return None, f"cannot be read ({_why(exc)})"


def read_slab(layout: Layout, item: tuple, local: np.ndarray, *, dataset=None, threads: int | None = None) -> Slab:
    """Values of ``data[item]`` (the non-int axes kept, in numpy order) and the missing mask.

    ``local`` is a boolean per file in C order over ``layout.grid_shape`` (the
    model's ``local_files`` for this tile). ``dataset`` is needed only for the dask
    fallback (when ``layout.direct`` is false).
    """
    ngrid = len(layout.grid_shape)
    grid_item, infile_item = item[:ngrid], item[ngrid:]
    local_grid = np.asarray(local, dtype=bool).reshape(layout.grid_shape)
    sub_local = np.asarray(local_grid[grid_item])
    sub_uris = np.asarray(layout.uris[grid_item])
    n_files = int(sub_local.size)
    if not layout.direct:
        if dataset is None:
            raise ValueError("this dataset is sliced inside its files: pass dataset= to read it through dask")
        values = np.asarray(dataset.data[item].compute(), dtype=np.float32)
        # every file axis kept in the result comes first; broadcast file missingness over in-file axes
        miss = ~sub_local
        miss = miss.reshape(miss.shape + (1,) * (values.ndim - miss.ndim))
        missing = np.broadcast_to(miss, values.shape).copy()
        return Slab(values, missing, n_files, int(np.count_nonzero(sub_local)))

    lead = (0,) * (len(layout.file_array_shape) - len(layout.infile_shape))
    file_item = lead + tuple(infile_item)
    kept_infile = tuple(n for n, it in zip(layout.infile_shape, infile_item, strict=False) if isinstance(it, slice))
    out_shape = tuple(sub_local.shape) + kept_infile
    values = np.full(out_shape, np.nan, dtype=np.float32)
    missing = np.ones(out_shape, dtype=bool)
    positions = [p for p in np.ndindex(sub_local.shape) if sub_local[p]]
    base = layout.basepath or Path(".")

    def one(position):
        return position, _read_part(
            base / str(sub_uris[position]), layout.target_hdu, file_item, layout.file_array_shape
        )

    if len(positions) > 1:
        with ThreadPoolExecutor(max_workers=threads or _READ_THREADS) as pool:
            results = list(pool.map(one, positions))
    else:
        results = [one(p) for p in positions]
    n_read = 0
    problems = []
    for position, (part, why) in results:
        if part is not None and part.shape != kept_infile:
            part, why = None, f"gave an array of shape {part.shape} where {kept_infile} was expected"
        if part is None:
            problems.append((str(sub_uris[position]), why or "cannot be read"))
            continue
        values[position] = part
        missing[position] = False
        n_read += 1
    return Slab(values, missing, n_files, n_read, tuple(problems))


def _tile_local(model, position=None) -> np.ndarray:
    local = np.asarray(model.local_files, dtype=bool)
    if position is None:
        return local
    offset = 0
    for pos, index in model.tile_indexes.items():
        if pos == tuple(position):
            return local[offset : offset + index.n_frames]
        offset += index.n_frames
    raise ValueError(f"tile {tuple(position)} is not one of this model's tiles")


def _tile_dataset(model, position):
    return model.dataset[tuple(position)]


def read_image(model, image_axes: Sequence[int], indices, *, tile=None) -> Slab:
    """The 2-D image ``(ny, nx)`` for ``image_axes=(x_axis, y_axis)`` at ``indices``.

    ``tile`` is a tile grid position for a ``TiledDataset`` (else ignored).
    """
    ds = _tile_dataset(model, tile) if model.is_tiled else model.dataset
    x_axis, y_axis = (int(a) for a in image_axes)
    item = normalise_request(ds.data.shape, (x_axis, y_axis), indices)
    slab = read_slab(layout_of(ds), item, _tile_local(model, tile if model.is_tiled else None), dataset=ds)
    # the kept axes are in numpy order; want (y, x)
    if x_axis < y_axis:
        return Slab(slab.values.T, slab.missing.T, slab.n_files, slab.n_read, slab.problems)
    return slab


def read_profile(model, axis: int, indices, *, tile=None) -> Slab:
    """Values along ``axis`` with every other axis fixed at ``indices`` (e.g. a spectrum)."""
    ds = _tile_dataset(model, tile) if model.is_tiled else model.dataset
    item = normalise_request(ds.data.shape, (int(axis),), indices)
    return read_slab(layout_of(ds), item, _tile_local(model, tile if model.is_tiled else None), dataset=ds)


def read_mosaic(model, image_axes: Sequence[int], indices) -> tuple[Slab, tuple[int, int]]:
    """A ``TiledDataset``'s chosen tiles placed as one image, as ``TiledDataset.plot`` does.

    Tile grid axis 0 runs along x and axis 1 along y (row 0 at the bottom). Tiles
    not chosen or masked are missing. Returns the slab and one tile's ``(ny, nx)``.
    """
    if not model.is_tiled:
        raise ValueError("read_mosaic needs a TiledDataset; use read_image")
    grid = model.tile_grid_shape
    if len(grid) != 2:
        raise ValueError(f"a mosaic needs a 2-d tile grid, got {grid}")
    parts = {}
    tile_shape = None
    for position in model.tile_indexes:
        slab = read_image(model, image_axes, indices, tile=position)
        if tile_shape is None:
            tile_shape = slab.values.shape
        elif slab.values.shape != tile_shape:
            raise ValueError("tiles differ in shape: they cannot be placed as one mosaic")
        parts[position] = slab
    ny, nx = tile_shape
    values = np.full((grid[1] * ny, grid[0] * nx), np.nan, dtype=np.float32)
    missing = np.ones(values.shape, dtype=bool)
    n_files = n_read = 0
    problems: list = []
    for (i, j), slab in parts.items():
        values[j * ny : (j + 1) * ny, i * nx : (i + 1) * nx] = slab.values
        missing[j * ny : (j + 1) * ny, i * nx : (i + 1) * nx] = slab.missing
        n_files += slab.n_files
        n_read += slab.n_read
        problems += slab.problems
    return Slab(values, missing, n_files, n_read, tuple(problems)), (ny, nx)


def percentile_limits(
    values: np.ndarray, low: float = 1.0, high: float = 99.0, *, max_samples: int = 200_000
) -> tuple[float, float] | None:
    """Colour limits at the given percentiles of the finite values (``None`` if none).

    Large images are subsampled with a fixed stride (deterministic) to at most
    ``max_samples`` values. Equal limits are widened so a colour map can use them.
    """
    if not 0 <= low < high <= 100:
        raise ValueError(f"need 0 <= low < high <= 100, got {low}, {high}")
    flat = np.asarray(values).ravel()
    if flat.size > max_samples:
        flat = flat[:: int(np.ceil(flat.size / max_samples))]
    finite = flat[np.isfinite(flat)]
    if finite.size == 0:
        return None
    lo, hi = np.percentile(finite, [low, high])
    lo, hi = float(lo), float(hi)
    if hi <= lo:
        pad = abs(lo) * 1e-6 or 1e-6
        lo, hi = lo - pad, hi + pad
    return lo, hi


# ---------------------------------------------------------------------- statistics


def frame_paths(model) -> list[tuple[Path, int]]:
    """``(path, target HDU)`` per frame id, in frame order (tiles concatenated)."""
    out: list[tuple[Path, int]] = []
    if model.is_tiled:
        datasets = [_tile_dataset(model, p) for p in model.tile_indexes]
    else:
        datasets = [model.dataset]
    for ds in datasets:
        layout = layout_of(ds)
        base = layout.basepath or Path(".")
        out.extend((base / str(uri), layout.target_hdu) for uri in layout.uris.ravel())
    return out


# ---------------------------------------------------------------------- where the data is


def _local_grids(model, ds) -> list[np.ndarray]:
    """Per tile, the on-disk mask shaped like the file grid."""
    grid = layout_of(ds).grid_shape
    if model.is_tiled:
        return [np.asarray(_tile_local(model, p), dtype=bool).reshape(grid) for p in model.tile_indexes]
    return [np.asarray(model.local_files, dtype=bool).reshape(grid)]


def _view_dataset(model):
    return _tile_dataset(model, next(iter(model.tile_indexes))) if model.is_tiled else model.dataset


def start_indices(model, image_axes: Sequence[int]) -> list[int] | None:
    """Slider indices (numpy order; image axes 0) whose image holds the most files on
    disk, the first such in C order; None when no file is on disk."""
    ds = _view_dataset(model)
    shape = tuple(int(n) for n in ds.data.shape)
    grids = _local_grids(model, ds)
    if not any(g.any() for g in grids):
        return None
    ngrid = grids[0].ndim
    image_grid = tuple(int(a) for a in image_axes if int(a) < ngrid)
    counts = sum(g.sum(axis=image_grid) if image_grid else g.astype(int) for g in grids)
    counts = np.asarray(counts)
    indices = [0] * len(shape)
    if counts.ndim:
        best = np.unravel_index(int(np.argmax(counts)), counts.shape)
        rest = [a for a in range(ngrid) if a not in image_grid]
        for a, i in zip(rest, best, strict=True):
            indices[a] = int(i)
    return indices


def indices_on_disk(model, axis: int, image_axes: Sequence[int], indices: Sequence[int]) -> list[int]:
    """Indices along slider ``axis`` whose image (other sliders at ``indices``) holds a file on disk."""
    ds = _view_dataset(model)
    n = int(ds.data.shape[axis])
    grids = _local_grids(model, ds)
    ngrid = grids[0].ndim
    out = []
    for i in range(n):
        item = []
        for a in range(ngrid):
            if a in image_axes:
                item.append(slice(None))
            else:
                item.append(i if a == axis else int(indices[a]))
        if any(np.asarray(g[tuple(item)]).any() for g in grids):
            out.append(i)
    return out


def frame_ids_of(model, names) -> list[int]:
    """Frame ids (model order, tiles concatenated) of file names as the slabs report them."""
    wanted = {str(n) for n in names}
    out, offset = [], 0
    datasets = [_tile_dataset(model, p) for p in model.tile_indexes] if model.is_tiled else [model.dataset]
    for ds in datasets:
        uris = layout_of(ds).uris.ravel()
        out += [offset + int(i) for i, uri in enumerate(uris) if str(uri) in wanted]
        offset += int(uris.size)
    return out


_STATS_NAMES = ("STAT_COLUMNS", "StatsJob", "add_stats_columns", "frame_statistics")


def __getattr__(name: str):
    """The statistics live in :mod:`.pixel_stats`; kept importable from here (lazily:
    that module imports this one)."""
    if name in _STATS_NAMES:
        from . import pixel_stats

        return getattr(pixel_stats, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
