"""The task store: task ids and what is known about them, in a JSON file (no secrets).

Choices: JSON in ``{user data dir}/globus/transfers-{service}.json`` (no token
ever), written atomically and private (0600); unfinished task ids are watched again
by a new watcher after a kernel restart; the file keeps the newest
:data:`STORE_LIMIT` records (unfinished ones are never dropped).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

from ..globus_auth import user_data_dir, write_private_json

__all__ = ["TaskStore", "STORE_LIMIT"]

log = logging.getLogger(__name__)

STORE_LIMIT = 500


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
            records = sorted(
                keep_running + finished[len(records) - STORE_LIMIT :], key=lambda r: r.get("submitted_at", 0)
            )
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
