"""TransferWatcher: polls Globus for watched tasks from a background thread.

Choices
-------
* **A daemon thread** (an asyncio task would freeze while a cell runs), one
  ``task_list(filter={"task_id": [...]})`` per tick for up to 50 unfinished tasks
  (Globus's limit for that filter), so one request whatever the number of watched
  tasks up to 50. ``task_event_list`` is asked only when a task's ``faults`` grew or
  its status / ``nice_status`` changed; ``task_skipped_errors`` only when its
  ``subtasks_skipped_errors`` grew.
* **The interval adapts**: ``active_interval`` (2 s) while a task copies; while every
  task waits (Queued, INACTIVE, paused, retrying a fault) it grows x1.5 per quiet
  tick from 5 s up to ``max_interval`` (30 s) and snaps back on any change; a 429
  waits ``Retry-After`` (at least double the interval); with nothing to watch the
  thread sleeps until :meth:`TransferWatcher.watch` wakes it.
* **Trouble**: a 401 / refused refresh pauses polling and puts the login in
  ``needs_login``; logging in again wakes the watcher. A 403, another error status
  or an unreachable service backs off like a quiet tick and says so in
  :attr:`TransferWatcher.problem` (listeners get a ``change``, of no tasks, whenever
  that sentence changes); the first good answer clears it. A watched task missing
  from three answers in a row (deleted, or a task id from another service) ends as
  ``UNKNOWN``; the others are watched on.
* **Answers of the wrong shape** (an HTML page, an empty or cut-short body, nulls or
  strings where counts belong) are one sentence in :attr:`TransferWatcher.problem`
  (:mod:`.task_documents`); the tick backs off and the tasks are watched on.
* **Bounded over long runs**: the watcher keeps the :data:`FINISHED_KEEP` most
  recently started finished tasks in memory (older ones stay in the store, as
  history); a kernel that watches transfers for days holds no more than that.
* **Thread safety**: the watcher's state is behind one lock; callbacks run on the
  watcher thread and get immutable :class:`~.progress.TaskProgress` snapshots.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import globus_sdk

from ..globus_auth import NotLoggedIn, is_auth_error
from .file_activity import fault_path
from .plan import TransferPlan
from .progress import TaskProgress, WatchedTask, advance, is_running, progress_from_record, summary_of
from .session import TransferSession
from .store import TaskStore
from .task_documents import MalformedAnswer, event_documents, task_documents

__all__ = ["TransferWatcher", "TASK_LIST_MAX_IDS", "FINISHED_KEEP"]

log = logging.getLogger(__name__)

TASK_LIST_MAX_IDS = 50
#: Finished tasks a watcher keeps in memory (the store keeps STORE_LIMIT records).
FINISHED_KEEP = 50
#: Skipped-error records read per task (pages of 100).
SKIPPED_ERRORS_LIMIT = 1000


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
        self._tasks: dict[str, WatchedTask] = {}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._interval: float | None = None
        self._quiet_interval = waiting_interval
        self.problem = ""  # a sentence when polling is in trouble (rate limit, network, login)
        self.paused_for_login = False
        self._last_failure: type | None = None
        self.ticks = 0
        self.requests = 0
        for rec in self.store.unfinished():
            self._tasks[rec["task_id"]] = WatchedTask(progress_from_record(rec))
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
            except Exception:  # a broken view must not stop the watcher
                log.exception("transfer watcher %s callback failed", kind)

    def _on_login(self, change: Any) -> None:
        if self.session.login is not None and self.session.login.is_logged_in:
            self.paused_for_login = False
            self._set_problem("")  # the view drops "log in again" at once
            self._wake.set()

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> TransferWatcher:
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
            except Exception as err:  # keep watching whatever happens
                # one traceback per kind of failure, not one per tick; the view gets a sentence
                if type(err) is not self._last_failure:
                    log.exception("transfer watcher tick failed")
                self._last_failure = type(err)
                self._set_problem(f"Watching transfers hit an unexpected error ({type(err).__name__}); still watching.")
                interval = self.max_interval
            else:
                self._last_failure = None
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
                self._tasks[task_id] = WatchedTask(progress_from_record(rec))
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
                for doc in task_documents(resp):
                    docs[doc["task_id"]] = dict(doc)
        except MalformedAnswer as err:  # one sentence, no traceback; the tasks are watched on
            self._set_problem(str(err))
            return self._backoff()
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
            self._set_problem(
                "Cannot reach Globus (connection refused or network down); retrying less often until it answers."
            )
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
            self._skipped_if_needed(w, doc)
            progress = advance(w, doc, now)
            with self._lock:
                w.progress = progress
                w.last_doc = doc
            if (
                progress != replace(before, updated=progress.updated, rate=progress.rate, eta_s=progress.eta_s)
                or new_events
            ):
                changed.append(progress)
            task_changed = (before.status, before.nice_status, before.faults, before.files_done) != (
                progress.status,
                progress.nice_status,
                progress.faults,
                progress.files_done,
            )
            any_change = any_change or task_changed
            if progress.files_done > before.files_done or (progress.done and progress.succeeded and not before.done):
                landed.append(progress)
            if progress.done and not before.done:
                completed.append(progress)
                self.store.update(tid, done=True, summary=summary_of(doc))
            elif task_changed:
                self.store.update(tid, summary=summary_of(doc))
            any_running = any_running or is_running(doc)
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

    def _events_if_needed(self, w: WatchedTask, doc: dict) -> bool:
        old = w.last_doc
        faults_grew = doc.get("faults", 0) > (old.get("faults", 0) if old else 0)
        status_changed = old is not None and (old.get("status"), old.get("nice_status")) != (
            doc.get("status"),
            doc.get("nice_status"),
        )
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
        for ev in reversed(event_documents(resp)):  # oldest first, so the deque keeps the newest
            key = (ev.get("time"), ev.get("code"), ev.get("description"))
            if key in known or ev.get("code") == "PROGRESS":
                continue
            path = fault_path(ev)
            if path:
                w.faulting_paths.add(path)
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

    def _skipped_if_needed(self, w: WatchedTask, doc: dict) -> None:
        """Read the files Globus skipped after an error, when their count grew."""
        count = int(doc.get("subtasks_skipped_errors") or 0)
        if count <= w.skipped_seen:
            return
        try:
            for page in self.session.poll_client.paginated.task_skipped_errors(doc["task_id"]).pages():
                self.requests += 1
                w.skipped_paths.update(row["source_path"] for row in page if row.get("source_path"))
                if len(w.skipped_paths) >= SKIPPED_ERRORS_LIMIT:
                    break
            w.skipped_seen = count
        except (
            globus_sdk.GlobusAPIError,
            globus_sdk.NetworkError,
            NotLoggedIn,
            TypeError,
            KeyError,
            AttributeError,
        ) as err:
            log.debug("skipped errors of %s not read: %s", doc.get("task_id"), err)

    def _finish_unknown(self, w: WatchedTask) -> None:
        w.progress = replace(
            w.progress,
            status="UNKNOWN",
            words="unknown to Globus (the task was deleted, or belongs to another Globus service); no longer watched",
            done=True,
            updated=time.time(),
        )
        self.store.update(w.progress.task_id, done=True, summary={"status": "UNKNOWN"})


def _retry_after(err: globus_sdk.GlobusAPIError) -> float:
    try:
        return float(err.headers.get("Retry-After", 1))
    except (TypeError, ValueError, AttributeError):
        return 1.0
