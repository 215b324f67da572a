"""Bytes before a download (issue 14.5) and the login message (14.6), against the loopback Globus.

What a person sees before a transfer (the slice builder's "to download", the
monitor's start buttons) must be the bytes the transfer then moves: the oracles are
the files' sizes on the DKIST endpoint folder (``os.stat``), Globus's own task
document (``bytes_transferred``) and the files that land on disk.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
import pytest

from dkist_widgets.core.file_sizes import GIB
from dkist_widgets.core.formatting import human_bytes
from dkist_widgets.core.model import DatasetModel
from dkist_widgets.core.transfers import TransferSettings
from dkist_widgets.panels.slice_builder import SliceBuilder
from dkist_widgets.panels.transfers import LOGIN_FIRST, TransferMonitor
from tests.helpers import dkist_samples
from tests.helpers.transfer_world import laptop_folder, start_loopback_globus
from tests.helpers.waiting import wait_for

pytestmark = pytest.mark.timeout(120)

SRC = "5d1c0e2a-0000-4000-8000-0000000000e1"
DST = "5d1c0e2a-0000-4000-8000-0000000000e2"
PROPOSAL, DATASET = "pid_2_9", "BYTES"
GRID = (4, 6)
N_FILES = 24


def file_size(i: int) -> int:
    """Sizes differ per file (headers and compression do), so a mean is not exact."""
    return 2880 * 7 + 997 * i


@pytest.fixture
def archive(tmp_path) -> Path:
    folder = tmp_path / "dkist-endpoint" / "data" / PROPOSAL / DATASET
    folder.mkdir(parents=True)
    for i in range(N_FILES):
        (folder / f"f{i}.fits").write_bytes(bytes([i]) * file_size(i))
    return folder


@pytest.fixture
def dest(tmp_path) -> Path:
    return laptop_folder(tmp_path)


@pytest.fixture
def globus(archive, dest):
    svc = start_loopback_globus(SRC, archive.parents[2], DST, dest)
    yield svc
    svc.stop()


def make_model(tmp_path, archive: Path) -> DatasetModel:
    names = np.array([f"f{i}.fits" for i in range(N_FILES)])
    ds = dkist_samples.synthetic_dataset(GRID, names=names, basepath=tmp_path / "nowhere")
    total = sum(p.stat().st_size for p in archive.iterdir())
    # as the data centre's inventory says it: GiB of the dataset's files, and their count
    ds.meta["inventory"].update(
        {
            "datasetId": DATASET,
            "primaryProposalId": PROPOSAL,
            "bucket": "data",
            "datasetSize": total / GIB,
            "frameCount": N_FILES,
        }
    )
    return DatasetModel(ds)


def settings_for(globus, dest) -> TransferSettings:
    return TransferSettings(
        transfer_url=globus.url,
        source_endpoint_id=SRC,
        destination_endpoint_id=DST,
        destination_local_root=dest,
        login_required=False,
    )


def shown_bytes(html: str) -> str:
    return re.search(r"data-testid='slice-bytes'>(.*?) to download<", html).group(1)


# ---------------------------------------------------------------------- estimate, labelled
def test_before_any_listing_the_bytes_are_the_inventory_estimate_and_say_so(tmp_path, archive):
    model = make_model(tmp_path, archive)
    builder = SliceBuilder(model)
    builder.set_item((1, slice(0, 3)))
    builder.refresh()
    ids = builder.preview.frame_ids
    on_endpoint = [(archive / n).stat().st_size for n in model.files_for_frames(ids)]
    mean = sum(p.stat().st_size for p in archive.iterdir()) / N_FILES
    got = builder.preview.download_bytes
    assert not got.exact and got.n_estimated == len(ids) == 3
    assert got.total == round(3 * mean)  # the inventory's mean file size, not the array bytes
    assert got.total != builder.preview.loaded_nbytes
    text = shown_bytes(builder.summary.value)
    assert text.startswith("≈ " + human_bytes(3 * mean)) and "estimate" in text
    assert abs(got.total - sum(on_endpoint)) < 0.5 * sum(on_endpoint)  # a sane estimate
    # an inventory without a size: the array bytes, said to be a lower bound
    model.dataset.meta["inventory"].pop("datasetSize")
    model.set_dataset(model.dataset)
    lower = model.download_bytes(ids)
    assert lower.total == 3 * model.file_index.frame_bytes and lower.short.startswith("≥ ")


# ---------------------------------------------------------------------- exact once listed, equal after
def test_bytes_shown_before_equal_bytes_moved_and_files_on_disk(tmp_path, archive, globus, dest):
    model = make_model(tmp_path, archive)
    builder = SliceBuilder(model)
    monitor = TransferMonitor(
        model, settings=settings_for(globus, dest), login=None, active_interval=0.2, refresh_interval=0.1
    )
    try:
        # the monitor lists the folder as soon as the dataset is open: sizes become exact
        wait_for(lambda: model.preview().download_bytes.exact, what="the listing")
        builder.set_item((slice(1, 3), slice(2, 5)))
        builder.apply()
        ids = model.working_preview.frame_ids
        oracle = sum((archive / n).stat().st_size for n in model.files_for_frames(ids))
        before_builder = shown_bytes(builder.summary.value)
        before_button = monitor.start_subset.description
        assert before_builder == human_bytes(oracle)  # exact: no ≈, no "estimate"
        assert before_button == f"Working subset ({len(ids)} files, {human_bytes(oracle)})"
        # the header explorer's summary says the same bytes for the same frames
        from dkist_widgets.core.header_table import shared_header_table
        from dkist_widgets.panels.header_texts import summary_html

        model.select_frames(ids, source="test")
        summary = summary_html(model, shared_header_table(model))
        assert f"<span data-testid='bytes'>{human_bytes(oracle)} to download</span>" in summary
        assert "exact" in monitor.sizes_note.value

        monitor.start_subset.click()
        wait_for(lambda: monitor.completed, what="the transfer to finish")
        progress = monitor.watcher.progress(monitor.completed[-1])
        assert progress.succeeded
        task = monitor.session.client.get_task(progress.task_id)
        landed = sorted((dest / "dkist" / PROPOSAL / DATASET).glob("*.fits"))
        assert len(landed) == len(ids)
        on_disk = sum(p.stat().st_size for p in landed)
        assert task["bytes_transferred"] == progress.bytes_done == progress.bytes_total == oracle == on_disk
        assert f"{human_bytes(oracle)} of {human_bytes(oracle)}" in progress.text
    finally:
        monitor.close()


# ---------------------------------------------------------------------- 14.6: the login message clears
def test_log_in_first_message_clears_when_the_login_changes(tmp_path, archive, dest):
    from dkist_widgets.core.globus_auth import LOGGED_IN, GlobusLogin
    from dkist_widgets.sandbox.globus_auth_service import LoopbackGlobusAuth
    from tests.helpers.globus_login import sign_in  # the person's sign-in: open the link, paste the code

    auth = LoopbackGlobusAuth(access_token_lifetime=3600).start()
    svc = start_loopback_globus(SRC, archive.parents[2], DST, dest)
    auth.protect(svc)
    login = GlobusLogin(
        auth_url=auth.url,
        token_path=tmp_path / "tok" / "tokens.json",
        dkist_cache=tmp_path / "dkist-cache" / "c.json",
        reuse_dkist_cache=False,
    )
    model = make_model(tmp_path, archive)
    settings = TransferSettings(
        transfer_url=svc.url, source_endpoint_id=SRC, destination_endpoint_id=DST, destination_local_root=dest
    )
    monitor = TransferMonitor(model, settings=settings, login=login, active_interval=0.2)
    try:
        model.select_frames([0, 1, 2])
        time.sleep(0.3)
        assert not model.download_bytes().exact  # not logged in: Globus cannot list, the estimate stays
        assert "log in to Globus" in monitor.sizes_note.value
        monitor.start_selection.click()
        assert LOGIN_FIRST in monitor.message.value and "dkw-error" in monitor.message.value
        sign_in(login)
        assert login.state == LOGGED_IN
        assert LOGIN_FIRST not in monitor.message.value  # stale the moment the login changed
        wait_for(lambda: model.download_bytes().exact, what="the listing after the login")
        oracle = sum((archive / f"f{i}.fits").stat().st_size for i in (0, 1, 2))
        assert model.download_bytes().total == oracle
        assert human_bytes(oracle) in monitor.start_selection.description
        # another message (not a login one) is left alone by a later login change
        monitor._say("Started something.")
        login.logout()
        sign_in(login)
        assert "Started something." in monitor.message.value
    finally:
        monitor.close()
        auth.unprotect(svc)
        svc.stop()
        auth.stop()


def test_a_whole_gib_dataset_size_is_said_to_be_rough(tmp_path, archive):
    """The real data centre gives datasetSize in whole GiB: the estimate says it is rough."""
    model = make_model(tmp_path, archive)
    model.dataset.meta["inventory"]["datasetSize"] = 1  # what DKIST says for this small dataset
    model.set_dataset(model.dataset)
    got = model.download_bytes([0, 1])
    assert got.total == round(2 * GIB / N_FILES) and not got.exact
    assert "whole GiB" in got.text and got.short.startswith("≈ ")
    # a part listed exactly and a part estimated: still an estimate, of the weaker kind
    sizes = np.full(N_FILES, -1.0)
    sizes[0] = (archive / "f0.fits").stat().st_size
    model.set_file_sizes(sizes)
    mixed = model.download_bytes([0, 1])
    assert mixed.n_estimated == 1 and mixed.total == file_size(0) + round(GIB / N_FILES)
    assert "whole GiB" in mixed.text
