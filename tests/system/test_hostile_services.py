"""A hostile world, part 2 and 3: service faults and secrets (issue 9).

Real clients throughout: ``globus_sdk.TransferClient`` against the loopback Transfer
API (faults on demand, see ``dkist_widgets/sandbox/globus_service.py``), the loopback
Auth for logins, and dkist + sunpy ``Fido`` against the loopback data centre. Every
case checks what the user *reads* in the TransferMonitor (the words of its problem
line, task rows and message) and that nothing is lost, against independent oracles:
the files on disk (names and SHA-256 against the source), the loopback engine's own
task documents, and the request headers the services received.

Cases already covered elsewhere (not repeated here): search 500 / garbage JSON /
dropped connection and timeouts (``test_search_panel.py``), 429 storms, INACTIVE ->
resumed, FAILED, cancel mid-file, restart from the store (``test_transfers.py``),
401 -> log in again, token file modes, tokens absent from widget state / saved
notebooks / logs (``test_globus_auth.py``).
"""

from __future__ import annotations

import hashlib
import html
import json
import logging
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
import traceback
from pathlib import Path

import globus_sdk
import ipywidgets
import numpy as np
import pytest

from dkist_widgets.core.model import DatasetModel
from dkist_widgets.core.transfers import TaskStore, TransferSession, TransferSettings, TransferWatcher
from dkist_widgets.sandbox import datacentre as _datacentre
from dkist_widgets.sandbox import globus_auth_service as _auth_service
from dkist_widgets.sandbox import globus_service as _globus_service
from dkist_widgets.sandbox.globus_engine import MAX_ACTIVE_TASKS_PER_USER, PARTIAL_SUFFIX
from dkist_widgets.sandbox.globus_service import LoopbackGlobus
from tests.helpers.globus_login import _state_of, new_login, sign_in, stored_tokens
from tests.helpers.transfer_world import laptop_folder, start_loopback_globus, synthetic_model, visp_inventory
from tests.helpers.waiting import wait_for

pytestmark = pytest.mark.timeout(60)

SRC = "5d1c0e2a-0000-4000-8000-0000000000e1"
DST = "5d1c0e2a-0000-4000-8000-0000000000e2"
PROPOSAL, DATASET = "pid_9_9", "HOST1"
N_FILES = 8
FILE_SIZE = 40_000
GRID = (2, 4)
NAMES = [f"f{i}.fits" for i in range(N_FILES)]
INVENTORY = visp_inventory(PROPOSAL, DATASET)


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def text_of(widget) -> str:
    """What the user reads in an HTML widget (tags dropped, entities decoded)."""
    return html.unescape(re.sub(r"<[^>]+>", " ", widget.value))


def final_files(folder: Path) -> list[str]:
    """Files present under their final name (the engine's hidden temporaries excluded)."""
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if not p.name.endswith(PARTIAL_SUFFIX))


def partials(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(PARTIAL_SUFFIX)) if folder.is_dir() else []


# ---------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("hostile-dkist-endpoint")
    folder = root / "data" / PROPOSAL / DATASET
    folder.mkdir(parents=True)
    rng = np.random.default_rng(9)
    for name in NAMES:
        (folder / name).write_bytes(rng.integers(0, 256, FILE_SIZE, dtype=np.uint8).tobytes())
    return root


def src_folder(archive: Path) -> Path:
    return archive / "data" / PROPOSAL / DATASET


@pytest.fixture
def dest(tmp_path) -> Path:
    return laptop_folder(tmp_path)


def dest_folder(dest: Path, top: str = "dkist") -> Path:
    return dest / top / PROPOSAL / DATASET


def new_service(archive: Path, dest: Path, port: int = 0, rate=None) -> LoopbackGlobus:
    return start_loopback_globus(
        SRC,
        archive,
        DST,
        dest,
        label="hostile test",
        rate_bytes_per_s=rate,
        port=port,
        fault_retry_interval=0.2,
        cancel_wait=2.0,
    )


@pytest.fixture
def globus(archive, dest):
    services = [new_service(archive, dest)]
    yield services[0]
    services[0].stop()


