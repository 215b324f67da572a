"""Globus login for a notebook: the auth-code flow, a private token file, no widgets.

States (:attr:`GlobusLogin.state`):

``logged_out``
    no usable tokens
``awaiting_code``
    :meth:`GlobusLogin.start_login` gave a URL; waiting for the pasted code
``logged_in``
    a transfer token (and normally a refresh token) is held
``needs_login``
    the tokens stopped working (401 from Transfer, ``invalid_grant`` on refresh, an
    expired access token with no refresh token): ask again

Choices
-------
* **Auth-code flow with PKCE** (``NativeAppAuthClient.oauth2_start_flow`` with the
  default ``redirect_uri``, the Globus page that *shows* the code). It needs no
  browser on the kernel's machine and no callback to localhost, so it works on a
  remote JupyterHub or a cluster node (dkist issues 562, 657). The verifier lives only
  in the flow object in memory.
* **Client id**: dkist's registered native app by default, so one consent covers both.
* **Token file**: JSON in ``{user data dir}/globus/tokens.json``, the layout of
  ``globus_sdk.token_storage.JSONTokenStorage`` (format 2.0, one namespace per Auth
  service so sandbox tokens never meet production ones), always written through a
  fresh ``0600`` temporary file renamed into place (no window where another user
  could read it, and no process-wide ``umask`` change while other threads run). The
  folder is made ``0700``. A file with wider permissions is tightened on load.
* **dkist's cache** (``platformdirs.user_cache_dir("dkist")/globus_auth_cache.json``,
  a JSON dict of globus-sdk's ``by_resource_server`` token data, mode 0600) is
  shared both ways, so one sign-in serves the panels and dkist's own
  ``ds.files.download()`` / ``transfer_complete_datasets()`` (whose own login needs
  a localhost callback that cannot work on a remote hub, dkist issue 657):

  - *reading*: a transfer token there that is not expired or has a refresh token is
    reused, so someone logged in through dkist is not asked again; it is copied
    into this module's file (refreshes land there). By default only against
    production Globus Auth (``reuse_dkist_cache``).
  - *writing*: after a sign-in here, the transfer tokens (with their refresh token,
    which dkist requires of every entry) are written into dkist's file in dkist's
    own format, keeping its other entries; what was there before for that resource
    server is kept aside (``{user data dir}/globus/dkist-share.json``, 0600) so
    logout can put it back. By default only against production Globus Auth when
    globus-sdk (so dkist) in this process uses it too: dkist's file has no
    per-service sections, so tokens of another service (a sandbox) there would
    break the user's real dkist login. ``$DKIST_WIDGETS_SHARE_DKIST_LOGIN=1`` turns
    it on elsewhere; the sandbox sets it only for its own kernels, whose dkist
    cache lives in the sandbox's home.
  - *logout* undoes only what the widget did: it revokes the widget's own tokens,
    removes from dkist's file only entries that still hold them (restoring what was
    there before), and never revokes or deletes tokens dkist obtained itself; a
    login reused from dkist is just forgotten, and remembered (by a hash) as declined
    so the next start does not silently adopt it again.

  Why a file of our own besides dkist's: ``JSONTokenStorage``'s layout with a
  namespace per Auth service keeps sandbox and production tokens apart and holds
  refreshes, while dkist's single-service file is the interface dkist reads.
* **Authorizer**: :meth:`GlobusLogin.authorizer` returns one object that always
  delegates to the current tokens (a ``RefreshTokenAuthorizer`` when there is a
  refresh token, else an ``AccessTokenAuthorizer``), so a ``TransferClient`` built
  once keeps working across logout/login. With no tokens it raises
  :class:`NotLoggedIn` before any request is sent.
* **Expiry**: :meth:`GlobusLogin.handle_error` turns a Transfer 401 or an Auth
  ``invalid_grant`` into ``needs_login`` (the caller shows the login again instead of
  a traceback).
* **Secrets**: no token, code or verifier is ever put in a trait, a message, a log
  record or a ``repr``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

import globus_sdk
import platformdirs
import traitlets
from globus_sdk.authorizers import GlobusAuthorizer

from .dkist_token_cache import PRODUCTION_AUTH as _PRODUCTION_AUTH
from .dkist_token_cache import DkistTokenShare, globus_sdk_auth_url, write_private_json

__all__ = [
    "GlobusLogin",
    "LoginError",
    "NotLoggedIn",
    "ConsentRequired",
    "consent_required_from",
    "LOGGED_OUT",
    "AWAITING_CODE",
    "LOGGED_IN",
    "NEEDS_LOGIN",
    "DKIST_CLIENT_ID",
    "TRANSFER_SCOPE",
    "TRANSFER_RESOURCE_SERVER",
    "user_data_dir",
    "dkist_cache_path",
    "is_auth_error",
]

log = logging.getLogger(__name__)

LOGGED_OUT = "logged_out"
AWAITING_CODE = "awaiting_code"
LOGGED_IN = "logged_in"
NEEDS_LOGIN = "needs_login"
STATES = (LOGGED_OUT, AWAITING_CODE, LOGGED_IN, NEEDS_LOGIN)

#: dkist's native app client id (dkist/net/globus/auth.py).
DKIST_CLIENT_ID = "dd2d62af-0b44-4e2e-9454-1092c94b46b3"
TRANSFER_SCOPE = "urn:globus:auth:scope:transfer.api.globus.org:all"
TRANSFER_RESOURCE_SERVER = "transfer.api.globus.org"
ENV_DATA_DIR = "DKIST_WIDGETS_DATA_DIR"
#: ``1``/``0``: write a sign-in into dkist's token cache or not (default: production only).
ENV_SHARE_DKIST_LOGIN = "DKIST_WIDGETS_SHARE_DKIST_LOGIN"
#: Seconds of margin: an access token this close to expiry counts as expired.
EXPIRY_MARGIN = 60


def _share_by_default(auth_url: str) -> bool:
    """Whether a sign-in goes into dkist's cache unless told otherwise (see ``share_with_dkist``)."""
    explicit = os.environ.get(ENV_SHARE_DKIST_LOGIN, "").strip()
    if explicit in ("0", "1"):
        return explicit == "1"
    production = _PRODUCTION_AUTH.rstrip("/")
    return auth_url.rstrip("/") == production and globus_sdk_auth_url().rstrip("/") == production


