"""SearchPanel, kernel side: form -> background search -> grid; selection -> actions.

Against the loopback data centre (real HTTP, dkist's walker, dkist.load_dataset).
Expected rows come from the catalogue records; files are compared with the archive.
"""

from __future__ import annotations

import base64
import math
import time

import pytest

from dkist_widgets.core import search as core
from dkist_widgets.core.formatting import human_bytes
from dkist_widgets.core.model import DatasetModel
from dkist_widgets.core.units import R0_DISPLAY_UNIT, r0_label, r0_text, r0_to_display
from dkist_widgets.panels.search import PAGE_SIZES, SearchPanel
from tests.helpers.search_world import HOSTILE_ID, HOSTILE_PROPOSAL

pytestmark = pytest.mark.timeout(120)


def active(catalogue):
    return [r for r in catalogue if (r.get("status") or "ACTIVE") == "ACTIVE"]


def with_files(catalogue, root):
    return [r for r in active(catalogue) if (root / r["bucket"] / r["asdfObjectKey"]).is_file()]


@pytest.fixture
def panel(dc, tmp_path):
    p = SearchPanel(model=DatasetModel(), path_template=str(tmp_path / "{dataset_id}/"), search_timeout=10)
    assert p.choices_loaded.wait(10)
    yield p
    p.cancel()
    p.wait(5)


def searched(panel, **form):
    panel.set_form(**form)
    job = panel.search()
    assert job is not None, panel.message_text
    assert panel.wait(20)
    assert not panel.busy
    return panel.result


def grid_ids(panel):
    return list(panel.grid.get_visible_data().index)


def test_choices_come_from_search_values(panel, search_catalogue_and_root):
    catalogue, _ = search_catalogue_and_root
    assert set(panel.instrument.options) - {"(any)"} == {r["instrumentName"] for r in catalogue}
    assert set(panel.target_type.options) - {"(any)"} == {x for r in catalogue for x in r.get("targetTypes") or []}
    r0 = [r["qualityAverageFriedParameter"] for r in catalogue if r.get("qualityAverageFriedParameter") is not None]
    assert panel.r0_min.placeholder == f"≥ {r0_text(min(r0), unit=False)}"
    assert R0_DISPLAY_UNIT in panel.r0_min.description


def test_form_search_fills_grid(panel, search_catalogue_and_root):
    catalogue, _ = search_catalogue_and_root
    expected = [r["datasetId"] for r in active(catalogue) if r["instrumentName"] == "VISP" and not r["isEmbargoed"]]
    result = searched(panel, instrument="VISP", embargoed=False)
    assert grid_ids(panel) == expected  # catalogue order, one row per dataset
    assert result.total == len(expected)
    assert panel.message_kind == "ok"
    assert f"of {len(expected):,} datasets" in panel.summary.value
    assert list(panel.grid.get_visible_data().columns) == [
        r0_label("Average r0") if c == "Average Fried Parameter" else c
        for c in core.DEFAULT_COLUMNS
        if c != "Dataset ID"
    ]
    code = panel.code.value
    assert "Fido.search(" in code and "a.Instrument(&#x27;VISP&#x27;)" in code and "a.dkist.Embargoed(False)" in code
    frame = panel.grid.get_visible_data()
    by_id = {r["datasetId"]: r for r in catalogue}
    for ds_id in expected:
        r0 = by_id[ds_id].get("qualityAverageFriedParameter")
        value = frame.loc[ds_id, r0_label("Average r0")]
        # issue 14.4: rounded to a millimetre in the display unit, not 17 digits of metres
        want = None if r0 is None else round(r0_to_display(r0), 3 - round(math.log10(r0_to_display(1.0))))
        assert (value != value) if r0 is None else value == pytest.approx(want, abs=1e-12)
        size = by_id[ds_id].get("datasetSize")
        if size is not None:
            assert frame.loc[ds_id, "Dataset Size"] == human_bytes(size * 2**30)


def test_r0_in_cm_on_the_form(panel, search_catalogue_and_root):
    catalogue, _ = search_catalogue_and_root
    searched(panel, r0_min_cm="5", r0_max_cm="10", embargoed=None)
    expected = [
        r["datasetId"]
        for r in active(catalogue)
        if r.get("qualityAverageFriedParameter") is not None and 0.05 <= r["qualityAverageFriedParameter"] <= 0.10
    ]
    assert grid_ids(panel) == expected and len(expected) >= 2


