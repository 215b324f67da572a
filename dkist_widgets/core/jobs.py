"""The one background-job utility: every panel that does long work runs it here.

A job runs ``fn(cancel_event)`` in a daemon *thread* (an asyncio task on the kernel
loop would freeze while a cell runs) and reports exactly once, through
``on_done(result)`` or ``on_error(exception)``, from the worker thread. Callbacks only
set traits or widget values, which is safe from any thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

__all__ = ["BackgroundJob", "Cancelled", "JobTimedOut"]


class Cancelled(RuntimeError):
    """The work was cancelled by the user."""


class JobTimedOut(RuntimeError):
    """The work gave no answer within its time limit."""


class BackgroundJob:
    """Run ``fn(cancel_event)`` in a daemon thread; report once through callbacks.

    ``on_done(result)`` or ``on_error(exception)`` is called from the worker thread,
    unless the job was cancelled or timed out first (then ``on_error`` gets
    :class:`Cancelled` or :attr:`timeout_error` at once from the watchdog, and the
    late answer is dropped). ``timeout`` None means no watchdog.
    """

    #: Exception class reported when ``timeout`` passes without an answer.
    timeout_error: type[BaseException] = JobTimedOut

    def __init__(
        self,
        fn: Callable[[threading.Event], Any],
        *,
        on_done=None,
        on_error=None,
        timeout: float | None = None,
        name: str = "dkw-job",
    ):
        self.cancel_event = threading.Event()
        self._fn = fn
        self._on_done = on_done
        self._on_error = on_error
        self._timeout = timeout
        self._reported = threading.Lock()
        self._has_reported = False
        self.finished = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._timer: threading.Timer | None = None

    def start(self) -> BackgroundJob:
        self._thread.start()
        if self._timeout is not None:
            self._timer = threading.Timer(self._timeout, self._time_out)
            self._timer.daemon = True
            self._timer.start()
        return self

    def _report(self, ok: bool, value) -> bool:
        with self._reported:
            if self._has_reported:
                return False
            self._has_reported = True
        if self._timer is not None:
            self._timer.cancel()
        if ok:
            self.result = value
        else:
            self.error = value
        try:
            callback = self._on_done if ok else self._on_error
            if callback is not None:
                callback(value)
        finally:
            self.finished.set()
        return True

    def _run(self):
        try:
            value = self._fn(self.cancel_event)
        except BaseException as err:  # noqa: BLE001 - reported to the caller
            self._report(False, err)
        else:
            self._report(True, value)

    def _time_out(self):
        self.cancel_event.set()
        self._report(False, self.timeout_error(f"Gave up after {self._timeout:g} s without an answer."))

    def cancel(self) -> None:
        self.cancel_event.set()
        self._report(False, Cancelled("Cancelled."))

    @property
    def running(self) -> bool:
        return not self.finished.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        return self.finished.wait(timeout)
