"""Preview panel, kernel side: what it reads, draws (decoded PNG pixels), labels and profiles."""

from __future__ import annotations

import io
import shutil

import dkist
import numpy as np
import pytest
from PIL import Image

from dkist_widgets.core.model import DatasetModel
from dkist_widgets.panels.preview import MISSING_COLOURS, Preview, render_rgba


@pytest.fixture
def visp(archive):
    return dkist.load_dataset(archive.asdf_path("KPLMQ"))


def _pixels(preview) -> np.ndarray:
    """The PNG the browser gets, as (rows from the top, cols, RGBA)."""
    return np.asarray(Image.open(io.BytesIO(preview.image_widget.value)).convert("RGBA"))


def test_render_marks_missing_with_stripes_not_a_map_colour():
    values = np.array([[0.0, 1.0], [np.nan, 0.5]], dtype=np.float32)
    missing = np.array([[False, False], [True, False]])
    rgba = render_rgba(values, missing, (0.0, 1.0), "viridis")
    # row 0 of the data is the bottom of the picture
    assert tuple(rgba[0, 0]) in MISSING_COLOURS
    import matplotlib

    colours = matplotlib.colormaps["viridis"](np.linspace(0, 1, 256), bytes=True)
    assert not any((colours == np.array(c)).all(axis=1).any() for c in MISSING_COLOURS)
    nan_only = render_rgba(values, np.zeros_like(missing), (0.0, 1.0))
    assert nan_only[0, 0, 3] == 0  # NaN data (not missing) is transparent


def test_preview_draws_dkist_slice_with_world_labels(visp):
    model = DatasetModel(visp)
    preview = Preview(model, image_axes=(1, 3), cmap="gray")  # x = raster, y = slit
    assert set(preview.sliders) == {0, 2}
    preview.set_index(2, 25)
    expected = visp.data[0, :, 25, :].compute().T
    np.testing.assert_array_equal(preview.slab.values, expected)
    lo, hi = preview.limits
    assert lo == pytest.approx(np.percentile(expected, 1)) and hi == pytest.approx(np.percentile(expected, 99))
    png = _pixels(preview)
    assert preview.upscale == 4 and png.shape == (400, 400, 4)  # small images are enlarged
    # brightest pixel at the top of the picture when it is at high y: compare with the data
    iy, ix = np.unravel_index(np.argmax(expected), expected.shape)
    assert tuple(png[4 * (99 - iy), 4 * ix, :3]) == (255, 255, 255)
    assert "nm" in preview.slider_labels[2].value  # wavelength slider shows a wavelength
    assert preview.x_axis_widget.label == "raster position (pixel)"
    assert "raster position: 0 → Tx=-357.5″" in preview.world_text.value
    assert "read 100 of 100 files" in preview.status.value


def test_missing_files_then_fill_in_on_refresh(visp, tmp_path):
    names = np.asarray(visp.files.filenames)
    source = visp.files.basepath
    for name in names[:100:2]:  # Stokes I, every other raster step
        shutil.copy(source / name, tmp_path / name)
    model = DatasetModel(visp)
    model.set_basepath(tmp_path)
    preview = Preview(model, image_axes=(1, 3))
    assert preview.slab.missing[:, 1::2].all() and not preview.slab.missing[:, ::2].any()
    png = _pixels(preview)
    column = png[:, 4:8].reshape(-1, 4)  # raster step 1: a missing file
    assert all(tuple(p) in MISSING_COLOURS for p in column)
    assert {tuple(p) for p in column} == set(MISSING_COLOURS)  # striped, both greys
    assert "missing: 50 of 100 files" in preview.legend.value
    for name in names[1:100:2]:
        shutil.copy(source / name, tmp_path / name)
    model.refresh_local_files()  # what a transfer watcher does when files land
    assert not preview.slab.missing.any()
    np.testing.assert_array_equal(preview.slab.values, visp.data[0, :, 0, :].compute().T)
    assert "missing: 0 of 100 files" in preview.legend.value


