"""Headers-only VISP datasets: an ASDF that describes thousands to millions of frames.

A DKIST ASDF alone describes a dataset (header table, gWCS, file list); the FITS
files need not exist to explore, slice and plan transfers. This module makes such
datasets quickly, for the archive's 4,000-frame dataset (like the workshop's) and for
benchmarks at 100k and 1M frames.

Speed: headers are numpy columns built by :func:`.visp.visp_header_table` (one
simulator frame as template; every varying key vectorised), and the ASDF is written
by :func:`.archive_asdf.write_dataset_asdf` (dkist-inventory's parser, gWCS and
inventory with its two O(n)-Python steps replaced). The simulator's per-frame path
(``SimpleVISPDataset.generate_headers``) is the baseline in
``benchmarks/bench_headers_only.py``.

Key set: datasets up to ``FULL_HEADER_LIMIT`` frames keep the simulator's full
~330-key header. Larger ones keep :data:`ESSENTIAL_KEYS` (~100 keys): what
dkist-inventory needs to build the gWCS and inventory, the keys quality and
navigation tools read (``ATMOS_R0``, ``AO_LOCK``, ``OOBSHIFT``, ``LIGHTLVL``,
``DSHEALTH``, ``GOS_STAT``, ``DATE-*``, ``DINDEX3..5``, ``VSPSTP``, ``VSPMAP``,
``TAZIMUTH``, ``ELEV_ANG``, ``XPOSURE``, ``DATAMEAN``, ``DATARMS``, ...). A 1M-row
table of 330 columns would be ~10 GB in memory; of these ~100, ~2 GB.

The frames described are full-size VISP frames ``(1, 976, 2555)`` float32 by
default, so file counts, byte counts and transfer plans are realistic although no
file exists (reading one gives NaN in dkist).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from . import synthetic_sun
from .archive_asdf import write_dataset_asdf
from .visp import VispSpec, visp_header_table

__all__ = [
    "ESSENTIAL_KEYS",
    "FULL_HEADER_LIMIT",
    "FULL_FRAME_SHAPE",
    "make_headers_only_dataset",
    "headers_only_spec",
    "write_headers_only",
    "preview_frames",
]

#: Datasets with more frames than this keep only ESSENTIAL_KEYS.
FULL_HEADER_LIMIT = 20_000
#: (wavelength, slit) pixels of a real VISP L1 frame.
FULL_FRAME_SHAPE = (976, 2555)

ESSENTIAL_KEYS = (
    # FITS structure
    "SIMPLE",
    "BITPIX",
    "NAXIS",
    "NAXIS1",
    "NAXIS2",
    "NAXIS3",
    "BUNIT",
    # time
    "DATE",
    "DATE-BEG",
    "DATE-AVG",
    "DATE-END",
    "TELAPSE",
    "DATEREF",
    # provenance and identifiers (inventory)
    "INSTRUME",
    "OBJECT",
    "DSETID",
    "PRODUCT",
    "PROCTYPE",
    "RRUNID",
    "RECIPEID",
    "RINSTID",
    "IDSOBSID",
    "IDSPARID",
    "IDSCALID",
    "OBSPR_ID",
    "IP_ID",
    "PROP_ID",
    "EXPER_ID",
    "NPROPOS",
    "NEXPERS",
    "PROPID01",
    "EXPRID01",
    "HEADVERS",
    "HEAD_URL",
    "INFO_URL",
    "CAL_URL",
    "HLSVERS",
    "WKFLNAME",
    "WKFLVERS",
    "FILENAME",
    "FRAMEVOL",
    # WCS (what the gWCS is built from)
    "WCSAXES",
    "WCSNAME",
    "CRPIX1",
    "CRPIX2",
    "CRPIX3",
    "CRVAL1",
    "CRVAL2",
    "CRVAL3",
    "CDELT1",
    "CDELT2",
    "CDELT3",
    "CUNIT1",
    "CUNIT2",
    "CUNIT3",
    "CTYPE1",
    "CTYPE2",
    "CTYPE3",
    "PC1_1",
    "PC1_2",
    "PC1_3",
    "PC2_1",
    "PC2_2",
    "PC2_3",
    "PC3_1",
    "PC3_2",
    "PC3_3",
    "LONPOLE",
    "OBSGEO-X",
    "OBSGEO-Y",
    "OBSGEO-Z",
    "SPECSYS",
    "VELOSYS",
    # dataset axes
    "DNAXIS",
    "DNAXIS1",
    "DNAXIS2",
    "DNAXIS3",
    "DNAXIS4",
    "DNAXIS5",
    "DTYPE1",
    "DTYPE2",
    "DTYPE3",
    "DTYPE4",
    "DTYPE5",
    "DPNAME1",
    "DPNAME2",
    "DPNAME3",
    "DPNAME4",
    "DPNAME5",
    "DWNAME1",
    "DWNAME2",
    "DWNAME3",
    "DWNAME4",
    "DWNAME5",
    "DUNIT1",
    "DUNIT2",
    "DUNIT3",
    "DUNIT4",
    "DUNIT5",
    "DAAXES",
    "DEAXES",
    "DINDEX3",
    "DINDEX4",
    "DINDEX5",
    # spectral
    "LINEWAV",
    "WAVEMIN",
    "WAVEMAX",
    "WAVEBAND",
    "NSPECLNS",
    "SPECLN01",
    # quality and observing conditions
    "ATMOS_R0",
    "AO_LOCK",
    "OOBSHIFT",
    "LIGHTLVL",
    "DSHEALTH",
    "GOS_STAT",
    "TAZIMUTH",
    "ELEV_ANG",
    "XPOSURE",
    "TEXPOSUR",
    "DATAMEAN",
    "DATARMS",
    # VISP
    "VSPSTP",
    "VSPNSTP",
    "VSPMAP",
    "VSPNMAPS",
    "STOKES",
)


def headers_only_spec(
    n_steps: int,
    n_stokes: int = 4,
    *,
    n_maps: int = 1,
    seed: int = 0,
    dataset_id: str = "HDRXL",
    proposal_id: str = "pid_2_41",
    experiment_id: str | None = None,
    linewave_nm: float = 396.847,
    line_name: str = "Ca II H",
    start_time: str = "2024-04-11T14:27:00.000",
    median_r0: float = 0.07,
) -> VispSpec:
    """A VISP layout with real VISP sampling (0.0298"/px along the slit, 1.3 pm/px)."""
    return VispSpec(
        dataset_id=dataset_id,
        proposal_id=proposal_id,
        experiment_id=experiment_id or proposal_id.replace("pid", "eid"),
        start_time=start_time,
        linewave_nm=linewave_nm,
        line_name=line_name,
        n_steps=n_steps,
        n_maps=n_maps,
        n_stokes=n_stokes,
        # The simulator template uses a small shape; the headers describe full frames.
        n_wave=50,
        n_slit=100,
        dispersion_nm=0.00128,
        slit_plate_scale=0.0298,
        raster_step_arcsec=0.0298,
        step_cadence_s=3.2,
        hpln_arcsec=-520.0,
        hplt_arcsec=-180.0,
        target="sunspot",
        seed=seed,
        median_r0=median_r0,
        spell_length=60.0,
        recipe_run_id=5000 + seed,
    )


def write_headers_only(
    directory: os.PathLike,
    spec: VispSpec,
    *,
    inventory: dict | None = None,
    keys=None,
    frame_shape: tuple[int, int] = FULL_FRAME_SHAPE,
):
    """Write the ASDF of ``spec`` into ``directory`` (no FITS). Returns (path, record, headers)."""
    seeing = spec.seeing()
    if keys is None:
        keys = ESSENTIAL_KEYS if spec.n_files > FULL_HEADER_LIMIT else None
    table, filenames = visp_header_table(spec, seeing, keys=keys, detector_shape=frame_shape)
    frame_mib = float(np.asarray(table["FRAMEVOL"])[0])
    extra = {
        "frameCount": spec.n_files,
        "datasetSize": frame_mib * spec.n_files / 1024,
    }
    extra.update(inventory or {})
    path, record = write_dataset_asdf(directory, table, filenames, extra)
    return path, record, table


def make_headers_only_dataset(
    path_or_dir: os.PathLike,
    n_steps: int,
    n_stokes: int = 4,
    *,
    n_maps: int = 1,
    seed: int = 0,
    dataset_id: str = "HDRXL",
    proposal_id: str = "pid_2_41",
    keys=None,
    frame_shape: tuple[int, int] = FULL_FRAME_SHAPE,
    inventory: dict | None = None,
) -> Path:
    """Write a headers-only VISP dataset of ``n_stokes * n_maps * n_steps`` frames.

    ``path_or_dir`` is the folder to write into (created); the ASDF gets the data
    centre's name (``VISP_L1_<start>_<id>_metadata.asdf``). Returns the ASDF path.
    ``keys``: None = full headers up to FULL_HEADER_LIMIT frames, else ESSENTIAL_KEYS.
    """
    if n_steps < 1 or n_stokes not in (1, 4) or n_maps < 1:
        raise ValueError("n_steps and n_maps must be >= 1 and n_stokes 1 or 4")
    directory = Path(path_or_dir)
    if directory.suffix == ".asdf":
        directory = directory.parent
    directory.mkdir(parents=True, exist_ok=True)
    spec = headers_only_spec(
        n_steps, n_stokes, n_maps=n_maps, seed=seed, dataset_id=dataset_id, proposal_id=proposal_id
    )
    extra = {"bucket": "data", "primaryProposalId": proposal_id}
    extra.update(inventory or {})
    path, _, _ = write_headers_only(directory, spec, inventory=extra, keys=keys, frame_shape=frame_shape)
    return path


def preview_frames(spec: VispSpec, *, n_frames: int = 60, shape=(72, 96)):
    """Frames for the preview movie of a headers-only dataset (no FITS is written).

    A granulation scene seen at ``n_frames`` moments spread over the dataset, each
    blurred by the seeing of that moment, slowly evolving.
    """
    seeing = spec.seeing()
    moments = np.linspace(0, spec.n_times - 1, n_frames).astype(int)
    scene = synthetic_sun.granulation(shape, seed=spec.seed + 1, granule_px=7.0)
    for k, t in enumerate(moments):
        if k and k % 10 == 0:
            scene = synthetic_sun.evolve(scene, seed=spec.seed + 200 + k, amount=0.3, granule_px=7.0)
        sigma = float(synthetic_sun.blur_sigma_px(seeing.r0[t], seeing.ao_lock[t]))
        yield synthetic_sun.blur(scene, sigma).astype(np.float32)


#: Part of the cache folder name of :func:`cached_headers_only_dataset`; bump to regenerate.
CACHE_VERSION = 1


def headers_only_cache_root() -> Path:
    """Where cached headers-only datasets live: ``$DKIST_WIDGETS_DATA_DIR`` (else the user
    cache's ``dkist-widgets/test-data``) / ``load-v<CACHE_VERSION>``."""
    base = os.environ.get("DKIST_WIDGETS_DATA_DIR")
    if not base:
        import platformdirs

        base = str(Path(platformdirs.user_cache_dir("dkist-widgets")) / "test-data")
    return Path(base) / f"load-v{CACHE_VERSION}"


def cached_headers_only_dataset(n_steps: int, n_stokes: int = 4, *, seed: int = 11, progress=None) -> Path:
    """The ASDF of a headers-only dataset of ``n_stokes * n_steps`` frames, generated once and reused.

    Made in a temporary sibling folder and renamed into place before its ``DONE``
    marker is written, so a half-built one is never taken for a finished one
    (100k frames ~20 s, 1M ~75-130 s to generate). Tests, benchmarks and
    ``dkist-widgets generate --frames`` share the cache.
    """
    import shutil

    folder = headers_only_cache_root() / f"visp-{n_stokes}x{n_steps}-seed{seed}"
    done = folder / "DONE"
    if done.is_file():
        path = folder / done.read_text(encoding="utf-8").strip()
        if path.is_file():
            return path
    if progress:
        progress(f"generating a headers-only dataset of {n_stokes * n_steps:,} frames in {folder}")
    building = folder.with_name(f"{folder.name}.building-{os.getpid()}")
    shutil.rmtree(building, ignore_errors=True)
    made = make_headers_only_dataset(building, n_steps=n_steps, n_stokes=n_stokes, seed=seed)
    shutil.rmtree(folder, ignore_errors=True)  # an unfinished earlier attempt
    os.replace(building, folder)
    done.write_text(made.name, encoding="utf-8")
    return folder / made.name
