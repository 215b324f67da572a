"""Benchmark: open a huge headers-only dataset to a working explorer, lazily vs with dkist.

For each size (100k and 1M frames, the cached headers-only VISP datasets of
``dkist-widgets generate --frames 100k 1M``), two stages, each in its own process:

* **baseline**: ``explore(dkist.load_dataset(asdf))``, what the explorer did before;
* **lazy**: ``explore(asdf)``, which opens with :mod:`dkist_widgets.core.lazy_open`.

Each stage first imports dkist, asdf's extensions, the explorer and the SPEC-0214 key
catalogue (one-off costs of a fresh kernel, the same for both, reported apart), then
times ``explore`` until it returns with the overview and the header explorer built
(the tab it opens on), and records the peak RSS of the process (``ru_maxrss``) and the
RSS after the imports. Both stages also report answers that must agree (frames, data
shape, file names of a few slices, a header value), and the parent checks them.

Run::

    PYTHONPATH=. .venv/bin/python benchmarks/bench_lazy_open.py             # 100k and 1M
    PYTHONPATH=. .venv/bin/python benchmarks/bench_lazy_open.py --sizes 100k --no-write

The 1M baseline needs ~10 GB of memory and about a minute.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "lazy_open.md"

STAGE = r"""
import json, os, resource, sys, time, warnings
warnings.simplefilter("ignore")
load_before = os.getloadavg()[0]
t = time.perf_counter()
import dkist, asdf, ipywidgets, bqplot
asdf.get_config().extensions  # asdf loads its extensions (dkist's, gwcs, astropy) on first use
from dkist_widgets.explorer import explore
from dkist_widgets.core.header_table import key_catalogue
key_catalogue()
imports_s = time.perf_counter() - t
rss_after_imports = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
kind, path = sys.argv[1], sys.argv[2]
t = time.perf_counter()
if kind == "baseline":
    ex = explore(dkist.load_dataset(path))
else:
    ex = explore(path)
