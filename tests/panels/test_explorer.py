"""explore(), kernel side: every input kind, one shared model, overview against dkist.

Runs against a sandbox world started in this process (real loopback data centre,
Globus and Globus Auth over HTTP). Expected values come from dkist itself: the
dataset's ``files``, ``data.shape`` and ``wcs.axis_correlation_matrix``.
"""

from __future__ import annotations

import re
import time

import dkist
import numpy as np
import pytest

from dkist_widgets import explore
from dkist_widgets.core.model import DatasetModel
from dkist_widgets.explorer import PANEL_TITLES, Explorer
from dkist_widgets.panels.overview import axes_description, overview_html
from tests.helpers.globus_login import auth_code_from

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def visp(archive):
    return dkist.load_dataset(archive.asdf_path("KPLMQ"))


@pytest.fixture(scope="module")
def vbi(archive):
    return dkist.load_dataset(archive.asdf_path("GHMNE"))


def _cells(html: str) -> list[list[int]]:
    """The correlation picture back as 0/1 rows (world axes) from the overview HTML."""
    table = re.search(r"data-testid='overview-correlation'>(.*?)</table>", html, re.S).group(1)
    rows = re.findall(r"<tr>(.*?)</tr>", table, re.S)[1:]
    return [[int(v) for v in re.findall(r"data-on='(\d)'", row)] for row in rows]


def _files_shown(html: str) -> int:
    return int(re.search(r"data-testid='overview-files'>(\d+)<", html).group(1))


def test_explore_nothing_starts_with_search(world):
    ex = explore()
    try:
        assert isinstance(ex, Explorer) and ex.model.dataset is None
        assert ex.tabs.titles == PANEL_TITLES
        assert PANEL_TITLES[ex.tabs.selected_index] == "Search"
        assert ex.built_panels == ["Search"] and not ex.errors
        assert "No dataset open" in ex.overview.html.value
        assert ex.panel("Search").model is ex.model
    finally:
        ex.close()


def test_explore_dataset_overview_matches_dkist(world, visp):
    ex = explore(visp)
    try:
        assert ex.model.dataset is visp
        assert PANEL_TITLES[ex.tabs.selected_index] == "Headers"
        html = ex.overview.html.value
        assert _files_shown(html) == len(visp.files) == 400
        # pixel axes in numpy order with their lengths
        axes = axes_description(visp)
        assert [n for _, n in axes["pixel"]] == list(visp.data.shape)
        # the picture is the WCS correlation matrix with pixel columns reversed to numpy order
        expected = np.asarray(visp.wcs.axis_correlation_matrix)[:, ::-1].astype(int).tolist()
        assert _cells(html) == expected
        assert len(expected) == visp.wcs.world_n_dim
        for name in visp.wcs.world_axis_names:
            assert name in html
        inventory = visp.meta["inventory"]
        assert inventory["headerDocumentationUrl"] in html and 'rel="noopener noreferrer"' in html
        # every panel shares the model; building them all leaves no error
        for title in PANEL_TITLES:
            panel = ex.panel(title)
            assert panel is not None
        assert not ex.errors, ex.errors
        assert ex.panel("Headers").model is ex.model
        assert ex.panel("Slice & files").slice_builder.model is ex.model
        assert ex.panel("Transfers").model is ex.model
        # a selection made through one panel is the model's, seen by the others
        picked = ex.panel("Headers").longest_good_run(min=0.08)
        assert ex.model.n_selected == len(picked) > 0
    finally:
        ex.close()


def test_explore_asdf_path_and_missing_path(world, archive, tmp_path):
    ex = explore(str(archive.asdf_path("KPLMQ")))
    try:
        assert ex.model.n_frames == 400 and not ex.errors
    finally:
        ex.close()
    with pytest.raises(FileNotFoundError, match="no ASDF file"):
        explore(tmp_path / "nothing.asdf")
    with pytest.raises(TypeError, match="explore\\(\\) takes"):
        explore(42)


def test_explore_tiled_dataset(world, vbi):
    ex = explore(vbi)
    try:
        html = ex.overview.html.value
        tiles = [t for t in vbi.flat]
        assert _files_shown(html) == sum(len(t.files) for t in tiles)
        assert "TiledDataset" in html and "Tile grid" in html
        assert _cells(html) == np.asarray(tiles[0].wcs.axis_correlation_matrix)[:, ::-1].astype(int).tolist()
        ex.panel("Slice & files")
        assert "Slice & files" not in ex.errors
    finally:
        ex.close()


def test_explore_fido_results_open_switches_to_headers(world, tmp_path):
    from sunpy.net import Fido
    from sunpy.net import attrs as a

    res = Fido.search(a.Instrument("VISP"), a.dkist.Embargoed(False))
    shown = sorted(res["dkist"]["Dataset ID"])
    model = DatasetModel()
    ex = explore(res, model=model)
    try:
        assert ex.model is model and not ex.errors, ex.errors
        search = ex.panel("Search")
        assert sorted(search.grid.get_visible_data().index) == shown
        search.path_template.value = str(tmp_path / "{dataset_id}/")
        search.select_ids(["KPLMQ"])
        assert search.open_selected() is not None
        assert search.wait(60), search.message_text
        deadline = time.monotonic() + 10
        while model.dataset is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert model.n_frames == 400
        assert PANEL_TITLES[ex.tabs.selected_index] == "Headers"
        assert _files_shown(ex.overview.html.value) == 400
    finally:
        ex.close()


