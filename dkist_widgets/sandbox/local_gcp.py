"""The sandbox's "Globus Connect Personal": found by dkist exactly as a real one is.

dkist's ``ds.files.download()`` and ``transfer_complete_datasets()`` ask
``globus_sdk.LocalGlobusConnectPersonal().endpoint_id``, which on Linux reads
``~/.globusonline/lta/client-id.txt`` (``~`` from ``$HOME``). A real GCP also keeps
its allowed folders in ``~/.globusonline/lta/config-paths`` (one ``path,sharing,rw``
line per folder, ``~/,0,1`` by default; what ``-restrict-paths`` writes).

Choices
-------
* **The sandbox's kernels get their own home.** :func:`install` writes those two
  files into the local endpoint's folder, and :func:`kernel_environment` gives the
  sandbox's kernels (and tests) ``HOME`` = that folder. There, dkist finds the
  loopback endpoint by the same file read as a real installation, ``~/`` in dkist,
  sunpy (``~/sunpy/data``) and in Globus paths all mean the same folder (which is
  also the folder the transfer panels know as the destination's ``/~/``), and a
  real GCP of the user (``~/.globusonline`` of the real home) is never read,
  changed or shadowed: nothing outside those kernels sees the sandbox's file.
* ``XDG_CACHE_HOME`` moves with the home, so dkist's Globus token cache
  (``platformdirs.user_cache_dir("dkist")``) in those kernels holds sandbox tokens
  only and the user's real dkist login is never touched; there
  ``DKIST_WIDGETS_SHARE_DKIST_LOGIN=1`` lets a sign-in in the panels serve dkist's
  own calls (the product does that by itself only against production Globus). ``XDG_DATA_HOME`` stays
  where it was for the parent (dkist's search-values cache and the dkist-widgets data
  folder stay shared with the process that started the world).
* The loopback endpoint reads ``config-paths`` once when the world starts, as GCP
  reads it at start-up; folders other than the home can be allowed by editing it.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = [
    "CONFIG_SUBDIR",
    "gcp_endpoint",
    "install",
    "kernel_environment",
    "read_restrict_paths",
]

#: GCP's configuration folder under the home (Linux).
CONFIG_SUBDIR = Path(".globusonline") / "lta"
#: GCP's default: the home, not shared, read-write.
DEFAULT_CONFIG_PATHS = "~/,0,1\n"


def install(home: Path, endpoint_id: str) -> Path:
    """Write GCP's ``client-id.txt`` (and a default ``config-paths``) under ``home``."""
    config = Path(home) / CONFIG_SUBDIR
    config.mkdir(parents=True, exist_ok=True)
    client_id = config / "client-id.txt"
    if not client_id.is_file() or client_id.read_text().strip() != endpoint_id:
        tmp = config / f".client-id.{os.getpid()}.tmp"
        tmp.write_text(endpoint_id + "\n")
        tmp.replace(client_id)
    paths_file = config / "config-paths"
    if not paths_file.exists():
        paths_file.write_text(DEFAULT_CONFIG_PATHS)
    return config


def read_restrict_paths(home: Path) -> tuple[tuple[Path, bool], ...]:
    """The allowed folders from ``config-paths`` as ``(absolute folder, writable)``.

    ``~`` expands to ``home``; a missing file means GCP's default (the home, writable).
    Malformed lines are skipped.
    """
    home = Path(home)
    try:
        lines = (Path(home) / CONFIG_SUBDIR / "config-paths").read_text().splitlines()
    except OSError:
        lines = DEFAULT_CONFIG_PATHS.splitlines()
    allowed: list[tuple[Path, bool]] = []
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        fields = [f.strip() for f in line.rsplit(",", 2)]
        if len(fields) != 3:
            continue
        folder, _sharing, rw = fields
        if folder == "~" or folder.startswith("~/"):
            folder = str(home) + folder[1:]
        if not folder.startswith("/"):
            continue
        allowed.append((Path(os.path.normpath(folder)), rw == "1"))
    return tuple(allowed)


def gcp_endpoint(endpoint_id: str, display_name: str, home: Path):
    """An :class:`~.globus_engine.Endpoint` behaving as GCP with ``home`` as the user's home."""
    from .globus_engine import Endpoint

    home = Path(home).absolute()
    install(home, endpoint_id)
    return Endpoint(
        id=endpoint_id,
        display_name=display_name,
        root=home,
        writable=True,
        description="Globus Connect Personal on this machine (sandbox)",
        is_globus_connect=True,
        restrict_paths=read_restrict_paths(home),
    )


def kernel_environment(home: Path) -> dict[str, str]:
    """Variables that give a sandbox kernel ``home`` as its home (see the module notes)."""
    home = Path(home).absolute()
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return {
        "HOME": str(home),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_DATA_HOME": data_home,
        # dkist's cache here is the sandbox's: a sign-in in the panels goes there too
        "DKIST_WIDGETS_SHARE_DKIST_LOGIN": "1",
    }
