"""Progress of a watched task: plain-word status, snapshots, rate and ETA.

Choices
-------
* **Progress**: files done = transferred + skipped of ``files`` (the task's count,
  or the plan's before Globus has scanned); bytes done of the plan's total. Files
  skipped by the sync level move no bytes, so the byte goal is the total minus the
  skipped files' share, taking skipped files at the plan's mean file size (DKIST
  frames of one dataset are the same size); a finished task shows its full total.
* **Rate** is an exponentially weighted mean of bytes/s between ticks (Globus's
  ``effective_bytes_per_second`` before two ticks exist); ETA = bytes left / rate.
* **Files in trouble**: :attr:`TaskProgress.failed_paths` holds the Globus paths of
  files Globus skipped after an error (``task_skipped_errors``) and of files whose
  copy is failing right now (fault events naming a path, until ``nice_status``
  is ``OK`` again); see :mod:`.file_activity`.
* Snapshots are immutable; callbacks get them on the watcher thread.
"""

from __future__ import annotations

import collections
import datetime as _dt
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ..formatting import human_bytes, human_duration

__all__ = ["TaskProgress", "status_words", "WatchedTask", "EVENT_LIMIT"]

#: Events kept per task (newest).
EVENT_LIMIT = 50

_NICE_WORDS = {
    "OK": "copying",
    "Queued": "waiting in the Globus queue (Globus runs 3 of your transfers at a time)",
    "CONNECT_FAILED": "cannot connect to an endpoint; Globus keeps retrying",
    "PERMISSION_DENIED": "permission denied at an endpoint; Globus keeps retrying",
    "PATH_NOT_FOUND": "a file or folder was not found; Globus keeps retrying",
    "GC_PAUSED": "paused: Globus Connect Personal is paused on the destination",
    "GC_NOT_CONNECTED": "waiting: Globus Connect Personal is not running on the destination",
    "CREDENTIAL_EXPIRED": "paused: an endpoint's credentials expired; reactivate it in Globus",
    "ACTIVATION_EXPIRED": "paused: an endpoint's activation expired; reactivate it in Globus",
    "QUOTA_EXCEEDED": "the destination is over its quota; Globus keeps retrying",
    "NO_SPACE_LEFT": "the destination disk is full; Globus keeps retrying",
    "VERIFY_CHECKSUM": "a copied file failed its checksum; Globus copies it again",
    "FILE_SIZE_CHANGED": "a source file changed while copying; Globus retries",
    "ENDPOINT_ERROR": "an endpoint reported an error; Globus keeps retrying",
    "PAUSED_BY_ADMIN": "paused by an administrator",
}


def status_words(doc: Mapping[str, Any]) -> str:
    """A task's state in plain words."""
    status = doc.get("status")
    nice = doc.get("nice_status")
    if status == "SUCCEEDED":
        return "done"
    if status == "FAILED":
        fatal = doc.get("fatal_error") or {}
        if fatal.get("code") == "CANCELED":
            return "cancelled"
        desc = fatal.get("description") or fatal.get("code") or "unknown reason"
        return f"failed: {desc}"
    if doc.get("is_paused"):
        return "paused by an administrator or an endpoint pause rule"
    if status == "INACTIVE":
        base = _NICE_WORDS.get(nice or "", "")
        return (
            base
            if base.startswith("paused")
            else f"paused, needs attention: {base or (nice or 'unknown').replace('_', ' ').lower()}"
        )
    if nice in _NICE_WORDS:
        return _NICE_WORDS[nice]
    if nice:
        return f"retrying: {nice.replace('_', ' ').lower()}"
    return "starting"


def is_running(doc: Mapping[str, Any]) -> bool:
    """Copying now (not queued, paused or retrying a fault)."""
    return doc.get("status") == "ACTIVE" and not doc.get("is_paused") and doc.get("nice_status") in (None, "OK")


def is_done(doc: Mapping[str, Any]) -> bool:
    """SUCCEEDED or FAILED (cancelled included)."""
    return doc.get("status") in ("SUCCEEDED", "FAILED")


@dataclass(frozen=True)
class TaskProgress:
    """A snapshot of one watched task."""

    task_id: str
    label: str = ""
    kind: str = ""
    dataset_ids: tuple[str, ...] = ()
    status: str = "UNKNOWN"
    nice_status: str | None = None
    words: str = "waiting for the first answer from Globus"
    done: bool = False
    succeeded: bool = False
    cancelled: bool = False
    files_total: int | None = None
    files_done: int = 0
    files_skipped: int = 0
    bytes_total: int | None = None
    bytes_done: int = 0
    fraction: float | None = None
    rate: float | None = None
    eta_s: float | None = None
    faults: int = 0
    fatal_error: str | None = None
    events: tuple[dict, ...] = ()
    request_time: str | None = None
    completion_time: str | None = None
    destination_path: str = ""
    local_dirs: tuple[str, ...] = ()
    updated: float = 0.0
    #: Globus paths of files that failed or are failing now (see the module notes).
    failed_paths: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        """One line: files, bytes, rate, ETA."""
        parts = []
        total_files = "?" if self.files_total is None else str(self.files_total)
        parts.append(f"{self.files_done}/{total_files} files")
        if self.files_skipped:
            parts.append(f"{self.files_skipped} already there")
        if self.bytes_total is not None:
            parts.append(f"{human_bytes(self.bytes_done)} of {human_bytes(self.bytes_total)}")
        else:
            parts.append(human_bytes(self.bytes_done))
        if self.rate and not self.done:
            parts.append(f"{human_bytes(self.rate)}/s")
        if self.eta_s is not None and not self.done:
            parts.append(f"about {human_duration(self.eta_s)} left")
        if self.faults:
            parts.append(f"{self.faults} fault{'s' if self.faults != 1 else ''}")
        return ", ".join(parts)

    @property
    def in_trouble(self) -> bool:
        """Failed (not cancelled), or some file failing or skipped after an error."""
        return bool(self.failed_paths) or (self.done and not self.succeeded and not self.cancelled)


