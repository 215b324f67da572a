"""Benchmark: `dkist-widgets demo` until JupyterLab answers and until a kernel has the world (issue 18.4).

Runs the demo of a checkout (``--checkout``, default this one; pass main's to get the
baseline) with a private data folder whose sample archive is a link to the cached
one (a cached start), then times from launch until ``/lab`` answers HTTP, and until a
kernel started through the server's REST API right then is running with the world's
``HOME`` (read from the kernel process's ``/proc/<pid>/environ``; the world prints
its local endpoint folder, which is the kernels' home). Linux only.

    .venv/bin/python benchmarks/bench_demo_side_by_side.py [--checkout DIR] [--port N]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests


def kernel_env(kernel_id: str) -> dict[str, str] | None:
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().split(b"\0")
            if not any(kernel_id.encode() in part for part in cmdline) or b"ipykernel_launcher" not in b" ".join(
                cmdline
            ):
                continue
            raw = (proc / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        return dict(item.decode(errors="replace").split("=", 1) for item in raw if b"=" in item)
    return None


def one(checkout: Path, port: int, archive: Path) -> tuple[float, float]:
    data = Path(tempfile.mkdtemp(prefix="dkw-demo-bench-"))
    (data / archive.name).symlink_to(archive)
    token = os.urandom(12).hex()  # the server's token, so this script may start a kernel
    env = dict(os.environ, DKIST_WIDGETS_DATA_DIR=str(data), PYTHONPATH=str(checkout), JUPYTER_TOKEN=token)
    headers = {"Authorization": f"token {token}"}
    log = open(data / "demo.log", "w+")
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "dkist_widgets.cli", "demo", "--no-browser", f"--port={port}"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=checkout,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        while True:
            try:
                if requests.get(f"{base}/lab", headers=headers, timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if proc.poll() is not None:
                raise RuntimeError(f"demo exited: {(data / 'demo.log').read_text()[-2000:]}")
            time.sleep(0.1)
        lab = time.perf_counter() - t0
        kernel = requests.post(f"{base}/api/kernels", json={"name": "python3"}, headers=headers, timeout=120).json()[
            "id"
        ]
        while True:
            text = (data / "demo.log").read_text()
            found = re.search(r"local endpoint\s*:\s*(\S+)", text)
            envs = kernel_env(kernel)
            if found and envs and envs.get("HOME") == found.group(1):
                break
            if time.perf_counter() - t0 > 300:
                raise RuntimeError("no kernel with the world's HOME within 300 s")
            time.sleep(0.1)
        return lab, time.perf_counter() - t0
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--checkout", default=str(Path(__file__).resolve().parent.parent))
    parser.add_argument("--port", type=int, default=8931)
    args = parser.parse_args()
    from dkist_widgets.sandbox.archive import ensure_archive

    archive = Path(ensure_archive().root)
    lab, kernel = one(Path(args.checkout), args.port, archive)
    print(
        f"{args.checkout}: JupyterLab answers after {lab:.2f} s; a kernel started then has the world's HOME "
        f"after {kernel:.2f} s"
    )
