"""Big generated datasets for the load tests and benchmarks, cached between runs.

Headers-only VISP datasets (:mod:`dkist_widgets.sandbox.headers_only`) of 100k and 1M
frames take ~20 s and ~75-130 s to generate, so they are written once into the test
data cache (``$DKIST_WIDGETS_DATA_DIR``, set by ``tests/conftest.py``) under a folder
named by :data:`~dkist_widgets.sandbox.headers_only.CACHE_VERSION` and the layout, and reused afterwards. A dataset
is built in a temporary sibling folder and renamed into place before its ``DONE``
marker is written, so a half-built one is never mistaken for a finished one. Bump
``CACHE_VERSION`` when the generator's output changes.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def cache_root() -> Path:
    from dkist_widgets.sandbox.headers_only import headers_only_cache_root

    return headers_only_cache_root()


def headers_only_asdf(n_steps: int, n_stokes: int = 4, *, seed: int = 11) -> Path:
    """The ASDF of a cached headers-only dataset of ``n_stokes * n_steps`` frames (made if missing;
    :func:`dkist_widgets.sandbox.headers_only.cached_headers_only_dataset`)."""
    from dkist_widgets.sandbox.headers_only import cached_headers_only_dataset

    return cached_headers_only_dataset(n_steps, n_stokes, seed=seed)


# ---------------------------------------------------------------------- synced state
def widgets_under(*roots) -> list:
    """Every ipywidget reachable from ``roots`` through their traits (children, layout, style, ...)."""
    import ipywidgets as w

    seen: dict[int, object] = {}
    stack = list(roots)
    while stack:
        obj = stack.pop()
        if isinstance(obj, w.Widget):
            if id(obj) in seen:
                continue
            seen[id(obj)] = obj
            for name in obj.keys:
                stack.append(getattr(obj, name, None))
        elif isinstance(obj, (list, tuple)):
            stack.extend(obj)
        elif isinstance(obj, dict):
            stack.extend(obj.values())
    return list(seen.values())


def synced_state_bytes(*roots) -> tuple[int, int]:
    """(bytes, number of widgets) of the state the front end receives for ``roots`` and every
    widget under them: the JSON of each ``get_state()`` plus its binary buffers."""
    import json

    from ipywidgets.widgets.widget import _remove_buffers

    total = 0
    found = widgets_under(*roots)
    for widget in found:
        state, _paths, buffers = _remove_buffers(widget.get_state())
        total += len(json.dumps(state, separators=(",", ":"), default=str).encode())
        total += sum(memoryview(b).nbytes for b in buffers)
    return total, len(found)


# ---------------------------------------------------------------------- loopback Globus in its own process
_SERVE = r"""
import json, sys
from dkist_widgets.sandbox.globus_service import LoopbackGlobus
cfg = json.loads(sys.argv[1])
svc = LoopbackGlobus({k: tuple(v) for k, v in cfg["endpoints"].items()}, rate_bytes_per_s=cfg["rate"],
                     progress_event_interval=cfg.get("progress_event_interval", 2.0)).start()
