"""A loopback Globus Auth: the OAuth2 routes ``globus_sdk.NativeAppAuthClient`` calls.

With it the notebook login (the auth-code flow with PKCE: open a link, sign in, paste
a code back) runs for real and offline, and the loopback Transfer API accepts only
the access tokens this service has issued and not revoked.

>>> auth = LoopbackGlobusAuth(access_token_lifetime=3600).start()   # doctest: +SKIP
>>> auth.protect(globus)       # the LoopbackGlobus now needs a live token   # doctest: +SKIP
>>> client = globus_sdk.NativeAppAuthClient(CLIENT_ID, base_url=auth.url)  # doctest: +SKIP

Wiring
------
``auth.url`` (``http://127.0.0.1:PORT/``) is a base URL for
``NativeAppAuthClient(base_url=...)`` or for the environment variable
``GLOBUS_SDK_SERVICE_URL_AUTH`` (which globus-sdk reads when a client is built, so a
kernel started with it talks to this service). :func:`start_for_world` starts one for
a sandbox world, protects the world's loopback Transfer API with it and sets that
variable in this process; :meth:`LoopbackGlobusAuth.kernel_environment` gives the
variable for a kernel.

Routes (the paths real Globus Auth serves):

``GET /v2/oauth2/authorize``
    Checks ``client_id`` (a known native client), ``response_type=code``,
    ``code_challenge`` + ``code_challenge_method=S256`` (PKCE is required: a native
    app has no secret), ``redirect_uri`` and ``scope``. The sandbox has no password:
    the user is "signed in" as :attr:`LoopbackGlobusAuth.username` at once, a one-time
    code (valid ``code_lifetime`` seconds) is issued and the browser is redirected to
    ``redirect_uri?code=...&state=...``, as Globus does.
``GET /v2/web/auth-code``
    The page globus-sdk's default ``redirect_uri`` points at: plain HTML showing the
    code to paste (in ``<code id="auth-code">``), everything escaped.
``POST /v2/oauth2/token``
    ``grant_type=authorization_code`` (``code``, ``code_verifier``, ``client_id``,
    ``redirect_uri`` must match the authorize request; a code works once) and
    ``grant_type=refresh_token``. Answers a Globus token document: the first
    requested resource server's token at top level, the others in ``other_tokens``,
    a ``refresh_token`` when the authorize request said ``access_type=offline``.
    Errors are ``400 {"error": "invalid_grant" | "invalid_request" | ...}`` like
    Globus's (dkist's re-login check looks for ``invalid_grant``).
``POST /v2/oauth2/token/revoke``
    Revokes an access or refresh token (a refresh token takes the access tokens it
    issued with it). Always 200, as RFC 7009 says.
``POST /v2/oauth2/token/validate``
    ``{"active": bool}`` for a token.
``GET /_sandbox/stats``, ``POST /_sandbox/revoke_all``, ``POST /_sandbox/expire_access``
    Test controls.

Tokens are random opaque strings. The service keeps only their SHA-256 digests and
never logs a token, a code or a verifier.

Transfer protection
-------------------
:class:`~dkist_widgets.sandbox.globus_service.LoopbackGlobus` knows one required token
at most (``inject("require_token", ...)``). :meth:`LoopbackGlobusAuth.protect`
replaces that check on one service instance with "is this a live access token for
``transfer.api.globus.org`` issued here" (it wraps the instance's
``faults._token_ok``; globus_service.py is not changed). A generic
``token_validator`` hook in ``LoopbackGlobus`` would make this less intimate.
"""

from __future__ import annotations

import base64
import collections
import hashlib
import hmac
import html
import json
import logging
import os
import secrets
import threading
import time
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any

from .loopback_http import LoopbackServer, LoopbackService

__all__ = [
    "LoopbackGlobusAuth",
    "start_for_world",
    "DKIST_CLIENT_ID",
    "TRANSFER_RESOURCE_SERVER",
    "TRANSFER_SCOPE",
]

log = logging.getLogger(__name__)

