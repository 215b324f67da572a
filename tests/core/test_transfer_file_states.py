"""Which files the file map shows as transferring and failed, against the loopback Globus.

Oracles: the files on disk (which frames landed), the loopback service's own task
document and fault plan (which task failed, which path was denied), and the plan's
file list. Also: a plan leaves the model as it was (issue 13).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from dkist_widgets.core.file_states import FAILED, FILE_STATES, IN_SLICE, LOCAL, SELECTED, TRANSFERRING, legend_spec
from dkist_widgets.core.model import DatasetModel
from dkist_widgets.core.transfers import TaskStore, TransferFileStates, TransferSession, TransferSettings, fault_path
from tests.helpers.transfer_world import laptop_folder, start_loopback_globus, synthetic_model, visp_inventory
from tests.helpers.waiting import wait_for

pytestmark = pytest.mark.timeout(120)

SRC = "5d1c0e2a-0000-4000-8000-0000000000ca"
DST = "5d1c0e2a-0000-4000-8000-0000000000cb"
PROPOSAL, DATASET = "pid_2_7", "FSTAT"
N_FILES = 24
FILE_SIZE = 20_000
GRID = (4, 6)
INVENTORY = visp_inventory(PROPOSAL, DATASET)


@pytest.fixture
def archive(tmp_path) -> Path:
    root = tmp_path / "dkist-endpoint"
    folder = root / "data" / PROPOSAL / DATASET
    folder.mkdir(parents=True)
    for i in range(N_FILES):
        (folder / f"f{i}.fits").write_bytes(bytes([i]) * FILE_SIZE)
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
    return TransferSession(
        TransferSettings(
            transfer_url=globus.url,
            source_endpoint_id=SRC,
            destination_endpoint_id=DST,
            destination_local_root=dest,
            login_required=False,
        )
    )


@pytest.fixture
def model(tmp_path) -> DatasetModel:
    return synthetic_model(tmp_path / "nowhere", GRID, [f"f{i}.fits" for i in range(N_FILES)], INVENTORY)


def landed_frames(dest: Path) -> set[int]:
    folder = dest / "dkist" / PROPOSAL / DATASET
    return {int(p.stem[1:]) for p in folder.glob("f*.fits")} if folder.is_dir() else set()


def _model_state(model):
    preview = model.preview()
    return (
        model.selection_version,
        model.local_files_version,
        model.file_sizes_version,
        model.transfer_states_version,
        model.selected_frames.tolist(),
        preview.file_bytes,
        preview.n_files,
    )


# ---------------------------------------------------------------------- a plan has no side effects
def test_a_plan_leaves_the_model_unchanged(session, model, archive):
    model.select_frames([0, 5, 6])
    before = _model_state(model)
    seen = []
    model.observe(lambda change: seen.append(change["name"]), names=traitlets_all(model))
    plan = session.plan_model(model, "selection")
    subset = session.plan_model(model, "subset")
    assert plan.files_total == 3 and subset.files_total == N_FILES
    assert _model_state(model) == before and seen == []  # no trait changed, no sizes written
    # the caller gives the sizes explicitly; they are the files' sizes on the endpoint
    sizes = session.file_sizes_for(model)
    folder = archive / "data" / PROPOSAL / DATASET
    assert sizes.tolist() == [(folder / n).stat().st_size for n in model.files_for_frames(np.arange(N_FILES))]
    model.set_file_sizes(sizes)
    assert model.preview().file_bytes == N_FILES * FILE_SIZE


def traitlets_all(model):
    return list(model.trait_names())


# ---------------------------------------------------------------------- the state bits
def test_state_bits_are_single_distinct_bits_in_priority_order():
    bits = [s.bit for s in FILE_STATES]
    assert sorted(bits) == [1, 2, 4, 8, 16] and all(b & (b - 1) == 0 for b in bits)
    assert [s.name for s in FILE_STATES][:2] == ["failed", "transferring"]  # most urgent first
    assert (IN_SLICE, SELECTED, LOCAL, TRANSFERRING, FAILED) == (1, 2, 4, 8, 16)


def test_js_fixture_is_the_python_legend():
    """The TypeScript tests read the legend from a fixture; it must be what the kernel sends."""
    fixture = Path(__file__).parents[2] / "js" / "tests" / "fixtures" / "file_states_legend.json"
    assert json.loads(fixture.read_text()) == legend_spec()


def test_fault_path_reads_globus_fault_details():
    details = json.dumps({"error": {"body": "denied"}, "context": [{"operation": "STOR", "path": "/~/a/f1.fits"}]})
    assert fault_path({"is_error": True, "code": "PERMISSION_DENIED", "details": details}) == "/~/a/f1.fits"
    assert fault_path({"is_error": False, "details": details}) is None
    assert fault_path({"is_error": True, "details": "No such file (skipped)"}) is None
    assert fault_path({"is_error": True, "details": "{not json"}) is None


def test_model_transfer_states_validate_and_bump_only_on_change(model):
    v = model.transfer_states_version
    assert model.set_transfer_states([1, 2, 3], [3, 4]) is True
    assert model.transferring_frames.tolist() == [1, 2] and model.failed_frames.tolist() == [3, 4]  # failed wins
    assert model.transfer_states_version == v + 1
    assert model.set_transfer_states([2, 1], [4, 3]) is False and model.transfer_states_version == v + 1
    with pytest.raises(IndexError):
        model.set_transfer_states([N_FILES], [])
    assert model.transferring_frames.tolist() == [1, 2]  # unchanged after the refusal


# ---------------------------------------------------------------------- through the monitor and the file map
def _monitor_and_map(model, session, tmp_path):
    from dkist_widgets.panels.file_map import FileMap
    from dkist_widgets.panels.transfers import TransferMonitor

    monitor = TransferMonitor(
        model, session=session, store=TaskStore(tmp_path / "t.json"), active_interval=0.1, refresh_interval=0.2
    )
    return monitor, FileMap(model)


def _bits(fmap, bit) -> set[int]:
    return set(np.flatnonzero(np.frombuffer(fmap.states, np.uint8) & bit).tolist())


def test_transferring_then_failed_on_the_map(model, session, globus, dest, tmp_path):
    globus.set_rate(25_000)  # a file per 0.8 s
    wanted = [0, 1, 2, 3, 4, 5, 6, 7]
    model.select_frames(wanted)
    monitor, fmap = _monitor_and_map(model, session, tmp_path)
    try:
        task_id = monitor.start("selection")
        # while it runs: every selected file not on disk is transferring, and only those
        wait_for(
            lambda: landed_frames(dest) and model.transferring_frames.size, what="a file to land while others move"
        )
        wait_for(lambda: model.n_local_files >= 1, what="the model to see a landed file")
        moving = set(model.transferring_frames.tolist())
        local = set(np.flatnonzero(model.local_files).tolist())
        assert moving and moving <= set(wanted) and not (moving & local)
        assert moving | local == set(wanted) or len(moving | local) >= len(wanted) - 1  # one may land between reads
        assert _bits(fmap, TRANSFERRING) == moving
        assert model.failed_frames.size == 0
        # Globus fails the task: what did not land is failed, what landed is on disk
        globus.faults.task_failed(task_id, code="PERMISSION_DENIED", description="denied by the test")
        wait_for(lambda: monitor.watcher.progress(task_id).done and model.failed_frames.size, what="the failure")
        wait_for(
            lambda: set(model.failed_frames.tolist()) == set(wanted) - landed_frames(dest), what="failed = not landed"
        )
        assert model.transferring_frames.size == 0
        assert globus.engine.task_doc(task_id)["status"] == "FAILED"
        assert _bits(fmap, FAILED) == set(wanted) - landed_frames(dest)
        assert _bits(fmap, LOCAL) == landed_frames(dest)
        assert "transfer failed" in fmap.describe(*divmod(sorted(set(wanted) - landed_frames(dest))[0], GRID[1]))
    finally:
        monitor.close()
    assert model.transferring_frames.size == 0 and model.failed_frames.size == 0  # nobody watches any more


def test_a_denied_destination_lights_failing_files_until_it_clears(model, session, globus, dest, tmp_path):
    model.select_frames([8, 9, 10])
    monitor, fmap = _monitor_and_map(model, session, tmp_path)
    try:
        globus.faults.deny_destination(DST, "/~/dkist")
        task_id = monitor.start("selection")
        # the files Globus names in its fault events are failed while it retries them
        wait_for(lambda: model.failed_frames.size, what="a failing file")
        p = monitor.watcher.progress(task_id)
        assert not p.done and p.faults >= 1
        failing = set(model.failed_frames.tolist())
        named = {int(Path(path).stem[1:]) for path in p.failed_paths}
        assert failing == named and failing <= {8, 9, 10}
        assert _bits(fmap, FAILED) == failing
        globus.faults.clear()
        wait_for(lambda: monitor.watcher.progress(task_id).succeeded, what="the task to finish once writes are allowed")
        wait_for(lambda: model.failed_frames.size == 0 and model.transferring_frames.size == 0, what="states to clear")
        assert landed_frames(dest) == {8, 9, 10}
    finally:
        monitor.close()


def test_a_cancelled_task_leaves_nothing_lit(model, session, globus, tmp_path):
    globus.set_rate(5_000)
    model.select_frames([12, 13])
    monitor, fmap = _monitor_and_map(model, session, tmp_path)
    try:
        task_id = monitor.start("selection")
        wait_for(lambda: model.transferring_frames.size == 2, what="both files transferring")
        assert _bits(fmap, TRANSFERRING) == {12, 13}
        monitor.cancel(task_id)
        wait_for(lambda: monitor.watcher.progress(task_id).cancelled, what="the cancel")
        wait_for(lambda: model.transferring_frames.size == 0, what="states to clear")
        assert model.failed_frames.size == 0
    finally:
        monitor.close()


def test_tracker_maps_whole_dataset_plans_and_ignores_other_datasets(model, session):
    from dkist_widgets.core.transfers import TaskProgress, TransferItem, TransferPlan

    tracker = TransferFileStates()
    plan = session.plan_datasets([INVENTORY])
    assert tracker.add("t-all", plan, model) == N_FILES
    other = TransferPlan(
        "selection",
        "x",
        (TransferItem("/data/p/OTHER/f1.fits", "/~/o/f1.fits"),),
        ("OTHER",),
        "/~/o/",
        1,
        1,
        folders=(("/data/p/OTHER/", "/~/o/"),),
    )
    assert tracker.add("t-other", other, model) == 0
    running = TaskProgress("t-all", status="ACTIVE", request_time="2026-01-01T00:00:00+00:00")
    moving, failed = tracker.states(model, [running, TaskProgress("t-other")])
    assert moving.tolist() == list(range(N_FILES)) and failed.size == 0
    # a later task that succeeded clears what an earlier one left failed; newest wins
    failed_task = TaskProgress("t-old", status="FAILED", done=True, request_time="2026-01-01T00:00:00+00:00")
    tracker.add("t-old", session.plan_files(INVENTORY, ["f1.fits", "f2.fits"]), model)
    tracker.add("t-new", session.plan_files(INVENTORY, ["f2.fits"]), model)
    new_ok = TaskProgress(
        "t-new", status="SUCCEEDED", done=True, succeeded=True, request_time="2026-01-02T00:00:00+00:00"
    )
    moving, failed = tracker.states(model, [new_ok, failed_task])
    assert moving.size == 0 and failed.tolist() == [1]
