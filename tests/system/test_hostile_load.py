"""Load: a 10,000-file task, a 100k-frame dataset in every panel at once, memory over a
long monitoring run.

Issue 9, part 4. The other two load cases live in ``tests/test_transfers.py``
(``test_one_task_list_request_per_tick_for_many_tasks``: 50 watched tasks, one
``task_list`` per tick; ``test_thousand_file_task``). The 1M-frame case takes longer
than a test may (generation ~75-130 s, load ~60 s), so it is a benchmark
(``benchmarks/bench_all_panels_1m.py``); the test here runs the same checks at 100k
frames. Memory flatness over thousands of ticks is ``benchmarks/bench_monitor_memory.py``;
the test here runs a shorter soak with a bound in bytes per tick.

Oracles: the files on disk (names and bytes), the loopback service's request counts,
``ds.headers`` counted with numpy, tracemalloc.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest

from dkist_widgets.core.model import DatasetModel
from dkist_widgets.core.transfers import TaskStore, TransferSession, TransferSettings
from dkist_widgets.sandbox.globus_service import LoopbackGlobus
from tests.helpers import (
    dkist_samples,
    load_samples,
)

pytestmark = pytest.mark.timeout(150)

SRC = "5d1c0e2a-0000-4000-8000-00000000a10a"
DST = "5d1c0e2a-0000-4000-8000-00000000a10b"
PROPOSAL = "pid_9_9"
TEN_K = 10_000
TEN_K_GRID = (4, 2_500)
TINY = 64  # bytes per file: the cost is per file, not per byte

#: Synced state (JSON + buffers of every widget) one task row may add to the monitor,
#: however many files the task has. An empty monitor is ~39 kB (58 widgets, most of it
#: ipywidgets' ~1 kB Layout states); a row is 37 widgets (14 + layouts, styles).
ROW_STATE_LIMIT = 25_000


def _inventory(dataset_id: str) -> dict:
    return {
        "datasetId": dataset_id,
        "primaryProposalId": PROPOSAL,
        "bucket": "data",
        "instrumentName": "VISP",
        "startTime": "2024-04-11T14:27:00",
    }


@pytest.fixture(scope="module")
def tenk_archive(tmp_path_factory) -> Path:
    """A DKIST-endpoint root holding /data/pid_9_9/TENK1/ with 10,000 tiny distinct files."""
    root = tmp_path_factory.mktemp("dkist-endpoint-10k")
    folder = root / "data" / PROPOSAL / "TENK1"
    folder.mkdir(parents=True)
    for i in range(TEN_K):
        (folder / f"t{i:05d}.fits").write_bytes(i.to_bytes(4, "little") * (TINY // 4))
    return root


# ====================================================================== 10,000-file task
def test_ten_thousand_file_task_through_the_monitor(tenk_archive, tmp_path):
    from dkist_widgets.panels.transfers import TransferMonitor

    dest = tmp_path / "laptop"
    dest.mkdir()
    svc = LoopbackGlobus(
        {SRC: ("DKIST (load)", tenk_archive, False), DST: ("Laptop (load)", dest, True)},
        rate_bytes_per_s=None,
        progress_event_interval=0.5,
    )
    svc.start()
    names = np.array([f"t{i:05d}.fits" for i in range(TEN_K)])
    ds = dkist_samples.synthetic_dataset(TEN_K_GRID, names=names, basepath=tmp_path / "nowhere")
    ds.meta["inventory"].update(_inventory("TENK1"))
    model = DatasetModel(ds)
    session = TransferSession(
        TransferSettings(
            transfer_url=svc.url, source_endpoint_id=SRC, destination_endpoint_id=DST, destination_local_root=dest
        )
    )
    monitor = TransferMonitor(
        model,
        session=session,
        store=TaskStore(tmp_path / "state" / "t.json"),
        active_interval=0.25,
        refresh_interval=0.5,
    )
    try:
        empty_state, empty_widgets = load_samples.synced_state_bytes(monitor)
        model.select_frames(np.arange(TEN_K))
        moved = model.download_bytes().short  # the bytes the transfer moves (issue 14.5)
        assert monitor.start_selection.description == f"Selected frames ({TEN_K} files, {moved})"
        # the monitor lists the dataset's folder in the background when it opens, and a
        # click's plan reuses that listing (or waits for it): one listing in all
        if monitor._sizes_job is not None:
            assert monitor._sizes_job.wait(60)
        listed_before = svc.request_counts.get("ls", 0)
        svc.reset_request_counts()
        monitor.start_selection.click()
        assert len(monitor.rows.children) == 1, monitor.message.value
        counts = svc.request_counts
        assert listed_before + counts.get("ls", 0) == 1  # sizes of 10,000 files from one listing
        assert counts["transfer"] == 1  # one task
        assert set(counts) <= {"ls", "transfer", "submission_id", "task_list"}, counts
        row = monitor.rows.children[0]
        deadline = time.monotonic() + 110
        while not (row.bar.value == 1.0 and model.n_local_files == TEN_K):
            assert time.monotonic() < deadline, (row.info.value, model.n_local_files)
            time.sleep(0.1)
        p = monitor.watcher.progress(row.task_id)
        landed = dest / "dkist" / PROPOSAL / "TENK1"
        on_disk = sorted(os.listdir(landed))
        # the monitor's counts are the files on disk, every byte accounted for
        assert on_disk == list(names)
        assert p.succeeded and p.files_done == p.files_total == len(on_disk) == TEN_K
        assert p.bytes_done == p.bytes_total == sum(os.stat(landed / n).st_size for n in on_disk) == TEN_K * TINY
        assert f"{TEN_K}/{TEN_K} files" in row.info.value and "done" in row.status.value
        for n in names[::911]:
            assert (landed / n).read_bytes() == (tenk_archive / "data" / PROPOSAL / "TENK1" / n).read_bytes()
        assert model.n_local_files == TEN_K  # the model followed the download
        # polling economy: one task_list per tick, events only on status changes
        counts = svc.request_counts
        ticks = monitor.watcher.ticks
        assert counts["task_list"] <= ticks + 1 and ticks >= 2
        assert counts.get("event_list", 0) <= 2
        assert listed_before + counts.get("ls", 0) == 1 and counts["transfer"] == 1
        assert monitor.watcher.requests <= ticks + counts.get("event_list", 0) + 1
        # the synced state is one row, not one entry per file
        state, n_widgets = load_samples.synced_state_bytes(monitor)
        assert state - empty_state < ROW_STATE_LIMIT, (empty_state, state)
        assert n_widgets - empty_widgets < 45  # one row: 14 widgets + their layouts and styles (37)
    finally:
        monitor.close()
        svc.stop()


# ====================================================================== a big dataset in every panel
#: The test's size: 4 Stokes x 25,000 raster steps = 100,000 frames (the 1M case is
#: ``benchmarks/bench_all_panels_1m.py``: too slow for the suite).
BIG_STEPS = 25_000
#: Synced state of the explorer with every panel built (issue 9: at most 10 MB at 1M frames).
STATE_LIMIT = 10_000_000


@pytest.fixture(scope="module")
def big_asdf() -> Path:
    return load_samples.headers_only_asdf(BIG_STEPS)


def test_hundred_thousand_frames_in_every_panel_at_once(big_asdf):
    from dkist_widgets.explorer import PANEL_TITLES, explore

    t0 = time.perf_counter()
    ex = explore(big_asdf)
    panels = {title: ex.show(title) for title in PANEL_TITLES}
    build_s = time.perf_counter() - t0
    try:
        assert ex.errors == {} and ex.built_panels == list(PANEL_TITLES)
        ds = ex.model.dataset
        n = 4 * BIG_STEPS
        assert ex.model.n_frames == n == len(ds.headers)

        # select through the header explorer's API; count independently from ds.headers
        lo, hi = 0.05, 0.1
        chosen = panels["Headers"].select_where("ATMOS_R0", lo, hi)
        r0 = np.ma.filled(np.ma.asarray(ds.headers["ATMOS_R0"], dtype=float), np.nan)
        expected = np.flatnonzero((r0 >= lo) & (r0 <= hi))
        assert 0 < expected.size < n  # some frames in, some out, some masked
        assert np.ma.count_masked(ds.headers["ATMOS_R0"]) > 0
        assert np.array_equal(np.sort(chosen), expected)
        assert np.array_equal(ex.model.selected_frames, expected) and ex.model.n_selected == expected.size
        # the other panels see the same selection
        file_map = panels["Slice & files"].file_map
        states = np.frombuffer(file_map.states, dtype=np.uint8)
        assert states.size == n and np.array_equal(np.flatnonzero(states & 2), expected)
        monitor = panels["Transfers"]
        moved = ex.model.download_bytes(expected).short
        assert monitor.start_selection.description == f"Selected frames ({expected.size} files, {moved})"
        assert len(ex.model.files_for_frames(expected)) == expected.size
        assert set(ex.model.files_for_frames(expected[:50])) == set(np.asarray(ds.files.filenames)[expected[:50]])

        # the slice builder counts a slice's files as dkist's own file manager does
        builder = panels["Slice & files"].slice_builder
        item = (slice(1, 3), slice(1000, 6000))
        builder.set_item(item)
        dkist_files = len(ds[item].files)
        assert dkist_files == ds.files.fileuri_array[item].size == 2 * 5000
        assert f"<b data-testid='slice-files'>{dkist_files:,}</b> of {n:,} files" in builder.summary.value
        builder.apply()
        states = np.frombuffer(file_map.states, dtype=np.uint8)
        assert int(np.count_nonzero(states & 1)) == dkist_files
        moved = ex.model.working_preview.download_bytes.short  # the bytes it moves (issue 14.5)
        assert monitor.start_subset.description == f"Working subset ({dkist_files} files, {moved})"

        # everything the front end is sent, for every panel at once
        state, n_widgets = load_samples.synced_state_bytes(ex, *panels.values())
        assert state <= STATE_LIMIT, state
        print(
            f"\n100k frames: explore + every panel built in {build_s:.1f} s; synced state {state / 1e6:.2f} MB in {n_widgets} widgets"
        )
    finally:
        ex.close()


# ====================================================================== a long monitoring run
#: Kernel memory (tracemalloc) a watch tick may add on average after warm-up. One tick
#: is a task_list request, 6 progress snapshots and 6 row updates; a retained event,
#: snapshot or message per tick would be hundreds of bytes.
SOAK_BYTES_PER_TICK = 64


def test_memory_stays_flat_over_a_long_monitoring_run(tmp_path):
    warm, measured = 300, 1200
    run = load_samples.monitor_soak(tmp_path, ticks=warm + measured, sample_every=100, n_tasks=6)
    samples = {tick: traced for tick, traced, _rss in run["samples"]}
    assert run["unfinished"] == 6 and run["rows"] == 6  # every task ran the whole soak
    assert run["requests"] == {"task_list": run["ticks"]} or run["requests"]["task_list"] <= run["ticks"] + 1
    assert set(run["requests"]) == {"task_list"}  # no event or task requests while all is well
    after_warm = [traced for tick, traced in samples.items() if tick >= warm]
    growth = (samples[warm + measured] - samples[warm]) / measured
    peak_growth = (max(after_warm) - samples[warm]) / measured
    print(
        f"\nsoak: {run['ticks']} ticks in {run['seconds']:.1f} s; traced {samples[warm] / 1e6:.2f} -> {samples[warm + measured] / 1e6:.2f} MB "
        f"({growth:.1f} B/tick, peak {peak_growth:.1f} B/tick)"
    )
    assert growth < SOAK_BYTES_PER_TICK and peak_growth < SOAK_BYTES_PER_TICK, (growth, peak_growth, samples)


def test_many_finished_tasks_keep_the_monitor_bounded(tmp_path):
    """A monitor open through 60 transfers keeps the newest finished rows; the rest are history."""
    from ipywidgets.widgets.widget import _instances  # ipywidgets' registry of unclosed widgets

    from dkist_widgets.core import transfers as core_transfers
    from dkist_widgets.panels.transfers import TransferMonitor

    archive, dest = tmp_path / "archive", tmp_path / "laptop"
    folder = archive / "data" / PROPOSAL / "MANYT"
    folder.mkdir(parents=True)
    dest.mkdir()
    n_tasks = 60
    for i in range(n_tasks):
        (folder / f"c{i:02d}.fits").write_bytes(bytes([i]) * 500)
    svc = LoopbackGlobus(
        {SRC: ("DKIST (churn)", archive, False), DST: ("Laptop (churn)", dest, True)}, rate_bytes_per_s=None
    )
    svc.start()
    session = TransferSession(
        TransferSettings(
            transfer_url=svc.url, source_endpoint_id=SRC, destination_endpoint_id=DST, destination_local_root=dest
        )
    )
    monitor = TransferMonitor(
        None, session=session, store=TaskStore(tmp_path / "state" / "t.json"), active_interval=0.02
    )
    inv = _inventory("MANYT")
    try:
        first_state = None
        ids = []
        for i in range(n_tasks):
            ids.append(monitor.watcher.start_transfer(session.plan_files(inv, [f"c{i:02d}.fits"], label=f"churn {i}")))
            monitor.watcher.wait(ids[-1], timeout=20)
            if i == 9:
                deadline = time.monotonic() + 5
                while len(monitor.completed) < 10:
                    assert time.monotonic() < deadline
                    time.sleep(0.02)
                first_state = load_samples.synced_state_bytes(monitor)[0]
                first_live = len(_instances)
        deadline = time.monotonic() + 10
        while len(monitor.completed) < min(n_tasks, core_transfers.FINISHED_KEEP) or ids[-1] not in monitor.completed:
            assert time.monotonic() < deadline, len(monitor.completed)
            time.sleep(0.02)
        assert sorted(os.listdir(dest / "dkist" / PROPOSAL / "MANYT")) == [f"c{i:02d}.fits" for i in range(n_tasks)]
        keep = monitor.max_finished_rows
        shown = [row.task_id for row in monitor.rows.children]
        assert shown == ids[::-1][:keep]  # the newest finished tasks, newest first
        assert len(monitor.watcher.tasks()) <= core_transfers.FINISHED_KEEP
        assert len(monitor.completed) <= core_transfers.FINISHED_KEEP
        # nothing is lost: every task is in the store, the older ones in "Earlier transfers"
        assert {r["task_id"] for r in monitor.watcher.history()} == set(ids)
        assert f"Earlier transfers ({n_tasks - keep})" == monitor.history.get_title(0)
        state = load_samples.synced_state_bytes(monitor)[0]
        # 10 rows -> 20 rows plus 40 history lines: well under 3x
        assert state < 3 * first_state, (first_state, state)
        # rows dropped from the view are closed with their layouts: 10 more rows live, not 50
        row_widgets = 37
        assert len(_instances) - first_live <= 10 * row_widgets + 5, (first_live, len(_instances))
    finally:
        monitor.close()
        svc.stop()
