"""`dkist-widgets demo` starts JupyterLab while the world starts (issue 18.4).

A kernel started before the world is up uses the waiting ``python3`` kernelspec the
demo writes first; it must end up a real kernel with the world's settings (the
kernelspec ``World.server_environment`` writes), or exit saying the world failed.
Real kernels (jupyter_client) and a real offline world; the oracle is the world's
own ``kernel_environment()``.
"""

from __future__ import annotations

import json
import time

import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager

from dkist_widgets.cli import _waiting_kernelspec

pytestmark = pytest.mark.timeout(240)


def _manager(folder):
    return KernelManager(
        kernel_name="python3", kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(folder / "kernels")])
    )


def test_a_kernel_started_before_the_world_gets_its_settings(world, tmp_path):
    _waiting_kernelspec(tmp_path)
    km = _manager(tmp_path)
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    try:
        time.sleep(1.0)
        assert km.is_alive()  # waiting, not failed
        world.server_environment(tmp_path)  # what the demo's world thread does once up
        kc.wait_for_ready(timeout=120)
        expected = world.kernel_environment()
        code = f"import os, json\nprint(json.dumps({{k: os.environ.get(k) for k in {sorted(expected)!r}}}))"
        out = []
        reply = kc.execute_interactive(code, timeout=60, output_hook=lambda m: out.append(m))
        assert reply["content"]["status"] == "ok"
        text = "".join(m["content"].get("text", "") for m in out if m["msg_type"] == "stream")
        assert json.loads(text) == expected
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_a_waiting_kernel_exits_when_the_world_fails(tmp_path):
    _waiting_kernelspec(tmp_path)
    km = _manager(tmp_path)
    km.start_kernel()
    try:
        _waiting_kernelspec(tmp_path, state="OSError: port in use")
        for _ in range(100):
            if not km.is_alive():
                break
            time.sleep(0.1)
        assert not km.is_alive()
        assert km.provisioner.process.returncode == 1
    finally:
        km.shutdown_kernel(now=True)
