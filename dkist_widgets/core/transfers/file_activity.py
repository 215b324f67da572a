"""Which files of a model each watched transfer is moving, and which failed.

The file map colours a file *transferring* while a task moves it and *failed* when
it could not be moved. This module works that out from the plan (which files a
task holds) and Globus's own task data (:class:`~.progress.TaskProgress`); the
transfer monitor hands the answer to ``model.set_transfer_states``.

Choices
-------
* **Which files.** A plan's files (or, for a whole-dataset plan, every frame of the
  dataset) are recorded for the model's dataset when the task is submitted. Tasks
  resumed from the store after a restart carry no file list and are not shown.
* **Transferring** = files of an unfinished task that are not on disk yet (the
  model's ``local_files``, refreshed as files land) and not failing. Globus lists
  finished files (``task_successful_transfers``) only page by page and, on the
  real service, possibly only once a task has ended, so landing is read from the
  disk: for a destination that is not this machine, a task's files stay
  transferring until it ends.
* **Failed** = files Globus skipped after an error or is failing to copy right now
  (paths from ``task_skipped_errors`` and fault events, :attr:`TaskProgress.failed_paths`),
  and, when a task ends FAILED (not cancelled), every file of it that is not on disk.
  A cancelled task's files are neither.
* **Newest wins.** Tasks are applied oldest first, so a file sent again by a later
  task shows that task's state.
* A Globus path (source or destination) maps back to a file by stripping the plan's
  folder pair (:attr:`~.plan.TransferPlan.folders`).
"""

from __future__ import annotations

import json
import posixpath
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..inventory import inventory_of
from .plan import TransferPlan
from .progress import TaskProgress

__all__ = ["TransferFileStates", "fault_path"]

_MOVING, _FAILED = 1, 2


def fault_path(event: Mapping[str, Any]) -> str | None:
    """The file path a Globus error event names, if any.

    Fault events carry JSON ``details`` with ``context: [{"operation", "path"}]``
    (as Globus relays GridFTP's error); anything else names no file.
    """
    if not event.get("is_error"):
        return None
    details = event.get("details")
    if not isinstance(details, str) or not details.lstrip().startswith("{"):
        return None
    try:
        doc = json.loads(details)
    except ValueError:
        return None
    context = doc.get("context") if isinstance(doc, dict) else None
    for ctx in context if isinstance(context, list) else ():
        path = ctx.get("path") if isinstance(ctx, dict) else None
        if isinstance(path, str) and path:
            return path
    return None


@dataclass
class _TaskFiles:
    dataset_id: str
    n_frames: int
    frames: np.ndarray  # sorted frame ids this task moves
    folders: tuple[tuple[str, str], ...]
    names: dict | None = field(default=None)  # relative file name -> frame, made on first need


class TransferFileStates:
    """Per task: the frames of one model it moves; per tick: frames transferring and failed."""

    def __init__(self) -> None:
        self._tasks: dict[str, _TaskFiles] = {}
        self._lock = threading.Lock()

    def add(self, task_id: str, plan: TransferPlan, model: Any) -> int:
        """Record which of the model's frames ``plan`` moves; returns how many (0: none of this dataset)."""
        if model is None or model.dataset is None or plan.kind == "quality":
            return 0
        ds_id = str(inventory_of(model.dataset).get("datasetId"))
        if ds_id not in plan.dataset_ids:
            return 0
        pair = plan.folders[plan.dataset_ids.index(ds_id)] if len(plan.folders) == len(plan.dataset_ids) else None
        if pair is None:
            return 0
        source_folder = pair[0]
        if any(item.recursive and item.source.rstrip("/") + "/" == source_folder for item in plan.items):
            frames = np.arange(model.n_frames, dtype=np.int64)
        else:
            wanted = [item.source[len(source_folder) :] for item in plan.items if item.source.startswith(source_folder)]
            try:
                frames = model.frames_for_files(wanted)
            except KeyError:  # names dkist spells otherwise (./x): compare normalised names
                keep = set(wanted)
                names = model.files_for_frames(np.arange(model.n_frames))
                frames = np.array(
                    [i for i, n in enumerate(names) if posixpath.normpath(str(n)) in keep], dtype=np.int64
                )
        with self._lock:
            self._tasks[task_id] = _TaskFiles(ds_id, model.n_frames, frames, (pair,))
        return int(frames.size)

    def forget(self, task_id: str) -> None:
        with self._lock:
            self._tasks.pop(task_id, None)

    def __contains__(self, task_id: str) -> bool:
        return task_id in self._tasks

    def states(self, model: Any, progresses: Iterable[TaskProgress]) -> tuple[np.ndarray, np.ndarray]:
        """``(transferring, failed)`` frame ids of ``model`` from these task snapshots."""
        empty = np.zeros(0, dtype=np.int64)
        if model is None or model.dataset is None or model.n_frames == 0:
            return empty, empty
        ds_id = str(inventory_of(model.dataset).get("datasetId"))
        code = np.zeros(model.n_frames, dtype=np.int8)
        local = np.asarray(model.local_files, dtype=bool)
        ordered = sorted(progresses, key=lambda p: p.request_time or "")
        for p in ordered:
            with self._lock:
                tf = self._tasks.get(p.task_id)
            if tf is None or tf.dataset_id != ds_id or tf.n_frames != model.n_frames:
                continue
            frames = tf.frames
            landed = local[frames] if local.size == model.n_frames else np.zeros(frames.size, bool)
            if p.done and (p.succeeded or p.cancelled):
                code[frames] = 0
            elif p.done:  # FAILED: whatever did not land failed
                code[frames] = np.where(landed, 0, _FAILED)
            else:
                code[frames] = np.where(landed, 0, _MOVING)
            failing = self._frames_of_paths(tf, model, p.failed_paths)
            if failing.size:
                code[failing] = _FAILED
        return np.flatnonzero(code == _MOVING), np.flatnonzero(code == _FAILED)

    def _frames_of_paths(self, tf: _TaskFiles, model: Any, paths: Iterable[str]) -> np.ndarray:
        paths = list(paths)
        if not paths:
            return np.zeros(0, dtype=np.int64)
        if tf.names is None:
            names = model.files_for_frames(tf.frames)
            tf.names = {posixpath.normpath(str(n)): int(f) for n, f in zip(names, tf.frames, strict=True)}
        out = []
        for path in paths:
            for source, destination in tf.folders:
                for prefix in (source, destination):
                    if path.startswith(prefix):
                        frame = tf.names.get(posixpath.normpath(path[len(prefix) :]))
                        if frame is not None:
                            out.append(frame)
        return np.unique(np.asarray(out, dtype=np.int64))
