"""The sample archive, checked with dkist itself and against the files on disk.

The archive is built once per session into a temporary DKIST_WIDGETS_DATA_DIR (about
a minute on 2 cores), or reused from $DKIST_WIDGETS_DATA_DIR when that is set (the
cache `ensure_archive` keeps). Expected values come from independent sources: the
FITS files read with astropy, dkist's own file manager, the header table.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
import warnings
from pathlib import Path

import dkist
import numpy as np
import pytest
from astropy.io import fits
from dkist.dataset import TiledDataset

from dkist_widgets.sandbox import archive as archive_mod
from dkist_widgets.sandbox.archive import (
    DATASET_IDS,
    FORMAT_VERSION,
    VBI_HBETA_ID,
    VISP_CA397_ID,
    VISP_CA854_ID,
    VISP_FE630_ID,
    ensure_archive,
)
from dkist_widgets.sandbox.seeing import seeing_series

pytestmark = [pytest.mark.timeout(600), pytest.mark.slow]

FITS_VISP = (VISP_FE630_ID, VISP_CA854_ID)


@pytest.fixture(scope="session")
def archive(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    if not os.environ.get("DKIST_WIDGETS_DATA_DIR"):
        mp.setenv("DKIST_WIDGETS_DATA_DIR", str(tmp_path_factory.mktemp("dkist-widgets-data")))
    try:
        yield ensure_archive()
    finally:
        mp.undo()


def _load(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return dkist.load_dataset(path)


@pytest.fixture(scope="session")
def datasets(archive):
    return {i: _load(archive.asdf_path(i)) for i in DATASET_IDS}


def test_catalogue_layout_and_ids(archive):
    document = json.loads((archive.root / "catalogue.json").read_text())
    assert document["format_version"] == FORMAT_VERSION
    assert archive.root.name == f"archive-v{FORMAT_VERSION}"
    ids = [r["datasetId"] for r in document["datasets"]]
    assert sorted(ids) == sorted(DATASET_IDS) and len(set(ids)) == len(ids)
    for record in document["datasets"]:
        assert re.fullmatch(r"[A-Z]{5}", record["datasetId"])
        assert record["bucket"] == "data"
        assert re.fullmatch(r"pid_\d+_\d+", record["primaryProposalId"])
        folder = archive.root / "data" / record["primaryProposalId"] / record["datasetId"]
        assert archive.dataset_dir(record["datasetId"]) == folder
        for key in ("asdfObjectKey", "qualityReportObjectKey", "browseMovieObjectKey"):
            assert record[key].startswith(f"{record['primaryProposalId']}/{record['datasetId']}/")
            assert (archive.root / "data" / record[key]).is_file(), key
    # Search filters have something to tell apart.
    records = {r["datasetId"]: r for r in document["datasets"]}
    assert {r["instrumentName"] for r in records.values()} == {"VISP", "VBI"}
    assert len({round(r["wavelengthMin"]) for r in records.values()}) == 4
    assert len({r["primaryProposalId"] for r in records.values()}) == 4
    assert {r["isEmbargoed"] for r in records.values()} == {True, False}
    r0 = sorted(r["qualityAverageFriedParameter"] for r in records.values())
    assert r0[-1] - r0[0] > 0.02


def test_products_are_real_files(archive):
    for i in DATASET_IDS:
        pdf = archive.quality_report_path(i).read_bytes()
        assert pdf.startswith(b"%PDF") and len(pdf) > 5_000
        mp4 = archive.movie_path(i).read_bytes()
        assert mp4[4:8] == b"ftyp" and b"mdat" in mp4 and len(mp4) > 2_000


@pytest.mark.parametrize("dataset_id", FITS_VISP)
def test_visp_files_match_dkist(archive, datasets, dataset_id):
    ds = datasets[dataset_id]
    on_disk = archive.fits_paths(dataset_id)
    record = archive.record(dataset_id)
    assert len(on_disk) >= 400
    assert len(ds.files) == len(on_disk) == record["frameCount"] == len(ds.headers)
    assert Path(ds.files.basepath) == archive.dataset_dir(dataset_id)
    assert sorted(ds.files.filenames) == sorted(p.name for p in on_disk)
    # Header row i belongs to files.filenames[i].
    assert list(ds.headers["FILENAME"]) == list(ds.files.filenames)
    n_stokes, *rest = ds.files.fileuri_array.shape
    assert n_stokes == 4 and rest[-1] >= 100
    # (wavelength, slit) pixels per file: KPLMQ has VISP's real spectral size so the
    # workshop's ds[:, :, 500, :] and ds[0, :, 466, :] are valid (issue 16)
    n_wave, n_slit = {VISP_FE630_ID: (976, 100), VISP_CA854_ID: (50, 100)}[dataset_id]
    first = fits.getheader(on_disk[0])
    assert (first["NAXIS2"], first["NAXIS1"]) == (n_wave, n_slit)
    assert ds.files.shape == (1, n_wave, n_slit)
    assert ds.data.shape == (*ds.files.fileuri_array.shape, n_wave, n_slit)
    # Spot-check headers against the FITS files themselves.
    for i in (0, len(ds.files) // 3, len(ds.files) - 1):
        header = fits.getheader(archive.dataset_dir(dataset_id) / ds.files.filenames[i])
        row = ds.headers[i]
        for key in ("DATE-BEG", "DINDEX3", "DINDEX4", "STOKES", "AO_LOCK", "LIGHTLVL"):
            assert header[key] == row[key], key
        assert ("ATMOS_R0" in header) == (not np.ma.is_masked(row["ATMOS_R0"]))
    assert sum(p.stat().st_size for p in on_disk) / 2**30 == pytest.approx(record["datasetSize"])


@pytest.mark.parametrize("dataset_id", FITS_VISP)
def test_visp_indices_and_seeing(datasets, dataset_id):
    ds = datasets[dataset_id]
    h = ds.headers
    shape = ds.files.fileuri_array.shape  # (stokes, [map,] step)
    dindex = [k for k in ("DINDEX5", "DINDEX4", "DINDEX3") if k in h.colnames]
    assert len(dindex) == len(shape)
    for key, n in zip(dindex, shape):
        assert h[key].min() == 1 and h[key].max() == n, key  # 1-based like real data
    assert set(h["STOKES"]) == {"I", "Q", "U", "V"}
    assert (np.asarray(h["VSPSTP"]) == np.asarray(h["DINDEX3"])).all()

    r0 = h["ATMOS_R0"]
    assert hasattr(r0, "mask")
    dropped = ~np.asarray(h["AO_LOCK"], dtype=bool) | (np.asarray(h["OOBSHIFT"]) >= 100)
    assert dropped.any() and (~dropped).any()
    assert (np.asarray(r0.mask) == dropped).all()
    values = np.asarray(r0[~r0.mask])
    assert 0.02 <= values.min() and values.max() < 0.3
    median = np.median(values)
    assert (values > 1.3 * median).mean() > 0.1 and (values < 0.8 * median).mean() > 0.1
    # Spells: neighbouring raster steps are much closer than random pairs.
    i_rows = np.flatnonzero(np.asarray(h["STOKES"]) == "I")
    series = np.ma.filled(r0[i_rows].astype(float), np.nan)
    steps = np.abs(np.diff(series))
    assert np.nanmedian(steps) < 0.3 * np.nanstd(series)
    # Times advance with the raster, Stokes states share them.
    beg = np.asarray(h["DATE-BEG"][i_rows], dtype="datetime64[us]")
    assert (np.diff(beg) > np.timedelta64(0, "s")).all()
    end = np.asarray(h["DATE-END"], dtype="datetime64[us]")
    avg = np.asarray(h["DATE-AVG"], dtype="datetime64[us]")
    start = np.asarray(h["DATE-BEG"], dtype="datetime64[us]")
    assert ((start < avg) & (avg < end)).all()
    assert ds.meta["inventory"]["qualityAverageFriedParameter"] == pytest.approx(values.mean())


def test_visp_pixels_are_plausible(archive, datasets):
    ds = datasets[VISP_FE630_ID]
    h = ds.headers
    folder = archive.dataset_dir(VISP_FE630_ID)
    i_rows = np.flatnonzero(np.asarray(h["STOKES"]) == "I")
    spectra = np.array([fits.getdata(folder / ds.files.filenames[i])[0] for i in i_rows])
    mean_spectrum = spectra.mean(axis=(0, 2))
    assert mean_spectrum.min() < 0.7 * mean_spectrum[:3].mean()  # an absorption line
    # Granulation along the slit; contrast drops when r0 is small.
    continuum = spectra[:, 2, :]
    contrast = continuum.std(axis=1) / continuum.mean(axis=1)
    r0 = np.ma.filled(h["ATMOS_R0"][i_rows].astype(float), np.nan)
    ok = np.isfinite(r0)
    assert 0.01 < contrast.max() < 0.2
    ranks = lambda x: np.argsort(np.argsort(x))  # noqa: E731
    assert np.corrcoef(ranks(r0[ok]), ranks(contrast[ok]))[0, 1] > 0.6
    # The slit sees different granules at different raster steps.
    assert np.corrcoef(continuum[0], continuum[50])[0, 1] < 0.5
    for stokes in ("Q", "U", "V"):
        rows = np.flatnonzero(np.asarray(h["STOKES"]) == stokes)[::10]
        data = np.array([fits.getdata(folder / ds.files.filenames[i]) for i in rows])
        level = np.abs(data).mean() / mean_spectrum.mean()
        assert 1e-4 < level < 0.05, stokes


def test_vbi_is_a_tiled_dataset(archive, datasets):
    ds = datasets[VBI_HBETA_ID]
    assert isinstance(ds, TiledDataset)
    assert ds.shape == (3, 3)
    on_disk = archive.fits_paths(VBI_HBETA_ID)
    names = [n for tile in ds.flat for n in tile.files.filenames]
    assert sorted(names) == sorted(p.name for p in on_disk) and len(on_disk) == 27
    tile = ds[1, 1]
    assert Path(tile.files.basepath) == archive.dataset_dir(VBI_HBETA_ID)
    assert list(tile.headers["DINDEX3"]) == [1, 2, 3]
    image = np.asarray(tile.data[0].compute())
    assert np.isfinite(image).all() and image.std() / image.mean() > 0.01
    assert ds.meta["inventory"]["tileCount"] == 9


def test_headers_only_dataset(archive, datasets):
    ds = datasets[VISP_CA397_ID]
    record = archive.record(VISP_CA397_ID)
    assert record["frameCount"] == len(ds.files) == len(ds.headers) >= 4000
    assert ds.files.fileuri_array.shape == (4, 1000)
    assert archive.fits_paths(VISP_CA397_ID) == []
    assert ds.headers["ATMOS_R0"].mask.any()
    assert record["datasetSize"] > 10  # GiB of full-size frames that are not on disk


def test_inventory_is_the_catalogue_record(archive, datasets):
    for dataset_id, ds in datasets.items():
        record = archive.record(dataset_id)
        inventory = json.loads(json.dumps(ds.meta["inventory"]))
        assert inventory == record, dataset_id
        if isinstance(ds, TiledDataset):
            from astropy.table import vstack

            headers = vstack([t.headers for t in ds.flat])
        else:
            headers = ds.headers
        r0 = headers["ATMOS_R0"]
        assert record["qualityAverageFriedParameter"] == pytest.approx(float(np.ma.mean(r0)))
        assert record["browseMovieUrl"].endswith(f"datasetId={dataset_id}&download=false")
        assert record["headerDocumentationUrl"].startswith("https://docs.dkist.nso.edu")


def test_second_call_is_cached(archive):
    stamps = {
        p: p.stat().st_mtime_ns
        for p in [archive.root / "catalogue.json", *(archive.dataset_dir(i) for i in DATASET_IDS)]
    }
    started = time.perf_counter()
    again = ensure_archive()
    elapsed = time.perf_counter() - started
    assert elapsed < 1.0
    assert again.catalogue == archive.catalogue
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps


def test_half_built_dataset_is_rebuilt(tmp_path):
    """A folder without its record (interrupted run) is replaced by a complete one."""
    root = tmp_path / f"archive-v{FORMAT_VERSION}"
    plan = next(p for p in archive_mod.PLANS if p.dataset_id == VISP_CA397_ID)
    final = archive_mod._final_dir(root, plan)
    final.mkdir(parents=True)
    (final / "partial.asdf").write_text("interrupted")
    assert archive_mod._cached(root) is None
    record = archive_mod._build_one(root, plan, None)
    assert not (final / "partial.asdf").exists()
    assert json.loads((final / "record.json").read_text()) == record
    assert not list((root / ".building").glob("*"))
    shutil.rmtree(root)


def test_large_generator_small_n(tmp_path):
    from dkist_widgets.sandbox.headers_only import ESSENTIAL_KEYS, make_headers_only_dataset

    path = make_headers_only_dataset(tmp_path / "big", n_steps=500, seed=3, dataset_id="BENCH", keys=ESSENTIAL_KEYS)
    ds = _load(path)
    assert len(ds.files) == len(ds.headers) == ds.meta["inventory"]["frameCount"] == 2000
    assert ds.files.fileuri_array.shape == (4, 500)
    assert set(ds.headers.colnames) <= set(ESSENTIAL_KEYS)
    assert {"ATMOS_R0", "AO_LOCK", "DATE-AVG", "DINDEX3", "DINDEX4"} <= set(ds.headers.colnames)
    assert not list(path.parent.glob("*.fits"))
    assert ds.meta["inventory"]["datasetId"] == "BENCH"
    # Seeded: the same call gives the same r0 series.
    again = _load(
        make_headers_only_dataset(tmp_path / "again", n_steps=500, seed=3, dataset_id="BENCH", keys=ESSENTIAL_KEYS)
    )
    assert (np.ma.getdata(again.headers["ATMOS_R0"]) == np.ma.getdata(ds.headers["ATMOS_R0"])).all()


def test_seeing_series_is_seeded_and_has_spells():
    a = seeing_series(2000, seed=4, median_r0=0.08)
    b = seeing_series(2000, seed=4, median_r0=0.08)
    assert (a.r0 == b.r0).all() and (a.ao_lock == b.ao_lock).all()
    assert not (seeing_series(2000, seed=5).r0 == a.r0).all()
    assert (a.r0 > 0.12).mean() > 0.05 and (a.r0 < 0.05).mean() > 0.05
    assert 0.7 < a.ao_lock.mean() < 1.0
