"""Plausible pixels for the sample archive: granulation, seeing blur, Stokes spectra.

Nothing here pretends to be radiative transfer; it is enough that the pictures look
like the Sun and that pixel statistics behave like real ones:

* ``granulation``: band-passed random field (cells ~``granule_px`` across) pushed
  through a skewed non-linearity, so granules are broad and bright and the
  intergranular lanes narrow and dark; continuum contrast ~10 %.
* ``blur_sigma_px``: the seeing blur grows as r0 shrinks (sigma ~ 1/r0, more when
  the AO is unlocked), so the image contrast (std/mean) drops in bad seeing and
  pixel-based seeing metrics correlate with ``ATMOS_R0``.
* ``stokes_cube``: one absorption line (Gaussian core) whose depth and Doppler
  shift follow the granulation (bright granules blue-shifted), Stokes V from the
  weak-field approximation (V ~ -B_los dI/dlambda) and small Q/U (~ B_perp^2 d2I/dlambda2).
  Q/U/V are a few per mille to ~1 % of the continuum.
* ``blur_columns``: a raster scan seen through changing seeing: each raster
  column blurred with the sigma of the moment it was taken (separable Gaussian,
  batched matrix products, no FFT per frame).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "granulation",
    "evolve",
    "blur_sigma_px",
    "blur",
    "blur_columns",
    "stokes_cube",
]

_C_KM_S = 299_792.458


def granulation(shape: tuple[int, int], *, seed: int, granule_px: float = 8.0, contrast: float = 0.1) -> np.ndarray:
    """A granulation-like continuum intensity image (mean 1, rms ``contrast``)."""
    rng = np.random.default_rng(seed)
    ny, nx = shape
    noise = rng.normal(size=(ny, nx))
    ky = np.fft.fftfreq(ny)[:, None]
    kx = np.fft.rfftfreq(nx)[None, :]
    k = np.hypot(ky, kx)
    k0 = 1.0 / granule_px
    band = np.exp(-((k - k0) ** 2) / (2 * (0.35 * k0) ** 2))
    field = np.fft.irfft2(np.fft.rfft2(noise) * band, s=(ny, nx))
    field = (field - field.mean()) / (field.std() + 1e-12)
    # Skew: broad bright granules, narrow dark lanes.
    skewed = np.tanh(0.8 * field + 0.6) - np.tanh(0.6)
    skewed = (skewed - skewed.mean()) / (skewed.std() + 1e-12)
    return (1.0 + contrast * skewed).astype(np.float64)


def evolve(image: np.ndarray, *, seed: int, amount: float = 0.5, granule_px: float = 8.0) -> np.ndarray:
    """The same scene some minutes later: part of the pattern replaced by new cells."""
    fresh = granulation(image.shape, seed=seed, granule_px=granule_px, contrast=float(image.std()))
    mixed = np.sqrt(1 - amount**2) * (image - image.mean()) + amount * (fresh - fresh.mean())
    return image.mean() + mixed * (image.std() / (mixed.std() + 1e-12))


def blur_sigma_px(r0, ao_lock=True, *, good_sigma: float = 0.6, reference_r0: float = 0.12):
    """Gaussian blur (pixels) for a Fried parameter in metres: ~ 1/r0, x1.8 without AO."""
    r0 = np.asarray(r0, dtype=float)
    sigma = good_sigma * (reference_r0 / np.clip(r0, 0.01, None))
    return np.where(np.asarray(ao_lock, dtype=bool), sigma, 1.8 * sigma)


def _gaussian_mtf(shape: tuple[int, int], sigma: float) -> np.ndarray:
    ky = np.fft.fftfreq(shape[0])[:, None]
    kx = np.fft.rfftfreq(shape[1])[None, :]
    return np.exp(-2 * (np.pi * sigma) ** 2 * (ky**2 + kx**2))


def blur(images: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of the last two axes (periodic boundaries), any leading axes."""
    shape = images.shape[-2:]
    return np.fft.irfft2(np.fft.rfft2(images) * _gaussian_mtf(shape, sigma), s=shape)


