"""The VBI mosaic of the sample archive: a 3x3 tiled dataset (``dkist.TiledDataset``).

Headers come frame by frame from ``dkist_data_simulator``'s ``MosaicedVBIBlueDataset``
(27 frames is cheap enough, ~0.1 s each) with these changes:

* ``ATMOS_R0`` / ``AO_LOCK`` / ``OOBSHIFT`` are popped from the simulator's fixed keys
  and generated from a :mod:`.seeing` series (r0 omitted with ``Omit()`` where the data
  centre drops it);
* ``DINDEX3`` is 1-based, as in real data (the simulator's is 0-based);
* the tile WCS is rebuilt for the small detector: the simulator's reference pixels
  are those of 4k x 4k frames; here each tile is ``tile_px`` pixels of
  ``plate_scale`` arcsec with 10 % overlap around the pointing;
* plausible constants for wavelengths, exposure, ids, proposal and URLs.

Pixels: one granulation field covering the mosaic, evolving between mosaic repeats;
each tile is its cut-out, blurred by the seeing of that frame's moment and scaled by
the light level. Files are written with :mod:`.archive_fits` from the same header
table the ASDF is built from.
"""

from __future__ import annotations

import datetime as _dt
import warnings
from dataclasses import dataclass

import numpy as np
from astropy.table import MaskedColumn, Table

from . import synthetic_sun
from .archive_fits import NOT_IN_PRIMARY_HDU
from .seeing import SeeingSeries, seeing_series
from .visp import CAL_URL, HEAD_URL, INFO_URL

__all__ = ["VbiSpec", "vbi_headers_and_frames"]

_FIRST_KEYS = ("SIMPLE", "BITPIX", "NAXIS", "NAXIS1", "NAXIS2")


@dataclass(frozen=True)
class VbiSpec:
    """One VBI blue mosaic dataset (3x3 tiles x ``n_time`` repeats)."""

    dataset_id: str
    proposal_id: str
    experiment_id: str
    start_time: str
    linewave_nm: float = 486.135
    passband_nm: float = 0.1
    n_time: int = 3
    tile_px: int = 96
    plate_scale: float = 0.2  #: arcsec per pixel (binned)
    tile_cadence_s: float = 3.0
    hpln_arcsec: float = 120.0
    hplt_arcsec: float = -260.0
    target: str = "quietsun"
    seed: int = 0
    median_r0: float = 0.1
    recipe_run_id: int = 3000

    @property
    def n_files(self) -> int:
        return self.n_time * 9


def _tile_offset(spec: VbiSpec) -> float:
    return 0.9 * spec.tile_px * spec.plate_scale