def test_click_gives_the_spectrum(visp):
    model = DatasetModel(visp)
    preview = Preview(model, image_axes=(1, 3))
    preview.profile_picker.value = 2
    preview._on_image_click(
        preview.image_mark, {"event": "element_clicked", "data": {"click_x": 12.2, "click_y": 40.6}}
    )
    assert preview.clicked == (12, 41)
    np.testing.assert_array_equal(preview.profile_line.y, visp.data[0, 12, :, 41].compute())
    preview.set_index(0, 3)  # the profile follows the sliders
    np.testing.assert_array_equal(preview.profile_line.y, visp.data[3, 12, :, 41].compute())
    preview.click(500, 2)  # outside: nothing changes
    assert preview.clicked == (12, 41)


def test_axis_change_rebuilds_sliders_and_rejects_same_axes(visp):
    model = DatasetModel(visp)
    preview = Preview(model)
    assert preview.image_axes == (3, 2) and set(preview.sliders) == {0, 1}
    preview.y_picker.value = 0  # stokes as y
    assert preview.image_axes == (3, 0) and set(preview.sliders) == {1, 2}
    np.testing.assert_array_equal(preview.slab.values, visp.data[:, 0, 0, :].compute())
    preview.y_picker.value = 3
    assert "different" in preview.status.value and preview.image_axes == (3, 0)
    with pytest.raises(ValueError):
        preview.set_index(3, 0)
    with pytest.raises(IndexError):
        preview.set_index(1, 100)


def test_tiled_mosaic_and_profile_of_the_clicked_tile(archive):
    tiled = dkist.load_dataset(archive.asdf_path("GHMNE"))
    model = DatasetModel(tiled)
    preview = Preview(model)
    assert preview.slab.values.shape == (3 * 96, 3 * 96)
    preview.profile_picker.value = 0  # frame number
    preview.click(96 * 2 + 5, 96 * 1 + 7)
    indices, tile = preview.profile_request()
    assert tile == (2, 1)
    np.testing.assert_array_equal(preview.profile_line.y, tiled[2, 1].data[:, 7, 5].compute())


def test_large_images_are_thinned_for_display_only(visp):
    model = DatasetModel(visp)
    preview = Preview(model, image_axes=(1, 3), max_side=40)
    assert preview.stride == 3
    assert _pixels(preview).shape == (34, 34, 4)
    assert preview.slab.values.shape == (100, 100)


def test_stats_panel_adds_columns_and_cancels(visp, tmp_path):
    import threading

    from dkist_widgets.core.pixels import STAT_COLUMNS
    from dkist_widgets.panels.preview import FrameStatsPanel

    names = np.asarray(visp.files.filenames)
    source = visp.files.basepath
    for name in names[:40]:
        shutil.copy(source / name, tmp_path / name)
    model = DatasetModel(visp)
    model.set_basepath(tmp_path)
    finished = threading.Event()
    panel = FrameStatsPanel(model, n_workers=2, on_done=lambda job: finished.set())
    job = panel.start()
    with pytest.raises(RuntimeError):
        panel.start()
    assert finished.wait(30)
    assert job.n_done == 40 and panel.bar.value == 40 and panel.bar.max == 40
    assert set(STAT_COLUMNS) <= set(model.headers.colnames)
    mean = model.headers["PIX_MEAN"]
    assert int((~mean.mask).sum()) == 40 and bool(mean.mask[40:].all())
    frame = visp.data[0, 7].compute().astype(np.float64)
    assert float(mean[7]) == pytest.approx(frame.mean(), rel=1e-9)
    assert "done: 40 of 40 files" in panel.message.value and not panel.start_button.disabled

    # cancel: hold the first progress report until cancel has been asked
    release = threading.Event()
    finished.clear()
    original = panel._progress

    def slow(done, total):
        original(done, total)
        release.wait(5)

    panel._progress = slow
    job = panel.start()
    panel.cancel()
    release.set()
    assert finished.wait(30)
    assert job.cancelled and job.n_done < 40 and "cancelled" in panel.message.value
