"""Destinations a user really has (issue 15.7): own collections, guest collections shared
with them and bookmarks first, then matches among all collections; a bookmark's folder
becomes the destination root.

The real ``globus_sdk.TransferClient`` drives the loopback Globus. Oracles: the
collections and bookmark this file declares (which are the user's, which are shared,
which folder a bookmark names) and, for the transfer, the files on disk (SHA-256).
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import globus_sdk
import numpy as np
import pytest

from dkist_widgets.core.model import DatasetModel
from dkist_widgets.core.transfers import TaskStore, TransferSession, TransferSettings
from dkist_widgets.core.transfers.destinations_search import GROUP_LABELS, find_destinations
from dkist_widgets.sandbox.globus_engine import Endpoint
from dkist_widgets.sandbox.globus_service import LoopbackGlobus
from tests.helpers import dkist_samples

pytestmark = pytest.mark.timeout(90)

SRC = "7e2d0c1b-0000-4000-8000-0000000000a0"  # the DKIST collection (not the user's)
LAPTOP = "7e2d0c1b-0000-4000-8000-0000000000a1"  # Globus Connect Personal: the user's own
WORKSTATION = "7e2d0c1b-0000-4000-8000-0000000000a2"  # a collection the user owns
CLUSTER = "7e2d0c1b-0000-4000-8000-0000000000a3"  # an institution's mapped collection
GUEST = "7e2d0c1b-0000-4000-8000-0000000000a4"  # guest collection on CLUSTER, shared with the user
ELSEWHERE = "7e2d0c1b-0000-4000-8000-0000000000a5"  # someone else's public collection
HOST_PATH = "/projects/solar/"
MARK_NAME = "Solar share <b>downloads</b>"  # markup in a name stays text
MARK_PATH = "/dkist-downloads/"
PROPOSAL, DATASET, N_FILES = "pid_2_7", "FGHIJ", 6


@pytest.fixture
def roots(tmp_path) -> dict[str, Path]:
    made = {name: tmp_path / name for name in ("dkist", "laptop", "workstation", "cluster", "elsewhere")}
    for path in made.values():
        path.mkdir()
    made["guest"] = made["cluster"] / HOST_PATH.strip("/")
    made["guest"].mkdir(parents=True)
    folder = made["dkist"] / "data" / PROPOSAL / DATASET
    folder.mkdir(parents=True)
    rng = np.random.default_rng(3)
    for i in range(N_FILES):
        (folder / f"f{i}.fits").write_bytes(rng.integers(0, 256, 4000 + 7 * i, dtype=np.uint8).tobytes())
    return made


@pytest.fixture
def globus(roots):
    endpoints = [
        Endpoint(SRC, "DKIST Data Transfer (test)", roots["dkist"], writable=False, description="solar data centre"),
        Endpoint(LAPTOP, "My laptop (test GCP)", roots["laptop"], is_globus_connect=True),
        Endpoint(WORKSTATION, "Solar lab workstation", roots["workstation"], mine=True),
        Endpoint(CLUSTER, "Institute cluster storage", roots["cluster"], description="mapped collection"),
        Endpoint(
            GUEST,
            "Solar group share",
            roots["guest"],
            description="guest collection",
            host_endpoint_id=CLUSTER,
            host_path=HOST_PATH,
            shared_with_me=True,
        ),
        Endpoint(ELSEWHERE, "Solar archive at another university", roots["elsewhere"]),
    ]
    svc = LoopbackGlobus({ep.id: ep for ep in endpoints}, rate_bytes_per_s=None).start()
    svc.add_bookmark(MARK_NAME, GUEST, MARK_PATH)
    yield svc
    svc.stop()


def client(svc) -> globus_sdk.TransferClient:
    return globus_sdk.TransferClient(base_url=svc.url, authorizer=globus_sdk.NullAuthorizer())


# ---------------------------------------------------------------------- the loopback, as Globus
def test_loopback_scopes_guest_collections_and_bookmarks_as_globus(globus):
    tc = client(globus)
    assert {d["id"] for d in tc.endpoint_search(filter_scope="my-endpoints")} == {LAPTOP, WORKSTATION}
    shared = list(tc.endpoint_search(filter_scope="shared-with-me"))
    assert [d["id"] for d in shared] == [GUEST]
    assert shared[0]["entity_type"] == "GCSv5_guest_collection"
    assert (shared[0]["host_endpoint_id"], shared[0]["host_path"]) == (CLUSTER, HOST_PATH)
    assert tc.get_endpoint(CLUSTER)["entity_type"] == "GCSv5_mapped_collection"
    assert {d["id"] for d in tc.endpoint_search("solar", filter_scope="my-endpoints")} == {WORKSTATION}
    assert {d["id"] for d in tc.endpoint_search("solar", filter_scope="all")} == {SRC, WORKSTATION, GUEST, ELSEWHERE}
    with pytest.raises(globus_sdk.TransferAPIError) as info:
        tc.endpoint_search(filter_scope="all")  # Globus wants words for "all"
    assert info.value.http_status == 400
    marks = list(tc.bookmark_list())
    assert [(m["name"], m["endpoint_id"], m["path"]) for m in marks] == [(MARK_NAME, GUEST, MARK_PATH)]
    assert marks[0]["DATA_TYPE"] == "bookmark"


def test_loopback_recently_used_lists_the_users_task_endpoints_newest_first(globus, roots):
    tc = client(globus)
    assert list(tc.endpoint_search(filter_scope="recently-used")) == []
    for dest in (ELSEWHERE, WORKSTATION):
        td = globus_sdk.TransferData(SRC, dest)
        td.add_item(f"/data/{PROPOSAL}/{DATASET}/f0.fits", "/f0.fits")
        tc.submit_transfer(td)
        time.sleep(0.01)
    assert [d["id"] for d in tc.endpoint_search(filter_scope="recently-used")] == [WORKSTATION, SRC, ELSEWHERE]


# ---------------------------------------------------------------------- core
def test_empty_text_lists_own_shared_and_bookmarked_places_labelled(globus):
    found = find_destinations(client(globus), "")
    assert [d.group for d in found] == ["mine", "mine", "shared", "bookmark"]
    assert {d.endpoint_id for d in found[:2]} == {LAPTOP, WORKSTATION}
    assert [(d.endpoint_id, d.path) for d in found[2:]] == [(GUEST, None), (GUEST, MARK_PATH)]
    assert all(d.label == f"My collection: {d.name}" for d in found[:2])  # one's own: no owner shown
    mark = found[-1]
    assert mark.label == f"Bookmark: {MARK_NAME} (Solar group share, {MARK_PATH})"
    assert found[2].label.startswith(GROUP_LABELS["shared"] + ": Solar group share")


def test_search_puts_the_users_places_first_then_all_matches_without_duplicates(globus):
    found = find_destinations(client(globus), "solar")
    first = [("mine", WORKSTATION), ("shared", GUEST), ("bookmark", GUEST)]
    assert [(d.group, d.endpoint_id) for d in found[:3]] == first
    assert [d.group for d in found[3:]] == ["found", "found"]
    assert {d.endpoint_id for d in found[3:]} == {SRC, ELSEWHERE}
    collections = [d.endpoint_id for d in found if d.path is None]
    assert len(collections) == len(set(collections))  # the guest collection is not "found" again
    # a bookmark is found by its own name, its collection's name or its folder
    assert [d.group for d in find_destinations(client(globus), "downloads")] == ["bookmark"]
    assert [d.endpoint_id for d in find_destinations(client(globus), "laptop")] == [LAPTOP]
    assert find_destinations(client(globus), "nothing-has-this-name") == []


# ---------------------------------------------------------------------- panel + transfer
def test_picking_a_bookmark_sends_the_files_under_its_folder(globus, roots, tmp_path):
    from dkist_widgets.panels.transfers import TransferMonitor

    settings = TransferSettings(
        transfer_url=globus.url,
        source_endpoint_id=SRC,
        destination_endpoint_id=LAPTOP,
        destination_local_root=roots["laptop"],
    )
    names = np.array([f"f{i}.fits" for i in range(N_FILES)])
    ds = dkist_samples.synthetic_dataset((2, 3), names=names, basepath=tmp_path / "nowhere")
    ds.meta["inventory"].update({"datasetId": DATASET, "primaryProposalId": PROPOSAL, "bucket": "data"})
    model = DatasetModel(ds)
    model.select_frames([0, 1, 2])
    monitor = TransferMonitor(
        model,
        session=TransferSession(settings),
        store=TaskStore(tmp_path / "t.json"),
        active_interval=0.1,
        refresh_interval=0.2,
    )
    try:
        monitor.search_button.click()  # no words: own, shared and bookmarked places
        assert [value for _, value in monitor.endpoint.options].count(LAPTOP) == 1  # "This computer" only
        assert [label.split(":")[0] for label, _ in monitor.endpoint.options[1:]] == [
            "My collection",
            "Shared with me",
            "Bookmark",
        ]
        monitor.search_text.value = "share"
        monitor.search_button.click()
        labels = [label for label, _ in monitor.endpoint.options]
        assert labels[0].startswith("This computer")
        assert f"Bookmark: {MARK_NAME} (Solar group share, {MARK_PATH})" in labels
        assert "<b>" not in monitor.message.value and "shared with me" in monitor.message.value
        monitor.endpoint.index = labels.index(f"Bookmark: {MARK_NAME} (Solar group share, {MARK_PATH})")
        assert monitor.endpoint.value == GUEST and monitor.root.value == MARK_PATH
        assert f"{MARK_PATH}dkist/{PROPOSAL}/{DATASET}/" in monitor.path_preview.value
        assert "on this machine" not in monitor.path_preview.value  # the files go to the share
        monitor.endpoint.index = 0  # back to this computer: its root and its local folder again
        assert monitor.root.value == settings.destination_root and "on this machine" in monitor.path_preview.value
        monitor.endpoint.index = labels.index(f"Bookmark: {MARK_NAME} (Solar group share, {MARK_PATH})")
        assert monitor.root.value == MARK_PATH
        monitor.start_selection.click()
        assert len(monitor.rows.children) == 1, monitor.message.value
        landed = roots["guest"] / MARK_PATH.strip("/") / "dkist" / PROPOSAL / DATASET
        source = roots["dkist"] / "data" / PROPOSAL / DATASET
        expected = {
            name: hashlib.sha256((source / name).read_bytes()).hexdigest()
            for name in sorted({str(model.dataset.files.filenames[i]) for i in (0, 1, 2)})
        }
        deadline = time.monotonic() + 30
        while sorted(p.name for p in landed.glob("*.fits")) != sorted(expected):
            assert time.monotonic() < deadline, list(landed.glob("*"))
            time.sleep(0.05)
        assert {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in landed.glob("*.fits")} == expected
        assert not any((roots["laptop"]).rglob("*.fits"))  # nothing went to the laptop
    finally:
        monitor.close()
