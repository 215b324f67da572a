"""Answers of the wrong shape from Globus and the data centre (issue 15.4).

The real ``globus_sdk.TransferClient`` drives the loopback Globus, which answers 200
with an HTML page, an empty body, JSON cut in half, or documents whose numbers are
null or strings (``malformed`` fault). Oracles: the watcher's one-sentence
``problem``, the absence of tracebacks in the log and on stderr, and the files on
disk once the service answers properly again.
"""

from __future__ import annotations

import logging
import time

import pytest

from dkist_widgets.core import search as core
from dkist_widgets.sandbox.globus_service import MALFORMED_SHAPES
from tests.core import test_transfers
from tests.core.test_transfers import DATASET, INVENTORY, PROPOSAL, dest_folder, make_watcher, sha

# fixtures used by name (assigned, not imported, so they read as used)
archive, dest, globus, session, store, watchers = (
    test_transfers.archive,
    test_transfers.dest,
    test_transfers.globus,
    test_transfers.session,
    test_transfers.store,
    test_transfers.watchers,
)

pytestmark = pytest.mark.timeout(90)


def _one_sentence(text: str) -> bool:
    return bool(text) and "\n" not in text and "Traceback" not in text and text.endswith(".")


@pytest.mark.parametrize("shape", MALFORMED_SHAPES)
def test_watcher_says_one_sentence_and_recovers(shape, session, store, watchers, globus, dest, archive, caplog):
    watcher = make_watcher(watchers, session, store, autostart=False)
    task_id = watcher.start_transfer(session.plan_files(INVENTORY, ["f1.fits", "f2.fits"]))
    globus.inject("malformed", shape=shape, count=3, route="task_list")
    before = watcher.progress(task_id)
    with caplog.at_level(logging.DEBUG):
        for _ in range(3):
            interval = watcher.poll_once()  # never raises
            assert interval is not None and interval > 0
            assert _one_sentence(watcher.problem), watcher.problem
            assert watcher.progress(task_id).files_done == before.files_done  # no made-up figures
    assert not [r for r in caplog.records if r.exc_info], "no traceback for a malformed answer"
    assert globus.request_counts["task_list"] >= 3
    for _ in range(100):
        watcher.poll_once()
        if watcher.progress(task_id).done:
            break
        time.sleep(0.05)
    p = watcher.progress(task_id)
    assert p.succeeded and watcher.problem == ""
    assert p.files_done == 2
    assert sha(dest_folder(dest) / "f2.fits") == sha(archive / "data" / PROPOSAL / DATASET / "f2.fits")


def test_watcher_thread_writes_no_traceback_per_tick(session, store, watchers, globus, dest, capfd, caplog):
    globus.inject("malformed", shape="html", count=None, route="task_list")
    watcher = make_watcher(watchers, session, store, active_interval=0.05, waiting_interval=0.05, max_interval=0.1)
    task_id = watcher.start_transfer(session.plan_files(INVENTORY, ["f3.fits"]))
    deadline = time.monotonic() + 10
    while watcher.ticks < 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert watcher.ticks >= 5
    assert "web page" in watcher.problem and _one_sentence(watcher.problem)
    globus.faults.clear()
    p = watcher.wait(task_id, timeout=20)
    assert p.succeeded and (dest_folder(dest) / "f3.fits").exists()
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err
    assert not [r for r in caplog.records if r.exc_info]


def test_loopback_malformed_shapes_reach_the_real_client(globus):
    """The fault really changes what globus_sdk receives (oracle for the tests above)."""
    import globus_sdk

    tc = globus_sdk.TransferClient(base_url=globus.url, authorizer=globus_sdk.NullAuthorizer())
    assert tc.get_submission_id().data["value"]
    globus.inject("malformed", shape="html", count=1)
    resp = tc.get_submission_id()
    assert resp.http_status == 200 and resp.data is None and resp.text.lstrip().startswith("<!DOCTYPE html>")
    globus.inject("malformed", shape="truncated", count=1)
    assert tc.get_submission_id().data is None
    globus.inject("malformed", shape="empty", count=1)
    assert tc.get_submission_id().text == ""
    globus.inject("malformed", shape="nulls", count=1, route="endpoint")
    doc = tc.get_endpoint(next(iter(globus.endpoints))).data
    assert doc["DATA_TYPE"] == "endpoint" and all(
        not isinstance(v, (int, float)) or isinstance(v, bool) for v in doc.values()
    )
    with pytest.raises(ValueError):
        globus.inject("malformed", shape="xml")


# --- the data centre ------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind, fragment",
    [
        ("garbage", "web page"),
        ("empty", "empty page"),
        ("truncated", "not JSON"),
    ],
)
def test_search_answer_that_is_not_json_is_one_sentence(dc, kind, fragment):
    dc.inject_fault(kind, count=1, routes=["search"])
    with pytest.raises(core.SearchFailed) as info:
        core.run_search(core.SearchRequest(), timeout=5)
    message = str(info.value)
    assert fragment in message and _one_sentence(message.split("; ")[0] + ".")
    assert "\n" not in message
    assert core.run_search(core.SearchRequest(), timeout=5).total > 0  # the next one is fine


@pytest.mark.parametrize("kind", ["nulls", "wrong_types"])
def test_search_numbers_of_the_wrong_type_are_blank_not_a_crash(dc, kind):
    good = core.run_search(core.SearchRequest(), timeout=5)
    dc.inject_fault(kind, count=1, routes=["search"])
    bad = core.run_search(core.SearchRequest(), timeout=5)
    # the same datasets, in the same order (the oracle is the good answer)
    assert [r["datasetId"] for r in bad.records] == [r["datasetId"] for r in good.records]
    assert bad.total == len(bad.records)  # recordCount was not a number: fall back to what arrived
    rows, columns = bad.rows, bad.columns
    assert len(rows) == len(good.rows)
    for name in ("Average Fried Parameter", "Dataset Size", "Frame Count"):
        if name in columns:
            assert all(isinstance(r[name], float) and r[name] != r[name] for r in rows), name  # NaN
    summary = bad.summary()
    assert "\n" not in summary
    if kind == "wrong_types":
        n = core.results.non_numbers(bad.records)
        assert n > 0 and f"{n:,} values that should be numbers were not" in summary
    else:
        assert "should be numbers" not in summary


@pytest.mark.parametrize("kind", ["garbage", "empty", "truncated", "nulls", "wrong_types"])
def test_form_choices_survive_a_malformed_search_values(dc, kind):
    dc.inject_fault(kind, count=1, routes=["searchValues"])
    choices, problem = core.load_form_choices(timeout=5)
    assert choices.instruments  # the form still has its choices
    if kind in ("garbage", "empty", "truncated"):
        assert problem and "\n" not in problem and "using dkist's stored ones" in problem
