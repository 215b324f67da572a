"""The search tab as the workshop notebook uses it, with the mouse (issue 14.1, 14.2, 14.4).

Types r0 into the form in the unit its label names, searches, clicks the r0 column
header ("sort by seeing") and the size header, clicks the top row, presses Transfer
and answers the question. Oracles: numpy over the search records the loopback data
centre serves (order by r0, sizes), the records' ``frameCount`` / ``datasetSize``,
and what the transfer callback received in the kernel. Screenshots in the light
and the dark theme.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from playwright.sync_api import expect

from dkist_widgets.core.formatting import human_bytes
from dkist_widgets.core.units import R0_DISPLAY_UNIT, r0_label, r0_rounded, r0_to_display
from dkist_widgets.sandbox.datacentre import DataCentre
from dkist_widgets.sandbox.dkist_config import kernel_environment
from tests.helpers.search_world import build_search_catalogue

from .lab import screenshot

HEADER_HEIGHT = 20  # ipydatagrid's column header row, px


@pytest.fixture(scope="module")
def search_world(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser-search-workshop")
    catalogue = build_search_catalogue(root)
    dc = DataCentre(catalogue, root).start()
    yield dc, catalogue, root
    dc.stop()


@pytest.fixture(scope="module")
def lab_server(lab_server_factory, search_world, tmp_path_factory):
    dc, _, _ = search_world
    env = kernel_environment(tmp_path_factory.mktemp("kernel-config"), dc.dataset_endpoint, dc.download_endpoint)
    return lab_server_factory(env)


def _click_header(nb, page, grid, header: str) -> None:
    """Click the middle of ``header``'s cell, placed from the column widths the grid drew."""
    out = nb.run_cell("import json; print(json.dumps(sp.results_box.header_layout()))")
    layout = json.loads(out.stdout)
    grid.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    box = grid.bounding_box()
    left = box["x"] + layout["row_header"]
    for name, width in layout["columns"]:
        if name == header:
            assert left + width / 2 < box["x"] + box["width"], "header outside the visible grid"
            page.mouse.click(left + width / 2, box["y"] + HEADER_HEIGHT / 2)
            return
        left += width
    raise AssertionError(f"{header!r} not among {layout['columns']}")


def _grid_box(page, grid):
    grid.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    return grid.bounding_box()


def _view_ids(nb) -> list[str]:
    return json.loads(nb.run_cell("print(json.dumps(list(sp.grid.get_visible_data().index)))").stdout)


