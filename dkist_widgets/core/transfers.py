"""Globus transfers of DKIST files: plans, submission, a background watcher, a task store.

No widgets here (:mod:`dkist_widgets.panels.transfers` shows them). The same code
drives real Globus and the sandbox's loopback Transfer API; only
:class:`TransferSettings` (base URL, endpoint ids) and the credentials differ.

Choices
-------
* **One task per request.** :meth:`TransferSession.submit` sends one
  ``TransferData`` per :class:`TransferPlan` (files of a selection, of the working
  subset, of whole datasets, or a quality report + movie) and returns its task id.
  ``sync_level="checksum"`` by default (files already present and identical are
  skipped; Globus still checks them), ``verify_checksum=True``.
* **Sizes are known up front.** Globus task documents carry no total byte count, so
  a plan's sizes come from one ``operation_ls`` of each dataset folder on the DKIST
  endpoint (cached per session); the plan keeps ``bytes_total`` and the store keeps
  it across restarts.
* **Destination paths** come from a template such as
  ``"dkist/{proposal_id}/{dataset_id}"`` expanded under a root (``"/~/"``, the
  endpoint's home, by default). Only the fields in :data:`TEMPLATE_FIELDS` exist;
  values may not hold ``/`` or be ``.``/``..``; the expanded path is normalised and
  must stay under the root; anything else is a :class:`PathTemplateError` that says
  what is wrong.
* **Destination endpoint**: an explicit setting (the sandbox sets it), else the
  local Globus Connect Personal (``globus_sdk.LocalGlobusConnectPersonal``), else the
  user picks one from :meth:`TransferSession.search_endpoints`.
* **Watching** (:class:`TransferWatcher`): a daemon *thread* (an asyncio task would
  freeze while a cell runs), one ``task_list(filter={"task_id": [...]})`` per tick
  for up to 50 unfinished tasks (Globus's limit for that filter), so one request
  whatever the number of watched tasks up to 50. ``task_event_list`` is asked only
  when a task's ``faults`` grew or its status / ``nice_status`` changed. The
  interval adapts: ``active_interval`` (2 s) while a task copies; while every
  task waits (Queued, INACTIVE, paused, retrying a fault) it grows x1.5 per quiet
  tick from 5 s up to ``max_interval`` (30 s) and snaps back on any change; a 429
  waits ``Retry-After`` (at least double the interval); with nothing to watch the
  thread sleeps until :meth:`TransferWatcher.watch` wakes it. A 401 / refused
  refresh pauses polling and puts the login in ``needs_login``; logging in again
  wakes the watcher. A 403, another error status or an unreachable service backs
  off like a quiet tick and says so in :attr:`TransferWatcher.problem` (listeners
  get a ``change``, of no tasks, whenever that sentence changes); the
  first good answer clears it. A watched task missing from three answers in a row
  (deleted, or a task id from another service) ends as ``UNKNOWN``; the others
  are watched on.
* **Progress**: files done = transferred + skipped of ``files`` (the task's count,
  or the plan's before Globus has scanned); bytes done of the plan's total. Files
  skipped by the sync level move no bytes, so the byte goal is the total minus the
  skipped files' share, taking skipped files at the plan's mean file size (DKIST
  frames of one dataset are the same size); a finished task shows its full total.
  The rate is an exponentially weighted mean of bytes/s between ticks (Globus's
  ``effective_bytes_per_second`` before two ticks exist); ETA = bytes left / rate.
* **Store**: JSON in ``{user data dir}/globus/transfers-{service}.json`` (no token
  ever), written atomically; unfinished task ids are watched again by a new
  watcher after a kernel restart; the file keeps the newest :data:`STORE_LIMIT`
  records. Event logs keep the newest :data:`EVENT_LIMIT` events per task.
* **Bounded over long runs**: the watcher keeps the :data:`FINISHED_KEEP` most
  recently started finished tasks in memory (older ones stay in the store, as
  history); a kernel that watches transfers for days holds no more than that.
* **Thread safety**: the watcher's state is behind one lock; callbacks run on the
  watcher thread and get immutable :class:`TaskProgress` snapshots.
"""

from __future__ import annotations

import collections
import datetime as _dt
import hashlib
import json
import logging
import os
import posixpath
import re
import string
import sys
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import globus_sdk
from globus_sdk.transport import RetryConfig

from .destination import check_local_destination
from .globus_auth import GlobusLogin, NotLoggedIn, is_auth_error, user_data_dir, write_private_json

__all__ = [
    "TransferSettings",
    "TransferSession",
    "TransferPlan",
    "TransferItem",
    "TransferWatcher",
    "TaskStore",
    "TaskProgress",
    "PathTemplateError",
    "TEMPLATE_FIELDS",
    "expand_destination",
    "template_fields",
    "status_words",
    "clean_label",
    "find_local_endpoint",
]

log = logging.getLogger(__name__)

SYNC_LEVELS = ("exists", "size", "mtime", "checksum")
DEFAULT_BUCKET = "data"
DEFAULT_DATASET_PATH = "/{bucket}/{primaryProposalId}/{datasetId}"
DEFAULT_TEMPLATE = "dkist/{proposal_id}/{dataset_id}"
TASK_LIST_MAX_IDS = 50
EVENT_LIMIT = 50
STORE_LIMIT = 500
#: Finished tasks a watcher keeps in memory (the store keeps STORE_LIMIT records).
FINISHED_KEEP = 50
ENV_DESTINATION = "DKIST_WIDGETS_GLOBUS_DESTINATION"
ENV_DESTINATION_ROOT = "DKIST_WIDGETS_GLOBUS_DESTINATION_ROOT"
ENV_SOURCE = "DKIST_WIDGETS_GLOBUS_SOURCE"