def vbi_headers_and_frames(spec: VbiSpec) -> tuple[Table, list[str], np.ndarray, SeeingSeries]:
    """Header table (simulator order), file names, frames ``(n, tile_px, tile_px)``, seeing."""
    import astropy.units as u
    from astropy.wcs import WCS
    from dkist_data_simulator.dataset import Omit
    from dkist_data_simulator.spec214.vbi import MosaicedVBIBlueDataset

    seeing = seeing_series(
        spec.n_files, seed=spec.seed, median_r0=spec.median_r0, spell_length=6, unlock_length=2, unlock_rate=0.04
    )

    class ArchiveVBI(MosaicedVBIBlueDataset):
        @property
        def fits_wcs(self):
            m1, m2 = self.mindices_of_field_pos[self.current_mosaic_field_position]
            w = WCS(naxis=2)
            w.wcs.crpix = (spec.tile_px + 1) / 2, (spec.tile_px + 1) / 2
            w.wcs.crval = (
                spec.hpln_arcsec + (m1 - 2) * _tile_offset(spec),
                spec.hplt_arcsec + (m2 - 2) * _tile_offset(spec),
            )
            w.wcs.cdelt = spec.plate_scale, spec.plate_scale
            w.wcs.cunit = "arcsec", "arcsec"
            w.wcs.ctype = "HPLN-TAN", "HPLT-TAN"
            w.wcs.pc = np.identity(2)
            return w

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sim = ArchiveVBI(
            n_time=spec.n_time,
            time_delta=spec.tile_cadence_s,
            linewave=spec.linewave_nm * u.nm,
            detector_shape=(spec.tile_px, spec.tile_px),
        )
    sim.start_time = _dt.datetime.fromisoformat(spec.start_time)
    sim.exposure_time = _dt.timedelta(milliseconds=20)
    for key in ("ATMOS_R0", "AO_LOCK", "OOBSHIFT"):
        sim._fixed_keys.pop(key, None)

    def r0(ds, key):
        i = ds.time_index
        return float(seeing.r0[i]) if seeing.reported[i] else Omit()

    sim.add_generator_function("ATMOS_R0", r0)
    sim.add_generator_function("AO_LOCK", lambda ds, key: bool(seeing.ao_lock[ds.time_index]))
    sim.add_generator_function("OOBSHIFT", lambda ds, key: int(seeing.oobshift[ds.time_index]))
    # Real data count DINDEX from 1.
    sim._generator_functions["DINDEX3"] = lambda ds, key: int(ds.file_index[0]) + 1
    elapsed = lambda ds: ds.time_index * spec.tile_cadence_s  # noqa: E731
    light = 1.0 - 0.1 * np.clip(np.sin(np.arange(spec.n_files) / 4.0), 0, None)
    sim.add_generator_function("LIGHTLVL", lambda ds, key: float(4800.0 * light[ds.time_index]))
    sim.add_generator_function("ELEV_ANG", lambda ds, key: 48.0 + 0.004 * elapsed(ds))
    sim.add_generator_function("TAZIMUTH", lambda ds, key: 131.0 + 0.006 * elapsed(ds))
    start = _dt.datetime.fromisoformat(spec.start_time)
    constants = {
        "SIMPLE": True,
        "BITPIX": -32,
        "NAXIS": 2,
        "OBJECT": spec.target,
        "DATE": (start + _dt.timedelta(days=14)).isoformat(timespec="microseconds"),
        "DSETID": spec.dataset_id,
        "POINT_ID": spec.dataset_id,
        "PRODUCT": "L1-" + spec.dataset_id[::-1],
        "PROP_ID": spec.proposal_id,
        "PROPID01": spec.proposal_id,
        "EXPER_ID": spec.experiment_id,
        "EXPRID01": spec.experiment_id,
        "RRUNID": spec.recipe_run_id,
        "RECIPEID": 9,
        "RINSTID": spec.recipe_run_id + 17,
        "IDSOBSID": spec.recipe_run_id + 101,
        "IDSPARID": spec.recipe_run_id + 102,
        "IDSCALID": spec.recipe_run_id + 103,
        "OBSPR_ID": f"{spec.experiment_id}_op{spec.seed:03d}",
        "IP_ID": f"id.{spec.recipe_run_id}.{spec.seed}",
        "WKFLNAME": "l0_to_l1_vbi_summit-calibrated",
        "WKFLVERS": "1.20.0",
        "HLSVERS": "Alakai_11-1",
        "HEADVERS": "4.0.0",
        "HEAD_URL": HEAD_URL,
        "INFO_URL": INFO_URL,
        "CAL_URL": CAL_URL.replace("visp", "vbi").replace("l0_to_l1_vbi", "l0_to_l1_vbi_summit-calibrated"),
        "CALVERS": "1.20.0",
        "LINEWAV": spec.linewave_nm,
        "WAVEMIN": round(spec.linewave_nm - spec.passband_nm / 2, 4),
        "WAVEMAX": round(spec.linewave_nm + spec.passband_nm / 2, 4),
        "WAVEBAND": "H beta",
        "SPECLN01": "H beta",
        "XPOSURE": 20.0,
        "TEXPOSUR": 20.0,
        "NSUMEXP": 1,
        "CADENCE": spec.tile_cadence_s * 9,
        "DSHEALTH": "GOOD",
        "GOS_STAT": "open",
        "BUNIT": "ct",
    }
    for key, value in constants.items():
        sim.add_constant_key(key, value)

    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for frame in sim:
            header = dict(frame.header())
            for key in NOT_IN_PRIMARY_HDU:
                header.pop(key, None)
            rows.append(header)

    order = list(_FIRST_KEYS)
    for header in rows:
        for key in header:
            if key not in order:
                order.append(key)
    columns = {}
    for key in order:
        values = [h.get(key) for h in rows]
        missing = np.array([v is None for v in values])
        if missing.any():
            fill = next(v for v in values if v is not None)
            data = np.array([fill if v is None else v for v in values])
            columns[key] = MaskedColumn(data, mask=missing, name=key)
        else:
            columns[key] = np.array(values)
    table = Table(columns)

    frames = _tile_frames(spec, table, seeing, light)
    stats = {
        "DATAMEAN": frames.mean(axis=(1, 2)),
        "DATARMS": frames.std(axis=(1, 2)),
        "DATAMIN": frames.min(axis=(1, 2)),
        "DATAMAX": frames.max(axis=(1, 2)),
        "DATAMEDN": np.median(frames.reshape(len(frames), -1), axis=1),
    }
    for key, values in stats.items():
        if key in table.colnames:
            table[key] = values
    stamps = [d[:23].replace("-", "_").replace(":", "_").replace(".", "_") for d in table["DATE-BEG"]]
    wave = f"{int(round(spec.linewave_nm * 1000)):08d}"
    filenames = [f"VBI_{s}_{wave}_{spec.dataset_id}_L1.fits" for s in stamps]
    table["FILENAME"] = filenames
    return table, filenames, frames, seeing