class LoginError(ValueError):
    """A login step failed; the message says what to do (and holds no secret)."""


class ConsentRequired(RuntimeError):
    """Globus refused because a collection needs a consent, an identity or MFA.

    ``requirement`` is the ``globus_sdk.gare.GARE`` parsed from the 403 (required
    scopes such as a GCS v5 collection's ``data_access``, session identities, MFA);
    :meth:`GlobusLogin.start_login` with it asks for exactly that, after which the
    same submission can be sent again. ``str(err)`` is one sentence for the panel.
    """

    def __init__(self, requirement: Any, error: BaseException | None = None):
        self.requirement = requirement
        self.error = error
        super().__init__(_consent_sentence(requirement))

    @property
    def required_scopes(self) -> list[str]:
        return list(self.requirement.authorization_parameters.required_scopes or [])


def _consent_sentence(requirement: Any) -> str:
    params = requirement.authorization_parameters
    wants = []
    if params.required_scopes:
        wants.append("your consent to reach this collection's data")
    if params.session_required_identities or params.session_required_single_domain:
        wants.append("a sign-in with a particular identity")
    if params.session_required_mfa:
        wants.append("a sign-in with multi-factor authentication")
    if params.session_required_policies:
        wants.append("a sign-in that meets the collection's policy")
    what = " and ".join(wants) or "another sign-in"
    return f"Globus needs {what} before this transfer can start: sign in again with the link, then submit again."


def consent_required_from(error: BaseException) -> ConsentRequired | None:
    """A :class:`ConsentRequired` for a Globus error carrying an authorization
    requirement (``globus_sdk.gare.to_gare``), else ``None``."""
    from globus_sdk.gare import to_gare

    if not isinstance(error, globus_sdk.GlobusAPIError):
        return None
    try:
        requirement = to_gare(error)
    except Exception:  # noqa: BLE001 - a malformed body is not a requirement
        return None
    return None if requirement is None else ConsentRequired(requirement, error)


class NotLoggedIn(RuntimeError):
    """A Globus call was attempted with no usable login."""


def user_data_dir() -> Path:
    """``$DKIST_WIDGETS_DATA_DIR`` or the platform user data dir of dkist-widgets.

    The same rule as :func:`dkist_widgets.sandbox.paths.data_root`, repeated here so
    the core does not import the sandbox.
    """
    env = os.environ.get(ENV_DATA_DIR)
    root = Path(env).expanduser() if env else Path(platformdirs.user_data_dir("dkist-widgets"))
    root.mkdir(parents=True, exist_ok=True)
    return root


