"""Benchmark: ``DatasetModel.preview(item)`` against dkist's ``len(ds[item].files)``.

Both run in the same process on the same dkist ``Dataset``; the counts must be
identical (asserted) and the speed is reported as a ratio.

Datasets: real dkist ``Dataset`` objects built the way dkist's ASDF converter builds
them (``FileManager.from_parts`` -> ``FileManager._generate_array()`` ->
``Dataset(data, wcs, meta)`` + ``ds._file_manager = fm``) over a synthetic file grid,
reusing the WCS of dkist's own test ASDFs (``large_visp``: file grid
``(stokes, step)``, 50 x 128 pixels per file; ``croppable_cryo``: a 3-axis grid).
No FITS file exists and none is read: slicing is all that is measured. The header
table holds two columns, one row per file (dkist slices it on every ``ds[item]``,
so it is part of dkist's cost; real tables have ~300 columns, which would make dkist
slower still).

Targets (from the project brief): median preview <= 1 ms at 1M files, >= 100x
faster than dkist, identical counts.

Run::

    PYTHONPATH=. .venv/bin/python benchmarks/bench_preview.py            # 4k, 100k, 1M
    PYTHONPATH=. .venv/bin/python benchmarks/bench_preview.py --sizes 4000 --no-write
"""

from __future__ import annotations

import argparse
import gc
import gzip
import platform
import shutil
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results" / "preview.md"


def _load_test_asdf(name: str):
    import dkist

    src = Path(dkist.__file__).parent / "data" / "test" / name
    if name.endswith(".gz"):
        dst = Path(tempfile.mkdtemp(prefix="bench-preview-")) / name[:-3]
        with gzip.open(src, "rb") as fin, open(dst, "wb") as fout:
            shutil.copyfileobj(fin, fout)
        src = dst
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return dkist.load_dataset(src)


