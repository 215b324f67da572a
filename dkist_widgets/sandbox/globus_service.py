"""A loopback Globus Transfer API that the real ``globus_sdk.TransferClient`` drives.

>>> svc = LoopbackGlobus(rate_bytes_per_s=5e6).start()          # doctest: +SKIP
>>> tc = globus_sdk.TransferClient(base_url=svc.url,            # doctest: +SKIP
...                                authorizer=globus_sdk.NullAuthorizer())
>>> svc.stop()                                                   # doctest: +SKIP

``svc.url`` is the base URL for ``TransferClient(base_url=...)`` or
``GLOBUS_SDK_SERVICE_URL_TRANSFER``. globus-sdk 4.x puts ``/v0.10/`` in every path
and uses the bare host as base URL (``https://transfer.api.globus.org/``); the 3.x
habit of a base URL ending in ``/v0.10/`` (which makes ``/v0.10/v0.10/...``) is
accepted too.

Routes (after the ``/v0.10`` prefix), shaped like Globus's documents:
``GET submission_id``, ``POST transfer``, ``GET task_list`` (``filter``
``task_id:a,b/status:ACTIVE,INACTIVE/type:TRANSFER/label:x`` (``label:~x`` = contains),
``request_time:start,end``, ``completion_time:start,end``; ``limit`` default 10,
``offset + limit <= 1000``; ``orderby``), ``GET task/{id}``, ``GET
task/{id}/event_list``, ``GET task/{id}/successful_transfers``, ``GET
task/{id}/skipped_errors`` (marker paging, 100 per page), ``POST task/{id}/cancel``,
``GET endpoint/{id}``, ``GET endpoint_search`` (``filter_fulltext`` words all found in
display name / description; ``filter_scope`` as Globus: ``all`` (needs a text),
``my-endpoints`` (the user's own: :attr:`Endpoint.mine` and every Globus Connect
Personal), ``shared-with-me`` (guest collections shared with the user),
``recently-used`` (endpoints of the user's tasks, newest first), ``my-gcp-endpoints``;
limit/offset, ``has_next_page``), ``GET bookmark_list`` (the user's bookmarks:
``id``, ``name``, ``endpoint_id``, ``path``, ``pinned``; :meth:`LoopbackGlobus.add_bookmark`
adds one),
``GET operation/endpoint/{id}/ls`` (``path``, ``show_hidden``, ``orderby``,
``limit``/``offset``; at most :data:`LS_PAGE_MAX` = 100,000 entries per answer, as
real Globus, so a larger folder takes several pages), ``POST
operation/endpoint/{id}/mkdir`` (one folder; 202 ``DirectoryCreated``, 502
``ExternalError.MkdirFailed.Exists``, 404 for a missing parent, 403 where the
collection is read-only).

Misbehaviour on demand, from Python (``svc.inject(kind, **params)`` or
``svc.faults.<kind>(...)``) or from another process (``POST /_sandbox/faults`` with
``{"kind": ..., ...}``; :class:`SandboxGlobusAdmin` wraps it):

=====================  ==========================================================
``rate_limit``         the next ``count`` API requests (optionally one ``route``)
                       answer 429 ``RateLimitExceeded`` with ``Retry-After``
``server_error``       the next ``count`` requests answer ``status`` (503 default)
``unauthorized``       the next ``count`` requests (``None``: until cleared) answer
                       401 ``AuthenticationFailed`` (an expired token)
``forbidden``          the next ``count`` requests (``None``: until cleared) answer
                       403 ``PermissionDenied`` (a valid login without the right
                       to do that, e.g. a consent or an identity missing)
``require_token``      only ``Authorization: Bearer <token>`` is accepted
                       (``token=None`` accepts anything again)
``task_inactive``      task goes INACTIVE with ``nice_status``; ``task_resume``
                       makes it ACTIVE again
``task_failed``        task ends FAILED with ``fatal_error={code, description}``
``deny_destination``   writes under ``path`` on ``endpoint_id`` get
                       PERMISSION_DENIED (task stays ACTIVE, retrying)
``destination_full``   writes under ``path`` on ``endpoint_id`` fail as on a full
                       disk: ``NO_SPACE_LEFT`` (task stays ACTIVE, retrying; see
                       :mod:`.globus_engine`)
``corrupt_write``      the next ``count`` copied files get a flipped byte
                       (``verify_checksum`` catches it)
``malformed``          the next ``count`` requests (optionally one ``route``) are
                       served, then answered 200 with a body of the wrong
                       ``shape``: ``html`` (a proxy's or captive portal's page),
                       ``empty``, ``truncated`` (half the JSON), ``nulls`` (every
                       number in the document becomes ``null``) or ``wrong_types``
                       (every number becomes the string ``"n/a"``); see
                       :data:`MALFORMED_SHAPES`
``require_consent``    a transfer to or from ``endpoint_id`` (a GCS v5 collection)
                       is refused with 403 and a Globus authorization requirement
                       (globus-sdk's ``gare`` parses it) until the token carries the
                       collection's ``data_access`` consent (``mfa=True``: and a
                       sign-in with MFA); needs :meth:`LoopbackGlobusAuth.protect`
                       to know what a token carries. ``endpoint_id=None`` clears.
``clear``              drop every pending fault (not ``require_token``)
=====================  ==========================================================

An outage: :meth:`LoopbackGlobus.go_offline` closes the listening socket (clients get
*connection refused*) while the engine keeps copying, as Globus does while a laptop
loses its network; :meth:`LoopbackGlobus.go_online` listens again on the same port
with the same tasks.

``POST /_sandbox/rate`` ``{"bytes_per_s": x}`` changes the copy rate,
``GET /_sandbox/stats`` gives request counts by route, ``POST /_sandbox/stats/reset``
zeroes them. Admin routes are never faulted, never need a token, and are not counted
in the API routes. Tokens are never logged or stored in plain text (only a SHA-256
digest is kept to compare against a required token).
"""

