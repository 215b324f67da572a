"""Where dkist-widgets keeps its own files on this machine (the one rule for it).

``$DKIST_WIDGETS_DATA_DIR`` when set (tests and CI use it to share a cache between runs
of one machine), else the platform's user data directory for ``dkist-widgets``
(``~/.local/share/dkist-widgets`` on Linux, ``%LOCALAPPDATA%\\dkist-widgets`` on
Windows, ``~/Library/Application Support/dkist-widgets`` on macOS, via ``platformdirs``).
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

__all__ = ["ENV_DATA_DIR", "data_root"]

ENV_DATA_DIR = "DKIST_WIDGETS_DATA_DIR"


def data_root() -> Path:
    """The folder for tokens, the task store, the sample archive and copied notebooks (created)."""
    env = os.environ.get(ENV_DATA_DIR)
    root = Path(env).expanduser() if env else Path(platformdirs.user_data_dir("dkist-widgets"))
    root.mkdir(parents=True, exist_ok=True)
    return root
