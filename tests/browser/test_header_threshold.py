"""HeaderExplorer in a real JupyterLab: drag the threshold handle with the mouse while the
brush is on, then brush; plot, state and model must agree (issue 14 item 3).

The handle sits right of the plot area, where bqplot's brush overlay does not reach.
The oracle is computed in the kernel from ``ds.headers``: the frames of Stokes I
whose ``ATMOS_R0`` (masked values excluded) is at least the threshold the handle was
dropped at, with every Stokes state at those raster steps.
"""

from __future__ import annotations

import json

from playwright.sync_api import expect

from .lab import screenshot
from .test_header_explorer import CELLS

ORACLE = """
import json
r0 = np.ma.filled(np.ma.asarray(ds.headers['ATMOS_R0'], float), np.nan)
stokes = np.asarray(ds.headers['DINDEX4']) - 1
step = np.asarray(ds.headers['DINDEX3'])
with np.errstate(invalid='ignore'):
    good = (r0 >= explorer.state.threshold) & (stokes == 0)
expected = np.flatnonzero(np.isin(step, step[good]))
print(json.dumps({"direction": explorer.state.direction, "threshold": explorer.state.threshold,
                  "source": model.selection_source, "selected": int(model.n_selected),
                  "same": bool(np.array_equal(expected, model.selected_frames)),
                  "mode": explorer.threshold_mode.value, "line": bool(explorer.threshold_line.visible),
                  "status": explorer.status.value}))
"""


def test_threshold_handle_drags_while_the_brush_is_on(open_notebook, page):
    nb = open_notebook("header_threshold.ipynb", CELLS, wait_for=".dkw-header-plot svg", timeout=150)
    nb.assert_no_problems()
    start = nb.run_cell("print(explorer.state.direction, model.n_selected)").stdout.split()
    assert start == ["off", "0"], start
    plot = nb.widget(".dkw-header-plot")
    plot.scroll_into_view_if_needed()  # running a cell may have scrolled the notebook
    handle = plot.locator("path.dot").first
    expect(handle).to_be_visible(timeout=20_000)
    area = plot.locator("rect.plotarea_events, rect.plotarea_background").first
    box, dot = area.bounding_box(), handle.bounding_box()
    assert dot["x"] > box["x"] + box["width"] - 2, (dot, box)  # right of the brush's overlay

    # drag the handle up by a quarter of the plot height
    x, y = dot["x"] + dot["width"] / 2, dot["y"] + dot["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    for i in range(1, 11):
        page.mouse.move(x, y - box["height"] * 0.25 * i / 10)
    page.mouse.up()
    expect(nb.widget(".dkw-header-summary [data-testid='files']")).not_to_have_text("0", timeout=20_000)
    got = json.loads(nb.run_cell(ORACLE).stdout.strip().splitlines()[-1])
    assert got["direction"] == got["mode"] == ">=" and got["line"], got
    assert got["source"] == "header_explorer" and got["same"] and got["selected"] > 0, got
    assert "Selection set by" not in got["status"], got

    # then brush part of the plot: the threshold stays and combines with the interval (AND)
    plot.scroll_into_view_if_needed()
    box = area.bounding_box()
    y = box["y"] + box["height"] * 0.5
    x0, x1 = box["x"] + box["width"] * 0.2, box["x"] + box["width"] * 0.7
    page.mouse.move(x0, y)
    page.mouse.down()
    for i in range(1, 13):
        page.mouse.move(x0 + (x1 - x0) * i / 12, y)
    page.mouse.up()
    check = (
        "t = explorer.table.time.values\n"
        "r0 = explorer.table.numeric('ATMOS_R0')\n"
        "lo, hi = (explorer.state.intervals or [(np.nan, np.nan)])[0]\n"
        "with np.errstate(invalid='ignore'):\n"
        "    good = (t >= lo) & (t <= hi) & (r0 >= explorer.state.threshold) & (explorer.table.stokes.codes == 0)\n"
        "print(len(explorer.state.intervals), explorer.state.direction,"
        " np.array_equal(explorer.table.expand_stokes(np.flatnonzero(good)), model.selected_frames))"
    )
    for _ in range(40):
        out = nb.run_cell(check).stdout.split()
        if out and out[0] == "1":
            break
        page.wait_for_timeout(250)
    assert out == ["1", ">=", "True"], out
    screenshot(page, "header_explorer_threshold", locator=nb.widget(".dkw-header-explorer"))
    nb.assert_no_problems()
