"""Our parsers fed recorded payloads that are not our own (issue 15.5).

Where each payload comes from:

* ``globus_sdk.testing`` (installed with globus-sdk; needs ``responses``): the
  response sets registered for ``TransferClient.task_list`` ("default": one
  SUCCEEDED task, with ``is_ok: null`` and ``nice_status: null`` as real Globus
  sends them), ``submit_transfer`` ("default" and "failure": 400
  ``ClientError.BadRequest.NoTransferItems``) and ``get_submission_id``. The real
  ``globus_sdk.TransferClient`` reads them through ``responses`` (nothing leaves
  the process), then our code reads what the client returns.
* ``dkist.net.tests.test_client`` (installed with dkist): the fixtures
  ``example_api_response`` (one search record as the data centre's API documents
  it, with ``null`` optional fields) and ``example_api_response_multiple_r0``.
  They are served from a loopback HTTP server so :func:`run_search` reads them
  through its real HTTP path; dkist's own ``DKISTQueryResponseTable`` built from
  the same JSON is the oracle.
* The sandbox's own documents are checked against the recorded ones' keys and
  types (``test_loopback_task_document_has_the_recorded_shape``).
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import globus_sdk
import pytest
import responses
from dkist.net.tests.test_client import example_api_response, example_api_response_multiple_r0  # noqa: F401
from globus_sdk.testing import get_response_set, load_response

from dkist_widgets.core.search import SearchRequest, run_search
from dkist_widgets.core.search.results import non_numbers, records_from_table
from dkist_widgets.core.transfers.progress import TaskProgress, WatchedTask, advance
from dkist_widgets.core.transfers.task_documents import task_documents


def _recorded(method, case="default"):
    return get_response_set(method).lookup(case)


# --- globus-sdk's recorded Transfer responses -------------------------------------------


@pytest.fixture(autouse=True)
def production_globus_urls(monkeypatch):
    """globus-sdk's recorded answers are registered at the production URLs: a loopback
    world started earlier in this process moved globus-sdk elsewhere by environment."""
    for name in ("GLOBUS_SDK_SERVICE_URL_TRANSFER", "GLOBUS_SDK_SERVICE_URL_AUTH", "GLOBUS_SDK_ENVIRONMENT"):
        monkeypatch.delenv(name, raising=False)


@responses.activate
def test_recorded_task_list_reads_as_a_finished_task():
    recorded = _recorded(globus_sdk.TransferClient.task_list).json["DATA"][0]
    load_response(globus_sdk.TransferClient.task_list)
    tc = globus_sdk.TransferClient(authorizer=globus_sdk.NullAuthorizer())
    docs = task_documents(tc.task_list(filter={"task_id": [recorded["task_id"]]}))
    assert [d["task_id"] for d in docs] == [recorded["task_id"]]
    w = WatchedTask(
        TaskProgress(
            task_id=recorded["task_id"], files_total=recorded["files"], bytes_total=recorded["bytes_transferred"]
        )
    )
    p = advance(w, docs[0], time.monotonic())
    assert p.status == recorded["status"] == "SUCCEEDED"
    assert p.done and p.succeeded and not p.cancelled and p.words == "done"
    assert p.files_done == recorded["files_transferred"] + recorded["files_skipped"]
    assert p.bytes_done == recorded["bytes_transferred"]
    assert p.fraction == 1.0 and p.completion_time == recorded["completion_time"]
    assert not p.in_trouble


@responses.activate
def test_recorded_submit_answers():
    from dkist_widgets.core.transfers.task_documents import answer_shape

    load_response(globus_sdk.TransferClient.get_submission_id)
    load_response(globus_sdk.TransferClient.submit_transfer)
    tc = globus_sdk.TransferClient(authorizer=globus_sdk.NullAuthorizer())
    sub = tc.get_submission_id()
    assert (
        answer_shape(sub) is None
        and sub["value"] == _recorded(globus_sdk.TransferClient.get_submission_id).json["value"]
    )
    tdata = globus_sdk.TransferData(source_endpoint="a", destination_endpoint="b")
    tdata.add_item("/x", "/y")
    resp = tc.submit_transfer(tdata)
    assert answer_shape(resp) is None
    assert resp["task_id"] == _recorded(globus_sdk.TransferClient.submit_transfer).json["task_id"]


@responses.activate
def test_recorded_submit_failure_is_an_api_error():
    load_response(globus_sdk.TransferClient.get_submission_id)  # submit asks for one first
    load_response(globus_sdk.TransferClient.submit_transfer, case="failure")
    tc = globus_sdk.TransferClient(authorizer=globus_sdk.NullAuthorizer())
    with pytest.raises(globus_sdk.TransferAPIError) as info:
        tc.submit_transfer(globus_sdk.TransferData(source_endpoint="a", destination_endpoint="b"))
    recorded = _recorded(globus_sdk.TransferClient.submit_transfer, "failure")
    assert info.value.http_status == recorded.status and info.value.code == recorded.json["code"]


def test_loopback_task_document_has_the_recorded_shape(tmp_path):
    """Every key of the recorded task document that our parsers read exists in the
    loopback's document with the same JSON type (or null where the recording has null)."""
    from dkist_widgets.core.transfers.task_documents import COUNT_FIELDS
    from dkist_widgets.sandbox.globus_service import LoopbackGlobus

    recorded = _recorded(globus_sdk.TransferClient.task_list).json["DATA"][0]
    src, dst = tmp_path / "src", tmp_path / "dst"
    src.mkdir()
    dst.mkdir()
    (src / "a.fits").write_bytes(b"x" * 100)
    svc = LoopbackGlobus({"s" * 8: ("S", src, False), "d" * 8: ("D", dst, True)}, rate_bytes_per_s=None).start()
    try:
        tc = globus_sdk.TransferClient(base_url=svc.url, authorizer=globus_sdk.NullAuthorizer())
        tdata = globus_sdk.TransferData(source_endpoint="s" * 8, destination_endpoint="d" * 8)
        tdata.add_item("/a.fits", "/a.fits")
        task_id = tc.submit_transfer(tdata)["task_id"]
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            ours = task_documents(tc.task_list(filter={"task_id": [task_id]}))[0]
            if ours["status"] == "SUCCEEDED":
                break
            time.sleep(0.05)
    finally:
        svc.stop()
    read = (
        *COUNT_FIELDS,
        "task_id",
        "status",
        "nice_status",
        "is_ok",
        "is_paused",
        "fatal_error",
        "effective_bytes_per_second",
        "request_time",
        "completion_time",
        "label",
    )
    for key in read:
        assert key in ours, key
        if recorded[key] is not None and ours[key] is not None:
            assert type(ours[key]) is type(recorded[key]), key