def _gaussian_matrix(n: int, sigmas: np.ndarray) -> np.ndarray:
    """Row-normalised Gaussian weights ``(len(sigmas), n, n)``: row i smooths around i."""
    x = np.arange(n)
    d = x[None, :, None] - x[None, None, :]
    weights = np.exp(-0.5 * (d / np.asarray(sigmas, float)[:, None, None]) ** 2)
    return weights / weights.sum(axis=2, keepdims=True)


def blur_columns(cube: np.ndarray, sigmas: np.ndarray) -> np.ndarray:
    """Blur a scanned map column by column, column ``x`` with its own ``sigmas[x]``.

    ``cube`` has shape ``(..., ny, nx)`` (e.g. Stokes, wavelength, slit, raster step).
    The 2-D Gaussian is separable: along x, each output column is a Gaussian-weighted
    sum of the input columns (its own sigma); then along y with the same sigma. Both
    are small batched matrix products, edges renormalised (no wrap-around).
    """
    ny, nx = cube.shape[-2:]
    sigmas = np.clip(np.asarray(sigmas, dtype=float), 1e-3, None)
    lead = cube.shape[:-2]
    flat = cube.reshape(-1, ny, nx)
    wx = _gaussian_matrix(nx, sigmas)  # (nx, nx, nx): [column, out x, in x]; use row = column
    wx_rows = wx[np.arange(nx), np.arange(nx)]  # (nx_out, nx_in)
    columns = np.einsum("kyx,cx->cky", flat, wx_rows)  # (nx, k, ny)
    wy = _gaussian_matrix(ny, sigmas)  # (nx, ny, ny)
    out = np.matmul(columns, np.swapaxes(wy, 1, 2))  # (nx, k, ny)
    return np.moveaxis(out, 0, -1).reshape(*lead, ny, nx)


def stokes_cube(
    continuum: np.ndarray,
    wavelengths_nm: np.ndarray,
    *,
    line_nm: float,
    seed: int,
    line_depth: float = 0.6,
    line_width_nm: float = 0.008,
    velocity_km_s_per_contrast: float = 12.0,
    b_gauss: float = 120.0,
    lande_g: float = 2.5,
) -> np.ndarray:
    """Stokes I, Q, U, V spectra for every pixel of a continuum map.

    Returns an array ``(4, n_wavelength, *continuum.shape)``.
    """
    rng = np.random.default_rng(seed)
    ic = continuum[None, ...]
    contrast = continuum - 1.0
    # Bright granules rise (blue shift), lanes sink.
    velocity = -velocity_km_s_per_contrast * contrast[None]
    centre = line_nm * (1 + velocity / _C_KM_S)
    lam = wavelengths_nm.reshape((-1,) + (1,) * continuum.ndim)
    depth = line_depth * (1 - 0.8 * contrast)[None]
    x = (lam - centre) / line_width_nm
    profile = np.exp(-(x**2))
    stokes_i = ic * (1 - depth * profile)
    # Weak-field approximation; a smooth field pattern concentrated in the lanes.
    field = granulation(continuum.shape, seed=seed + 1, granule_px=20.0, contrast=1.0) - 1.0
    b_los = b_gauss * (field - 1.5 * np.clip(contrast, None, 0) / 0.1)
    b_perp = 1.5 * b_gauss * np.abs(field)
    azimuth = np.pi * (granulation(continuum.shape, seed=seed + 2, granule_px=30.0, contrast=1.0) - 1.0)
    di = np.gradient(stokes_i, wavelengths_nm, axis=0)
    d2i = np.gradient(di, wavelengths_nm, axis=0)
    # Zeeman splitting 4.67e-13 g lambda[A]^2 B  ->  nm per gauss with lambda in nm.
    c_v = 4.67e-12 * lande_g * line_nm**2
    stokes_v = -c_v * b_los[None] * di
    lin = 0.25 * (c_v**2) * (b_perp[None] ** 2) * d2i
    stokes_q = -lin * np.cos(2 * azimuth)[None]
    stokes_u = -lin * np.sin(2 * azimuth)[None]
    cube = np.stack([stokes_i, stokes_q, stokes_u, stokes_v])
    noise = rng.normal(0.0, 1e-3, size=cube.shape)
    return cube + noise * np.sqrt(np.abs(cube[:1]).clip(0.1, None))
