"""WorldStatus: which DKIST data centre and Globus service this kernel talks to.

Thin anywidget view over :mod:`dkist_widgets.core.health`. The check runs as a
:class:`~dkist_widgets.core.jobs.BackgroundJob` that only sets traits, so the
notebook never blocks on a slow or dead service; one check runs at a time (a lock).
"""

from __future__ import annotations

import threading

import anywidget
import traitlets

from ..core.health import default_services, probe
from ..core.jobs import BackgroundJob
from .static_assets import esm_path
from .static_form import StaticForm

__all__ = ["WorldStatus"]


class WorldStatus(StaticForm, anywidget.AnyWidget):
    static_title = "Services in use"

    def static_lines(self) -> list[tuple[str, str]]:
        words = {True: "answers", False: "does not answer", None: "not checked"}
        return [(s.get("name", "?"), f"{s.get('url', '')}: {words.get(s.get('ok'))}") for s in self.services]

    _esm = esm_path("world_status")

    title = traitlets.Unicode("Services in use").tag(sync=True)
    services = traitlets.List(traitlets.Dict()).tag(sync=True)
    checking = traitlets.Bool(False).tag(sync=True)
    #: How many checks have completed (front-end clicks and ``check()`` calls).
    checks = traitlets.Int(0).tag(sync=True)

    def __init__(self, services: list[tuple[str, str]] | None = None, **kwargs):
        super().__init__(**kwargs)
        self._targets = services
        self._lock = threading.Lock()
        self.services = [
            {"name": name, "url": url, "ok": None, "detail": "not checked yet", "latency_ms": None}
            for name, url in self._target_list()
        ]
        self.on_msg(self._on_front_end_message)

    def _target_list(self) -> list[tuple[str, str]]:
        return list(self._targets) if self._targets is not None else default_services()

    def _on_front_end_message(self, _widget, content, _buffers) -> None:
        if isinstance(content, dict) and content.get("type") == "check":
            self.check(wait=False)

    def check(self, wait: bool = True) -> None:
        """Probe every service; with ``wait=False`` return at once and update later."""
        job = BackgroundJob(lambda _cancel: self._run_check(), name="dkw-world-check").start()
        if wait:
            job.wait()

    def _run_check(self) -> None:
        with self._lock:
            self.checking = True
            try:
                self.services = [probe(name, url).to_json() for name, url in self._target_list()]
            finally:
                self.checks += 1
                self.checking = False