from __future__ import annotations

import collections
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import stat as _stat
import threading
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from . import endpoints as _endpoints
from . import paths as _paths
from .globus_engine import (
    DEFAULT_USER,
    PARTIAL_SUFFIX,
    Endpoint,
    GlobusError,
    TransferEngine,
    _event_time,
    parse_deadline,
)
from .loopback_http import LoopbackServer, LoopbackService

__all__ = ["LoopbackGlobus", "SandboxGlobusAdmin", "Endpoint", "default_endpoints", "ROUTES", "MALFORMED_SHAPES"]

#: Shapes of a wrong 200 answer (the ``malformed`` fault).
MALFORMED_SHAPES = ("html", "empty", "truncated", "nulls", "wrong_types")

_PORTAL_PAGE = (
    b"<!DOCTYPE html><html><head><title>Sign in to the network</title></head>"
    b"<body><h1>Welcome</h1><p>Accept the terms of use to continue.</p></body></html>"
)


def malformed_body(doc: Any, shape: str) -> tuple[bytes, str]:
    """The body and content type a wrong 200 answer of ``shape`` carries instead of ``doc``."""
    if shape == "html":
        return _PORTAL_PAGE, "text/html; charset=utf-8"
    if shape == "empty":
        return b"", "application/json"
    text = json.dumps(doc).encode()
    if shape == "truncated":
        return text[: max(1, len(text) // 2)], "application/json"
    replacement = None if shape == "nulls" else "n/a"
    return json.dumps(_replace_numbers(doc, replacement)).encode(), "application/json"


def _replace_numbers(doc: Any, replacement: Any) -> Any:
    if isinstance(doc, bool) or doc is None or isinstance(doc, str):
        return doc
    if isinstance(doc, (int, float)):
        return replacement
    if isinstance(doc, dict):
        return {k: _replace_numbers(v, replacement) for k, v in doc.items()}
    if isinstance(doc, list):
        return [_replace_numbers(v, replacement) for v in doc]
    return doc


log = logging.getLogger(__name__)

#: Entries one ``operation_ls`` answers at most, as real Globus (``limit`` max and default);
#: ``offset`` pages further. The answer's ``total`` counts every entry of the folder.
LS_PAGE_MAX = 100_000

API_PREFIX = "v0.10"
ROUTES = (
    "submission_id",
    "transfer",
    "task_list",
    "task",
    "event_list",
    "successful_transfers",
    "skipped_errors",
    "cancel",
    "endpoint",
    "endpoint_search",
    "ls",
    "mkdir",
    "bookmark_list",
    "unknown",
)
_UUID = r"[0-9a-fA-F-]{1,64}"
_ROUTE_TABLE = [
    ("GET", re.compile(r"^submission_id$"), "submission_id"),
    ("POST", re.compile(r"^transfer$"), "transfer"),
    ("GET", re.compile(r"^task_list$"), "task_list"),
    ("GET", re.compile(rf"^task/(?P<id>{_UUID})$"), "task"),
    ("GET", re.compile(rf"^task/(?P<id>{_UUID})/event_list$"), "event_list"),
    ("GET", re.compile(rf"^task/(?P<id>{_UUID})/successful_transfers$"), "successful_transfers"),
    ("GET", re.compile(rf"^task/(?P<id>{_UUID})/skipped_errors$"), "skipped_errors"),
    ("POST", re.compile(rf"^task/(?P<id>{_UUID})/cancel$"), "cancel"),
    ("GET", re.compile(r"^endpoint_search$"), "endpoint_search"),
    ("GET", re.compile(rf"^endpoint/(?P<id>{_UUID})$"), "endpoint"),
    ("GET", re.compile(rf"^operation/endpoint/(?P<id>{_UUID})/ls$"), "ls"),
    ("POST", re.compile(rf"^operation/endpoint/(?P<id>{_UUID})/mkdir$"), "mkdir"),
    ("GET", re.compile(r"^bookmark_list$"), "bookmark_list"),
]
MARKER_PAGE_SIZE = 100


def default_endpoints() -> dict[str, Endpoint]:
    """The DKIST endpoint (read-only, the sample archive) and the local endpoint."""
    try:  # the archive module belongs to another part of the sandbox
        from .archive import FORMAT_VERSION
    except ImportError:  # pragma: no cover - only before archive.py exists
        FORMAT_VERSION = 1
    dkist = Endpoint(
        id=_endpoints.DKIST_ENDPOINT_ID,
        display_name=_endpoints.DKIST_ENDPOINT_NAME,
        root=_paths.archive_root(FORMAT_VERSION),
        writable=False,
        description="DKIST data centre archive (offline sandbox copy)",
    )
    local = Endpoint(
        id=_endpoints.LOCAL_ENDPOINT_ID,
        display_name=_endpoints.LOCAL_ENDPOINT_NAME,
        root=_paths.local_endpoint_root(),
        writable=True,
        description="Globus Connect Personal on this machine (sandbox)",
        is_globus_connect=True,
    )
    return {dkist.id: dkist, local.id: local}


def _as_endpoint(endpoint_id: str, spec: Any) -> Endpoint:
    if isinstance(spec, Endpoint):
        return spec
    if isinstance(spec, Mapping):
        return Endpoint(id=endpoint_id, **{**spec, "root": Path(spec["root"])})
    name, root, *rest = spec
    return Endpoint(id=endpoint_id, display_name=name, root=Path(root), writable=bool(rest[0]) if rest else True)


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class FaultPlan:
    """Faults waiting to happen; every method is also an ``inject`` kind."""

    def __init__(self, service: LoopbackGlobus):
        self._svc = service
        self._lock = threading.Lock()
        self._storms: list[dict] = []  # {"status", "remaining", "route", "retry_after"}
        self._required_digest: str | None = None

    # -- HTTP-level faults
    def rate_limit(self, count: int = 1, retry_after: int = 1, route: str | None = None) -> None:
        self._add({"status": 429, "remaining": int(count), "route": route, "retry_after": int(retry_after)})

    def server_error(self, count: int = 1, status: int = 503, route: str | None = None) -> None:
        if not 500 <= int(status) <= 599:
            raise ValueError("status must be a 5xx code")
        self._add({"status": int(status), "remaining": int(count), "route": route, "retry_after": None})

    def unauthorized(self, count: int | None = None, route: str | None = None) -> None:
        self._add(
            {"status": 401, "remaining": None if count is None else int(count), "route": route, "retry_after": None}
        )

    def forbidden(self, count: int | None = 1, route: str | None = None) -> None:
        self._add(
            {"status": 403, "remaining": None if count is None else int(count), "route": route, "retry_after": None}
        )

    def malformed(self, shape: str = "html", count: int | None = 1, route: str | None = None) -> None:
        if shape not in MALFORMED_SHAPES:
            raise ValueError(f"unknown shape {shape!r}; one of {MALFORMED_SHAPES}")
        self._add(
            {
                "status": 200,
                "shape": shape,
                "remaining": None if count is None else int(count),
                "route": route,
                "retry_after": None,
            }
        )

    def require_consent(self, endpoint_id: str | None, mfa: bool = False) -> None:
        with self._lock:
            if endpoint_id is None:
                self._svc.consent_required.clear()
            else:
                self._svc.consent_required[str(endpoint_id)] = {"mfa": bool(mfa)}

    def require_token(self, token: str | None) -> None:
        with self._lock:
            self._required_digest = None if token is None else _token_digest(token)

    # -- task-level faults
    def task_inactive(
        self, task_id: str, nice_status: str = "CREDENTIAL_EXPIRED", description: str | None = None
    ) -> None:
        self._svc.engine.make_inactive(task_id, nice_status, description)

    def task_resume(self, task_id: str) -> None:
        self._svc.engine.resume(task_id)

    def task_failed(
        self, task_id: str, code: str = "PERMISSION_DENIED", description: str = "permission denied"
    ) -> None:
        self._svc.engine.fail(task_id, code, description)

    def deny_destination(self, endpoint_id: str, path: str = "/") -> None:
        self._svc.engine.deny_destination(endpoint_id, path)

    def destination_full(self, endpoint_id: str, path: str = "/") -> None:
        self._svc.engine.fill_destination(endpoint_id, path)

    def corrupt_write(self, count: int = 1) -> None:
        self._svc.engine.corrupt_next_writes(count)

    def clear(self) -> None:
        with self._lock:
            self._storms.clear()
        self._svc.engine.clear_faults()

    # -- used by the request handler
    def _add(self, storm: dict) -> None:
        if storm["route"] is not None and storm["route"] not in ROUTES:
            raise ValueError(f"unknown route {storm['route']!r}; one of {ROUTES}")
        with self._lock:
            self._storms.append(storm)

    def _take(self, route: str) -> dict | None:
        with self._lock:
            for storm in self._storms:
                if storm["route"] in (None, route):
                    if storm["remaining"] is not None:
                        storm["remaining"] -= 1
                        if storm["remaining"] <= 0:
                            self._storms.remove(storm)
                    return storm
        return None

    def _token_ok(self, token: str | None) -> bool:
        with self._lock:
            required = self._required_digest
        if required is None:
            return True
        return token is not None and hmac.compare_digest(_token_digest(token), required)

    KINDS = (
        "rate_limit",
        "server_error",
        "unauthorized",
        "forbidden",
        "require_token",
        "task_inactive",
        "task_resume",
        "task_failed",
        "deny_destination",
        "destination_full",
        "corrupt_write",
        "malformed",
        "require_consent",
        "clear",
    )


class LoopbackGlobus(LoopbackService):
    """The loopback Transfer API: an HTTP server over a :class:`TransferEngine`.

    :param endpoints: ``{endpoint_id: (display_name, root[, writable])}`` or
        ``{endpoint_id: Endpoint}``; default :func:`default_endpoints`.
    :param rate_bytes_per_s: per-task copy rate (``None``: unthrottled).
    :param fault_retry_interval: seconds between retries of a file that faulted.
    """

    def __init__(
        self,
        endpoints: Mapping[str, Any] | None = None,
        rate_bytes_per_s: float | None = 50e6,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        fault_retry_interval: float = 1.0,
        progress_event_interval: float = 2.0,
        cancel_wait: float = 2.0,
        ls_page_max: int = LS_PAGE_MAX,
    ):
        #: Most entries one ``operation_ls`` answers (real Globus: 100,000); tests
        #: may lower it to page a small folder.
        self.ls_page_max = int(ls_page_max)
        #: collection id -> {"mfa": bool}: transfers there need a data_access consent.
        self.consent_required: dict[str, dict] = {}
        #: ``f(token) -> (scope, mfa) | None``: set by ``LoopbackGlobusAuth.protect``.
        self.token_grant = None
        #: The user's bookmarks, as Globus's ``bookmark`` documents (:meth:`add_bookmark`).
        self.bookmarks: list[dict] = []
        eps = default_endpoints() if endpoints is None else {k: _as_endpoint(k, v) for k, v in endpoints.items()}
        self.engine = TransferEngine(
            eps.values(),
            rate_bytes_per_s=rate_bytes_per_s,
            fault_retry_interval=fault_retry_interval,
            progress_event_interval=progress_event_interval,
            cancel_wait=cancel_wait,
        )
        self.faults = FaultPlan(self)
        self._host, self._port = host, port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._counts: collections.Counter = collections.Counter()
        self._counts_lock = threading.Lock()

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> LoopbackGlobus:
        """Serve on 127.0.0.1; ``url`` is the base for ``TransferClient(base_url=...)`` /
        ``GLOBUS_SDK_SERVICE_URL_TRANSFER``."""
        if self._serve(_Server, _Handler, "globus-sandbox-http"):
            self.engine.start()
        return self

    def stop(self) -> None:
        self._stop_serving()
        self.engine.stop()

    def go_offline(self) -> None:
        """Stop listening (clients get *connection refused*); tasks keep copying."""
        if self._server is not None:
            self._port = self._server.server_address[1]  # come back on the same port
        self._stop_serving()

    def go_online(self) -> None:
        """Listen again on the port used before :meth:`go_offline`, with the same tasks."""
        self._serve(_Server, _Handler, "globus-sandbox-http")

    @property
    def online(self) -> bool:
        return self._server is not None

    @property
    def endpoints(self) -> dict[str, Endpoint]:
        return dict(self.engine.endpoints)

    # ------------------------------------------------------------------ controls
    def set_rate(self, rate_bytes_per_s: float | None) -> None:
        self.engine.set_rate(rate_bytes_per_s)

    @property
    def rate_bytes_per_s(self) -> float | None:
        return self.engine.rate_bytes_per_s

    def inject(self, kind: str, **params: Any) -> None:
        """Arrange a fault; ``kind`` is one of :attr:`FaultPlan.KINDS`."""
        if kind not in FaultPlan.KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; one of {FaultPlan.KINDS}")
        getattr(self.faults, kind)(**params)

    @property
    def request_counts(self) -> dict[str, int]:
        """API requests received by route (faulted ones included)."""
        with self._counts_lock:
            return dict(self._counts)

    def reset_request_counts(self) -> None:
        with self._counts_lock:
            self._counts.clear()

    def _count(self, route: str) -> None:
        with self._counts_lock:
            self._counts[route] += 1

    def add_bookmark(self, name: str, endpoint_id: str, path: str, pinned: bool = False) -> dict:
        """Bookmark ``path`` on an existing endpoint, as the Globus web app does; returns the document."""
        self.engine.get_endpoint(endpoint_id)  # 404 for an unknown endpoint, as Globus
        if not path.startswith("/"):
            raise ValueError("a bookmark's path is absolute")
        doc = {
            "DATA_TYPE": "bookmark",
            "id": str(uuid.uuid4()),
            "name": name,
            "endpoint_id": endpoint_id,
            "path": path.rstrip("/") + "/",
            "pinned": bool(pinned),
        }
        self.bookmarks.append(doc)
        return doc

    # ------------------------------------------------------------------ documents
    def endpoint_doc(self, ep: Endpoint) -> dict:
        gcp = ep.is_globus_connect
        guest = ep.host_endpoint_id is not None
        kind = ("GCP" if gcp else "GCSv5") + ("_guest_collection" if guest else "_mapped_collection")
        return {
            "DATA_TYPE": "endpoint",
            "id": ep.id,
            "display_name": ep.display_name,
            "canonical_name": None,
            "name": None,
            "description": ep.description,
            "organization": "DKIST sandbox",
            "department": None,
            "keywords": None,
            "contact_email": None,
            "contact_info": None,
            "info_link": None,
            "owner_id": "00000000-0000-4000-8000-000000000000",
            "owner_string": "sandbox@dkist-widgets.invalid",
            "username": "sandbox",
            "entity_type": kind,
            "public": not gcp,
            "is_globus_connect": gcp,
            "globus_connect_setup_key": None,
            "gcp_connected": True if gcp else None,
            "gcp_paused": False if gcp else None,
            "host_endpoint_id": ep.host_endpoint_id,
            "host_path": ep.host_path,
            "default_directory": "/~/" if gcp else "/",
            "activated": True,
            "expires_in": -1,
            "expire_time": None,
            "myproxy_server": None,
            "myproxy_dn": None,
            "oauth_server": None,
            "force_encryption": False,
            "disable_verify": False,
            "disable_anonymous_writes": False,
            "force_verify": False,
            "mfa_required": False,
            "non_functional": False,
            "non_functional_endpoint_display_name": None,
            "non_functional_endpoint_id": None,
            "network_use": "normal",
            "max_concurrency": None,
            "preferred_concurrency": None,
            "shareable": False,
            "acl_available": False,
            "acl_editable": False,
            "in_use": False,
            "my_effective_roles": [],
            "subscription_id": None,
            "DATA": [],
        }


def posixpath_parent(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[0] + "/"


def data_access_scope(collection_id: str) -> str:
    """The Transfer scope with a collection's ``data_access`` dependency, as Globus writes it."""
    return f"urn:globus:auth:scope:transfer.api.globus.org:all[*https://auth.globus.org/scopes/{collection_id}/data_access]"


class _Refusal(Exception):
    """A refusal whose whole JSON body is given (authorization requirements)."""

    def __init__(self, status: int, body: dict):
        super().__init__(body.get("code"))
        self.status, self.body = status, body


class _Server(LoopbackServer):
    service: LoopbackGlobus


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "GlobusTransferSandbox/0.10"
    timeout = 30
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        # Only the request line and status: headers (and so tokens) are never logged.
        log.debug("%s " + format, self.client_address[0], *args)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    # ------------------------------------------------------------------ plumbing
    def _send(self, status: int, doc: Any, headers: Mapping[str, str] | None = None) -> None:
        body, content_type = json.dumps(doc).encode(), "application/json"
        shape = getattr(self, "_malformed", None)
        if shape is not None and status == 200:
            body, content_type = malformed_body(doc, shape)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def _error(self, status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> None:
        self._send(
            status,
            {"code": code, "message": message, "request_id": secrets.token_urlsafe(6), "resource": self._resource},
            headers,
        )

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise GlobusError(400, "ClientError.BadRequest", "The request body is not valid JSON") from None

    def _token(self) -> str | None:
        auth = self.headers.get("Authorization") or ""
        scheme, _, value = auth.partition(" ")
        return value.strip() if scheme.lower() == "bearer" and value.strip() else None

    def _dispatch(self, method: str) -> None:
        svc = self.server.service
        parsed = urllib.parse.urlsplit(self.path)
        self._query = urllib.parse.parse_qs(parsed.query, keep_blank_values=True)
        segments = [urllib.parse.unquote(s) for s in parsed.path.split("/") if s]
        self._resource = "/" + "/".join(segments)
        self._malformed = None
        try:
            if segments[:1] == ["_sandbox"]:
                self._admin(method, segments[1:])
                return
            while segments[:1] == [API_PREFIX]:
                segments = segments[1:]
            rel = "/".join(segments)
            route, match, allowed = "unknown", None, False
            for verb, pattern, name in _ROUTE_TABLE:
                m = pattern.match(rel)
                if m:
                    route, match = name, m
                    allowed = allowed or verb == method
                    if verb == method:
                        break
            svc._count(route)
            if not svc.faults._token_ok(self._token()):
                self._error(401, "AuthenticationFailed", "Token is not active")
                self._drain()
                return
            storm = svc.faults._take(route)
            if storm is not None and storm["status"] == 200:
                self._malformed, storm = storm["shape"], None  # served, then mangled in _send
            if storm is not None:
                self._drain()
                status = storm["status"]
                if status == 429:
                    self._error(
                        429,
                        "RateLimitExceeded",
                        "Rate limit exceeded; slow down",
                        {"Retry-After": str(storm["retry_after"])},
                    )
                elif status == 401:
                    self._error(401, "AuthenticationFailed", "Token is not active")
                elif status == 403:
                    self._error(403, "PermissionDenied", "You do not have permission to do this (sandbox fault)")
                else:
                    self._error(
                        status,
                        "ServiceUnavailable" if status == 503 else "InternalServerError",
                        "The service is temporarily unavailable",
                    )
                return
            if route == "unknown":
                self._drain()
                raise GlobusError(404, "ClientError.NotFound", f"No such resource {self._resource}")
            if not allowed or match is None:
                self._drain()
                raise GlobusError(405, "ClientError.MethodNotAllowed", f"{method} is not allowed on {self._resource}")
            getattr(self, "_api_" + route)(**match.groupdict())
        except _Refusal as refusal:
            self._send(refusal.status, refusal.body)
        except GlobusError as err:
            self._error(err.http_status, err.code, err.message)
        except (ConnectionError, BrokenPipeError):
            pass
        except Exception as err:  # never leave the client hanging
            log.exception("loopback Globus: error on %s %s", method, self._resource)
            self._error(500, "InternalServerError", f"{type(err).__name__}: {err}")

    def _drain(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)

    def _q(self, name: str, default: Any = None) -> Any:
        values = self._query.get(name)
        return values[-1] if values else default

    def _int(self, name: str, default: int, lo: int, hi: int) -> int:
        raw = self._q(name)
        if raw in (None, ""):
            return default
        try:
            value = int(raw)
        except ValueError:
            raise GlobusError(400, "ClientError.BadRequest", f"{name} must be an integer") from None
        if not lo <= value <= hi:
            raise GlobusError(400, "ClientError.BadRequest", f"{name} must be between {lo} and {hi}")
        return value

    @property
    def _svc(self) -> LoopbackGlobus:
        return self.server.service

    @property
    def _engine(self) -> TransferEngine:
        return self.server.service.engine

    # ------------------------------------------------------------------ API routes
    def _api_submission_id(self) -> None:
        self._send(200, {"DATA_TYPE": "submission_id", "value": self._engine.new_submission_id()})

    def _api_transfer(self) -> None:
        doc = self._body()
        self._check_consent(doc)
        task_id, submission_id, duplicate = self._engine.submit_transfer(doc, owner=DEFAULT_USER)
        self._send(
            200 if duplicate else 202,
            {
                "DATA_TYPE": "transfer_result",
                "code": "Duplicate" if duplicate else "Accepted",
                "message": (
                    "A transfer with this submission id was already accepted"
                    if duplicate
                    else "The transfer has been accepted and a task has been created and queued for execution"
                ),
                "request_id": secrets.token_urlsafe(6),
                "resource": "/transfer",
                "submission_id": submission_id,
                "task_id": task_id,
                "task_link": {
                    "DATA_TYPE": "link",
                    "href": f"task/{task_id}?format=json",
                    "rel": "related",
                    "resource": "task",
                    "title": "related task",
                },
            },
        )

    def _api_task(self, id: str) -> None:
        self._send(200, self._engine.task_doc(id))

    def _api_task_list(self) -> None:
        limit = self._int("limit", 10, 1, 1000)
        offset = self._int("offset", 0, 0, 999)
        if offset + limit > 1000:
            raise GlobusError(400, "ClientError.BadRequest", "offset + limit must not exceed 1000")
        docs = [d for d in self._engine.task_docs() if _task_matches(d, self._q("filter"))]
        docs = _order(
            docs,
            self._q("orderby") or "request_time DESC",
            ("request_time", "completion_time", "label", "status", "task_id", "type", "nice_status"),
        )
        page = docs[offset : offset + limit]
        self._send(
            200,
            {
                "DATA_TYPE": "task_list",
                "DATA": page,
                "length": len(page),
                "limit": limit,
                "offset": offset,
                "total": len(docs),
            },
        )

    def _api_event_list(self, id: str) -> None:
        limit = self._int("limit", 10, 1, 1000)
        offset = self._int("offset", 0, 0, 10**9)
        events = self._engine.events(id)
        page = events[offset : offset + limit]
        self._send(
            200,
            {
                "DATA_TYPE": "event_list",
                "DATA": page,
                "length": len(page),
                "limit": limit,
                "offset": offset,
                "total": len(events),
            },
        )

    def _marker_page(self, data_type: str, rows: list[dict]) -> None:
        marker = self._int("marker", 0, 0, 10**9)
        page = rows[marker : marker + MARKER_PAGE_SIZE]
        nxt = marker + MARKER_PAGE_SIZE
        self._send(
            200,
            {"DATA_TYPE": data_type, "marker": marker, "next_marker": nxt if nxt < len(rows) else None, "DATA": page},
        )

    def _api_successful_transfers(self, id: str) -> None:
        self._marker_page("successful_transfers", self._engine.successful_transfers(id))

    def _api_skipped_errors(self, id: str) -> None:
        self._marker_page("skipped_errors", self._engine.skipped_errors(id))

    def _api_cancel(self, id: str) -> None:
        self._drain()
        code, message = self._engine.cancel(id)
        self._send(
            200,
            {
                "DATA_TYPE": "result",
                "code": code,
                "message": message,
                "resource": f"/task/{id}/cancel",
                "request_id": secrets.token_urlsafe(6),
            },
        )

    def _api_endpoint(self, id: str) -> None:
        self._send(200, self._svc.endpoint_doc(self._engine.get_endpoint(id)))

    def _api_endpoint_search(self) -> None:
        fulltext = self._q("filter_fulltext")
        scope = self._q("filter_scope") or "all"
        limit = self._int("limit", 25, 1, 100)
        offset = self._int("offset", 0, 0, 999)
        if scope == "all" and not fulltext:
            raise GlobusError(400, "ClientError.BadRequest", "filter_fulltext is required when filter_scope is 'all'")
        known_scopes = {
            "all",
            "my-endpoints",
            "my-gcp-endpoints",
            "recently-used",
            "in-use",
            "shared-by-me",
            "shared-with-me",
            "administered-by-me",
        }
        if scope not in known_scopes:
            raise GlobusError(400, "ClientError.BadRequest", f"Unknown filter_scope {scope!r}")
        words = (fulltext or "").lower().split()
        hits = []
        recent = self._engine.recently_used(DEFAULT_USER) if scope == "recently-used" else []
        in_scope = {
            "all": lambda ep: True,
            "my-endpoints": lambda ep: ep.mine or ep.is_globus_connect,
            "my-gcp-endpoints": lambda ep: ep.is_globus_connect,
            "shared-with-me": lambda ep: ep.shared_with_me,
            "recently-used": lambda ep: ep.id in recent,
            "in-use": lambda ep: ep.id in recent,
        }.get(scope, lambda ep: False)  # shared-by-me, administered-by-me: nothing here
        for ep in self._engine.endpoints.values():
            if not in_scope(ep):
                continue
            haystack = f"{ep.display_name} {ep.description} {ep.id}".lower()
            if all(w in haystack for w in words):
                doc = self._svc.endpoint_doc(ep)
                doc["_rank"] = float(sum(haystack.count(w) for w in words)) if words else 0.0
                hits.append(doc)
        if scope == "recently-used":
            hits.sort(key=lambda d: recent.index(d["id"]))
        else:
            hits.sort(key=lambda d: (-d["_rank"], d["display_name"]))
        page = hits[offset : offset + limit]
        self._send(
            200,
            {
                "DATA_TYPE": "endpoint_list",
                "DATA": page,
                "has_next_page": offset + limit < len(hits),
                "limit": limit,
                "offset": offset,
            },
        )

    def _api_bookmark_list(self) -> None:
        self._send(200, {"DATA_TYPE": "bookmark_list", "DATA": list(self._svc.bookmarks)})

    def _api_ls(self, id: str) -> None:
        ep = self._engine.get_endpoint(id)
        path = self._q("path") or ("/~/" if ep.is_globus_connect else "/")
        folder = ep.resolve(path)
        if not ep.allows(folder, write=False):
            raise GlobusError(
                403,
                "EndpointPermissionDenied",
                f"Permission denied listing '{path}': not in the folders {ep.display_name} may access",
            )
        show_hidden = str(self._q("show_hidden", "1")).lower() not in ("0", "false", "no")
        cap = self._svc.ls_page_max
        limit = min(self._int("limit", cap, 1, LS_PAGE_MAX), cap)
        offset = self._int("offset", 0, 0, 10**9)
        if not folder.exists():
            raise GlobusError(
                404, "ClientError.NotFound", f"Directory '{path}' not found on endpoint {ep.display_name}"
            )
        if not folder.is_dir():
            raise GlobusError(502, "ExternalError.DirListingFailed.NotDirectory", f"'{path}' is not a directory")
        entries = []
        try:
            names = os.listdir(folder)
        except PermissionError:
            raise GlobusError(403, "EndpointPermissionDenied", f"Permission denied listing '{path}'") from None
        for name in names:
            if name.startswith(".") and name.endswith(PARTIAL_SUFFIX):
                continue  # the sandbox's in-flight temporaries
            if name.startswith(".") and not show_hidden:
                continue
            try:
                st = os.lstat(folder / name)
            except OSError:
                continue
            kind = "dir" if _stat.S_ISDIR(st.st_mode) else "link" if _stat.S_ISLNK(st.st_mode) else "file"
            entries.append(
                {
                    "DATA_TYPE": "file",
                    "group": "sandbox",
                    "last_modified": _event_time(st.st_mtime),
                    "link_group": None,
                    "link_last_modified": None,
                    "link_size": None,
                    "link_target": None,
                    "link_user": None,
                    "name": name,
                    "permissions": f"{_stat.S_IMODE(st.st_mode):04o}",
                    "size": st.st_size,
                    "type": kind,
                    "user": "sandbox",
                }
            )
        entries = _order(
            entries,
            self._q("orderby") or "name ASC",
            ("name", "type", "size", "last_modified", "permissions", "user", "group"),
        )
        page = entries[offset : offset + limit]
        shown_path = path if path.endswith("/") else path + "/"
        self._send(
            200,
            {
                "DATA_TYPE": "file_list",
                "DATA": page,
                "absolute_path": None,
                "endpoint": ep.id,
                "length": len(page),
                "path": shown_path,
                "rename_supported": True,
                "symlink_supported": False,
                "total": len(entries),
            },
        )

    def _api_mkdir(self, id: str) -> None:
        """Make one folder, as Globus's ``mkdir`` (not recursive: the parent must exist)."""
        doc = self._body()
        path = doc.get("path") if isinstance(doc, Mapping) else None
        if not isinstance(path, str) or not path:
            raise GlobusError(400, "ClientError.BadRequest", "mkdir needs a 'path'")
        ep = self._engine.get_endpoint(id)
        folder = ep.resolve(path)
        if not ep.writable or not ep.allows(folder, write=True):
            raise GlobusError(
                403, "EndpointPermissionDenied", f"Permission denied creating '{path}' on {ep.display_name}"
            )
        if folder.exists():
            raise GlobusError(502, "ExternalError.MkdirFailed.Exists", f"Path already exists, Error Path '{path}'")
        if not folder.parent.is_dir():
            raise GlobusError(404, "ClientError.NotFound", f"Directory '{posixpath_parent(path)}' not found")
        folder.mkdir()
        self._send(
            202,
            {
                "DATA_TYPE": "mkdir_result",
                "code": "DirectoryCreated",
                "message": "The directory was created successfully",
                "request_id": secrets.token_urlsafe(6),
                "resource": self._resource,
            },
        )

    def _check_consent(self, doc: Any) -> None:
        """Refuse a transfer touching a consent-required collection, as GCS v5 does.

        Without MFA required the answer is Transfer's ``ConsentRequired`` document
        (``required_scopes``); with MFA it is the ``AuthorizationRequired`` shape
        (``authorization_parameters``). Both are what ``globus_sdk.gare.to_gare`` reads.
        """
        needs = self._svc.consent_required
        if not needs or not isinstance(doc, Mapping):
            return
        grant = self._svc.token_grant(self._token()) if self._svc.token_grant else None
        scope, mfa = grant if grant else ("", False)
        for key in ("source_endpoint", "destination_endpoint"):
            ep = str(doc.get(key) or "")
            rule = needs.get(ep)
            if rule is None:
                continue
            required = data_access_scope(ep)
            has_consent = f"[*https://auth.globus.org/scopes/{ep}/data_access]" in scope
            if has_consent and (mfa or not rule["mfa"]):
                continue
            body = {"request_id": secrets.token_urlsafe(6), "resource": "/transfer"}
            if rule["mfa"]:
                body.update(
                    code="AuthorizationRequired",
                    message=f"This collection ({ep}) requires a recent sign-in with multi-factor authentication",
                    authorization_parameters={
                        "session_message": "This collection requires multi-factor authentication",
                        "session_required_mfa": True,
                        "required_scopes": [required],
                    },
                )
            else:
                body.update(
                    code="ConsentRequired",
                    message=f"Missing required data_access consent for collection {ep}",
                    required_scopes=[required],
                )
            raise _Refusal(403, body)

    # ------------------------------------------------------------------ admin routes
    def _admin(self, method: str, segments: list[str]) -> None:
        svc = self._svc
        body = self._body() if method == "POST" else None
        if method == "POST" and segments == ["faults"]:
            if not isinstance(body, Mapping) or "kind" not in body:
                raise GlobusError(400, "ClientError.BadRequest", 'body must be {"kind": ..., ...}')
            params = {k: v for k, v in body.items() if k != "kind"}
            try:
                svc.inject(body["kind"], **params)
            except (TypeError, ValueError) as err:
                raise GlobusError(400, "ClientError.BadRequest", str(err)) from None
            self._send(200, {"DATA_TYPE": "result", "code": "Accepted", "message": f"fault {body['kind']} armed"})
        elif method == "POST" and segments == ["rate"]:
            rate = (body or {}).get("bytes_per_s")
            try:
                svc.set_rate(None if rate is None else float(rate))
            except (TypeError, ValueError) as err:
                raise GlobusError(400, "ClientError.BadRequest", str(err)) from None
            self._send(200, {"DATA_TYPE": "result", "code": "Accepted", "bytes_per_s": svc.rate_bytes_per_s})
        elif method == "GET" and segments == ["stats"]:
            self._send(200, {"request_counts": svc.request_counts, "rate_bytes_per_s": svc.rate_bytes_per_s})
        elif method == "POST" and segments == ["stats", "reset"]:
            svc.reset_request_counts()
            self._send(200, {"DATA_TYPE": "result", "code": "Accepted"})
        else:
            raise GlobusError(404, "ClientError.NotFound", f"No such admin route {self._resource}")


# ---------------------------------------------------------------------- filters
def _task_matches(doc: dict, filter_text: str | None) -> bool:
    if not filter_text:
        return True
    for clause in filter_text.split("/"):
        if not clause:
            continue
        key, sep, value = clause.partition(":")
        if not sep:
            raise GlobusError(400, "ClientError.BadRequest", f"Invalid filter clause {clause!r}: expected key:value")
        if key in ("task_id", "status", "type", "nice_status"):
            wanted = {v.strip() for v in value.split(",") if v.strip()}
            if key in ("status", "type"):
                if doc[key] not in wanted:
                    return False
            elif str(doc[key]) not in wanted:
                return False
        elif key == "label":
            label = doc["label"] or ""
            if value.startswith("~"):
                if value[1:].lower() not in label.lower():
                    return False
            elif label != value:
                return False
        elif key in ("request_time", "completion_time"):
            start, _, end = value.partition(",")
            stamp = doc[key]
            if stamp is None:
                return False
            ts = parse_deadline(stamp)
            if start and ts < parse_deadline(start):
                return False
            if end and ts > parse_deadline(end):
                return False
        else:
            raise GlobusError(400, "ClientError.BadRequest", f"Unsupported filter field {key!r}")
    return True


def _order(rows: list[dict], orderby: str, allowed: tuple[str, ...]) -> list[dict]:
    keys = []
    for part in orderby.split(","):
        bits = part.strip().split()
        if not bits:
            continue
        name = bits[0]
        direction = bits[1].upper() if len(bits) > 1 else "ASC"
        if name not in allowed or direction not in ("ASC", "DESC"):
            raise GlobusError(400, "ClientError.BadRequest", f"Invalid orderby {part.strip()!r}")
        keys.append((name, direction == "DESC"))
    for name, desc in reversed(keys):  # stable sort, last key first
        rows = sorted(rows, key=lambda r: (r[name] is None, r[name] if r[name] is not None else ""), reverse=desc)
    return rows


# ---------------------------------------------------------------------- admin client
class SandboxGlobusAdmin:
    """Talk to a :class:`LoopbackGlobus` admin routes from another process."""

    def __init__(self, url: str, timeout: float = 10.0):
        self.url = url.rstrip("/") + "/_sandbox/"
        self.timeout = timeout

    def _call(self, method: str, route: str, doc: Any = None) -> dict:
        data = None if doc is None else json.dumps(doc).encode()
        req = urllib.request.Request(
            self.url + route, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                return json.loads(resp.read())
        except urllib.error.HTTPError as err:
            raise RuntimeError(f"sandbox admin {route}: {err.code} {err.read().decode(errors='replace')}") from None

    def inject(self, kind: str, **params: Any) -> None:
        self._call("POST", "faults", {"kind": kind, **params})

    def set_rate(self, bytes_per_s: float | None) -> None:
        self._call("POST", "rate", {"bytes_per_s": bytes_per_s})

    def request_counts(self) -> dict[str, int]:
        return self._call("GET", "stats")["request_counts"]

    def reset_request_counts(self) -> None:
        self._call("POST", "stats/reset", {})