def build_dataset(base, grid_shape):
    """A dkist Dataset over ``grid_shape`` files, built as dkist's ASDF converter does."""
    from astropy.table import Table
    from dkist import Dataset
    from dkist.io.dask.loaders import AstropyFITSLoader
    from dkist.io.dask.striped_array import FileManager

    sea = base.files._fm._striped_external_array
    n = int(np.prod(grid_shape))
    names = np.char.add(np.char.add("f", np.arange(n).astype(str)), ".fits").reshape(grid_shape)
    fm = FileManager.from_parts(names, sea.target, sea.dtype, sea.shape, loader=AstropyFITSLoader, basepath=None)
    data = fm._generate_array()
    headers = Table({"FILENAME": names.ravel(), "FRAMEID": np.arange(n)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = Dataset(data, wcs=base.wcs, meta={"headers": headers, "inventory": dict(base.meta["inventory"])})
    ds._file_manager = fm
    return ds


def items_for(grid_shape):
    """Representative items: one stokes, one step across stokes, an in-file slice, ranges."""
    if len(grid_shape) == 2:
        s, n = grid_shape
        return [
            (0,),
            (slice(None), 7),
            (1, slice(10, n // 2)),
            (slice(1, 3), slice(n // 4, min(n, n // 4 + 2000)), slice(0, 25)),
            (2, 17, 5),
            (..., 3),
        ]
    a, b, c = grid_shape
    return [
        (0,),
        (slice(None), 3, slice(10, c // 2)),
        (1, slice(2, b // 2)),
        (slice(1, 3), slice(0, 5), slice(0, 20), slice(0, 100)),
        (2, 1, 5),
        (..., 7),
    ]


def median_time(fn, *, budget_s: float, max_repeat: int, min_repeat: int = 1) -> float:
    """Median seconds per call over as many calls as fit the budget (at least ``min_repeat``)."""
    times = []
    deadline = time.perf_counter() + budget_s
    while len(times) < max_repeat and (len(times) < min_repeat or time.perf_counter() < deadline):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def fmt_item(item) -> str:
    from dkist_widgets.core.fileindex import format_item

    return f"ds[{format_item(item)}]"


def run(sizes, write: bool):
    from dkist_widgets.core.model import DatasetModel

    visp = _load_test_asdf("large_visp.asdf.gz")
    cryo = _load_test_asdf("croppable_cryo.asdf.gz")
    configs = []
    for n in sizes:
        configs.append(("VISP-like (stokes, step)", visp, (4, n // 4)))
    if 100_000 in sizes:
        configs.append(("CRYO-like (3 file axes)", cryo, (4, 50, 500)))

    rows = []
    extras = []
    for label, base, grid in configs:
        n = int(np.prod(grid))
        t0 = time.perf_counter()
        ds = build_dataset(base, grid)
        build_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        model = DatasetModel(ds, refresh_local=False)
        model_s = time.perf_counter() - t0
        print(
            f"{label} {grid} = {n:,} files: dataset built in {build_s:.1f}s, model in {model_s * 1e3:.1f} ms",
            flush=True,
        )
        for item in items_for(grid):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                dkist_count = len(ds[item].files)
                dkist_s = median_time(lambda: len(ds[item].files), budget_s=3.0, max_repeat=7)
            ours = model.preview(item).n_files
            assert ours == dkist_count, (item, ours, dkist_count)
            ours_s = median_time(lambda: model.preview(item).n_files, budget_s=0.5, max_repeat=2000, min_repeat=50)
            rows.append((label, n, fmt_item(item), dkist_count, dkist_s, ours_s))
            print(
                f"  {fmt_item(item):40s} files {dkist_count:>9,}  dkist {dkist_s * 1e3:9.2f} ms  "
                f"preview {ours_s * 1e6:7.1f} us  x{dkist_s / ours_s:,.0f}",
                flush=True,
            )
        # the lazy parts of a preview, and selection work, at this size
        big = items_for(grid)[0]
        files_s = median_time(lambda: model.preview(big).files, budget_s=2.0, max_repeat=20, min_repeat=3)
        ids_s = median_time(lambda: model.preview(big).frame_ids, budget_s=1.0, max_repeat=200, min_repeat=5)
        rng = np.random.default_rng(0)
        starts = np.sort(rng.choice(n - 100, size=50, replace=False))
        selection = np.unique(np.concatenate([np.arange(s, s + 100) for s in starts]))
        select_s = median_time(
            lambda: (model.clear_selection(), model.select_frames(selection)), budget_s=1.0, max_repeat=50, min_repeat=3
        )
        cover = model.slices_for_frames(selection)
        cover_s = median_time(lambda: model.slices_for_frames(selection), budget_s=2.0, max_repeat=20, min_repeat=3)
        extras.append(
            (label, n, model.preview(big).n_files, files_s, ids_s, selection.size, select_s, len(cover.items), cover_s)
        )
        del ds, model
        gc.collect()

    text = report(rows, extras)
    print(text)
    if write:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(text)
        print(f"written to {RESULTS}")


def report(rows, extras) -> str:
    lines = [
        "# `DatasetModel.preview(item)` vs dkist `len(ds[item].files)`",
        "",
        f"Recorded by `benchmarks/bench_preview.py` on {time.strftime('%Y-%m-%d')}, "
        f"Python {platform.python_version()}, {platform.machine()}, a shared 2-core machine. "
        "Same process, same dkist `Dataset` objects (real FileManager + dask array + Dataset over "
        "a synthetic file grid, WCS from dkist's test ASDFs; see the script's docstring). "
        "Medians over repeated calls; counts asserted identical for every row.",
        "",
        "| dataset | files | item | files touched | dkist median | preview median | speed-up |",
        "|---|---:|---|---:|---:|---:|---:|",
    ]
    for label, n, item, count, dkist_s, ours_s in rows:
        lines.append(
            f"| {label} | {n:,} | `{item}` | {count:,} | {dkist_s * 1e3:,.2f} ms | "
            f"{ours_s * 1e6:,.1f} µs | {dkist_s / ours_s:,.0f}x |"
        )
    lines += [
        "",
        "## Per size",
        "",
        "| dataset | files | median preview | worst preview | median speed-up | lowest speed-up |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    groups = {}
    for label, n, _item, _count, dkist_s, ours_s in rows:
        groups.setdefault((label, n), []).append((dkist_s, ours_s))
    verdicts = []
    for (label, n), vals in groups.items():
        ours = [o for _, o in vals]
        ratios = [d / o for d, o in vals]
        lines.append(
            f"| {label} | {n:,} | {statistics.median(ours) * 1e6:,.1f} µs | {max(ours) * 1e6:,.1f} µs | "
            f"{statistics.median(ratios):,.0f}x | {min(ratios):,.0f}x |"
        )
        if n >= 1_000_000:
            verdicts.append((label, statistics.median(ours), statistics.median(ratios), min(ratios)))
    lines += [
        "",
        "## Lazy parts and selections (not part of `preview()`'s cost)",
        "",
        "| dataset | files | `.files` of `ds[0]` (names) | `.frame_ids` of `ds[0]` | selection size | `select_frames` | cover items | `slices_for_frames` |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, n, count, files_s, ids_s, sel_n, select_s, n_items, cover_s in extras:
        lines.append(
            f"| {label} | {n:,} | {files_s * 1e3:,.2f} ms ({count:,} names) | {ids_s * 1e3:,.3f} ms | {sel_n:,} | "
            f"{select_s * 1e3:,.2f} ms | {n_items} | {cover_s * 1e3:,.1f} ms |"
        )
    lines += ["", "## Targets", ""]
    for label, med, med_ratio, min_ratio in verdicts:
        lines.append(
            f"- {label}, 1M files: median preview {med * 1e6:,.1f} µs "
            f"({'meets' if med <= 1e-3 else 'MISSES'} <= 1 ms); median speed-up {med_ratio:,.0f}x, "
            f"lowest {min_ratio:,.0f}x ({'meets' if med_ratio >= 100 else 'MISSES'} >= 100x on the median)."
        )
    lines.append("- Counts identical to dkist for every row (asserted).")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="4000,100000,1000000", help="comma-separated file counts")
    parser.add_argument("--no-write", action="store_true", help="print only, do not write results/preview.md")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    run(sizes, write=not args.no_write)


if __name__ == "__main__":
    main()
