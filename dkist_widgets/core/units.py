"""The one r0 (Fried parameter) unit convention of every panel.

FITS headers (``ATMOS_R0``) and the data centre's ``qualityAverageFriedParameter``
hold metres. Every panel converts through :data:`R0_DISPLAY_SCALE` and names
:data:`R0_DISPLAY_UNIT` on its label; nothing else multiplies r0 by a constant.
"""

from __future__ import annotations

import numpy as np

__all__ = ["R0_KEY", "R0_DISPLAY_UNIT", "R0_DISPLAY_SCALE", "r0_to_display", "r0_from_display", "r0_label"]

R0_KEY = "ATMOS_R0"
#: Unit r0 is shown and typed in.
R0_DISPLAY_UNIT = "cm"
#: Display value = metres x this.
R0_DISPLAY_SCALE = 100.0


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
    """``"r0 (cm)"``: the label every r0 control and axis uses."""
    return f"{name} ({R0_DISPLAY_UNIT})"
