"""The loopback local endpoint behaves as Globus Connect Personal (issue 16, items 1-2).

* found as GCP is found: ``globus_sdk.LocalGlobusConnectPersonal`` (what dkist asks)
  reads the sandbox's ``~/.globusonline/lta/client-id.txt`` in the sandbox's home,
  and only there;
* paths as GCP interprets them: absolute paths are real paths inside the allowed
  folders (``config-paths``), ``~/`` and ``/~/`` are the home, others are refused
  (faults, never a silent success) and relative paths get a 400.

Real ``globus_sdk.TransferClient`` against the loopback service; oracles are the
files on disk (bytes compared with the source) and globus-sdk's own GCP reader.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import globus_sdk
import pytest

from dkist_widgets.sandbox import local_gcp
from dkist_widgets.sandbox.globus_engine import Endpoint
from dkist_widgets.sandbox.globus_service import LoopbackGlobus

pytestmark = pytest.mark.timeout(60)

SRC = "9a1c0e2a-0000-4000-8000-0000000000aa"
GCP = "9a1c0e2a-0000-4000-8000-0000000000bb"


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def layout(tmp_path):
    src = tmp_path / "archive"
    (src / "data" / "pid_1_1" / "AAAAA").mkdir(parents=True)
    for name in ("x.fits", "y.fits"):
        (src / "data" / "pid_1_1" / "AAAAA" / name).write_bytes(os.urandom(30_000))
    home = tmp_path / "home"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    return src, home, elsewhere


@pytest.fixture
def service(layout):
    src, home, _ = layout
    svc = LoopbackGlobus(
        {
            SRC: Endpoint(SRC, "DKIST (test)", src, writable=False),
            GCP: local_gcp.gcp_endpoint(GCP, "Laptop (test GCP)", home),
        },
        rate_bytes_per_s=None,
        fault_retry_interval=0.1,
    ).start()
    yield svc
    svc.stop()


@pytest.fixture
def tc(service):
    return globus_sdk.TransferClient(base_url=service.url, authorizer=globus_sdk.NullAuthorizer())


def run(tc, destination_path, *, until_done=True, timeout=15.0):
    td = globus_sdk.TransferData(SRC, GCP, deadline=None)
    td.add_item("/data/pid_1_1/AAAAA/x.fits", destination_path)
    task_id = tc.submit_transfer(td)["task_id"]
    end = time.monotonic() + timeout
    while True:
        task = tc.get_task(task_id)
        if (task["status"] != "ACTIVE") if until_done else (task["faults"] > 0):
            return task_id, task
        assert time.monotonic() < end, task.data
        time.sleep(0.05)


def test_found_as_globus_sdk_finds_gcp(layout, monkeypatch):
    _, home, _ = layout
    real_home = Path.home()
    real_gcp = real_home / ".globusonline" / "lta" / "client-id.txt"
    before = real_gcp.read_bytes() if real_gcp.exists() else None
    local_gcp.gcp_endpoint(GCP, "Laptop", home)
    # outside the sandbox's home nothing changed: a real GCP (or its absence) stays as it was
    assert (real_gcp.read_bytes() if real_gcp.exists() else None) == before
    env = local_gcp.kernel_environment(home)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert globus_sdk.LocalGlobusConnectPersonal().endpoint_id == GCP
    import dkist.net.globus.endpoints as dkist_endpoints

    assert dkist_endpoints.get_local_endpoint_id() == GCP  # what ds.files.download() asks
    # dkist's token cache moves with the home, away from the user's real one
    import dkist.net.globus.auth as dkist_auth

    assert dkist_auth.get_cache_file_path().is_relative_to(home)


def test_absolute_path_is_the_real_path(layout, tc):
    src, home, _ = layout
    target = home / "sunpy" / "data" / "AAAAA" / "x.fits"
    _, task = run(tc, str(target))
    assert task["status"] == "SUCCEEDED"
    assert sha(target) == sha(src / "data" / "pid_1_1" / "AAAAA" / "x.fits")
    assert not (home / str(target).lstrip("/")).exists()  # not nested under the home again


@pytest.mark.parametrize("spelling", ["~/dkist/AAAAA/x.fits", "/~/dkist/AAAAA/x.fits"])
def test_tilde_is_the_home(layout, tc, spelling):
    src, home, _ = layout
    _, task = run(tc, spelling)
    assert task["status"] == "SUCCEEDED"
    assert sha(home / "dkist" / "AAAAA" / "x.fits") == sha(src / "data" / "pid_1_1" / "AAAAA" / "x.fits")


def test_path_outside_the_allowed_folders_is_refused(layout, tc):
    _, _home, elsewhere = layout
    target = elsewhere / "x.fits"
    task_id, task = run(tc, str(target), until_done=False)
    assert task["status"] == "ACTIVE" and task["is_ok"] is False and task["nice_status"] == "PERMISSION_DENIED"
    events = [e for e in tc.task_event_list(task_id) if e["is_error"]]
    assert events and events[0]["code"] == "PERMISSION_DENIED"
    assert not target.exists() and not list(elsewhere.iterdir())
    assert task["files_transferred"] == 0
    tc.cancel_task(task_id)
    with pytest.raises(globus_sdk.TransferAPIError) as err:
        tc.operation_ls(GCP, path=str(elsewhere))
    assert err.value.http_status == 403


def test_config_paths_allow_more_folders(layout):
    src, home, elsewhere = layout
    local_gcp.install(home, GCP)
    (home / local_gcp.CONFIG_SUBDIR / "config-paths").write_text(f"~/,0,1\n{elsewhere},0,1\n/,0,0\n")
    allowed = local_gcp.read_restrict_paths(home)
    assert allowed == ((home, True), (elsewhere, True), (Path("/"), False))
    svc = LoopbackGlobus(
        {
            SRC: Endpoint(SRC, "DKIST (test)", src, writable=False),
            GCP: local_gcp.gcp_endpoint(GCP, "Laptop (test GCP)", home),
        },
        rate_bytes_per_s=None,
        fault_retry_interval=0.1,
    ).start()
    try:
        client = globus_sdk.TransferClient(base_url=svc.url, authorizer=globus_sdk.NullAuthorizer())
        _, task = run(client, str(elsewhere / "x.fits"))
        assert task["status"] == "SUCCEEDED" and (elsewhere / "x.fits").is_file()
        names = {e["name"] for e in client.operation_ls(GCP, path="/")}  # "/" readable, not writable
        assert names == {p.name for p in Path("/").iterdir()}
    finally:
        svc.stop()


def test_relative_path_is_a_bad_request(tc):
    with pytest.raises(globus_sdk.TransferAPIError) as err:
        run(tc, "dkist/x.fits")
    assert err.value.http_status == 400
