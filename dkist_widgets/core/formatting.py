"""Plain-text formatting shared by panels (no widgets)."""

from __future__ import annotations

import html

__all__ = ["human_bytes", "escape"]

_UNITS = ["B", "kB", "MB", "GB", "TB", "PB"]


def human_bytes(n: float) -> str:
    """Bytes in decimal units as DKIST reports dataset sizes (1 kB = 1000 B)."""
    n = float(n)
    for unit in _UNITS:
        if abs(n) < 1000 or unit == _UNITS[-1]:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000.0
    raise AssertionError("unreachable")


def escape(value) -> str:
    """Anything user- or data-supplied, made safe to place inside HTML."""
    return html.escape(str(value), quote=True)