def _tile_frames(spec: VbiSpec, table: Table, seeing: SeeingSeries, light: np.ndarray) -> np.ndarray:
    n = spec.tile_px
    offset_px = int(round(_tile_offset(spec) / spec.plate_scale))
    size = 2 * offset_px + n + 8
    field = synthetic_sun.granulation((size, size), seed=spec.seed + 1, granule_px=6.5, contrast=0.12)
    frames = np.empty((len(table), n, n), dtype=np.float32)
    fields = {}
    rng = np.random.default_rng(spec.seed + 5)
    for i in range(len(table)):
        repeat = int(table["DINDEX3"][i]) - 1
        if repeat not in fields:
            fields[repeat] = (
                field
                if repeat == 0
                else synthetic_sun.evolve(fields[repeat - 1], seed=spec.seed + 50 + repeat, amount=0.35, granule_px=6.5)
            )
        m1, m2 = int(table["MINDEX1"][i]), int(table["MINDEX2"][i])
        x0 = 4 + (m1 - 1) * offset_px
        y0 = 4 + (m2 - 1) * offset_px
        sigma = float(synthetic_sun.blur_sigma_px(seeing.r0[i], seeing.ao_lock[i]))
        cut = fields[repeat][y0 - 4 : y0 + n + 4, x0 - 4 : x0 + n + 4]
        image = synthetic_sun.blur(cut, sigma)[4:-4, 4:-4]
        counts = 1.5e4 * light[i]
        frames[i] = image * counts + rng.normal(0, np.sqrt(counts) * 0.5, image.shape)
    return frames


def mosaic_images(table: Table, frames: np.ndarray, spec: VbiSpec) -> list[np.ndarray]:
    """One stitched mosaic image per repeat (for the preview movie)."""
    n = spec.tile_px
    offset_px = int(round(_tile_offset(spec) / spec.plate_scale))
    size = 2 * offset_px + n
    images = []
    for repeat in range(spec.n_time):
        canvas = np.full((size, size), np.nan, dtype=np.float32)
        rows = np.flatnonzero(np.asarray(table["DINDEX3"]) == repeat + 1)
        for i in rows:
            m1, m2 = int(table["MINDEX1"][i]), int(table["MINDEX2"][i])
            y0, x0 = (m2 - 1) * offset_px, (m1 - 1) * offset_px
            canvas[y0 : y0 + n, x0 : x0 + n] = frames[i]
        images.append(canvas[::-1])  # north up
    return images
