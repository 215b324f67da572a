"""The offline world: sample archive + loopback DKIST data centre + loopback Globus.

``start()`` is idempotent within a process and attaches across processes:

* In the process that owns the services (a test, or ``dkist-widgets demo``), it
  generates what is missing of the sample archive, starts both HTTP services on
  127.0.0.1 in daemon threads, writes a small state file, and points this process's
  ``dkist.net.conf`` and globus-sdk at them.
* In a kernel started by the demo, the environment variable ``DKIST_WIDGETS_WORLD``
  names that state file: ``start()`` then *attaches* to the running services
  (after checking they answer) instead of starting a second pair.

Either way the returned :class:`World` gives the base URLs, the archive folder and the
local endpoint folder, and ``stop()``.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

import requests

from . import paths
from .endpoints import (
    DKIST_ENDPOINT_ID,
    DKIST_ENDPOINT_NAME,
    LOCAL_ENDPOINT_ID,
    LOCAL_ENDPOINT_NAME,
)

__all__ = ["World", "start", "current", "ENV_WORLD_STATE"]

#: Environment variable naming the state file of a running world (set for kernels).
ENV_WORLD_STATE = "DKIST_WIDGETS_WORLD"

_lock = threading.Lock()
_current: World | None = None

#: An institution's Globus Connect Server v5 collection (not the user's) and a guest
#: collection on it shared with the user, with one bookmark there: what a scientist
#: whose group shares cluster storage sees in Globus.
CLUSTER_ENDPOINT_ID = "5a1c9e27-3d4b-4f60-8e2a-7b9c0d1e2f35"
CLUSTER_ENDPOINT_NAME = "Institute cluster storage (sandbox GCS v5)"
GUEST_ENDPOINT_ID = "c3d2e1f0-9a8b-4c7d-a6e5-f4d3c2b1a097"
GUEST_ENDPOINT_NAME = "Solar group share (sandbox guest collection)"
GUEST_HOST_PATH = "/projects/solar/"
BOOKMARK_NAME = "DKIST downloads on the solar share"
BOOKMARK_PATH = "/dkist-downloads/"


def shared_collections() -> dict:
    """The cluster's mapped collection and the guest collection shared with the user."""
    from .globus_engine import Endpoint

    cluster_root = paths.data_root() / "institute-cluster"
    guest_root = cluster_root / GUEST_HOST_PATH.strip("/")
    (guest_root / BOOKMARK_PATH.strip("/")).mkdir(parents=True, exist_ok=True)
    cluster = Endpoint(
        CLUSTER_ENDPOINT_ID,
        CLUSTER_ENDPOINT_NAME,
        cluster_root,
        description="An institution's Globus Connect Server v5 collection (sandbox)",
    )
    guest = Endpoint(
        GUEST_ENDPOINT_ID,
        GUEST_ENDPOINT_NAME,
        guest_root,
        description="Guest collection on the institute cluster, shared with you (sandbox)",
        host_endpoint_id=CLUSTER_ENDPOINT_ID,
        host_path=GUEST_HOST_PATH,
        shared_with_me=True,
    )
    return {CLUSTER_ENDPOINT_ID: cluster, GUEST_ENDPOINT_ID: guest}


def add_bookmark(globus) -> dict:
    """The user's bookmark on the guest collection (a folder of the group's share)."""
    return globus.add_bookmark(BOOKMARK_NAME, GUEST_ENDPOINT_ID, BOOKMARK_PATH)


#: Variables of :meth:`World.kernel_environment` that belong to kernels alone.
KERNEL_ONLY = ("HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME")


