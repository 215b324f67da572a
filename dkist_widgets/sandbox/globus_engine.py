"""The task and copy engine behind the loopback Globus Transfer API (no HTTP here).

The engine keeps Globus-shaped task documents and really copies files between the
folders that back two (or more) endpoints. :mod:`.globus_service` puts it behind HTTP
so the real ``globus_sdk.TransferClient`` drives it.

Choices made where Globus is ambiguous or where the sandbox must be simpler
(all of them are tested in ``tests/test_globus_service.py``):

* **Paths.** Two kinds of endpoint. A *collection rooted at a folder* (the DKIST
  endpoint, like a Globus Connect Server collection's base path) maps every absolute
  path under its ``root``; ``/~`` and ``/~/x`` are the root. Paths are normalised
  lexically; a ``..`` that climbs above the root is rejected with ``400
  ClientError.BadRequest`` (at submission and in ``ls``), so no file outside an
  endpoint root is ever read or written.
  A *Globus Connect Personal* endpoint (``restrict_paths`` set, see
  :mod:`.local_gcp`) interprets paths as GCP does: an absolute path is that real path
  on the machine, ``/~/x``, ``~/x`` and ``~`` start at the user's home (``root``), and
  only paths inside the allowed folders (GCP's ``config-paths`` /
  ``-restrict-paths``, the home by default) may be read or written. Outside them a
  transfer is accepted but each file faults with ``PERMISSION_DENIED`` and the task
  keeps retrying until its deadline, and ``ls`` answers ``403
  EndpointPermissionDenied``, as GCP refuses a path it is not allowed to touch: files
  never land anywhere else and the task never reports success.
* **Scheduling.** At most :data:`MAX_ACTIVE_TASKS_PER_USER` (3) tasks copy at once
  per user; the others are ``status="ACTIVE"`` with ``nice_status="Queued"``, as
  Globus shows them. INACTIVE tasks free their slot. All callers are one user unless
  the service maps tokens to users.
* **Throttling.** Each running task copies at up to ``rate_bytes_per_s`` (``None`` =
  as fast as the disk goes); the rate is read before every chunk, so a change takes
  effect within one chunk (chunks are 1/10 s of data, 1 KiB..1 MiB).
* **Atomic files.** Data goes to a hidden temporary ``.{name}.{task8}.partial`` in the
  destination folder and is renamed into place when complete (and verified, if
  asked). Cancel, failure, deadline or INACTIVE delete it: no partial file remains
  under the final name. ``operation_ls`` hides these temporaries.
* **Sync levels** (cumulative, as GridFTP's ``sync-level``): ``exists`` skips a file
  whose destination exists; ``size`` skips when sizes match; ``mtime`` skips when
  sizes match and the source is not newer (whole seconds); ``checksum`` skips when
  sizes and MD5 checksums match. Files skipped this way count in ``files_skipped``
  and are not listed in ``successful_transfers``.
* **verify_checksum**: the destination temporary is re-read and its MD5 compared with
  the source's; a mismatch is a fault (event ``VERIFY_CHECKSUM``) and the file is
  copied again. ``bytes_checksummed`` counts the bytes checksummed.
* **Source errors.** A missing (``PATH_NOT_FOUND``) or unreadable
  (``PERMISSION_DENIED``) source file with ``skip_source_errors=True`` is recorded in
  ``skipped_errors`` (``subtasks_skipped_errors`` += 1) and the task goes on. Without
  it, and for every destination error, the task stays ACTIVE, counts a fault, emits an
  error event, shows the error as ``nice_status`` with ``is_ok=False`` and retries the
  file every ``fault_retry_interval`` seconds; if the cause goes away the file is
  copied and ``nice_status`` returns to ``"OK"``; if the deadline comes first the task
  FAILS with ``fatal_error={"code": "DEADLINE", ...}``.
* **Destination faults on demand.** :meth:`TransferEngine.deny_destination` makes
  writes under a path fail with ``PERMISSION_DENIED``; :meth:`TransferEngine.fill_destination`
  makes them fail as a full disk (``ENOSPC``). Globus documents no single code for a
  full disk; the sandbox uses ``NO_SPACE_LEFT`` as the event ``code`` and
  ``nice_status`` (``nice_status_details`` and the event ``details`` carry GridFTP's
  ``"550 ... No space left on device"`` text, as Globus relays the server's error),
  with ``is_ok=False``; the task stays ACTIVE and retries like any destination
  error, and finishes once the fault is cleared (:meth:`TransferEngine.clear_faults`).
* **Directory items.** ``recursive=True`` copies a tree (empty folders included,
  ``filter_rules`` honoured); ``recursive`` omitted auto-detects; ``recursive=False``
  on a folder (or ``True`` on a file) fails the task at once with a ``fatal_error``
  (``NOT_A_FILE`` / ``NOT_A_DIRECTORY``).
* **Cancel** answers ``Canceled`` when the task has stopped within ``cancel_wait``
  seconds (queued or INACTIVE tasks stop at once), ``CancelAccepted`` if it is still
  winding down, ``TaskComplete`` if it had already ended. A canceled task is
  ``status="FAILED"`` with ``fatal_error={"code": "CANCELED", ...}`` and
  ``subtasks_canceled`` counting the files not done.
* **Events** are listed newest first; ``PROGRESS`` events carry JSON ``details``
  (``{"mbps": ..., "bytes_transferred": ..., "duration": ...}``) as the string
  Globus sends, and are emitted at most every ``progress_event_interval`` seconds.
* ``successful_transfers`` and ``skipped_errors`` answer for running tasks too
  (real Globus may refuse until the task ends).
"""

from __future__ import annotations

import collections
import datetime as _dt
import fnmatch
import hashlib
import json
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "Endpoint",
    "GlobusError",
    "TransferEngine",
    "MAX_ACTIVE_TASKS_PER_USER",
    "DEFAULT_USER",
    "resolve_globus_path",
    "resolve_gcp_path",
]

