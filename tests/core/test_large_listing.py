"""Listings over 100,000 files (issue 15.3): the loopback Globus pages ``operation_ls``
at 100,000 entries like real Globus, and the planner's listing pages until complete.

Oracle: ``os.scandir`` of the folder (names and sizes). The >100,000 case uses empty
files in a temporary folder (a few seconds); the page-size knob case checks the
paging arithmetic on a small folder in about a second and runs by default; the real
>100,000-file folder costs ~30 s on a busy 2-core machine (file creation and two
29 MB answers), so it is marked ``slow``.
"""

from __future__ import annotations

import os
import time

import globus_sdk
import pytest

from dkist_widgets.core.transfers import TransferSession, TransferSettings
from dkist_widgets.sandbox.globus_service import LS_PAGE_MAX, LoopbackGlobus

SRC = "5d1c0e2a-0000-4000-8000-0000000000aa"
DST = "5d1c0e2a-0000-4000-8000-0000000000bb"

pytestmark = pytest.mark.timeout(120)


def _make_files(folder, n, *, sized=0):
    folder.mkdir(parents=True)
    for i in range(n):
        fd = os.open(folder / f"f{i:06d}.fits", os.O_CREAT | os.O_WRONLY, 0o644)
        if i < sized:
            os.write(fd, b"x" * (i % 97 + 1))
        os.close(fd)


def _on_disk(folder) -> dict[str, int]:
    with os.scandir(folder) as entries:
        return {e.name: e.stat().st_size for e in entries if e.is_file()}


def _session(svc, dest) -> TransferSession:
    settings = TransferSettings(
        transfer_url=svc.url, source_endpoint_id=SRC, destination_endpoint_id=DST, destination_local_root=dest
    )
    return TransferSession(settings)


def test_listing_pages_with_a_small_page_knob(tmp_path):
    root, dest = tmp_path / "dkist", tmp_path / "dest"
    dest.mkdir()
    folder = root / "data" / "pid_1" / "MANY"
    _make_files(folder, 2345, sized=300)
    (folder / "sub").mkdir()  # directories are not files
    svc = LoopbackGlobus(
        {SRC: ("DKIST", root, False), DST: ("Laptop", dest, True)}, rate_bytes_per_s=None, ls_page_max=1000
    ).start()
    try:
        tc = globus_sdk.TransferClient(base_url=svc.url, authorizer=globus_sdk.NullAuthorizer())
        one = tc.operation_ls(SRC, path="/data/pid_1/MANY/")
        assert len(one["DATA"]) == 1000 and one["total"] == 2346  # one answer is not the folder
        svc.reset_request_counts()
        sizes = _session(svc, dest).listing("/data/pid_1/MANY")
        assert sizes == _on_disk(folder)
        assert svc.request_counts["ls"] == 3
    finally:
        svc.stop()


@pytest.mark.slow
def test_listing_over_100000_files(tmp_path):
    n = LS_PAGE_MAX + 1234
    root, dest = tmp_path / "dkist", tmp_path / "dest"
    dest.mkdir()
    folder = root / "data" / "pid_1" / "HUGE"
    started = time.perf_counter()
    _make_files(folder, n, sized=50)
    svc = LoopbackGlobus({SRC: ("DKIST", root, False), DST: ("Laptop", dest, True)}, rate_bytes_per_s=None).start()
    try:
        tc = globus_sdk.TransferClient(base_url=svc.url, authorizer=globus_sdk.NullAuthorizer())
        with pytest.raises(globus_sdk.TransferAPIError):
            tc.operation_ls(SRC, path="/data/pid_1/HUGE/", limit=LS_PAGE_MAX + 1)
        svc.reset_request_counts()
        sizes = _session(svc, dest).listing("/data/pid_1/HUGE")
        assert len(sizes) == n
        assert sizes == _on_disk(folder)
        assert svc.request_counts["ls"] == 2  # 100,000 + 1,234: capped like real Globus, then paged
    finally:
        svc.stop()
    assert time.perf_counter() - started < 90
