"""Two HTTP timings behind choices in the sandbox and the transfer session, each against
its baseline in the same run:

* **keep-alive request latency** of the loopback Globus Transfer API with ``TCP_NODELAY``
  on accepted sockets (``sandbox/loopback_http.py``) against the same server without it
  (the server before the fix): median time of ``TransferClient.task_list()`` over one
  keep-alive connection;
* **a click while Globus cannot be reached**: how long the session's interactive client
  (``core.transfers.TransferSession``: two quick retries) takes to give up on a refused
  connection, against a ``TransferClient`` with globus-sdk's default retry settings.

Writes benchmarks/results/loopback_http.md.

    .venv/bin/python benchmarks/bench_loopback_http.py [requests]
"""

from __future__ import annotations

import platform
import statistics
import sys
import time
from datetime import date
from http.server import ThreadingHTTPServer
from pathlib import Path

import globus_sdk

from dkist_widgets.core.transfers import TransferSession, TransferSettings
from dkist_widgets.sandbox import globus_service
from dkist_widgets.sandbox.endpoints import DKIST_ENDPOINT_ID

ROOT = Path(__file__).resolve().parent.parent


class _WithoutNoDelay(globus_service._Server):
    """The loopback server as it was: accepted sockets keep Nagle's algorithm."""

    def process_request(self, request, client_address) -> None:
        with self._open_lock:
            self._open.add(request)
        ThreadingHTTPServer.process_request(self, request, client_address)


def request_latency(n: int, *, nodelay: bool) -> float:
    """Median seconds of one task_list request over a keep-alive connection."""
    original = globus_service._Server
    if not nodelay:
        globus_service._Server = _WithoutNoDelay
    try:
        service = globus_service.LoopbackGlobus().start()
    finally:
        globus_service._Server = original
    try:
        client = globus_sdk.TransferClient(base_url=service.url, authorizer=globus_sdk.NullAuthorizer())
        client.task_list()  # open the connection
        times = []
        for _ in range(n):
            start = time.perf_counter()
            client.task_list()
            times.append(time.perf_counter() - start)
        return statistics.median(times)
    finally:
        service.stop()


def unreachable_click(client) -> float:
    """Seconds until ``get_endpoint`` gives up on a refused connection."""
    start = time.perf_counter()
    try:
        client.get_endpoint(DKIST_ENDPOINT_ID)
    except globus_sdk.GlobusConnectionError:
        return time.perf_counter() - start
    raise RuntimeError("the offline service answered")


def main(n: int = 200) -> None:
    with_nodelay = request_latency(n, nodelay=True)
    without = request_latency(n, nodelay=False)
    print(f"task_list median: {with_nodelay * 1e3:.2f} ms with TCP_NODELAY, {without * 1e3:.2f} ms without")

    service = globus_service.LoopbackGlobus().start()
    url = service.url
    service.go_offline()
    try:
        session = TransferSession(TransferSettings(transfer_url=url))
        ours = unreachable_click(session.client)
        default = unreachable_click(globus_sdk.TransferClient(base_url=url, authorizer=globus_sdk.NullAuthorizer()))
    finally:
        service.stop()
    print(f"unreachable click: {ours:.2f} s (session), {default:.2f} s (SDK defaults)")

    lines = [
        "# Loopback HTTP timings",
        "",
        f"Recorded by `benchmarks/bench_loopback_http.py` on {date.today()}, {platform.machine()}, "
        f"Python {platform.python_version()}, globus-sdk {globus_sdk.__version__}.",
        "",
        "| what | ours | baseline (same run) | baseline / ours |",
        "|---|---:|---:|---:|",
        f"| `task_list` over keep-alive, median of {n} | {with_nodelay * 1e3:.2f} ms (TCP_NODELAY) | "
        f"{without * 1e3:.2f} ms (Nagle) | {without / with_nodelay:.0f}x |",
        f"| a click while Globus refuses connections, until the error | {ours:.2f} s (session client) | "
        f"{default:.2f} s (globus-sdk default retries) | {default / ours:.0f}x |",
        "",
        "Without `TCP_NODELAY` the handler's headers and body leave in two sends and the body waits for "
        "the client's delayed ACK. The click runs on the kernel's comm thread, so the default retries "
        "freeze the notebook for that long.",
        "",
    ]
    out = ROOT / "benchmarks" / "results" / "loopback_http.md"
    out.write_text("\n".join(lines))
    print(out.read_text())


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
