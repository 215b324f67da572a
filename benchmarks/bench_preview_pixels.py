"""Benchmark: Preview pixels vs dkist's own ``ds[...].plot()`` on full-size VISP frames.

Data: the sample archive's headers-only VISP dataset ``WLKSB`` (4 x 1000 frames of
976 x 2555, ASDF only) with real FITS files written for Stokes I, raster steps
0..N-1 into a private folder (one float32 frame with a granulation-like pattern,
written N times; the data values do not matter for timing, the sizes do). The
other files are absent, as after a partial download.

Measured in the same run and the same way on both sides (``timed_pair``): one untimed
warm-up call of each (page cache, imports, set-up), then the median of 3 timed calls of
each, alternating:

1. one frame ``ds[0, 0]`` (976 x 2555): ``ds[0, 0].plot()`` + ``canvas.draw()``
   (matplotlib Agg) vs ``Preview.redraw()`` (read + percentile limits + PNG);
2. an x-y map across N files ``ds[0, :N, 466, :]``: ``.plot()`` + draw vs
   ``Preview.redraw()`` with image axes (raster, slit) at wavelength 466;
3. per-frame statistics throughput (files/s) with ``StatsJob`` on 1 and 2 threads.

Run:  PYTHONPATH=. .venv/bin/python benchmarks/bench_preview_pixels.py [N]
      (default N=688; writes benchmarks/results/preview_pixels.md; needs N x 10 MB
      of disk under $TMPDIR, removed afterwards)
"""

from __future__ import annotations

import datetime
import os
import platform
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def granulation(shape, seed=1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    small = rng.normal(size=(shape[0] // 8 + 2, shape[1] // 8 + 2))
    big = np.kron(small, np.ones((8, 8)))[: shape[0], : shape[1]]
    return (1e4 * (1 + 0.1 * big) + rng.normal(0, 50, size=shape)).astype(np.float32)


def write_files(ds, folder: Path, n: int) -> float:
    from astropy.io import fits

    frame = granulation(ds.files.shape[1:])[None]
    names = ds.files.fileuri_array[0, :n]
    t0 = time.perf_counter()
    hdu = fits.PrimaryHDU(frame)
    for name in names:
        hdu.writeto(folder / str(name), overwrite=True)
    return time.perf_counter() - t0


REPEAT = 3


def timed_pair(ours, theirs, repeat: int = REPEAT) -> tuple[float, float]:
    """Median seconds of ``ours`` and of ``theirs``, measured the same way (issue 18).

    Both warm: one untimed call of each first (page cache, imports, matplotlib and
    dask set-up). Then ``repeat`` timed calls of each, alternating, so load on the
    shared machine falls on both; the median of each side is compared. (The
    earlier version compared one cold dkist call with the best of three previews.)
    """
    ours()
    theirs()
    mine, other = [], []
    for _ in range(repeat):
        for fn, out in ((ours, mine), (theirs, other)):
            t0 = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t0)
    return float(np.median(mine)), float(np.median(other))


def timed(fn, repeat: int = REPEAT) -> float:
    """Median seconds over ``repeat`` calls after one untimed warm-up call."""
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def main(n: int) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import dkist
    import matplotlib.pyplot as plt

    from dkist_widgets.core import pixels as px
    from dkist_widgets.core.model import DatasetModel
    from dkist_widgets.panels.preview import Preview
    from dkist_widgets.sandbox.archive import ensure_archive

    warnings.simplefilter("ignore")
    archive = ensure_archive()
    ds = dkist.load_dataset(archive.asdf_path("WLKSB"))
    folder = Path(tempfile.mkdtemp(prefix="dkw-bench-preview-"))
    lines = []
    try:
        write_s = write_files(ds, folder, n)
        model = DatasetModel(ds)
        model.set_basepath(folder)
        assert model.n_local_files == n, model.n_local_files

        def dkist_plot(item):
            def run():
                fig = plt.figure()
                ds[item].plot()
                fig.canvas.draw()
                plt.close(fig)

            return run

        preview = Preview(model, image_axes=(3, 2))  # one frame: x = slit, y = wavelength
        frame_preview, frame_dkist = timed_pair(preview.redraw, dkist_plot((0, 0)))
        frame_read = timed(lambda: px.read_image(model, (3, 2), {0: 0, 1: 0}))
        check = ds[0, 0].data.compute()
        assert np.array_equal(check, preview.slab.values)

        preview.set_image_axes(1, 3)  # x = raster, y = slit
        preview.set_index(2, 466)
        map_preview, map_dkist = timed_pair(preview.redraw, dkist_plot((0, slice(0, n), 466, slice(None))))
        map_read = timed(lambda: px.read_image(model, (1, 3), {0: 0, 2: 466}))
        map_missing = int(preview.slab.missing.any(axis=0).sum())

        stats = {}
        n_stats = min(n, 128)
        for workers in (1, 2):
            job = px.StatsJob(model, frame_ids=np.arange(n_stats), n_workers=workers, batch_size=4)
            job.run()
            stats[workers] = n_stats / job.elapsed

        lines = [
            "# Preview pixels vs `ds[...].plot()` (recorded)",
            "",
            f"Run {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()}, "
            f"{os.cpu_count()} cores shared with other work, Python {platform.python_version()}, dkist {dkist.__version__}.",
            f"`benchmarks/bench_preview_pixels.py {n}`: headers-only VISP `WLKSB` (4 x 1000 frames of 976 x 2555) with "
            f"{n} real FITS files written (Stokes I, raster 0..{n - 1}; {n * 976 * 2555 * 4 / 1e9:.1f} GB, "
            f"uncompressed float32, {write_s:.1f} s to write); the other {4000 - n} files absent. "
            f"Both sides warm (one untimed call each), then the median of {REPEAT} timed calls each, alternating.",
            "",
            "| case | dkist `ds[...].plot()` + draw | Preview.redraw (read + PNG) | core read only | speed-up (redraw) |",
            "|---|---|---|---|---|",
            f"| one frame `ds[0, 0]` (976 x 2555) | {frame_dkist:.2f} s | {frame_preview:.2f} s | {frame_read:.3f} s | "
            f"{frame_dkist / frame_preview:.1f}x |",
            f"| x-y map `ds[0, :{n}, 466, :]` ({n} files) | {map_dkist:.2f} s | {map_preview:.2f} s | {map_read:.3f} s | "
            f"{map_dkist / map_preview:.1f}x |",
            "",
            f"The x-y map view (all 1000 raster steps, x = raster, y = slit) draws {1000 - map_missing} present and "
            f"{map_missing} missing raster columns; dkist's slice covers only the {n} present files.",
            "Values checked: the one-frame preview equals `ds[0, 0].data.compute()`.",
            "",
            f"Per-frame statistics (mean, std, RMS contrast, min, max, NaN count), {n_stats} full frames, dask threads:",
            "",
            "| workers | files/s |",
            "|---|---|",
            f"| 1 | {stats[1]:.1f} |",
            f"| 2 | {stats[2]:.1f} |",
            "",
            "Not measured: tile-compressed files (real DKIST L1 files are; `hdu.section` then decompresses only the "
            "tiles touched), a `dask.distributed` client (not installed here).",
        ]
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    n_files = int(sys.argv[1]) if len(sys.argv) > 1 else 688
    text = main(n_files)
    print(text)
    out = HERE / "results" / "preview_pixels.md"
    out.write_text(text)
