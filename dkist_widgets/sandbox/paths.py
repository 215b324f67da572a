"""Where the offline world keeps its files.

Everything lives under one root: ``$DKIST_WIDGETS_DATA_DIR`` when set (tests and CI
use it to share a cache between runs of one machine), else the platform's user data
directory for ``dkist-widgets`` (``~/.local/share/dkist-widgets`` on Linux).
"""

from __future__ import annotations

from pathlib import Path

from ..core.paths import ENV_DATA_DIR, data_root

__all__ = ["data_root", "archive_root", "local_endpoint_root", "state_root", "ENV_DATA_DIR"]


def archive_root(format_version: int) -> Path:
    """The sample archive (the "DKIST" Globus endpoint) for one format version.

    Files are laid out as on the DKIST endpoint: ``{bucket}/{proposal}/{dataset}/...``.
    """
    return data_root() / f"archive-v{format_version}"


def local_endpoint_root() -> Path:
    """The folder the loopback "Globus Connect Personal" endpoint may write into."""
    root = data_root() / "local-endpoint"
    root.mkdir(parents=True, exist_ok=True)
    return root


def state_root() -> Path:
    """Small state: running services, persisted task ids."""
    root = data_root() / "state"
    root.mkdir(parents=True, exist_ok=True)
    return root
