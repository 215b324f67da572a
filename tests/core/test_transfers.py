"""Transfers against the loopback Globus Transfer API, with the real globus_sdk client.

Oracles: the files on disk (SHA-256 of source and destination, sizes from ``os.stat``),
the loopback service's request counts, and dkist's own file list for the dataset.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from dkist_widgets.core.model import DatasetModel
from dkist_widgets.core.transfers import (
    TaskStore,
    TransferSession,
    TransferSettings,
    TransferWatcher,
    status_words,
)
from tests.helpers.transfer_world import laptop_folder, start_loopback_globus, synthetic_model, visp_inventory

pytestmark = pytest.mark.timeout(90)

SRC = "5d1c0e2a-0000-4000-8000-0000000000aa"
DST = "5d1c0e2a-0000-4000-8000-0000000000bb"
PROPOSAL, DATASET = "pid_1_123", "ABCDE"
N_FILES = 40
FILE_SIZE = 60_000
GRID = (4, 10)


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Path:
    """A DKIST-endpoint tree: /data/pid_1_123/ABCDE/f{i}.fits + report + movie."""
    root = tmp_path_factory.mktemp("dkist-endpoint")
    folder = root / "data" / PROPOSAL / DATASET
    folder.mkdir(parents=True)
    rng = np.random.default_rng(7)
    for i in range(N_FILES):
        (folder / f"f{i}.fits").write_bytes(rng.integers(0, 256, FILE_SIZE + 13 * i, dtype=np.uint8).tobytes())
    (folder / f"{DATASET}_quality.pdf").write_bytes(b"%PDF" + rng.integers(0, 256, 5000, dtype=np.uint8).tobytes())
    (folder / f"{DATASET}_movie.mp4").write_bytes(rng.integers(0, 256, 9000, dtype=np.uint8).tobytes())
    many = root / "data" / PROPOSAL / "MANY1"
    many.mkdir(parents=True)
    for i in range(1000):
        (many / f"m{i:04d}.fits").write_bytes(bytes([i % 256]) * 1000)
    return root


@pytest.fixture
def dest(tmp_path) -> Path:
    return laptop_folder(tmp_path)


@pytest.fixture
def globus(archive, dest):
    svc = start_loopback_globus(SRC, archive, DST, dest, fault_retry_interval=0.2, cancel_wait=2.0)
    yield svc
    svc.stop()


@pytest.fixture
def session(globus, dest) -> TransferSession:
    settings = TransferSettings(
        transfer_url=globus.url, source_endpoint_id=SRC, destination_endpoint_id=DST, destination_local_root=dest
    )
    return TransferSession(settings)


@pytest.fixture
def store(tmp_path) -> TaskStore:
    return TaskStore(tmp_path / "state" / "transfers.json")


@pytest.fixture
def watchers():
    made = []
    yield made
    for w in made:
        w.stop()


def make_watcher(watchers, session, store, **kw) -> TransferWatcher:
    kw.setdefault("active_interval", 0.1)
    kw.setdefault("waiting_interval", 0.2)
    w = TransferWatcher(session, store, **kw)
    watchers.append(w)
    return w


INVENTORY = visp_inventory(PROPOSAL, DATASET)


@pytest.fixture
def model(tmp_path) -> DatasetModel:
    return synthetic_model(tmp_path / "nowhere", GRID, [f"f{i}.fits" for i in range(N_FILES)], INVENTORY)


def dest_folder(dest: Path) -> Path:
    return dest / "dkist" / PROPOSAL / DATASET


# ---------------------------------------------------------------------- paths
# Destination templates are the path-template engine's: tests/core/test_path_template.py.


def test_status_words_are_plain():
    assert status_words({"status": "SUCCEEDED"}) == "done"
    assert status_words({"status": "FAILED", "fatal_error": {"code": "CANCELED", "description": "x"}}) == "cancelled"
    assert (
        status_words(
            {"status": "FAILED", "fatal_error": {"code": "PERMISSION_DENIED", "description": "no write access"}}
        )
        == "failed: no write access"
    )
    assert "queue" in status_words({"status": "ACTIVE", "nice_status": "Queued"})
    assert status_words({"status": "INACTIVE", "nice_status": "CREDENTIAL_EXPIRED"}).startswith("paused")
    assert "retrying" in status_words({"status": "ACTIVE", "nice_status": "SOME_NEW_CODE"})


# ---------------------------------------------------------------------- whole transfers
def test_selection_transfer_bytes_on_disk_and_model_fills_in(session, store, watchers, model, archive, dest, globus):
    frames = np.array([0, 3, 4, 5, 17, 22, 39])
    model.select_frames(frames)
    expected_names = [f"f{i}.fits" for i in frames]
    assert model.files_for_frames(frames) == expected_names  # the model agrees with dkist's grid
    plan = session.plan_model(model, "selection")
    src_folder = archive / "data" / PROPOSAL / DATASET
    assert plan.bytes_total == sum(os.stat(src_folder / n).st_size for n in expected_names)
    assert plan.files_total == len(frames)
    assert plan.local_dirs == (str(dest_folder(dest)),)
    # a plan has no side effects: the caller gives the model the sizes, from the same listing
    model.set_file_sizes(session.file_sizes_for(model))
    # the model learnt the sizes from the same listing
    assert model.preview().file_bytes == sum(os.stat(src_folder / n).st_size for n in model.preview().files)

    landed = []
    watcher = make_watcher(watchers, session, store, on_files=landed.append)
    globus.reset_request_counts()
    task_id = watcher.start_transfer(plan)
    assert isinstance(task_id, str) and len(task_id) == 36
    done = watcher.wait(task_id, timeout=30)
    assert done.succeeded and done.words == "done"
    assert done.files_done == len(frames) and done.files_total == len(frames)
    assert done.bytes_done == plan.bytes_total and done.fraction == 1.0
    for name in expected_names:
        assert sha(dest_folder(dest) / name) == sha(src_folder / name)
    assert sorted(p.name for p in dest_folder(dest).iterdir()) == sorted(expected_names)
    counts = globus.request_counts
    assert counts["transfer"] == 1  # one task per request
    assert counts["task_list"] == watcher.requests - counts.get("event_list", 0)
    assert landed, "the files callback fired"
    model.set_basepath(dest_folder(dest))
    assert np.array_equal(np.flatnonzero(model.local_files), frames)
    assert store.get(task_id)["done"] is True


def test_sync_checksum_skips_present_files(session, store, watchers, model, dest, archive):
    watcher = make_watcher(watchers, session, store)
    first = watcher.wait(watcher.start_transfer(session.plan_files(INVENTORY, [f"f{i}.fits" for i in range(5)])))
    assert first.succeeded
    mtimes = {p.name: p.stat().st_mtime_ns for p in dest_folder(dest).iterdir()}
    plan = session.plan_files(INVENTORY, [f"f{i}.fits" for i in range(10)])
    second = watcher.wait(watcher.start_transfer(plan))
    assert second.succeeded and second.files_skipped == 5 and second.files_done == 10
    assert "5 already there" in second.text
    src_folder = archive / "data" / PROPOSAL / DATASET
    assert second.bytes_done == sum(os.stat(src_folder / f"f{i}.fits").st_size for i in range(5, 10))
    for name, mtime in mtimes.items():
        assert (dest_folder(dest) / name).stat().st_mtime_ns == mtime  # not rewritten
    for i in range(10):
        assert sha(dest_folder(dest) / f"f{i}.fits") == sha(src_folder / f"f{i}.fits")


def test_whole_dataset_and_quality_files(session, store, watchers, dest, archive):
    watcher = make_watcher(watchers, session, store)
    quality = session.plan_quality(INVENTORY)
    assert sorted(Path(i.source).name for i in quality.items) == [f"{DATASET}_movie.mp4", f"{DATASET}_quality.pdf"]
    q = watcher.wait(watcher.start_transfer(quality))
    assert q.succeeded and q.files_done == 2
    plan = session.plan_datasets([INVENTORY], label="whole <dataset>")
    assert plan.label == "whole -dataset-"  # Globus label characters only
    src_folder = archive / "data" / PROPOSAL / DATASET
    assert plan.files_total == N_FILES + 2
    assert plan.bytes_total == sum(p.stat().st_size for p in src_folder.iterdir())
    p = watcher.wait(watcher.start_transfer(plan))
    assert p.succeeded and p.files_done == N_FILES + 2 and p.files_skipped == 2
    assert {x.name: sha(x) for x in dest_folder(dest).iterdir()} == {x.name: sha(x) for x in src_folder.iterdir()}


# ---------------------------------------------------------------------- polling economy and faults
def test_one_task_list_request_per_tick_for_many_tasks(session, store, watchers, globus):
    watcher = make_watcher(watchers, session, store, autostart=False)
    globus.set_rate(1)  # nothing finishes during the test
    ids = [
        watcher.start_transfer(session.plan_files(INVENTORY, [f"f{i % N_FILES}.fits"], label=f"t{i}"))
        for i in range(50)
    ]
    globus.reset_request_counts()
    for tick in range(1, 4):
        interval = watcher.poll_once()
        assert globus.request_counts.get("task_list") == tick
        assert globus.request_counts.get("event_list", 0) == 0
    assert interval == watcher.active_interval  # 3 tasks copy, 47 queued
    words = {p.words for p in watcher.tasks()}
    assert any("queue" in w for w in words) and "copying" in words
    assert len(watcher.tasks()) == 50 and {p.task_id for p in watcher.tasks()} == set(ids)
    for tid in ids:
        session.client.cancel_task(tid)


def test_rate_limit_storm_backs_off_and_recovers(session, store, watchers, globus, dest, archive):
    watcher = make_watcher(watchers, session, store, autostart=False)
    task_id = watcher.start_transfer(session.plan_files(INVENTORY, ["f1.fits", "f2.fits"]))
    globus.inject("rate_limit", count=6, retry_after=1, route="task_list")
    globus.reset_request_counts()
    interval = watcher.poll_once()
    assert interval >= 1.0 and "slow down" in watcher.problem
    assert globus.request_counts["task_list"] == 2  # one try + the SDK's single retry, not five
    interval2 = watcher.poll_once()
    assert interval2 >= interval  # still limited: no faster
    for _ in range(10):
        watcher.poll_once()
        if watcher.progress(task_id).done:
            break
        time.sleep(0.05)
    p = watcher.progress(task_id)
    assert p.succeeded and watcher.problem == ""
    assert sha(dest_folder(dest) / "f2.fits") == sha(archive / "data" / PROPOSAL / DATASET / "f2.fits")


def test_inactive_backs_off_then_recovers(session, store, watchers, globus, dest, archive):
    globus.set_rate(100_000)
    watcher = make_watcher(watchers, session, store, autostart=False, waiting_interval=0.5, max_interval=3)
    task_id = watcher.start_transfer(session.plan_files(INVENTORY, [f"f{i}.fits" for i in range(4)]))
    assert watcher.poll_once() == watcher.active_interval
    globus.inject(
        "task_inactive", task_id=task_id, nice_status="CREDENTIAL_EXPIRED", description="endpoint credentials expired"
    )
    globus.reset_request_counts()
    intervals = [watcher.poll_once() for _ in range(4)]
    p = watcher.progress(task_id)
    assert p.status == "INACTIVE" and p.words.startswith("paused") and not p.done
    assert intervals[0] == 0.5 and intervals[1] > intervals[0] and intervals[2] > intervals[1]  # backing off
    assert globus.request_counts["event_list"] == 1  # only when the status changed
    assert any(
        e["code"] in ("INACTIVE", "CREDENTIAL_EXPIRED") or "expired" in (e["description"] or "") for e in p.events
    )
    globus.set_rate(None)
    globus.inject("task_resume", task_id=task_id)
    for _ in range(40):
        watcher.poll_once()
        if watcher.progress(task_id).done:
            break
        time.sleep(0.05)
    assert watcher.progress(task_id).succeeded
    for i in range(4):
        assert sha(dest_folder(dest) / f"f{i}.fits") == sha(archive / "data" / PROPOSAL / DATASET / f"f{i}.fits")


def test_failed_task_reports_its_reason(session, store, watchers, globus):
    globus.set_rate(50_000)
    finished = []
    watcher = make_watcher(watchers, session, store, on_complete=finished.append)
    task_id = watcher.start_transfer(session.plan_files(INVENTORY, ["f0.fits", "f1.fits"]))
    globus.inject("task_failed", task_id=task_id, code="PERMISSION_DENIED", description="no write access to /~/dkist")
    p = watcher.wait(task_id, timeout=15)
    assert p.done and not p.succeeded and not p.cancelled
    assert p.words == "failed: no write access to /~/dkist"
    assert p.fatal_error == "no write access to /~/dkist"
    time.sleep(0.3)
    assert [f.task_id for f in finished] == [task_id]  # exactly once
    assert store.get(task_id)["summary"]["status"] == "FAILED"


def test_cancel_mid_file_leaves_no_partial_file(session, store, watchers, globus, dest, archive):
    globus.set_rate(40_000)  # one 60 kB file takes ~1.5 s
    watcher = make_watcher(watchers, session, store)
    task_id = watcher.start_transfer(session.plan_files(INVENTORY, ["f0.fits", "f1.fits", "f2.fits"]))
    deadline = time.monotonic() + 10
    while True:
        p = watcher.progress(task_id)
        if p.bytes_done > FILE_SIZE + 5000:  # into the second file
            break
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert watcher.cancel(task_id) in ("Canceled", "CancelAccepted")
    p = watcher.wait(task_id, timeout=10)
    assert p.cancelled and p.words == "cancelled" and not p.succeeded
    present = sorted(x.name for x in dest_folder(dest).iterdir())
    assert present == ["f0.fits"]  # no partial second file, no hidden temporary
    assert sha(dest_folder(dest) / "f0.fits") == sha(archive / "data" / PROPOSAL / DATASET / "f0.fits")


def test_thousand_file_task(session, store, watchers, globus, dest, archive):
    names = [f"m{i:04d}.fits" for i in range(1000)]
    inv = dict(INVENTORY, datasetId="MANY1")
    globus.reset_request_counts()
    plan = session.plan_files(inv, names)
    assert globus.request_counts == {"ls": 1}  # sizes for 1000 files from one listing
    assert plan.bytes_total == 1000 * 1000
    watcher = make_watcher(watchers, session, store)
    p = watcher.wait(watcher.start_transfer(plan), timeout=60)
    assert p.succeeded and p.files_done == 1000 and p.bytes_done == 1_000_000
    landed = dest / "dkist" / PROPOSAL / "MANY1"
    assert len(list(landed.iterdir())) == 1000
    assert all(
        (landed / n).read_bytes() == (archive / "data" / PROPOSAL / "MANY1" / n).read_bytes() for n in names[::97]
    )


def test_restart_resumes_from_the_store(session, globus, watchers, tmp_path, dest, archive):
    path = tmp_path / "state" / "transfers.json"
    globus.set_rate(150_000)
    first = make_watcher(watchers, session, TaskStore(path))
    plan = session.plan_files(INVENTORY, [f"f{i}.fits" for i in range(6)], label="resume me")
    task_id = first.start_transfer(plan)
    time.sleep(0.3)
    first.stop()  # the kernel dies
    del first
    # a new kernel: new client, new store object, same file
    fresh = TransferSession(session.settings)
    second = make_watcher(watchers, fresh, TaskStore(path))
    resumed = second.progress(task_id)
    assert resumed is not None and resumed.label == "resume me" and resumed.bytes_total == plan.bytes_total
    globus.set_rate(None)
    p = second.wait(task_id, timeout=20)
    assert p.succeeded and p.files_done == 6 and p.bytes_done == plan.bytes_total
    assert [r["task_id"] for r in second.history()] == [task_id]
    # a third start sees it as history, not as something to watch
    third = make_watcher(watchers, TransferSession(session.settings), TaskStore(path), autostart=False)
    assert third.tasks() == [] and third.history()[0]["done"] is True
    for i in range(6):
        assert sha(dest_folder(dest) / f"f{i}.fits") == sha(archive / "data" / PROPOSAL / DATASET / f"f{i}.fits")


def test_store_is_private_and_bounded(tmp_path):
    store = TaskStore(tmp_path / "s" / "t.json")
    for i in range(510):
        store.add(f"task-{i:04d}", label=str(i))
        store.update(f"task-{i:04d}", done=True)
    assert (os.stat(store.path).st_mode & 0o777) == 0o600
    again = TaskStore(store.path)
    records = again.records()
    assert len(records) == 500 and records[0]["task_id"] == "task-0509"


def test_idle_watcher_sends_nothing(session, store, watchers, globus):
    watcher = make_watcher(watchers, session, store)
    globus.reset_request_counts()
    time.sleep(0.5)
    assert globus.request_counts == {} and watcher.interval is None


# ---------------------------------------------------------------------- the panel
def test_monitor_panel_start_watch_and_cancel(session, store, model, dest, globus, archive):
    from dkist_widgets.panels.transfers import TransferMonitor

    model.select_frames([1, 2, 3])
    monitor = TransferMonitor(model, session=session, store=store, active_interval=0.1, refresh_interval=0.2)
    notified = []  # what the browser-notification widget is told (no front end here)
    monitor.notifier.send = lambda content, buffers=None: notified.append(content)
    try:
        # the monitor lists the dataset's folder at once: the button then shows the exact bytes
        end = time.monotonic() + 20
        while not model.download_bytes().exact and time.monotonic() < end:
            time.sleep(0.05)
        from dkist_widgets.core.formatting import human_bytes

        oracle = sum((archive / "data" / PROPOSAL / DATASET / f"f{i}.fits").stat().st_size for i in (1, 2, 3))
        assert monitor.start_selection.description == f"Selected frames (3 files, {human_bytes(oracle)})"
        assert "/~/dkist/pid_1_123/ABCDE/" in monitor.path_preview.value
        monitor.template.value = "../{dataset_id}"
        assert "dkw-path-error" in monitor.path_preview.value
        monitor.start_selection.click()
        assert "dkw-error" in monitor.message.value and "&#x27;..&#x27;" in monitor.message.value
        monitor.template.value = "dkist/{proposal_id}/{dataset_id}"
        monitor.label.value = "<b>mine</b>"
        monitor.start_selection.click()
        assert len(monitor.rows.children) == 1, monitor.message.value
        row = monitor.rows.children[0]
        assert "<b>mine" not in row.title.value and "-b-mine--b-" in row.title.value  # a Globus-safe label
        hostile = replace(
            monitor.watcher.progress(row.task_id),
            events=({"time": "t", "code": "<i>C</i>", "is_error": True, "description": "<script>alert(1)</script>"},),
        )
        row.update(hostile)
        assert "<script>" not in row.events.value and "&lt;script&gt;alert(1)&lt;/script&gt;" in row.events.value
        assert "<i>C</i>" not in row.events.value
        deadline = time.monotonic() + 20
        while not (row.bar.value == 1.0 and model.n_local_files == 3 and "dkw-done" in monitor.message.value):
            assert time.monotonic() < deadline, (row.status.value, model.n_local_files)
            time.sleep(0.05)
        assert "done" in row.status.value and "dkw-done" in monitor.message.value
        assert np.array_equal(np.flatnonzero(model.local_files), [1, 2, 3])  # the model followed the download
        assert [n["type"] for n in notified] == ["notify"] and notified[0]["title"].startswith("Transfer finished")

        # cancel with confirmation on a slow task
        globus.set_rate(20_000)
        model.select_frames([10, 11, 12])
        monitor.start_selection.click()
        row = monitor.rows.children[0]
        assert row is not monitor.rows.children[1]
        row.cancel_button.click()
        assert row.confirm_row.layout.display == ""
        row.confirm_no.click()
        assert row.confirm_row.layout.display == "none"
        assert not monitor.watcher.progress(row.task_id).done
        row.cancel_button.click()
        row.confirm_yes.click()
        deadline = time.monotonic() + 10
        while "cancelled" not in row.status.value:
            assert time.monotonic() < deadline, row.status.value
            time.sleep(0.05)
        assert row.cancel_button.layout.display == "none"
    finally:
        monitor.close()


def test_monitor_turns_a_consent_requirement_into_a_sign_in_then_starts_by_itself(
    globus, dest, archive, model, store, tmp_path
):
    """Issue 15.2 in the panel: a GCS v5 collection wants a consent; the click says so in one
    sentence, the login panel asks for exactly that consent, and once signed in the same
    transfer starts without another click; the files land (oracle: the files on disk)."""

    import requests

    from dkist_widgets.core.globus_auth import GlobusLogin
    from dkist_widgets.panels.transfers import TransferMonitor
    from dkist_widgets.sandbox.globus_auth_service import LoopbackGlobusAuth
    from dkist_widgets.sandbox.globus_service import data_access_scope
    from tests.helpers.globus_login import auth_code_from

    auth = LoopbackGlobusAuth(access_token_lifetime=3600).start()
    auth.protect(globus)
    monitor = None
    try:
        login = GlobusLogin(
            auth_url=auth.url, token_path=tmp_path / "t.json", reuse_dkist_cache=False, share_with_dkist=False
        )

        def paste_code(url):
            login.finish_login(auth_code_from(url))

        paste_code(login.start_login())
        globus.faults.require_consent(DST)
        settings = TransferSettings(
            transfer_url=globus.url, source_endpoint_id=SRC, destination_endpoint_id=DST, destination_local_root=dest
        )
        monitor = TransferMonitor(
            model,
            session=TransferSession(settings, login),
            store=store,
            login=login,
            active_interval=0.1,
            refresh_interval=0.2,
        )
        model.select_frames([0, 1])
        monitor.start_selection.click()
        assert len(monitor.rows.children) == 0
        assert "consent" in monitor.message.value and "dkw-error" in monitor.message.value
        url = login.authorize_url
        assert data_access_scope(DST) in requests.utils.unquote(url)
        paste_code(url)  # the person signs in again through the link the panel shows
        deadline = time.monotonic() + 20
        while not (len(monitor.rows.children) == 1 and model.n_local_files == 2):
            assert time.monotonic() < deadline, monitor.message.value
            time.sleep(0.05)
        for i in (0, 1):
            assert sha(dest_folder(dest) / f"f{i}.fits") == sha(archive / "data" / PROPOSAL / DATASET / f"f{i}.fits")
    finally:
        if monitor is not None:
            monitor.close()
        auth.unprotect(globus)
        auth.stop()
