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
  unreadable counts as missing too. Results carry a boolean ``missing`` mask next
  to NaN-filled values, so a view can draw "missing" apart from NaN pixels in data.
* **Orientation.** :func:`read_image` returns ``(ny, nx)`` for
  ``image_axes=(x_axis, y_axis)``, row 0 at the *lowest* y index, as ndcube's
  ``plot(plot_axes=...)`` draws it (``origin="lower"``).
* **Statistics.** One task per batch of files, run with dask: the local threaded
  scheduler by default, or a ``dask.distributed`` client when given. Work is
  submitted in rounds so progress is reported and a cancel stops within one round.
  Frames not on disk get NaN.
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from .fits_frames import read_image_part
from .jobs import BackgroundJob

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
    "frame_statistics",
    "StatsJob",
    "STAT_COLUMNS",
    "add_stats_columns",
]

#: Header-table column name -> statistic (all over the finite pixels of a frame).
STAT_COLUMNS = {
    "PIX_MEAN": "mean",
    "PIX_STD": "standard deviation",
    "PIX_RMSC": "RMS contrast (std / mean), a seeing proxy on granulation",
    "PIX_MIN": "minimum",
    "PIX_MAX": "maximum",
    "PIX_NNAN": "count of non-finite pixels",
}

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
        return int(np.prod(self.infile_shape)) == int(np.prod(self.file_array_shape)) and len(
            self.file_array_shape
        ) >= len(self.infile_shape) and tuple(self.file_array_shape[len(self.file_array_shape) - len(self.infile_shape):]) == self.infile_shape


def layout_of(dataset) -> Layout:
    """The :class:`Layout` of a plain dkist ``Dataset`` (one tile)."""
    files = dataset.files
    uris = np.asarray(files.fileuri_array)
    grid = tuple(int(n) for n in uris.shape)
    shape = tuple(int(n) for n in dataset.data.shape)
    infile = shape[len(grid):]
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
    for axis, (n, index) in enumerate(zip(shape, full)):
        if axis in axes:
            item.append(slice(None))
            continue
        if not -n <= index < n:
            raise IndexError(f"index {index} is out of range for axis {axis} of length {n}")
        item.append(index % n)
    return tuple(item)


def _read_part(path: Path, target: int, file_item: tuple) -> np.ndarray | None:
    part = read_image_part(path, target, file_item)  # plain images, straight from the file (issue 18.5)
    if part is not None:
        return part
    from astropy.io import fits

    try:
        with fits.open(path, memmap=False, do_not_scale_image_data=True, lazy_load_hdus=True) as hdul:
            hdu = hdul[target]
            part = hdu.section[file_item]
            return np.array(part, dtype=np.float32)
    except (FileNotFoundError, OSError, IndexError, TypeError, ValueError):
        return None


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
    kept_infile = tuple(n for n, it in zip(layout.infile_shape, infile_item) if isinstance(it, slice))
    out_shape = tuple(sub_local.shape) + kept_infile
    values = np.full(out_shape, np.nan, dtype=np.float32)
    missing = np.ones(out_shape, dtype=bool)
    positions = [p for p in np.ndindex(sub_local.shape) if sub_local[p]]
    base = layout.basepath or Path(".")

    def one(position):
        return position, _read_part(base / str(sub_uris[position]), layout.target_hdu, file_item)

    if len(positions) > 1:
        with ThreadPoolExecutor(max_workers=threads or _READ_THREADS) as pool:
            results = list(pool.map(one, positions))
    else:
        results = [one(p) for p in positions]
    n_read = 0
    for position, part in results:
        if part is None or part.shape != kept_infile:
            continue
        values[position] = part
        missing[position] = False
        n_read += 1
    return Slab(values, missing, n_files, n_read)


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
        return Slab(slab.values.T, slab.missing.T, slab.n_files, slab.n_read)
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
    for (i, j), slab in parts.items():
        values[j * ny : (j + 1) * ny, i * nx : (i + 1) * nx] = slab.values
        missing[j * ny : (j + 1) * ny, i * nx : (i + 1) * nx] = slab.missing
        n_files += slab.n_files
        n_read += slab.n_read
    return Slab(values, missing, n_files, n_read), (ny, nx)


