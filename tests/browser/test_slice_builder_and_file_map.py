"""SliceBuilder and FileMap in a real JupyterLab: moving a slice control shows
dkist's own file count for that slice; dragging on the file map changes the
model's selection.

The dataset is the 80-file VISP ASDF that dkist ships in its test data.
"""

from __future__ import annotations

import json
import re

from playwright.sync_api import expect

from .lab import screenshot

SETUP = [
    "import gzip, pathlib, shutil\n"
    "import dkist, dkist.data.test\n"
    "src = pathlib.Path(dkist.data.test.__file__).parent / 'large_visp.asdf.gz'\n"
    "with gzip.open(src) as f, open('large_visp.asdf', 'wb') as g:\n"
    "    shutil.copyfileobj(f, g)\n"
    "ds = dkist.load_dataset('large_visp.asdf')",
    "from dkist_widgets import DatasetModel, SliceBuilder, FileMap\n"
    "model = DatasetModel(ds)\n"
    "builder = SliceBuilder(model)\n"
    "builder",
    "fmap = FileMap(model)\nfmap",
]


def _kernel_json(nb, expression: str):
    out = nb.run_cell(f"import json; print(json.dumps({expression}))")
    assert not out.errors, out.errors
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_slice_control_count_matches_dkist_and_drag_selects(open_notebook, page):
    nb = open_notebook("slice_and_map.ipynb", SETUP, wait_for="[data-testid=filemap-canvas]")
    nb.assert_no_problems()

    # -- move a slice control: Stokes -> a single index, then drag the raster
    #    range's upper handle to the left with the mouse.
    first_axis = nb.widget(".dkw-slice-axis").nth(0)
    first_axis.get_by_role("button", name="index").click()
    raster_axis = nb.widget(".dkw-slice-axis").nth(1)
    raster_axis.get_by_role("button", name="range").click()
    # the slider is enabled once the kernel has seen the mode change
    raster_axis.locator(".dkw-axis-range .noUi-target:not([disabled])").wait_for()
    handle = raster_axis.locator(".dkw-axis-range .noUi-handle").nth(1)
    box = handle.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] - 110, box["y"] + box["height"] / 2, steps=8)
    page.mouse.up()

    shown = nb.widget("[data-testid=slice-files]")
    expect(shown).not_to_have_text("80")
    # The slider streams values while dragged; the last ones may still be on their
    # way to the kernel when we first ask, so ask until the kernel has settled.
    for _attempt in range(20):
        item = _kernel_json(nb, "[str(builder.item), len(ds[builder.item].files)]")
        if shown.inner_text() == str(item[1]):
            break
        page.wait_for_timeout(500)
    assert item[0].startswith("(0, slice(0, "), item  # Stokes I and a shorter raster range
    dkist_count = item[1]
    assert 0 < dkist_count < 20
    expect(shown).to_have_text(str(dkist_count))
    snippet = nb.widget("[data-testid=slice-code]").inner_text()
    assert re.fullmatch(r"ds\[0, :\d+\]", snippet), snippet
    screenshot(page, "slice_builder_after_drag", locator=nb.widget(".dkw-slice-builder"))

    # -- drag a rectangle on the file map: Stokes rows 1..2, raster columns 2..5
    rows, cols = _kernel_json(nb, "fmap.grid_shape")
    canvas = nb.widget("[data-testid=filemap-canvas]")
    canvas.scroll_into_view_if_needed()
    cbox = canvas.bounding_box()
    left = 44  # the canvas's row-label margin (js/src/widgets/file_map.ts LEFT)
    bottom = 18
    cell_w = (cbox["width"] - left) / cols
    cell_h = (cbox["height"] - bottom) / rows

    def centre(r, c):
        return cbox["x"] + left + (c + 0.5) * cell_w, cbox["y"] + (r + 0.5) * cell_h

    page.mouse.move(*centre(1, 2))
    page.mouse.down()
    page.mouse.move(*centre(2, 5), steps=6)
    page.mouse.up()

    expected = sorted(r * cols + c for r in (1, 2) for c in range(2, 6))
    nb.widget("[data-testid=filemap-legend] [data-state=selected]").filter(has_text="selected: 8").wait_for()
    selected = _kernel_json(nb, "model.selected_frames.tolist()")
    assert selected == expected
    assert _kernel_json(nb, "model.selection_source") == "file map"
    # the frames selected are exactly the files dkist gives for that block
    same = _kernel_json(
        nb, "sorted(model.files_for_frames(model.selected_frames)) == sorted(ds[1:3, 2:6].files.filenames)"
    )
    assert same is True

    # hover shows the file's name and header summary from the kernel
    expected_name = _kernel_json(nb, f"ds.files.filenames[3 * {cols} + 7]")
    canvas.scroll_into_view_if_needed()  # the cells run above may have moved it
    cbox = canvas.bounding_box()
    tip = nb.widget("[data-testid=filemap-tip]")
    page.mouse.move(*centre(3, 6))
    page.mouse.move(*centre(3, 7))
    expect(tip).to_contain_text(expected_name)
    screenshot(page, "file_map_after_drag", locator=nb.widget(".dkw-filemap"))
    nb.assert_no_problems()
