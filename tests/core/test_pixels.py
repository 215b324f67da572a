"""core.pixels against dkist's own dask array (the oracle) on the sample archive.

A partial download is made by copying some of the archive's FITS files into a
temporary basepath; dkist reads missing files as NaN, so ``ds.data[...]`` is the
oracle for values and the copied set for the missing mask.
"""

from __future__ import annotations

import shutil
import threading

import dkist
import numpy as np
import pytest

from dkist_widgets.core import pixels as px
from dkist_widgets.core.model import DatasetModel


@pytest.fixture
def visp(archive):
    return dkist.load_dataset(archive.asdf_path("KPLMQ"))


def _partial(ds, tmp_path, frames):
    """Copy the files of these frame ids (flat fileuri order) into tmp_path; point ds there."""
    source = ds.files.basepath
    names = np.asarray(ds.files.filenames)
    for name in names[frames]:
        shutil.copy(source / name, tmp_path / name)
    model = DatasetModel(ds)
    model.set_basepath(tmp_path)
    return model


def test_image_equals_dkist_for_every_axis_pair(visp):
    model = DatasetModel(visp)
    assert model.n_local_files == 400
    indices = {0: 2, 1: 37, 2: 11, 3: 64}
    for x_axis in range(4):
        for y_axis in range(4):
            if x_axis == y_axis:
                continue
            slab = px.read_image(model, (x_axis, y_axis), indices)
            item = tuple(slice(None) if a in (x_axis, y_axis) else indices[a] for a in range(4))
            expected = visp.data[item].compute()
            if x_axis < y_axis:
                expected = expected.T  # the result is (y, x)
            assert slab.values.shape == expected.shape
            np.testing.assert_array_equal(slab.values, expected)
            assert not slab.missing.any()
            # files touched = dkist's own count for the same slice
            assert slab.n_files == len(visp[item].files)
            assert slab.n_read == slab.n_files


def test_missing_files_are_nan_and_masked(visp, tmp_path):
    rng = np.random.default_rng(7)
    present = np.sort(rng.choice(400, size=150, replace=False))
    model = _partial(visp, tmp_path, present)
    assert model.n_local_files == 150
    slab = px.read_image(model, (1, 0), {2: 5, 3: 9})  # x = raster, y = stokes: one pixel per file
    local = np.zeros(400, dtype=bool)
    local[present] = True
    np.testing.assert_array_equal(slab.missing, ~local.reshape(4, 100))
    expected = visp.data[:, :, 5, 9].compute()  # dkist: NaN where files are missing
    np.testing.assert_array_equal(slab.values, expected)
    assert np.isnan(slab.values[slab.missing]).all()
    assert np.isfinite(slab.values[~slab.missing]).all()
    assert slab.n_read == 150 and slab.n_files == 400


def test_file_listed_but_unreadable_counts_missing(visp, tmp_path):
    model = _partial(visp, tmp_path, np.arange(100))
    (tmp_path / visp.files.filenames[3]).write_bytes(b"not a FITS file")
    slab = px.read_image(model, (3, 2), {0: 0, 1: 3})
    assert slab.missing.all() and slab.n_read == 0 and slab.n_files == 1
    ok = px.read_image(model, (3, 2), {0: 0, 1: 4})
    assert not ok.missing.any()


def test_profile_equals_dkist(visp):
    model = DatasetModel(visp)
    slab = px.read_profile(model, 2, {0: 3, 1: 50, 3: 17})
    np.testing.assert_array_equal(slab.values, visp.data[3, 50, :, 17].compute())
    across = px.read_profile(model, 1, {0: 1, 2: 4, 3: 5})  # across 100 files
    np.testing.assert_array_equal(across.values, visp.data[1, :, 4, 5].compute())
    assert across.n_files == 100


def test_bad_requests_name_the_problem(visp):
    model = DatasetModel(visp)
    with pytest.raises(ValueError, match="differ"):
        px.read_image(model, (1, 1), {})
    with pytest.raises(IndexError, match="axis 2"):
        px.read_image(model, (1, 3), {2: visp.data.shape[2]})  # one past the last wavelength
    with pytest.raises(ValueError, match="not an axis"):
        px.read_image(model, (1, 7), {})