@dataclass
class WatchedTask:
    """What the watcher remembers of one task between ticks."""

    progress: TaskProgress
    last_doc: dict | None = None
    last_bytes: int | None = None
    last_time: float | None = None
    rate: float | None = None
    events: collections.deque = field(default_factory=lambda: collections.deque(maxlen=EVENT_LIMIT))
    misses: int = 0
    #: ``subtasks_skipped_errors`` when the skipped errors were last fetched.
    skipped_seen: int = 0
    #: Globus paths of files skipped after an error (source paths).
    skipped_paths: set = field(default_factory=set)
    #: Globus paths named by fault events since the task was last OK.
    faulting_paths: set = field(default_factory=set)


def advance(w: WatchedTask, doc: dict, now: float) -> TaskProgress:
    """The task's next snapshot from its Globus document (updates the rate state in ``w``)."""
    p = w.progress
    files = doc.get("files") or 0
    skipped = doc.get("files_skipped") or 0
    files_total = files if files else p.files_total
    files_done = (doc.get("files_transferred") or 0) + skipped
    bytes_done = int(doc.get("bytes_transferred") or 0)
    done = is_done(doc)
    succeeded = doc.get("status") == "SUCCEEDED"
    fatal = doc.get("fatal_error") or None
    cancelled = bool(fatal and fatal.get("code") == "CANCELED")
    # rate: EWMA of bytes/s between ticks
    if w.last_bytes is not None and w.last_time is not None and now > w.last_time:
        inst = max(0.0, (bytes_done - w.last_bytes) / (now - w.last_time))
        w.rate = inst if w.rate is None else 0.5 * w.rate + 0.5 * inst
    elif doc.get("effective_bytes_per_second"):
        w.rate = float(doc["effective_bytes_per_second"])
    w.last_bytes, w.last_time = bytes_done, now
    if succeeded or (not done and doc.get("nice_status") in (None, "OK") and doc.get("is_ok", True) is not False):
        w.faulting_paths.clear()  # every file that was failing got through
    rate = w.rate if is_running(doc) else (w.rate if not done else None)
    fraction = None
    eta = None
    total = p.bytes_total
    if succeeded:
        fraction = 1.0
    elif total:
        goal = total
        n = files_total or p.files_total
        if skipped and n:
            goal = max(1, total - total * skipped / n)
        fraction = min(1.0, bytes_done / goal)
        if rate and rate > 0 and not done:
            eta = max(0.0, goal - bytes_done) / rate
    elif files_total:
        fraction = min(1.0, files_done / files_total)
    return replace(
        p,
        status=doc.get("status", "UNKNOWN"),
        nice_status=doc.get("nice_status"),
        words=status_words(doc),
        done=done,
        succeeded=succeeded,
        cancelled=cancelled,
        files_total=files_total,
        files_done=files_done,
        files_skipped=skipped,
        bytes_done=bytes_done,
        fraction=fraction,
        rate=rate,
        eta_s=eta,
        faults=int(doc.get("faults") or 0),
        fatal_error=(fatal.get("description") or fatal.get("code")) if fatal else None,
        events=tuple(reversed(w.events)),  # newest first
        request_time=doc.get("request_time") or p.request_time,
        completion_time=doc.get("completion_time"),
        label=doc.get("label") or p.label,
        updated=time.time(),
        failed_paths=tuple(sorted(w.skipped_paths | w.faulting_paths)),
    )


def progress_from_record(rec: Mapping[str, Any]) -> TaskProgress:
    """A snapshot from a store record (before Globus has answered)."""
    summary = rec.get("summary") or {}
    p = TaskProgress(
        task_id=rec["task_id"],
        label=rec.get("label", ""),
        kind=rec.get("kind", ""),
        dataset_ids=tuple(rec.get("dataset_ids") or ()),
        files_total=rec.get("files_total"),
        bytes_total=rec.get("bytes_total"),
        destination_path=rec.get("destination_path", ""),
        local_dirs=tuple(rec.get("local_dirs") or ()),
        request_time=iso_time(rec.get("submitted_at")),
    )
    if summary:
        p = replace(
            p,
            status=summary.get("status", "UNKNOWN"),
            nice_status=summary.get("nice_status"),
            words=status_words(summary),
        )
    return replace(p, done=bool(rec.get("done")))


def summary_of(doc: Mapping[str, Any]) -> dict:
    """What the store keeps of a task document."""
    keys = (
        "status",
        "nice_status",
        "files",
        "files_transferred",
        "files_skipped",
        "bytes_transferred",
        "faults",
        "fatal_error",
        "completion_time",
        "request_time",
        "is_paused",
    )
    return {k: doc.get(k) for k in keys}


def iso_time(ts: float | None) -> str | None:
    if ts is None:
        return None
    return _dt.datetime.fromtimestamp(ts, _dt.UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")
