"""The workshop notebook followed with the mouse, in its own words (issue 14, "Tests").

``notebooks/01_downloading_data.ipynb`` runs in JupyterLab against the sandbox world,
then the steps its "Click:" paragraphs describe are done with the mouse in the
explorer it shows (``ex``), one test per step, in order, on one page:

1. "Click the *Average Fried Parameter* column header to sort; the best seeing is
   where r0 is largest": the Search tab's grid sorts (and selects nothing).
2. "in the *Headers* tab set the threshold to 0.08": typed in the box whose unit
   label says metres, it keeps the frames whose Stokes I ``ATMOS_R0`` is at least
   0.08 m, with the other Stokes states at those raster steps.
3. "(or drag on the plot)": the threshold handle dragged with the mouse.
4. "press **Longest run**": the longest run of good raster steps; the summary's file
   count is ``len(sds.files)`` of the notebook's own cell 21 slice. Then the
   selection is saved next to the dataset (Save selection) and read back.
5. Screenshots of the header explorer in the light and the dark theme, saved as
   ``docs/screenshots/header_explorer.png`` (the README's) and
   ``header_explorer_dark.png``.
6. "press **Selected frames**" with a confirmation and a cancel: pending until the
   transfer confirmation and cancel are in main (skipped, naming the missing piece).

Oracles are computed in the kernel from ``ds.headers`` with numpy and from dkist's
own ``ds[...].files``, independently of the widgets.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pytest
from playwright.sync_api import expect

from .lab import VIEWPORT, ConsoleLog, open_notebook, screenshot, sign_in_through_panel

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK = REPO / "notebooks" / "01_downloading_data.ipynb"
DOCS_SHOTS = REPO / "docs" / "screenshots"
HEADER_HEIGHT = 20  # ipydatagrid's column header row, px

pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def lab_server(lab_server_factory, world, tmp_path_factory):
    env = dict(world.kernel_environment())
    env["HOME"] = str(tmp_path_factory.mktemp("home"))
    env["DKIST_WIDGETS_DATA_DIR"] = str(tmp_path_factory.mktemp("kernel-data"))
    return lab_server_factory(env)


@pytest.fixture(scope="module")
def journey(browser, lab_server):
    """The notebook opened and run once; every step below acts on it in order."""
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(30_000)
    page = context.new_page()
    cells = [c.source for c in nbformat.read(NOTEBOOK, as_version=4).cells if c.cell_type == "code"]
    nb = open_notebook(page, lab_server, NOTEBOOK.name, cells, timeout=300, console=ConsoleLog().attach(page))
    nb.wait_settled(300, must_have_run=list(range(len(cells))))
    nb.assert_no_problems()
    yield page, nb
    nb.close()
    context.close()


def _json(nb, code: str):
    out = nb.run_cell(code)
    assert not out.errors, out.errors
    return json.loads(out.stdout.strip().splitlines()[-1])


def _tab(nb, title: str):
    tab = nb.widget(".dkw-explorer .lm-TabBar-tab").filter(has_text=title).first
    tab.click()
    return tab


def _header_explorer(nb):
    return nb.widget(".dkw-explorer .dkw-header-explorer").first


# what the notebook's cell 21 does, for any threshold: Stokes I raster steps whose r0 is
# at least it, the files of those steps by dkist, the longest run and its slice
ORACLE = """
import json
def _oracle(threshold):
    stokes_i = ds.headers[ds.headers["DINDEX4"] == 1]
    good_steps = np.flatnonzero(np.ma.filled(stokes_i["ATMOS_R0"] >= threshold, False))
    files = set()
    for s in good_steps:
        files |= set(ds[:, int(s)].files.filenames)
    runs = np.split(good_steps, np.flatnonzero(np.diff(good_steps) != 1) + 1)
    best = max(runs, key=len)
    sds = ds[:, int(best[0]):int(best[-1]) + 1]
    chosen = set(ex.model.files_for_frames())
    return {"recipe": headers.state.describe(), "intervals": len(headers.state.intervals),
            "model_holds_ds": ex.model.dataset is ds,
            "only_in_widget": sorted(chosen - files - {f.split("/")[-1] for f in files})[:5],
            "threshold": headers.state.threshold, "direction": headers.state.direction,
            "n_selected": int(ex.model.n_selected), "source": ex.model.selection_source,
            "threshold_files_same": chosen == {f.split("/")[-1] for f in files} or chosen == files,
            "n_threshold_files": len(files),
            "run_files_same": chosen == set(sds.files.filenames) or chosen == {f.split("/")[-1] for f in sds.files.filenames},
            "n_run_files": len(sds.files)}
