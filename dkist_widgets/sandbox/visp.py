"""VISP datasets for the sample archive: header tables, pixels, FITS, ASDF.

Headers: one simulator frame is the template, the rest is vectorised.
``dkist_data_simulator``'s ``SimpleVISPDataset`` gives a complete, spec-214-ordered
header (~330 keys) for one frame; asking it for every frame costs 0.1-0.2 s each
(its ``observer`` transform dominates), i.e. ~80 s for 800 files. So the simulator
builds *one* header per dataset layout and this module fills the columns that vary
from frame to frame with numpy (``visp_header_table``):

* 1-based ``DINDEX3..5`` (real data; the simulator's are 0-based) and the matching
  ``VSPSTP``/``VSPMAP``/``STOKES``; ``CRPIX3`` walks with the raster (simulator rule);
* ``DATE-BEG/AVG/END`` from a fixed cadence per raster step (the four Stokes frames
  of a step share their times, as in real L1 VISP data);
* ``ATMOS_R0`` / ``AO_LOCK`` / ``OOBSHIFT`` from :mod:`.seeing`, r0 *masked* where the
  data centre drops it; ``LIGHTLVL``, ``DSHEALTH``, ``TAZIMUTH``/``ELEV_ANG`` drifting
  with time; ``DATA*`` statistics from the pixels (or modelled for headers-only data);
* plausible constants replace the simulator's random ones for the keys people look
  at (exposure, wavelengths, ids, URLs, proposal, target).

Pixels (``visp_frames``): a granulation map per raster map, Stokes spectra with one
absorption line from :mod:`.synthetic_sun`, blurred per raster step with a sigma set
by that step's r0 (so contrast drops in bad seeing), scaled by the light level, plus
noise. Shape per file ``(1, n_wave, n_slit)`` float32.
"""

from __future__ import annotations

import datetime as _dt
import functools
import hashlib
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from astropy.table import MaskedColumn, Table

from . import synthetic_sun
from .archive_fits import NOT_IN_PRIMARY_HDU
from .seeing import SeeingSeries, seeing_series

__all__ = ["VispSpec", "visp_header_table", "visp_frames", "visp_filenames", "visp_template"]

STOKES = np.array(["I", "Q", "U", "V"])
#: Mandatory FITS keys, first and in this order.
_FIRST_KEYS = ("SIMPLE", "BITPIX", "NAXIS", "NAXIS1", "NAXIS2", "NAXIS3")
#: The simulator lists three spectral lines; these datasets have one (NSPECLNS = 1).
_SPECTRAL_LINE_EXTRAS = ("SPECLN02", "SPECLN03")
#: Photon counts of the continuum at full light level (BUNIT "ct").
CONTINUUM_COUNTS = 2.0e4
#: Header documentation, as linked from real DKIST inventory records.
HEAD_URL = "https://docs.dkist.nso.edu/projects/data-products/en/v4.0.0"
INFO_URL = "https://docs.dkist.nso.edu"
CAL_URL = "https://docs.dkist.nso.edu/projects/visp/en/stable/l0_to_l1_visp.html"


@dataclass(frozen=True)
class VispSpec:
    """Everything that makes one VISP dataset of the archive (all deterministic)."""

    dataset_id: str
    proposal_id: str
    experiment_id: str
    start_time: str  #: ISO time of the first frame's DATE-BEG
    linewave_nm: float
    line_name: str
    n_steps: int
    n_maps: int = 1
    n_stokes: int = 4
    n_wave: int = 50
    n_slit: int = 100
    dispersion_nm: float = 0.003
    slit_plate_scale: float = 0.15  #: arcsec per pixel along the slit
    raster_step_arcsec: float = 0.15
    step_cadence_s: float = 3.2
    exposure_ms: float = 6.0
    n_sum: int = 8
    hpln_arcsec: float = -350.0
    hplt_arcsec: float = 220.0
    target: str = "quietsun"
    seed: int = 0
    median_r0: float = 0.08
    spell_length: float = 25.0
    light_level: float = 5200.0
    recipe_run_id: int = 1000
    extra_constants: dict = field(default_factory=dict, hash=False, compare=False)

    @property
    def n_files(self) -> int:
        return self.n_stokes * self.n_maps * self.n_steps

    @property
    def n_times(self) -> int:
        return self.n_maps * self.n_steps

    @property
    def files_shape(self) -> tuple[int, ...]:
        """Shape of the file axes in numpy order: (stokes, map, step)."""
        shape = (self.n_steps,)
        if self.n_maps > 1:
            shape = (self.n_maps,) + shape
        if self.n_stokes > 1:
            shape = (self.n_stokes,) + shape
        return shape

    @property
    def wavelengths_nm(self) -> np.ndarray:
        return self.linewave_nm + (np.arange(self.n_wave) - self.n_wave / 2 + 1) * self.dispersion_nm

    def seeing(self) -> SeeingSeries:
        return seeing_series(self.n_times, seed=self.seed, median_r0=self.median_r0, spell_length=self.spell_length)