MAX_ACTIVE_TASKS_PER_USER = 3
DEFAULT_USER = "sandbox-user"
DEFAULT_DEADLINE = _dt.timedelta(days=1)
SYNC_LEVELS = {"exists": 0, "size": 1, "mtime": 2, "checksum": 3}
PARTIAL_SUFFIX = ".partial"


class GlobusError(Exception):
    """An error answered to the client as a Globus error document."""

    def __init__(self, http_status: int, code: str, message: str):
        super().__init__(message)
        self.http_status = http_status
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Endpoint:
    """An endpoint (collection) backed by a local folder."""

    id: str
    display_name: str
    root: Path
    writable: bool = True
    description: str = ""
    is_globus_connect: bool = False
    #: Globus Connect Personal's allowed folders as ``(folder, writable)``; ``None``
    #: for a collection rooted at ``root`` (see the module notes on paths).
    restrict_paths: tuple[tuple[Path, bool], ...] | None = None
    #: The sandbox user owns it (``filter_scope=my-endpoints``); a Globus Connect
    #: Personal endpoint is always the user's own.
    mine: bool = False
    #: A guest collection: the collection it is carved out of and the folder there
    #: (``root`` is that folder); ``shared_with_me`` lists it under ``shared-with-me``.
    host_endpoint_id: str | None = None
    host_path: str | None = None
    shared_with_me: bool = False

    def resolve(self, globus_path: str) -> Path:
        if self.restrict_paths is not None:
            return resolve_gcp_path(self.root, globus_path)
        return resolve_globus_path(self.root, globus_path)

    def allows(self, path: Path, *, write: bool) -> bool:
        """Whether this endpoint may touch ``path`` (a result of :meth:`resolve`)."""
        if self.restrict_paths is None:
            return True
        text = os.path.normpath(str(path))
        for folder, writable in self.restrict_paths:
            base = os.path.normpath(str(folder))
            inside = text == base or text.startswith(os.path.join(base, ""))  # base + os.sep
            if inside and (writable or not write):
                return True
        return False


def resolve_globus_path(root: Path, globus_path: str) -> Path:
    """Map an absolute Globus path onto ``root``; refuse anything that leaves it.

    ``/~`` and ``/~/...`` start at the root, as on a Globus Connect Personal endpoint.
    """
    if not isinstance(globus_path, str) or not globus_path.startswith("/"):
        raise GlobusError(
            400,
            "ClientError.BadRequest",
            f"Path {globus_path!r} is not absolute: Globus paths start with '/'",
        )
    if "\x00" in globus_path:
        raise GlobusError(400, "ClientError.BadRequest", "Path contains a NUL byte")
    parts = globus_path.split("/")[1:]
    if parts and parts[0] == "~":
        parts = parts[1:]
    kept: list[str] = []
    for part in parts:
        if part in ("", "."):
            continue
        if part == "..":
            if not kept:
                raise GlobusError(
                    400,
                    "ClientError.BadRequest",
                    f"Path {globus_path!r} leads outside the endpoint's root",
                )
            kept.pop()
            continue
        kept.append(part)
    return Path(root, *kept)


def resolve_gcp_path(home: Path, globus_path: str) -> Path:
    """The real path a Globus Connect Personal endpoint reads for ``globus_path``.

    ``/~/x``, ``~/x`` and ``~`` start at ``home``; any other path must be absolute and
    *is* the path on this machine. ``..`` is resolved lexically (never above ``/``).
    Whether the endpoint may touch the result is :meth:`Endpoint.allows`' question.
    """
    if not isinstance(globus_path, str) or not globus_path:
        raise GlobusError(400, "ClientError.BadRequest", f"Invalid path {globus_path!r}")
    if "\x00" in globus_path:
        raise GlobusError(400, "ClientError.BadRequest", "Path contains a NUL byte")
    path = globus_path
    if path == "~" or path.startswith("~/"):
        path = "/" + path
    if not path.startswith("/"):
        raise GlobusError(
            400,
            "ClientError.BadRequest",
            f"Path {globus_path!r} is not absolute: Globus paths start with '/' or '~/'",
        )
    parts = path.split("/")[1:]
    base = "/"
    if parts and parts[0] == "~":
        base, parts = str(home), parts[1:]
    return Path(os.path.normpath(os.path.join(base, *parts) if parts else base))


def _now() -> float:
    return time.time()


def _iso(ts: float | None) -> str | None:
    """Task document time format: ``2021-09-02T18:04:47+00:00``."""
    if ts is None:
        return None
    return _dt.datetime.fromtimestamp(ts, _dt.UTC).isoformat(timespec="seconds")


def _event_time(ts: float) -> str:
    """Event / listing time format: ``2019-05-16 10:13:26+00:00``."""
    return _dt.datetime.fromtimestamp(ts, _dt.UTC).isoformat(sep=" ", timespec="seconds")


