"""The sample archive: realistic DKIST datasets generated once into the user data dir.

``ensure_archive()`` returns the :class:`Archive` under
``paths.archive_root(FORMAT_VERSION)``, generating what is missing first. Laid out as
on the DKIST Globus endpoint::

    {root}/catalogue.json                      {"format_version": N, "datasets": [record, ...]}
    {root}/data/{proposal}/{dataset}/          FITS files, the ASDF, {dataset}_quality_report.pdf,
                                               {dataset}.mp4, record.json

The datasets (ids are module constants; everything is seeded, so two machines build
the same archive):

``VISP_FE630_ID``
    VISP Fe I 630.25 nm, 4 Stokes x 100 steps (400 FITS), good seeing with bad
    spells, public, pid_1_123
``VISP_CA854_ID``
    VISP Ca II 854.21 nm, 4 Stokes x 2 maps x 100 steps (800 FITS), poor seeing,
    *embargoed*, pid_2_114
``VBI_HBETA_ID``
    VBI blue H-beta 486.135 nm, 3x3 mosaic x 3 repeats (27 FITS), a
    ``TiledDataset``, public, pid_1_50
``VISP_CA397_ID``
    VISP Ca II H 396.85 nm headers-only, 4 Stokes x 1000 steps (4,000 frames of full
    size, ASDF only, no FITS), public, pid_2_41

Each ASDF's inventory (``ds.meta["inventory"]``) *is* its catalogue record: the
search-only keys (``isEmbargoed``, ``browseMovieObjectKey``, ``frameCount``,
``datasetSize`` in GiB like DKIST's API, ...) are passed to dkist-inventory as extra
inventory, and the record is read back from what was written. ``browseMovieUrl`` is
the DKIST download URL *path* (``/download/movie?datasetId=...&download=false``):
the loopback data centre's host and port change from run to run.

Atomicity: a dataset is built in ``{root}/.building/`` and renamed into place when
complete (the rename is atomic on one file system), so an interrupted run leaves no
folder that looks finished; ``catalogue.json`` is written (also via rename) after
all datasets exist. A cached start reads ``catalogue.json`` and checks the dataset
folders exist: no dataset is opened. A lock file serialises concurrent builders.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from . import paths
from .endpoints import DKIST_BUCKET

__all__ = [
    "FORMAT_VERSION",
    "Archive",
    "ensure_archive",
    "VISP_FE630_ID",
    "VISP_CA854_ID",
    "VBI_HBETA_ID",
    "VISP_CA397_ID",
    "DATASET_IDS",
]

#: Bump when anything about the generated files changes: a new folder is built.
#: 5: KPLMQ has VISP's real spectral size (976 wavelength pixels, so the workshop's
#: ``ds[:, :, 500, :]`` and ``ds[0, :, 466, :]`` are valid) and the best average r0
#: of the unembargoed VISP datasets with files (the workshop sorts by it).
FORMAT_VERSION = 5

#: Wavelength pixels of KPLMQ: the real VISP camera's spectral size (FACTS: files
#: of shape ``(1, 976, 2555)``); the slit keeps 100 pixels to bound the archive.
VISP_FULL_SPECTRUM_N_WAVE = 976

VISP_FE630_ID = "KPLMQ"
VISP_CA854_ID = "RTZWX"
VBI_HBETA_ID = "GHMNE"
VISP_CA397_ID = "WLKSB"
DATASET_IDS = (VISP_FE630_ID, VISP_CA854_ID, VBI_HBETA_ID, VISP_CA397_ID)

RECORD_FILE = "record.json"
CATALOGUE_FILE = "catalogue.json"

Progress = Callable[[str], None] | None


@dataclass
class Archive:
    """A finished sample archive: its root folder and catalogue records."""

    root: Path
    catalogue: list[dict]

    def record(self, dataset_id: str) -> dict:
        for record in self.catalogue:
            if record["datasetId"] == dataset_id:
                return record
        raise KeyError(
            f"no dataset {dataset_id!r} in the sample archive "
            f"(known: {', '.join(r['datasetId'] for r in self.catalogue)})"
        )

    def _object(self, dataset_id: str, key: str) -> Path:
        record = self.record(dataset_id)
        return self.root / record["bucket"] / record[key]

    def dataset_dir(self, dataset_id: str) -> Path:
        record = self.record(dataset_id)
        return self.root / record["bucket"] / record["primaryProposalId"] / dataset_id

    def asdf_path(self, dataset_id: str) -> Path:
        return self._object(dataset_id, "asdfObjectKey")

    def quality_report_path(self, dataset_id: str) -> Path:
        return self._object(dataset_id, "qualityReportObjectKey")

    def movie_path(self, dataset_id: str) -> Path:
        return self._object(dataset_id, "browseMovieObjectKey")

    def fits_paths(self, dataset_id: str) -> list[Path]:
        return sorted(self.dataset_dir(dataset_id).glob("*.fits"))


# --- the datasets ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Plan:
    dataset_id: str
    proposal_id: str
    kind: str  # "visp", "vbi", "visp-headers-only"
    embargoed: bool = False
    embargo_end: str | None = None
    create_date: str = "2023-04-21T22:18:17.759000"
    description: str = ""
    #: One value per dataset: dkist's result table makes this column a Quantity,
    #: which fails on a column of empty lists.
    filter_nm: float = 0.0


PLANS = (
    _Plan(
        VISP_FE630_ID,
        "pid_1_123",
        "visp",
        create_date="2022-11-14T22:18:17.759000",
        description="Quiet-Sun spectropolarimetry in Fe I 630 nm under variable seeing.",
        filter_nm=630.25,
    ),
    _Plan(
        VISP_CA854_ID,
        "pid_2_114",
        "visp",
        embargoed=True,
        embargo_end="2027-06-30T00:00:00",
        create_date="2023-05-23T19:02:41.112000",
        description="Chromospheric Ca II 854 nm raster scans, two repeats, poor seeing.",
        filter_nm=854.21,
    ),
    _Plan(
        VBI_HBETA_ID,
        "pid_1_50",
        "vbi",
        create_date="2023-01-10T08:41:09.350000",
        description="VBI blue H-beta mosaic of a quiet region, three repeats.",
        filter_nm=486.135,
    ),
    _Plan(
        VISP_CA397_ID,
        "pid_2_41",
        "visp-headers-only",
        create_date="2024-05-02T11:05:33.001000",
        description="Large Ca II H sunspot raster (headers only in the sandbox: no FITS).",
        filter_nm=396.85,
    ),
)


def _visp_specs():
    from .visp import VispSpec

    return {
        VISP_FE630_ID: VispSpec(
            dataset_id=VISP_FE630_ID,
            proposal_id="pid_1_123",
            experiment_id="eid_1_123",
            start_time="2022-10-24T21:28:07.635",
            linewave_nm=630.25,
            line_name="Fe I",
            n_steps=100,
            n_wave=VISP_FULL_SPECTRUM_N_WAVE,
            seed=630,
            median_r0=0.12,
            spell_length=22.0,
            hpln_arcsec=-350.0,
            hplt_arcsec=220.0,
            target="quietsun",
            recipe_run_id=587,
        ),
        VISP_CA854_ID: VispSpec(
            dataset_id=VISP_CA854_ID,
            proposal_id="pid_2_114",
            experiment_id="eid_2_114",
            start_time="2023-05-02T17:41:12.250",
            linewave_nm=854.21,
            line_name="Ca II",
            n_steps=100,
            n_maps=2,
            dispersion_nm=0.004,
            seed=854,
            median_r0=0.05,
            spell_length=30.0,
            hpln_arcsec=410.0,
            hplt_arcsec=-95.0,
            target="plage",
            recipe_run_id=1204,
        ),
    }


def _search_fields(plan: _Plan) -> dict:
    """Keys of a search result that dkist-inventory cannot derive from headers."""
    i = plan.dataset_id
    return {
        "bucket": DKIST_BUCKET,
        "primaryProposalId": plan.proposal_id,
        "browseMovieObjectKey": f"{plan.proposal_id}/{i}/{i}.mp4",
        "browseMovieUrl": f"/download/movie?datasetId={i}&download=false",
        "isEmbargoed": plan.embargoed,
        "embargoEndDate": plan.embargo_end,
        "isDownloadable": True,
        "status": "ACTIVE",
        "createDate": plan.create_date,
        "updateDate": plan.create_date,
        "experimentDescription": plan.description,
        "filterWavelengths": [plan.filter_nm],
        "observables": [],
        # dkist's result table turns this column into a Quantity and fails on null;
        # polarimetric datasets get a plausible accuracy, imagers 0.
        "qualityAveragePolarimetricAccuracy": 0.0 if plan.kind == "vbi" else 0.94,
    }


def _visp_movie_frames(spec, frames):
    """Raster maps filling up step by step: Stokes I continuum | line core, per map."""
    import numpy as np

    n_s = spec.n_stokes
    per_stokes = frames.reshape(n_s, spec.n_maps, spec.n_steps, spec.n_wave, spec.n_slit)
    for m in range(spec.n_maps):
        intensity = per_stokes[0, m]  # (step, wave, slit)
        continuum = intensity[:, 2, :].T  # (slit, step)
        core = intensity.min(axis=1).T
        both = np.concatenate([continuum, core], axis=1)  # (slit, 2*step)
        for k in range(2, spec.n_steps + 1, 2):
            image = np.full_like(both, np.nan)
            image[:, :k] = both[:, :k]
            image[:, spec.n_steps : spec.n_steps + k] = both[:, spec.n_steps : spec.n_steps + k]
            yield image[::-1]


def _products(dataset_dir: Path, record: dict, headers, frames) -> None:
    from .products import write_preview_movie, write_quality_report

    write_quality_report(dataset_dir / Path(record["qualityReportObjectKey"]).name, headers, record)
    write_preview_movie(dataset_dir / Path(record["browseMovieObjectKey"]).name, frames, fps=10)


def _build_visp(plan: _Plan, dataset_dir: Path) -> dict:
    from .archive_asdf import write_dataset_asdf
    from .archive_fits import write_fits_files
    from .visp import frame_statistics, visp_frames, visp_header_table

    spec = _visp_specs()[plan.dataset_id]
    seeing = spec.seeing()
    frames = visp_frames(spec, seeing)
    headers, filenames = visp_header_table(spec, seeing, frame_stats=frame_statistics(frames))
    paths_ = write_fits_files(dataset_dir, headers, filenames, frames)
    extra = _search_fields(plan)
    extra["frameCount"] = len(paths_)
    extra["originalFrameCount"] = len(paths_)
    extra["datasetSize"] = sum(p.stat().st_size for p in paths_) / 2**30
    _, record = write_dataset_asdf(dataset_dir, headers, filenames, extra)
    _products(dataset_dir, record, headers, _visp_movie_frames(spec, frames))
    return record


def _build_vbi(plan: _Plan, dataset_dir: Path) -> dict:
    from .archive_asdf import write_dataset_asdf
    from .archive_fits import write_fits_files
    from .vbi import VbiSpec, mosaic_images, vbi_headers_and_frames

    spec = VbiSpec(
        dataset_id=plan.dataset_id,
        proposal_id=plan.proposal_id,
        experiment_id="eid_1_50",
        start_time="2022-12-27T19:27:42.338",
        seed=486,
        median_r0=0.11,
    )
    headers, filenames, frames, _ = vbi_headers_and_frames(spec)
    paths_ = write_fits_files(dataset_dir, headers, filenames, frames)
    extra = _search_fields(plan)
    extra.update(
        {
            "frameCount": len(paths_),
            "originalFrameCount": len(paths_),
            "datasetSize": sum(p.stat().st_size for p in paths_) / 2**30,
            "wavelengthMin": float(headers["WAVEMIN"][0]),
            "wavelengthMax": float(headers["WAVEMAX"][0]),
            "filterWavelengths": [float(spec.linewave_nm)],
        }
    )
    _, record = write_dataset_asdf(dataset_dir, headers, filenames, extra)
    _products(dataset_dir, record, headers, mosaic_images(headers, frames, spec))
    return record


def _build_headers_only(plan: _Plan, dataset_dir: Path) -> dict:
    from .headers_only import headers_only_spec, preview_frames, write_headers_only

    spec = headers_only_spec(
        1000, 4, seed=397, dataset_id=plan.dataset_id, proposal_id=plan.proposal_id, median_r0=0.065
    )
    extra = _search_fields(plan)
    extra["originalFrameCount"] = spec.n_files
    _, record, headers = write_headers_only(dataset_dir, spec, inventory=extra)
    _products(dataset_dir, record, headers, preview_frames(spec))
    return record


_BUILDERS = {"visp": _build_visp, "vbi": _build_vbi, "visp-headers-only": _build_headers_only}


# --- generation ---------------------------------------------------------------------


def _final_dir(root: Path, plan: _Plan) -> Path:
    return root / DKIST_BUCKET / plan.proposal_id / plan.dataset_id


def _read_json(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _write_json_atomic(path: Path, document) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(document, indent=1, sort_keys=True))
    os.replace(tmp, path)


def _cached(root: Path) -> Archive | None:
    """The finished archive if catalogue.json is current and every dataset folder exists."""
    document = _read_json(root / CATALOGUE_FILE)
    if not isinstance(document, dict) or document.get("format_version") != FORMAT_VERSION:
        return None
    records = document.get("datasets") or []
    if sorted(r.get("datasetId") for r in records) != sorted(DATASET_IDS):
        return None
    for record in records:
        if not (root / record["bucket"] / record["primaryProposalId"] / record["datasetId"]).is_dir():
            return None
    return Archive(root=root, catalogue=records)


@contextlib.contextmanager
def _lock(root: Path):
    """One generator per archive folder across processes, on every platform (``filelock``)."""
    from filelock import FileLock

    root.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(root.parent / f".{root.name}.lock")):
        yield


def _build_one(root: Path, plan: _Plan, progress: Progress) -> dict:
    final = _final_dir(root, plan)
    record = _read_json(final / RECORD_FILE)
    if final.is_dir() and record is not None:
        return record
    if final.exists():  # a folder without its record is not ours to trust
        shutil.rmtree(final)
    building = root / ".building" / f"{plan.dataset_id}-{os.getpid()}"
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir(parents=True)
    started = time.perf_counter()
    if progress:
        progress(f"generating {plan.kind} dataset {plan.dataset_id} ...")
    try:
        record = _BUILDERS[plan.kind](plan, building)
        _write_json_atomic(building / RECORD_FILE, record)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.rename(building, final)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    if progress:
        progress(
            f"dataset {plan.dataset_id} ready ({record['frameCount']} frames, {time.perf_counter() - started:.1f} s)"
        )
    return record


def ensure_archive(progress: Progress = None) -> Archive:
    """The sample archive, generated first if missing or of another format version.

    Parameters
    ----------
    progress
        Called with a short message as each dataset starts and finishes.
    """
    root = paths.archive_root(FORMAT_VERSION)
    archive = _cached(root)
    if archive is not None:
        return archive
    with _lock(root):
        archive = _cached(root)  # another process may have finished meanwhile
        if archive is not None:
            return archive
        root.mkdir(parents=True, exist_ok=True)
        records = [_build_one(root, plan, progress) for plan in PLANS]
        shutil.rmtree(root / ".building", ignore_errors=True)
        _write_json_atomic(root / CATALOGUE_FILE, {"format_version": FORMAT_VERSION, "datasets": records})
        if progress:
            progress(f"sample archive ready in {root}")
        return Archive(root=root, catalogue=records)