# --- dkist's recorded search answers ---------------------------------------------------


class _Payload(BaseHTTPRequestHandler):
    body = b""

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


@pytest.fixture
def serve():
    servers = []

    def start(document) -> str:
        handler = type("H", (_Payload,), {"body": json.dumps(document).encode()})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/datasets/"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("payload", ["example_api_response", "example_api_response_multiple_r0"])
def test_dkist_recorded_search_answer(payload, request, serve):
    from dkist.net.client import DKISTClient, DKISTQueryResponseTable

    document = request.getfixturevalue(payload)
    result = run_search(SearchRequest(), timeout=5, dataset_endpoint=serve(document))
    records = document["searchResults"]
    assert result.total == document["recordCount"] and result.shown == len(records)
    assert non_numbers(result.records) == 0  # the documented shape has no damaged numbers
    assert "should be numbers" not in result.summary()
    theirs = DKISTQueryResponseTable.from_results([document], client=DKISTClient())
    rows = result.rows
    assert [r["Dataset ID"] for r in rows] == list(theirs["Dataset ID"])
    r0 = [r["Average Fried Parameter"] for r in rows]
    expected = [
        float("nan") if rec["qualityAverageFriedParameter"] is None else rec["qualityAverageFriedParameter"]
        for rec in records
    ]
    assert [x if x == x else "nan" for x in r0] == [x if x == x else "nan" for x in expected]
    for row, rec in zip(rows, records, strict=True):
        assert row["Instrument"] == rec["instrumentName"]
        assert row["Wavelength"] == f"{rec['wavelengthMin']:.2f}-{rec['wavelengthMax']:.2f}"
    # our records -> dkist's table -> records again: same ids and sizes as dkist's own table
    back = records_from_table(result.table())
    assert [b["datasetId"] for b in back] == list(theirs["Dataset ID"])
