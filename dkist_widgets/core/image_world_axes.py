"""World-coordinate axes for an image of two pixel axes (no widgets).

For each image axis, the world coordinate that changes most along it, when it
changes *linearly* there, as a range a plot can put on a second axis: "Tx (arcsec)
-357.5 ... -340.2". Used by the preview (issue 14.8: world-coordinate axes where
they exist).

Choices
-------
* **Where.** World values are taken along the axis at the view's other indices
  (so a rotated raster is described where it is looked at), at the pixel edges
  ``-0.5`` and ``n - 0.5`` so a linear scale over them matches the pixel scale.
* **Only when linear.** The value at the middle pixel must lie within 1 % of the
  straight line through the ends; otherwise (e.g. a time axis with gaps, a
  non-linear dispersion) no world axis is drawn and the caller keeps pixel ticks
  with the world values at the ends in text.
* **Units people read.** Angles in arcsec (helioprojective; longitudes wrapped
  to -180..180 deg, so Tx reads -357.5 rather than 1295642.5), wavelengths in nm;
  anything else in the WCS's own unit. Stokes and other non-numeric axes get none.
* Any failure of the WCS gives ``None`` (the view keeps its pixel axis).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["WorldAxis", "world_axis"]

_LINEAR_TOLERANCE = 0.01


@dataclass(frozen=True)
class WorldAxis:
    """A world coordinate along an image axis: its label and its values at the pixel edges."""

    name: str
    unit: str
    at_start: float  # at pixel -0.5
    at_end: float  # at pixel n - 0.5

    @property
    def label(self) -> str:
        return f"{self.name} ({self.unit})" if self.unit else self.name


def _readable(values: np.ndarray, unit: str, physical_type: str) -> tuple[np.ndarray, str]:
    import astropy.units as u

    try:
        quantity = values * u.Unit(unit)
    except (ValueError, TypeError):
        return values, unit
    if quantity.unit.physical_type == "angle":
        arcsec = quantity.to_value(u.arcsec)
        if ".lon" in physical_type or "longitude" in physical_type:  # wrap to -180..180 deg
            arcsec = (arcsec + 648000.0) % 1296000.0 - 648000.0
        return arcsec, "arcsec"
    if "em.wl" in physical_type or quantity.unit.physical_type == "length":
        return quantity.to_value(u.nm), "nm"
    return values, str(quantity.unit)


def world_axis(dataset, axis: int, indices) -> WorldAxis | None:
    """The :class:`WorldAxis` along pixel ``axis`` (numpy order) at ``indices``, or None."""
    try:
        shape = tuple(int(n) for n in dataset.data.shape)
        wcs = getattr(dataset.wcs, "low_level_wcs", dataset.wcs)
        ndim = len(shape)
        if wcs.pixel_n_dim != ndim:
            return None
        n = shape[axis]
        if n < 2:
            return None
        positions = np.array([-0.5, (n - 1) / 2.0, n - 0.5])
        pixel = [np.full(3, float(indices[a] if a != axis else 0)) for a in range(ndim)]
        pixel[axis] = positions
        world = wcs.pixel_to_world_values(*reversed(pixel))
        world = (
            [np.atleast_1d(np.asarray(world, dtype=float))]
            if wcs.world_n_dim == 1
            else [np.asarray(w, dtype=float) for w in world]
        )
        correlation = np.asarray(wcs.axis_correlation_matrix)[:, ndim - 1 - axis]
        best, best_change = None, 0.0
        for w, values in enumerate(world):
            if not correlation[w] or values.shape != (3,) or not np.all(np.isfinite(values)):
                continue
            kind = str(wcs.world_axis_physical_types[w] or "")
            if "stokes" in kind.lower() or kind.startswith("time"):
                continue
            values, unit = _readable(values, str(wcs.world_axis_units[w]), kind)
            change = abs(values[2] - values[0])
            line_mid = (values[0] + values[2]) / 2.0
            if change == 0 or abs(values[1] - line_mid) > _LINEAR_TOLERANCE * change:
                continue
            relative = change / (abs(values[0]) + abs(values[2]) + change)
            if relative > best_change:
                names = list(wcs.world_axis_names or [])
                name = names[w] if w < len(names) and names[w] else kind or f"world {w}"
                best, best_change = WorldAxis(name, unit, float(values[0]), float(values[2])), relative
        return best
    except Exception:  # noqa: BLE001 - a WCS that cannot answer: the caller keeps pixel axes
        return None
