"""Kernel-side build of ``HeaderExplorer(model)`` at 100k and 1M frames, each in a fresh process.

The dataset is opened lazily first (``core.dataset_files.open_dataset_file``, untimed, as
the set-up cell of ``bench_header_explorer_paint_scale.py`` does); then the first build
and a second build on the same model are timed. Sizes alternate; the 1-minute load
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

ONE = """
import json, os, sys, time, warnings
warnings.simplefilter("ignore")
from dkist_widgets.sandbox.headers_only import cached_headers_only_dataset
from dkist_widgets.core.dataset_files import open_dataset_file
from dkist_widgets.core.model import DatasetModel
import dkist_widgets.panels.header_explorer as he
n = int(sys.argv[1])
model = DatasetModel(open_dataset_file(cached_headers_only_dataset(n // 4, 4)))
load = os.getloadavg()[0]
t0 = time.perf_counter()
he.HeaderExplorer(model)
t1 = time.perf_counter()
he.HeaderExplorer(model)
t2 = time.perf_counter()
print(json.dumps({"first": t1 - t0, "second": t2 - t1, "load": load}))
"""


def main(repeats: int = 5) -> str:
    runs: dict[int, list[dict]] = {n: [] for n in SIZES}
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for _ in range(repeats):
        for n in SIZES:
            out = subprocess.run(
                [sys.executable, "-c", ONE, str(n)], capture_output=True, text=True, check=True, env=env, cwd=ROOT
            )
            run = json.loads(out.stdout.strip().splitlines()[-1])
            runs[n].append(run)
            print(n, run, flush=True)
    lines = [
        "| frames | first build (median) | runs | second build (median) | load (1 min) |",
        "|---:|---:|---|---:|---|",
    ]
    for n, rs in runs.items():
        first = statistics.median(r["first"] for r in rs)
        second = statistics.median(r["second"] for r in rs)
        each = ", ".join(f"{r['first']:.2f}" for r in rs)
        lines.append(
            f"| {n:,} | {first:.2f} s | {each} | {second:.2f} s | "
            f"{min(r['load'] for r in rs):.1f}-{max(r['load'] for r in rs):.1f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    print(main(int(sys.argv[1]) if len(sys.argv) > 1 else 5))