#: Fields a destination template may use, with what they hold.
TEMPLATE_FIELDS = {
    "dataset_id": "the dataset id (datasetId)",
    "proposal_id": "the primary proposal id",
    "instrument": "the instrument name, e.g. VISP",
    "product_id": "the product id",
    "bucket": "the archive bucket",
    "date": "the start date, YYYY-MM-DD",
    "year": "the start year",
}


# ====================================================================== settings
@dataclass
class TransferSettings:
    """Where transfers go and how; the only thing that differs between sandbox and real Globus.

    ``destination_local_root`` is the folder on *this* machine behind the
    destination endpoint's ``/~/`` (so the model can be pointed at landed files);
    ``None`` when unknown (a remote endpoint).
    """

    transfer_url: str | None = None
    source_endpoint_id: str | None = None
    destination_endpoint_id: str | None = None
    destination_local_root: Path | None = None
    destination_root: str = "/~/"
    destination_template: str = DEFAULT_TEMPLATE
    sync_level: str = "checksum"
    verify_checksum: bool = True
    dataset_path: str = DEFAULT_DATASET_PATH
    label_prefix: str = "DKIST"

    def __post_init__(self) -> None:
        if self.sync_level not in SYNC_LEVELS:
            raise ValueError(f"sync_level must be one of {SYNC_LEVELS}, got {self.sync_level!r}")
        if self.destination_local_root is not None:
            self.destination_local_root = Path(self.destination_local_root)

    @classmethod
    def from_environment(cls, **overrides: Any) -> "TransferSettings":
        """Settings from ``DKIST_WIDGETS_GLOBUS_*`` variables; dkist's ``dataset_path`` if dkist.net is loaded."""
        kwargs: dict[str, Any] = {
            "source_endpoint_id": os.environ.get(ENV_SOURCE) or None,
            "destination_endpoint_id": os.environ.get(ENV_DESTINATION) or None,
            "destination_local_root": os.environ.get(ENV_DESTINATION_ROOT) or None,
        }
        net = sys.modules.get("dkist.net")  # importing dkist.net reaches the network: only reuse it
        if net is not None:
            kwargs["dataset_path"] = str(net.conf.dataset_path)
        kwargs.update(overrides)
        return cls(**kwargs)

    @classmethod
    def for_world(cls, world: Any, **overrides: Any) -> "TransferSettings":
        """Settings for a sandbox ``World`` (loopback Transfer URL and endpoints)."""
        kwargs = {
            "transfer_url": world.transfer_url,
            "source_endpoint_id": world.dkist_endpoint_id,
            "destination_endpoint_id": world.local_endpoint_id,
            "destination_local_root": Path(world.local_endpoint_dir),
        }
        kwargs.update(overrides)
        return cls(**kwargs)

    @property
    def service_key(self) -> str:
        """Names the Transfer service (task ids only mean something there)."""
        url = self.transfer_url or os.environ.get("GLOBUS_SDK_SERVICE_URL_TRANSFER") or "https://transfer.api.globus.org/"
        if "transfer.api.globus.org" in url:
            return "globus"
        return "svc-" + hashlib.sha256(url.rstrip("/").encode()).hexdigest()[:10]


def find_local_endpoint() -> str | None:
    """The Globus Connect Personal endpoint id on this machine, or None."""
    try:
        return globus_sdk.LocalGlobusConnectPersonal().endpoint_id
    except Exception:  # noqa: BLE001 - an unreadable GCP config means "none"
        return None


# ====================================================================== paths
class PathTemplateError(ValueError):
    """A destination template that cannot be used; the message says why."""


def _norm_root(root: str) -> str:
    root = (root or "/~/").strip()
    if root.startswith("~"):
        root = "/" + root
    if not root.startswith("/"):
        raise PathTemplateError(f"The destination root {root!r} must be an absolute Globus path (start with '/' or '~/').")
    norm = posixpath.normpath(root)
    if ".." in norm.split("/"):
        raise PathTemplateError(f"The destination root {root!r} may not contain '..'.")
    return norm.rstrip("/") + "/" if norm != "/" else "/"


def expand_destination(template: str, fields: Mapping[str, Any], root: str = "/~/") -> str:
    """Expand ``template`` (``{dataset_id}``-style fields) under ``root``; return a folder path ending in ``/``.

    Raises :class:`PathTemplateError` for unknown fields, format specs, values that
    would add path parts, and paths that leave ``root``.
    """
    root = _norm_root(root)
    template = (template or "").strip()
    used = []
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as err:
        raise PathTemplateError(f"The path template {template!r} has unbalanced braces ({err}); write {{field}} or {{{{ for a brace.") from None
    for _, name, spec, conv in parsed:
        if name is None:
            continue
        if name == "" or not name.isidentifier():
            raise PathTemplateError(f"Empty or invalid field {{{name}}} in the path template; known fields: {', '.join(TEMPLATE_FIELDS)}.")
        if name not in TEMPLATE_FIELDS:
            raise PathTemplateError(f"Unknown field {{{name}}} in the path template; known fields: {', '.join(TEMPLATE_FIELDS)}.")
        if spec or conv:
            raise PathTemplateError(f"Field {{{name}}} may not have a format or conversion.")
        used.append(name)
    values = {}
    for name in used:
        value = fields.get(name)
        if value is None or str(value).strip() == "":
            raise PathTemplateError(f"This dataset has no value for {{{name}}}; remove it from the path template.")
        value = str(value).strip()
        if "/" in value or "\\" in value or value in (".", "..") or "\x00" in value:
            raise PathTemplateError(f"The value of {{{name}}} ({value!r}) cannot be used as a folder name.")
        values[name] = value
    rel = template.format(**values)
    if "\x00" in rel:
        raise PathTemplateError("The path template contains a NUL character.")
    if rel.startswith("~"):
        rel = "/" + rel
    if rel.startswith("/"):
        full = posixpath.normpath(rel)
        if rel.startswith("/~") and not root.startswith("/~"):
            raise PathTemplateError(f"The path {rel!r} is not under the destination root {root!r}.")
    else:
        full = posixpath.normpath(root + rel) if rel else root.rstrip("/") or "/"
    if ".." in rel.replace("\\", "/").split("/"):
        raise PathTemplateError(f"The path template may not use '..' (it would leave {root!r}).")
    full = full.rstrip("/") + "/" if full != "/" else "/"
    if not (full == root or full.startswith(root)):
        raise PathTemplateError(f"The path {full!r} is not under the destination root {root!r}.")
    return full