def test_workshop_search_sort_and_confirmed_transfer(open_notebook, page, search_world, tmp_path):
    dc, catalogue, _ = search_world
    lo_m, hi_m = 0.04, 0.2
    records = [
        r
        for r in catalogue
        if (r.get("status") or "ACTIVE") == "ACTIVE"
        and r["instrumentName"] == "VISP"
        and r.get("qualityAverageFriedParameter") is not None
        and lo_m <= r["qualityAverageFriedParameter"] <= hi_m
    ]
    assert len(records) >= 3
    save_to = str(tmp_path / "{dataset_id}/")
    page.set_viewport_size({"width": 1800, "height": 1000})  # every column of the grid in view
    nb = open_notebook(
        "search_workshop.ipynb",
        [
            "from dkist_widgets.core.model import DatasetModel\n"
            "from dkist_widgets.panels.search import SearchPanel\n"
            f"sp = SearchPanel(DatasetModel(), path_template={save_to!r}, confirm_files=15)\n"
            "received = []\nsp.on_transfer_request(received.append)",
            "sp",
        ],
        wait_for=".dkw-search",
        timeout=120,
    )
    nb.assert_no_problems()
    instrument = nb.widget(".dkw-search-instrument select")
    expect(instrument.locator("option", has_text="VISP")).to_have_count(1, timeout=30_000)
    instrument.select_option("VISP")
    nb.widget(".dkw-search-embargoed select").select_option(label="(any)")
    # 14.4: the labels name the unit; the values are typed in it
    expect(nb.widget(".dkw-search-r0-min label")).to_have_text(r0_label("r0 min"))
    nb.widget(".dkw-search-r0-min input").fill(f"{r0_to_display(lo_m):g}")
    nb.widget(".dkw-search-r0-max input").fill(f"{r0_to_display(hi_m):g}")
    nb.widget("button.dkw-search-go").click()
    expect(nb.widget(".dkw-search-message")).to_contain_text(f"Found {len(records)} dataset(s)", timeout=30_000)
    code = nb.widget(".dkw-search-code").inner_text()
    assert "FriedParameter" in code and "613" in code  # dkist 1.18 needs the workaround, said why

    # the grid's text: r0 rounded with the unit in the header, sizes with units
    layout = json.loads(nb.run_cell("import json; print(json.dumps(sp.results_box.header_layout()))").stdout)
    headers = [name for name, _w in layout["columns"]]
    assert r0_label("Average r0") in headers
    shown = json.loads(
        nb.run_cell(
            "f = sp.grid.get_visible_data(); print(f.reset_index().astype(str).to_json(orient='records'))"
        ).stdout
    )
    by_id = {r["datasetId"]: r for r in records}
    for row in shown:
        record = by_id[row["Dataset ID"]]
        # the cell holds r0 rounded to the millimetre in the display unit (the grid draws it
        # with that many decimals); pandas' str() of the value drops trailing zeros
        expected = r0_rounded(record["qualityAverageFriedParameter"])
        cell = row[r0_label("Average r0")]
        assert (cell in ("nan", "None", "")) if expected is None else float(cell) == expected
        assert row["Dataset Size"] == human_bytes(record["datasetSize"] * 2**30)

    grid = nb.widget(".dkw-search-grid")
    r0_header = r0_label("Average r0")
    # 14.1: a click on the r0 header sorts (ascending), it selects nothing
    _click_header(nb, page, grid, r0_header)
    served = [r for r in records]  # API order
    r0 = np.array([r["qualityAverageFriedParameter"] for r in served])
    expected = [served[i]["datasetId"] for i in np.argsort(r0, kind="stable")]
    expect(nb.widget(".dkw-search-summary")).to_contain_text("Sorted by", timeout=10_000)
    assert _view_ids(nb) == expected
    assert json.loads(nb.run_cell("print(json.dumps(sp.selected_ids))").stdout) == []
    expect(nb.widget("button.dkw-search-transfer")).to_be_disabled()
    # again: descending; the best seeing is on top
    _click_header(nb, page, grid, r0_header + " ▲")
    expect(nb.widget(".dkw-search-summary")).to_contain_text("descending", timeout=10_000)
    expected_desc = [served[i]["datasetId"] for i in np.argsort(-r0, kind="stable")]
    assert _view_ids(nb) == expected_desc
    assert json.loads(nb.run_cell("print(json.dumps(sp.selected_ids))").stdout) == []
    screenshot(page, "search_workshop_sorted_light", locator=nb.widget(".dkw-search"))

    # the top two rows as shown, with the mouse (click, shift-click)
    box = _grid_box(page, grid)
    page.mouse.click(box["x"] + 200, box["y"] + HEADER_HEIGHT + 10)
    page.keyboard.down("Shift")
    page.mouse.click(box["x"] + 200, box["y"] + HEADER_HEIGHT + 30)
    page.keyboard.up("Shift")
    chosen = expected_desc[:2]
    expect(nb.widget("button.dkw-search-transfer")).to_be_enabled(timeout=10_000)
    assert json.loads(nb.run_cell("print(json.dumps(sp.selected_ids))").stdout) == chosen

    # the sort on the size header sorts bytes, and keeps the two selected
    _click_header(nb, page, grid, "Dataset Size")
    expect(nb.widget(".dkw-search-summary")).to_contain_text("Sorted by Dataset Size", timeout=10_000)
    sizes = np.array([r["datasetSize"] for r in served])
    assert _view_ids(nb) == [served[i]["datasetId"] for i in np.argsort(sizes, kind="stable")]
    assert sorted(json.loads(nb.run_cell("print(json.dumps(sp.selected_ids))").stdout)) == sorted(chosen)

    # 14.2: Transfer asks first, with files, bytes and a time; nothing has started
    nb.widget("button.dkw-search-transfer").click()
    question = nb.widget(".dkw-search-confirm-text")
    files = sum(int(by_id[i]["frameCount"]) for i in chosen)
    size = sum(by_id[i]["datasetSize"] for i in chosen) * 2**30
    expect(question).to_contain_text(f"{files:,} files", timeout=10_000)
    expect(question).to_contain_text(human_bytes(size))
    expect(question).to_contain_text("estimate")
    assert nb.run_cell("print(len(received))").stdout.strip() == "0"
    nb.widget(".dkw-search-confirm").scroll_into_view_if_needed()
    screenshot(page, "search_workshop_confirm_light", locator=nb.widget(".dkw-search"))

    # the dark theme: the same panel stays readable
    page.evaluate("() => window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Dark'})")
    page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'", timeout=30_000)
    page.wait_for_timeout(800)
    screenshot(page, "search_workshop_confirm_dark", locator=nb.widget(".dkw-search"))
    page.evaluate("() => window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Light'})")
    page.wait_for_function("() => document.body.dataset.jpThemeLight === 'true'", timeout=30_000)

    nb.widget("button.dkw-search-confirm-start").click()
    expect(nb.widget(".dkw-search-message")).to_contain_text("handed to the transfer monitor", timeout=10_000)
    got = json.loads(nb.run_cell("print(json.dumps([[r['datasetId'] for r in b] for b in received]))").stdout)
    assert [sorted(b) for b in got] == [sorted(chosen)]
    assert R0_DISPLAY_UNIT in nb.widget(".dkw-search-r0-max label").inner_text()
    nb.assert_no_problems()
