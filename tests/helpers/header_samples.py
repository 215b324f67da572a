"""Synthetic VISP-like header tables (any size, vectorised) and dkist Datasets carrying them.

Used by the header explorer tests and benchmarks. Rows are in C order over the file
grid ``(n_stokes, n_steps)`` like a VISP ``fileuri_array`` (Stokes, raster step):
row ``s * n_steps + k`` is Stokes ``s`` at step ``k``. The four Stokes frames of a
step share their times (as in L1 VISP data). ``ATMOS_R0`` (metres) comes in good and
bad spells and is **masked** where ``AO_LOCK`` is false, as the data centre does.
"""

from __future__ import annotations

import warnings

import numpy as np
from astropy.table import MaskedColumn, Table


def synthetic_visp_headers(
    n_steps: int,
    n_stokes: int = 4,
    *,
    seed: int = 0,
    dindex_base: int = 1,
    cadence_s: float = 2.0,
    n_filler: int = 12,
    drop=(),
) -> Table:
    rng = np.random.default_rng(seed)
    n = n_steps * n_stokes
    step = np.tile(np.arange(n_steps), n_stokes)
    stokes = np.repeat(np.arange(n_stokes), n_steps)
    t0 = np.datetime64("2023-05-01T17:00:00.000000", "us")
    beg = t0 + (step * cadence_s * 1e6).astype("timedelta64[us]")
    avg = beg + np.timedelta64(int(cadence_s * 0.4e6), "us")
    # seeing per step: spells + noise, AO unlocks in stretches (more in bad seeing)
    spell = np.cumsum(rng.random(n_steps) < 1 / 40.0)
    level = np.where(spell % 2 == 0, 0.12, 0.04) * np.exp(rng.normal(0, 0.3, spell.max() + 1))[spell]
    r0_step = np.clip(level * np.exp(rng.normal(0, 0.1, n_steps)), 0.01, 0.29)
    unlock_start = rng.random(n_steps) < np.where(r0_step < 0.05, 0.02, 0.004)
    unlock = np.zeros(n_steps, dtype=bool)
    for i in np.flatnonzero(unlock_start):
        unlock[i : i + rng.integers(1, 12)] = True
    if n_steps >= 20 and not unlock.any():
        unlock[n_steps // 3 : n_steps // 3 + 3] = True
    r0 = r0_step[step] * (1 + rng.normal(0, 0.01, n))
    lock = ~unlock[step]
    iso = lambda t: np.datetime_as_string(t, unit="us")  # noqa: E731
    columns = {
        "DATE-BEG": iso(beg),
        "DATE-AVG": iso(avg),
        "INSTRUME": np.full(n, "VISP"),
        "ATMOS_R0": MaskedColumn(r0, mask=~lock),
        "AO_LOCK": lock,
        "OOBSHIFT": rng.poisson(np.where(r0 < 0.05, 40, 5)),
        "DINDEX3": step + dindex_base,
        "DINDEX4": stokes + dindex_base,
        "LIGHTLVL": 5000 + 100 * np.sin(step / 500.0),
        "XPOSURE": np.full(n, 8.0),
        "OBJECT": np.full(n, "quiet Sun"),
    }
    for j in range(n_filler):
        columns[f"FILL{j:03d}"] = rng.random(n)
    for key in drop:
        columns.pop(key, None)
    return Table(columns)


def visp_dataset(n_steps: int, n_stokes: int = 4, *, names=None, **kwargs):
    """A real dkist Dataset over a ``(n_stokes, n_steps)`` file grid carrying synthetic headers."""
    from tests.helpers.dkist_samples import synthetic_dataset

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = synthetic_dataset((n_stokes, n_steps), names=names)
    ds.meta["headers"] = synthetic_visp_headers(n_steps, n_stokes, **kwargs)
    return ds