def settings_for(url: str, dest: Path) -> TransferSettings:
    return TransferSettings(
        transfer_url=url, source_endpoint_id=SRC, destination_endpoint_id=DST, destination_local_root=dest
    )


@pytest.fixture
def session(globus, dest) -> TransferSession:
    return TransferSession(settings_for(globus.url, dest))


@pytest.fixture
def closers():
    made = []
    yield made
    for thing in reversed(made):
        thing.close() if hasattr(thing, "close") else thing.stop()


def fast_watcher(session, store, **kw) -> TransferWatcher:
    kw = {"active_interval": 0.1, "waiting_interval": 0.2, "max_interval": 1.0, "autostart": False, **kw}
    return TransferWatcher(session, store, **kw)


def monitor_for(closers, session, store, model=None, **kw):
    """A TransferMonitor over a fast-polling watcher (the defaults wait seconds)."""
    from dkist_widgets.panels.transfers import TransferMonitor

    watcher = fast_watcher(session, store, **kw)
    closers.append(watcher)
    monitor = TransferMonitor(model, session=session, watcher=watcher, refresh_interval=0.2)
    monitor.notifier.send = lambda content, buffers=None: None  # no browser here
    closers.append(monitor)
    return monitor


def wait_done(monitor, task_id: str, what: str, timeout: float = 20.0) -> None:
    """Until the monitor has heard the task end (its last callback: files and rows are updated before)."""
    wait_for(lambda: task_id in monitor.completed, timeout, what)


def row_of(monitor, task_id):
    return next(r for r in monitor.rows.children if r.task_id == task_id)


def model_at(basepath: Path) -> DatasetModel:
    return synthetic_model(basepath, GRID, NAMES, INVENTORY)


# ---------------------------------------------------------------------- 403
def test_globus_403_is_shown_and_nothing_is_lost(closers, session, globus, tmp_path, dest, archive):
    model = model_at(tmp_path / "nowhere")
    monitor = monitor_for(closers, session, TaskStore(tmp_path / "t.json"), model)
    # refused at submission: a clear message, no row, the buttons usable again
    globus.inject("forbidden", count=1, route="transfer")
    monitor.start_dataset.click()
    said = text_of(monitor.message)
    assert "Globus refused: You do not have permission" in said, said
    assert monitor.rows.children == () and not monitor.start_dataset.disabled
    # refused while watching: the problem line says so, the task is kept
    globus.set_rate(200_000)
    globus.inject("forbidden", count=None, route="task_list")
    monitor.start_dataset.click()
    (row,) = monitor.rows.children
    task_id = row.task_id
    wait_for(lambda: "403" in text_of(monitor.problem), what="the 403 shown")
    problem = text_of(monitor.problem)
    assert "Globus refused access (403 PermissionDenied" in problem and "the tasks are not lost" in problem, problem
    globus.reset_request_counts()
    time.sleep(1.5)
    polls = globus.request_counts.get("task_list", 0)
    assert 1 <= polls <= 6, polls  # backing off (0.1 s active polling would be ~15)
    assert not monitor.watcher.progress(task_id).done and row.cancel_button.layout.display == ""
    globus.inject("clear")
    wait_done(monitor, task_id, "the task to finish after the 403s")
    assert text_of(monitor.problem).strip() == ""
    p = monitor.watcher.progress(task_id)
    assert p.succeeded and p.files_done == N_FILES and p.bytes_done == N_FILES * FILE_SIZE
    assert monitor.completed == [task_id]
    assert {n: sha(dest_folder(dest) / n) for n in final_files(dest_folder(dest))} == {
        n: sha(src_folder(archive) / n) for n in NAMES
    }


