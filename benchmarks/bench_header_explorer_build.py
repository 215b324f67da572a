"""Kernel-side build of ``HeaderExplorer(model)`` at 100k and 1M frames, each in a fresh process.

The dataset is opened lazily first (``core.dataset_files.open_dataset_file``, untimed, as
the set-up cell of ``bench_header_explorer_paint_scale.py`` does); then the first build
and a second build on the same model are timed. Two modes, as in the paint benchmark:
*as opened* waits (untimed) for the read-ahead the open started to finish, as the gap
before a user's next cell does; *read-ahead off* switches it off, so the first build reads
and parses the plot's columns itself. For *as opened* it also gives how long the read-ahead
still ran after the open returned, and the memory held by what it read (the compact
columns and the parsed times). Sizes and modes alternate; the 1-minute load
average is printed with every run (2 cores shared with other work).

    .venv/bin/python benchmarks/bench_header_explorer_build.py [repeats]
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIZES = (100_000, 1_000_000)
MODES = ("as opened", "read-ahead off")

ONE = """
import json, os, sys, time, warnings
warnings.simplefilter("ignore")
from dkist_widgets.sandbox.headers_only import cached_headers_only_dataset
from dkist_widgets.core.dataset_files import open_dataset_file
from dkist_widgets.core.model import DatasetModel
import dkist_widgets.core.dataset_files as dataset_files
import dkist_widgets.panels.header_explorer as he
import threading
n, mode = int(sys.argv[1]), sys.argv[2]
dataset_files.READ_PLOT_COLUMNS_AHEAD = mode == "as opened"
ds = open_dataset_file(cached_headers_only_dataset(n // 4, 4))
t = time.perf_counter()
for thread in threading.enumerate():
    if thread.name == "dkw-header-read-ahead":
        thread.join()
read_ahead_s = time.perf_counter() - t  # what is left of it when the open returns
columns = ds.meta.header_columns
held_mb = (columns.nbytes() + sum(v.nbytes for v, _, _ in columns._derived.values() if v is not None)) / 1e6
model = DatasetModel(ds)
load = os.getloadavg()[0]
t0 = time.perf_counter()
he.HeaderExplorer(model)
t1 = time.perf_counter()
he.HeaderExplorer(model)
t2 = time.perf_counter()
print(json.dumps({"first": t1 - t0, "second": t2 - t1, "load": load, "read_ahead_s": read_ahead_s, "held_mb": held_mb}))
"""


def main(repeats: int = 5) -> str:
    runs: dict[tuple[str, int], list[dict]] = {(m, n): [] for m in MODES for n in SIZES}
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for _ in range(repeats):
        for mode in MODES:
            for n in SIZES:
                out = subprocess.run(
                    [sys.executable, "-c", ONE, str(n), mode],
                    capture_output=True,
                    text=True,
                    check=True,
                    env=env,
                    cwd=ROOT,
                )
                run = json.loads(out.stdout.strip().splitlines()[-1])
                runs[mode, n].append(run)
                print(mode, n, run, flush=True)
    lines = [
        "| frames | mode | first build (median) | runs | second build (median) | load (1 min) | "
        "read-ahead after the open returned (median) | held by the columns read before the build |",
        "|---:|---|---:|---|---:|---|---:|---:|",
    ]
    for (mode, n), rs in runs.items():
        first = statistics.median(r["first"] for r in rs)
        second = statistics.median(r["second"] for r in rs)
        each = ", ".join(f"{r['first']:.2f}" for r in rs)
        lines.append(
            f"| {n:,} | {mode} | {first:.2f} s | {each} | {second:.2f} s | "
            f"{min(r['load'] for r in rs):.1f}-{max(r['load'] for r in rs):.1f} | "
            f"{statistics.median(r['read_ahead_s'] for r in rs):.2f} s | "
            f"{statistics.median(r['held_mb'] for r in rs):.0f} MB |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    print(main(int(sys.argv[1]) if len(sys.argv) > 1 else 5))
