"""HeaderExplorer in a real JupyterLab: drag a brush with the mouse, read the files count.

The kernel loads a headers-only VISP dataset (the sandbox generator writes a real
DKIST-style ASDF; ``dkist.load_dataset`` reads it) whose r0 varies and is masked
where AO is unlocked. The mouse brushes part of the r0 plot in Chromium; the files
count the panel shows must equal the count computed independently in the kernel:
the interval the brush holds (read back from the selector), the frames whose
``DATE-AVG`` (parsed by astropy) falls inside it, their file names from
``ds.files.filenames``.
"""

from __future__ import annotations

import json
import re

from playwright.sync_api import expect

from .lab import screenshot

CELLS = [
    "import warnings, tempfile\nwarnings.simplefilter('ignore')\n"
    "import numpy as np, dkist\n"
    "from dkist_widgets.sandbox.headers_only import make_headers_only_dataset\n"
    "from dkist_widgets.core.model import DatasetModel\n"
    "from dkist_widgets.panels.header_explorer import HeaderExplorer",
    "path = make_headers_only_dataset(tempfile.mkdtemp(), n_steps=300, seed=5)\n"
    "ds = dkist.load_dataset(path)\n"
    "model = DatasetModel(ds, refresh_local=False)\n"
    "explorer = HeaderExplorer(model)\n"
    "explorer",
]

ORACLE = """
import json
from astropy.time import Time
lo, hi = [np.datetime64(v, 'us') for v in explorer.brush.selected]
t = Time(list(ds.headers['DATE-AVG'])).datetime64.astype('datetime64[us]')
inside = (t >= lo) & (t <= hi)
files = set(np.asarray(ds.files.filenames)[inside])
print(json.dumps({"files": len(files), "frames": int(inside.sum()), "total": len(ds.headers),
                  "selected": int(model.n_selected), "source": model.selection_source,
                  "same": bool(np.array_equal(np.flatnonzero(inside), model.selected_frames))}))
"""


def _files_shown(nb) -> int:
    text = nb.widget(".dkw-header-summary [data-testid='files']").inner_text()
    return int(text.strip())


def test_mouse_brush_selects_frames_and_files_count_matches(open_notebook, page):
    nb = open_notebook("header_explorer.ipynb", CELLS, wait_for=".dkw-header-plot svg", timeout=150)
    nb.assert_no_problems()
    plot = nb.widget(".dkw-header-plot")
    area = plot.locator("rect.plotarea_events, rect.plotarea_background").first
    box = area.bounding_box()
    assert box and box["width"] > 200, box
    # nothing selected yet
    assert _files_shown(nb) == 0

    y = box["y"] + box["height"] * 0.5
    x0 = box["x"] + box["width"] * 0.30
    x1 = box["x"] + box["width"] * 0.62
    page.mouse.move(x0, y)
    page.mouse.down()
    for i in range(1, 13):
        page.mouse.move(x0 + (x1 - x0) * i / 12, y)
    page.mouse.up()

    # the HTML widget re-renders its content: poll through the locator, not a stale handle
    expect(nb.widget(".dkw-header-summary [data-testid='files']")).not_to_have_text("0", timeout=20_000)
    shown = _files_shown(nb)
    oracle = json.loads(nb.run_cell(ORACLE).stdout.strip().splitlines()[-1])
    assert oracle["source"] == "header_explorer"
    assert shown == oracle["files"] == oracle["selected"]
    assert oracle["same"], oracle
    # a brush over ~a third of the plot takes part of the dataset, not all or nothing
    assert 0.15 * oracle["total"] < shown < 0.5 * oracle["total"], oracle
    fraction = nb.widget(".dkw-header-summary [data-testid='fraction']").inner_text()
    assert fraction == f"{oracle['frames'] / oracle['total']:.1%}"
    # the selected stretch is drawn highlighted: the overlay path exists and is not empty
    paths = plot.locator("path.line").evaluate_all("els => els.map(e => (e.getAttribute('d') || '').length)")
    assert max(paths) > 100
    screenshot(page, "header_explorer_brushed", locator=nb.widget(".dkw-header-explorer"))
    nb.assert_no_problems()


def test_table_sorts_scrolls_filters_and_click_marks_frame(open_notebook, page):
    nb = open_notebook("header_explorer_grid.ipynb", CELLS, wait_for=".dkw-header-grid .row", timeout=150)
    table = nb.widget(".dkw-header-grid")
    table.scroll_into_view_if_needed()
    expect(table.locator(".count")).to_have_text("1,200 rows")
    # sort by r0, descending (two header clicks): the first row is the best seeing
    header = table.locator(".head .cell", has_text="ATMOS_R0")
    header.click()
    header.click()
    expect(header).to_have_text("ATMOS_R0 ▼")
    best = nb.run_cell("print(int(np.nanargmax(np.ma.filled(np.ma.asarray(ds.headers['ATMOS_R0'], float), np.nan))))")
    best = int(best.stdout.split()[-1])
    expect(table.locator(".row").first).to_have_attribute("data-frame", str(best), timeout=20_000)
    # scroll far down: the kernel sends the rows of that window only
    table.locator("[data-testid='frame-table-body']").evaluate("b => { b.scrollTop = 900 * 22; }")
    expect(table.locator(".row[style*='top: 19800px']")).to_have_count(1, timeout=20_000)
    out = nb.run_cell("print(explorer.grid.rows_start, len(explorer.grid.rows))").stdout.split()
    assert 800 <= int(out[0]) <= 900 and int(out[1]) == 60, out
    # click the row drawn at view position 900: the frame it shows is marked
    row = table.locator(".row[style*='top: 19800px']")
    frame = int(row.get_attribute("data-frame"))
    row.click()
    expect(nb.widget(".dkw-header-explorer > .widget-html:last-child")).to_contain_text(
        re.compile(rf"frame {frame}\b"), timeout=20_000
    )
    oracle = (
        "order = np.argsort(-np.ma.filled(np.ma.asarray(ds.headers['ATMOS_R0'], float), np.nan), kind='stable')\n"
        "r0 = np.ma.filled(np.ma.asarray(ds.headers['ATMOS_R0'], float), np.nan)\n"
        "order = np.concatenate([order[np.isfinite(r0[order])], np.flatnonzero(np.isnan(r0))])\n"
        "print(order[900], explorer._marked_frame, explorer.marker_mark.visible)"
    )
    out = nb.run_cell(oracle).stdout.split()
    assert int(out[0]) == frame == int(out[1]) and out[2] == "True", out
    expect(table.locator(".row.marked")).to_have_count(1)
    # a filter typed in a column box: only matching rows remain, counted as pandas would
    table.locator("input[title^='filter ATMOS_R0:']").fill("<0.05")
    n = nb.run_cell("print(int((np.ma.filled(np.ma.asarray(ds.headers['ATMOS_R0'], float), np.nan) < 0.05).sum()))")
    n = int(n.stdout.split()[-1])
    expect(table.locator(".count")).to_have_text(f"{n:,} of 1,200 rows", timeout=20_000)
    screenshot(page, "header_explorer_table", locator=nb.widget(".dkw-header-explorer"))
    nb.assert_no_problems()