#: The native app client id the dkist user tools register with Globus (dkist/net/globus/auth.py).
DKIST_CLIENT_ID = "dd2d62af-0b44-4e2e-9454-1092c94b46b3"
TRANSFER_RESOURCE_SERVER = "transfer.api.globus.org"
TRANSFER_SCOPE = "urn:globus:auth:scope:transfer.api.globus.org:all"
_AUTH_RESOURCE_SERVER = "auth.globus.org"
_OPENID_SCOPES = {"openid", "profile", "email"}
ENV_AUTH_URL = "GLOBUS_SDK_SERVICE_URL_AUTH"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _resource_server_of(scope: str) -> str:
    if scope in _OPENID_SCOPES:
        return _AUTH_RESOURCE_SERVER
    if scope.startswith("urn:globus:auth:scope:"):
        rest = scope[len("urn:globus:auth:scope:") :]
        return rest.split(":", 1)[0]
    if scope.startswith("https://auth.globus.org/scopes/"):
        return scope[len("https://auth.globus.org/scopes/") :].split("/", 1)[0]
    return scope


@dataclass
class _Code:
    client_id: str
    redirect_uri: str
    challenge: str
    scopes: tuple[str, ...]
    offline: bool
    expires_at: float
    state: str
    mfa: bool = False


@dataclass
class _Grant:
    """What one refresh token (or one online login) stands for."""

    grant_id: str
    client_id: str
    resource_server: str
    scope: str
    revoked: bool = False
    #: the sign-in asked for (and, in the sandbox, got) multi-factor authentication
    mfa: bool = False


@dataclass
class _Token:
    kind: str  # "access" | "refresh"
    grant_id: str
    expires_at: float | None  # None: refresh tokens do not expire


class OAuthError(Exception):
    def __init__(self, status: int, error: str, description: str):
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description