def test_r0_typed_in_the_display_unit(panel, search_catalogue_and_root):
    catalogue, _ = search_catalogue_and_root
    panel.r0_min.value = f"{r0_to_display(0.05):g}"
    panel.r0_max.value = f"{r0_to_display(0.10):g}"
    panel.embargoed.value = "any"
    assert panel.search() is not None, panel.message_text
    assert panel.wait(20)
    expected = [
        r["datasetId"]
        for r in active(catalogue)
        if r.get("qualityAverageFriedParameter") is not None and 0.05 <= r["qualityAverageFriedParameter"] <= 0.10
    ]
    assert grid_ids(panel) == expected and len(expected) >= 2


def _header_click(panel, header):
    """What the browser sends for a mouse click on a column header: the cell-click
    message, then lumino's every-row selection (row selection mode)."""
    panel.grid._DataGrid__handle_custom_msg(
        None,
        {
            "event_type": "cell-click",
            "region": "column-header",
            "column": header,
            "column_index": 0,
            "row": 0,
            "primary_key_row": 0,
            "cell_value": header,
        },
        [],
    )
    n = len(panel._frame)
    panel.grid.selections = [{"r1": 0, "c1": 0, "r2": n - 1, "c2": 6}]


def test_header_click_sorts_and_keeps_the_selection(panel, search_catalogue_and_root):
    """Issue 14.1 (kernel side; tests/browser/test_search_workshop.py clicks it)."""
    import numpy as np

    catalogue, _ = search_catalogue_and_root
    searched(panel, embargoed=None)
    records = panel.result.records
    chosen = [records[1]["datasetId"]]
    panel.select_ids(chosen)
    header = r0_label("Average r0")
    _header_click(panel, header)
    r0 = np.array(
        [
            np.inf if r.get("qualityAverageFriedParameter") is None else r["qualityAverageFriedParameter"]
            for r in records
        ]
    )
    order = [records[i]["datasetId"] for i in np.argsort(r0, kind="stable")]
    assert panel.results_box.view_ids == order
    assert panel.selected_ids == chosen  # not every row
    assert header + " ▲" in panel.grid.get_visible_data().columns
    assert "Sorted by" in panel.summary.value
    _header_click(panel, header + " ▲")
    finite = [i for i in np.argsort(-r0, kind="stable") if np.isfinite(r0[i])]
    assert panel.results_box.view_ids[: len(finite)] == [records[i]["datasetId"] for i in finite]
    assert panel.selected_ids == chosen
    # sizes sort by bytes, not by their text
    _header_click(panel, "Dataset Size")
    sizes = [r.get("datasetSize") for r in records]
    by_size = [records[i]["datasetId"] for i in np.argsort([np.inf if v is None else v for v in sizes], kind="stable")]
    assert panel.results_box.view_ids == by_size
    # a real every-row selection without a header click is still a selection
    n = len(records)
    panel.grid.selections = [{"r1": 0, "c1": 0, "r2": n - 1, "c2": 6}]
    assert len(panel.selected_ids) == n


def test_columns_chooser(panel):
    searched(panel, embargoed=None)
    assert "Target Types" in panel.column_chooser.options
    panel.column_chooser.value = ("Instrument", "Target Types")
    assert list(panel.grid.get_visible_data().columns) == ["Instrument", "Target Types"]
    assert panel.grid.get_visible_data().index.name == "Dataset ID"


def test_paging(panel, search_catalogue_and_root):
    catalogue, _ = search_catalogue_and_root
    expected = [r["datasetId"] for r in active(catalogue)]
    panel.page_size.options = [4, *PAGE_SIZES]
    result = searched(panel, embargoed=None, page_size=4)
    assert result.total == len(expected) and len(grid_ids(panel)) == 4
    assert not panel.next_button.disabled and panel.prev_button.disabled
    seen = grid_ids(panel)
    while not panel.next_button.disabled:
        panel.next_button.click()
        assert panel.wait(20)
        seen += grid_ids(panel)
        assert panel.result.total == len(expected)
    assert seen == expected
    assert not panel.prev_button.disabled
    assert "a.dkist.Page(" in panel.code.value