def template_fields(inventory: Mapping[str, Any]) -> dict[str, str | None]:
    """Template field values from a dataset inventory or search record (camelCase keys)."""
    start = str(inventory.get("startTime") or "")
    return {
        "dataset_id": inventory.get("datasetId"),
        "proposal_id": inventory.get("primaryProposalId"),
        "instrument": inventory.get("instrumentName"),
        "product_id": inventory.get("productId"),
        "bucket": inventory.get("bucket") or DEFAULT_BUCKET,
        "date": start[:10] or None,
        "year": start[:4] or None,
    }


def dataset_folder(inventory: Mapping[str, Any], dataset_path: str = DEFAULT_DATASET_PATH) -> str:
    """The dataset's folder on the DKIST endpoint (dkist's ``conf.dataset_path``)."""
    values = {k: v for k, v in inventory.items() if isinstance(v, (str, int))}
    values.setdefault("bucket", DEFAULT_BUCKET)
    if not values.get("bucket"):
        values["bucket"] = DEFAULT_BUCKET
    try:
        path = dataset_path.format(**values)
    except KeyError as err:
        raise ValueError(f"the dataset inventory lacks {err.args[0]!r}, needed to find its folder") from None
    return "/" + path.strip("/")


_LABEL_OK = re.compile(r"[^A-Za-z0-9 _,.\-]")


def clean_label(label: str) -> str:
    """A Globus-acceptable label: letters, digits, space, ``_,.-``; at most 128 characters."""
    return _LABEL_OK.sub("-", label or "").strip()[:128]


# ====================================================================== plans
@dataclass(frozen=True)
class TransferItem:
    source: str
    destination: str
    recursive: bool = False
    size: int | None = None


@dataclass(frozen=True)
class TransferPlan:
    """What one transfer request will copy."""

    kind: str  # "selection" | "subset" | "dataset" | "quality"
    label: str
    items: tuple[TransferItem, ...]
    dataset_ids: tuple[str, ...]
    destination_path: str  # folder (first dataset's when several)
    files_total: int
    bytes_total: int | None
    local_dirs: tuple[str, ...] = ()  # local folders where the files land, when known

    @property
    def summary(self) -> str:
        size = "unknown size" if self.bytes_total is None else _fmt_bytes(self.bytes_total)
        return f"{self.files_total} files, {size} -> {self.destination_path}"


