"""Header explorer paint time in Chromium at 100k and at 1M frames, in one run (issue 18).

Target: painted within 1 s at 1M frames, and no slower than at 100k by more than 30 %.
Uses ``bench_header_explorer_paint._measure`` (a new page and kernel per measurement,
from the start of the displaying cell until plot marks and table rows are in the page
plus two animation frames). The datasets are the cached headers-only VISP datasets
(``dkist-widgets generate --frames 100k 1M``), opened in the untimed set-up cell the
way every entry point opens them (``core.dataset_files.open_dataset_file``, lazy).
Sizes alternate so load on the shared machine falls on both.

    .venv/bin/python benchmarks/bench_header_explorer_paint_scale.py [repeats]
    (writes benchmarks/results/header_explorer_paint_scale.md; the notes after its first
    "## " heading are kept as they are)

The machine's 1-minute load average is read before every measurement and stated.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_header_explorer_paint import PLOT, _measure  # noqa: E402

from tests.browser.lab import LabServer, launch_chromium  # noqa: E402

SIZES = (100_000, 1_000_000)
CODE = "explorer = HeaderExplorer(model)\nexplorer"


def main(repeats: int = 3) -> str:
    from playwright.sync_api import sync_playwright

    from dkist_widgets.sandbox.headers_only import cached_headers_only_dataset

    work = Path(tempfile.mkdtemp(prefix="dkw-paint-scale-"))
    paths = {n: cached_headers_only_dataset(n // 4, 4) for n in SIZES}
    lab = LabServer(base_dir=work / "lab").start()
    runs: dict[int, list[float | None]] = {n: [] for n in SIZES}
    overheads = []
    loads: list[float] = []
    load_start = os.getloadavg()
    try:
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            for i in range(repeats):
                for n in SIZES:
                    loads.append(os.getloadavg()[0])
                    seconds, overhead, _calls, _ms = _measure(
                        browser,
                        lab,
                        paths[n],
                        f"explorer {n:,}",
                        CODE,
                        ".dkw-header-explorer",
                        [PLOT, ".dkw-header-grid .row"],
                        f"scale-{n}-{i}.ipynb",
                        opener="dkist_widgets.core.dataset_files.open_dataset_file",
                    )
                    runs[n].append(seconds)
                    overheads.append(overhead)
            browser.close()
    finally:
        lab.stop()
    med = {
        n: statistics.median(s for s in rs if s is not None) if all(s is not None for s in rs) else None
        for n, rs in runs.items()
    }
    fmt = lambda s: "not painted" if s is None else f"{s:.2f} s"  # noqa: E731
    lines = [
        "# Header explorer paint time in Chromium, 100k vs 1M frames (recorded)",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()}, 2 cores shared with other work; "
        "`benchmarks/bench_header_explorer_paint_scale.py`: a new page and kernel per measurement, the "
        "dataset opened lazily (`open_dataset_file`) in the untimed set-up cell, then the time from the start "
        "of `HeaderExplorer(model)` until plot marks and table rows are painted (+2 animation frames); "
        f"sizes alternating, {repeats} runs each. Harness: an empty cell takes "
        f"{statistics.median(overheads):.2f} s (median).",
        "",
        f"Load average (1 min) before each measurement: {min(loads):.2f} to {max(loads):.2f} "
        f"(median {statistics.median(loads):.2f}); 1/5/15 min at the start {load_start[0]:.2f} / "
        f"{load_start[1]:.2f} / {load_start[2]:.2f}, at the end "
        + " / ".join(f"{x:.2f}" for x in os.getloadavg())
        + ".",
        "",
        "| frames | median | runs |",
        "|---:|---:|---|",
    ]
    for n, rs in runs.items():
        lines.append(f"| {n:,} | {fmt(med[n])} | {', '.join(fmt(s) for s in rs)} |")
    if med[SIZES[0]] and med[SIZES[1]]:
        lines += ["", f"1M / 100k: {med[SIZES[1]] / med[SIZES[0]]:.2f} (target <= 1.30); 1M target <= 1 s."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    text = main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
    print(text)
    out = HERE / "results" / "header_explorer_paint_scale.md"
    old = out.read_text() if out.exists() else ""
    notes = old[old.index("\n## ") :] if "\n## " in old else ""
    out.write_text(text + notes)
