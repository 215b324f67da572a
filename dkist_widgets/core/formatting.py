"""Plain-text formatting shared by every panel (no widgets): the one place for bytes,
durations, HTML escaping and links.

Choices
-------
* **Bytes** are decimal (1 kB = 1000 B), as DKIST reports dataset sizes; every label
  that shows bytes uses :func:`human_bytes`.
* **Links**: only ``http://`` and ``https://`` URLs become links (:func:`safe_url`);
  anything else is shown as escaped text.
"""

from __future__ import annotations

import html

__all__ = ["human_bytes", "human_duration", "percent", "escape", "safe_url", "link_html"]

_UNITS = ["B", "kB", "MB", "GB", "TB", "PB"]


def human_bytes(n: float) -> str:
    """Bytes in decimal units as DKIST reports dataset sizes (1 kB = 1000 B)."""
    n = float(n)
    for unit in _UNITS:
        if abs(n) < 1000 or unit == _UNITS[-1]:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000.0
    raise AssertionError("unreachable")


def percent(part: int, whole: int) -> str:
    """``part`` of ``whole`` to one decimal (``12.5%``); never ``0.0%`` for some, nor
    ``100.0%`` for not all (``<0.1%``, ``>99.9%``): 1 file of a million is not none."""
    if whole <= 0 or part <= 0:
        return "0%"
    if part >= whole:
        return "100%"
    fraction = part / whole
    if fraction < 0.0005:
        return "<0.1%"
    if fraction >= 0.9995:
        return ">99.9%"
    return f"{fraction:.1%}"


def human_duration(seconds: float) -> str:
    """``42 s``, ``3 min 05 s``, ``2 h 07 min`` (rounded to the second)."""
    s = max(0, int(round(float(seconds))))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {(s % 3600) // 60:02d} min"


def escape(value) -> str:
    """Anything user- or data-supplied, made safe to place inside HTML."""
    return html.escape(str(value), quote=True)


def safe_url(url) -> str | None:
    """``url`` stripped if it is an http(s) URL, else None (never a ``javascript:`` link)."""
    if not isinstance(url, str):
        return None
    url = url.strip()
    return url if url.lower().startswith(("http://", "https://")) else None


def link_html(url, label) -> str:
    """An escaped link that opens in a new tab, or the escaped label and value as text."""
    href = safe_url(url)
    if href is not None:
        return f'<a href="{escape(href)}" target="_blank" rel="noopener noreferrer">{escape(label)}</a>'
    return f"{escape(label)}: <span class='dkw-muted'>{escape(url)}</span>"
