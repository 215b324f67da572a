"""Reading Globus task documents defensively: an answer of the wrong shape is one sentence.

Globus (or something in between: a proxy, a captive portal, a cut connection) can
answer 200 with something that is not the document expected: an HTML page, an empty
body, JSON cut short, or a document whose numbers are ``null`` or strings. Iterating
such a response raises deep inside the SDK or in our arithmetic, and a watcher that
let that escape would log a traceback on every tick.

Choices:

* :func:`task_documents` checks the whole ``task_list`` answer before anything is
  used and raises :class:`MalformedAnswer` carrying one plain sentence that says what
  arrived (the watcher shows it as its ``problem`` and keeps watching, backing off).
* A document with any counting field (``files``, ``bytes_transferred``, ...) that is
  not a non-negative integer makes the whole answer malformed: its figures cannot be
  trusted, so the last good snapshot of every task is kept rather than mixing.
  ``effective_bytes_per_second`` may be ``null`` (it is only a hint for the rate).
* :func:`event_documents` is lenient instead: events only add detail, so a malformed
  event list yields no events (and a debug log line), never an error.
"""

from __future__ import annotations

from typing import Any

__all__ = ["MalformedAnswer", "answer_shape", "task_documents", "event_documents", "COUNT_FIELDS"]

#: Fields of a task document the progress arithmetic reads as counts.
COUNT_FIELDS = ("files", "files_transferred", "files_skipped", "bytes_transferred", "faults", "subtasks_skipped_errors")
_STATUSES = ("ACTIVE", "INACTIVE", "SUCCEEDED", "FAILED")


class MalformedAnswer(ValueError):
    """An answer that is not the shape expected; ``str(err)`` is one sentence for the user."""


def answer_shape(resp: Any) -> str | None:
    """Why ``resp`` (a globus-sdk response) carries no JSON document, or ``None`` when it does."""
    data = getattr(resp, "data", None)
    if data is not None:
        return None
    try:
        text = resp.text or ""
    except Exception:  # noqa: BLE001 - a response without text is as empty as it gets
        text = ""
    content_type = str(getattr(resp, "content_type", "") or "").lower()
    if not text.strip():
        return "an empty answer"
    if "html" in content_type or text.lstrip().startswith("<"):
        return "a web page instead of data (a proxy or a network sign-in page may be in the way)"
    return "data that is not valid JSON (cut short?)"


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _check_document(doc: Any) -> dict:
    if not isinstance(doc, dict):
        raise MalformedAnswer(
            f"Globus sent a task entry that is a {type(doc).__name__}, not a document; still watching."
        )
    task_id = doc.get("task_id")
    if not isinstance(task_id, str) or not task_id:
        raise MalformedAnswer("Globus sent a task document without a task id; still watching.")
    status = doc.get("status")
    if status not in _STATUSES:
        raise MalformedAnswer(
            f"Globus sent the status {status!r} for task {task_id[:8]}, which is not one it uses; still watching."
        )
    for key in COUNT_FIELDS:
        if key in doc and not _is_count(doc[key]):
            raise MalformedAnswer(
                f"Globus sent {key} = {doc[key]!r} for task {task_id[:8]} where a count was expected; "
                "keeping the last good figures and still watching."
            )
    rate = doc.get("effective_bytes_per_second")
    if rate is not None and (isinstance(rate, bool) or not isinstance(rate, (int, float))):
        doc = {**doc, "effective_bytes_per_second": None}
    return doc


def task_documents(resp: Any) -> list[dict]:
    """The task documents of a ``task_list`` answer, checked; :class:`MalformedAnswer` otherwise."""
    shape = answer_shape(resp)
    if shape is not None:
        raise MalformedAnswer(f"Globus's answer to the task list was {shape}; still watching.")
    data = resp.data
    if not isinstance(data, dict) or not isinstance(data.get("DATA"), list):
        raise MalformedAnswer("Globus's answer to the task list has no list of tasks in it; still watching.")
    return [_check_document(doc) for doc in data["DATA"]]


def event_documents(resp: Any) -> list[dict]:
    """The event documents of a ``task_event_list`` answer; ``[]`` when it is malformed."""
    data = getattr(resp, "data", None)
    if not isinstance(data, dict) or not isinstance(data.get("DATA"), list):
        return []
    return [ev for ev in data["DATA"] if isinstance(ev, dict)]