def test_selection_maps_through_the_sorted_view(panel, search_catalogue_and_root):
    searched(panel, embargoed=None)
    ids = list(panel._frame.index)
    # the browser reports the view order in _visible_rows after a sort: emulate one
    panel.grid._visible_rows = list(range(len(ids)))[::-1]
    # the top two rows *as shown*, as the browser sends a row selection
    panel.grid.selections = [{"r1": 0, "c1": 0, "r2": 1, "c2": 6}]
    assert panel.selected_ids == [ids[-1], ids[-2]]
    assert not panel.open_button.disabled
    # two separate rectangles (ctrl-click), duplicates dropped
    panel.grid.selections = [
        {"r1": 2, "c1": 0, "r2": 2, "c2": 6},
        {"r1": 0, "c1": 0, "r2": 0, "c2": 6},
        {"r1": 2, "c1": 0, "r2": 2, "c2": 6},
    ]
    assert panel.selected_ids == [ids[-3], ids[-1]]
    panel.grid.selections = []
    assert panel.selected_ids == [] and panel.open_button.disabled


def test_open_sets_the_model(panel, search_catalogue_and_root):
    catalogue, root = search_catalogue_and_root
    record = next(r for r in with_files(catalogue, root) if r["instrumentName"] == "VISP")
    searched(panel, instrument="VISP", embargoed=None)
    panel.select_ids([record["datasetId"]])
    seen = []
    panel.model.observe(lambda change: seen.append(change["new"]), names="dataset")
    assert panel.open_selected() is not None
    assert panel.wait(60), panel.message_text
    assert panel.message_kind == "ok", panel.message_text
    ds = panel.model.dataset
    assert ds is not None and seen and seen[-1] is ds
    assert ds.meta["inventory"]["datasetId"] == record["datasetId"] == panel.opened_id
    assert panel.model.n_frames == len(ds.files)


def test_fetch_quality_report_and_movie(panel, search_catalogue_and_root, tmp_path):
    catalogue, root = search_catalogue_and_root
    records = with_files(catalogue, root)
    searched(panel, embargoed=None)
    panel.select_ids([r["datasetId"] for r in records])
    panel.fetch_selected()
    assert panel.wait(60)
    assert panel.message_kind == "ok", panel.message_text
    assert panel.progress.value == 1.0
    for record in records:
        asdf = tmp_path / record["datasetId"] / record["asdfObjectKey"].split("/")[-1]
        assert asdf.read_bytes() == (root / record["bucket"] / record["asdfObjectKey"]).read_bytes()

    panel.select_ids([records[0]["datasetId"]])
    panel.show_quality_report()
    assert panel.wait(30) and panel.message_kind == "ok", panel.message_text
    (output,) = panel.report_output.outputs
    shown = base64.b64decode(output["data"]["application/pdf"])
    assert shown == (root / records[0]["bucket"] / records[0]["qualityReportObjectKey"]).read_bytes()
    assert records[0]["datasetId"] in panel.report_path.value

    panel.play_movie()
    assert panel.wait(30) and panel.message_kind == "ok", panel.message_text
    video = panel.movie_box.children[-1]
    assert video.format == "mp4" and video.autoplay and video.loop
    assert bytes(video.value) == (root / records[0]["bucket"] / records[0]["browseMovieObjectKey"]).read_bytes()


def test_transfer_hook(panel, search_catalogue_and_root):
    catalogue, _ = search_catalogue_and_root
    searched(panel, embargoed=None)
    chosen = [r["datasetId"] for r in active(catalogue)][:2]
    panel.select_ids(chosen)
    panel.transfer_button.click()
    assert "No transfer monitor" in panel.message_text
    received = []
    panel.on_transfer_request(received.append)
    panel.transfer_button.click()
    assert [[r["datasetId"] for r in batch] for batch in received] == [chosen]
    assert received[0][0]["bucket"] and received[0][0]["primaryProposalId"]  # whole records
    assert [r["datasetId"] for r in panel.transfer_request] == chosen


