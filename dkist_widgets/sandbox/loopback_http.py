"""The HTTP server the loopback services share."""

from __future__ import annotations

import socket
import threading
from http.server import ThreadingHTTPServer
from typing import Any

__all__ = ["LoopbackServer", "LoopbackService"]


class LoopbackServer(ThreadingHTTPServer):
    """A threaded server that can wake its keep-alive handler threads on stop.

    ``service`` is set by the owner so handlers can reach it. Accepted sockets get
    ``TCP_NODELAY``: a handler writes the headers and the body in two sends, and with
    Nagle's algorithm the body waited for the client's delayed ACK, so every
    keep-alive request took ~45 ms on loopback (a watcher polling every 5 ms made
    one request per 50 ms). ``benchmarks/bench_loopback_http.py`` measures both.
    """

    daemon_threads = True
    allow_reuse_address = True
    service: Any

    def __init__(self, *args: Any, **kwargs: Any):
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def process_request(self, request: Any, client_address: Any) -> None:
        try:
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Wake keep-alive handler threads blocked on idle connections."""
        with self._open_lock:
            conns = list(self._open)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class LoopbackService:
    """Start/stop/url of a service served by a :class:`LoopbackServer` in a daemon thread.

    Subclasses set ``_host``, ``_port`` and call :meth:`_serve` / :meth:`_stop_serving`
    from their own ``start`` / ``stop`` (which add what is theirs: engines, hooks).
    """

    _server: LoopbackServer | None = None
    _thread: threading.Thread | None = None

    def _serve(self, server_class: type[LoopbackServer], handler: type, thread_name: str) -> bool:
        """Bind and serve; ``False`` when already running."""
        if self._server is not None:
            return False
        server = server_class((self._host, self._port), handler)
        server.service = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.1}, name=thread_name, daemon=True
        )
        self._thread.start()
        return True

    def _stop_serving(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.close_connections()
            server.server_close()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL of the running service (``http://127.0.0.1:PORT/``)."""
        if self._server is None:
            raise RuntimeError("the service is not running; call start() first")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/"