# ====================================================================== session
class TransferSession:
    """A Transfer client bound to a login and settings; builds plans and submits them.

    ``login=None`` sends no token (only the unprotected sandbox accepts that).
    """

    def __init__(self, settings: TransferSettings | None = None, login: GlobusLogin | None = None, *, client: globus_sdk.TransferClient | None = None):
        self.settings = settings or TransferSettings.from_environment()
        self.login = login
        authorizer = login.authorizer() if login is not None else globus_sdk.NullAuthorizer()
        if client is None:
            #: Interactive calls (a click: list, submit, cancel, endpoint search) run on the
            #: kernel's comm thread: two quick retries at most, not the SDK's default
            #: five with backoff up to 10 s. With Globus refusing connections a click
            #: gives up in 1.15 s instead of 15.9 s (benchmarks/results/loopback_http.md).
            client = globus_sdk.TransferClient(
                authorizer=authorizer,
                base_url=self.settings.transfer_url,
                retry_config=RetryConfig(max_retries=2, max_sleep=2),
            )
        self.client = client
        #: The watcher's client: one retry at most (a refreshed token, or one Retry-After),
        #: since the next tick is the real retry and SDK retries would multiply requests.
        self.poll_client = globus_sdk.TransferClient(
            authorizer=client.authorizer if client.authorizer is not None else authorizer,
            base_url=client.base_url,
            retry_config=RetryConfig(max_retries=1, max_sleep=5),
        )
        self._listings: dict[tuple[str, str], dict[str, int]] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ endpoints
    def source_endpoint(self) -> str:
        """The DKIST endpoint id: the setting, else the data centre's config (dkist's own lookup)."""
        if self.settings.source_endpoint_id:
            return self.settings.source_endpoint_id
        from dkist.net.globus.endpoints import get_data_center_endpoint_id  # network: only when needed

        self.settings.source_endpoint_id = get_data_center_endpoint_id()
        return self.settings.source_endpoint_id

    def destination_endpoint(self) -> str | None:
        """The setting, else the local Globus Connect Personal, else None (ask the user)."""
        return self.settings.destination_endpoint_id or find_local_endpoint()

    def search_endpoints(self, text: str, limit: int = 20) -> list[dict]:
        """Endpoint search by name; small dicts (id, display_name, owner, description, is_globus_connect)."""
        text = (text or "").strip()
        if not text:
            return []
        resp = self.client.endpoint_search(text, filter_scope="all", limit=limit)
        return [
            {
                "id": ep["id"],
                "display_name": ep.get("display_name") or ep.get("canonical_name") or ep["id"],
                "owner": ep.get("owner_string") or "",
                "description": ep.get("description") or "",
                "is_globus_connect": bool(ep.get("is_globus_connect")),
            }
            for ep in resp
        ]

    def describe_endpoint(self, endpoint_id: str) -> str:
        doc = self.client.get_endpoint(endpoint_id)
        return doc.get("display_name") or doc.get("canonical_name") or endpoint_id

    # ------------------------------------------------------------------ listings
    def listing(self, folder: str, endpoint_id: str | None = None) -> dict[str, int]:
        """``{name: size}`` of the files in one folder (one ``operation_ls``, cached)."""
        endpoint_id = endpoint_id or self.source_endpoint()
        key = (endpoint_id, folder.rstrip("/"))
        with self._lock:
            if key in self._listings:
                return self._listings[key]
        resp = self.client.operation_ls(endpoint_id, path=folder.rstrip("/") + "/")
        sizes = {e["name"]: int(e["size"]) for e in resp if e.get("type") == "file"}
        with self._lock:
            self._listings[key] = sizes
        return sizes

    # ------------------------------------------------------------------ plans
    def _dest(self, inventory: Mapping[str, Any], template: str | None, root: str | None) -> tuple[str, str | None]:
        path = expand_destination(
            self.settings.destination_template if template is None else template,
            template_fields(inventory),
            self.settings.destination_root if root is None else root,
        )
        return path, self.local_folder(path)

    def local_folder(self, globus_path: str) -> str | None:
        """Where a destination path lands on this machine (needs ``destination_local_root``)."""
        base = self.settings.destination_local_root
        if base is None:
            return None
        parts = [p for p in globus_path.split("/") if p]
        if parts[:1] == ["~"]:
            parts = parts[1:]
        return str(Path(base, *parts))

    def plan_files(
        self,
        inventory: Mapping[str, Any],
        file_names: Sequence[str],
        *,
        kind: str = "selection",
        label: str | None = None,
        template: str | None = None,
        root: str | None = None,
    ) -> TransferPlan:
        """Copy these files (URIs relative to the dataset folder, as in ``ds.files``)."""
        if not file_names:
            raise ValueError("nothing to transfer: the selection holds no files")
        folder = dataset_folder(inventory, self.settings.dataset_path)
        dest, local = self._dest(inventory, template, root)
        items = []
        total: int | None = 0
        for name in file_names:
            name = str(name)
            rel = posixpath.normpath(name)
            if rel.startswith("/") or rel.startswith(".."):
                raise ValueError(f"file name {name!r} is not inside the dataset folder")
            size = self._size_of(folder, rel)
            if size is None:
                total = None
            elif total is not None:
                total += size
            items.append(TransferItem(f"{folder}/{rel}", dest + rel, False, size))
        ds_id = str(inventory.get("datasetId"))
        return TransferPlan(
            kind=kind,
            label=clean_label(label or f"{self.settings.label_prefix} {ds_id} {kind}, {len(items)} files"),
            items=tuple(items),
            dataset_ids=(ds_id,),
            destination_path=dest,
            files_total=len(items),
            bytes_total=total,
            local_dirs=(local,) if local else (),
        )

    def _size_of(self, folder: str, rel: str) -> int | None:
        sub, _, name = rel.rpartition("/")
        listing = self.listing(folder + ("/" + sub if sub else ""))
        return listing.get(name)

    def plan_model(self, model: Any, which: str = "selection", **kwargs: Any) -> TransferPlan:
        """Files of a :class:`~dkist_widgets.core.model.DatasetModel`'s selection or working subset."""
        if model is None or model.dataset is None:
            raise ValueError("no dataset is open")
        if which == "selection":
            if model.n_selected == 0:
                raise ValueError("no frames are selected")
            names = model.files_for_frames(model.selected_frames)
        elif which == "subset":
            names = list(model.working_preview.files)
        else:
            raise ValueError("which must be 'selection' or 'subset'")
        plan = self.plan_files(_inventory_of(model.dataset), names, kind=which, **kwargs)
        self._teach_sizes(model)
        return plan

    def _teach_sizes(self, model: Any) -> None:
        """Give the model the file sizes this session has listed (so it can show bytes)."""
        try:
            import numpy as np

            inventory = _inventory_of(model.dataset)
            folder = dataset_folder(inventory, self.settings.dataset_path)
            names = model.files_for_frames(np.arange(model.n_frames))
            sizes = [self._size_of(folder, posixpath.normpath(str(n))) for n in names]
            model.set_file_sizes([(-1 if s is None else s) for s in sizes])
        except Exception as err:  # noqa: BLE001 - sizes are a nicety
            log.debug("could not set file sizes on the model: %s", err)

    def plan_datasets(self, records: Iterable[Mapping[str, Any]], *, label: str | None = None, template: str | None = None, root: str | None = None) -> TransferPlan:
        """Whole datasets (search records or inventories): each folder copied recursively."""
        records = list(records)
        if not records:
            raise ValueError("no datasets chosen")
        items, ids, locals_, dests = [], [], [], []
        total: int | None = 0
        n_files = 0
        for rec in records:
            folder = dataset_folder(rec, self.settings.dataset_path)
            dest, local = self._dest(rec, template, root)
            listing = self.listing(folder)
            n_files += len(listing)
            total = None if total is None else total + sum(listing.values())
            items.append(TransferItem(folder + "/", dest, True, None))
            ids.append(str(rec.get("datasetId")))
            dests.append(dest)
            if local:
                locals_.append(local)
        default = f"{self.settings.label_prefix} {ids[0]} dataset" if len(ids) == 1 else f"{self.settings.label_prefix} {len(ids)} datasets"
        return TransferPlan("dataset", clean_label(label or default), tuple(items), tuple(ids), dests[0], n_files, total, tuple(locals_))

    def plan_quality(self, record: Mapping[str, Any], *, label: str | None = None, template: str | None = None, root: str | None = None) -> TransferPlan:
        """A dataset's quality report and preview movie."""
        folder = dataset_folder(record, self.settings.dataset_path)
        listing = self.listing(folder)
        bucket = record.get("bucket") or DEFAULT_BUCKET
        names = []
        for key, ext in (("qualityReportObjectKey", ".pdf"), ("browseMovieObjectKey", ".mp4")):
            obj = record.get(key)
            if obj:
                src = "/" + posixpath.normpath(f"{bucket}/{obj}")
                if posixpath.dirname(src) == folder:
                    names.append(posixpath.basename(src))
                    continue
            found = sorted(n for n in listing if n.lower().endswith(ext))
            if found:
                names.append(found[0])
        if not names:
            raise ValueError(f"dataset {record.get('datasetId')} has no quality report or movie in {folder}")
        return self.plan_files(record, names, kind="quality", label=label or f"{self.settings.label_prefix} {record.get('datasetId')} quality report and movie", template=template, root=root)

    # ------------------------------------------------------------------ submit
    def for_destination(self, plan: TransferPlan, endpoint_id: str) -> TransferPlan:
        """The plan as it lands on ``endpoint_id``: its ``local_dirs`` only when that is this machine.

        The local folders are worked out for the configured destination (or the local
        Globus Connect Personal); files sent to any other endpoint land elsewhere.
        """
        if not plan.local_dirs or endpoint_id in (self.settings.destination_endpoint_id, find_local_endpoint()):
            return plan
        return replace(plan, local_dirs=())

    def submit(self, plan: TransferPlan, *, destination_endpoint_id: str | None = None, sync_level: str | None = None, verify_checksum: bool | None = None) -> str:
        """Submit one task for the plan; return its task id.

        When the files land on this machine, a folder that cannot be written or a disk
        without room is refused first (:func:`~.destination.check_local_destination`).
        """
        dest = destination_endpoint_id or self.destination_endpoint()
        if not dest:
            raise ValueError("no destination endpoint: install Globus Connect Personal or pick an endpoint")
        level = sync_level or self.settings.sync_level
        if level not in SYNC_LEVELS:
            raise ValueError(f"sync_level must be one of {SYNC_LEVELS}")
        plan = self.for_destination(plan, dest)
        if plan.local_dirs:
            check_local_destination(plan.local_dirs, plan.bytes_total)
        td = globus_sdk.TransferData(
            self.source_endpoint(),
            dest,
            label=plan.label or None,
            sync_level=level,
            verify_checksum=self.settings.verify_checksum if verify_checksum is None else verify_checksum,
        )
        for item in plan.items:
            td.add_item(item.source, item.destination, recursive=item.recursive)
        result = self.client.submit_transfer(td)
        return result["task_id"]


