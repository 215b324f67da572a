"""``dkist-widgets demo`` (issue 14.12): it opens the workshop notebook, and its loopback
Globus is slow enough by default that a transfer can be watched and cancelled in a room.

Oracles: the JupyterLab server the demo starts (where its root URL sends a browser),
and Globus's own task document for a transfer of the workshop's files from the sample
archive at the demo's default rate.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import globus_sdk
import pytest
import requests

from dkist_widgets import cli
from dkist_widgets.sandbox.globus_service import LoopbackGlobus
from tests.helpers.ports import free_port

REPO = Path(__file__).resolve().parents[2]
SRC = "5d1c0e2a-0000-4000-8000-0000000000d1"
DST = "5d1c0e2a-0000-4000-8000-0000000000d2"
WORKSHOP_FILES = 80  # the workshop selection of KPLMQ in archive v5 (longest good-seeing run, every Stokes state)


@pytest.mark.timeout(240)
def test_demo_opens_the_workshop_notebook_at_the_demo_rate(tmp_path):
    port = free_port()
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
        JUPYTER_CONFIG_DIR=str(tmp_path / "cfg"),
        JUPYTER_DATA_DIR=str(tmp_path / "data"),
        JUPYTER_RUNTIME_DIR=str(tmp_path / "rt"),
        JUPYTER_PLATFORM_DIRS="1",
        DKIST_WIDGETS_WORLD="",
    )
    log = open(tmp_path / "demo.log", "w+")
    proc = subprocess.Popen(
        [sys.executable, "-m", "dkist_widgets.cli", "demo", "--no-browser", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 200
        while True:
            assert proc.poll() is None, (tmp_path / "demo.log").read_text()[-3000:]
            try:
                answer = requests.get(f"http://127.0.0.1:{port}/", allow_redirects=False, timeout=2)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, (tmp_path / "demo.log").read_text()[-3000:]
                time.sleep(0.5)
        # a browser opening the demo's address lands on the workshop notebook
        assert answer.status_code in (301, 302), answer.status_code
        assert answer.headers["Location"].split("?")[0].endswith("/lab/tree/01_downloading_data.ipynb")
        assert (REPO / "notebooks" / "01_downloading_data.ipynb").is_file()
        # the world starts beside JupyterLab: wait until the demo has said where it is
        while not re.search(r"copies at ([\d.]+) MB/s per task", (tmp_path / "demo.log").read_text()):
            assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "demo.log").read_text()[-3000:]
            time.sleep(0.5)
        said = (tmp_path / "demo.log").read_text()
        archive = Path(re.search(r"sample archive    : (\S+)", said).group(1))
        rate = float(re.search(r"copies at ([\d.]+) MB/s per task", said).group(1)) * 1e6
        assert rate == pytest.approx(cli.demo_rate(archive), rel=1e-3)
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


@pytest.mark.timeout(120)
def test_demo_rate_lets_a_room_watch_and_cancel_the_workshop_transfer(tmp_path):
    from dkist_widgets.sandbox.archive import FORMAT_VERSION
    from dkist_widgets.sandbox.paths import archive_root

    folder = archive_root(FORMAT_VERSION) / "data" / "pid_1_123" / "KPLMQ"
    if not folder.is_dir():
        pytest.skip(f"the sample archive is not generated at {folder}")
    names = sorted(p.name for p in folder.glob("*.fits"))[:WORKSHOP_FILES]
    total = sum((folder / n).stat().st_size for n in names)
    rate = cli.demo_rate(archive_root(FORMAT_VERSION))
    seconds = total / rate
    assert 15 <= seconds <= 60, f"the workshop transfer would take {seconds:.0f} s at the demo rate"

    dest = tmp_path / "laptop"
    dest.mkdir()
    svc = LoopbackGlobus(
        {SRC: ("DKIST", archive_root(FORMAT_VERSION), False), DST: ("Laptop", dest, True)}, rate_bytes_per_s=rate
    ).start()
    try:
        tc = globus_sdk.TransferClient(base_url=svc.url, authorizer=globus_sdk.NullAuthorizer())
        tdata = globus_sdk.TransferData(source_endpoint=SRC, destination_endpoint=DST, label="workshop")
        for n in names:
            tdata.add_item(f"/data/pid_1_123/KPLMQ/{n}", f"/~/{n}")
        task_id = tc.submit_transfer(tdata)["task_id"]
        time.sleep(4)  # a presenter points at the bar
        task = tc.get_task(task_id)
        assert task["status"] == "ACTIVE"
        assert 0 < task["bytes_transferred"] < total / 3, task["bytes_transferred"]  # moving, far from done
        assert tc.cancel_task(task_id)["code"] in ("Canceled", "CancelAccepted")
        end = time.monotonic() + 20
        while tc.get_task(task_id)["status"] == "ACTIVE" and time.monotonic() < end:
            time.sleep(0.2)
        assert tc.get_task(task_id)["status"] == "FAILED"  # Globus reports a cancelled task as FAILED
        assert len(list(dest.glob("*.fits"))) < len(names)
    finally:
        svc.stop()
