"""A missing destination folder is created, or refused in one sentence, before anything
is submitted (issue 15.7, second half). Real globus_sdk against the loopback Globus;
oracles: the folders on disk and the service's request counts (no transfer request).
"""

from __future__ import annotations

import globus_sdk
import pytest

from dkist_widgets.core.transfers.destination_folder import DestinationRefused, prepare_destination_folder
from dkist_widgets.sandbox.globus_service import LoopbackGlobus

RW = "5d1c0e2a-0000-4000-8000-0000000000a1"
RO = "5d1c0e2a-0000-4000-8000-0000000000a2"

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def svc(tmp_path):
    (tmp_path / "rw").mkdir()
    (tmp_path / "ro").mkdir()
    svc = LoopbackGlobus(
        {RW: ("Scratch", tmp_path / "rw", True), RO: ("Archive (read-only)", tmp_path / "ro", False)},
        rate_bytes_per_s=None,
    ).start()
    yield svc
    svc.stop()


def client(svc):
    return globus_sdk.TransferClient(base_url=svc.url, authorizer=globus_sdk.NullAuthorizer())


def test_missing_folder_is_created_level_by_level(svc, tmp_path):
    said = prepare_destination_folder(client(svc), RW, "/dkist/pid_1_2/ABCDE")
    assert said == "Created the folder /dkist/pid_1_2/ABCDE/ on the destination."
    assert (tmp_path / "rw" / "dkist" / "pid_1_2" / "ABCDE").is_dir()
    assert svc.request_counts["mkdir"] == 3
    # a second time: it exists, nothing is made
    assert prepare_destination_folder(client(svc), RW, "/dkist/pid_1_2/ABCDE/") == ""
    assert svc.request_counts["mkdir"] == 3


def test_existing_parent_is_not_made_again(svc, tmp_path):
    (tmp_path / "rw" / "dkist").mkdir()
    prepare_destination_folder(client(svc), RW, "/dkist/X")
    assert svc.request_counts["mkdir"] == 1 and (tmp_path / "rw" / "dkist" / "X").is_dir()


def test_read_only_destination_is_refused_in_one_sentence(svc, tmp_path):
    with pytest.raises(DestinationRefused) as info:
        prepare_destination_folder(client(svc), RO, "/dkist/ABCDE")
    message = str(info.value)
    assert "could not be created" in message and "no permission" in message and "\n" not in message
    assert not (tmp_path / "ro" / "dkist").exists()
    assert svc.request_counts.get("transfer", 0) == 0


def test_missing_folder_refused_when_not_creating(svc, tmp_path):
    with pytest.raises(DestinationRefused, match="does not exist"):
        prepare_destination_folder(client(svc), RW, "/nope", create=False)
    assert not (tmp_path / "rw" / "nope").exists()


def test_a_file_is_not_a_folder(svc, tmp_path):
    (tmp_path / "rw" / "afile").write_bytes(b"x")
    with pytest.raises(DestinationRefused, match="is a file"):
        prepare_destination_folder(client(svc), RW, "/afile")


def _session(svc, source, destination):
    from dkist_widgets.core.transfers import TransferSession, TransferSettings

    settings = TransferSettings(
        transfer_url=svc.url, source_endpoint_id=source, destination_endpoint_id=destination, login_required=False
    )
    return TransferSession(settings, client=client(svc))


def _plan(dest_folder):
    from dkist_widgets.core.transfers.plan import TransferItem, TransferPlan

    item = TransferItem("/src/a.fits", dest_folder + "a.fits", size=3)
    return TransferPlan("selection", "t", (item,), ("ABCDE",), dest_folder, 1, 3, (), (("/src/", dest_folder),))


def test_submit_to_another_collection_creates_the_folder_first(svc, tmp_path):
    (tmp_path / "rw" / "src").mkdir()
    (tmp_path / "rw" / "src" / "a.fits").write_bytes(b"abc")
    session = _session(svc, RW, RW)
    session.submit(_plan("/dkist/pid_1_2/ABCDE/"), destination_endpoint_id=RW)
    assert (tmp_path / "rw" / "dkist" / "pid_1_2" / "ABCDE").is_dir()
    assert svc.request_counts["mkdir"] == 3 and svc.request_counts["transfer"] == 1


def test_submit_to_a_folder_that_cannot_be_made_is_refused_before_submitting(svc, tmp_path):
    session = _session(svc, RW, RO)
    with pytest.raises(DestinationRefused) as info:
        session.submit(_plan("/dkist/ABCDE/"), destination_endpoint_id=RO)
    assert "no permission" in str(info.value) and "\n" not in str(info.value)
    assert svc.request_counts.get("transfer", 0) == 0
    assert not (tmp_path / "ro" / "dkist").exists()
