"""Per-frame pixel statistics over the local files, in parallel with dask (no widgets).

Split out of :mod:`dkist_widgets.core.pixels` (which re-exports every name here).

Choices
-------
* One task per batch of files, run with dask: the local threaded scheduler by
  default, or a ``dask.distributed`` client when given. Work is submitted in rounds
  so progress is reported and a cancel stops within one round.
* Frames not on disk get NaN; so do damaged files and files whose array is not the
  shape the dataset says (``StatsJob.problems`` names them and says why; issue 14.11).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .jobs import BackgroundJob
from .pixels import _read_part, _tile_dataset, frame_paths, layout_of

__all__ = ["STAT_COLUMNS", "StatsJob", "frame_statistics", "add_stats_columns"]

#: Header-table column name -> statistic (all over the finite pixels of a frame).
STAT_COLUMNS = {
    "PIX_MEAN": "mean",
    "PIX_STD": "standard deviation",
    "PIX_RMSC": "RMS contrast (std / mean), a seeing proxy on granulation",
    "PIX_MIN": "minimum",
    "PIX_MAX": "maximum",
    "PIX_NNAN": "count of non-finite pixels",
}


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


def _stats_batch(items: list[tuple]) -> list[tuple[int, tuple[float, ...], str | None]]:
    """``(frame, statistics, problem)`` per ``(frame, path, target HDU[, file shape])``."""
    out = []
    for frame, path, target, *shape in items:
        part, why = _read_part(Path(path), target, (Ellipsis,), shape[0] if shape else None)
        if part is None:
            out.append((frame, (np.nan,) * 6, why))
        else:
            out.append((frame, _stats_of(part), None))
    return out


def _frame_shapes(model) -> list[tuple[int, ...]]:
    """The array shape inside each frame's file, per frame id (tiles concatenated)."""
    datasets = [_tile_dataset(model, p) for p in model.tile_indexes] if model.is_tiled else [model.dataset]
    out: list[tuple[int, ...]] = []
    for ds in datasets:
        layout = layout_of(ds)
        out.extend([layout.file_array_shape] * int(layout.uris.size))
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

    def __init__(
        self,
        model,
        frame_ids=None,
        *,
        client=None,
        n_workers: int = 2,
        batch_size: int = 8,
        progress: Callable[[int, int], None] | None = None,
    ):
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
        shapes = _frame_shapes(model)
        self.model = model
        self.frame_ids = ids
        self.client = client
        self.n_workers = int(n_workers)
        self.progress = progress
        self.values = np.full((model.n_frames, len(STAT_COLUMNS)), np.nan)
        self.done_mask = np.zeros(model.n_frames, dtype=bool)
        #: frame id -> what is wrong with its file (damaged, wrong shape): no statistics.
        self.problems: dict[int, str] = {}
        self._batches = [
            [(int(f), str(paths[f][0]), paths[f][1], shapes[f]) for f in ids[i : i + batch_size]]
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
        self._job = BackgroundJob(
            lambda _cancel: self._run_safely(),
            on_done=(lambda _none: on_finished(self)) if on_finished else None,
            name="dkist-widgets-stats",
        )
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
        except BaseException as exc:  # noqa: BLE001 - reported, not swallowed: see .error
            self.error = exc
        finally:
            self.elapsed = time.perf_counter() - t0
            self.cancelled = self._cancel.is_set() and self.n_done < self.n_total
            self._finished.set()

    def _take(self, results) -> None:
        for frame, stats, problem in results:
            self.values[frame] = stats
            self.done_mask[frame] = True
            if problem:
                self.problems[frame] = problem
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
    """Add the statistics as ``MaskedColumn`` columns (masked where not computed) to a header table.

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