def _inventory_of(dataset: Any) -> Mapping[str, Any]:
    inv = getattr(dataset, "inventory", None)
    if not inv:
        inv = (getattr(dataset, "meta", None) or {}).get("inventory")
    if not inv:
        raise ValueError("this dataset has no inventory (datasetId, proposal): cannot find its files on the DKIST endpoint")
    return inv


# ====================================================================== status words
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
        return base if base.startswith("paused") else f"paused, needs attention: {base or (nice or 'unknown').replace('_', ' ').lower()}"
    if nice in _NICE_WORDS:
        return _NICE_WORDS[nice]
    if nice:
        return f"retrying: {nice.replace('_', ' ').lower()}"
    return "starting"


def _is_running(doc: Mapping[str, Any]) -> bool:
    return doc.get("status") == "ACTIVE" and not doc.get("is_paused") and doc.get("nice_status") in (None, "OK")


def _is_done(doc: Mapping[str, Any]) -> bool:
    return doc.get("status") in ("SUCCEEDED", "FAILED")


# ====================================================================== progress
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

    @property
    def text(self) -> str:
        """One line: files, bytes, rate, ETA."""
        parts = []
        total_files = "?" if self.files_total is None else str(self.files_total)
        parts.append(f"{self.files_done}/{total_files} files")
        if self.files_skipped:
            parts.append(f"{self.files_skipped} already there")
        if self.bytes_total is not None:
            parts.append(f"{_fmt_bytes(self.bytes_done)} of {_fmt_bytes(self.bytes_total)}")
        else:
            parts.append(_fmt_bytes(self.bytes_done))
        if self.rate and not self.done:
            parts.append(f"{_fmt_bytes(self.rate)}/s")
        if self.eta_s is not None and not self.done:
            parts.append(f"about {_fmt_duration(self.eta_s)} left")
        if self.faults:
            parts.append(f"{self.faults} fault{'s' if self.faults != 1 else ''}")
        return ", ".join(parts)