class LoopbackGlobusAuth(LoopbackService):
    """The loopback Globus Auth service.

    :param access_token_lifetime: seconds an access token lives (Globus: 48 h).
    :param code_lifetime: seconds an authorization code may wait to be exchanged.
    :param client_ids: native client ids accepted (default: dkist's).
    :param username: who the sandbox says signed in.
    """

    def __init__(
        self,
        *,
        access_token_lifetime: float = 172800,
        code_lifetime: float = 600,
        client_ids: Iterable[str] = (DKIST_CLIENT_ID,),
        username: str = "sandbox-user@dkist-widgets.invalid",
        host: str = "127.0.0.1",
        port: int = 0,
    ):
        self.access_token_lifetime = float(access_token_lifetime)
        self.code_lifetime = float(code_lifetime)
        self.client_ids = set(client_ids)
        self.username = username
        self._host, self._port = host, port
        self._lock = threading.Lock()
        self._codes: dict[str, _Code] = {}  # digest -> code
        self._grants: dict[str, _Grant] = {}
        self._tokens: dict[str, _Token] = {}  # digest -> token
        self._counts: collections.Counter = collections.Counter()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._protected: list[Any] = []

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> LoopbackGlobusAuth:
        """Serve on 127.0.0.1; ``url`` is the base for ``NativeAppAuthClient(base_url=...)`` /
        ``GLOBUS_SDK_SERVICE_URL_AUTH``."""
        self._serve(_Server, _Handler, "globus-auth-sandbox-http")
        return self

    def stop(self) -> None:
        for globus in list(self._protected):
            self.unprotect(globus)
        self._stop_serving()

    def kernel_environment(self) -> dict[str, str]:
        """Environment for a kernel that should log in here."""
        return {ENV_AUTH_URL: self.url}

    # ------------------------------------------------------------------ transfer protection
    def protect(self, globus: Any) -> None:
        """Make a ``LoopbackGlobus`` accept only live transfer access tokens issued here."""

        def token_ok(token: str | None) -> bool:
            return token is not None and self.is_active(token, resource_server=TRANSFER_RESOURCE_SERVER)

        globus.faults._token_ok = token_ok
        globus.token_grant = self.grant_of
        self._protected.append(globus)

    def unprotect(self, globus: Any) -> None:
        """Give the Transfer service back its own token check."""
        globus.faults.__dict__.pop("_token_ok", None)
        globus.token_grant = None
        if globus in self._protected:
            self._protected.remove(globus)

    # ------------------------------------------------------------------ token registry
    def is_active(self, token: str, *, resource_server: str | None = None, kind: str = "access") -> bool:
        with self._lock:
            rec = self._tokens.get(_digest(token))
            if rec is None or rec.kind != kind:
                return False
            grant = self._grants.get(rec.grant_id)
            if grant is None or grant.revoked:
                return False
            if resource_server is not None and grant.resource_server != resource_server:
                return False
            return rec.expires_at is None or rec.expires_at > time.time()

    def grant_of(self, token: str | None) -> tuple[str, bool] | None:
        """(scope string, signed in with MFA) of a live access token, else ``None``.

        The Transfer service asks this to decide whether a token carries a
        collection's ``data_access`` consent (see ``LoopbackGlobus.require_consent``).
        """
        if token is None or not self.is_active(token):
            return None
        with self._lock:
            grant = self._grants.get(self._tokens[_digest(token)].grant_id)
            return (grant.scope, grant.mfa) if grant is not None else None

    def expire_access_tokens(self) -> None:
        """Every access token issued so far expires now (refresh tokens still work)."""
        with self._lock:
            for rec in self._tokens.values():
                if rec.kind == "access":
                    rec.expires_at = time.time() - 1

    def revoke_all(self) -> None:
        """Every grant is revoked: tokens and refresh tokens stop working (a forced re-login)."""
        with self._lock:
            for grant in self._grants.values():
                grant.revoked = True

    @property
    def request_counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def _count(self, route: str) -> None:
        with self._lock:
            self._counts[route] += 1

    def _issue(self, kind: str, grant_id: str, lifetime: float | None) -> str:
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._tokens[_digest(token)] = _Token(kind, grant_id, None if lifetime is None else time.time() + lifetime)
        return token

    # ------------------------------------------------------------------ OAuth2 steps
    def authorize(self, query: Mapping[str, str]) -> tuple[str, str]:
        """Validate an authorize request; return (code, redirect URL)."""
        client_id = query.get("client_id", "")
        if client_id not in self.client_ids:
            raise OAuthError(400, "invalid_client", "Unknown client_id")
        if query.get("response_type") != "code":
            raise OAuthError(400, "unsupported_response_type", "response_type must be 'code'")
        challenge = query.get("code_challenge", "")
        if not challenge or query.get("code_challenge_method") != "S256":
            raise OAuthError(400, "invalid_request", "A native app must send a PKCE code_challenge with method S256")
        redirect_uri = query.get("redirect_uri", "")
        parsed = urllib.parse.urlsplit(redirect_uri)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise OAuthError(400, "invalid_request", "redirect_uri must be an absolute http(s) URL")
        scopes = tuple(s for s in (query.get("scope") or "").split() if s)
        if not scopes:
            raise OAuthError(400, "invalid_scope", "No scope requested")
        code = secrets.token_urlsafe(24)
        state = query.get("state", "")
        with self._lock:
            now = time.time()
            for key in [k for k, c in self._codes.items() if c.expires_at < now]:
                del self._codes[key]
            self._codes[_digest(code)] = _Code(
                client_id=client_id,
                redirect_uri=redirect_uri,
                challenge=challenge,
                scopes=scopes,
                offline=query.get("access_type") == "offline",
                expires_at=now + self.code_lifetime,
                state=state,
                mfa=str(query.get("session_required_mfa", "")).lower() in ("true", "1", "yes"),
            )
        sep = "&" if parsed.query else "?"
        target = redirect_uri + sep + urllib.parse.urlencode({"code": code, "state": state})
        return code, target

    def token(self, form: Mapping[str, str]) -> dict:
        grant_type = form.get("grant_type")
        client_id = form.get("client_id", "")
        if client_id not in self.client_ids:
            raise OAuthError(401, "invalid_client", "Unknown client_id")
        if grant_type == "authorization_code":
            return self._exchange_code(form, client_id)
        if grant_type == "refresh_token":
            return self._refresh(form, client_id)
        raise OAuthError(400, "unsupported_grant_type", f"grant_type {grant_type!r} is not supported")

    def _exchange_code(self, form: Mapping[str, str], client_id: str) -> dict:
        code = form.get("code", "")
        with self._lock:
            rec = self._codes.pop(_digest(code), None)  # a code works once, right or wrong
        if rec is None or rec.expires_at < time.time():
            raise OAuthError(400, "invalid_grant", "The authorization code is invalid, expired or already used")
        if rec.client_id != client_id:
            raise OAuthError(400, "invalid_grant", "The code was issued to another client")
        if form.get("redirect_uri", "") != rec.redirect_uri:
            raise OAuthError(400, "invalid_grant", "redirect_uri does not match the authorize request")
        verifier = form.get("code_verifier", "")
        expected = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
        if not verifier or not hmac.compare_digest(expected, rec.challenge):
            raise OAuthError(400, "invalid_grant", "code_verifier does not match the code_challenge")
        by_server: dict[str, list[str]] = {}
        for scope in rec.scopes:
            by_server.setdefault(_resource_server_of(scope), []).append(scope)
        docs = []
        for server, scopes in by_server.items():
            grant = _Grant(secrets.token_hex(8), client_id, server, " ".join(scopes), mfa=rec.mfa)
            with self._lock:
                self._grants[grant.grant_id] = grant
            docs.append(self._token_doc(grant, with_refresh=rec.offline, state=rec.state))
        main, others = docs[0], docs[1:]
        main["other_tokens"] = others
        return main

    def _refresh(self, form: Mapping[str, str], client_id: str) -> dict:
        refresh = form.get("refresh_token", "")
        with self._lock:
            rec = self._tokens.get(_digest(refresh))
            grant = self._grants.get(rec.grant_id) if rec is not None and rec.kind == "refresh" else None
        if grant is None or grant.revoked or grant.client_id != client_id:
            raise OAuthError(400, "invalid_grant", "The refresh token is invalid or has been revoked")
        doc = self._token_doc(grant, with_refresh=False, state=None)
        doc["refresh_token"] = refresh  # Globus refresh tokens are not rotated
        doc["other_tokens"] = []
        return doc

    def _token_doc(self, grant: _Grant, *, with_refresh: bool, state: str | None) -> dict:
        access = self._issue("access", grant.grant_id, self.access_token_lifetime)
        doc = {
            "access_token": access,
            "expires_in": int(self.access_token_lifetime),
            "resource_server": grant.resource_server,
            "scope": grant.scope,
            "token_type": "Bearer",
        }
        if with_refresh:
            doc["refresh_token"] = self._issue("refresh", grant.grant_id, None)
        if state is not None:
            doc["state"] = state
        return doc

    def revoke(self, form: Mapping[str, str]) -> None:
        token = form.get("token", "")
        with self._lock:
            rec = self._tokens.get(_digest(token))
            if rec is None:
                return
            if rec.kind == "refresh":
                grant = self._grants.get(rec.grant_id)
                if grant is not None:
                    grant.revoked = True
            else:
                del self._tokens[_digest(token)]


