"""Make sure a destination folder exists before a transfer is submitted (issue 15.7).

A transfer into a folder that does not exist is accepted by Globus, which creates
it if it can. If it cannot (a read-only collection, a folder without write
permission), the task sits ACTIVE and retries PERMISSION_DENIED or PATH_NOT_FOUND
for hours. So the folder is checked first, and created folder by folder (Globus's
``mkdir`` is not recursive). When that fails, :class:`DestinationRefused` says why
in one sentence, before anything is submitted.

Choices:

* One ``operation_ls`` with ``limit=1`` tells whether the folder exists. Only a
  404 counts as "missing"; a 403 is a refusal.
* Creation walks down from the deepest folder that exists. An "already exists"
  answer (another client got there first) is fine.
* ``create=False`` refuses a missing folder instead of creating it.
"""

from __future__ import annotations

import globus_sdk

from ..globus_auth import consent_required_from

__all__ = ["DestinationRefused", "prepare_destination_folder"]


class DestinationRefused(ValueError):
    """The destination folder does not exist and cannot be created (message: one sentence)."""


def _exists(client, endpoint_id: str, path: str) -> bool:
    try:
        client.operation_ls(endpoint_id, path=path, limit=1)
        return True
    except globus_sdk.TransferAPIError as err:
        if err.http_status == 404 or "NotFound" in str(err.code):
            return False
        if err.http_status == 502 and "NotDirectory" in str(err.code):
            raise DestinationRefused(
                f"{path} on the destination is a file, not a folder: choose another folder."
            ) from err
        consent = consent_required_from(err)
        if consent is not None:  # a GCS v5 collection wants a consent before any call
            raise consent from err
        if err.http_status == 403:
            raise DestinationRefused(
                f"Globus refused to look into {path} on the destination (no permission): choose a folder you may write to."
            ) from err
        raise


def prepare_destination_folder(client, endpoint_id: str, path: str, *, create: bool = True) -> str:
    """Make sure ``path`` exists on ``endpoint_id``; return a sentence saying what was done.

    Returns ``""`` when the folder already exists, ``"Created the folder ... "`` when
    it was made. Raises :class:`DestinationRefused` (one sentence) when it is missing
    and ``create`` is False, or cannot be made.
    """
    folder = "/" + path.strip("/") + "/" if path.strip("/") else "/"
    if path.startswith("/~/"):
        folder = "/~/" + path[3:].strip("/") + ("/" if path[3:].strip("/") else "")
    if _exists(client, endpoint_id, folder):
        return ""
    if not create:
        raise DestinationRefused(
            f"The folder {folder} does not exist on the destination: create it, or let the widget create it."
        )
    head = "/~/" if folder.startswith("/~/") else "/"
    parts = [p for p in folder[len(head) :].split("/") if p]
    missing = []
    while parts:  # find the deepest folder that exists
        missing.insert(0, parts.pop())
        if not parts or _exists(client, endpoint_id, head + "/".join(parts) + "/"):
            break
    current = head + "/".join(parts)
    for name in missing:
        current = current.rstrip("/") + "/" + name
        try:
            client.operation_mkdir(endpoint_id, path=current + "/")
        except globus_sdk.TransferAPIError as err:
            if "Exists" in str(err.code):
                continue
            reason = "no permission to write there" if err.http_status == 403 else (err.message or err.code)
            raise DestinationRefused(
                f"The folder {folder} does not exist on the destination and could not be created ({reason}): "
                "choose a folder you may write to."
            ) from err
    return f"Created the folder {folder} on the destination."