# ---------------------------------------------------------------------- 404 task
def test_task_unknown_to_globus_is_marked_gone_and_others_watched(closers, archive, dest, tmp_path):
    """The service restarts with a fresh state (same URL): the old task is unknown there."""
    first = new_service(archive, dest, rate=20_000)
    port = first._server.server_address[1]
    url = first.url
    store = TaskStore(tmp_path / "t.json")
    session = TransferSession(settings_for(url, dest))
    old_id = session.submit(session.plan_files(INVENTORY, NAMES[:4], label="before the restart"))
    store.add(old_id, label="before the restart", files_total=4, bytes_total=4 * FILE_SIZE, dataset_ids=[DATASET])
    first.stop()
    second = new_service(archive, dest, port=port)
    closers.append(second)
    assert second.url == url
    with pytest.raises(globus_sdk.TransferAPIError) as err:  # oracle: Globus answers 404 for it
        session.client.get_task(old_id)
    assert err.value.http_status == 404 and err.value.code == "TaskNotFound"
    monitor = monitor_for(closers, session, store)
    old_row = row_of(monitor, old_id)
    new_id = monitor.transfer_datasets([INVENTORY], label="after the restart")
    wait_for(lambda: "unknown to Globus" in text_of(old_row.status), what="the old task marked unknown")
    assert "no longer watched" in text_of(old_row.status) and old_row.cancel_button.layout.display == "none"
    wait_done(monitor, new_id, "the new task")
    p = monitor.watcher.progress(new_id)
    assert p.succeeded and p.files_done == N_FILES and "done" in text_of(row_of(monitor, new_id).status)
    assert sorted(monitor.completed) == sorted([old_id, new_id])
    assert store.get(old_id)["done"] and store.get(old_id)["summary"] == {"status": "UNKNOWN"}
    assert final_files(dest_folder(dest)) == sorted(NAMES)


# ---------------------------------------------------------------------- connection refused
def test_connection_refused_mid_poll_backs_off_and_recovers(closers, session, globus, tmp_path, dest, archive):
    globus.set_rate(150_000)  # the dataset takes ~2 s
    monitor = monitor_for(closers, session, TaskStore(tmp_path / "t.json"))
    landed = []
    monitor.watcher.add_callback("files", lambda p: landed.append(p.files_done))
    task_id = monitor.transfer_datasets([INVENTORY])
    row = row_of(monitor, task_id)
    wait_for(lambda: monitor.watcher.progress(task_id).files_done >= 1, what="a first file")
    globus.go_offline()
    with pytest.raises(globus_sdk.NetworkError):  # oracle: the port really refuses
        TransferSession(session.settings).poll_client.get_task(task_id)
    wait_for(lambda: "Cannot reach Globus" in text_of(monitor.problem), what="the outage shown")
    ticks = monitor.watcher.ticks
    started = time.monotonic()
    monitor.search_text.value = "laptop"
    monitor.search_button.click()  # a click meanwhile: a plain sentence, the kernel not frozen
    assert time.monotonic() - started < 5
    said = text_of(monitor.message)
    assert "Cannot reach Globus (connection refused or network down): nothing was done" in said, said
    time.sleep(max(0.0, 2.0 - (time.monotonic() - started)))
    assert monitor.watcher.ticks - ticks <= 5  # backing off, not hammering
    assert monitor.watcher.interval > monitor.watcher.active_interval
    assert not monitor.watcher.progress(task_id).done and "copying" in text_of(row.status)  # last known state kept
    globus.go_online()  # Globus kept copying meanwhile
    wait_done(monitor, task_id, "the task after the outage")
    assert text_of(monitor.problem).strip() == ""
    p = monitor.watcher.progress(task_id)
    on_disk = final_files(dest_folder(dest))
    assert p.succeeded and p.files_done == N_FILES == len(on_disk) and p.bytes_done == N_FILES * FILE_SIZE
    assert landed == sorted(landed) and max(landed) == N_FILES  # counts only grew
    assert monitor.completed == [task_id]  # completed once
    assert "finished: 8/8 files" in text_of(monitor.message)
    assert all(sha(dest_folder(dest) / n) == sha(src_folder(archive) / n) for n in on_disk)


