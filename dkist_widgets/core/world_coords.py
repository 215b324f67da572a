"""Human-readable world coordinates at pixel positions of a dataset (no widgets).

Used to label slice controls with what an index *means* (a time, a wavelength in
nm, a position in arcsec, a Stokes state). One high-level ``pixel_to_world`` call
costs a few ms, so callers ask only for the ends of the range that changed.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

__all__ = ["pixel_axis_names", "describe_world_at", "format_world_value"]


def pixel_axis_names(dataset) -> list[str]:
    """Names of the array axes in numpy order (e.g. ``["stokes", "raster position",
    "wavelength", "slit position"]``), falling back to ``axis 0..n``."""
    ndim = len(dataset.data.shape)
    names = list(getattr(dataset.wcs, "pixel_axis_names", None) or [])
    if len(names) == ndim and all(names):
        return list(reversed(names))
    return [f"axis {i}" for i in range(ndim)]


def format_world_value(value) -> str:
    """One world object (SkyCoord, SpectralCoord, Time, StokesCoord, Quantity) as text."""
    from astropy import units as u
    from astropy.coordinates import SkyCoord, SpectralCoord
    from astropy.time import Time

    if isinstance(value, Time):
        return value.utc.isot[:19].replace("T", " ")
    if isinstance(value, SkyCoord):
        frame = value.frame
        names = list(frame.representation_component_names)[:2]
        parts = []
        for name in names:
            comp = getattr(frame, name)
            parts.append(f"{name}={comp.to_value(u.arcsec):.1f}″")
        return " ".join(parts)
    if isinstance(value, SpectralCoord):
        return f"{value.to_value(u.nm, equivalencies=u.spectral()):.3f} nm"
    if type(value).__name__ == "StokesCoord":
        symbol = np.atleast_1d(value.symbol)[0]
        return str(symbol)
    if isinstance(value, u.Quantity):
        return f"{value.value:.4g} {value.unit}"
    return str(value)


def describe_world_at(dataset, axis: int, index: int) -> str:
    """The world coordinates that pixel axis ``axis`` (numpy order) changes, at
    ``index`` along it and the first pixel of every other axis."""
    wcs = dataset.wcs
    ndim = len(dataset.data.shape)
    wcs_axis = ndim - 1 - axis
    correlated = np.nonzero(np.asarray(wcs.axis_correlation_matrix)[:, wcs_axis])[0]
    return _describe(id(wcs), wcs, ndim, wcs_axis, int(index), tuple(int(i) for i in correlated))


@lru_cache(maxsize=512)
def _describe(_wcs_id, wcs, ndim, wcs_axis, index, correlated_world) -> str:
    pixel = [0.0] * ndim
    pixel[wcs_axis] = float(index)
    values = wcs.pixel_to_world(*pixel)
    if wcs.world_n_dim == 1 or not isinstance(values, (list, tuple)):
        values = [values]
    # High-level objects come in the order each class key first appears among the
    # world axes' components (astropy's ``default_order``).
    keys = []
    for component in wcs.world_axis_object_components:
        if component[0] not in keys:
            keys.append(component[0])
    wanted = []
    for world_index in correlated_world:
        key = wcs.world_axis_object_components[world_index][0]
        position = keys.index(key) if key in keys else None
        if position is not None and position not in wanted:
            wanted.append(position)
    return "; ".join(format_world_value(values[i]) for i in wanted)
