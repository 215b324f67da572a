"""Checking a local destination folder before a transfer is submitted.

When the files of a transfer land on this machine (the destination endpoint's
``/~/`` is a known local folder, ``TransferPlan.local_dirs``), a folder that cannot
be written or a disk without room would make Globus fail file after file, minutes
later, with ``PERMISSION_DENIED`` or ``No space left on device`` events. This check
says so before anything is submitted.

Choices
-------
* **Writable** is tested by creating (and at once removing) a small temporary file
  in the folder, or in its nearest existing parent when the folder is still to be
  made: permission bits, read-only mounts, ACLs and root all answer truthfully that
  way, where ``os.access`` does not (it says yes to root on a read-only mount).
* **Room**: ``shutil.disk_usage`` of that folder against the transfer's total bytes
  (``TransferPlan.bytes_total``, from the source listing). When the total is unknown
  the space is not checked. ``keep_free`` bytes (default: the
  ``DKIST_WIDGETS_KEEP_FREE_BYTES`` variable, else 0) must stay free afterwards.
* Folders on other machines (``local_dirs`` empty) are Globus's to check.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

from .formatting import human_bytes

__all__ = ["DestinationError", "check_local_destination", "ENV_KEEP_FREE"]

ENV_KEEP_FREE = "DKIST_WIDGETS_KEEP_FREE_BYTES"


class DestinationError(ValueError):
    """A local destination that cannot take the transfer; the message says why and what to do."""


def _existing_parent(folder: Path) -> Path:
    """The folder itself or its nearest existing parent; DestinationError if a file is in the way."""
    here = folder
    while not here.exists():
        if here.parent == here:
            break
        here = here.parent
    if here.exists() and not here.is_dir():
        raise DestinationError(
            f"Cannot write into {folder}: {here} is a file, not a folder. Choose another destination folder. "
            "Nothing was submitted."
        )
    return here


def _keep_free_default() -> int:
    text = os.environ.get(ENV_KEEP_FREE, "").strip()
    try:
        return max(0, int(float(text))) if text else 0
    except ValueError:
        return 0


def check_local_destination(
    folders: Iterable[os.PathLike | str], bytes_needed: int | None, *, keep_free: int | None = None
) -> None:
    """Raise :class:`DestinationError` unless every folder can be written and has room for ``bytes_needed``."""
    keep = _keep_free_default() if keep_free is None else max(0, int(keep_free))
    for folder in folders:
        folder = Path(folder).expanduser()
        here = _existing_parent(folder)
        try:
            fd, probe = tempfile.mkstemp(prefix=".dkist-widgets-write-check-", dir=here)
        except OSError as err:
            reason = err.strerror or type(err).__name__
            raise DestinationError(
                f"Cannot write into {folder} ({reason} in {here}): choose another destination folder "
                "or make this one writable. Nothing was submitted."
            ) from None
        os.close(fd)
        os.unlink(probe)
        if bytes_needed is None:
            continue
        free = shutil.disk_usage(here).free
        if free - keep < bytes_needed:
            kept = f", keeping {human_bytes(keep)} free" if keep else ""
            raise DestinationError(
                f"Not enough space for this transfer in {folder}: it needs {human_bytes(bytes_needed)} and the disk "
                f"has {human_bytes(free)} free{kept}. Free some space or choose another destination folder. "
                "Nothing was submitted."
            )