def parse_deadline(value: Any) -> float | None:
    """An ISO-8601 date or datetime as sent by the SDK; naive times are UTC."""
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise GlobusError(400, "ClientError.BadRequest", f"Invalid deadline {value!r}")
    text = value.strip().replace("Z", "+00:00")
    try:
        parsed = _dt.datetime.fromisoformat(text)
    except ValueError:
        raise GlobusError(400, "ClientError.BadRequest", f"Invalid deadline {value!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=_dt.UTC)
    return parsed.timestamp()


def _md5_file(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class _Abort(Exception):
    """Raised inside a task thread when the task must stop copying now."""


class _PathFault(Exception):
    def __init__(self, code: str, description: str, path: str, *, on_source: bool):
        super().__init__(description)
        self.code = code
        self.description = description
        self.path = path
        self.on_source = on_source


class _FatalTaskError(Exception):
    def __init__(self, code: str, description: str):
        super().__init__(description)
        self.code = code
        self.description = description


@dataclass
class _FileJob:
    source_path: str  # Globus path on the source endpoint
    destination_path: str
    source: Path
    destination: Path
    next_try: float = 0.0
    attempts: int = 0


@dataclass
class _Task:
    task_id: str
    owner: str
    submission_id: str
    source: Endpoint
    destination: Endpoint
    items: list[dict]
    label: str | None
    sync_level: int | None
    verify_checksum: bool
    preserve_timestamp: bool
    skip_source_errors: bool
    encrypt_data: bool
    fail_on_quota_errors: bool
    delete_destination_extra: bool
    filter_rules: list[dict] | None
    request_time: float
    deadline: float
    # lifecycle: queued -> running -> (succeeded | failed); inactive in between
    phase: str = "queued"
    status: str = "ACTIVE"
    nice_status: str | None = "Queued"
    nice_status_details: str | None = None
    is_ok: bool | None = True
    completion_time: float | None = None
    fatal_error: dict | None = None
    # counters
    files: int = 0
    directories: int = 0
    files_transferred: int = 0
    files_skipped: int = 0
    bytes_transferred: int = 0
    bytes_checksummed: int = 0
    faults: int = 0
    subtasks_succeeded: int = 0
    subtasks_skipped_errors: int = 0
    subtasks_failed: int = 0
    subtasks_canceled: int = 0
    subtasks_expired: int = 0
    # work
    scanned: bool = False
    current: _FileJob | None = None
    pending: collections.deque = field(default_factory=collections.deque)
    retrying: list = field(default_factory=list)
    empty_dirs: list = field(default_factory=list)
    events: list = field(default_factory=list)
    successful: list = field(default_factory=list)
    skipped_errors: list = field(default_factory=list)
    # timing
    active_seconds: float = 0.0
    run_started: float | None = None
    # control
    stop_reason: str | None = None  # "cancel", "fail", "inactive", "shutdown"
    stop_args: dict = field(default_factory=dict)
    wake: threading.Event = field(default_factory=threading.Event)
    finished: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None
    # throttle state
    tb_rate: float | None = None
    tb_t0: float = 0.0
    tb_bytes: int = 0
    last_progress_event: float = 0.0

    @property
    def remaining(self) -> int:
        return len(self.pending) + len(self.retrying) + (1 if self.current is not None else 0)


class TransferEngine:
    """Globus-like transfer tasks between folder-backed endpoints.

    Thread-safe: the HTTP layer calls it from many threads. ``start()`` runs the
    scheduler thread; ``stop()`` stops it and every task thread (partial files are
    removed).
    """

    def __init__(
        self,
        endpoints: Iterable[Endpoint],
        *,
        rate_bytes_per_s: float | None = None,
        fault_retry_interval: float = 1.0,
        progress_event_interval: float = 2.0,
        cancel_wait: float = 2.0,
        max_active_per_user: int = MAX_ACTIVE_TASKS_PER_USER,
    ):
        self.endpoints: dict[str, Endpoint] = {ep.id: ep for ep in endpoints}
        self._rate = rate_bytes_per_s
        self.fault_retry_interval = fault_retry_interval
        self.progress_event_interval = progress_event_interval
        self.cancel_wait = cancel_wait
        self.max_active_per_user = max_active_per_user
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._tasks: dict[str, _Task] = {}
        self._order: list[str] = []  # submission order
        self._submissions: dict[str, str] = {}  # submission_id -> task_id
        self._denied_destinations: list[tuple[str, str]] = []  # (endpoint id, path prefix)
        self._full_destinations: list[tuple[str, str]] = []  # (endpoint id, path prefix): ENOSPC
        self._corrupt_writes = 0
        self._stopping = False
        self._scheduler: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        with self._lock:
            if self._scheduler is not None:
                return
            self._stopping = False
            self._scheduler = threading.Thread(target=self._schedule_loop, name="globus-sandbox-scheduler", daemon=True)
            self._scheduler.start()

    def stop(self, timeout: float = 5.0) -> None:
        with self._cond:
            self._stopping = True
            threads = []
            for task in self._tasks.values():
                if task.phase == "running":
                    task.stop_reason = task.stop_reason or "shutdown"
                    task.wake.set()
                if task.thread is not None:
                    threads.append(task.thread)
            self._cond.notify_all()
            scheduler, self._scheduler = self._scheduler, None
        deadline = time.monotonic() + timeout
        for thread in threads + ([scheduler] if scheduler else []):
            thread.join(max(0.0, deadline - time.monotonic()))

    # ------------------------------------------------------------------ settings
    @property
    def rate_bytes_per_s(self) -> float | None:
        return self._rate

    def set_rate(self, rate_bytes_per_s: float | None) -> None:
        """Change the per-task copy rate now (``None`` or 0: unthrottled)."""
        if rate_bytes_per_s is not None and rate_bytes_per_s < 0:
            raise ValueError("rate_bytes_per_s must be positive or None")
        with self._lock:
            self._rate = rate_bytes_per_s or None
            for task in self._tasks.values():
                task.wake.set()

    def deny_destination(self, endpoint_id: str, path_prefix: str = "/") -> None:
        """Writes under ``path_prefix`` on ``endpoint_id`` fail with PERMISSION_DENIED."""
        prefix = "/" + "/".join(p for p in path_prefix.split("/") if p not in ("", "~"))
        with self._lock:
            self._denied_destinations.append((endpoint_id, prefix))

    def fill_destination(self, endpoint_id: str, path_prefix: str = "/") -> None:
        """Writes under ``path_prefix`` on ``endpoint_id`` fail as on a full disk (NO_SPACE_LEFT)."""
        prefix = "/" + "/".join(p for p in path_prefix.split("/") if p not in ("", "~"))
        with self._lock:
            self._full_destinations.append((endpoint_id, prefix))

    def corrupt_next_writes(self, count: int = 1) -> None:
        """Flip a byte in the next ``count`` copied files (caught by verify_checksum)."""
        with self._lock:
            self._corrupt_writes += int(count)

    def clear_faults(self) -> None:
        with self._lock:
            self._denied_destinations.clear()
            self._full_destinations.clear()
            self._corrupt_writes = 0

    # ------------------------------------------------------------------ submission
    def new_submission_id(self) -> str:
        return str(uuid.uuid4())

    def submit_transfer(self, doc: Mapping[str, Any], owner: str = DEFAULT_USER) -> tuple[str, str, bool]:
        """Validate a TransferData document; return (task_id, submission_id, duplicate)."""
        if not isinstance(doc, Mapping):
            raise GlobusError(400, "ClientError.BadRequest", "The request body must be a JSON object")
        if doc.get("DATA_TYPE") != "transfer":
            raise GlobusError(400, "ClientError.BadRequest", "DATA_TYPE must be 'transfer' for a transfer submission")
        submission_id = doc.get("submission_id")
        if not submission_id:
            raise GlobusError(400, "ClientError.BadRequest", "A submission_id is required")
        source = self._endpoint(doc.get("source_endpoint"))
        destination = self._endpoint(doc.get("destination_endpoint"))
        items = doc.get("DATA") or []
        if not items:
            raise GlobusError(400, "ClientError.BadRequest.NoTransferItems", "A transfer requires at least one item")
        clean_items = []
        for item in items:
            if not isinstance(item, Mapping) or item.get("DATA_TYPE", "transfer_item") != "transfer_item":
                raise GlobusError(400, "ClientError.BadRequest", "Every DATA entry must be a transfer_item")
            src_path, dst_path = item.get("source_path"), item.get("destination_path")
            source.resolve(src_path)  # raises on a bad path
            destination.resolve(dst_path)
            recursive = item.get("recursive")
            if recursive is not None and not isinstance(recursive, bool):
                raise GlobusError(400, "ClientError.BadRequest", "recursive must be true, false or absent")
            clean_items.append({"source_path": src_path, "destination_path": dst_path, "recursive": recursive})
        sync_level = doc.get("sync_level")
        if isinstance(sync_level, str):
            if sync_level not in SYNC_LEVELS:
                raise GlobusError(400, "ClientError.BadRequest", f"Invalid sync_level {sync_level!r}")
            sync_level = SYNC_LEVELS[sync_level]
        if sync_level is not None and sync_level not in (0, 1, 2, 3):
            raise GlobusError(400, "ClientError.BadRequest", f"Invalid sync_level {sync_level!r}")
        now = _now()
        deadline = parse_deadline(doc.get("deadline"))
        if deadline is None:
            deadline = now + DEFAULT_DEADLINE.total_seconds()
        elif deadline <= now:
            raise GlobusError(400, "ClientError.BadRequest", "The deadline is in the past")
        label = doc.get("label")
        if label is not None and (not isinstance(label, str) or len(label) > 128):
            raise GlobusError(400, "ClientError.BadRequest", "label must be a string of at most 128 characters")
        with self._cond:
            if submission_id in self._submissions:
                return self._submissions[submission_id], submission_id, True
            task = _Task(
                task_id=str(uuid.uuid4()),
                owner=owner,
                submission_id=submission_id,
                source=source,
                destination=destination,
                items=clean_items,
                label=label,
                sync_level=sync_level,
                verify_checksum=bool(doc.get("verify_checksum", False)),
                preserve_timestamp=bool(doc.get("preserve_timestamp", False)),
                skip_source_errors=bool(doc.get("skip_source_errors", False)),
                encrypt_data=bool(doc.get("encrypt_data", False)),
                fail_on_quota_errors=bool(doc.get("fail_on_quota_errors", False)),
                delete_destination_extra=bool(doc.get("delete_destination_extra", False)),
                filter_rules=doc.get("filter_rules") or None,
                request_time=now,
                deadline=deadline,
            )
            self._tasks[task.task_id] = task
            self._order.append(task.task_id)
            self._submissions[submission_id] = task.task_id
            self._cond.notify_all()
        return task.task_id, submission_id, False

    def _endpoint(self, endpoint_id: Any) -> Endpoint:
        ep = self.endpoints.get(str(endpoint_id)) if endpoint_id else None
        if ep is None:
            raise GlobusError(404, "EndpointNotFound", f"No such endpoint with id '{endpoint_id}'")
        return ep

    def get_endpoint(self, endpoint_id: str) -> Endpoint:
        return self._endpoint(endpoint_id)

    def recently_used(self, owner: str | None = None) -> list[str]:
        """Endpoint ids of the owner's tasks (source and destination), newest task first."""
        with self._lock:
            tasks = sorted(
                (t for t in self._tasks.values() if owner is None or t.owner == owner),
                key=lambda t: t.request_time,
                reverse=True,
            )
            return list(dict.fromkeys(ep.id for t in tasks for ep in (t.destination, t.source)))

    # ------------------------------------------------------------------ queries
    def _task(self, task_id: str, owner: str | None = None) -> _Task:
        task = self._tasks.get(task_id)
        if task is None or (owner is not None and task.owner != owner):
            raise GlobusError(404, "TaskNotFound", f"Task '{task_id}' not found")
        return task

    def task_doc(self, task_id: str, owner: str | None = None) -> dict:
        with self._lock:
            return self._doc(self._task(task_id, owner))

    def task_docs(self, owner: str | None = None) -> list[dict]:
        with self._lock:
            return [self._doc(self._tasks[t]) for t in self._order if owner is None or self._tasks[t].owner == owner]

    def events(self, task_id: str, owner: str | None = None) -> list[dict]:
        """Events, newest first."""
        with self._lock:
            return [dict(e) for e in reversed(self._task(task_id, owner).events)]

    def successful_transfers(self, task_id: str, owner: str | None = None) -> list[dict]:
        with self._lock:
            return [dict(e) for e in self._task(task_id, owner).successful]

    def skipped_errors(self, task_id: str, owner: str | None = None) -> list[dict]:
        with self._lock:
            return [dict(e) for e in self._task(task_id, owner).skipped_errors]

    def _doc(self, t: _Task) -> dict:
        active_seconds = t.active_seconds
        if t.run_started is not None:
            active_seconds += _now() - t.run_started
        speed = int(t.bytes_transferred / active_seconds) if active_seconds > 0 else 0
        done = t.phase in ("succeeded", "failed")
        pending = 0 if done else t.remaining + (0 if t.scanned else len(t.items))
        retrying = 0 if done else len(t.retrying)
        short = {
            None: None,
            "OK": "OK",
            "Queued": "Queued",
        }.get(t.nice_status, (t.nice_status or "").replace("_", " ").lower() or None)
        return {
            "DATA_TYPE": "task",
            "bytes_checksummed": t.bytes_checksummed,
            "bytes_transferred": t.bytes_transferred,
            "canceled_by_admin": None,
            "canceled_by_admin_message": None,
            "command": "API 0.10",
            "completion_time": _iso(t.completion_time),
            "deadline": _iso(t.deadline),
            "delete_destination_extra": t.delete_destination_extra,
            "destination_base_path": None,
            "destination_endpoint": t.destination.display_name,
            "destination_endpoint_display_name": t.destination.display_name,
            "destination_endpoint_id": t.destination.id,
            "destination_local_user": None,
            "destination_local_user_status": None,
            "directories": t.directories,
            "effective_bytes_per_second": speed,
            "encrypt_data": t.encrypt_data,
            "fail_on_quota_errors": t.fail_on_quota_errors,
            "fatal_error": dict(t.fatal_error) if t.fatal_error else None,
            "faults": t.faults,
            "files": t.files,
            "files_skipped": t.files_skipped,
            "files_transferred": t.files_transferred,
            "filter_rules": t.filter_rules,
            "history_deleted": False,
            "is_ok": None if done else t.is_ok,
            "is_paused": False,
            "label": t.label,
            "nice_status": None if done else t.nice_status,
            "nice_status_details": None if done else t.nice_status_details,
            "nice_status_expires_in": None if done else -1,
            "nice_status_short_description": None if done else short,
            "owner_id": str(uuid.uuid5(uuid.NAMESPACE_URL, "dkist-widgets-sandbox:" + t.owner)),
            "preserve_timestamp": t.preserve_timestamp,
            "recursive_symlinks": "ignore",
            "request_time": _iso(t.request_time),
            "skip_source_errors": t.skip_source_errors,
            "source_base_path": None,
            "source_endpoint": t.source.display_name,
            "source_endpoint_display_name": t.source.display_name,
            "source_endpoint_id": t.source.id,
            "source_local_user": None,
            "source_local_user_status": None,
            "status": t.status,
            "subtasks_canceled": t.subtasks_canceled,
            "subtasks_expired": t.subtasks_expired,
            "subtasks_failed": t.subtasks_failed,
            "subtasks_pending": pending,
            "subtasks_retrying": retrying,
            "subtasks_skipped_errors": t.subtasks_skipped_errors,
            "subtasks_succeeded": t.subtasks_succeeded,
            "subtasks_total": t.subtasks_succeeded
            + t.subtasks_skipped_errors
            + t.subtasks_failed
            + t.subtasks_canceled
            + t.subtasks_expired
            + pending,
            "symlinks": 0,
            "sync_level": t.sync_level,
            "task_id": t.task_id,
            "type": "TRANSFER",
            "username": "u_" + t.owner.replace("-", "_"),
            "verify_checksum": t.verify_checksum,
        }

    # ------------------------------------------------------------------ control
    def cancel(self, task_id: str, owner: str | None = None) -> tuple[str, str]:
        """Return (code, message) as Globus answers a cancel request."""
        with self._cond:
            task = self._task(task_id, owner)
            if task.phase in ("succeeded", "failed"):
                return "TaskComplete", "The task completed before the cancel request was processed."
            if task.phase in ("queued", "inactive"):
                self._finish_canceled(task)
                return "Canceled", "The task has been cancelled successfully."
            task.stop_reason = "cancel"
            task.wake.set()
        if task.finished.wait(self.cancel_wait):
            return "Canceled", "The task has been cancelled successfully."
        return "CancelAccepted", "The cancel request has been accepted; the task will stop shortly."

    def make_inactive(
        self, task_id: str, nice_status: str = "CREDENTIAL_EXPIRED", description: str | None = None
    ) -> None:
        """Turn a task INACTIVE (e.g. expired credentials) until :meth:`resume`."""
        description = description or nice_status.replace("_", " ").lower()

        def now(task: _Task) -> None:
            if task.phase == "queued":  # an INACTIVE task stays as it is
                self._set_inactive(task, nice_status, description)

        self._stop_or_apply(task_id, "inactive", {"nice_status": nice_status, "description": description}, now)

    def _set_inactive(self, task: _Task, nice_status: str, description: str) -> None:
        task.phase = "inactive"
        task.status = "INACTIVE"
        task.nice_status = nice_status
        task.nice_status_details = description
        task.is_ok = False
        self._event(task, nice_status, description, description, is_error=True)
        self._cond.notify_all()

    def resume(self, task_id: str) -> None:
        """An INACTIVE task becomes ACTIVE again (queued until a slot is free)."""
        with self._cond:
            task = self._task(task_id)
            if task.phase != "inactive":
                raise GlobusError(409, "ClientError.Conflict", "Only an INACTIVE task can be resumed")
            task.phase = "queued"
            task.status = "ACTIVE"
            task.nice_status = "Queued"
            task.nice_status_details = None
            task.is_ok = True
            task.finished.clear()
            self._event(task, "RESUMED", "resumed", "The task was resumed", is_error=False)
            self._cond.notify_all()

    def fail(self, task_id: str, code: str = "PERMISSION_DENIED", description: str = "permission denied") -> None:
        """End a task FAILED with ``fatal_error={"code", "description"}``."""
        self._stop_or_apply(
            task_id,
            "fail",
            {"code": code, "description": description},
            lambda task: self._finish_failed(task, code, description),
        )

    def _stop_or_apply(self, task_id: str, reason: str, args: dict, now: Callable[[_Task], None]) -> None:
        """A running task's thread stops for ``reason`` (waited for); any other unfinished task gets ``now(task)``."""
        with self._cond:
            task = self._task(task_id)
            if task.phase in ("succeeded", "failed"):
                raise GlobusError(409, "ClientError.Conflict", "The task has already ended")
            running = task.phase == "running"
            if running:
                task.stop_reason = reason
                task.stop_args = args
                task.wake.set()
            else:
                now(task)
        if running:
            task.finished.wait(self.cancel_wait)

    # ------------------------------------------------------------------ bookkeeping (lock held)
    def _event(self, task: _Task, code: str, description: str, details: str, *, is_error: bool) -> None:
        task.events.append(
            {
                "DATA_TYPE": "event",
                "code": code,
                "description": description,
                "details": details,
                "is_error": is_error,
                "parent_task_id": None,
                "time": _event_time(_now()),
            }
        )

    def _close_run(self, task: _Task) -> None:
        if task.run_started is not None:
            task.active_seconds += _now() - task.run_started
            task.run_started = None

    def _finish_succeeded(self, task: _Task) -> None:
        self._close_run(task)
        task.phase, task.status = "succeeded", "SUCCEEDED"
        task.nice_status = None
        task.completion_time = _now()
        self._event(
            task,
            "SUCCEEDED",
            "succeeded",
            f"{task.files_transferred} file(s) transferred, {task.files_skipped} skipped by sync level",
            is_error=False,
        )
        task.finished.set()
        self._cond.notify_all()

    def _finish_failed(self, task: _Task, code: str, description: str, *, leftover_as: str = "subtasks_failed") -> None:
        self._close_run(task)
        leftover = task.remaining + (0 if task.scanned else len(task.items))
        setattr(task, leftover_as, getattr(task, leftover_as) + leftover)
        task.pending.clear()
        task.retrying.clear()
        task.current = None
        task.phase, task.status = "failed", "FAILED"
        task.nice_status = None
        task.fatal_error = {"code": code, "description": description}
        task.completion_time = _now()
        self._event(task, code, description, description, is_error=True)
        task.finished.set()
        self._cond.notify_all()

    def _finish_canceled(self, task: _Task) -> None:
        self._finish_failed(task, "CANCELED", "canceled", leftover_as="subtasks_canceled")

    def _finish_deadline(self, task: _Task) -> None:
        self._finish_failed(task, "DEADLINE", "deadline expired", leftover_as="subtasks_expired")

    # ------------------------------------------------------------------ scheduler
    def _schedule_loop(self) -> None:
        with self._cond:
            while not self._stopping:
                now = _now()
                active: collections.Counter = collections.Counter(
                    t.owner for t in self._tasks.values() if t.phase == "running"
                )
                for task_id in self._order:
                    task = self._tasks[task_id]
                    if task.phase not in ("queued", "inactive"):
                        continue
                    if now >= task.deadline:
                        self._finish_deadline(task)
                        continue
                    if task.phase == "queued" and active[task.owner] < self.max_active_per_user:
                        active[task.owner] += 1
                        self._launch(task)
                self._cond.wait(0.1)

    def _launch(self, task: _Task) -> None:
        task.phase = "running"
        task.status = "ACTIVE"
        task.nice_status = "OK" if not task.retrying else task.nice_status
        task.is_ok = not task.retrying
        task.stop_reason = None
        task.run_started = _now()
        task.finished.clear()
        task.wake.clear()
        task.thread = threading.Thread(
            target=self._run_task, args=(task,), name=f"globus-sandbox-task-{task.task_id[:8]}", daemon=True
        )
        task.thread.start()

    # ------------------------------------------------------------------ task thread
    def _run_task(self, task: _Task) -> None:
        try:
            if not task.scanned:
                with self._lock:
                    self._event(task, "STARTED", "started", self._started_details(task), is_error=False)
                self._scan(task)
            while True:
                self._check_control(task)
                job = self._next_job(task)
                if job is None:
                    break
                with self._lock:
                    task.current = job
                self._process(task, job)
                with self._lock:
                    task.current = None
            self._make_empty_dirs(task)
            with self._cond:
                self._check_control(task)
                self._finish_succeeded(task)
        except _Abort:
            with self._cond:
                if task.current is not None:  # copied again from scratch on resume
                    task.pending.appendleft(task.current)
                    task.current = None
                self._handle_stop(task)
        except _FatalTaskError as err:
            with self._cond:
                self._finish_failed(task, err.code, err.description)
        except Exception as err:  # noqa: BLE001 - a bug or an unexpected OS error: fail visibly
            with self._cond:
                self._finish_failed(task, "GENERIC_ERROR", f"{type(err).__name__}: {err}")
        finally:
            with self._cond:
                if task.phase == "running":  # shutdown
                    self._close_run(task)
                task.finished.set()
                self._cond.notify_all()

    def _started_details(self, task: _Task) -> str:
        return json.dumps(
            {"type": "GridFTP Transfer", "concurrency": 1, "protocol": "Mode S", "sync_level": task.sync_level},
            indent=2,
        )

    def _handle_stop(self, task: _Task) -> None:
        reason = task.stop_reason
        if reason == "cancel":
            self._finish_canceled(task)
        elif reason == "fail":
            self._finish_failed(task, task.stop_args["code"], task.stop_args["description"])
        elif reason == "inactive":
            self._close_run(task)
            self._set_inactive(task, task.stop_args["nice_status"], task.stop_args["description"])
        elif reason == "deadline":
            self._finish_deadline(task)
        # "shutdown": leave the document as it is

    def _check_control(self, task: _Task) -> None:
        if task.stop_reason is None and _now() >= task.deadline:
            task.stop_reason = "deadline"
        if task.stop_reason is not None or self._stopping:
            if task.stop_reason is None:
                task.stop_reason = "shutdown"
            raise _Abort(task.stop_reason)

    def _scan(self, task: _Task) -> None:
        jobs: list[_FileJob] = []
        dirs = 0
        empty_dirs: list[Path] = []
        for item in task.items:
            src = task.source.resolve(item["source_path"])
            dst = task.destination.resolve(item["destination_path"])
            recursive = item["recursive"]
            is_dir = src.is_dir()
            if recursive is None:
                recursive = is_dir
            if recursive and src.exists() and not is_dir:
                raise _FatalTaskError("NOT_A_DIRECTORY", f"{item['source_path']} is a file but recursive is true")
            if not recursive and is_dir:
                raise _FatalTaskError("NOT_A_FILE", f"{item['source_path']} is a directory but recursive is false")
            if not recursive or not src.exists():
                jobs.append(_FileJob(item["source_path"], item["destination_path"], src, dst))
                continue
            dirs += 1
            for folder, subdirs, filenames in os.walk(src):
                subdirs.sort()
                rel = Path(folder).relative_to(src)
                kept_dirs = [d for d in subdirs if self._included(task, d, "dir")]
                subdirs[:] = kept_dirs
                dirs += len(kept_dirs)
                names = sorted(f for f in filenames if self._included(task, f, "file"))
                if not names and not kept_dirs:
                    empty_dirs.append(dst / rel)
                for name in names:
                    rel_posix = (rel / name).as_posix()
                    jobs.append(
                        _FileJob(
                            _join(item["source_path"], rel_posix),
                            _join(item["destination_path"], rel_posix),
                            src / rel / name,
                            dst / rel / name,
                        )
                    )
        with self._lock:
            task.pending.extend(jobs)
            task.files = len(jobs)
            task.directories = dirs
            task.empty_dirs = empty_dirs
            task.scanned = True

    @staticmethod
    def _included(task: _Task, name: str, kind: str) -> bool:
        for rule in task.filter_rules or ():
            if rule.get("type") not in (None, kind):
                continue
            if fnmatch.fnmatchcase(name, rule.get("name", "")):
                return rule.get("method", "exclude") == "include"
        return True

    def _next_job(self, task: _Task) -> _FileJob | None:
        while True:
            with self._lock:
                if task.pending:
                    return task.pending.popleft()
                if not task.retrying:
                    return None
                task.retrying.sort(key=lambda j: j.next_try)
                wait = task.retrying[0].next_try - _now()
                if wait <= 0:
                    return task.retrying.pop(0)
            task.wake.wait(min(wait, 0.05))
            task.wake.clear()
            self._check_control(task)

    def _make_empty_dirs(self, task: _Task) -> None:
        for folder in task.empty_dirs:
            if not task.destination.allows(folder, write=True):
                continue  # the files' faults already say why
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError:
                pass

    # ------------------------------------------------------------------ one file
    def _process(self, task: _Task, job: _FileJob) -> None:
        try:
            self._copy_one(task, job)
        except _PathFault as fault:
            with self._lock:
                if fault.on_source and task.skip_source_errors:
                    task.subtasks_skipped_errors += 1
                    task.skipped_errors.append(
                        {
                            "DATA_TYPE": "skipped_error",
                            "checksum_algorithm": None,
                            "destination_path": job.destination_path,
                            "error_code": fault.code,
                            "error_details": fault.description,
                            "error_time": _iso(_now()),
                            "external_checksum": None,
                            "is_delete_destination_extra": False,
                            "is_directory": False,
                            "is_symlink": False,
                            "source_path": job.source_path,
                        }
                    )
                    self._event(
                        task,
                        fault.code,
                        fault.description.split(":")[0],
                        f"{fault.description} (skipped)",
                        is_error=True,
                    )
                    return
                task.faults += 1
                job.attempts += 1
                job.next_try = _now() + self.fault_retry_interval
                task.retrying.append(job)
                task.nice_status = fault.code
                task.nice_status_details = fault.description
                task.is_ok = False
                self._event(
                    task,
                    fault.code,
                    fault.code.replace("_", " ").lower(),
                    json.dumps(
                        {
                            "error": {"body": fault.description},
                            "context": [{"operation": "STOR" if not fault.on_source else "RETR", "path": fault.path}],
                            "attempt": job.attempts,
                        }
                    ),
                    is_error=True,
                )

    def _copy_one(self, task: _Task, job: _FileJob) -> None:
        dst_ep = task.destination
        if (
            not dst_ep.writable
            or not dst_ep.allows(job.destination, write=True)
            or self._denied(dst_ep.id, job.destination_path)
        ):
            raise _PathFault(
                "PERMISSION_DENIED",
                f"Permission denied: cannot write {job.destination_path} on {dst_ep.display_name}",
                job.destination_path,
                on_source=False,
            )
        if self._denied(dst_ep.id, job.destination_path, self._full_destinations):
            raise _PathFault(
                "NO_SPACE_LEFT",
                f"550 {job.destination_path}: No space left on device ({dst_ep.display_name})",
                job.destination_path,
                on_source=False,
            )
        if not task.source.allows(job.source, write=False):
            raise _PathFault(
                "PERMISSION_DENIED",
                f"Permission denied: cannot read {job.source_path}",
                job.source_path,
                on_source=True,
            )
        try:
            st = os.stat(job.source)
        except FileNotFoundError:
            raise _PathFault(
                "PATH_NOT_FOUND",
                f"No such file or directory: {job.source_path} on {task.source.display_name}",
                job.source_path,
                on_source=True,
            ) from None
        except PermissionError:
            raise _PathFault(
                "PERMISSION_DENIED",
                f"Permission denied: cannot read {job.source_path}",
                job.source_path,
                on_source=True,
            ) from None
        if not os.access(job.source, os.R_OK):
            raise _PathFault(
                "PERMISSION_DENIED",
                f"Permission denied: cannot read {job.source_path}",
                job.source_path,
                on_source=True,
            )
        if self._sync_skips(task, job, st):
            with self._lock:
                task.files_skipped += 1
                task.subtasks_succeeded += 1
            return
        while True:
            if self._copy_bytes(task, job, st):
                break
        with self._lock:
            task.files_transferred += 1
            task.subtasks_succeeded += 1
            task.successful.append(
                {
                    "DATA_TYPE": "successful_transfer",
                    "source_path": job.source_path,
                    "destination_path": job.destination_path,
                }
            )
            if not task.retrying:
                task.nice_status, task.nice_status_details, task.is_ok = "OK", None, True

    def _denied(self, endpoint_id: str, path: str, rules: list[tuple[str, str]] | None = None) -> bool:
        norm = "/" + "/".join(p for p in path.split("/") if p not in ("", "~"))
        with self._lock:
            for ep_id, prefix in self._denied_destinations if rules is None else rules:
                if ep_id == endpoint_id and (prefix == "/" or norm == prefix or norm.startswith(prefix + "/")):
                    return True
        return False

    def _sync_skips(self, task: _Task, job: _FileJob, st: os.stat_result) -> bool:
        level = task.sync_level
        if level is None:
            return False
        try:
            dst_st = os.stat(job.destination)
        except OSError:
            return False
        if not os.path.isfile(job.destination):
            return False
        if level == 0:
            return True
        if dst_st.st_size != st.st_size:
            return False
        if level == 1:
            return True
        if level == 2:
            return int(st.st_mtime) <= int(dst_st.st_mtime)
        same = _md5_file(job.source) == _md5_file(job.destination)
        with self._lock:
            task.bytes_checksummed += 2 * st.st_size
        return same

    def _chunk_size(self) -> int:
        rate = self._rate
        if not rate:
            return 1 << 20
        return int(min(1 << 20, max(1024, rate / 10)))

    def _throttle(self, task: _Task, nbytes: int) -> None:
        rate = self._rate
        now = time.monotonic()
        if rate != task.tb_rate or (rate and task.tb_t0 + task.tb_bytes / rate < now - 0.25):
            # new rate, or idle for a while (no saved-up burst): restart the clock
            task.tb_rate, task.tb_t0, task.tb_bytes = rate, now, 0
        task.tb_bytes += nbytes
        if not rate:
            self._check_control(task)
            return
        while True:
            self._check_control(task)
            if self._rate != rate:  # rate changed while sleeping: restart the clock
                task.tb_rate, task.tb_t0, task.tb_bytes = self._rate, time.monotonic(), 0
                return
            wait = task.tb_t0 + task.tb_bytes / rate - time.monotonic()
            if wait <= 0:
                return
            task.wake.wait(min(wait, 0.05))
            task.wake.clear()

    def _copy_bytes(self, task: _Task, job: _FileJob, st: os.stat_result) -> bool:
        """Copy through a temporary; True when the file is in place (and verified)."""
        dst = job.destination
        try:
            dst.parent.mkdir(parents=True, exist_ok=True)
        except PermissionError:
            raise _PathFault(
                "PERMISSION_DENIED",
                f"Permission denied: cannot create {dst.parent.name}",
                job.destination_path,
                on_source=False,
            ) from None
        except OSError as err:
            raise _PathFault("GENERIC_ERROR", str(err), job.destination_path, on_source=False) from None
        tmp = dst.parent / f".{dst.name}.{task.task_id[:8]}{PARTIAL_SUFFIX}"
        digest = hashlib.md5()
        copied = 0
        try:
            with open(job.source, "rb") as fin, open(tmp, "wb") as fout:
                while True:
                    chunk = fin.read(self._chunk_size())
                    if not chunk:
                        break
                    self._throttle(task, len(chunk))
                    fout.write(chunk)
                    digest.update(chunk)
                    copied += len(chunk)
                    with self._lock:
                        task.bytes_transferred += len(chunk)
                        self._maybe_progress_event(task)
            with self._lock:
                corrupt = self._corrupt_writes > 0
                if corrupt:
                    self._corrupt_writes -= 1
            if corrupt and copied:
                with open(tmp, "r+b") as handle:
                    first = handle.read(1)
                    handle.seek(0)
                    handle.write(bytes([first[0] ^ 0xFF]))
            if task.verify_checksum:
                ok = _md5_file(tmp) == digest.hexdigest()
                with self._lock:
                    task.bytes_checksummed += copied
                if not ok:
                    tmp.unlink(missing_ok=True)
                    with self._lock:
                        task.bytes_transferred -= copied
                        task.faults += 1
                        self._event(
                            task,
                            "VERIFY_CHECKSUM",
                            "checksum verification failed",
                            f"Checksum mismatch for {job.destination_path}; retransferring",
                            is_error=True,
                        )
                    return False
            if task.preserve_timestamp:
                os.utime(tmp, (st.st_atime, st.st_mtime))
            os.replace(tmp, dst)
            return True
        except PermissionError:
            self._discard(task, tmp, copied)
            raise _PathFault(
                "PERMISSION_DENIED",
                f"Permission denied: cannot write {job.destination_path}",
                job.destination_path,
                on_source=False,
            ) from None
        except FileNotFoundError:  # the source vanished between stat and open
            self._discard(task, tmp, copied)
            raise _PathFault(
                "PATH_NOT_FOUND", f"No such file or directory: {job.source_path}", job.source_path, on_source=True
            ) from None
        except (_Abort, Exception):
            self._discard(task, tmp, copied)
            raise

    def _discard(self, task: _Task, tmp: Path, copied: int) -> None:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
        with self._lock:
            task.bytes_transferred -= copied

    def _maybe_progress_event(self, task: _Task) -> None:
        now = _now()
        if now - task.last_progress_event < self.progress_event_interval:
            return
        if task.last_progress_event == 0.0:
            task.last_progress_event = now
            return
        task.last_progress_event = now
        duration = task.active_seconds + (now - task.run_started if task.run_started else 0)
        mbps = round(task.bytes_transferred * 8 / 1e6 / duration, 3) if duration > 0 else 0.0
        self._event(
            task,
            "PROGRESS",
            "progress",
            json.dumps({"mbps": mbps, "bytes_transferred": task.bytes_transferred, "duration": round(duration, 2)}),
            is_error=False,
        )


def _join(base: str, rel: str) -> str:
    return base.rstrip("/") + "/" + rel if rel != "." else base