def test_failing_panel_is_contained(world, visp, monkeypatch):
    import dkist_widgets.explorer as explorer

    def broken(_model):
        raise RuntimeError("<b>boom</b>")

    monkeypatch.setattr(explorer, "_header_explorer", broken)
    ex = explore(visp)
    try:
        assert isinstance(ex.errors["Headers"], RuntimeError)
        slot = ex.tabs.children[PANEL_TITLES.index("Headers")]
        text = slot.children[0].value
        assert "Headers could not be shown" in text and "&lt;b&gt;boom&lt;/b&gt;" in text and "<b>boom" not in text
        assert ex.panel("Slice & files") is not None and "Slice & files" not in ex.errors
    finally:
        ex.close()


def test_overview_escapes_inventory_and_drops_unsafe_links(visp):
    ds = visp[:]  # a slice: its own meta dict
    ds.meta["inventory"] = dict(
        ds.meta["inventory"],
        datasetId="<script>alert(1)</script>",
        experimentDescription="<img src=x onerror=alert(2)>",
        headerDocumentationUrl="javascript:alert(3)",
    )
    html = overview_html(ds)
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;" in html
    assert 'href="javascript' not in html


def test_search_transfer_request_goes_to_the_monitor(world, monkeypatch, tmp_path):
    """Transfer in the search panel -> a real Globus task in the monitor (after a real sign-in)."""
    from sunpy.net import Fido
    from sunpy.net import attrs as a

    monkeypatch.setenv("DKIST_WIDGETS_DATA_DIR", str(tmp_path / "data"))  # tokens go here
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    res = Fido.search(a.dkist.Dataset("KPLMQ"))
    ex = explore(res)
    try:
        monitor = ex.panel("Transfers")
        login = monitor.login
        login.finish_login(auth_code_from(login.start_login()))
        assert login.is_logged_in
        ex.show("Search")
        search = ex.panel("Search")
        search.select_ids(["KPLMQ"])
        records = search.request_transfer()
        assert [r["datasetId"] for r in records] == ["KPLMQ"]
        assert PANEL_TITLES[ex.tabs.selected_index] == "Transfers"
        assert search.message_kind != "error", search.message_text
        assert len(monitor._rows) == 1  # the task submitted to the loopback Globus is shown
        task_id = next(iter(monitor._rows))
        assert monitor.cancel(task_id) in ("Canceled", "CancelAccepted", "TaskComplete")
    finally:
        ex.close()


def test_explore_in_background_shows_a_skeleton_then_the_same_explorer(world, archive, tmp_path):
    """Issue 18.4: the skeleton is an Explorer at once; it fills in with what explore() builds."""
    path = archive.asdf_path("KPLMQ")
    expected = dkist.load_dataset(path)
    ex = explore(str(path), background=True)
    try:
        assert isinstance(ex, Explorer)
        # the first thing on screen: title and the steps, before anything is built
        assert ex.children and "DKIST explorer" in ex.children[0].value
        # reading an attribute or calling a method waits for the build (the next cell just works)
        assert ex.show("Slice & files") is ex.panel("Slice & files")
        assert ex.model.n_frames == 400
        assert ex.wait(120)
        assert ex.model.dataset.data.shape == expected.data.shape
        assert list(ex.model.dataset.files.filenames) == list(expected.files.filenames)
        assert ex.children == (ex.title, ex.load_message, ex.overview, ex.tabs) or ex.tabs in ex.children
        assert not ex.errors and ex.load_error == ""
    finally:
        ex.close()
    bad = tmp_path / "bad.asdf"
    bad.write_bytes(b"#ASDF 1.0.0\nnot really")
    ex = explore(bad, background=True)
    try:
        assert ex.wait(120)
        assert ex.load_error and ex.model.dataset is None
        assert PANEL_TITLES[ex.tabs.selected_index] == "Search"
    finally:
        ex.close()
    with pytest.raises(FileNotFoundError, match="no ASDF file"):
        explore(tmp_path / "nothing.asdf", background=True)
    with pytest.raises(TypeError, match="explore\\(\\) takes"):
        explore(42, background=True)


def test_overview_shows_inventory_numbers_as_written_not_their_binary_error(visp):
    """A wavelength the inventory computed as 631.7109999999999 (binary rounding) reads 631.711."""
    ds = visp[:]
    ds.meta["inventory"] = dict(ds.meta["inventory"], wavelengthMax=631.7109999999999, wavelengthMin=628.786)
    html = overview_html(ds)
    assert "631.711<" in html and "631.7109999" not in html
    assert "628.786<" in html
