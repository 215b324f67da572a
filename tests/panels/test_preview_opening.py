"""Preview, kernel side, issue 14.8 / 14.11 and "frames on disk only": where it opens,
what it says with nothing on disk, world axes and units, damaged files.

Oracles: the files copied to disk by the test, ``len(ds[...].files)``, dkist's own
``ds.data`` and ``ds.wcs.pixel_to_world``.
"""

from __future__ import annotations

import shutil
import time

import dkist
import numpy as np
import pytest

from dkist_widgets.core import pixels as px
from dkist_widgets.core.model import DatasetModel
from dkist_widgets.panels.preview import Preview


@pytest.fixture
def visp(archive):
    return dkist.load_dataset(archive.asdf_path("KPLMQ"))


def _copy(ds, dest, positions, source=None):
    """Copy the files at file-grid ``positions`` into ``dest``; return their names."""
    source = source or ds.files.basepath
    uris = np.asarray(ds.files.fileuri_array)
    names = []
    for position in positions:
        name = str(uris[position])
        shutil.copy(source / name, dest / name)
        names.append(name)
    return names


def test_opens_on_the_frames_on_disk(visp, tmp_path):
    uris = np.asarray(visp.files.fileuri_array)
    assert uris.shape[:2] == (4, 100)  # (stokes, raster) file grid
    _copy(visp, tmp_path, [(2, r) for r in range(100)])  # only Stokes index 2 arrived
    model = DatasetModel(visp)
    model.set_basepath(tmp_path)
    preview = Preview(model, image_axes=(1, 3))  # x = raster, y = slit; stokes and wavelength sliders
    assert preview.indices[0] == 2 and preview.sliders[0].value == 2
    assert preview.slab.n_read == 100 and not preview.slab.missing.any()
    np.testing.assert_array_equal(preview.slab.values, visp.data[2, :, 0, :].compute().T)
    assert preview.nothing_box.layout.display == "none"
    assert preview.limits is not None and "no finite pixels" not in preview.colourbar_labels.value


def test_nothing_on_disk_says_so_and_offers_the_view(visp, tmp_path):
    source = visp.files.basepath
    model = DatasetModel(visp)
    model.set_basepath(tmp_path)  # empty
    preview = Preview(model, image_axes=(1, 3))
    assert preview.nothing_box.layout.display == "flex"
    assert "Nothing of this view is on disk yet" in preview.nothing_text.value
    asked = []
    shown = preview.request_fetch()  # no transfer connected: the dkist code that fetches the view
    assert "files.download(" in preview.nothing_text.value and "ds[0, :, 0, :]" in preview.nothing_text.value
    preview.on_fetch_request(asked.append)
    preview.fetch_button.click()
    assert asked == [shown]
    assert len(shown) == len(visp[0, :, 0, :].files)
    uris = np.asarray(visp.files.fileuri_array).ravel()
    assert {str(uris[f]) for f in shown} == {str(u) for u in np.asarray(visp[0, :, 0, :].files.filenames)}
    # the view's files arrive: drawn, the offer goes away
    _copy(visp, tmp_path, [np.unravel_index(f, (4, 100)) for f in shown], source)
    model.refresh_local_files()
    assert preview.slab.n_read == len(shown) and preview.nothing_box.layout.display == "none"


def test_world_axes_colour_bar_unit_labels_and_profile(visp, tmp_path):
    model = DatasetModel(visp)  # files at the archive's own basepath
    preview = Preview(model, image_axes=(1, 3))
    assert str(visp.unit) and str(visp.unit) in preview.colourbar_high.value
    assert preview.sliders[2].description == "wavelength"  # whole names, never "raster positio"
    assert preview.sliders[0].style.description_width == "initial"
    # world axes: Tx along the raster, Ty along the slit, in arcsec, matching dkist's WCS
    assert preview.x_world_axis.visible and preview.x_world_axis.label == "helioprojective longitude (arcsec)"
    assert preview.y_world_axis.visible and "latitude (arcsec)" in preview.y_world_axis.label
    n = visp.data.shape[1]
    lo, hi = preview.xw_scale.min, preview.xw_scale.max
    for index in (0, n - 1):
        world = visp.wcs.pixel_to_world(0, 0, index, 0)  # wcs order: slit, wavelength, raster, stokes
        sky = next(v for v in world if hasattr(v, "Tx"))
        expected = sky.Tx.wrap_at("180d").to_value("arcsec")
        assert lo + (hi - lo) * (index + 0.5) / n == pytest.approx(expected, abs=1e-3)
    # no empty profile plot until a click asks for one
    assert preview.profile_figure not in preview.children
    preview.click(10, 20)
    assert preview.profile_figure in preview.children
    np.testing.assert_array_equal(preview.profile_line.y, visp.data[0, 10, :, 20].compute())


def test_damaged_and_wrong_shape_files_are_named_not_counted_and_get_no_statistics(visp, tmp_path):
    from astropy.io import fits

    source = visp.files.basepath
    names = _copy(visp, tmp_path, [(0, r) for r in range(100)])
    (tmp_path / names[3]).write_bytes(b"SIMPLE  =                    T" + b"\0" * 100)  # truncated, damaged
    fits.HDUList(
        [fits.PrimaryHDU(np.zeros((2, 3), dtype=np.float32)), fits.ImageHDU(np.zeros((2, 3), dtype=np.float32))]
    ).writeto(tmp_path / names[7], overwrite=True)  # a FITS file of the wrong shape
    model = DatasetModel(visp)
    model.set_basepath(tmp_path)
    assert model.n_local_files == 100
    preview = Preview(model, image_axes=(1, 3))
    problems = dict(preview.problems)
    assert set(problems) == {names[3], names[7]}
    assert "cannot be read" in problems[names[3]]
    assert "shape (2, 3)" in problems[names[7]]
    assert names[3] in preview.status.value and names[7] in preview.status.value
    assert preview.slab.n_read == 98 and preview.slab.missing[:, [3, 7]].all()
    deadline = time.monotonic() + 10
    while model.n_local_files != 98 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert model.n_local_files == 98  # a damaged file is not "on disk"
    assert set(model.unreadable) == {3, 7}
    assert names[7] in preview.status.value  # still named after the model's refresh
    # no statistics for them (the job reads the files itself)
    job = px.StatsJob(model, frame_ids=range(10))
    job.run()
    assert np.isnan(job.values[[3, 7]]).all()
    assert np.isfinite(job.values[[0, 1, 2, 4, 5, 6, 8, 9], 0]).all()
    # the file is mended: counted again
    shutil.copy(source / names[7], tmp_path / names[7])
    model.refresh_local_files()
    assert model.n_local_files == 99 and set(model.unreadable) == {3}


def test_steps_through_frames_on_disk_only(visp, tmp_path):
    on_disk = [3, 7, 20]
    _copy(visp, tmp_path, [(0, r) for r in on_disk])
    model = DatasetModel(visp)
    model.set_basepath(tmp_path)
    preview = Preview(model, image_axes=(3, 2))  # x = slit, y = wavelength; stokes and raster sliders
    raster = preview.sliders[1]
    assert raster.value == 3  # opens on the first frame on disk
    preview.on_disk_only.value = True
    raster.value = 4
    assert raster.value == 7 and preview.indices[1] == 7 and preview.slab.n_read == 1
    raster.value = 8
    assert raster.value == 20
    raster.value = 19  # stepping back
    assert raster.value == 7
    assert px.indices_on_disk(model, 1, (3, 2), preview.indices) == on_disk
    preview.on_disk_only.value = False
    raster.value = 8
    assert raster.value == 8 and preview.slab.n_read == 0
