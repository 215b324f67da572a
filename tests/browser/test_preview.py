"""Preview in a real JupyterLab: the image renders, a slider moves it, missing files
show as striped grey and fill in when the files arrive.

The kernel opens the sample archive's VISP dataset with only half of its Stokes I
files in a fresh basepath (as after a partial transfer). The rest are then copied
in and ``model.refresh_local_files()`` called, which is what the transfer watcher
does when a Globus task reports files (the loopback transfer itself is covered by
the transfer tests). With the viridis colour map, neutral greys in the picture can
only be the missing-file stripes, so the screenshots are checked for them.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image
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
    "names = np.asarray(ds.files.filenames)\n"
    "dest = pathlib.Path(tempfile.mkdtemp())\n"
    "for name in names[:100:2]:\n"
    "    shutil.copy(source / name, dest / name)\n"
    "model = DatasetModel(ds)\n"
    "model.set_basepath(dest)",
    "preview = Preview(model, image_axes=(1, 3), cmap='viridis')\npreview",
]


def _grey_fraction(png: bytes) -> float:
    """Fraction of pixels that are neutral mid/light grey (the stripes' colours, blended)."""
    rgb = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    grey = (abs(r - g) <= 3) & (abs(g - b) <= 3) & (r >= 165) & (r <= 232)
    return float(grey.mean())


def test_preview_renders_slider_moves_missing_fills_in(open_notebook, page):
    nb = open_notebook("preview.ipynb", CELLS, wait_for=".dkw-preview-figure image", timeout=150)
    nb.assert_no_problems()
    figure = nb.widget(".dkw-preview-figure").first
    legend = nb.widget(".dkw-preview-missing").first
    expect(legend).to_have_text("missing: 50 of 100 files")
    href = nb.widget(".dkw-preview-figure image").first.get_attribute("href")
    assert href and href.startswith("blob:")
    before = figure.screenshot()
    screenshot(page, "preview_missing", figure)
    assert _grey_fraction(before) > 0.15  # half the columns are striped

    # move the wavelength slider with the keyboard
    wavelength = nb.widget(".dkw-preview-slider").nth(1)
    wavelength.locator(".noUi-handle").first.click()
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    status = nb.widget(".dkw-preview-status").first
    expect(status).to_contain_text("wavelength=5", timeout=20000)
    out = nb.run_cell(
        "print(preview.indices[2], np.array_equal(preview.slab.values[:, ::2], "
        "ds.data[0, ::2, preview.indices[2], :].compute().T))"
    )
    index, same = out.stdout.split()
    assert int(index) == 5 and same == "True"
    moved = figure.screenshot()
    assert moved != before

    # the other files arrive
    nb.run_cell("for name in names[1:100:2]:\n    shutil.copy(source / name, dest / name)\nmodel.refresh_local_files()")
    expect(legend).to_have_text("missing: 0 of 100 files", timeout=20000)
    page.wait_for_timeout(500)
    after = figure.screenshot()
    screenshot(page, "preview_filled", figure)
    assert _grey_fraction(after) < 0.02

    # a click on the image draws the spectrum there
    image = nb.widget(".dkw-preview-figure image").first
    box = image.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.25, box["y"] + box["height"] * 0.5)
    expect(nb.widget(".dkw-preview-profile-title").first).to_contain_text("profile along wavelength", timeout=20000)
    out = nb.run_cell(
        "ix, iy = preview.clicked\n"
        "print(ix, iy, np.array_equal(preview.profile_line.y, ds.data[0, ix, :, iy].compute()))"
    )
    ix, iy, same = out.stdout.split()
    assert 20 <= int(ix) <= 30 and 45 <= int(iy) <= 55 and same == "True"
    screenshot(page, "preview_profile", nb.widget(".dkw-preview").first)
    nb.assert_no_problems()
