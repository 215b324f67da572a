"""The loopback Globus Transfer API, driven by the real ``globus_sdk.TransferClient``.

Oracles are the files on disk (hashes, sizes, listings) and the SDK's own parsing of
the answers; the service is only ever reached over HTTP.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import globus_sdk
import pytest

from dkist_widgets.sandbox import endpoints as sandbox_endpoints
from dkist_widgets.sandbox.globus_service import LoopbackGlobus, SandboxGlobusAdmin

SRC = "5d1c0e2a-0000-4000-8000-00000000000a"
DST = "5d1c0e2a-0000-4000-8000-00000000000b"
RO = "5d1c0e2a-0000-4000-8000-00000000000c"

pytestmark = pytest.mark.timeout(60)


# ---------------------------------------------------------------------- helpers
def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tree(root: Path) -> dict[str, str]:
    """Relative posix path -> sha256 for every file under root."""
    return {p.relative_to(root).as_posix(): sha(p) for p in sorted(root.rglob("*")) if p.is_file()}


def leftovers(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.endswith(".partial")]


def wait_task(tc, task_id, until=lambda t: t["status"] != "ACTIVE", timeout=15.0, poll=0.02):
    end = time.monotonic() + timeout
    while True:
        task = tc.get_task(task_id)
        if until(task):
            return task
        if time.monotonic() > end:
            raise AssertionError(f"task {task_id} never reached the condition: {task.data}")
        time.sleep(poll)


def submit(tc, *items, src=SRC, dst=DST, **kwargs):
    td = globus_sdk.TransferData(src, dst, **kwargs)
    for item in items:
        source, dest, *rec = item
        td.add_item(source, dest, **({"recursive": rec[0]} if rec else {}))
    return tc.submit_transfer(td)["task_id"]


# ---------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def source_tree(tmp_path_factory) -> Path:
    """A couple of MB of random bytes in nested folders."""
    root = tmp_path_factory.mktemp("globus-src")
    rng = __import__("random").Random(1234)
    layout = {
        "data/pid_1_123/ABCDE/a.fits": 700_000,
        "data/pid_1_123/ABCDE/b.fits": 500_000,
        "data/pid_1_123/ABCDE/sub/c.fits": 300_000,
        "data/pid_1_123/ABCDE/sub/deeper/d.fits": 120_000,
        "data/pid_1_123/ABCDE/e.asdf": 45_000,
        "data/pid_2_9/XYZ/big.fits": 600_000,
    }
    for rel, size in layout.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(rng.randbytes(size))
    (root / "data/pid_1_123/ABCDE/empty-folder").mkdir()
    return root


@pytest.fixture
def dest_root(tmp_path) -> Path:
    root = tmp_path / "dest"
    root.mkdir()
    return root


@pytest.fixture
def service(source_tree, dest_root, tmp_path):
    ro_root = tmp_path / "readonly"
    ro_root.mkdir()
    svc = LoopbackGlobus(
        {
            SRC: ("DKIST Data Transfer (test)", source_tree, False),
            DST: ("My laptop (test GCP)", dest_root),
            RO: ("Read-only archive mirror", ro_root, False),
        },
        rate_bytes_per_s=None,
        fault_retry_interval=0.1,
        progress_event_interval=0.2,
    ).start()
    yield svc
    svc.stop()


@pytest.fixture
def tc(service):
    client = globus_sdk.TransferClient(base_url=service.url, authorizer=globus_sdk.NullAuthorizer())
    client.retry_config.max_sleep = 0.05  # keep 5xx retries quick; Retry-After tests raise it
    return client


# ---------------------------------------------------------------------- copying
def test_recursive_and_file_items_copy_identical_bytes(tc, service, source_tree, dest_root):
    task_id = submit(
        tc,
        ("/data/pid_1_123/ABCDE", "/~/ABCDE", True),
        ("/data/pid_2_9/XYZ/big.fits", "/single/big.fits"),
        label="copy test",
    )
    task = wait_task(tc, task_id)
    assert task["status"] == "SUCCEEDED"
    src_dir = source_tree / "data/pid_1_123/ABCDE"
    assert tree(dest_root / "ABCDE") == tree(src_dir)
    assert sha(dest_root / "single/big.fits") == sha(source_tree / "data/pid_2_9/XYZ/big.fits")
    assert (dest_root / "ABCDE/empty-folder").is_dir()
    expected_files = [p for p in src_dir.rglob("*") if p.is_file()] + [source_tree / "data/pid_2_9/XYZ/big.fits"]
    assert task["files"] == task["files_transferred"] == len(expected_files) == 6
    assert task["bytes_transferred"] == sum(p.stat().st_size for p in expected_files)
    assert task["directories"] == 4  # ABCDE, sub, sub/deeper, empty-folder
    assert task["files_skipped"] == 0 and task["faults"] == 0
    assert task["label"] == "copy test" and task["type"] == "TRANSFER"
    assert task["source_endpoint_id"] == SRC and task["destination_endpoint_id"] == DST
    assert task["nice_status"] is None and task["fatal_error"] is None
    assert task["completion_time"] >= task["request_time"]
    assert task["subtasks_succeeded"] == 6 and task["subtasks_pending"] == 0
    assert not leftovers(dest_root)

    ok = list(tc.task_successful_transfers(task_id))
    assert sorted(r["destination_path"] for r in ok) == sorted(
        ["/~/ABCDE/" + p.relative_to(src_dir).as_posix() for p in expected_files[:-1]] + ["/single/big.fits"]
    )
    assert {r["source_path"] for r in ok} >= {"/data/pid_1_123/ABCDE/sub/deeper/d.fits", "/data/pid_2_9/XYZ/big.fits"}
    events = list(tc.task_event_list(task_id))
    assert [e["code"] for e in events][0] == "SUCCEEDED"  # newest first
    assert "STARTED" in [e["code"] for e in events]
    assert all(e["DATA_TYPE"] == "event" and not e["is_error"] for e in events)


def test_checksum_sync_skips_identical_files_then_copies_changed_one(tc, source_tree, dest_root):
    item = ("/data/pid_1_123/ABCDE", "/ABCDE", True)
    first = wait_task(tc, submit(tc, item, sync_level="checksum", verify_checksum=True))
    assert first["files_transferred"] == 5 and first["bytes_checksummed"] > 0

    second = wait_task(tc, submit(tc, item, sync_level="checksum"))
    assert second["status"] == "SUCCEEDED"
    assert (second["files"], second["files_skipped"], second["files_transferred"], second["bytes_transferred"]) == (
        5,
        5,
        0,
        0,
    )
    assert list(tc.task_successful_transfers(second["task_id"])) == []

    victim = dest_root / "ABCDE/sub/c.fits"
    data = bytearray(victim.read_bytes())
    data[1000] ^= 0xFF  # same size, different content: only a checksum notices
    victim.write_bytes(bytes(data))
    third = wait_task(tc, submit(tc, item, sync_level="checksum"))
    assert (third["files_skipped"], third["files_transferred"]) == (4, 1)
    assert third["bytes_transferred"] == victim.stat().st_size
    assert sha(victim) == sha(source_tree / "data/pid_1_123/ABCDE/sub/c.fits")
    assert [r["destination_path"] for r in tc.task_successful_transfers(third["task_id"])] == ["/ABCDE/sub/c.fits"]


def test_exists_size_and_mtime_sync_semantics(tc, source_tree, dest_root):
    src = source_tree / "data/pid_1_123/ABCDE/e.asdf"
    dst = dest_root / "e.asdf"
    item = ("/data/pid_1_123/ABCDE/e.asdf", "/e.asdf")

    dst.write_bytes(b"short")  # different size
    assert wait_task(tc, submit(tc, item, sync_level="exists"))["files_skipped"] == 1
    assert dst.read_bytes() == b"short"
    assert wait_task(tc, submit(tc, item, sync_level="size"))["files_transferred"] == 1
    assert sha(dst) == sha(src)

    same_size_other = bytes(b ^ 0x55 for b in src.read_bytes())
    dst.write_bytes(same_size_other)
    now = time.time()
    os.utime(src, (now - 100, now - 100))
    os.utime(dst, (now, now))  # destination newer, same size
    assert wait_task(tc, submit(tc, item, sync_level="size"))["files_skipped"] == 1
    assert wait_task(tc, submit(tc, item, sync_level="mtime"))["files_skipped"] == 1
    assert dst.read_bytes() == same_size_other

    os.utime(src, (now + 50, now + 50))  # source newer
    try:
        done = wait_task(tc, submit(tc, item, sync_level="mtime", preserve_timestamp=True))
        assert done["files_transferred"] == 1
        assert sha(dst) == sha(src)
        assert int(dst.stat().st_mtime) == int(src.stat().st_mtime)
    finally:
        os.utime(src, (now, now))

    dst.write_bytes(same_size_other)
    # no sync level: always overwrite
    assert wait_task(tc, submit(tc, item))["files_transferred"] == 1
    assert sha(dst) == sha(src)


def test_verify_checksum_catches_a_corrupted_write(tc, service, source_tree, dest_root):
    item = ("/data/pid_1_123/ABCDE/b.fits", "/b.fits")
    service.inject("corrupt_write", count=1)
    task = wait_task(tc, submit(tc, item, verify_checksum=True))
    assert task["status"] == "SUCCEEDED" and task["faults"] == 1
    assert sha(dest_root / "b.fits") == sha(source_tree / "data/pid_1_123/ABCDE/b.fits")
    assert task["bytes_transferred"] == (source_tree / "data/pid_1_123/ABCDE/b.fits").stat().st_size
    codes = [e["code"] for e in tc.task_event_list(task["task_id"])]
    assert "VERIFY_CHECKSUM" in codes

    # the same fault without verification really lands corrupted bytes
    service.inject("corrupt_write", count=1)
    assert wait_task(tc, submit(tc, item))["faults"] == 0
    assert sha(dest_root / "b.fits") != sha(source_tree / "data/pid_1_123/ABCDE/b.fits")


def test_throttled_rate_and_runtime_rate_change(tc, service, source_tree, dest_root):
    service.set_rate(1_000_000)
    t0 = time.monotonic()
    task = wait_task(tc, submit(tc, ("/data/pid_1_123/ABCDE/b.fits", "/b.fits")))  # 500 kB
    elapsed = time.monotonic() - t0
    assert task["status"] == "SUCCEEDED"
    assert 0.4 < elapsed < 3.0, elapsed
    assert 100_000 < task["effective_bytes_per_second"] <= 1_300_000

    service.set_rate(100_000)  # 700 kB would take 7 s ...
    task_id = submit(tc, ("/data/pid_1_123/ABCDE/a.fits", "/a.fits"))
    wait_task(tc, task_id, until=lambda t: t["bytes_transferred"] > 0)
    t1 = time.monotonic()
    service.set_rate(None)  # ... but not once unthrottled
    task = wait_task(tc, task_id)
    assert task["status"] == "SUCCEEDED" and time.monotonic() - t1 < 2.0
    assert sha(dest_root / "a.fits") == sha(source_tree / "data/pid_1_123/ABCDE/a.fits")


def test_thousand_small_files_complete_quickly(tc, service, dest_root):
    src_root = service.endpoints[SRC].root
    target = src_root / "data/many"
    for i in range(1000):
        folder = target / f"d{i // 100:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"f{i:04d}.bin").write_bytes(i.to_bytes(4, "big") * 64)
    try:
        t0 = time.monotonic()
        task = wait_task(tc, submit(tc, ("/data/many", "/many", True)), timeout=30, poll=0.1)
        elapsed = time.monotonic() - t0
        assert task["status"] == "SUCCEEDED", task.data
        assert task["files"] == task["files_transferred"] == 1000
        assert task["bytes_transferred"] == 1000 * 256
        assert tree(dest_root / "many") == tree(target)
        # marker paging through the SDK's paginator: 100 per page
        pages = list(tc.paginated.task_successful_transfers(task["task_id"]))
        assert len(pages) == 10
        assert len({r["destination_path"] for page in pages for r in page}) == 1000
        assert elapsed < 10, elapsed
        print(f"1000-file task: {elapsed:.2f} s")
    finally:
        import shutil

        shutil.rmtree(target)


# ---------------------------------------------------------------------- cancel, queue, lists
def test_cancel_mid_file_leaves_no_partial_file(tc, service, source_tree, dest_root):
    service.set_rate(200_000)
    task_id = submit(tc, ("/data/pid_1_123/ABCDE/a.fits", "/x/a.fits"), ("/data/pid_1_123/ABCDE/b.fits", "/x/b.fits"))
    wait_task(tc, task_id, until=lambda t: t["bytes_transferred"] > 50_000)
    assert leftovers(dest_root), "a partial temporary should exist mid-file"
    answer = tc.cancel_task(task_id)
    assert answer["code"] == "Canceled" and answer["DATA_TYPE"] == "result"
    task = tc.get_task(task_id)
    assert task["status"] == "FAILED"
    assert task["fatal_error"]["code"] == "CANCELED"
    assert task["subtasks_canceled"] == 2 and task["files_transferred"] == 0
    assert task["completion_time"] is not None and task["nice_status"] is None
    assert not (dest_root / "x/a.fits").exists() and not (dest_root / "x/b.fits").exists()
    assert not leftovers(dest_root)
    assert tc.cancel_task(task_id)["code"] == "TaskComplete"
    assert "CANCELED" in [e["code"] for e in tc.task_event_list(task_id)]


def test_queueing_beyond_three_active_tasks_and_task_list_filters(tc, service, source_tree, dest_root):
    service.set_rate(100_000)
    ids = [submit(tc, ("/data/pid_1_123/ABCDE/b.fits", f"/q{i}/b.fits"), label=f"queue-{i}") for i in range(5)]
    service.reset_request_counts()

    def snapshot():
        return {t["task_id"]: t for t in tc.task_list(filter={"task_id": ids})}

    docs = snapshot()
    assert set(docs) == set(ids)
    assert all(d["status"] == "ACTIVE" for d in docs.values())
    assert [docs[i]["nice_status"] for i in ids].count("Queued") == 2
    assert sorted(d["nice_status"] for d in docs.values()) == ["OK", "OK", "OK", "Queued", "Queued"]
    assert service.request_counts == {"task_list": 1}  # one request for many tasks

    listing = tc.task_list(filter={"task_id": ids[:2]}, limit=50)
    assert {t["task_id"] for t in listing} == set(ids[:2]) and listing["total"] == 2
    assert [t["label"] for t in tc.task_list(filter={"label": "queue-3"})] == ["queue-3"]
    assert len(list(tc.task_list(filter={"label": "~QUEUE", "status": ["ACTIVE", "INACTIVE"]}))) == 5
    assert tc.task_list(filter="status:SUCCEEDED")["total"] == 0
    assert len(list(tc.task_list(limit=2))) == 2 and tc.task_list(limit=2)["total"] == 5
    with pytest.raises(globus_sdk.TransferAPIError) as err:
        tc.task_list(filter="colour:red")
    assert err.value.http_status == 400

    service.set_rate(None)
    for task_id in ids:
        assert wait_task(tc, task_id)["status"] == "SUCCEEDED"
    assert tc.task_list(filter={"status": ["SUCCEEDED"], "task_id": ids})["total"] == 5
    assert tc.task_list(filter={"status": "ACTIVE,INACTIVE"})["total"] == 0
    oldest_first = [t["task_id"] for t in tc.task_list(orderby="request_time ASC", filter={"task_id": ids})]
    assert set(oldest_first) == set(ids)
    for i in range(5):
        assert sha(dest_root / f"q{i}/b.fits") == sha(source_tree / "data/pid_1_123/ABCDE/b.fits")


def test_duplicate_submission_id_returns_the_same_task(tc):
    sid = tc.get_submission_id()["value"]
    td = globus_sdk.TransferData(SRC, DST, submission_id=sid)
    td.add_item("/data/pid_1_123/ABCDE/e.asdf", "/dup/e.asdf")
    first = tc.submit_transfer(td)
    again = tc.submit_transfer(td)
    assert first["code"] == "Accepted" and first.http_status == 202
    assert again["code"] == "Duplicate" and again["task_id"] == first["task_id"]
    wait_task(tc, first["task_id"])


# ---------------------------------------------------------------------- endpoints and ls
def test_endpoint_get_search_and_ls(tc, service, source_tree):
    ep = tc.get_endpoint(SRC)
    assert ep["DATA_TYPE"] == "endpoint" and ep["display_name"] == "DKIST Data Transfer (test)" and ep["id"] == SRC
    assert tc.get_endpoint(DST)["display_name"] == "My laptop (test GCP)"
    with pytest.raises(globus_sdk.TransferAPIError) as err:
        tc.get_endpoint("00000000-0000-4000-8000-000000000000")
    assert (err.value.http_status, err.value.code) == (404, "EndpointNotFound")

    assert [e["id"] for e in tc.endpoint_search("dkist transfer")] == [SRC]
    assert {e["id"] for e in tc.endpoint_search("test")} == {SRC, DST}
    assert list(tc.endpoint_search("no such endpoint anywhere")) == []
    assert [e["id"] for e in tc.endpoint_search("laptop")] == [DST]

    listing = tc.operation_ls(SRC, path="/data/pid_1_123/ABCDE/")
    assert listing["DATA_TYPE"] == "file_list" and listing["path"] == "/data/pid_1_123/ABCDE/"
    on_disk = {p.name: p for p in (source_tree / "data/pid_1_123/ABCDE").iterdir()}
    assert {e["name"] for e in listing} == set(on_disk)
    for entry in listing:
        p = on_disk[entry["name"]]
        assert entry["type"] == ("dir" if p.is_dir() else "file")
        if p.is_file():
            assert entry["size"] == p.stat().st_size
    only_dirs = tc.operation_ls(SRC, path="/data/pid_1_123/ABCDE", orderby="type ASC, name DESC")
    assert [e["name"] for e in only_dirs][:2] == ["sub", "empty-folder"]
    assert [e["name"] for e in tc.operation_ls(SRC, path="/~/data")] == ["pid_1_123", "pid_2_9"]

    for bad in ("/../", "/data/../../etc", "/~/../x"):
        with pytest.raises(globus_sdk.TransferAPIError) as err:
            tc.operation_ls(SRC, path=bad)
        assert err.value.http_status == 400 and "outside" in err.value.message
    with pytest.raises(globus_sdk.TransferAPIError) as err:
        tc.operation_ls(SRC, path="/data/nope")
    assert (err.value.http_status, err.value.code) == (404, "ClientError.NotFound")


def test_default_endpoints_use_sandbox_ids_and_folders(tmp_path, monkeypatch):
    monkeypatch.setenv("DKIST_WIDGETS_DATA_DIR", str(tmp_path))
    from dkist_widgets.sandbox import paths

    with LoopbackGlobus(rate_bytes_per_s=None) as svc:
        eps = svc.endpoints
        dkist = eps[sandbox_endpoints.DKIST_ENDPOINT_ID]
        local = eps[sandbox_endpoints.LOCAL_ENDPOINT_ID]
        assert dkist.display_name == sandbox_endpoints.DKIST_ENDPOINT_NAME and not dkist.writable
        assert dkist.root.parent == tmp_path and dkist.root.name.startswith("archive-v")
        assert local.root == paths.local_endpoint_root() and local.writable
        assert local.resolve("/~/x") == local.root / "x" == local.resolve("/x")
        assert dkist.resolve("/data/pid_1_123/ABCDE/f.fits") == dkist.root / "data/pid_1_123/ABCDE/f.fits"
        tc = globus_sdk.TransferClient(base_url=svc.url, authorizer=globus_sdk.NullAuthorizer())
        hits = tc.endpoint_search(sandbox_endpoints.DKIST_ENDPOINT_NAME)
        assert [h["id"] for h in hits] == [sandbox_endpoints.DKIST_ENDPOINT_ID]


def test_path_escape_rejected_at_submission(tc, dest_root):
    for src, dst in (("/../etc/passwd", "/p"), ("/data/x", "/~/../../escape"), ("relative/path", "/p")):
        with pytest.raises(globus_sdk.TransferAPIError) as err:
            submit(tc, (src, dst))
        assert err.value.http_status == 400
    with pytest.raises(globus_sdk.TransferAPIError) as err:
        submit(tc, ("/data/x", "/y"), dst="00000000-0000-4000-8000-000000000000")
    assert err.value.code == "EndpointNotFound"
    assert tc.task_list()["total"] == 0
    assert not any(dest_root.parent.rglob("escape"))


# ---------------------------------------------------------------------- HTTP faults
def test_429_storm_is_retried_honouring_retry_after(tc, service):
    tc.retry_config.max_sleep = 10
    service.inject("rate_limit", count=2, retry_after=1, route="endpoint")
    t0 = time.monotonic()
    assert tc.get_endpoint(SRC)["id"] == SRC
    assert time.monotonic() - t0 >= 1.9  # two waits of Retry-After: 1
    assert service.request_counts["endpoint"] == 3

    tc.retry_config.max_sleep = 0.01
    service.inject("rate_limit", count=10, retry_after=1)
    with tc.retry_config.tune(max_retries=2):
        with pytest.raises(globus_sdk.TransferAPIError) as err:
            tc.get_endpoint(SRC)
    assert err.value.http_status == 429 and err.value.code == "RateLimitExceeded"
    service.inject("clear")
    assert tc.get_endpoint(SRC)["id"] == SRC


def test_5xx_are_retried_then_surface(tc, service):
    service.reset_request_counts()
    service.inject("server_error", count=2, status=503)
    assert tc.task_list()["DATA_TYPE"] == "task_list"
    assert service.request_counts == {"task_list": 3}
    service.inject("server_error", count=1, status=500)
    with tc.retry_config.tune(max_retries=0):
        with pytest.raises(globus_sdk.TransferAPIError) as err:
            tc.task_list()
    assert err.value.http_status == 500


def test_token_required_and_expired_token(service, caplog):
    caplog.set_level(logging.DEBUG)
    secret = "sandbox-secret-token-value"
    service.inject("require_token", token=secret)
    anonymous = globus_sdk.TransferClient(base_url=service.url, authorizer=globus_sdk.NullAuthorizer())
    wrong = globus_sdk.TransferClient(base_url=service.url, authorizer=globus_sdk.AccessTokenAuthorizer("nope"))
    right = globus_sdk.TransferClient(base_url=service.url, authorizer=globus_sdk.AccessTokenAuthorizer(secret))
    for client in (anonymous, wrong):
        with pytest.raises(globus_sdk.TransferAPIError) as err:
            client.get_submission_id()
        assert (err.value.http_status, err.value.code) == (401, "AuthenticationFailed")
    assert right.get_submission_id()["value"]

    service.inject("unauthorized", count=1)
    with pytest.raises(globus_sdk.TransferAPIError) as err:
        right.task_list()
    assert err.value.http_status == 401
    assert right.task_list()["total"] == 0
    service.inject("require_token", token=None)
    assert anonymous.task_list()["total"] == 0
    assert secret not in caplog.text


# ---------------------------------------------------------------------- task faults
def test_inactive_then_resume_via_admin_route(tc, service, source_tree, dest_root):
    admin = SandboxGlobusAdmin(service.url)
    admin.set_rate(150_000)
    task_id = submit(tc, ("/data/pid_1_123/ABCDE/a.fits", "/r/a.fits"))
    wait_task(tc, task_id, until=lambda t: t["bytes_transferred"] > 20_000)
    admin.inject("task_inactive", task_id=task_id, nice_status="CREDENTIAL_EXPIRED")
    task = tc.get_task(task_id)
    assert (task["status"], task["nice_status"], task["is_ok"]) == ("INACTIVE", "CREDENTIAL_EXPIRED", False)
    assert task["bytes_transferred"] == 0 and not leftovers(dest_root)
    assert [t["task_id"] for t in tc.task_list(filter={"status": "INACTIVE"})] == [task_id]
    time.sleep(0.2)
    assert tc.get_task(task_id)["bytes_transferred"] == 0  # nothing moves while INACTIVE

    admin.set_rate(None)
    admin.inject("task_resume", task_id=task_id)
    task = wait_task(tc, task_id)
    assert task["status"] == "SUCCEEDED" and task["files_transferred"] == 1
    assert sha(dest_root / "r/a.fits") == sha(source_tree / "data/pid_1_123/ABCDE/a.fits")
    events = {e["code"]: e for e in tc.task_event_list(task_id, limit=100)}
    assert events["CREDENTIAL_EXPIRED"]["is_error"] is True
    assert "RESUMED" in events
    assert admin.request_counts()["task"] >= 3


def test_fatal_error_on_demand(tc, service, dest_root):
    service.set_rate(150_000)
    task_id = submit(tc, ("/data/pid_1_123/ABCDE/a.fits", "/f/a.fits"))
    wait_task(tc, task_id, until=lambda t: t["bytes_transferred"] > 0)
    service.inject("task_failed", task_id=task_id, code="QUOTA_EXCEEDED", description="quota exceeded on destination")
    task = tc.get_task(task_id)
    assert task["status"] == "FAILED"
    assert task["fatal_error"] == {"code": "QUOTA_EXCEEDED", "description": "quota exceeded on destination"}
    assert task["subtasks_failed"] == 1
    assert not (dest_root / "f/a.fits").exists() and not leftovers(dest_root)
    assert tc.cancel_task(task_id)["code"] == "TaskComplete"


def test_missing_source_with_skip_source_errors(tc, source_tree, dest_root):
    task = wait_task(
        tc,
        submit(
            tc,
            ("/data/pid_1_123/ABCDE/e.asdf", "/s/e.asdf"),
            ("/data/pid_1_123/ABCDE/missing.fits", "/s/missing.fits"),
            skip_source_errors=True,
        ),
    )
    assert task["status"] == "SUCCEEDED"
    assert (task["files_transferred"], task["subtasks_skipped_errors"], task["faults"]) == (1, 1, 0)
    skipped = list(tc.task_skipped_errors(task["task_id"]))
    assert len(skipped) == 1
    assert skipped[0]["source_path"] == "/data/pid_1_123/ABCDE/missing.fits"
    assert skipped[0]["error_code"] == "PATH_NOT_FOUND" and skipped[0]["DATA_TYPE"] == "skipped_error"
    assert sha(dest_root / "s/e.asdf") == sha(source_tree / "data/pid_1_123/ABCDE/e.asdf")
    assert not (dest_root / "s/missing.fits").exists()


def test_missing_source_without_skip_retries_then_deadline(tc, service, source_tree, dest_root):
    deadline = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=3)
    doomed = submit(tc, ("/data/pid_1_123/ABCDE/never.fits", "/m/never.fits"), deadline=deadline.isoformat())
    healed = submit(tc, ("/data/pid_1_123/ABCDE/later.fits", "/m/later.fits"))
    for task_id in (doomed, healed):
        task = wait_task(tc, task_id, until=lambda t: t["faults"] >= 2)
        assert (task["status"], task["nice_status"], task["is_ok"]) == ("ACTIVE", "PATH_NOT_FOUND", False)
    errors = [e for e in tc.task_event_list(doomed) if e["code"] == "PATH_NOT_FOUND"]
    assert errors and all(e["is_error"] for e in errors) and "never.fits" in errors[0]["details"]

    later = source_tree / "data/pid_1_123/ABCDE/later.fits"
    later.write_bytes(b"arrived late" * 100)
    try:
        task = wait_task(tc, healed)
        assert task["status"] == "SUCCEEDED" and task["files_transferred"] == 1 and task["faults"] >= 2
        assert (dest_root / "m/later.fits").read_bytes() == later.read_bytes()
    finally:
        later.unlink()

    task = wait_task(tc, doomed, timeout=10)
    assert task["status"] == "FAILED"
    assert task["fatal_error"]["code"] == "DEADLINE" and task["subtasks_expired"] == 1


def test_destination_permission_denied_then_cleared(tc, service, source_tree, dest_root):
    service.inject("deny_destination", endpoint_id=DST, path="/locked")
    task_id = submit(tc, ("/data/pid_1_123/ABCDE/e.asdf", "/~/locked/e.asdf"), skip_source_errors=True)
    task = wait_task(tc, task_id, until=lambda t: t["faults"] >= 1)
    assert (task["status"], task["nice_status"], task["is_ok"]) == ("ACTIVE", "PERMISSION_DENIED", False)
    assert not (dest_root / "locked/e.asdf").exists()
    service.inject("clear")
    task = wait_task(tc, task_id)
    assert task["status"] == "SUCCEEDED"
    assert sha(dest_root / "locked/e.asdf") == sha(source_tree / "data/pid_1_123/ABCDE/e.asdf")

    # a read-only endpoint as destination: retried PERMISSION_DENIED, canceled by us
    ro_task = submit(tc, ("/data/pid_1_123/ABCDE/e.asdf", "/e.asdf"), dst=RO)
    task = wait_task(tc, ro_task, until=lambda t: t["faults"] >= 1)
    assert task["nice_status"] == "PERMISSION_DENIED"
    assert tc.cancel_task(ro_task)["code"] == "Canceled"
    assert not any(service.endpoints[RO].root.iterdir())


# ---------------------------------------------------------------------- other ways in
def test_base_url_with_v010_suffix_is_accepted(service):
    client = globus_sdk.TransferClient(base_url=service.url + "v0.10/", authorizer=globus_sdk.NullAuthorizer())
    assert client.get_endpoint(SRC)["id"] == SRC
    assert service.request_counts["endpoint"] == 1


def test_env_var_client_and_admin_from_another_process(service):
    code = (
        "import globus_sdk, sys\n"
        "from dkist_widgets.sandbox.globus_service import SandboxGlobusAdmin\n"
        "url = sys.argv[1]\n"
        "SandboxGlobusAdmin(url).inject('server_error', count=1, route='endpoint_search')\n"
        "tc = globus_sdk.TransferClient(authorizer=globus_sdk.NullAuthorizer())\n"
        "tc.retry_config.max_sleep = 0.05\n"
        "print(tc.base_url)\n"
        "print([e['id'] for e in tc.endpoint_search('laptop')][0])\n"
    )
    env = {**os.environ, "GLOBUS_SDK_SERVICE_URL_TRANSFER": service.url, "PYTHONPATH": str(Path(__file__).parents[2])}
    out = subprocess.run([sys.executable, "-c", code, service.url], env=env, capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    base, found = out.stdout.split()
    assert base == service.url and found == DST
    assert service.request_counts["endpoint_search"] == 2  # one 503, one retry


def test_stop_ends_threads_and_removes_partial_files(source_tree, tmp_path):
    dest = tmp_path / "stop-dest"
    dest.mkdir()
    svc = LoopbackGlobus({SRC: ("src", source_tree, False), DST: ("dst", dest)}, rate_bytes_per_s=100_000).start()
    tc = globus_sdk.TransferClient(base_url=svc.url, authorizer=globus_sdk.NullAuthorizer())
    task_id = submit(tc, ("/data/pid_1_123/ABCDE/a.fits", "/a.fits"))
    wait_task(tc, task_id, until=lambda t: t["bytes_transferred"] > 0)
    t0 = time.monotonic()
    svc.stop()
    assert time.monotonic() - t0 < 3
    assert not [t for t in threading.enumerate() if t.name.startswith("globus-sandbox")]
    assert not leftovers(dest) and not (dest / "a.fits").exists()