def test_mosaic_places_tiles_like_tiled_dataset_plot(archive):
    tiled = dkist.load_dataset(archive.asdf_path("GHMNE"))
    model = DatasetModel(tiled)
    slab, (ny, nx) = px.read_mosaic(model, (2, 1), {0: 2})
    assert slab.values.shape == (3 * ny, 3 * nx)
    for i in range(3):
        for j in range(3):
            # tile (i, j): column block i, row block j from the bottom
            block = slab.values[j * ny : (j + 1) * ny, i * nx : (i + 1) * nx]
            np.testing.assert_array_equal(block, tiled[i, j].data[2].compute())
    assert not slab.missing.any() and slab.n_read == 9


def test_percentile_limits():
    values = np.arange(1001, dtype=float)
    values[::10] = np.nan
    finite = values[np.isfinite(values)]
    assert px.percentile_limits(values, 5, 95) == pytest.approx(tuple(np.percentile(finite, [5, 95])))
    assert px.percentile_limits(np.full(5, np.nan)) is None
    lo, hi = px.percentile_limits(np.ones(4))
    assert lo < 1 < hi
    with pytest.raises(ValueError):
        px.percentile_limits(values, 50, 10)


def test_statistics_match_numpy_on_local_files_only(visp, tmp_path):
    present = np.arange(0, 400, 3)
    model = _partial(visp, tmp_path, present)
    seen = []
    job = px.frame_statistics(model, progress=lambda done, total: seen.append((done, total)), batch_size=5)
    assert job.n_done == present.size and not job.cancelled and job.error is None
    assert seen[-1] == (present.size, present.size)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    table = job.table()
    assert np.isnan(table["PIX_MEAN"][1]) and np.isnan(table["PIX_RMSC"][2])
    for frame in (0, 3, 201, 399):
        data = visp.data.reshape(400, *visp.files.shape[1:])[frame].compute().astype(np.float64)
        assert table["PIX_MEAN"][frame] == pytest.approx(data.mean(), rel=1e-9)
        assert table["PIX_STD"][frame] == pytest.approx(data.std(), rel=1e-9)
        assert table["PIX_RMSC"][frame] == pytest.approx(data.std() / data.mean(), rel=1e-9)
        assert table["PIX_MIN"][frame] == data.min() and table["PIX_MAX"][frame] == data.max()
    assert np.isfinite(table["PIX_MEAN"]).sum() == present.size


def test_statistics_on_a_distributed_client_equal_the_threaded_ones(visp, tmp_path):
    distributed = pytest.importorskip("distributed")
    present = np.arange(0, 400, 7)
    model = _partial(visp, tmp_path, present)
    threaded = px.frame_statistics(model, batch_size=5).table()
    with distributed.Client(processes=False, n_workers=1, threads_per_worker=2, dashboard_address=None) as client:
        seen = []
        job = px.frame_statistics(model, client=client, batch_size=5, progress=lambda done, total: seen.append(done))
    assert job.error is None and not job.cancelled and job.n_done == present.size
    assert seen and seen[-1] == present.size
    for column in px.STAT_COLUMNS:
        np.testing.assert_array_equal(job.table()[column], threaded[column])


def test_statistics_cancel_in_background(visp):
    model = DatasetModel(visp)
    started = threading.Event()
    release = threading.Event()

    def progress(done, total):
        started.set()
        release.wait(5)

    job = px.StatsJob(model, batch_size=2, n_workers=1, progress=progress).start()
    assert started.wait(10)
    job.cancel()
    release.set()
    assert job.wait(10)
    assert job.cancelled and 0 < job.n_done < job.n_total == 400
    assert int(job.done_mask.sum()) == job.n_done


def test_stats_columns_plot_and_brush_in_the_header_explorer(visp):
    from dkist_widgets.panels.header_explorer import HeaderExplorer

    model = DatasetModel(visp)
    job = px.frame_statistics(model, frame_ids=np.arange(0, 400, 2))
    added = px.add_stats_columns(model.headers, job)
    assert added == list(px.STAT_COLUMNS)
    explorer = HeaderExplorer(model)
    explorer.set_key("PIX_RMSC")
    contrast = job.table()["PIX_RMSC"]
    threshold = float(np.nanmedian(contrast))
    chosen = explorer.select_where("PIX_RMSC", min=threshold)
    expected = np.flatnonzero(np.isfinite(contrast) & (contrast >= threshold))
    np.testing.assert_array_equal(np.sort(model.selected_frames), expected)
    assert len(chosen) == expected.size
    with pytest.raises(ValueError, match="frames"):
        px.add_stats_columns(model.headers[:10], job)