# ---------------------------------------------------------------------- HTTP
class _Server(LoopbackServer):
    service: LoopbackGlobusAuth


_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>{title}</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 3em auto">
<h1>{title}</h1>
{body}
</body></html>
"""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "GlobusAuthSandbox/2"
    timeout = 30
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        # The request line of /v2/web/auth-code carries a code: log the path only.
        log.debug("auth sandbox %s %s", self.command, urllib.parse.urlsplit(self.path).path)

    @property
    def svc(self) -> LoopbackGlobusAuth:
        return self.server.service

    def _send(self, status: int, body: bytes, content_type: str, headers: Mapping[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, doc: Any) -> None:
        self._send(status, json.dumps(doc).encode(), "application/json")

    def _html(self, status: int, title: str, body: str) -> None:
        page = _PAGE.format(title=html.escape(title), body=body)
        self._send(status, page.encode(), "text/html; charset=utf-8")

    def _form(self) -> dict[str, str]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode() if length else ""
        return {k: v[-1] for k, v in urllib.parse.parse_qs(raw, keep_blank_values=True).items()}

    def do_GET(self) -> None:
        parsed = urllib.parse.urlsplit(self.path)
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(parsed.query, keep_blank_values=True).items()}
        path = parsed.path.rstrip("/")
        try:
            if path == "/v2/oauth2/authorize":
                self.svc._count("authorize")
                try:
                    _, target = self.svc.authorize(query)
                except OAuthError as err:
                    self._html(
                        err.status, "Sign-in failed", f"<p>{html.escape(err.error)}: {html.escape(err.description)}</p>"
                    )
                    return
                self._send(302, b"", "text/plain", {"Location": target})
            elif path == "/v2/web/auth-code":
                self.svc._count("auth_code_page")
                code = query.get("code", "")
                body = (
                    f"<p>Signed in to the DKIST widgets sandbox as <b>{html.escape(self.svc.username)}</b>.</p>"
                    "<p>Copy this code and paste it into the login box in your notebook:</p>"
                    f'<p><code id="auth-code" style="font-size: 1.3em">{html.escape(code)}</code></p>'
                    f'<p>state: <span id="state">{html.escape(query.get("state", ""))}</span></p>'
                )
                self._html(200, "Native App Authorization Code", body)
            elif path == "/_sandbox/stats":
                self._json(200, {"request_counts": self.svc.request_counts})
            else:
                self._json(404, {"error": "not_found", "error_description": "No such resource"})
        except (ConnectionError, BrokenPipeError):
            pass

    def do_POST(self) -> None:
        path = urllib.parse.urlsplit(self.path).path.rstrip("/")
        try:
            form = self._form()
            if path == "/v2/oauth2/token":
                self.svc._count("token")
                try:
                    self._json(200, self.svc.token(form))
                except OAuthError as err:
                    self._json(err.status, {"error": err.error, "error_description": err.description})
            elif path == "/v2/oauth2/token/revoke":
                self.svc._count("revoke")
                self.svc.revoke(form)
                self._json(200, {"active": False})
            elif path == "/v2/oauth2/token/validate":
                self.svc._count("validate")
                token = form.get("token", "")
                active = self.svc.is_active(token) or self.svc.is_active(token, kind="refresh")
                self._json(200, {"active": active})
            elif path == "/_sandbox/revoke_all":
                self.svc.revoke_all()
                self._json(200, {"code": "Accepted"})
            elif path == "/_sandbox/expire_access":
                self.svc.expire_access_tokens()
                self._json(200, {"code": "Accepted"})
            else:
                self._json(404, {"error": "not_found", "error_description": "No such resource"})
        except (ConnectionError, BrokenPipeError):
            pass
        except Exception as err:  # never leave the client hanging
            log.exception("loopback Globus Auth: error on POST %s", path)
            self._json(500, {"error": "server_error", "error_description": type(err).__name__})


# ---------------------------------------------------------------------- world wiring
def start_for_world(world: Any, **kwargs: Any) -> LoopbackGlobusAuth:
    """Start a loopback Auth for a sandbox ``World`` that owns its services.

    Protects ``world.globus`` with it and sets ``GLOBUS_SDK_SERVICE_URL_AUTH`` in this
    process. The caller keeps the returned service and stops it with the world.
    """
    if getattr(world, "globus", None) is None:
        raise ValueError("this world does not own its loopback Globus (attached from another process)")
    auth = LoopbackGlobusAuth(**kwargs).start()
    auth.protect(world.globus)
    os.environ[ENV_AUTH_URL] = auth.url
    return auth