@dataclass
class World:
    """Handles and addresses of a running offline world."""

    datacentre_url: str
    transfer_url: str
    archive_dir: Path
    local_endpoint_dir: Path
    dkist_endpoint_id: str = DKIST_ENDPOINT_ID
    local_endpoint_id: str = LOCAL_ENDPOINT_ID
    #: Loopback Globus Auth (sign-in page, tokens) when the world has one.
    auth_url: str | None = None
    #: Service objects when this process owns them; None when attached.
    datacentre: object | None = field(default=None, repr=False)
    globus: object | None = field(default=None, repr=False)
    auth: object | None = field(default=None, repr=False)
    state_file: Path | None = None

    @property
    def dataset_endpoint(self) -> str:
        return self.datacentre_url.rstrip("/") + "/datasets/"

    @property
    def download_endpoint(self) -> str:
        return self.datacentre_url.rstrip("/") + "/download"

    @property
    def owns_services(self) -> bool:
        return self.datacentre is not None

    def to_json(self) -> dict:
        return {
            "datacentre_url": self.datacentre_url,
            "transfer_url": self.transfer_url,
            "archive_dir": str(self.archive_dir),
            "local_endpoint_dir": str(self.local_endpoint_dir),
            "dkist_endpoint_id": self.dkist_endpoint_id,
            "local_endpoint_id": self.local_endpoint_id,
            "auth_url": self.auth_url,
            "pid": os.getpid(),
        }

    def globus_environment(self) -> dict[str, str]:
        """The variables a real user sets to point globus-sdk and the transfer panels at a service.

        ``TransferSettings.from_environment()`` then finds this world with no
        knowledge of the sandbox: the source and destination endpoints, the folder
        behind the destination, and whether a login is needed (yes when the world
        has its loopback Globus Auth, which issues the only tokens its Transfer API
        accepts).
        """
        from ..core.transfers import ENV_DESTINATION, ENV_DESTINATION_ROOT, ENV_LOGIN, ENV_SOURCE, ENV_TRANSFER_URL

        env = {
            ENV_TRANSFER_URL: self.transfer_url,
            ENV_SOURCE: self.dkist_endpoint_id,
            ENV_DESTINATION: self.local_endpoint_id,
            ENV_DESTINATION_ROOT: str(self.local_endpoint_dir),
            ENV_LOGIN: "required" if self.auth_url else "none",
        }
        if self.auth_url:
            env["GLOBUS_SDK_SERVICE_URL_AUTH"] = self.auth_url
        return env

    def transfer_settings(self, **overrides):
        """``TransferSettings`` for this world without reading the environment (tests, scripts)."""
        from ..core.transfers import TransferSettings

        kwargs = {
            "transfer_url": self.transfer_url,
            "source_endpoint_id": self.dkist_endpoint_id,
            "destination_endpoint_id": self.local_endpoint_id,
            "destination_local_root": Path(self.local_endpoint_dir),
            "login_required": self.auth_url is not None,
        }
        kwargs.update(overrides)
        return TransferSettings(**kwargs)

    def kernel_environment(self, config_dir: Path | None = None) -> dict[str, str]:
        """Environment variables that make a fresh kernel use this world.

        With them, plain ``Fido.search(...)`` in that kernel reaches the loopback data
        centre (through an astropy config file for dkist) and ``globus_sdk`` reaches
        the loopback Transfer API; ``sandbox.start()`` there attaches to this world.
        """
        from .dkist_config import kernel_environment

        config_dir = config_dir or (paths.state_root() / "kernel-config")
        env = kernel_environment(config_dir, self.dataset_endpoint, self.download_endpoint, self.transfer_url)
        env.update(self.globus_environment())
        # The local endpoint's folder is these kernels' home, where dkist finds the
        # loopback endpoint as it finds Globus Connect Personal (sandbox/local_gcp.py).
        from .local_gcp import kernel_environment as gcp_home_environment

        env.update(gcp_home_environment(self.local_endpoint_dir))
        if self.state_file is not None:
            env[ENV_WORLD_STATE] = str(self.state_file)
        return env

    def server_environment(self, jupyter_dir: Path | None = None) -> dict[str, str]:
        """Environment for a Jupyter or Voila *server* whose kernels use this world.

        The kernels' own home and config (:data:`KERNEL_ONLY`: ``HOME`` and the XDG
        folders, where dkist finds the loopback endpoint as it finds Globus Connect
        Personal) must not become the server's, nor a shell's: the server would lose
        the user's Jupyter settings. So they go only into a ``python3`` kernelspec
        written under ``jupyter_dir``, which is put first on ``JUPYTER_PATH``; the rest
        of :meth:`kernel_environment` is set on the server too (harmless there).
        """
        kernel_env = self.kernel_environment()
        folder = Path(jupyter_dir or (paths.state_root() / "jupyter"))
        spec_dir = folder / "kernels" / "python3"
        spec_dir.mkdir(parents=True, exist_ok=True)
        spec = {
            "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "Python 3 (ipykernel)",
            "language": "python",
            "metadata": {"debugger": True},
            "env": kernel_env,
        }
        (spec_dir / "kernel.json").write_text(json.dumps(spec, indent=1), encoding="utf-8")
        env = {k: v for k, v in kernel_env.items() if k not in KERNEL_ONLY}
        env["JUPYTER_PATH"] = os.pathsep.join(p for p in (str(folder), os.environ.get("JUPYTER_PATH", "")) if p)
        return env

    def stop(self) -> None:
        """Stop the services this process owns (attached worlds just forget them)."""
        global _current
        for service in (self.auth, self.globus, self.datacentre):
            if service is not None:
                service.stop()
        if self.owns_services and self.state_file is not None:
            try:
                state = json.loads(self.state_file.read_text())
                if state.get("pid") == os.getpid():
                    self.state_file.unlink()
            except (OSError, ValueError):
                pass
        with _lock:
            if _current is self:
                _current = None