@functools.lru_cache(maxsize=8)
def visp_template(n_maps: int, n_steps: int, n_stokes: int, n_wave: int, n_slit: int, linewave_nm: float) -> dict:
    """One complete spec-214 VISP header from the simulator (cached per layout)."""
    import astropy.units as u
    from dkist_data_simulator.spec214.visp import SimpleVISPDataset

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sim = SimpleVISPDataset(
            n_maps=n_maps,
            n_steps=n_steps,
            n_stokes=n_stokes,
            time_delta=1.0,
            linewave=linewave_nm * u.nm,
            detector_shape=(n_wave, n_slit),
        )
        header = dict(sim.header())
    for key in NOT_IN_PRIMARY_HDU:
        header.pop(key, None)
    return header


def visp_filenames(spec: VispSpec, date_beg: np.ndarray, stokes: np.ndarray) -> np.ndarray:
    """DKIST-style file names: ``VISP_2022_10_24T21_28_07_635_00630250_I_ABCDE_L1.fits``."""
    stamp = np.asarray(date_beg).astype("U23")
    for char in "-:.":
        stamp = np.char.replace(stamp, char, "_")
    wave = f"{int(round(spec.linewave_nm * 1000)):08d}"
    prefix = np.char.add(np.char.add("VISP_", stamp), f"_{wave}_")
    middle = np.char.add(prefix, stokes)
    return np.char.add(middle, f"_{spec.dataset_id}_L1.fits")


def _iso(times: np.ndarray) -> np.ndarray:
    return np.datetime_as_string(times, unit="us")


def _frame_index(spec: VispSpec):
    n = spec.n_files
    idx = np.unravel_index(np.arange(n), spec.files_shape)
    axes = list(idx)
    step = axes.pop()
    map_ = axes.pop() if spec.n_maps > 1 else np.zeros(n, dtype=np.int64)
    stokes = axes.pop() if spec.n_stokes > 1 else np.zeros(n, dtype=np.int64)
    return stokes, map_, step


