"""SearchPanel in a real JupyterLab: fill the form, search, click a row, Open, and the
HeaderExplorer on the same model shows that dataset; then the quality report (PDF)
and the preview movie are displayed inline.

The kernel reaches a loopback data centre run by this test process (the kernel
gets ``XDG_CONFIG_HOME`` with a ``dkist.cfg`` pointing at it). The expected frame
count comes from loading the same ASDF here with dkist.
"""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from dkist_widgets.core.units import r0_label
from dkist_widgets.sandbox.datacentre import DataCentre
from dkist_widgets.sandbox.dkist_config import kernel_environment
from tests.helpers.search_world import build_search_catalogue

from .lab import screenshot


@pytest.fixture(scope="module")
def search_world(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser-search-archive")
    catalogue = build_search_catalogue(root)
    dc = DataCentre(catalogue, root).start()
    yield dc, catalogue, root
    dc.stop()


@pytest.fixture(scope="module")
def lab_server(lab_server_factory, search_world, tmp_path_factory):
    dc, _, _ = search_world
    env = kernel_environment(tmp_path_factory.mktemp("kernel-config"), dc.dataset_endpoint, dc.download_endpoint)
    return lab_server_factory(env)


def test_search_select_open_shows_in_header_explorer(open_notebook, page, search_world, tmp_path):
    import dkist

    dc, catalogue, root = search_world
    visp = [r for r in catalogue if r["instrumentName"] == "VISP" and (r.get("status") or "ACTIVE") == "ACTIVE"]
    first = visp[0]
    assert (root / first["bucket"] / first["asdfObjectKey"]).is_file()
    ds = dkist.load_dataset(root / first["bucket"] / first["asdfObjectKey"])
    n_frames = len(ds.files)

    save_to = str(tmp_path / "{dataset_id}/")
    nb = open_notebook(
        "search_panel.ipynb",
        [
            "from dkist_widgets.core.model import DatasetModel\n"
            "from dkist_widgets.panels.search import SearchPanel\n"
            "from dkist_widgets.panels.header_explorer import HeaderExplorer\n"
            f"model = DatasetModel()\nsp = SearchPanel(model, path_template={save_to!r})\n"
            "hx = HeaderExplorer(model)",
            "sp",
            "hx",
        ],
        wait_for=".dkw-search",
        timeout=120,
    )
    nb.assert_no_problems()

    # the choices arrive from searchValues in the background
    instrument = nb.widget(".dkw-search-instrument select")
    expect(instrument.locator("option", has_text="VISP")).to_have_count(1, timeout=30_000)
    instrument.select_option("VISP")
    nb.widget(".dkw-search-embargoed select").select_option(label="(any)")
    nb.widget("button.dkw-search-go").click()

    summary = nb.widget(".dkw-search-summary")
    expect(summary).to_contain_text(f"of {len(visp)} datasets", timeout=30_000)
    expect(nb.widget(".dkw-search-message")).to_contain_text(f"Found {len(visp)} dataset(s)")
    expect(nb.widget(".dkw-search-code")).to_contain_text("a.Instrument('VISP')")
    screenshot(page, "search_panel_results", locator=nb.widget(".dkw-search"))

    # click the first data row of the canvas grid (column header is 20 px tall)
    grid = nb.widget(".dkw-search-grid")
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    page.mouse.click(box["x"] + 200, box["y"] + 20 + 10)
    expect(nb.widget(".dkw-search-open")).to_be_enabled(timeout=10_000)
    out = nb.run_cell("import json; print(json.dumps(sp.selected_ids))")
    assert json.loads(out.stdout) == [first["datasetId"]]

    nb.widget("button.dkw-search-open").click()
    expect(nb.widget(".dkw-search-message")).to_contain_text(f"Opened {first['datasetId']}", timeout=60_000)
    explorer_summary = nb.widget(".dkw-header-summary")
    expect(explorer_summary).to_contain_text(f"of {n_frames} frames", timeout=30_000)
    expect(nb.widget(".dkw-header-plot")).to_be_visible()
    out = nb.run_cell("print(model.dataset.meta['inventory']['datasetId'], hx.table.n_frames)")
    assert out.stdout.split() == [first["datasetId"], str(n_frames)]
    shot = screenshot(page, "search_panel_opened")
    assert shot.stat().st_size > 10_000

    # quality report: JupyterLab's own PDF renderer inside the Output widget
    nb.widget("button.dkw-search-report").click()
    pdf = nb.widget(".dkw-search-report-view .jp-PDFContainer iframe")
    expect(pdf).to_have_count(1, timeout=30_000)
    data_url = page.wait_for_function(
        "(el) => { const o = el.contentDocument && el.contentDocument.querySelector('object');"
        " return o && o.data && o.data.startsWith('blob:') ? o.data : null; }",
        arg=pdf.element_handle(),
        timeout=30_000,
    ).json_value()
    assert data_url.startswith("blob:")
    expect(nb.widget(".dkw-search-message")).to_contain_text("Quality report of")
    pdf.scroll_into_view_if_needed()
    page.wait_for_timeout(1500)  # let the PDF viewer paint before the screenshot
    screenshot(page, "search_panel_quality_report", locator=nb.widget(".dkw-search-report-view"))

    # preview movie: an ipywidgets.Video that really decodes (H.264 in this Chromium)
    nb.widget("button.dkw-search-movie").click()
    video = nb.widget("video.dkw-search-video")
    expect(video).to_have_count(1, timeout=30_000)
    video.scroll_into_view_if_needed()
    size = page.wait_for_function(
        "(v) => v.readyState >= 2 && v.videoWidth > 0 ? [v.videoWidth, v.videoHeight] : null",
        arg=video.element_handle(),
        timeout=30_000,
    ).json_value()
    assert size[0] > 0 and size[1] > 0
    screenshot(page, "search_panel_report_movie")

    # sort the grid (ipydatagrid transform, applied by the browser, which reports the
    # view order back): the first row *as shown* is now the best seeing
    best = max(
        (r for r in visp if r.get("qualityAverageFriedParameter") is not None),
        key=lambda r: r["qualityAverageFriedParameter"],
    )
    r0_column = r0_label("Average r0")  # the header names the unit (issue 14.4)
    nb.run_cell(f"sp.grid.transform([{{'type': 'sort', 'column': {r0_column!r}, 'desc': True}}])")
    grid.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    box = grid.bounding_box()
    page.mouse.click(box["x"] + 200, box["y"] + 20 + 10)
    page.wait_for_timeout(500)
    out = nb.run_cell("print(json.dumps(sp.selected_ids))")
    assert json.loads(out.stdout) == [best["datasetId"]]
    nb.assert_no_problems()