def dkist_cache_path() -> Path:
    """Where dkist caches its Globus tokens."""
    return Path(platformdirs.user_cache_dir("dkist")) / "globus_auth_cache.json"


def is_auth_error(exc: BaseException) -> bool:
    """Whether an exception means "the login is no longer valid"."""
    if isinstance(exc, NotLoggedIn):
        return True
    if isinstance(exc, globus_sdk.AuthAPIError):
        text = (getattr(exc, "text", "") or "") + " " + str(getattr(exc, "code", ""))
        return exc.http_status in (400, 401) and ("invalid_grant" in text or exc.http_status == 401)
    if isinstance(exc, globus_sdk.GlobusAPIError):
        return exc.http_status == 401
    return False


def _namespace_for(auth_url: str) -> str:
    if auth_url.rstrip("/") == _PRODUCTION_AUTH.rstrip("/"):
        return "DEFAULT"
    return "auth-" + hashlib.sha256(auth_url.rstrip("/").encode()).hexdigest()[:12]


class _TokenFile:
    """Token data by resource server, in ``JSONTokenStorage``'s format, written 0600."""

    def __init__(self, path: Path, namespace: str):
        self.path = Path(path)
        self.namespace = namespace
        self._lock = threading.Lock()

    def _load_all(self) -> dict:
        try:
            mode = self.path.stat().st_mode & 0o777
            if mode & 0o077:
                os.chmod(self.path, 0o600)
            doc = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {"data": {}, "format_version": "2.0", "globus-sdk.version": globus_sdk.__version__}
        except (OSError, ValueError):
            log.warning("the Globus token file %s is unreadable; ignoring it", self.path)
            return {"data": {}, "format_version": "2.0", "globus-sdk.version": globus_sdk.__version__}
        if not isinstance(doc, dict) or not isinstance(doc.get("data"), dict):
            return {"data": {}, "format_version": "2.0", "globus-sdk.version": globus_sdk.__version__}
        return doc

    def load(self) -> dict[str, dict]:
        with self._lock:
            data = self._load_all()["data"].get(self.namespace, {})
            return {k: dict(v) for k, v in data.items() if isinstance(v, dict)}

    def store(self, by_resource_server: dict[str, dict], source: str) -> None:
        with self._lock:
            doc = self._load_all()
            space = doc["data"].setdefault(self.namespace, {})
            for server, tok in by_resource_server.items():
                space[server] = {
                    "resource_server": server,
                    "identity_id": tok.get("identity_id"),
                    "scope": tok.get("scope", ""),
                    "access_token": tok["access_token"],
                    "refresh_token": tok.get("refresh_token") or space.get(server, {}).get("refresh_token"),
                    "expires_at_seconds": int(tok["expires_at_seconds"]),
                    "token_type": tok.get("token_type", "Bearer"),
                    "extra": {"source": source},
                }
            doc["globus-sdk.version"] = globus_sdk.__version__
            doc["format_version"] = "2.0"
            write_private_json(self.path, doc)

    def clear(self) -> None:
        with self._lock:
            doc = self._load_all()
            doc["data"].pop(self.namespace, None)
            if any(doc["data"].values()):
                write_private_json(self.path, doc)
            else:
                try:
                    self.path.unlink()
                except FileNotFoundError:
                    pass


class _DelegatingAuthorizer(GlobusAuthorizer):
    """Always uses the login's current tokens; raises NotLoggedIn when there are none."""

    def __init__(self, login: GlobusLogin):
        self._login = login

    def get_authorization_header(self) -> str | None:
        return self._login._current_authorizer().get_authorization_header()

    def handle_missing_authorization(self) -> bool:
        inner = self._login._inner
        return bool(inner is not None and inner.handle_missing_authorization())

    def __repr__(self) -> str:
        return f"<GlobusLogin authorizer state={self._login.state!r}>"


