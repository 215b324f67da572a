"""The demo's server gets the world's settings; only its kernels get the sandbox home.

The kernels' ``HOME`` is the local endpoint folder (where dkist finds the loopback
endpoint as it finds Globus Connect Personal). A Jupyter server, or a shell that
evaluates ``dkist-widgets world``'s output, must keep the user's own home.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import start_new_kernel

from dkist_widgets.sandbox.world import KERNEL_ONLY, World


def _world(tmp_path: Path) -> World:
    return World(
        datacentre_url="http://127.0.0.1:1/",
        transfer_url="http://127.0.0.1:2/",
        archive_dir=tmp_path / "archive",
        local_endpoint_dir=tmp_path / "laptop",
        auth_url="http://127.0.0.1:3/",
    )


def test_server_environment_keeps_the_users_home(tmp_path):
    world = _world(tmp_path)
    env = world.server_environment(tmp_path / "jupyter")
    assert not set(env) & set(KERNEL_ONLY)
    kernel_env = world.kernel_environment()
    assert kernel_env["HOME"] == str((tmp_path / "laptop").absolute())
    for key, value in kernel_env.items():
        if key not in KERNEL_ONLY:
            assert env[key] == value, key
    assert env["JUPYTER_PATH"].split(os.pathsep)[0] == str(tmp_path / "jupyter")


def test_a_kernel_started_through_the_server_path_gets_the_sandbox_home(tmp_path, monkeypatch):
    world = _world(tmp_path)
    env = world.server_environment(tmp_path / "jupyter")
    spec = KernelSpecManager(kernel_dirs=[str(tmp_path / "jupyter" / "kernels")]).get_kernel_spec("python3")
    assert spec.env["HOME"] == str((tmp_path / "laptop").absolute())
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    outputs: list[dict] = []
    manager, client = start_new_kernel(kernel_name="python3")
    try:
        reply = client.execute_interactive(
            "import os, json; print(json.dumps({k: os.environ.get(k) for k in ('HOME', 'XDG_CACHE_HOME')}))",
            timeout=60,
            output_hook=lambda msg: outputs.append(msg),
        )
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    assert reply["content"]["status"] == "ok"
    text = "".join(m["content"].get("text", "") for m in outputs if m["msg_type"] == "stream")
    seen = json.loads(text)
    assert seen["HOME"] == str((tmp_path / "laptop").absolute())
    assert seen["XDG_CACHE_HOME"] == str((tmp_path / "laptop").absolute() / ".cache")
    assert os.environ["HOME"] != seen["HOME"]  # this process (the "server") kept its own