def _dataset_constants(spec: VispSpec, template: dict) -> dict:
    start = _dt.datetime.fromisoformat(spec.start_time)
    wl = spec.wavelengths_nm
    product = "L1-" + spec.dataset_id[::-1]
    consts = {
        "SIMPLE": True,
        "INSTRUME": "VISP",
        "OBJECT": spec.target,
        "DATE": (start + _dt.timedelta(days=21)).isoformat(timespec="microseconds"),
        "BUNIT": "ct",
        "BITPIX": -32,
        "NAXIS": 3,
        "NAXIS1": spec.n_slit,
        "NAXIS2": spec.n_wave,
        "NAXIS3": 1,
        "DSETID": spec.dataset_id,
        "POINT_ID": spec.dataset_id,
        "PRODUCT": product,
        "PROP_ID": spec.proposal_id,
        "PROPID01": spec.proposal_id,
        "EXPER_ID": spec.experiment_id,
        "EXPRID01": spec.experiment_id,
        "NPROPOS": 1,
        "NEXPERS": 1,
        "RRUNID": spec.recipe_run_id,
        "RECIPEID": 7,
        "RINSTID": spec.recipe_run_id + 17,
        "IDSOBSID": spec.recipe_run_id + 101,
        "IDSPARID": spec.recipe_run_id + 102,
        "IDSCALID": spec.recipe_run_id + 103,
        "OBSPR_ID": f"{spec.experiment_id}_op{spec.seed:03d}",
        "IP_ID": f"id.{spec.recipe_run_id}.{spec.seed}",
        "WKFLNAME": "l0_to_l1_visp",
        "WKFLVERS": "2.10.3",
        "HLSVERS": "Alakai_11-1",
        "HEADVERS": "4.0.0",
        "HEAD_URL": HEAD_URL,
        "INFO_URL": INFO_URL,
        "CAL_URL": CAL_URL,
        "CALVERS": "2.10.3",
        "PROCTYPE": "L1",
        "LINEWAV": spec.linewave_nm,
        "WAVEMIN": float(wl.min()),
        "WAVEMAX": float(wl.max()),
        "WAVEBAND": spec.line_name,
        "WAVEUNIT": -9,
        "WAVEREF": "Air",
        "SPECLN01": spec.line_name,
        "NSPECLNS": 1,
        "CRPIX1": spec.n_slit / 2,
        "CRPIX2": spec.n_wave / 2,
        "CRVAL1": spec.hplt_arcsec,
        "CRVAL2": spec.linewave_nm,
        "CRVAL3": spec.hpln_arcsec,
        "CDELT1": spec.slit_plate_scale,
        "CDELT2": spec.dispersion_nm,
        "CDELT3": spec.raster_step_arcsec,
        "TEXPOSUR": spec.exposure_ms,
        "NSUMEXP": spec.n_sum,
        "XPOSURE": spec.exposure_ms * spec.n_sum * 10,
        "CAM_FPS": 1000.0 / spec.exposure_ms / 1.5,
        "CADENCE": spec.step_cadence_s,
        "CADMIN": spec.step_cadence_s * 0.98,
        "CADMAX": spec.step_cadence_s * 1.02,
        "CADVAR": spec.step_cadence_s * 0.01,
        "GOS_STAT": "open",
        "LAMPSTAT": "off",
        "WFCLOCK": True,
        "FRMLOCK": True,
        "MATRIXID": "1600Modes",
        "VSPNSTP": spec.n_steps,
        "VSPNMAPS": spec.n_maps,
        "VSPSLTSS": spec.raster_step_arcsec,
        "VSPPOLMD": "observe_polarimetric" if spec.n_stokes > 1 else "observe_intensity",
        "DSPSREPS": spec.n_maps,
        "SOLARNET": 1.0,
        # The simulator's template comes from astropy WCS.to_header (deg, m); these
        # datasets use DKIST's own units.
        "CUNIT1": "arcsec",
        "CUNIT2": "nm",
        "CUNIT3": "arcsec",
    }
    consts.update(spec.extra_constants)
    return consts


def _column_stats_model(spec: VispSpec, seeing: SeeingSeries, stokes, t, light) -> dict:
    """DATA* statistics for headers-only data: mean follows light level, rms the seeing."""
    sigma = synthetic_sun.blur_sigma_px(seeing.r0[t], seeing.ao_lock[t])
    contrast = 0.1 * np.exp(-0.35 * sigma**1.6)
    scale = CONTINUUM_COUNTS * light
    is_i = stokes == 0
    mean = np.where(is_i, 0.8 * scale, 0.001 * scale)
    rms = np.where(is_i, (0.15 + contrast) * scale, (0.004 + 0.1 * contrast) * scale)
    return {
        "DATAMEAN": mean,
        "DATARMS": rms,
        "DATAMIN": mean - 3 * rms,
        "DATAMAX": mean + 3 * rms,
        "DATAMEDN": mean,
    }