"""


def test_1_sort_the_results_by_seeing(journey):
    page, nb = journey
    _tab(nb, "Search")
    nb.run_cell("import json\nsp = ex.panel('Search')")
    layout = _json(nb, "print(json.dumps(sp.results_box.header_layout()))")
    r0_header = next(name for name, _w in layout["columns"] if "r0" in name or "Fried" in name)
    before = _json(nb, "print(json.dumps(sorted(sp.selected_ids)))")
    grid = nb.widget(".dkw-search .p-DataGrid, .dkw-search .lm-DataGrid").first
    expected_desc = _json(
        nb,
        (
            "import astropy.units as u\n"
            "col = table['Average Fried Parameter']\n"
            "r0 = np.asarray(u.Quantity(col).to_value(u.m) if getattr(col, 'unit', None) else col, float)\n"
            "order = np.argsort(-np.where(np.isfinite(r0), r0, -np.inf), kind='stable')\n"
            "print(json.dumps([str(table['Dataset ID'][i]) for i in order]))"
        ),
    )
    for _click in range(3):  # ascending first, then descending: best seeing first
        grid.scroll_into_view_if_needed()
        page.wait_for_timeout(300)
        box = grid.bounding_box()
        left = box["x"] + layout["row_header"]
        for name, width in layout["columns"]:
            if name == r0_header:
                page.mouse.click(left + width / 2, box["y"] + HEADER_HEIGHT / 2)
                break
            left += width
        page.wait_for_timeout(800)
        shown = _json(nb, "print(json.dumps([str(i) for i in sp.grid.get_visible_data().index]))")
        if shown == expected_desc:
            break
    assert shown == expected_desc, (shown, expected_desc)
    assert _json(nb, "print(json.dumps(sorted(sp.selected_ids)))") == before  # a header click selects nothing
    screenshot(page, "journey_search_sorted", locator=nb.widget(".dkw-explorer").first)


def test_2_threshold_typed_in_metres_as_the_notebook_says(journey):
    page, nb = journey
    _tab(nb, "Headers")
    hx = _header_explorer(nb)
    expect(hx.locator(".dkw-header-plot svg").first).to_be_visible(timeout=30_000)
    expect(hx.locator(".dkw-threshold-unit")).to_have_text("m")  # the box names its unit
    hx.locator(".widget-toggle-buttons button").filter(has_text="keep ≥").first.click()
    box = hx.locator(".dkw-threshold-value input")
    box.fill("0.08")
    box.press("Enter")
    expect(hx.locator(".dkw-header-recipe")).to_contain_text("ATMOS_R0 ≥ 0.080 m", timeout=20_000)
    nb.run_cell(ORACLE)
    got = _json(nb, "print(json.dumps(_oracle(0.08)))")
    assert got["threshold"] == 0.08 and got["direction"] == ">=" and got["source"] == "header_explorer", json.dumps(got)
    assert got["threshold_files_same"] and got["n_selected"] == got["n_threshold_files"] > 0, json.dumps(got)
    expect(hx.locator("[data-testid='files']")).to_have_text(str(got["n_threshold_files"]))


def test_3_drag_the_threshold_handle(journey):
    page, nb = journey
    hx = _header_explorer(nb)
    plot = hx.locator(".dkw-header-plot").first
    plot.scroll_into_view_if_needed()
    handle = plot.locator("path.dot").first
    expect(handle).to_be_visible(timeout=20_000)
    area = plot.locator("rect.plotarea_events, rect.plotarea_background").first
    box, dot = area.bounding_box(), handle.bounding_box()
    x, y = dot["x"] + dot["width"] / 2, dot["y"] + dot["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    for i in range(1, 11):  # down by a fifth of the plot: a lower threshold, more frames
        page.mouse.move(x, y + box["height"] * 0.2 * i / 10)
    page.mouse.up()
    for _ in range(40):
        got = _json(nb, "print(json.dumps(_oracle(headers.state.threshold)))")
        if got["threshold"] != 0.08:
            break
        page.wait_for_timeout(250)
    assert got["threshold"] < 0.08 and got["direction"] == ">=", json.dumps(got)
    assert got["threshold"] == round(got["threshold"], 3)  # dropped on a millimetre, as shown
    assert got["threshold_files_same"] and got["n_selected"] == got["n_threshold_files"], json.dumps(got)
    shown = float(hx.locator(".dkw-threshold-value input").input_value())
    assert shown == got["threshold"]  # the box says what the handle set


def test_4_longest_good_run_and_its_files(journey):
    page, nb = journey
    hx = _header_explorer(nb)
    box = hx.locator(".dkw-threshold-value input")
    box.fill("0.08")
    box.press("Enter")
    expect(hx.locator(".dkw-header-recipe")).to_contain_text("ATMOS_R0 ≥ 0.080 m", timeout=20_000)
    hx.locator("button").filter(has_text="Longest good run").first.click()
    expect(hx.locator(".dkw-header-recipe")).to_contain_text("longest good run", timeout=20_000)
    got = _json(nb, "print(json.dumps(_oracle(0.08)))")
    assert got["run_files_same"] and got["n_selected"] == got["n_run_files"] > 0, json.dumps(got)
    # the summary's file count is len(ds[...].files) of the notebook's own slice
    expect(hx.locator("[data-testid='files']")).to_have_text(str(got["n_run_files"]))
    same = _json(
        nb,
        "cover = ex.model.slices_for_frames()\n"
        "print(json.dumps(sum(len(eval(line.strip().rstrip(','), {'ds': ds}).files) "
        "for line in cover.snippet.splitlines() if line.strip().startswith('ds['))))",
    )
    assert same == got["n_run_files"]  # the code shown gives the same files with dkist


def test_4b_save_the_selection_next_to_the_dataset(journey):
    page, nb = journey
    hx = _header_explorer(nb)
    hx.locator(".dkw-saved-name input").fill("good seeing")
    hx.locator("button.dkw-saved-save").click()
    expect(hx.locator(".dkw-saved-message")).to_contain_text("Saved", timeout=20_000)
    got = _json(
        nb,
        "from pathlib import Path\n"
        "from dkist_widgets.core.saved_selection import load_selection\n"
        "p = Path(ds.files.basepath) / 'KPLMQ.good-seeing.selection.json'\n"
        "s = load_selection(p, ex.model)\n"
        "print(json.dumps([p.is_file(), bool(np.array_equal(s.frame_ids, ex.model.selected_frames)),"
        " s.recipe['threshold'], s.recipe['longest_run']]))",
    )
    assert got == [True, True, 0.08, True], json.dumps(got)
    expect(hx.locator(".dkw-saved-choice select")).to_have_value("good-seeing")  # offered for loading


def test_5_screenshots_light_and_dark(journey):
    page, nb = journey
    page.set_viewport_size({"width": 1400, "height": 1500})  # the whole panel in view, nothing cut off
    hx = _header_explorer(nb)
    hx.scroll_into_view_if_needed()
    page.wait_for_timeout(800)
    DOCS_SHOTS.mkdir(parents=True, exist_ok=True)
    light = screenshot(page, "header_explorer", locator=hx)
    shutil.copyfile(light, DOCS_SHOTS / "header_explorer.png")
    page.evaluate("() => window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Dark'})")
    page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'", timeout=30_000)
    hx.scroll_into_view_if_needed()
    page.wait_for_timeout(800)
    colour = hx.locator(".dkw-header-summary").first.evaluate("(el) => getComputedStyle(el).color")
    assert colour not in ("rgb(0, 0, 0)", "rgb(34, 34, 34)"), colour  # the text follows the dark theme
    dark = screenshot(page, "header_explorer_dark", locator=hx)
    shutil.copyfile(dark, DOCS_SHOTS / "header_explorer_dark.png")
    page.evaluate("() => window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Light'})")
    page.wait_for_function("() => document.body.dataset.jpThemeLight === 'true'", timeout=30_000)
    page.set_viewport_size(VIEWPORT)
    nb.assert_no_problems()


def test_6_sign_in_transfer_the_selection_and_cancel(journey, world):
    """The notebook's words: "the Transfers tab: sign in, then press Selected frames", then
    watch it and cancel. Oracles: the files on disk (each whole, each one of the selected
    frames' files, fewer than all), Globus's own task document, the model's count."""
    page, nb = journey
    selected = set(_json(nb, "import json; print(json.dumps(sorted(ex.model.files_for_frames())))"))
    assert selected, "the earlier steps left a selection"
    _tab(nb, "Transfers")
    monitor = nb.widget(".dkw-explorer .dkw-transfer-monitor").first
    login = monitor.locator(".dkw-login").first
    if login.locator(".dkw-login-state").get_attribute("data-state") != "logged_in":
        sign_in_through_panel(login)
    world.globus.set_rate(150_000)  # slow enough to watch and cancel, as in a room
    try:
        start = monitor.locator(".dkw-start-selection")
        expect(start).to_contain_text(f"{len(selected)} files")
        start.click()
        row = monitor.locator(".dkw-task-row").first
        expect(row.locator(".dkw-task-status")).to_contain_text("copying", timeout=30_000)
        screenshot(page, "journey_transfer_running", locator=monitor)
        row.get_by_role("button", name="Cancel").click()
        row.get_by_role("button", name="Yes, cancel it").click()
        expect(row.locator(".dkw-task-status")).to_have_text("cancelled", timeout=30_000)
    finally:
        world.globus.set_rate(None)
    state = _json(
        nb,
        "import json; t = ex.panel('Transfers').watcher.tasks()[0]; "
        "d = ex.panel('Transfers').session.client.get_task(t.task_id).data; "
        "print(json.dumps({'status': d['status'], 'code': (d.get('fatal_error') or {}).get('code'), "
        "'n_local': int(ex.model.n_local_files)}))",
    )
    assert state["status"] == "FAILED" and state["code"] == "CANCELED"
    landed = [p for p in Path(world.local_endpoint_dir).rglob("*.fits") if p.name in selected]
    strays = [
        p
        for p in Path(world.local_endpoint_dir).rglob("*")
        if p.is_file() and p.suffix not in (".fits", ".json", ".txt", ".cfg", ".asdf")
    ]
    assert len(landed) < len(selected)  # cancelled before the end
    assert not [p for p in strays if "dkist" in p.parts]  # no partial temporaries under the transfer's folder
    archive = Path(world.archive_dir)
    for path in landed:  # every file present is whole: the same bytes as the archive's
        (source,) = archive.rglob(path.name)
        assert path.read_bytes() == source.read_bytes(), path
    assert state["n_local"] >= len(landed)
    screenshot(page, "journey_transfer_cancelled", locator=monitor)