def current() -> World | None:
    """The world this process started or attached to, if any."""
    return _current


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code < 500
    except requests.RequestException:
        return False


def _attach(state_file: Path) -> World | None:
    try:
        state = json.loads(state_file.read_text())
    except (OSError, ValueError):
        return None
    world = World(
        datacentre_url=state["datacentre_url"],
        transfer_url=state["transfer_url"],
        archive_dir=Path(state["archive_dir"]),
        local_endpoint_dir=Path(state["local_endpoint_dir"]),
        dkist_endpoint_id=state.get("dkist_endpoint_id", DKIST_ENDPOINT_ID),
        local_endpoint_id=state.get("local_endpoint_id", LOCAL_ENDPOINT_ID),
        auth_url=state.get("auth_url"),
        state_file=state_file,
    )
    if not _answers(world.dataset_endpoint + "v1/config"):
        return None
    return world


def _point_this_process(world: World) -> None:
    from .dkist_config import configure_this_process

    configure_this_process(world.dataset_endpoint, world.download_endpoint)
    os.environ.update(world.globus_environment())


def start(
    *,
    transfer_rate_bytes_per_s: float = 20e6,
    local_endpoint_dir: Path | None = None,
    progress=None,
    attach: bool = True,
) -> World:
    """Start (or attach to) the offline world and point this process at it.

    Parameters
    ----------
    transfer_rate_bytes_per_s
        Throttle of the loopback Globus copies (changeable later through
        ``world.globus.set_rate``).
    local_endpoint_dir
        Folder behind the local "Globus Connect Personal" endpoint; defaults to
        ``paths.local_endpoint_root()``.
    progress
        Callable taking a message string, for archive generation progress.
    attach
        Look for a world started by another process (``$DKIST_WIDGETS_WORLD``) first.
    """
    global _current
    with _lock:
        if _current is not None:
            return _current
        state_env = os.environ.get(ENV_WORLD_STATE)
        if attach and state_env:
            world = _attach(Path(state_env))
            if world is not None:
                _point_this_process(world)
                _current = world
                return world

        from .archive import ensure_archive
        from .datacentre import DataCentre
        from .globus_auth_service import start_for_world
        from .globus_service import LoopbackGlobus
        from .local_gcp import gcp_endpoint

        archive = ensure_archive(progress=progress)
        local_dir = Path(local_endpoint_dir) if local_endpoint_dir else paths.local_endpoint_root()
        local_dir.mkdir(parents=True, exist_ok=True)
        datacentre = DataCentre(archive.catalogue, archive.root)
        datacentre.start()
        globus = LoopbackGlobus(
            endpoints={
                DKIST_ENDPOINT_ID: (DKIST_ENDPOINT_NAME, archive.root, False),
                LOCAL_ENDPOINT_ID: gcp_endpoint(LOCAL_ENDPOINT_ID, LOCAL_ENDPOINT_NAME, local_dir),
                **shared_collections(),
            },
            rate_bytes_per_s=transfer_rate_bytes_per_s,
        )
        add_bookmark(globus)
        globus.start()
        state_file = paths.state_root() / f"world-{os.getpid()}.json"
        world = World(
            datacentre_url=datacentre.url,
            transfer_url=globus.url,
            archive_dir=archive.root,
            local_endpoint_dir=local_dir,
            datacentre=datacentre,
            globus=globus,
            state_file=state_file,
        )
        # Transfers need a sign-in, as with the real Globus: the loopback Auth issues
        # the only tokens the loopback Transfer API accepts.
        world.auth = start_for_world(world)
        world.auth_url = world.auth.url
        state_file.write_text(json.dumps(world.to_json(), indent=2))
        _point_this_process(world)
        _current = world
        return world
