"""The preview as an attendee meets it (issue 14.8 and "frames on disk only").

Only Stokes indices 1 and 3 of the sample VISP dataset are on disk, as after a
partial transfer (the first frame is missing). The preview must open on data (no
stripes), with world axes, a colour bar naming the unit, whole slider names;
ticking "on disk only" and pressing the arrow key on the Stokes slider skips the
index with no files. Oracles: the files
copied to disk and ``ds.data``. Screenshots in the light and the dark theme.
"""

from __future__ import annotations

from playwright.sync_api import expect

from .lab import screenshot

CELLS = [
    "import warnings, tempfile, shutil, pathlib\nwarnings.simplefilter('ignore')\n"
    "import numpy as np, dkist\n"
    "from dkist_widgets.sandbox.archive import ensure_archive\n"
    "from dkist_widgets.core.model import DatasetModel\n"
    "from dkist_widgets.panels.preview import Preview\n"
    "ds = dkist.load_dataset(ensure_archive().asdf_path('KPLMQ'))\n"
    "source = ds.files.basepath\n"
    "uris = np.asarray(ds.files.fileuri_array)\n"
    "dest = pathlib.Path(tempfile.mkdtemp())\n"
    "for name in list(uris[1]) + list(uris[3]):\n"
    "    shutil.copy(source / str(name), dest / str(name))\n"
    "model = DatasetModel(ds)\n"
    "model.set_basepath(dest)",
    "preview = Preview(model, image_axes=(1, 3), cmap='viridis')\npreview",
]


def test_preview_opens_on_data_and_steps_over_frames_not_on_disk(open_notebook, page):
    nb = open_notebook("preview_opening.ipynb", CELLS, wait_for=".dkw-preview-figure image", timeout=150)
    nb.assert_no_problems()
    expect(nb.widget(".dkw-preview-missing").first).to_have_text("missing: 0 of 100 files")
    out = nb.run_cell(
        "print(preview.indices[0], np.array_equal(preview.slab.values, "
        "ds.data[preview.indices[0], :, 0, :].compute().T))"
    )
    stokes, same = out.stdout.split()
    assert stokes == "1" and same == "True"  # not the missing first frame
    # world axes and the unit, as text in the page
    figure = nb.widget(".dkw-preview-figure").first
    expect(figure).to_contain_text("helioprojective longitude (arcsec)")
    expect(figure).to_contain_text("helioprojective latitude (arcsec)")
    expect(nb.widget(".dkw-preview-unit").first).to_have_text(nb.run_cell("print(ds.unit)").stdout.strip())
    # slider names are whole: nothing cut
    labels = nb.widget(".dkw-preview-slider label")
    assert labels.count() == 2
    for i in range(labels.count()):
        label = labels.nth(i)
        width = label.evaluate("(el) => [el.scrollWidth, el.clientWidth]")
        assert width[0] <= width[1] + 1, (label.inner_text(), width)
    assert nb.widget(".dkw-preview-profile-title").first.is_visible()
    figure.scroll_into_view_if_needed()
    screenshot(page, "preview_opening_light", nb.widget(".dkw-preview").first)

    # step over Stokes index 2 (no files) with the keyboard, on-disk-only ticked
    nb.widget(".dkw-preview-on-disk-only input").first.check()
    stokes_slider = nb.widget(".dkw-preview-slider").nth(0)
    stokes_slider.locator(".noUi-handle").first.click()
    page.keyboard.press("ArrowRight")
    expect(nb.widget(".dkw-preview-status").first).to_contain_text("stokes=3", timeout=20_000)
    expect(nb.widget(".dkw-preview-missing").first).to_have_text("missing: 0 of 100 files")
    out = nb.run_cell("print(preview.sliders[0].value, preview.slab.n_read)")
    assert out.stdout.split() == ["3", "100"]

    # a click on the image: the profile plot appears
    image = nb.widget(".dkw-preview-figure image").first
    box = image.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    expect(nb.widget(".dkw-preview-profile-title").first).to_contain_text("profile along", timeout=20_000)
    page.evaluate("() => window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Dark'})")
    page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'", timeout=30_000)
    page.wait_for_timeout(800)
    nb.widget(".dkw-preview").first.scroll_into_view_if_needed()
    screenshot(page, "preview_opening_dark", nb.widget(".dkw-preview").first)
    page.evaluate("() => window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Light'})")
    nb.assert_no_problems()
