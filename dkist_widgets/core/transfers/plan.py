"""Transfer plans: what one transfer request will copy, worked out before anything moves.

Choices
-------
* **One plan, one task.** A :class:`TransferPlan` holds the files of a selection, of
  the working subset, of whole datasets, or a quality report + movie; the session
  submits it as one ``TransferData``.
* **Sizes are known up front.** Globus task documents carry no total byte count, so
  a plan's sizes come from one ``operation_ls`` of each dataset folder on the DKIST
  endpoint (cached per planner); the plan keeps ``bytes_total`` and the store keeps
  it across restarts.
* **A plan has no side effects.** Planning reads the model and lists folders; it
  never writes into the model. A caller that wants the model to show on-disk bytes
  asks :meth:`TransferPlanner.file_sizes_for` and hands the answer to
  ``model.set_file_sizes`` itself.
* **Where files go**: ``folders`` pairs each dataset's folder on the DKIST endpoint
  with its destination folder, so a Globus path in a task's events (source or
  destination) can be traced back to a file of the dataset.
"""

from __future__ import annotations

import posixpath
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..formatting import human_bytes
from ..inventory import inventory_of
from .destinations import DEFAULT_BUCKET, clean_label, dataset_folder, expand_destination, template_fields
from .settings import TransferSettings

__all__ = ["TransferItem", "TransferPlan", "TransferPlanner"]


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
    #: ``(source folder, destination folder)`` per dataset, both ending in ``/``.
    folders: tuple[tuple[str, str], ...] = ()

    @property
    def summary(self) -> str:
        size = "unknown size" if self.bytes_total is None else human_bytes(self.bytes_total)
        return f"{self.files_total} files, {size} -> {self.destination_path}"


class TransferPlanner:
    """Builds :class:`TransferPlan` s from settings and a Transfer client (for listings).

    Subclassed by :class:`~.session.TransferSession`, which adds submission; the
    planner itself only reads (``operation_ls``), never writes.
    """

    settings: TransferSettings

    def __init__(self, settings: TransferSettings, client: Any):
        self.settings = settings
        self.client = client
        self._listings: dict[tuple[str, str], dict[str, int]] = {}
        self._listing_locks: dict[tuple[str, str], threading.Lock] = {}
        self._lock = threading.Lock()

    def source_endpoint(self) -> str:  # the session knows how to find it
        raise NotImplementedError

    # ------------------------------------------------------------------ listings
    def listing(self, folder: str, endpoint_id: str | None = None) -> dict[str, int]:
        """``{name: size}`` of the files in one folder (``operation_ls`` pages, cached)."""
        endpoint_id = endpoint_id or self.source_endpoint()
        key = (endpoint_id, folder.rstrip("/"))
        with self._lock:
            if key in self._listings:
                return self._listings[key]
            # one listing per folder even when the monitor's background size listing
            # and a click's plan ask at once: the second waits for the first
            folder_lock = self._listing_locks.setdefault(key, threading.Lock())
        with folder_lock:
            with self._lock:
                if key in self._listings:
                    return self._listings[key]
            sizes = _list_all_files(self.client, endpoint_id, folder.rstrip("/") + "/")
            with self._lock:
                self._listings[key] = sizes
        return sizes

    def _size_of(self, folder: str, rel: str) -> int | None:
        sub, _, name = rel.rpartition("/")
        listing = self.listing(folder + ("/" + sub if sub else ""))
        return listing.get(name)

    # ------------------------------------------------------------------ destinations
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

    # ------------------------------------------------------------------ plans
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
            folders=((folder + "/", dest),),
        )

    def plan_model(self, model: Any, which: str = "selection", **kwargs: Any) -> TransferPlan:
        """Files of a :class:`~dkist_widgets.core.model.DatasetModel`'s selection or working subset.

        Reads the model only; see :meth:`file_sizes_for` to give it the sizes listed.
        """
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
        return self.plan_files(inventory_of(model.dataset, required=True), names, kind=which, **kwargs)

    def file_sizes_for(self, model: Any) -> np.ndarray:
        """On-disk size of every frame's file on the DKIST endpoint (``-1``: not listed).

        Uses the listings this planner has made (one ``operation_ls`` per folder, so
        after :meth:`plan_model` no new request); for ``model.set_file_sizes``.
        """
        folder = dataset_folder(inventory_of(model.dataset, required=True), self.settings.dataset_path)
        names = model.files_for_frames(np.arange(model.n_frames))
        sizes = [self._size_of(folder, posixpath.normpath(str(n))) for n in names]
        return np.array([-1 if s is None else s for s in sizes], dtype=np.int64)

    def plan_datasets(
        self,
        records: Iterable[Mapping[str, Any]],
        *,
        label: str | None = None,
        template: str | None = None,
        root: str | None = None,
    ) -> TransferPlan:
        """Whole datasets (search records or inventories): each folder copied recursively."""
        records = list(records)
        if not records:
            raise ValueError("no datasets chosen")
        items, ids, locals_, dests, folders = [], [], [], [], []
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
            folders.append((folder + "/", dest))
            if local:
                locals_.append(local)
        default = (
            f"{self.settings.label_prefix} {ids[0]} dataset"
            if len(ids) == 1
            else f"{self.settings.label_prefix} {len(ids)} datasets"
        )
        return TransferPlan(
            "dataset",
            clean_label(label or default),
            tuple(items),
            tuple(ids),
            dests[0],
            n_files,
            total,
            tuple(locals_),
            tuple(folders),
        )

    def plan_quality(
        self,
        record: Mapping[str, Any],
        *,
        label: str | None = None,
        template: str | None = None,
        root: str | None = None,
    ) -> TransferPlan:
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
        return self.plan_files(
            record,
            names,
            kind="quality",
            label=label or f"{self.settings.label_prefix} {record.get('datasetId')} quality report and movie",
            template=template,
            root=root,
        )


#: Globus answers at most this many entries per ``operation_ls``.
LS_PAGE = 100_000


def _list_all_files(client, endpoint_id: str, path: str) -> dict[str, int]:
    """``{name: size}`` of every file in a folder, paging ``operation_ls`` by 100,000.

    Real Globus caps one listing at 100,000 entries (``limit``/``offset`` page it), and
    a DKIST dataset can hold more files than that. Pages are asked in name order
    (stable between calls) until ``total`` entries have come or, when an answer
    carries no ``total``, until a page comes back short of 100,000.
    """
    sizes: dict[str, int] = {}
    offset = 0
    while True:
        resp = client.operation_ls(endpoint_id, path=path, orderby="name ASC", limit=LS_PAGE, offset=offset)
        entries = list(resp)
        sizes.update((e["name"], int(e["size"])) for e in entries if e.get("type") == "file")
        offset += len(entries)
        total = resp.get("total")
        if not entries:
            return sizes
        if isinstance(total, int) and not isinstance(total, bool):
            if offset >= total:
                return sizes
        elif len(entries) < LS_PAGE:
            return sizes