def test_large_transfer_asks_first(dc, search_catalogue_and_root, tmp_path, monkeypatch):
    """Issue 14.2: above the limits the Transfer button shows files, bytes and an
    estimated time and waits; the callback runs only on "Start transfer"."""
    from dkist_widgets.core.formatting import human_duration

    catalogue, _ = search_catalogue_and_root
    sized = [r for r in active(catalogue) if r.get("datasetSize") and r.get("frameCount")][:2]
    assert len(sized) == 2
    n_files = sum(int(r["frameCount"]) for r in sized)
    n_bytes = sum(r["datasetSize"] for r in sized) * 2**30
    monkeypatch.setenv("DKIST_WIDGETS_CONFIRM_TRANSFER_FILES", str(n_files - 1))  # the env is read
    monkeypatch.setenv("DKIST_WIDGETS_TRANSFER_RATE", "1e6")
    panel = SearchPanel(
        model=DatasetModel(), path_template=str(tmp_path / "{dataset_id}/"), search_timeout=10, confirm_bytes=1e18
    )
    assert panel.choices_loaded.wait(10)
    received = []
    panel.on_transfer_request(received.append)
    searched(panel, embargoed=None)
    panel.select_ids([r["datasetId"] for r in sized])
    panel.transfer_button.click()
    assert received == []  # nothing started
    box = panel.transfer_confirm
    assert box.layout.display != "none"
    text = box.text.value
    assert f"{n_files:,} files" in text and human_bytes(n_bytes) in text
    assert human_duration(n_bytes / 1e6) in text and "estimate" in text
    box.cancel_button.click()
    assert received == [] and box.layout.display == "none" and "not started" in panel.message_text
    panel.transfer_button.click()
    box.start_button.click()
    assert [[r["datasetId"] for r in batch] for batch in received] == [[r["datasetId"] for r in sized]]
    # one file fewer than the limit: starts at once
    panel.select_ids([sized[0]["datasetId"]])
    panel.transfer_button.click()
    assert len(received) == 2 and box.layout.display == "none"


def test_records_with_empty_or_wrong_typed_fields(tmp_path):
    """Issue 14.11: shown, named with the field and what is wrong, only what needs the
    field disabled; the rest keeps working."""
    good = {
        "datasetId": "GOOD1",
        "bucket": "data",
        "primaryProposalId": "pid_1",
        "frameCount": 3,
        "datasetSize": 0.1,
        "qualityAverageFriedParameter": 0.07,
        "startTime": "2022-01-01T00:00:00",
    }
    no_bucket = {**good, "datasetId": "NOBKT", "bucket": ""}
    no_id = {**good, "datasetId": None}
    wrong = {
        **good,
        "datasetId": "WRONG",
        "primaryProposalId": ["pid_1"],
        "qualityAverageFriedParameter": "n/a",
        "datasetSize": "big",
        "wavelengthMin": "x",
        "wavelengthMax": None,
    }
    panel = SearchPanel(model=DatasetModel(), choices=core.FormChoices(), path_template=str(tmp_path / "{dataset_id}/"))
    panel.show_results(core.SearchResult(records=[good, no_bucket, no_id, wrong], total=4))
    ids = grid_ids(panel)
    assert ids == ["GOOD1", "NOBKT", "(record 3: no datasetId)", "WRONG"]  # every record shown, ids unique
    assert "3 record(s) with empty or wrong-typed fields" in panel.message_text
    assert (
        "NOBKT: bucket is empty" in panel.message_text
        and "WRONG: primaryProposalId is a list, not text" in panel.message_text
        and "(record 3: no datasetId): datasetId is empty" in panel.message_text
    )
    frame = panel.grid.get_visible_data()
    assert frame.loc["WRONG", "Dataset Size"] == ""  # not a number: blank (core.search.NUMERIC_KEYS), not a crash
    assert frame.loc["WRONG", r0_label("Average r0")] != frame.loc["WRONG", r0_label("Average r0")]  # NaN
    panel.select_ids(["NOBKT"])
    assert panel.transfer_button.disabled and "bucket is empty" in panel.transfer_button.tooltip
    assert not panel.open_button.disabled and not panel.fetch_button.disabled and not panel.movie_button.disabled
    assert "NOBKT: bucket is empty" in panel.blocked_note.value
    panel.select_ids(["(record 3: no datasetId)"])
    assert all(
        b.disabled
        for b in (panel.fetch_button, panel.open_button, panel.report_button, panel.movie_button, panel.transfer_button)
    )
    panel.select_ids(["GOOD1"])
    assert not panel.transfer_button.disabled and panel.blocked_note.value == ""
    # a scripted transfer of a mixed selection hands on only the records it can move
    received = []
    panel.on_transfer_request(received.append)
    panel.select_ids(["GOOD1", "NOBKT", "WRONG"])
    panel.request_transfer(confirmed=True)
    assert [[r["datasetId"] for r in b] for b in received] == [["GOOD1"]]
    assert "NOBKT: bucket is empty" in panel.message_text and "WRONG" in panel.message_text


