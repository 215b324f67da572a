"""Waiting for something a background thread (watcher, job, loopback service) makes true."""

from __future__ import annotations

import time

__all__ = ["wait_for"]


def wait_for(condition, timeout: float = 20.0, what: str = "", poll: float = 0.05):
    """Poll ``condition()`` until it is truthy and return its value; fail after ``timeout`` s."""
    end = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what or condition}")
        time.sleep(poll)
