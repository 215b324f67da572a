"""r0 as text: the display value rounded to what the measurement means, with its unit.

Everything goes through :mod:`dkist_widgets.core.units` (``r0_to_display``,
``R0_DISPLAY_UNIT``), so changing the display unit there changes every label and
value shown by the search grid, the overview and the preview, and nothing else.

Choices
-------
* **Precision.** r0 estimates mean something to about a millimetre
  (:data:`R0_PRECISION_M`); values are rounded to the number of decimals that
  1 mm takes in the display unit: 3 in metres ("0.082 m"), 1 in cm ("8.2 cm").
* A missing or non-numeric value gives ``None`` from :func:`r0_rounded` and an
  em dash from :func:`r0_text`; it never raises (search records may hold
  anything).
"""

from __future__ import annotations

import math

from .units import R0_DISPLAY_UNIT, r0_to_display

__all__ = ["R0_PRECISION_M", "r0_decimals", "r0_rounded", "r0_text"]

#: What an r0 value means to: one millimetre.
R0_PRECISION_M = 0.001


def r0_decimals() -> int:
    """Decimals that :data:`R0_PRECISION_M` takes in the display unit."""
    step = abs(r0_to_display(R0_PRECISION_M))
    return max(0, -math.floor(math.log10(step) + 1e-9))


def _metres(value) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def r0_rounded(metres) -> float | None:
    """Metres -> the display unit, rounded (``None`` if not a finite number)."""
    number = _metres(metres)
    return None if number is None else round(r0_to_display(number), r0_decimals())


def r0_text(metres, *, unit: bool = True) -> str:
    """``"0.082 m"`` (``unit=False``: ``"0.082"``); ``"—"`` when there is no number."""
    value = r0_rounded(metres)
    if value is None:
        return "—"
    text = f"{value:.{r0_decimals()}f}"
    return f"{text} {R0_DISPLAY_UNIT}" if unit else text