def _fmt_bytes(n: float) -> str:
    n = float(n)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def _fmt_duration(s: float) -> str:
    s = max(0, int(round(s)))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {(s % 3600) // 60:02d} min"


# ====================================================================== store
class TaskStore:
    """Task ids and what is known about them, in a JSON file (no secrets)."""

    def __init__(self, path: str | os.PathLike | None = None, *, service_key: str = "globus"):
        self.path = Path(path) if path else user_data_dir() / "globus" / f"transfers-{service_key}.json"
        self._lock = threading.Lock()
        self._records: dict[str, dict] = self._read()

    def _read(self) -> dict[str, dict]:
        try:
            doc = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):
            log.warning("the transfer store %s is unreadable; starting a new one", self.path)
            return {}
        tasks = doc.get("tasks") if isinstance(doc, dict) else None
        if not isinstance(tasks, list):
            return {}
        return {r["task_id"]: r for r in tasks if isinstance(r, dict) and isinstance(r.get("task_id"), str)}

    def _write(self) -> None:
        records = sorted(self._records.values(), key=lambda r: r.get("submitted_at", 0))
        if len(records) > STORE_LIMIT:
            keep_running = [r for r in records if not r.get("done")]
            finished = [r for r in records if r.get("done")]
            records = sorted(keep_running + finished[len(records) - STORE_LIMIT :], key=lambda r: r.get("submitted_at", 0))
            self._records = {r["task_id"]: r for r in records}
        write_private_json(self.path, {"version": 1, "tasks": records})

    def add(self, task_id: str, **info: Any) -> dict:
        with self._lock:
            rec = {"task_id": task_id, "submitted_at": time.time(), "done": False, **info}
            self._records[task_id] = rec
            self._write()
            return dict(rec)

    def update(self, task_id: str, **info: Any) -> None:
        with self._lock:
            if task_id not in self._records:
                return
            self._records[task_id].update(info)
            self._write()

    def forget(self, task_id: str) -> None:
        with self._lock:
            if self._records.pop(task_id, None) is not None:
                self._write()

    def get(self, task_id: str) -> dict | None:
        with self._lock:
            rec = self._records.get(task_id)
            return dict(rec) if rec else None

    def records(self) -> list[dict]:
        """Every record, newest first."""
        with self._lock:
            return sorted((dict(r) for r in self._records.values()), key=lambda r: -r.get("submitted_at", 0))

    def unfinished(self) -> list[dict]:
        return [r for r in self.records() if not r.get("done")]


# ====================================================================== watcher
@dataclass
class _Watched:
    progress: TaskProgress
    last_doc: dict | None = None
    last_bytes: int | None = None
    last_time: float | None = None
    rate: float | None = None
    events: collections.deque = field(default_factory=lambda: collections.deque(maxlen=EVENT_LIMIT))
    misses: int = 0