def percentile_limits(values: np.ndarray, low: float = 1.0, high: float = 99.0, *, max_samples: int = 200_000) -> tuple[float, float] | None:
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


def _stats_of(array: np.ndarray) -> tuple[float, ...]:
    data = np.asarray(array, dtype=np.float64).ravel()
    finite = np.isfinite(data)
    n_nan = float(data.size - np.count_nonzero(finite))
    if not finite.any():
        return (np.nan,) * 5 + (n_nan,)
    good = data[finite] if n_nan else data
    mean = float(good.mean())
    std = float(good.std())
    contrast = std / mean if mean != 0 else np.nan
    return mean, std, contrast, float(good.min()), float(good.max()), n_nan


def _stats_batch(items: list[tuple[int, str, int]]) -> list[tuple[int, tuple[float, ...]]]:
    from astropy.io import fits

    out = []
    for frame, path, target in items:
        try:
            with fits.open(path, memmap=False, do_not_scale_image_data=True, lazy_load_hdus=True) as hdul:
                out.append((frame, _stats_of(hdul[target].section[...])))
        except (FileNotFoundError, OSError, IndexError, TypeError, ValueError):
            out.append((frame, (np.nan,) * 6))
    return out


class StatsJob:
    """Per-frame pixel statistics over the local files, in parallel with dask.

    Parameters
    ----------
    model
        A :class:`DatasetModel`; its ``local_files`` decide which frames are read.
    frame_ids
        Frames to compute (default: all local frames).
    client
        A ``dask.distributed.Client``: batches are submitted to it. ``None`` uses
        dask's threaded scheduler with ``n_workers`` threads.
    n_workers
        Threads for the local scheduler (default 2).
    batch_size
        Files per dask task.
    progress
        ``progress(n_done, n_total)`` after every round (from the worker thread).

    Use :meth:`run` (blocking) or :meth:`start` (a background job, with an
    optional ``on_finished`` callback) then :meth:`wait`; :meth:`cancel` stops after
    the current round. ``values`` holds
    the results so far, NaN where not computed.
    """

    def __init__(self, model, frame_ids=None, *, client=None, n_workers: int = 2, batch_size: int = 8,
                 progress: Callable[[int, int], None] | None = None):
        if model.dataset is None:
            raise ValueError("the model holds no dataset")
        if n_workers < 1 or batch_size < 1:
            raise ValueError("n_workers and batch_size must be at least 1")
        local = np.asarray(model.local_files, dtype=bool)
        ids = np.flatnonzero(local) if frame_ids is None else np.unique(np.asarray(frame_ids, dtype=np.int64))
        if ids.size and (ids[0] < 0 or ids[-1] >= model.n_frames):
            raise IndexError(f"frame ids must lie in 0..{model.n_frames - 1}")
        ids = ids[local[ids]]
        paths = frame_paths(model)
        self.model = model
        self.frame_ids = ids
        self.client = client
        self.n_workers = int(n_workers)
        self.progress = progress
        self.values = np.full((model.n_frames, len(STAT_COLUMNS)), np.nan)
        self.done_mask = np.zeros(model.n_frames, dtype=bool)
        self._batches = [
            [(int(f), str(paths[f][0]), paths[f][1]) for f in ids[i : i + batch_size]]
            for i in range(0, ids.size, batch_size)
        ]
        self.n_total = int(ids.size)
        self.n_done = 0
        self.cancelled = False
        self.error: BaseException | None = None
        self.elapsed = 0.0
        self._cancel = threading.Event()
        self._finished = threading.Event()
        self._job: BackgroundJob | None = None

    # -- control
    def start(self, on_finished: Callable[[StatsJob], None] | None = None) -> StatsJob:
        """Run in the background (a :class:`~dkist_widgets.core.jobs.BackgroundJob`);
        ``on_finished(self)`` is called from the worker thread once :attr:`finished`."""
        if self._job is not None:
            raise RuntimeError("this job was already started")
        self._job = BackgroundJob(lambda _cancel: self._run_safely(),
                                  on_done=(lambda _none: on_finished(self)) if on_finished else None,
                                  name="dkist-widgets-stats")
        self._job.start()
        return self

    def run(self) -> StatsJob:
        self._run_safely()
        if self.error is not None:
            raise self.error
        return self

    def cancel(self) -> None:
        """Stop after the current round; the job ends normally with :attr:`cancelled` True."""
        self._cancel.set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._finished.wait(timeout)

    @property
    def finished(self) -> bool:
        return self._finished.is_set()

    def _run_safely(self) -> None:
        t0 = time.perf_counter()
        try:
            if self.client is not None:
                self._run_distributed()
            else:
                self._run_threads()
        except BaseException as exc:  # reported, not swallowed: see .error
            self.error = exc
        finally:
            self.elapsed = time.perf_counter() - t0
            self.cancelled = self._cancel.is_set() and self.n_done < self.n_total
            self._finished.set()

    def _take(self, results) -> None:
        for frame, stats in results:
            self.values[frame] = stats
            self.done_mask[frame] = True
        self.n_done += len(results)
        if self.progress is not None:
            self.progress(self.n_done, self.n_total)

    def _run_threads(self) -> None:
        import dask

        per_round = self.n_workers * 2
        for start in range(0, len(self._batches), per_round):
            if self._cancel.is_set():
                return
            tasks = [dask.delayed(_stats_batch)(b) for b in self._batches[start : start + per_round]]
            for result in dask.compute(*tasks, scheduler="threads", num_workers=self.n_workers):
                self._take(result)

    def _run_distributed(self) -> None:
        futures = [self.client.submit(_stats_batch, b, pure=False) for b in self._batches]
        pending = list(futures)
        while pending:
            if self._cancel.is_set():
                self.client.cancel(pending)
                return
            still = []
            for future in pending:
                if future.done():
                    self._take(future.result())
                else:
                    still.append(future)
            pending = still
            if pending:
                time.sleep(0.05)

    # -- results
    def table(self):
        """An astropy ``Table``: ``frame`` then one column per :data:`STAT_COLUMNS` key (NaN = not computed)."""
        from astropy.table import Table

        t = Table()
        t["frame"] = np.arange(self.model.n_frames)
        for k, name in enumerate(STAT_COLUMNS):
            t[name] = self.values[:, k]
        return t