class GlobusLogin(traitlets.HasTraits):
    """The login state machine (no widgets; :class:`~dkist_widgets.panels.login.LoginPanel` shows it).

    Parameters
    ----------
    client_id
        Native app client id (default: dkist's).
    auth_url
        Globus Auth base URL; default: ``GLOBUS_SDK_SERVICE_URL_AUTH`` or production.
    token_path
        The token file (default ``{user data dir}/globus/tokens.json``).
    reuse_dkist_cache
        ``"auto"`` (only against production Auth), ``True`` or ``False``.
    dkist_cache
        dkist's cache file (default :func:`dkist_cache_path`).
    share_with_dkist
        Write a sign-in into dkist's cache: ``"auto"``, ``True`` or ``False``. Auto:
        ``$DKIST_WIDGETS_SHARE_DKIST_LOGIN`` (``1``/``0``) when set, else only when
        both this login and globus-sdk in this process (so dkist) use production
        Globus Auth.
    """

    state = traitlets.Enum(STATES, LOGGED_OUT, help="Where the login stands.")
    message = traitlets.Unicode("", help="A sentence for the user (never a secret).")
    authorize_url = traitlets.Unicode("", help="The URL to open while awaiting a code.")
    source = traitlets.Unicode("", help="Where the tokens came from: 'login' or 'dkist'.")
    version = traitlets.Int(0, help="Bumped whenever the tokens change.")

    def __init__(
        self,
        *,
        client_id: str = DKIST_CLIENT_ID,
        auth_url: str | None = None,
        token_path: str | os.PathLike | None = None,
        reuse_dkist_cache: bool | str = "auto",
        dkist_cache: str | os.PathLike | None = None,
        scopes: tuple[str, ...] = (TRANSFER_SCOPE,),
        share_with_dkist: bool | str = "auto",
    ):
        super().__init__()
        self.client_id = client_id
        self.auth_url = auth_url or os.environ.get("GLOBUS_SDK_SERVICE_URL_AUTH") or _PRODUCTION_AUTH
        self.scopes = tuple(scopes)
        path = Path(token_path) if token_path else user_data_dir() / "globus" / "tokens.json"
        self._file = _TokenFile(path, _namespace_for(self.auth_url))
        if reuse_dkist_cache == "auto":
            reuse_dkist_cache = self.auth_url.rstrip("/") == _PRODUCTION_AUTH.rstrip("/")
        self._reuse_dkist = bool(reuse_dkist_cache)
        self._dkist_cache = Path(dkist_cache) if dkist_cache else dkist_cache_path()
        if share_with_dkist == "auto":
            share_with_dkist = _share_by_default(self.auth_url)
        self._share_with_dkist = bool(share_with_dkist)
        self._dkist_share = DkistTokenShare(
            self._dkist_cache, path.parent / "dkist-share.json", _namespace_for(self.auth_url)
        )
        self._lock = threading.RLock()
        self._flow = None
        self._inner: GlobusAuthorizer | None = None
        self._tokens: dict | None = None
        self._auth_client: globus_sdk.NativeAppAuthClient | None = None
        self._delegate = _DelegatingAuthorizer(self)
        self.reload()

    def __repr__(self) -> str:
        return f"<GlobusLogin state={self.state!r} auth={self.auth_url!r} source={self.source!r}>"

    # ------------------------------------------------------------------ plumbing
    @property
    def token_path(self) -> Path:
        return self._file.path

    @property
    def is_logged_in(self) -> bool:
        return self.state == LOGGED_IN

    def auth_client(self) -> globus_sdk.NativeAppAuthClient:
        with self._lock:
            if self._auth_client is None:
                self._auth_client = globus_sdk.NativeAppAuthClient(self.client_id, base_url=self.auth_url)
            return self._auth_client

    def _set(self, state: str, message: str, **extra: Any) -> None:
        with self.hold_trait_notifications():
            for key, value in extra.items():
                setattr(self, key, value)
            self.message = message
            self.state = state

    def _adopt(self, tokens: dict | None, source: str) -> None:
        """Hold these transfer token data (or none) and build the inner authorizer."""
        with self._lock:
            self._tokens = tokens
            self._inner = None
            if tokens is not None:
                if tokens.get("refresh_token"):
                    self._inner = globus_sdk.RefreshTokenAuthorizer(
                        tokens["refresh_token"],
                        self.auth_client(),
                        access_token=tokens.get("access_token"),
                        expires_at=int(tokens["expires_at_seconds"]) if tokens.get("access_token") else None,
                        on_refresh=self._on_refresh,
                    )
                else:
                    self._inner = globus_sdk.AccessTokenAuthorizer(tokens["access_token"])
            self.version += 1

    def _on_refresh(self, response: globus_sdk.OAuthTokenResponse) -> None:
        tokens = response.by_resource_server.get(TRANSFER_RESOURCE_SERVER)
        if tokens is None:
            return
        self._file.store({TRANSFER_RESOURCE_SERVER: dict(tokens)}, source=self.source or "login")
        with self._lock:
            if self._tokens is not None:
                self._tokens.update(
                    access_token=tokens["access_token"], expires_at_seconds=tokens["expires_at_seconds"]
                )

    def _current_authorizer(self) -> GlobusAuthorizer:
        with self._lock:
            inner = self._inner
        if inner is None or self.state == NEEDS_LOGIN:
            raise NotLoggedIn("Not logged in to Globus: use the login panel (open the link, paste the code).")
        return inner

    # ------------------------------------------------------------------ loading
    def reload(self) -> str:
        """Read the token file (and dkist's cache when allowed); set the state."""
        tokens = self._file.load().get(TRANSFER_RESOURCE_SERVER)
        source = "login"
        if tokens is not None:
            source = (tokens.get("extra") or {}).get("source", "login")
        elif self._reuse_dkist:
            tokens = self._from_dkist_cache()
            if tokens is not None:
                source = "dkist"
                self._file.store({TRANSFER_RESOURCE_SERVER: tokens}, source="dkist")
        if tokens is None:
            self._adopt(None, "")
            self._set(LOGGED_OUT, "Not logged in to Globus.", source="")
            return self.state
        if not tokens.get("refresh_token") and tokens.get("expires_at_seconds", 0) < time.time() + EXPIRY_MARGIN:
            self._adopt(None, "")
            self._set(NEEDS_LOGIN, "Your Globus login has expired: please log in again.", source="")
            return self.state
        self._adopt(tokens, source)
        note = " (reusing the login of the dkist user tools)" if source == "dkist" else ""
        self._set(LOGGED_IN, "Logged in to Globus" + note + ".", source=source)
        return self.state

    def _from_dkist_cache(self) -> dict | None:
        try:
            doc = json.loads(self._dkist_cache.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        tok = doc.get(TRANSFER_RESOURCE_SERVER) if isinstance(doc, dict) else None
        if not isinstance(tok, dict) or not tok.get("access_token"):
            return None
        try:
            expires = int(tok.get("expires_at_seconds", 0))
        except (TypeError, ValueError):
            return None
        if not tok.get("refresh_token") and expires < time.time() + EXPIRY_MARGIN:
            return None
        if self._dkist_share.declined(tok):
            return None  # the user logged out of this one in the widget
        return {
            "resource_server": TRANSFER_RESOURCE_SERVER,
            "scope": tok.get("scope", TRANSFER_SCOPE),
            "access_token": tok["access_token"],
            "refresh_token": tok.get("refresh_token"),
            "expires_at_seconds": expires,
            "token_type": tok.get("token_type", "Bearer"),
        }

    # ------------------------------------------------------------------ the flow
    def start_login(self, requirement: Any = None) -> str:
        """Begin the auth-code flow; return the URL the user must open.

        ``requirement``: a :class:`ConsentRequired` (or its ``globus_sdk.gare.GARE``).
        The sign-in then asks for exactly what it names: its required scopes replace
        the plain Transfer scope (a ``data_access`` consent is a dependency of the
        Transfer scope, so the new Transfer token carries it), and its session
        identities, domain, policies and MFA go into the authorize URL.
        """
        if isinstance(requirement, ConsentRequired):
            requirement = requirement.requirement
        scopes = list(self.scopes)
        url_params: dict[str, Any] = {}
        if requirement is not None:
            params = requirement.authorization_parameters
            required = list(params.required_scopes or [])
            transfer_prefix = TRANSFER_SCOPE + "["
            if any(r.startswith(transfer_prefix) for r in required):
                scopes = [s for s in scopes if s != TRANSFER_SCOPE]
            scopes += [r for r in required if r not in scopes]
            for key in ("session_required_identities", "session_required_single_domain", "session_required_policies"):
                if getattr(params, key):
                    url_params[key] = list(getattr(params, key))
            if params.session_required_mfa:
                url_params["session_required_mfa"] = True
            if params.session_message:
                url_params["session_message"] = params.session_message
            if params.prompt == "login":
                url_params["prompt"] = "login"
        with self._lock:
            client = self.auth_client()
            self._flow = client.oauth2_start_flow(requested_scopes=scopes, refresh_tokens=True)
            url = client.oauth2_get_authorize_url(**url_params)
        why = " Globus asks for this collection's consent; approve it on the page." if requirement is not None else ""
        self._set(
            AWAITING_CODE,
            "Open the link, sign in with Globus, then paste the code shown at the end here." + why,
            authorize_url=url,
        )
        return url

    def cancel_login(self) -> None:
        with self._lock:
            self._flow = None
        self.reload()
        self.authorize_url = ""

    def finish_login(self, code: str) -> None:
        """Exchange the pasted code for tokens. A wrong code raises :class:`LoginError` and keeps waiting."""
        code = (code or "").strip()
        if not code:
            raise LoginError("Paste the code Globus showed you after signing in.")
        if any(c.isspace() for c in code) or len(code) > 512:
            raise LoginError("That does not look like a Globus authorization code (it is one word).")
        with self._lock:
            flow = self._flow
            if flow is None or self.state != AWAITING_CODE:
                raise LoginError("Start the login first (the link changes every time).")
            client = self.auth_client()
            client.current_oauth2_flow_manager = flow
            try:
                response = client.oauth2_exchange_code_for_tokens(code)
            except globus_sdk.AuthAPIError as err:
                self.message = "Globus refused the code: it may be mistyped, expired or already used. Try again or restart the login."
                raise LoginError(self.message) from err
            except globus_sdk.NetworkError as err:
                self.message = "Could not reach Globus Auth; check the network and try again."
                raise LoginError(self.message) from err
            tokens = response.by_resource_server.get(TRANSFER_RESOURCE_SERVER)
            if tokens is None:
                self.message = "Globus did not grant access to the Transfer service; try the login again."
                raise LoginError(self.message)
            self._flow = None
            self._file.store({TRANSFER_RESOURCE_SERVER: dict(tokens)}, source="login")
            if self._share_with_dkist:
                try:
                    self._dkist_share.share({TRANSFER_RESOURCE_SERVER: dict(tokens)})
                except OSError as err:  # the widget's own login still works
                    log.warning("could not share the Globus login with dkist: %s", type(err).__name__)
        self._adopt(dict(tokens), "login")
        self._set(LOGGED_IN, "Logged in to Globus.", source="login", authorize_url="")

    def logout(self) -> None:
        """Revoke the tokens (when Auth answers), delete them from disk, forget them."""
        with self._lock:
            tokens = self._tokens or self._file.load().get(TRANSFER_RESOURCE_SERVER)
            source = self.source
            self._flow = None
        failed = False
        if tokens and source == "dkist":
            # dkist's own login: not ours to revoke or delete; just stop using it.
            self._dkist_share.decline(tokens)
        elif tokens:
            for key in ("refresh_token", "access_token"):
                if tokens.get(key):
                    try:
                        self.auth_client().oauth2_revoke_token(tokens[key])
                    except globus_sdk.GlobusError:
                        failed = True
        self._file.clear()
        try:
            self._dkist_share.unshare()
        except OSError as err:
            log.warning("could not remove the shared login from dkist's cache: %s", type(err).__name__)
        self._adopt(None, "")
        note = " (Globus could not be told to revoke the tokens; they expire on their own)" if failed else ""
        self._set(LOGGED_OUT, "Logged out of Globus" + note + ".", source="", authorize_url="")

    # ------------------------------------------------------------------ use
    def authorizer(self) -> GlobusAuthorizer:
        """An authorizer for ``TransferClient`` that follows this login (see module notes)."""
        return self._delegate

    def transfer_client(self, base_url: str | None = None, **kwargs: Any) -> globus_sdk.TransferClient:
        """A ``TransferClient`` using this login (``base_url``: default from the environment)."""
        return globus_sdk.TransferClient(authorizer=self._delegate, base_url=base_url, **kwargs)

    def mark_needs_login(self, reason: str = "") -> None:
        with self._lock:
            self._flow = None
        self._set(NEEDS_LOGIN, reason or "Your Globus login has expired or was revoked: please log in again.")

    def handle_error(self, exc: BaseException) -> bool:
        """If ``exc`` means the login no longer works, switch to ``needs_login`` and return True."""
        if isinstance(exc, NotLoggedIn):
            if self.state == LOGGED_IN:
                self.mark_needs_login()
            return True
        if is_auth_error(exc):
            self.mark_needs_login()
            return True
        return False