print(svc.url, flush=True)
sys.stdin.read()  # until the parent closes our stdin
svc.stop()
"""


class LoopbackGlobusProcess:
    """A :class:`LoopbackGlobus` in a child process, so the parent's memory is the kernel's alone.

    ``endpoints``: ``{id: (display name, root folder, writable)}``. Controlled over its
    admin routes (:class:`SandboxGlobusAdmin`); stopped by closing its stdin.
    """

    def __init__(self, endpoints: dict, rate_bytes_per_s: float | None, *, progress_event_interval: float = 2.0):
        import json
        import subprocess

        from dkist_widgets.sandbox.globus_service import SandboxGlobusAdmin

        cfg = {
            "endpoints": {k: [v[0], str(v[1]), *v[2:]] for k, v in endpoints.items()},
            "rate": rate_bytes_per_s,
            "progress_event_interval": progress_event_interval,
        }
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _SERVE, json.dumps(cfg)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        self.url = self.proc.stdout.readline().strip()
        if not self.url.startswith("http"):
            self.stop()
            raise RuntimeError("the loopback Globus process did not start")
        self.admin = SandboxGlobusAdmin(self.url)

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
                self.proc.wait(10)
            except Exception:  # noqa: BLE001
                self.proc.kill()
                self.proc.wait(5)


# ---------------------------------------------------------------------- memory over a long monitoring run
def rss_bytes() -> int:
    """Resident set size of this process now (Linux ``/proc``)."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def monitor_soak(
    workdir: Path,
    *,
    ticks: int,
    sample_every: int,
    n_tasks: int = 6,
    poll_interval: float = 0.005,
    file_bytes: int = 2_000_000,
    rate_bytes_per_s: float = 2_000,
    trace: bool = True,
) -> dict:
    """Watch ``n_tasks`` slow tasks through a :class:`TransferMonitor` for ``ticks`` polls.

    The loopback Globus runs in a child process with a copy rate that keeps every
    task busy for the whole soak (``file_bytes / rate_bytes_per_s`` seconds per task);
    the watcher polls every ``poll_interval`` s from its own thread, as in a kernel, and
    every tick changes bytes done, so rows update every tick. Every
    ``sample_every`` ticks: tracemalloc's current size (if ``trace``) and the RSS,
    after a ``gc.collect()``. Returns ``{"samples": [(tick, traced, rss)], "requests":
    {...}, "ticks": n, "seconds": s, "rows": n, "unfinished": n}``.
    """
    import gc
    import time
    import tracemalloc

    from dkist_widgets.core.transfers import TaskStore, TransferSession, TransferSettings
    from dkist_widgets.panels.transfers import TransferMonitor

    src, dst = "5d1c0e2a-0000-4000-8000-00000000a50a", "5d1c0e2a-0000-4000-8000-00000000a50b"
    archive, dest = workdir / "archive", workdir / "laptop"
    folder = archive / "data" / "pid_9_9" / "SOAK1"
    folder.mkdir(parents=True, exist_ok=True)
    dest.mkdir(parents=True, exist_ok=True)
    names = [f"s{i:03d}.fits" for i in range(n_tasks)]
    for i, name in enumerate(names):
        (folder / name).write_bytes(bytes([i % 256]) * file_bytes)
    svc = LoopbackGlobusProcess(
        {src: ("DKIST (soak)", archive, False), dst: ("Laptop (soak)", dest, True)}, rate_bytes_per_s
    )
    monitor = None
    if trace:
        tracemalloc.start()
    try:
        settings = TransferSettings(
            transfer_url=svc.url, source_endpoint_id=src, destination_endpoint_id=dst, destination_local_root=dest
        )
        session = TransferSession(settings)
        monitor = TransferMonitor(
            None, session=session, store=TaskStore(workdir / "state" / "t.json"), active_interval=poll_interval
        )
        inv = {
            "datasetId": "SOAK1",
            "primaryProposalId": "pid_9_9",
            "bucket": "data",
            "instrumentName": "VISP",
            "startTime": "2024-04-11T14:27:00",
        }
        for name in names:
            monitor.watcher.start_transfer(session.plan_files(inv, [name], label=f"soak {name}"))
        svc.admin.reset_request_counts()
        watcher = monitor.watcher
        start_ticks, t0 = watcher.ticks, time.monotonic()
        samples = []
        next_sample = 0
        while True:
            done = watcher.ticks - start_ticks
            if done >= next_sample:
                gc.collect()
                traced = tracemalloc.get_traced_memory()[0] if trace else 0
                samples.append((done, traced, rss_bytes()))
                next_sample += sample_every
                if done >= ticks:
                    break
            time.sleep(poll_interval / 2)
        unfinished = sum(1 for p in watcher.tasks() if not p.done)
        return {
            "samples": samples,
            "requests": svc.admin.request_counts(),
            "ticks": watcher.ticks - start_ticks,
            "seconds": time.monotonic() - t0,
            "rows": len(monitor.rows.children),
            "unfinished": unfinished,
        }
    finally:
        if monitor is not None:
            monitor.close()
        if trace:
            tracemalloc.stop()
        svc.stop()