def frame_statistics(model, frame_ids=None, **kwargs) -> StatsJob:
    """Compute per-frame statistics now (blocking); returns the finished :class:`StatsJob`."""
    return StatsJob(model, frame_ids, **kwargs).run()


def add_stats_columns(headers, job_or_table) -> list[str]:
    """Add the statistics as ``MaskedColumn``s (masked where not computed) to a header table.

    ``headers`` is the model's header table (``model.headers``), modified in place:
    a :class:`~dkist_widgets.panels.header_explorer.HeaderExplorer` built *after*
    this call lists, plots, thresholds and brushes them like any header key (its
    ``HeaderTable`` reads the column names once, when it gets the dataset).
    Returns the names added. Existing ``PIX_*`` columns are replaced.
    """
    from astropy.table import MaskedColumn

    if hasattr(job_or_table, "table"):
        job_or_table = job_or_table.table()
    if len(job_or_table) != len(headers):
        raise ValueError(f"statistics hold {len(job_or_table)} frames, the headers {len(headers)} rows")
    names = []
    for name in STAT_COLUMNS:
        values = np.asarray(job_or_table[name], dtype=float)
        column = MaskedColumn(values, name=name, mask=~np.isfinite(values), description=STAT_COLUMNS[name])
        if name in headers.colnames:
            headers.replace_column(name, column)
        else:
            headers.add_column(column)
        names.append(name)
    return names