def test_bad_input_keeps_the_panel_usable(panel):
    searched(panel, embargoed=None)
    before = grid_ids(panel)
    panel.set_form(start="2023-02-01", end="2023-01-01", r0_min_cm="abc")
    assert panel.search() is None
    assert panel.message_kind == "error"
    assert "end time" in panel.message_text and "'abc' is not a number" in panel.message_text
    assert grid_ids(panel) == before and not panel.busy


def test_empty_result(panel):
    searched(panel, dataset_ids="NOPE1", embargoed=None)
    assert panel.result.total == 0 and grid_ids(panel) == []
    assert "No dataset matches" in panel.message_text
    assert panel.open_button.disabled


@pytest.mark.parametrize("kind, fragment", [("500", "HTTP 500"), ("garbage", "not JSON"), ("drop", "connection")])
def test_faults_show_messages(panel, dc, kind, fragment):
    dc.inject_fault(kind, count=1, routes=["search"])
    panel.set_form(embargoed=None)
    panel.search()
    assert panel.wait(20)
    assert panel.message_kind == "error" and fragment in panel.message_text, panel.message_text
    assert not panel.busy and not panel.search_button.disabled
    searched(panel, embargoed=None)  # usable afterwards
    assert panel.message_kind == "ok"


def test_slow_service_times_out_and_cancel(dc, tmp_path):
    panel = SearchPanel(
        model=DatasetModel(),
        choices=core.FormChoices(),
        search_timeout=0.5,
        path_template=str(tmp_path / "{dataset_id}/"),
    )
    dc.inject_fault("slow", count=1, delay=5, routes=["search"])
    started = time.perf_counter()
    panel.search()
    assert panel.busy and "Searching" in panel.busy_html.value and not panel.cancel_button.disabled
    assert panel.wait(10)
    assert time.perf_counter() - started < 4
    assert panel.message_kind == "error" and "0.5 s" in panel.message_text
    assert not panel.busy
    # a cancel ends the wait at once
    panel.search_timeout = 30
    dc.inject_fault("slow", count=1, delay=5, routes=["search"])
    panel.search()
    panel.cancel_button.click()
    assert panel.wait(2) and "cancelled" in panel.message_text and not panel.busy


def test_hostile_strings_are_escaped(panel, search_catalogue_and_root):
    searched(panel, proposal_id=HOSTILE_PROPOSAL, embargoed=None)
    assert grid_ids(panel) == [HOSTILE_ID]
    panel.select_ids([HOSTILE_ID])
    assert "&lt;img src=x onerror=alert(1)&gt;" in panel.progress_label.value
    panel.fetch_selected()  # no file in the archive: a 404 naming the id
    assert panel.wait(20)
    assert panel.message_kind == "error"
    assert HOSTILE_ID in panel.message_text
    for html in (panel.message.value, panel.progress_label.value, panel.summary.value, panel.code.value):
        assert "<img" not in html and "<script" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in panel.message.value


def test_from_results(dc, search_catalogue_and_root, tmp_path):
    from sunpy.net import Fido
    from sunpy.net import attrs as a

    catalogue, root = search_catalogue_and_root
    res = Fido.search(a.Instrument("VISP"), a.dkist.Embargoed(False))
    panel = SearchPanel.from_results(res, path_template=str(tmp_path / "{dataset_id}/"))
    assert sorted(grid_ids(panel)) == sorted(res[0]["Dataset ID"])
    assert panel.prev_button.disabled and panel.next_button.disabled
    assert "from a result table" in panel.summary.value
    record = next(r for r in with_files(catalogue, root) if r["datasetId"] in grid_ids(panel))
    panel.select_ids([record["datasetId"]])
    panel.open_selected()
    assert panel.wait(60) and panel.message_kind == "ok", panel.message_text
    assert panel.model.dataset.meta["inventory"]["datasetId"] == record["datasetId"]
    with pytest.raises(TypeError, match="DKIST tables"):
        SearchPanel.from_results([1, 2])
