"""Benchmark: the first ``explore(path)`` in a new kernel, until something is on screen (issue 18.4).

Each run starts a fresh IPython kernel with ``jupyter_client`` (the same Python as
this script, this checkout first on ``PYTHONPATH``), waits until it answers, then
executes one cell::

    from dkist_widgets import explore
    ex = explore(PATH, background=...)
    ex

and times, from sending the cell, (a) the first ``display_data``/``execute_result``
carrying a widget view (what a notebook front end draws: "something on screen"),
and (b) the explorer complete (``ex.wait()`` in a second cell for the background
build; for the blocking build (a) is already complete).

Baseline in the same run: ``background=False``, which is what ``explore()`` did
before issue 18.4 (everything built before returning). Both modes alternate, each
in its own new kernel, ``ROUNDS`` times; the medians are compared. Data: the sample
archive's 4,000-frame headers-only VISP dataset ``WLKSB`` (dkist import ~5 s in a
new kernel dominates the blocking build).

Run:  PYTHONPATH=. .venv/bin/python benchmarks/bench_first_explore.py
      (writes benchmarks/results/first_explore.md)
"""

from __future__ import annotations

import datetime
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROUNDS = 3
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def one_run(path: Path, background: bool) -> tuple[float, float]:
    """``(seconds to something on screen, seconds to the complete explorer)`` in a new kernel."""
    from jupyter_client.manager import KernelManager

    km = KernelManager(kernel_name="python3")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE.parent), os.environ.get("PYTHONPATH", "")]))
    km.start_kernel(env=env)
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=120)
        code = f"from dkist_widgets import explore\nex = explore({str(path)!r}, background={background})\nex\n"
        t0 = time.perf_counter()
        msg_id = kc.execute(code)
        shown = None
        while True:
            msg = kc.get_iopub_msg(timeout=300)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind = msg["msg_type"]
            if kind == "error":
                raise RuntimeError("\n".join(msg["content"]["traceback"]))
            if kind in ("display_data", "execute_result") and WIDGET_MIME in msg["content"]["data"] and shown is None:
                shown = time.perf_counter() - t0
            if kind == "status" and msg["content"]["execution_state"] == "idle":
                break
        if shown is None:
            raise RuntimeError("the cell displayed no widget")
        reply = kc.execute_interactive(
            "assert ex.wait(300), 'not built'\nassert ex.model.dataset is not None, ex.load_error", timeout=300
        )
        if reply["content"]["status"] != "ok":
            raise RuntimeError(f"the explorer did not complete: {reply['content']}")
        complete = time.perf_counter() - t0
        return shown, complete
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def main() -> str:
    import dkist

    from dkist_widgets.sandbox.archive import ensure_archive

    path = ensure_archive().asdf_path("WLKSB")
    runs: dict[bool, list[tuple[float, float]]] = {False: [], True: []}
    for _ in range(ROUNDS):
        for background in (False, True):
            runs[background].append(one_run(path, background))
    med = {b: (float(np.median([r[0] for r in rs])), float(np.median([r[1] for r in rs]))) for b, rs in runs.items()}
    lines = [
        "# First `explore(path)` in a new kernel (recorded)",
        "",
        f"Run {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()}, "
        f"{os.cpu_count()} cores shared with other work, Python {platform.python_version()}, dkist {dkist.__version__}.",
        f"`benchmarks/bench_first_explore.py`: headers-only VISP `WLKSB` (4,000 frames); each run a new kernel "
        f"(jupyter_client), time from sending the cell; median of {ROUNDS} runs per mode, modes alternating.",
        "",
        "| mode | something on screen | explorer complete |",
        "|---|---|---|",
        f"| before (build, then return: `background=False`) | {med[False][0]:.2f} s | {med[False][1]:.2f} s |",
        f"| now (skeleton at once, built in a BackgroundJob) | {med[True][0]:.2f} s | {med[True][1]:.2f} s |",
        "",
        f"Something on screen: {med[False][0] / med[True][0]:.1f}x sooner (target: <= 1 s).",
        "",
        "All runs (on screen, complete), seconds:",
        "",
    ]
    for background, rs in runs.items():
        label = "now" if background else "before"
        lines.append(f"* {label}: " + ", ".join(f"({a:.2f}, {b:.2f})" for a, b in rs))
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    text = main()
    print(text)
    (HERE / "results" / "first_explore.md").write_text(text)
    sys.exit(0)