# ---------------------------------------------------------------------- cancel while Queued
def test_cancel_while_queued(closers, session, globus, tmp_path, dest):
    globus.set_rate(5_000)  # nothing finishes during the test
    monitor = monitor_for(closers, session, TaskStore(tmp_path / "t.json"))
    ids = []
    for i in range(MAX_ACTIVE_TASKS_PER_USER + 1):
        monitor.template.value = f"q{i}/{{proposal_id}}/{{dataset_id}}"
        ids.append(monitor.transfer_datasets([INVENTORY], label=f"task {i}"))
    queued = row_of(monitor, ids[-1])
    wait_for(lambda: "waiting in the Globus queue" in text_of(queued.status), what="the fourth task queued")
    assert globus.engine.task_doc(ids[-1])["nice_status"] == "Queued"
    queued.cancel_button.click()
    assert queued.confirm_row.layout.display == ""
    queued.confirm_yes.click()
    assert text_of(monitor.message).strip() == f"Cancel requested for task {ids[-1]}: Globus answered Canceled."
    wait_done(monitor, ids[-1], "the queued task cancelled")
    assert "cancelled" in text_of(queued.status)
    doc = globus.engine.task_doc(ids[-1])
    assert doc["status"] == "FAILED" and doc["fatal_error"]["code"] == "CANCELED"
    assert doc["files_transferred"] == 0 and doc["bytes_transferred"] == 0
    assert final_files(dest_folder(dest, "q3")) == [] and partials(dest_folder(dest, "q3")) == []
    for tid in ids[:-1]:  # the others go on
        assert not monitor.watcher.progress(tid).done
        assert globus.engine.task_doc(tid)["status"] == "ACTIVE"
    assert monitor.completed == [ids[-1]]
    for tid in ids[:-1]:
        monitor.cancel(tid)


