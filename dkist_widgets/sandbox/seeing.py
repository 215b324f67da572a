"""Realistic seeing for the sample archive: an r0 time series with spells and AO drop-outs.

The Fried parameter r0 (``ATMOS_R0``, metres) at a ground-based solar telescope does
not scatter uniformly from frame to frame: the seeing comes in *spells* of minutes
(good spells r0 ~ 0.10-0.20 m, bad spells ~ 0.03-0.05 m) with short fluctuations on
top, and the adaptive optics loses lock (``AO_LOCK`` false) now and then, more often
when the seeing is bad. The DKIST data centre drops ``ATMOS_R0`` from a frame unless
AO was locked, r0 < 0.3 m and ``OOBSHIFT`` < 100, so a dataset's r0 column arrives
masked in those frames.

Model (all vectorised, seeded, O(n)):

* spells: lengths drawn from a geometric distribution (mean ``spell_length``
  samples); spell levels alternate between better and worse than the median by a
  random factor (log-normal), so every series long enough has good *and* bad spells;
* transitions smoothed over a few samples, plus AR(1) log-fluctuations (5-15 %);
* AO unlocked stretches: starts drawn with a hazard six times higher when
  r0 < 0.05 m, lengths geometric (mean ``unlock_length``); at least one stretch
  when the series has >= 20 samples;
* ``OOBSHIFT``: Poisson counts that grow as the seeing worsens; a few exceed 100
  in the worst moments.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["SeeingSeries", "seeing_series", "R0_VALID_LIMIT_M", "OOBSHIFT_LIMIT"]

#: The data centre keeps ATMOS_R0 only below this value (metres) ...
R0_VALID_LIMIT_M = 0.3
#: ... and only when OOBSHIFT is below this count.
OOBSHIFT_LIMIT = 100


@dataclass(frozen=True)
class SeeingSeries:
    """Seeing along a dataset's time axis (one sample per exposure time)."""

    r0: np.ndarray  #: Fried parameter in metres at every sample (what the WFS measured)
    ao_lock: np.ndarray  #: bool, AO locked
    oobshift: np.ndarray  #: int, out-of-bounds shifts of the AO

    def __len__(self) -> int:
        return len(self.r0)

    @property
    def reported(self) -> np.ndarray:
        """Boolean mask of the samples where the data centre keeps ``ATMOS_R0``."""
        return self.ao_lock & (self.r0 < R0_VALID_LIMIT_M) & (self.oobshift < OOBSHIFT_LIMIT)

    @property
    def r0_masked(self) -> np.ma.MaskedArray:
        """r0 as the headers carry it: masked where the data centre drops it."""
        return np.ma.masked_array(self.r0, mask=~self.reported)

    def mean_reported_r0(self) -> float:
        """Mean of the reported r0 values (the inventory's qualityAverageFriedParameter)."""
        values = self.r0[self.reported]
        return float(values.mean()) if values.size else float("nan")


def _geometric_runs(rng: np.random.Generator, n: int, mean_length: float) -> np.ndarray:
    """Run label (0, 1, 2, ...) of each of ``n`` samples for geometric run lengths."""
    p = 1.0 / max(mean_length, 1.0)
    # Enough runs to cover n samples with room to spare.
    n_runs = int(n * p * 2 + 10)
    lengths = rng.geometric(p, size=n_runs)
    while lengths.sum() < n:
        lengths = np.concatenate([lengths, rng.geometric(p, size=n_runs)])
    starts = np.cumsum(lengths) - lengths
    starts = starts[starts < n]
    labels = np.zeros(n, dtype=np.int64)
    labels[starts[1:]] = 1
    return np.cumsum(labels)


def _ar1(rng: np.random.Generator, n: int, phi: float, sigma: float) -> np.ndarray:
    """AR(1) noise, vectorised through an exponential filter of white noise."""
    from scipy.signal import lfilter

    white = rng.normal(0.0, sigma * np.sqrt(1 - phi**2), size=n)
    return lfilter([1.0], [1.0, -phi], white)


def seeing_series(
    n: int,
    *,
    seed: int,
    median_r0: float = 0.08,
    spell_length: float = 40.0,
    spell_contrast: float = 0.45,
    unlock_length: float = 5.0,
    unlock_rate: float = 0.01,
) -> SeeingSeries:
    """Draw ``n`` samples of seeing.

    Parameters
    ----------
    n
        Number of time samples (e.g. raster steps x maps for VISP).
    seed
        Seed of the random generator: the same arguments give the same series.
    median_r0
        Typical r0 in metres around which spells alternate.
    spell_length
        Mean spell length in samples.
    spell_contrast
        Typical ``|log(level / median)|`` of a spell; 0.45 gives factors ~1.6 up or down.
    unlock_length
        Mean length of an AO-unlocked stretch in samples.
    unlock_rate
        Chance per sample that a stretch starts in ordinary seeing (x6 in bad seeing).
    """
    if n <= 0:
        empty = np.zeros(0)
        return SeeingSeries(empty, empty.astype(bool), empty.astype(np.int64))
    rng = np.random.default_rng(seed)

    # Spells: alternate better/worse than the median, random start side.
    spell = _geometric_runs(rng, n, spell_length)
    n_spells = int(spell[-1]) + 1
    side = np.where((np.arange(n_spells) + rng.integers(0, 2)) % 2 == 0, 1.0, -1.0)
    size = np.abs(rng.normal(spell_contrast, spell_contrast / 3, size=n_spells)) + 0.15
    level = np.log(median_r0) + side * size
    log_r0 = level[spell]
    # Smooth the transitions between spells over ~4 samples.
    width = min(4, n)
    if width > 1:
        kernel = np.ones(width) / width
        padded = np.concatenate([np.full(width, log_r0[0]), log_r0, np.full(width, log_r0[-1])])
        log_r0 = np.convolve(padded, kernel, mode="same")[width:-width]
    log_r0 = log_r0 + _ar1(rng, n, phi=0.85, sigma=0.12)
    r0 = np.clip(np.exp(log_r0), 0.02, 0.28)

    # AO unlocked stretches, more likely in bad seeing.
    hazard = np.where(r0 < 0.05, 6 * unlock_rate, unlock_rate)
    starts = np.flatnonzero(rng.random(n) < hazard)
    if starts.size == 0 and n >= 20:
        starts = np.array([int(rng.integers(n // 4, n - n // 4))])
    lengths = rng.geometric(1.0 / unlock_length, size=starts.size)
    edges = np.zeros(n + 1, dtype=np.int64)
    np.add.at(edges, starts, 1)
    np.add.at(edges, np.minimum(starts + lengths, n), -1)
    unlocked = np.cumsum(edges[:-1]) > 0

    # Out-of-bound shifts grow as the seeing worsens.
    oobshift = rng.poisson(8.0 + 4.0 * (0.08 / r0) ** 2).astype(np.int64)
    return SeeingSeries(r0=r0, ao_lock=~unlocked, oobshift=oobshift)
