"""The one r0 (Fried parameter) unit convention of every panel.

FITS headers (``ATMOS_R0``), the data centre's ``qualityAverageFriedParameter`` and
the workshop notebook ("set the threshold to 0.08") all use metres, so r0 is shown
and typed in **metres** (:data:`R0_DISPLAY_UNIT`, :data:`R0_DISPLAY_SCALE` 1.0).
Every panel converts through :func:`r0_to_display` / :func:`r0_from_display`, names
the unit on its label (:func:`r0_label`) and writes r0 values with
:func:`r0_text`; nothing else multiplies r0 by a constant, so changing the two
constants here changes every label, axis, box and value together.

Choices
-------
* **Precision.** An r0 estimate means something to about a millimetre
  (:data:`R0_PRECISION_M`): values are rounded to the decimals a millimetre takes in
  the display unit (:func:`r0_decimals`: 3 in metres, "0.082 m"; 1 in cm).
* A missing or non-numeric value gives ``None`` from :func:`r0_rounded` and an em
  dash from :func:`r0_text`; they never raise (headers and search records may hold
  anything).
"""

from __future__ import annotations

import math

import numpy as np

from .inventory import finite_number

__all__ = [
    "R0_KEY",
    "R0_DISPLAY_UNIT",
    "R0_DISPLAY_SCALE",
    "R0_PRECISION_M",
    "r0_to_display",
    "r0_from_display",
    "r0_label",
    "r0_decimals",
    "r0_rounded",
    "r0_text",
]

R0_KEY = "ATMOS_R0"
#: Unit r0 is shown and typed in.
R0_DISPLAY_UNIT = "m"
#: Display value = metres x this.
R0_DISPLAY_SCALE = 1.0
#: What an r0 value means to: one millimetre.
R0_PRECISION_M = 0.001


def r0_to_display(metres):
    """Metres (scalar or array) -> the display unit."""
    if isinstance(metres, np.ndarray):
        return metres * R0_DISPLAY_SCALE
    return float(metres) * R0_DISPLAY_SCALE


def r0_from_display(value):
    """A value typed in the display unit -> metres."""
    if isinstance(value, np.ndarray):
        return value / R0_DISPLAY_SCALE
    return float(value) / R0_DISPLAY_SCALE


def r0_label(name: str = "r0") -> str:
    """``"r0 (m)"``: the label every r0 control and axis uses."""
    return f"{name} ({R0_DISPLAY_UNIT})"


def r0_decimals() -> int:
    """Decimals that :data:`R0_PRECISION_M` takes in the display unit (3 for metres)."""
    step = abs(r0_to_display(R0_PRECISION_M))
    return max(0, -math.floor(math.log10(step) + 1e-9))


def r0_rounded(metres) -> float | None:
    """Metres -> the display unit, rounded to :func:`r0_decimals` (``None``: not a finite number)."""
    number = finite_number(metres)
    return None if number is None else round(r0_to_display(number), r0_decimals())


def r0_text(metres, *, unit: bool = True) -> str:
    """``"0.082 m"`` (``unit=False``: ``"0.082"``); ``"—"`` when there is no number."""
    value = r0_rounded(metres)
    if value is None:
        return "—"
    text = f"{value:.{r0_decimals()}f}"
    return f"{text} {R0_DISPLAY_UNIT}" if unit else text