def visp_header_table(
    spec: VispSpec,
    seeing: SeeingSeries | None = None,
    *,
    keys: Sequence[str] | None = None,
    frame_stats: dict[str, np.ndarray] | None = None,
    detector_shape: tuple[int, int] | None = None,
) -> tuple[Table, np.ndarray]:
    """Headers (one row per file, C order over ``spec.files_shape``) and file names.

    Parameters
    ----------
    keys
        Restrict the table to these keys (in template order); ``None`` keeps all.
    frame_stats
        ``DATA*`` columns computed from real pixels; modelled when ``None``.
    detector_shape
        ``(n_wave, n_slit)`` written into NAXIS1/2 (headers-only datasets may describe
        full-size frames); defaults to the spec's small shape.
    """
    seeing = seeing if seeing is not None else spec.seeing()
    template = visp_template(
        spec.n_maps, spec.n_steps, spec.n_stokes, spec.n_wave, spec.n_slit, float(spec.linewave_nm)
    )
    n = spec.n_files
    stokes, map_, step = _frame_index(spec)
    t = map_ * spec.n_steps + step  # time index of each frame

    start = np.datetime64(spec.start_time, "us")
    cadence_us = int(round(spec.step_cadence_s * 1e6))
    exposure_us = int(round(spec.step_cadence_s * 0.9 * 1e6))
    beg = start + (t.astype(np.int64) * cadence_us).astype("timedelta64[us]")
    date_beg = _iso(beg)
    date_end = _iso(beg + np.timedelta64(exposure_us, "us"))
    date_avg = _iso(beg + np.timedelta64(exposure_us // 2, "us"))

    elapsed_s = (t * spec.step_cadence_s).astype(float)
    rng = np.random.default_rng(spec.seed + 8)
    n_t = spec.n_times
    elev_t = _elevation(spec)
    light = _light_curve(spec)[t]
    health_t = np.where(rng.random(n_t) < 0.02, "ILL", "GOOD")

    varying: dict[str, np.ndarray] = {
        "DATE-BEG": date_beg,
        "DATE-AVG": date_avg,
        "DATE-END": date_end,
        "DATEREF": date_beg,
        "TELAPSE": np.full(n, exposure_us / 1e6),
        "CRPIX3": (spec.n_steps / 2 - step) + 1.0,
        "DINDEX3": step + 1,
        "VSPSTP": step + 1,
        "VSPMAP": map_ + 1,
        "DSPSNUM": map_ + 1,
        "STOKES": STOKES[stokes],
        "AO_LOCK": seeing.ao_lock[t],
        "OOBSHIFT": seeing.oobshift[t],
        "LIGHTLVL": spec.light_level * light,
        "DSHEALTH": health_t[t],
        "ELEV_ANG": elev_t[t],
        "TAZIMUTH": 95.0 + 0.006 * elapsed_s,
        "TTBLANGL": 12.0 + 0.004 * elapsed_s,
    }
    if spec.n_maps > 1:
        varying["DINDEX4"] = map_ + 1
        varying[f"DINDEX{5 if spec.n_stokes > 1 else 4}"] = stokes + 1
    elif spec.n_stokes > 1:
        varying["DINDEX4"] = stokes + 1
    stats = frame_stats if frame_stats is not None else _column_stats_model(spec, seeing, stokes, t, light)
    varying.update(stats)

    filenames = visp_filenames(spec, date_beg, STOKES[stokes])
    varying["FILENAME"] = filenames
    varying["FILE_ID"] = np.char.add(
        hashlib.sha1(spec.dataset_id.encode()).hexdigest()[:20], np.char.zfill(np.arange(n).astype(str), 12)
    )

    consts = _dataset_constants(spec, template)
    if detector_shape is not None:
        consts["NAXIS2"], consts["NAXIS1"] = detector_shape
        # the dataset axes (slit, wavelength) must describe the same frame, or the
        # gWCS and the data array disagree about their shapes
        consts["DNAXIS2"], consts["DNAXIS1"] = detector_shape
        consts["CRPIX2"], consts["CRPIX1"] = detector_shape[0] / 2, detector_shape[1] / 2
    # Approximate size (MiB) of one file; the FITS writer replaces it by the exact size.
    n_bytes = consts["NAXIS1"] * consts["NAXIS2"] * 4
    consts["FRAMEVOL"] = (-(-(len(template) + 1) * 80 // 2880) * 2880 + -(-n_bytes // 2880) * 2880) / 2**20

    order = list(_FIRST_KEYS) + [k for k in template if k not in _FIRST_KEYS]
    for key in list(varying) + list(consts) + ["ATMOS_R0"]:
        if key not in order:
            order.append(key)
    order = [k for k in order if k not in _SPECTRAL_LINE_EXTRAS]
    if keys is not None:
        wanted = set(keys)
        order = [k for k in order if k in wanted]

    columns = {}
    for key in order:
        if key == "ATMOS_R0":
            columns[key] = MaskedColumn(seeing.r0[t], mask=~seeing.reported[t], name=key)
        elif key in varying:
            columns[key] = varying[key]
        else:
            value = consts[key] if key in consts else template[key]
            # A read-only broadcast view: constant columns cost no memory (1M rows).
            columns[key] = np.broadcast_to(np.asarray(value), (n,))
    table = Table(columns, copy=False)
    return table, filenames


def visp_frames(spec: VispSpec, seeing: SeeingSeries | None = None) -> np.ndarray:
    """Pixels of every file, shape ``(n_files, 1, n_wave, n_slit)`` float32, C file order."""
    seeing = seeing if seeing is not None else spec.seeing()
    stokes_idx, map_idx, step_idx = _frame_index(spec)
    out = np.empty((spec.n_files, 1, spec.n_wave, spec.n_slit), dtype=np.float32)
    rng = np.random.default_rng(spec.seed + 11)
    continuum = synthetic_sun.granulation((spec.n_slit, spec.n_steps), seed=spec.seed + 1)
    light = _light_curve(spec)
    for m in range(spec.n_maps):
        if m:
            continuum = synthetic_sun.evolve(continuum, seed=spec.seed + 100 + m, amount=0.6)
        cube = synthetic_sun.stokes_cube(
            continuum, spec.wavelengths_nm, line_nm=spec.linewave_nm, seed=spec.seed + 3 + m
        )[: spec.n_stokes]
        t = m * spec.n_steps + np.arange(spec.n_steps)
        sigma = synthetic_sun.blur_sigma_px(seeing.r0[t], seeing.ao_lock[t])
        blurred = synthetic_sun.blur_columns(cube, sigma)  # (S, W, slit, step)
        counts = CONTINUUM_COUNTS * light[t]  # per step
        pixels = blurred * counts
        pixels += rng.normal(0, 1, pixels.shape) * np.sqrt(counts) * 0.5
        for s in range(spec.n_stokes):
            sel = (stokes_idx == s) & (map_idx == m)
            # (step, W, slit) for the files of this Stokes state and map.
            out[sel, 0] = np.moveaxis(pixels[s], -1, 0)[step_idx[sel]]
    return out


def _elevation(spec: VispSpec) -> np.ndarray:
    """Telescope elevation (deg) per time index: the Sun rising through the morning."""
    return np.clip(35.0 + 0.004 * np.arange(spec.n_times) * spec.step_cadence_s, 5, 88)


def _light_curve(spec: VispSpec) -> np.ndarray:
    """Relative light level per time index (the same curve as LIGHTLVL / light_level)."""
    rng = np.random.default_rng(spec.seed + 7)
    n_t = spec.n_times
    elev_t = _elevation(spec)
    transparency = 1 - 0.25 * np.clip(np.sin(np.arange(n_t) / max(n_t / 3.7, 1)) - 0.7, 0, None) / 0.3
    return np.sin(np.radians(elev_t)) ** 0.3 * transparency * (1 + rng.normal(0, 0.01, n_t))


def frame_statistics(frames: np.ndarray, chunk: int = 32) -> dict[str, np.ndarray]:
    """``DATA*`` header statistics of each frame (vectorised over ``chunk`` frames at a
    time, so a full-spectrum dataset does not need its pixels in float64 at once)."""
    parts = [_frame_statistics(frames[i : i + chunk]) for i in range(0, len(frames), chunk)]
    return {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}


def _frame_statistics(frames: np.ndarray) -> dict[str, np.ndarray]:
    flat = frames.reshape(len(frames), -1).astype(np.float64)
    stats = {
        "DATAMIN": flat.min(axis=1),
        "DATAMAX": flat.max(axis=1),
        "DATAMEAN": flat.mean(axis=1),
        "DATAMEDN": np.median(flat, axis=1),
        "DATARMS": flat.std(axis=1),
    }
    percentiles = np.percentile(flat, [1, 10, 25, 75, 90, 95, 98, 99], axis=1)
    for p, values in zip((1, 10, 25, 75, 90, 95, 98, 99), percentiles):
        stats[f"DATAP{p:02d}"] = values
    return stats