explore_s = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
ds = ex.model.dataset
assert not ex.errors and not ex.load_error, (ex.errors, ex.load_error)
assert "Headers" in ex.built_panels
grid = ds.files.fileuri_array
slices = [(0, slice(0, 3)), (3, slice(grid.shape[1] // 2, grid.shape[1] // 2 + 2)), (1, grid.shape[1] - 1)]
answers = {
    "frames": len(ds.files),
    "shape": list(ds.data.shape),
    "slice_files": [ds.files._fm._slice_by_cube(s).filenames for s in slices],
    "r0_last": float(ex.model.headers["ATMOS_R0"][-1]),
    "date_mid": str(ex.model.headers["DATE-AVG"][len(ds.files) // 2]),
}
print("RESULT " + json.dumps({"load_avg": [load_before, os.getloadavg()[0]], "imports_s": imports_s, "explore_s": explore_s, "rss_after_imports_gb": rss_after_imports,
                              "peak_rss_gb": peak, "lazy": type(ds.meta).__name__ == "LazyMeta", "answers": answers}))
"""


def stage(kind: str, path: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(HERE.parent))
    proc = subprocess.run([sys.executable, "-c", STAGE, kind, str(path)], capture_output=True, text=True, env=env)
    line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
    if proc.returncode or not line:
        raise RuntimeError(f"{kind} stage failed:\n{proc.stderr[-3000:]}")
    return json.loads(line[0][len("RESULT ") :])


def frames(text: str) -> int:
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1].lower(), 1)
    return int(float(text[:-1] if scale > 1 else text) * scale)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="*", default=["100k", "1M"])
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument(
        "--repeats",
        type=int,
        default=3,
        help="stage pairs per size up to 100k frames, medians reported (1M: one pair, ~10 GB and a minute)",
    )
    args = parser.parse_args()
    sys.path.insert(0, str(HERE.parent))
    from dkist_widgets.sandbox.headers_only import cached_headers_only_dataset

    rows = []
    for size in args.sizes:
        n = frames(size)
        path = cached_headers_only_dataset(n // 4, 4, progress=print)
        pairs = []
        for _ in range(args.repeats if n <= 100_000 else 1):  # lazy then baseline, alternating
            lazy, base = stage("lazy", path), stage("baseline", path)
            assert lazy["lazy"] and not base["lazy"]
            assert lazy["answers"] == base["answers"], "the lazy open and dkist.load_dataset disagree"
            pairs.append((lazy, base))
        lazy, base = _median_stage([p[0] for p in pairs]), _median_stage([p[1] for p in pairs])
        row = {
            "frames": n,
            "asdf_mb": path.stat().st_size / 1e6,
            "lazy": lazy,
            "baseline": base,
            "speedup": base["explore_s"] / lazy["explore_s"],
            "rss_ratio": lazy["peak_rss_gb"] / base["peak_rss_gb"],
        }
        rows.append(row)
        print(
            f"{n:>9,} frames: baseline {base['explore_s']:.2f} s / {base['peak_rss_gb']:.2f} GB, "
            f"lazy {lazy['explore_s']:.2f} s / {lazy['peak_rss_gb']:.2f} GB -> {row['speedup']:.1f}x faster, "
            f"peak RSS x{row['rss_ratio']:.2f}; answers agree",
            flush=True,
        )
    if not args.no_write:
        write(rows)


def _median_stage(runs: list[dict]) -> dict:
    """The run with the median ``explore_s`` (odd counts), with every run's time kept."""
    ordered = sorted(runs, key=lambda r: r["explore_s"])
    chosen = dict(ordered[len(ordered) // 2])
    chosen["all_s"] = [r["explore_s"] for r in runs]
    return chosen


def write(rows: list[dict]) -> None:
    lines = [
        "# Open a huge dataset to a working explorer: lazy open vs dkist.load_dataset",
        "",
        f"Run {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC on {platform.node()} "
        f"({os.cpu_count()} cores, Python {platform.python_version()}), shared with other jobs;",
        "`benchmarks/bench_lazy_open.py` (each stage its own process; baseline and lazy in the same run).",
        "",
        "Baseline: `explore(dkist.load_dataset(asdf))`. Lazy: `explore(asdf)` (`core/lazy_open`). Both timed",
        "until `explore` returns with the overview and the header explorer built. Imports (dkist, asdf's",
        "extensions, the explorer, the SPEC-0214 key catalogue) are done first in both and not timed.",
        "",
        "| frames | ASDF | baseline time | lazy time | faster | baseline peak RSS | lazy peak RSS | RSS ratio | RSS after imports |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        b, z = r["baseline"], r["lazy"]
        lines.append(
            f"| {r['frames']:,} | {r['asdf_mb']:.0f} MB | {b['explore_s']:.2f} s | {z['explore_s']:.2f} s | "
            f"**{r['speedup']:.1f}x** | {b['peak_rss_gb']:.2f} GB | {z['peak_rss_gb']:.2f} GB | "
            f"{r['rss_ratio']:.2f} | {z['rss_after_imports_gb']:.2f} GB |"
        )
    lines += [
        "",
        "Times are the median of the runs (lazy and baseline alternating): "
        + "; ".join(
            f"{r['frames']:,}: baseline {', '.join(f'{t:.2f}' for t in r['baseline']['all_s'])} s, "
            f"lazy {', '.join(f'{t:.2f}' for t in r['lazy']['all_s'])} s"
            for r in rows
        )
        + ". Peak RSS and load are those of the median run.",
        "",
        "Load average (1 min) at the start / end of each stage, a measure of how busy the shared machine was: "
        + "; ".join(
            f"{r['frames']:,}: baseline {'/'.join(f'{v:.1f}' for v in r['baseline'].get('load_avg', []))}, "
            f"lazy {'/'.join(f'{v:.1f}' for v in r['lazy'].get('load_avg', []))}"
            for r in rows
        )
        + ".",
        "",
        "One-off imports per stage (not in the times above): "
        + ", ".join(
            f"{r['frames']:,}: {r['baseline']['imports_s']:.1f} s / {r['lazy']['imports_s']:.1f} s" for r in rows
        )
        + " (baseline / lazy).",
        "",
        "Both stages report frames, data shape, the file names of three slices, the last `ATMOS_R0` and the",
        "middle `DATE-AVG`; the benchmark asserts they are equal. The full comparison (200 random slices,",
        "every header column, pixel values) is `tests/core/test_lazy_open.py` at 100k frames.",
    ]
    RESULTS.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