# ---------------------------------------------------------------------- kernel restart
KERNEL = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from dkist_widgets.core.transfers import TaskStore, TransferSession, TransferSettings, TransferWatcher
    url, src, dst, dest_root, store_path, names = sys.argv[1:7]
    settings = TransferSettings(transfer_url=url, source_endpoint_id=src, destination_endpoint_id=dst,
                                destination_local_root=Path(dest_root))
    session = TransferSession(settings)
    watcher = TransferWatcher(session, TaskStore(store_path), active_interval=0.1)
    inventory = {"datasetId": "%s", "primaryProposalId": "%s", "bucket": "data"}
    task_id = watcher.start_transfer(session.plan_files(inventory, names.split(","), label="kernel that dies"))
    print(task_id, flush=True)
    while True:
        time.sleep(1)
    """
    % (DATASET, PROPOSAL)
)


def test_kernel_killed_mid_transfer_resumes_without_double_counting(closers, globus, tmp_path, dest, archive):
    globus.set_rate(60_000)  # ~0.7 s per file
    store_path = tmp_path / "state" / "transfers.json"
    script = tmp_path / "kernel.py"
    script.write_text(KERNEL)
    env = {**os.environ, "DKIST_WIDGETS_DATA_DIR": str(tmp_path / "kernel-data")}
    kernel = subprocess.Popen(
        [sys.executable, str(script), globus.url, SRC, DST, str(dest), str(store_path), ",".join(NAMES)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        task_id = kernel.stdout.readline().strip()
        assert len(task_id) == 36, kernel.stderr.read() if kernel.poll() is not None else task_id
        folder = dest_folder(dest)
        wait_for(lambda: len(final_files(folder)) >= 1 and partials(folder), what="a moment mid-copy")
        kernel.send_signal(signal.SIGKILL)  # no cleanup, no last store write
        assert kernel.wait(10) == -signal.SIGKILL
    finally:
        if kernel.poll() is None:
            kernel.kill()
        kernel.stdout.close()
        kernel.stderr.close()
    globus.set_rate(8_000)  # hold the next file mid-copy while the new kernel looks
    # the new kernel: new session, store read back from disk, the dataset reopened at the landing folder
    session = TransferSession(settings_for(globus.url, dest))
    store = TaskStore(store_path)
    assert [r["task_id"] for r in store.unfinished()] == [task_id]
    model = model_at(folder)
    monitor = monitor_for(closers, session, store, model)
    row = row_of(monitor, task_id)
    assert "kernel that dies" in text_of(row.title)
    wait_for(lambda: monitor.watcher.progress(task_id).status == "ACTIVE", what="monitoring resumed")
    wait_for(lambda: partials(folder), what="a file mid-copy")
    present = final_files(folder)
    model.refresh_local_files()
    assert partials(folder) and model.n_local_files == len(present) == len(
        final_files(folder)
    )  # the .partial is not counted
    assert np.array_equal(np.flatnonzero(model.local_files), sorted(NAMES.index(n) for n in present))
    globus.set_rate(None)
    wait_done(monitor, task_id, "the resumed task")
    p = monitor.watcher.progress(task_id)
    on_disk = final_files(folder)
    assert p.succeeded and on_disk == sorted(NAMES) and partials(folder) == []
    assert p.files_done == len(on_disk) == N_FILES and p.bytes_done == p.bytes_total == N_FILES * FILE_SIZE
    wait_for(lambda: model.n_local_files == N_FILES, what="the model's final refresh")
    assert monitor.completed == [task_id] and "finished: 8/8 files" in text_of(monitor.message)
    assert [r["task_id"] for r in TaskStore(store_path).records()] == [task_id] and store.get(task_id)["done"]
    assert all(sha(folder / n) == sha(src_folder(archive) / n) for n in NAMES)


# ---------------------------------------------------------------------- destination errors
@pytest.mark.parametrize(
    "fault, code, words",
    [
        ("deny_destination", "PERMISSION_DENIED", "permission denied at an endpoint; Globus keeps retrying"),
        ("destination_full", "NO_SPACE_LEFT", "the destination disk is full; Globus keeps retrying"),
    ],
)
def test_destination_error_shown_retried_then_finishes(
    closers, session, globus, tmp_path, dest, archive, fault, code, words
):
    monitor = monitor_for(closers, session, TaskStore(tmp_path / "t.json"))
    globus.inject(fault, endpoint_id=DST, path="/dkist")
    task_id = monitor.transfer_datasets([INVENTORY])
    row = row_of(monitor, task_id)
    wait_for(lambda: words in text_of(row.status), what=f"{code} shown")
    wait_for(lambda: code in text_of(row.events), what="the event listed")
    wait_for(lambda: globus.engine.task_doc(task_id)["faults"] >= 3, what="Globus retrying")
    doc = globus.engine.task_doc(task_id)
    assert doc["status"] == "ACTIVE" and doc["nice_status"] == code and doc["is_ok"] is False
    assert not monitor.watcher.progress(task_id).done and row.cancel_button.layout.display == ""
    wait_for(lambda: re.search(r"\d+ faults", text_of(row.info)), what="the fault count shown")
    assert final_files(dest_folder(dest)) == [] and partials(dest_folder(dest)) == []  # nothing half-written
    globus.inject("clear")
    wait_done(monitor, task_id, "the task after the fault cleared")
    p = monitor.watcher.progress(task_id)
    assert p.succeeded and p.files_done == N_FILES and p.faults >= 3 and "done" in text_of(row.status)
    assert {n: sha(dest_folder(dest) / n) for n in final_files(dest_folder(dest))} == {
        n: sha(src_folder(archive) / n) for n in NAMES
    }


# ---------------------------------------------------------------------- secrets
@pytest.fixture
def protected(globus, auth):
    auth.protect(globus)
    yield globus
    auth.unprotect(globus)


@pytest.fixture
def wire(monkeypatch):
    """Every request line and header set each loopback service receives (recorded before handling)."""
    seen = {"datacentre": [], "transfer": [], "auth": []}

    def spy(cls, name, where):
        original = getattr(cls, name)

        def recorded(self, *args, **kwargs):
            seen[where].append({"line": f"{self.command} {self.path}", "headers": dict(self.headers.items())})
            return original(self, *args, **kwargs)

        monkeypatch.setattr(cls, name, recorded)

    spy(_datacentre._Handler, "_dispatch", "datacentre")
    spy(_globus_service._Handler, "_dispatch", "transfer")
    spy(_auth_service._Handler, "do_GET", "auth")
    spy(_auth_service._Handler, "do_POST", "auth")
    return seen


@pytest.fixture
def private_paths(tmp_path):
    return {
        "token_path": tmp_path / "data" / "globus" / "tokens.json",
        "dkist_cache": tmp_path / "dkist-cache" / "globus_auth_cache.json",
    }


def test_tokens_only_go_to_globus_and_stay_private(
    closers, protected, auth, dest, tmp_path, private_paths, wire, dc, search_catalogue_and_root
):
    from dkist_widgets.panels.search import SearchPanel

    # a careless umask must not widen the token file
    old_umask = os.umask(0)
    try:
        login = new_login(auth, private_paths)
        sign_in(login)
    finally:
        os.umask(old_umask)
    folder = login.token_path.parent
    assert os.stat(folder).st_mode & 0o777 == 0o700
    assert {p.name: os.stat(p).st_mode & 0o777 for p in folder.iterdir()} == {
        "tokens.json": 0o600
    }  # no stray temporaries

    session = TransferSession(settings_for(protected.url, dest), login)
    monitor = monitor_for(closers, session, TaskStore(tmp_path / "t.json"))
    task_id = monitor.transfer_datasets([INVENTORY])
    # meanwhile the same user searches the data centre and opens a dataset (ASDF download)
    catalogue, root = search_catalogue_and_root
    record = next(
        r
        for r in catalogue
        if (root / r["bucket"] / r["asdfObjectKey"]).is_file() and (r.get("status") or "ACTIVE") == "ACTIVE"
    )
    panel = SearchPanel(model=DatasetModel(), path_template=str(tmp_path / "asdf" / "{dataset_id}/"), search_timeout=20)
    closers.append(panel)
    assert panel.choices_loaded.wait(20)
    panel.set_form(dataset_ids=record["datasetId"], embargoed=None)
    panel.search()
    assert panel.wait(30) and panel.message_kind == "ok", panel.message_text
    panel.select_ids([record["datasetId"]])
    panel.open_selected()
    assert panel.wait(60) and panel.message_kind == "ok", panel.message_text
    assert panel.model.dataset.meta["inventory"]["datasetId"] == record["datasetId"]
    wait_done(monitor, task_id, "the transfer")
    first_tokens = stored_tokens(login)
    token_calls = auth.request_counts.get("token", 0)
    auth.expire_access_tokens()  # force a refresh: the refresh token goes to Auth
    session.client.get_endpoint(SRC)
    assert auth.request_counts.get("token", 0) == token_calls + 1
    now_tokens = stored_tokens(login)
    secrets = list(dict.fromkeys(now_tokens + first_tokens))  # current access token first
    assert len(secrets) == 3 and all(len(s) > 20 for s in secrets)

    # the data centre saw search, config and the ASDF download, and never a token
    dc_lines = [r["line"] for r in wire["datacentre"]]
    assert any("/datasets/v1?" in line for line in dc_lines) and any("/download/asdf" in line for line in dc_lines), (
        dc_lines
    )
    for req in wire["datacentre"]:
        assert not any(k.lower() == "authorization" for k in req["headers"]), req["line"]
        assert not any(s in json.dumps(req) for s in secrets)
    # the Transfer API got a bearer token on every API call: the first access token, then the refreshed one
    api = [r for r in wire["transfer"] if "/_sandbox/" not in r["line"]]
    bearers = {r["headers"].get("Authorization", "") for r in api}
    assert api and bearers == {"Bearer " + first_tokens[0], "Bearer " + now_tokens[0]}
    # Auth saw requests (authorize, code exchange, refresh) but no bearer access token
    assert wire["auth"] and not any(secrets[0] in json.dumps(r) for r in wire["auth"])


def test_failing_globus_calls_never_show_a_token(closers, protected, auth, dest, tmp_path, private_paths, caplog):
    caplog.set_level(logging.DEBUG)
    login = new_login(auth, private_paths)
    sign_in(login)
    session = TransferSession(settings_for(protected.url, dest), login)
    model = model_at(tmp_path / "nowhere")
    monitor = monitor_for(closers, session, TaskStore(tmp_path / "t.json"), model)
    snapshots = []  # every widget's synced state, taken while an error is on screen

    def state_now(root=None) -> str:
        """Synced state of every widget (or of ``root`` and the widgets it references)."""
        everything = dict(ipywidgets.Widget.widgets)
        if root is None:
            return json.dumps({mid: _state_of(wid) for mid, wid in everything.items()}, default=str)
        states, todo = {}, [root.model_id]
        while todo:
            mid = todo.pop()
            if mid in states or mid not in everything:
                continue
            states[mid] = text = json.dumps(_state_of(everything[mid]), default=str)
            todo += re.findall(r"IPY_MODEL_([0-9a-f]+)", text)
        return json.dumps(states)

    def snapshot():
        snapshots.append(state_now())

    def snapshot_while_shown(words: str, what: str) -> None:
        def shown() -> bool:
            if words not in text_of(monitor.problem):
                return False
            state = state_now(monitor)  # the monitor's tree only: quick enough to catch the moment
            if words in state:
                snapshots.append(state)
                return True
            return False

        wait_for(shown, what=what)

    failures = []
    # the monitor lists the dataset's folder once when it opens (file sizes): let that
    # finish first, so the faults below meet the calls this test makes
    if monitor._sizes_job is not None:
        assert monitor._sizes_job.wait(20)
    protected.inject("forbidden", count=1)
    protected.inject("server_error", count=2, status=500)  # the polling client retries once
    for client in (session.client, session.poll_client):
        try:
            client.get_endpoint(SRC)
        except globus_sdk.GlobusAPIError as err:
            failures.append(err)
    assert [e.http_status for e in failures] == [403, 500]
    # the same faults through the panel: endpoint search, a start, and polling
    protected.inject("forbidden", count=1, route="endpoint_search")
    monitor.search_text.value = "laptop"
    monitor.search_button.click()
    assert "Globus refused: You do not have permission" in text_of(monitor.message)
    snapshot()
    protected.inject("forbidden", count=1, route="transfer")
    monitor.start_dataset.click()
    assert "Globus refused" in text_of(monitor.message) and monitor.rows.children == ()
    snapshot()
    protected.set_rate(100_000)
    monitor.start_dataset.click()
    (row,) = monitor.rows.children
    protected.inject("server_error", count=2, status=500, route="task_list")
    # the watcher clears a polling problem on its next good tick: snapshot while it is shown
    snapshot_while_shown("Globus answered 500", "the 500 while polling")
    protected.inject("forbidden", count=1, route="task_list")
    snapshot_while_shown("Globus refused access (403", "the 403 while polling")
    protected.set_rate(None)
    wait_done(monitor, row.task_id, "the task")
    before_refresh = stored_tokens(login)
    protected.inject("unauthorized", count=2, route="endpoint")  # 401, refresh, 401 again
    try:
        session.client.get_endpoint(SRC)
    except globus_sdk.GlobusAPIError as err:
        failures.append(err)
    secrets = set(before_refresh + stored_tokens(login))
    assert [e.http_status for e in failures] == [403, 500, 401] and len(secrets) == 3  # a refresh happened

    messages = []
    for err in failures:
        messages += [str(err), repr(err), err.message or "", err.text or "", "".join(traceback.format_exception(err))]
    snapshot()
    states = "\n".join(snapshots)
    for shown in (
        "Globus refused: You do not have permission",
        "Globus answered 500",
        "Globus refused access (403",
        "dkw-task-status",
    ):
        assert shown in states  # the scan saw the errors on screen
    places = {
        "exception messages": "\n".join(messages),
        "widget state": states,
        "logs": "\n".join(r.getMessage() for r in caplog.records),
        "panel text": monitor.message.value + monitor.problem.value + row.status.value + row.events.value,
    }
    assert "403" in places["exception messages"] and "500" in places["exception messages"]
    for secret in secrets:
        for where, text in places.items():
            assert secret not in text, f"a token leaked into the {where}"
