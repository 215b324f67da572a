"""dkist_widgets.core.search against the loopback data centre, with dkist's real walker.

Every filter's expected datasets are computed here from the catalogue records
(API semantics: overlaps for time and wavelength, inclusive ranges, ACTIVE only),
never from the server's code; a few queries are also checked against dkist's
own ``DKISTClient().search`` on the same attrs.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import urllib.parse
from pathlib import Path

import pytest

from dkist_widgets.core import search as core
from dkist_widgets.core.units import R0_DISPLAY_UNIT, r0_from_display, r0_to_display
from tests.helpers.search_world import HOSTILE_ID

pytestmark = pytest.mark.timeout(120)


# --- expectations straight from the records ---------------------------------------


def active(catalogue):
    return [r for r in catalogue if (r.get("status") or "ACTIVE") == "ACTIVE"]


def t(value) -> dt.datetime:
    parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed.replace(tzinfo=None) if parsed.tzinfo is None else parsed.astimezone(dt.UTC).replace(tzinfo=None)


def ids(records):
    return sorted(r["datasetId"] for r in records)


def found(request):
    result = core.run_search(request, timeout=10)
    assert result.total == len(result.records) or result.total > request.page_size
    return sorted(r["datasetId"] for r in result.records)


def search(**fields):
    return found(core.SearchRequest.from_form({"page_size": 1000, **fields}))


# --- filters ------------------------------------------------------------------------


def test_no_filter_is_every_active_dataset(dc, search_catalogue_and_root):
    catalogue, _ = search_catalogue_and_root
    assert search() == ids(active(catalogue))
    assert len(active(catalogue)) < len(catalogue)  # the deprecated one is left out


def test_instrument(dc, search_catalogue_and_root):
    catalogue, _ = search_catalogue_and_root
    instruments = sorted({r["instrumentName"] for r in catalogue})
    assert len(instruments) >= 3
    for name in instruments:
        expected = [r for r in active(catalogue) if r["instrumentName"] == name]
        assert search(instrument=name) == ids(expected), name
        assert search(instrument=name.lower()) == ids(expected), name


def test_time_range_overlap(dc, search_catalogue_and_root):
    catalogue, _ = search_catalogue_and_root
    rec = next(r for r in active(catalogue) if r["datasetId"] == "YVl4O")
    start, end = t(rec["startTime"]), t(rec["endTime"])
    window = (start + (end - start) / 2, end + dt.timedelta(days=1, hours=1))
    expected = [r for r in active(catalogue) if t(r["endTime"]) >= window[0] and t(r["startTime"]) <= window[1]]
    assert rec in expected and len(expected) < len(active(catalogue))
    got = search(start=window[0].isoformat(), end=window[1].isoformat())
    assert got == ids(expected)
    # only a start: everything ending after it
    expected = [r for r in active(catalogue) if t(r["endTime"]) >= window[0]]
    assert search(start=window[0].isoformat()) == ids(expected)
    # only an end: everything starting before it
    expected = [r for r in active(catalogue) if t(r["startTime"]) <= window[1]]
    assert search(end=window[1].isoformat()) == ids(expected)


def test_wavelength_overlap(dc, search_catalogue_and_root):
    catalogue, _ = search_catalogue_and_root
    for lo, hi in ((850.0, 856.0), (630.2, 630.3), (1000.0, 1100.0), (1.0, 2.0)):
        expected = [r for r in active(catalogue) if r["wavelengthMin"] <= hi and lo <= r["wavelengthMax"]]
        assert search(wavelength_min_nm=lo, wavelength_max_nm=hi) == ids(expected), (lo, hi)
    expected = [r for r in active(catalogue) if r["wavelengthMax"] >= 1000]
    assert expected and search(wavelength_min_nm="1000") == ids(expected)


def test_embargoed_and_all_stokes(dc, search_catalogue_and_root):
    catalogue, _ = search_catalogue_and_root
    for flag, text in ((True, "yes"), (False, "no")):
        expected = [r for r in active(catalogue) if bool(r["isEmbargoed"]) is flag]
        assert expected
        assert search(embargoed=text) == ids(expected)
        expected = [r for r in active(catalogue) if bool(r.get("hasAllStokes")) is flag]
        assert expected
        assert search(all_stokes=flag) == ids(expected)


def test_r0_range_is_sent_in_metres_issue_613(dc, search_catalogue_and_root):
    """r0 in cm in the form; the API holds metres; dkist 1.18 would send cm (issue 613)."""
    catalogue, _ = search_catalogue_and_root
    request = core.SearchRequest.from_form({"r0_min_cm": "5", "r0_max_cm": "10", "page_size": 1000})
    params = core.query_parameters(request)
    assert params["qualityAverageFriedParameterMin"] == pytest.approx(0.05)
    assert params["qualityAverageFriedParameterMax"] == pytest.approx(0.10)
    result = core.run_search(request, timeout=10)
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(result.url).query)
    assert [float(v) for v in query["qualityAverageFriedParameterMin"]] == pytest.approx([0.05])
    expected = [
        r
        for r in active(catalogue)
        if r.get("qualityAverageFriedParameter") is not None and 0.05 <= r["qualityAverageFriedParameter"] <= 0.10
    ]
    assert 2 <= len(expected) < len(active(catalogue))
    assert "S0021" in ids(expected)  # exactly 10 cm: inclusive
    assert sorted(r["datasetId"] for r in result.records) == ids(expected)
    # the shown code says why the numbers look like metres
    code = core.fido_code(request)
    assert "a.dkist.FriedParameter(0.05 * u.cm, 0.1 * u.cm)" in code and "613" in code
    # ... and that code, run through dkist, asks exactly the same
    from dkist.net.client import DKISTClient

    assert sorted(DKISTClient().search(*request.attrs())["Dataset ID"]) == ids(expected)
    # one-sided: min only / max only; datasets without r0 never match a range
    expected = [r for r in active(catalogue) if (r.get("qualityAverageFriedParameter") or -1) >= 0.1]
    assert search(r0_min_cm=10) == ids(expected)
    expected = [
        r
        for r in active(catalogue)
        if r.get("qualityAverageFriedParameter") is not None and r["qualityAverageFriedParameter"] <= 0.06
    ]
    assert search(r0_max_cm=6) == ids(expected)


def test_r0_typed_in_the_display_unit_and_the_shown_code_gives_the_right_answer(dc, search_catalogue_and_root):
    """Issue 14.4: the form's r0 is typed in core.units' display unit (whatever it is);
    the shown code is what a user would write, and run as shown it finds what the
    panel finds (a workaround for dkist issue 613 carries a comment line saying why)."""
    catalogue, _ = search_catalogue_and_root
    lo_m, hi_m = 0.05, 0.10
    typed = {"r0_min": f"{r0_to_display(lo_m):g}", "r0_max": f"{r0_to_display(hi_m):g}"}
    request = core.SearchRequest.from_form({**typed, "page_size": 1000})
    assert request.r0_min_m == pytest.approx(r0_from_display(float(typed["r0_min"])))
    params = core.query_parameters(request)
    assert float(params["qualityAverageFriedParameterMin"]) == pytest.approx(lo_m)
    assert float(params["qualityAverageFriedParameterMax"]) == pytest.approx(hi_m)
    expected = [
        r
        for r in active(catalogue)
        if r.get("qualityAverageFriedParameter") is not None and lo_m <= r["qualityAverageFriedParameter"] <= hi_m
    ]
    assert found(request) == ids(expected)
    code = core.fido_code(request)
    namespace: dict = {}
    exec(code, namespace)
    assert sorted(namespace["res"][0]["Dataset ID"]) == ids(expected)
    fried = [line for line in code.splitlines() if "FriedParameter" in line]
    assert len(fried) == 1
    if core.dkist_sends_fried_in_cm():
        comment = code.splitlines()[code.splitlines().index(fried[0]) - 1]
        assert comment.strip().startswith("#") and "613" in comment
        assert f"{typed['r0_min']}-{typed['r0_max']} {R0_DISPLAY_UNIT}" in comment
    else:
        assert f"{typed['r0_min']} * u.{R0_DISPLAY_UNIT}" in fried[0]


def test_dkist_sends_cm_detection_matches_this_dkist():
    import astropy.units as u
    from dkist.net.attr_walker import walker
    from sunpy.net import attrs as a

    sent = walker.create(a.dkist.FriedParameter(7 * u.cm, 8 * u.cm))[0]["qualityAverageFriedParameterMin"]
    assert core.dkist_sends_fried_in_cm() is (sent == pytest.approx(7.0))


def test_dataset_ids_proposal_target(dc, search_catalogue_and_root):
    catalogue, _ = search_catalogue_and_root
    some = [r["datasetId"] for r in active(catalogue) if r["datasetId"] != HOSTILE_ID][:3]
    assert search(dataset_ids=", ".join(some)) == sorted(some)
    assert search(dataset_ids=some[0]) == [some[0]]
    for proposal in sorted({r["primaryProposalId"] for r in catalogue}):
        expected = [r for r in active(catalogue) if r["primaryProposalId"] == proposal]
        assert search(proposal_id=proposal) == ids(expected), proposal
    for target in sorted({x for r in active(catalogue) for x in r.get("targetTypes") or []}):
        expected = [r for r in active(catalogue) if target in (r.get("targetTypes") or [])]
        assert search(target_type=target) == ids(expected), target


def test_combined_filters_match_dkist_client(dc, search_catalogue_and_root):
    from dkist.net.client import DKISTClient

    catalogue, _ = search_catalogue_and_root
    request = core.SearchRequest.from_form(
        {"instrument": "VISP", "embargoed": "no", "r0_min_cm": "4", "page_size": 1000}
    )
    expected = [
        r
        for r in active(catalogue)
        if r["instrumentName"] == "VISP"
        and not r["isEmbargoed"]
        and (r.get("qualityAverageFriedParameter") or -1) >= 0.04
    ]
    assert len(expected) >= 3
    assert found(request) == ids(expected)
    table = DKISTClient().search(*request.attrs())
    assert sorted(table["Dataset ID"]) == ids(expected)
    # and the SearchResult's own dkist table agrees
    assert sorted(core.run_search(request).table()["Dataset ID"]) == ids(expected)


def test_paging_total_vs_shown(dc, search_catalogue_and_root):
    catalogue, _ = search_catalogue_and_root
    expected = [r["datasetId"] for r in active(catalogue)]  # catalogue order
    request = core.SearchRequest(page_size=3)
    seen = []
    first = core.run_search(request)
    assert first.total == len(expected) and first.n_pages == -(-len(expected) // 3)
    for page in range(1, first.n_pages + 1):
        result = core.run_search(request.with_page(page))
        assert result.total == len(expected)
        assert result.shown == len(result.records) <= 3
        assert result.first_index == (page - 1) * 3
        seen += [r["datasetId"] for r in result.records]
    assert seen == expected
    assert f"of {len(expected):,} datasets (page 1 of {first.n_pages})" in first.summary()


def test_empty_result(dc):
    result = core.run_search(core.SearchRequest(dataset_ids=("NO_SUCH",)))
    assert result.total == 0 and result.records == [] and result.rows == [] and result.columns == []
    assert result.summary() == "No dataset matches."
    with pytest.raises(KeyError):
        result.table()["Dataset ID"]  # dkist's empty table has no columns


def test_rows_carry_dkist_column_names(dc, search_catalogue_and_root):
    catalogue, _ = search_catalogue_and_root
    rec = next(r for r in active(catalogue) if r["datasetId"] == "YVl4O")
    result = core.run_search(core.SearchRequest(dataset_ids=("YVl4O",)))
    (row,) = result.rows
    for column in core.DEFAULT_COLUMNS:
        assert column in result.columns
    assert row["Dataset ID"] == "YVl4O"
    assert row["Average Fried Parameter"] == rec["qualityAverageFriedParameter"]
    assert row["Primary Proposal ID"] == rec["primaryProposalId"]
    assert row["Wavelength Min"] == rec["wavelengthMin"]
    assert row["Wavelength"] == f"{rec['wavelengthMin']:.2f}-{rec['wavelengthMax']:.2f}"
    assert row["Target Types"] == ", ".join(rec["targetTypes"])
    # the dkist table's columns are all there (its Wavelength pair is split in two)
    table = result.table()
    assert set(table.colnames) - {"Wavelength"} <= set(result.columns)


def test_records_from_fido_table(dc, search_catalogue_and_root):
    from sunpy.net import Fido
    from sunpy.net import attrs as a

    catalogue, _ = search_catalogue_and_root
    res = Fido.search(a.Instrument("VISP"), a.dkist.Embargoed(False))
    records = core.records_from_table(res[0])
    by_id = {r["datasetId"]: r for r in catalogue}
    assert sorted(r["datasetId"] for r in records) == ids(
        [r for r in active(catalogue) if r["instrumentName"] == "VISP" and not r["isEmbargoed"]]
    )
    for record in records:
        original = by_id[record["datasetId"]]
        assert record["wavelengthMin"] == pytest.approx(original["wavelengthMin"])
        assert record["primaryProposalId"] == original["primaryProposalId"]
        r0 = original.get("qualityAverageFriedParameter")
        assert record["qualityAverageFriedParameter"] == (pytest.approx(r0) if r0 is not None else None)
        assert t(record["startTime"]) == t(original["startTime"])


# --- validation ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields, fragment",
    [
        ({"start": "2023-02-01", "end": "2023-01-01"}, "is before the start"),
        ({"start": "yesterday"}, "is not a date/time"),
        ({"wavelength_min_nm": "700", "wavelength_max_nm": "600"}, "wavelength: the minimum (700)"),
        ({"r0_min_cm": "9", "r0_max_cm": "3"}, f"r0: the minimum ({r0_to_display(0.09):g})"),
        (
            {"r0_min": f"{r0_to_display(0.09):g}", "r0_max": f"{r0_to_display(0.03):g}"},
            f"r0: the minimum ({r0_to_display(0.09):g}) is larger than the maximum ({r0_to_display(0.03):g} {R0_DISPLAY_UNIT})",
        ),
        ({"r0_min_cm": "-1"}, "at least 0"),
        ({"r0_max_cm": "ten"}, "'ten' is not a number"),
        ({"instrument": "HMI"}, "unknown instrument 'HMI'"),
        ({"embargoed": "maybe"}, "must be yes, no or any"),
        ({"page_size": "5000"}, "between 1 and 1000"),
        ({"dataset_ids": "AB/CD"}, "holds characters"),
        ({"colour": "red"}, "unknown field"),
    ],
)
def test_bad_input_gets_a_clear_message(fields, fragment):
    with pytest.raises(core.SearchInputError) as info:
        core.SearchRequest.from_form(fields)
    assert any(fragment in p for p in info.value.problems), info.value.problems


def test_all_problems_are_listed_at_once():
    with pytest.raises(core.SearchInputError) as info:
        core.SearchRequest.from_form(
            {"start": "2023-02-01", "end": "2023-01-01", "r0_min_cm": "x", "instrument": "HMI"}
        )
    assert len(info.value.problems) == 3


def test_target_type_checked_against_choices():
    choices = core.FormChoices(target_types=("sunspot", "quietsun"))
    with pytest.raises(core.SearchInputError, match="unknown target type 'flare'"):
        core.SearchRequest.from_form({"target_type": "flare"}, choices)
    assert core.SearchRequest.from_form({"target_type": "Sunspot"}, choices).target_type == "Sunspot"


def test_form_choices_from_search_values(dc, search_catalogue_and_root):
    catalogue, _ = search_catalogue_and_root
    choices = core.FormChoices.from_search_values(core.fetch_search_values(timeout=5))
    assert set(choices.instruments) == {r["instrumentName"] for r in catalogue}
    assert set(choices.target_types) == {x for r in catalogue for x in r.get("targetTypes") or []}
    r0 = [r["qualityAverageFriedParameter"] for r in catalogue if r.get("qualityAverageFriedParameter") is not None]
    assert choices.r0_range_cm == (round(min(r0) * 100, 2), round(min(max(r0) * 100, 30), 2))
    assert t(choices.time_range[0]) == min(t(r["startTime"]) for r in catalogue)
    assert t(choices.time_range[1]) == max(t(r["endTime"]) for r in catalogue)
    # the real API's absurd r0 maximum is capped
    doc = {
        "parameterValues": [
            {"parameterName": "qualityAverageFriedParameterMin", "values": {"minValue": 0.0155, "maxValue": 2.65e30}}
        ]
    }
    assert core.FormChoices.from_search_values(doc).r0_range_cm == (1.55, 30.0)


def test_fido_code_is_runnable_and_dkist_only(dc, search_catalogue_and_root):
    catalogue, _ = search_catalogue_and_root
    request = core.SearchRequest.from_form(
        {
            "instrument": "VISP",
            "start": "2021-09-01",
            "end": "2021-10-01",
            "r0_min_cm": "4",
            "r0_max_cm": "8",
            "page_size": 50,
        }
    )
    code = core.fido_code(request)
    namespace: dict = {}
    exec(code, namespace)
    res = namespace["res"]
    assert len(res) == 1  # only the DKIST client was asked (no VSO)
    assert sorted(res[0]["Dataset ID"]) == found(request)


# --- faults ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind, fragment",
    [
        ("500", "HTTP 500"),
        ("garbage", "is not JSON"),
        ("drop", "connection"),
    ],
)
def test_search_faults_give_messages(dc, kind, fragment):
    dc.inject_fault(kind, count=1, routes=["search"])
    with pytest.raises(core.SearchFailed) as info:
        core.run_search(core.SearchRequest(), timeout=5)
    assert fragment in str(info.value)
    assert core.run_search(core.SearchRequest(), timeout=5).total > 0  # next one is fine


def test_slow_search_times_out(dc):
    dc.inject_fault("slow", count=1, delay=4, routes=["search"])
    started = time.perf_counter()
    with pytest.raises(core.SearchFailed, match="No answer from the data centre within 0.5 s"):
        core.run_search(core.SearchRequest(), timeout=0.5)
    assert time.perf_counter() - started < 2.5


def test_service_down(dc):
    from tests.helpers.ports import free_port

    port = free_port()  # nothing listens there
    with pytest.raises(core.SearchFailed, match="Cannot reach the data centre at http://127.0.0.1"):
        core.run_search(core.SearchRequest(), timeout=2, dataset_endpoint=f"http://127.0.0.1:{port}/datasets/")


def test_background_job_watchdog_and_cancel():
    gate = threading.Event()
    errors, results = [], []
    job = core.BackgroundJob(
        lambda cancel: gate.wait(10) or "late", on_done=results.append, on_error=errors.append, timeout=0.3
    ).start()
    assert job.wait(2)
    assert isinstance(errors[0], core.SearchFailed) and "0.3 s" in str(errors[0])
    assert job.cancel_event.is_set()
    gate.set()
    time.sleep(0.1)
    assert results == []  # the late answer is dropped

    job = core.BackgroundJob(lambda cancel: cancel.wait(10), on_done=results.append, on_error=errors.append)
    job.start()
    job.cancel()
    assert job.wait(1) and isinstance(errors[-1], core.Cancelled)

    job = core.BackgroundJob(lambda cancel: 42, on_done=results.append).start()
    assert job.wait(2) and results == [42]


# --- path templates and downloads ----------------------------------------------------


@pytest.mark.parametrize(
    "template, fragment",
    [
        ("~/data/{datasetid}/", "unknown path template key {datasetid}"),
        ("~/data/../{dataset_id}/", "may not contain '..'"),
        ("/tmp/{dataset_id}/..", "may not contain '..'"),
        ("~/data/{dataset_id.upper}/", "only plain keys"),
        ("~/data/{dataset_id!r}/", "only plain keys"),
        ("~/data/{}/", "empty {}"),
        ("~/data/{dataset_id", "malformed"),
        ("", "empty"),
    ],
)
def test_path_template_validation(template, fragment):
    with pytest.raises(ValueError, match=None) as info:
        core.PathTemplate(template)
    assert fragment in str(info.value)


def test_path_template_values(tmp_path):
    template = core.PathTemplate(str(tmp_path / "{instrument}" / "{primary_proposal_id}" / "{dataset_id}/"))
    record = {"datasetId": "ABCDE", "instrumentName": "VISP", "primaryProposalId": "pid_1_2"}
    assert template.path_for(record, "x.asdf") == tmp_path / "VISP" / "pid_1_2" / "ABCDE" / "x.asdf"
    assert (
        core.PathTemplate("~/sunpy/data/{dataset_id}/").folder_for(record) == Path.home() / "sunpy" / "data" / "ABCDE"
    )
    with pytest.raises(ValueError, match="cannot be used in a path"):
        template.path_for({**record, "datasetId": ".."}, "x.asdf")
    with pytest.raises(ValueError, match="cannot be used in a path"):
        template.path_for({**record, "instrumentName": "a/b"}, "x.asdf")
    with pytest.raises(ValueError, match="has no value for {primary_proposal_id}"):
        template.path_for({"datasetId": "ABCDE", "instrumentName": "VISP"}, "x.asdf")
    named = core.PathTemplate(str(tmp_path / "{dataset_id}_{file}"))
    assert named.path_for(record, "x.asdf") == tmp_path / "ABCDE_x.asdf"


def _with_files(catalogue, root):
    return [r for r in active(catalogue) if (root / r["bucket"] / r["asdfObjectKey"]).is_file()]


def test_fetch_writes_what_fido_fetch_writes(dc, search_catalogue_and_root, tmp_path):
    from sunpy.net import Fido
    from sunpy.net import attrs as a

    catalogue, root = search_catalogue_and_root
    records = _with_files(catalogue, root)
    assert len(records) >= 2
    calls = []
    outcomes = core.fetch_asdfs(
        records, str(tmp_path / "ours" / "{dataset_id}/"), progress=lambda *args: calls.append(args)
    )
    assert all(o.error is None for o in outcomes), outcomes
    res = Fido.search(a.dkist.Dataset([r["datasetId"] for r in records]))
    fido = Fido.fetch(res, path=str(tmp_path / "fido" / "{dataset_id}"), progress=False)
    assert not fido.errors
    ours = sorted(o.path.relative_to(tmp_path / "ours") for o in outcomes)
    theirs = sorted(Path(f).relative_to(tmp_path / "fido") for f in fido)
    assert ours == theirs
    for outcome, record in zip(outcomes, records):
        assert outcome.path.read_bytes() == (root / record["bucket"] / record["asdfObjectKey"]).read_bytes()
    # progress: per download, bytes grow to the total
    for index, record in enumerate(records):
        mine = [c for c in calls if c[0] == index]
        assert mine[-1][2] == mine[-1][3] == (root / record["bucket"] / record["asdfObjectKey"]).stat().st_size
        assert [c[2] for c in mine] == sorted(c[2] for c in mine)
    assert not list((tmp_path / "ours").rglob("*.part"))


def test_quality_report_and_movie(dc, search_catalogue_and_root, tmp_path):
    catalogue, root = search_catalogue_and_root
    record = _with_files(catalogue, root)[0]
    pdf = core.download_product(record["datasetId"], "quality", tmp_path)
    assert pdf.read_bytes() == (root / record["bucket"] / record["qualityReportObjectKey"]).read_bytes()
    assert pdf.read_bytes()[:5] == b"%PDF-"
    mp4 = core.download_product(record["datasetId"], "movie", tmp_path)
    assert mp4.name == Path(record["browseMovieObjectKey"]).name
    assert mp4.read_bytes()[4:8] == b"ftyp"


def test_download_faults_leave_no_file(dc, search_catalogue_and_root, tmp_path):
    catalogue, root = search_catalogue_and_root
    record = _with_files(catalogue, root)[0]
    for kind, fragment in (("500", "HTTP 500"), ("drop", "connection"), ("garbage", "not the ASDF")):
        dc.inject_fault(kind, count=1, routes=["asdf"])
        with pytest.raises(core.DownloadError) as info:
            core.download_product(record["datasetId"], "asdf", tmp_path / kind, timeout=5)
        assert fragment in str(info.value).lower() or fragment in str(info.value), (kind, info.value)
        assert not (tmp_path / kind).exists() or not any((tmp_path / kind).iterdir())
    dc.inject_fault("slow", count=1, delay=4, routes=["asdf"])
    started = time.perf_counter()
    with pytest.raises(core.DownloadError, match="within 0.5 s"):
        core.download_product(record["datasetId"], "asdf", tmp_path / "slow", timeout=0.5)
    assert time.perf_counter() - started < 2.5
    # unknown dataset: 404 in one outcome, the others still fetched
    outcomes = core.fetch_asdfs([{"datasetId": "NOPE"}, record], str(tmp_path / "mixed" / "{dataset_id}/"))
    assert "HTTP 404" in outcomes[0].error and outcomes[0].path is None
    assert outcomes[1].path is not None and outcomes[1].path.is_file()


def test_cancel_download(dc, search_catalogue_and_root, tmp_path):
    catalogue, root = search_catalogue_and_root
    record = _with_files(catalogue, root)[0]
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(core.Cancelled):
        core.download_product(record["datasetId"], "asdf", tmp_path, cancel=cancel)
    assert list(tmp_path.iterdir()) == []


def test_records_from_table_keeps_list_valued_quantities():
    """A column such as "Filter Wavelengths" holds a list per row: it stays a list."""
    from astropy import units as u
    from astropy.table import Table

    from dkist_widgets.core.search import records_from_table

    table = Table(
        {
            "Dataset ID": ["A"],
            "Filter Wavelengths": u.Quantity([[630.25]], u.nm),
            "Average Fried Parameter": u.Quantity([0.05], u.m),
        }
    )
    (record,) = records_from_table(table)
    assert record["filterWavelengths"] == [630.25]
    assert record["qualityAverageFriedParameter"] == 0.05