class TransferWatcher:
    """Polls Globus for watched tasks from a background thread (see module notes).

    Parameters
    ----------
    session
        A :class:`TransferSession` (its client and login are used).
    store
        A :class:`TaskStore`; unfinished tasks in it are watched at once.
    on_change
        ``f(list[TaskProgress])`` after a tick that changed something (watcher thread);
        ``f([])`` when only :attr:`problem` changed.
    on_complete
        ``f(TaskProgress)`` once per task reaching SUCCEEDED or FAILED.
    on_files
        ``f(TaskProgress)`` when a task's done-file count grew.
    """

    def __init__(
        self,
        session: TransferSession,
        store: TaskStore | None = None,
        *,
        active_interval: float = 2.0,
        waiting_interval: float = 5.0,
        max_interval: float = 30.0,
        on_change: Callable[[list[TaskProgress]], Any] | None = None,
        on_complete: Callable[[TaskProgress], Any] | None = None,
        on_files: Callable[[TaskProgress], Any] | None = None,
        autostart: bool = True,
    ):
        self.session = session
        self.store = store if store is not None else TaskStore(service_key=session.settings.service_key)
        self.active_interval = active_interval
        self.waiting_interval = waiting_interval
        self.max_interval = max_interval
        self._callbacks = {"change": [], "complete": [], "files": []}
        for key, fn in (("change", on_change), ("complete", on_complete), ("files", on_files)):
            if fn is not None:
                self._callbacks[key].append(fn)
        self._lock = threading.RLock()
        self._tasks: dict[str, _Watched] = {}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._interval: float | None = None
        self._quiet_interval = waiting_interval
        self.problem = ""  # a sentence when polling is in trouble (rate limit, network, login)
        self.paused_for_login = False
        self.ticks = 0
        self.requests = 0
        for rec in self.store.unfinished():
            self._tasks[rec["task_id"]] = _Watched(self._progress_from_record(rec))
        if session.login is not None:
            session.login.observe(self._on_login, names=["version", "state"])
        if autostart:
            self.start()

    # ------------------------------------------------------------------ callbacks
    def add_callback(self, kind: str, fn: Callable) -> None:
        if kind not in self._callbacks:
            raise ValueError(f"kind must be one of {tuple(self._callbacks)}")
        self._callbacks[kind].append(fn)

    def remove_callback(self, kind: str, fn: Callable) -> None:
        try:
            self._callbacks[kind].remove(fn)
        except ValueError:
            pass

    def _emit(self, kind: str, arg: Any) -> None:
        for fn in list(self._callbacks[kind]):
            try:
                fn(arg)
            except Exception:  # noqa: BLE001 - a broken view must not stop the watcher
                log.exception("transfer watcher %s callback failed", kind)

    def _on_login(self, change: Any) -> None:
        if self.session.login is not None and self.session.login.is_logged_in:
            self.paused_for_login = False
            self._set_problem("")  # the view drops "log in again" at once
            self._wake.set()

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> "TransferWatcher":
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return self
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="dkist-globus-watcher", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        self._thread = None
        if self.session.login is not None:
            try:
                self.session.login.unobserve(self._on_login, names=["version", "state"])
            except ValueError:
                pass

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def interval(self) -> float | None:
        """Seconds until the next tick (None: sleeping until there is something to watch)."""
        return self._interval

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                interval = self.poll_once()
            except Exception:  # noqa: BLE001 - keep watching whatever happens
                log.exception("transfer watcher tick failed")
                interval = self.max_interval
            self._interval = interval
            self._wake.wait(interval)
            self._wake.clear()

    # ------------------------------------------------------------------ tasks
    def watch(self, task_id: str, plan: TransferPlan | None = None, **info: Any) -> TaskProgress:
        """Start watching a task (recorded in the store); wakes the thread."""
        meta = {}
        if plan is not None:
            meta = {
                "label": plan.label,
                "kind": plan.kind,
                "dataset_ids": list(plan.dataset_ids),
                "files_total": plan.files_total,
                "bytes_total": plan.bytes_total,
                "destination_path": plan.destination_path,
                "local_dirs": list(plan.local_dirs),
            }
        meta.update(info)
        rec = self.store.get(task_id) or self.store.add(task_id, **meta)
        with self._lock:
            if task_id not in self._tasks:
                self._tasks[task_id] = _Watched(self._progress_from_record(rec))
            progress = self._tasks[task_id].progress
        self._quiet_interval = self.waiting_interval
        self._wake.set()
        return progress

    def start_transfer(self, plan: TransferPlan, **submit_kwargs: Any) -> str:
        """Submit a plan through the session and watch the task; return the task id."""
        task_id = self.session.submit(plan, **submit_kwargs)
        self.watch(task_id, plan)
        return task_id

    def cancel(self, task_id: str) -> str:
        """Ask Globus to cancel; return its answer code (Canceled, CancelAccepted, TaskComplete)."""
        resp = self.session.client.cancel_task(task_id)
        self._wake.set()
        return resp.get("code", "")

    def forget(self, task_id: str) -> None:
        """Drop a finished task from the history."""
        with self._lock:
            w = self._tasks.get(task_id)
            if w is not None and not w.progress.done:
                raise ValueError("cancel the task (or wait for it) before forgetting it")
            self._tasks.pop(task_id, None)
        self.store.forget(task_id)

    def progress(self, task_id: str) -> TaskProgress | None:
        with self._lock:
            w = self._tasks.get(task_id)
            return w.progress if w else None

    def tasks(self) -> list[TaskProgress]:
        """Watched tasks (unfinished, and the FINISHED_KEEP newest finished this session), newest first."""
        with self._lock:
            items = [w.progress for w in self._tasks.values()]
        return sorted(items, key=lambda p: p.request_time or "~", reverse=True)

    def history(self) -> list[dict]:
        """Every stored record (earlier sessions included), newest first."""
        return self.store.records()

    def wait(self, task_id: str, timeout: float = 60.0, poll: float = 0.05) -> TaskProgress:
        """Block until the task is done (for scripts and tests; widgets never call it)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            p = self.progress(task_id)
            if p is not None and p.done:
                return p
            time.sleep(poll)
        raise TimeoutError(f"task {task_id} did not finish within {timeout} s")

    # ------------------------------------------------------------------ polling
    def poll_once(self) -> float | None:
        """One tick: one ``task_list`` per 50 unfinished tasks, events where needed. Returns the next interval."""
        with self._lock:
            ids = [tid for tid, w in self._tasks.items() if not w.progress.done]
        if not ids:
            return None
        if self.paused_for_login:
            return None
        self.ticks += 1
        docs: dict[str, dict] = {}
        try:
            for i in range(0, len(ids), TASK_LIST_MAX_IDS):
                chunk = ids[i : i + TASK_LIST_MAX_IDS]
                self.requests += 1
                resp = self.session.poll_client.task_list(filter={"task_id": chunk}, limit=len(chunk))
                for doc in resp:
                    docs[doc["task_id"]] = dict(doc)
        except NotLoggedIn:
            return self._login_problem()
        except globus_sdk.GlobusAPIError as err:
            if is_auth_error(err):
                return self._login_problem()
            if err.http_status == 429:
                retry_after = _retry_after(err)
                self._set_problem("Globus asked us to slow down (rate limit); polling less often.")
                self._quiet_interval = min(60.0, max(retry_after, 2 * (self._interval or self.active_interval)))
                return self._quiet_interval
            if err.http_status == 403:
                said = str(getattr(err, "message", "") or "").strip().rstrip(".")
                self._set_problem(
                    f"Globus refused access (403 {err.code}{': ' + said if said else ''}): this Globus identity "
                    "may not see these transfers. Retrying less often; the tasks are not lost."
                )
                return self._backoff()
            self._set_problem(f"Globus answered {err.http_status} ({err.code}); retrying.")
            return self._backoff()
        except globus_sdk.NetworkError:
            self._set_problem("Cannot reach Globus (connection refused or network down); retrying less often until it answers.")
            return self._backoff()
        self._set_problem("")
        now = time.monotonic()
        changed: list[TaskProgress] = []
        completed: list[TaskProgress] = []
        landed: list[TaskProgress] = []
        any_running = False
        any_change = False
        for tid in ids:
            doc = docs.get(tid)
            with self._lock:
                w = self._tasks.get(tid)
            if w is None:
                continue
            if doc is None:
                w.misses += 1
                if w.misses >= 3:
                    self._finish_unknown(w)
                    changed.append(w.progress)
                    completed.append(w.progress)
                continue
            w.misses = 0
            before = w.progress
            new_events = self._events_if_needed(w, doc)
            progress = self._progress(w, doc, now)
            with self._lock:
                w.progress = progress
                w.last_doc = doc
            if progress != replace(before, updated=progress.updated, rate=progress.rate, eta_s=progress.eta_s) or new_events:
                changed.append(progress)
            task_changed = (before.status, before.nice_status, before.faults, before.files_done) != (
                progress.status, progress.nice_status, progress.faults, progress.files_done
            )
            any_change = any_change or task_changed
            if progress.files_done > before.files_done or (progress.done and progress.succeeded and not before.done):
                landed.append(progress)
            if progress.done and not before.done:
                completed.append(progress)
                self.store.update(tid, done=True, summary=_summary(doc))
            elif task_changed:
                self.store.update(tid, summary=_summary(doc))
            any_running = any_running or _is_running(doc)
        for p in landed:
            self._emit("files", p)
        if changed:
            self._emit("change", changed)
        for p in completed:
            self._emit("complete", p)
        if completed:
            self._prune_finished()
        with self._lock:
            remaining = any(not w.progress.done for w in self._tasks.values())
        if not remaining:
            return None
        if any_running:
            self._quiet_interval = self.waiting_interval
            return self.active_interval
        if any_change:
            self._quiet_interval = self.waiting_interval
        return self._backoff()

    def _set_problem(self, text: str) -> None:
        """Set :attr:`problem`; when it changed, tell the listeners with a ``change`` of no tasks."""
        if text == self.problem:
            return
        self.problem = text
        self._emit("change", [])

    def _prune_finished(self) -> None:
        """Forget (in memory only) all but the FINISHED_KEEP most recently started finished tasks."""
        with self._lock:
            finished = [tid for tid, w in self._tasks.items() if w.progress.done]  # start order
            for tid in finished[: max(0, len(finished) - FINISHED_KEEP)]:
                del self._tasks[tid]

    def _backoff(self) -> float:
        interval = self._quiet_interval
        self._quiet_interval = min(self.max_interval, interval * 1.5)
        return interval

    def _login_problem(self) -> None:
        self.paused_for_login = True
        self._set_problem("The Globus login expired: log in again and watching resumes.")
        if self.session.login is not None:
            self.session.login.mark_needs_login()
        return None

    def _events_if_needed(self, w: _Watched, doc: dict) -> bool:
        old = w.last_doc
        faults_grew = doc.get("faults", 0) > (old.get("faults", 0) if old else 0)
        status_changed = old is not None and (old.get("status"), old.get("nice_status")) != (doc.get("status"), doc.get("nice_status"))
        first_look_bad = old is None and (doc.get("faults", 0) > 0 or doc.get("status") in ("FAILED", "INACTIVE"))
        if not (faults_grew or status_changed or first_look_bad):
            return False
        try:
            self.requests += 1
            resp = self.session.poll_client.task_event_list(doc["task_id"], limit=20)
        except globus_sdk.GlobusAPIError as err:
            if is_auth_error(err):
                return False
            log.debug("event list failed: %s", err)
            return False
        except (globus_sdk.NetworkError, NotLoggedIn):
            return False
        known = {(e.get("time"), e.get("code"), e.get("description")) for e in w.events}
        added = False
        for ev in reversed(list(resp)):  # oldest first, so the deque keeps the newest
            key = (ev.get("time"), ev.get("code"), ev.get("description"))
            if key in known or ev.get("code") == "PROGRESS":
                continue
            w.events.append(
                {
                    "time": ev.get("time"),
                    "code": ev.get("code"),
                    "is_error": bool(ev.get("is_error")),
                    "description": ev.get("description"),
                    "details": str(ev.get("details") or "")[:500],
                }
            )
            added = True
        return added

    def _progress(self, w: _Watched, doc: dict, now: float) -> TaskProgress:
        p = w.progress
        files = doc.get("files") or 0
        skipped = doc.get("files_skipped") or 0
        files_total = files if files else p.files_total
        files_done = (doc.get("files_transferred") or 0) + skipped
        bytes_done = int(doc.get("bytes_transferred") or 0)
        done = _is_done(doc)
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
        rate = w.rate if _is_running(doc) else (w.rate if not done else None)
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
        )

    def _finish_unknown(self, w: _Watched) -> None:
        w.progress = replace(w.progress, status="UNKNOWN", words="unknown to Globus (the task was deleted, or belongs to another Globus service); no longer watched", done=True, updated=time.time())
        self.store.update(w.progress.task_id, done=True, summary={"status": "UNKNOWN"})

    def _progress_from_record(self, rec: Mapping[str, Any]) -> TaskProgress:
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
            request_time=_iso(rec.get("submitted_at")),
        )
        if summary:
            p = replace(p, status=summary.get("status", "UNKNOWN"), nice_status=summary.get("nice_status"), words=status_words(summary))
        return replace(p, done=bool(rec.get("done")))


def _summary(doc: Mapping[str, Any]) -> dict:
    keys = ("status", "nice_status", "files", "files_transferred", "files_skipped", "bytes_transferred", "faults", "fatal_error", "completion_time", "request_time", "is_paused")
    return {k: doc.get(k) for k in keys}


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return _dt.datetime.fromtimestamp(ts, _dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def _retry_after(err: globus_sdk.GlobusAPIError) -> float:
    try:
        return float(err.headers.get("Retry-After", 1))
    except (TypeError, ValueError, AttributeError):
        return 1.0
