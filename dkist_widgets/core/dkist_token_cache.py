"""dkist's Globus token cache as the login shares it, and private (0600) JSON files.

dkist keeps its tokens in ``platformdirs.user_cache_dir("dkist")/globus_auth_cache.json``:
one JSON dict of globus-sdk's ``by_resource_server`` token data (``scope``,
``access_token``, ``refresh_token``, ``token_type``, ``expires_at_seconds``,
``resource_server``), mode 0600, with no section per Auth service, read by
``dkist.net.globus.auth.get_refresh_token_authorizer()``, which builds a
``RefreshTokenAuthorizer`` for *every* entry (so each needs a refresh token).
:class:`DkistTokenShare` writes a sign-in of the widget there and takes back exactly
that at logout (see :mod:`.globus_auth` for when it is used).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

__all__ = ["PRODUCTION_AUTH", "DkistTokenShare", "globus_sdk_auth_url", "write_private_json"]

PRODUCTION_AUTH = "https://auth.globus.org/"


def write_private_json(path: Path, doc: Any) -> None:
    """Write JSON readable by the owner only (0600 from creation, atomic rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.chmod(path.parent, 0o700)
    except OSError:
        pass
    fd, tmp = tempfile.mkstemp(prefix="." + path.name + ".", suffix=".tmp", dir=path.parent)  # mkstemp: 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(doc, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _digest(token: str | None) -> str | None:
    return hashlib.sha256(token.encode()).hexdigest() if token else None


def globus_sdk_auth_url() -> str:
    """The Auth URL globus-sdk (and so dkist) uses in this process."""
    try:
        from globus_sdk.config import get_service_url

        return get_service_url("auth")
    except Exception:  # noqa: BLE001 - a globus-sdk without that config: the production Auth
        return PRODUCTION_AUTH


class DkistTokenShare:
    """The widget's entries in dkist's token cache, so logout undoes only those.

    The record (``dkist-share.json``, 0600) holds, per Auth namespace, for each
    resource server the widget wrote: hashes of the tokens it wrote and the entry
    that was there before (tokens; restored at logout), plus hashes of dkist logins
    the user logged out of in the widget (``declined``).
    """

    def __init__(self, cache: Path, record: Path, namespace: str):
        self.cache = Path(cache)
        self.record = Path(record)
        self.namespace = namespace
        self._lock = threading.Lock()

    def _read(self, path: Path) -> dict:
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return doc if isinstance(doc, dict) else {}

    def _space(self, doc: dict) -> dict:
        space = doc.setdefault(self.namespace, {})
        space.setdefault("wrote", {})
        space.setdefault("declined", [])
        return space

    def _save_record(self, doc: dict) -> None:
        if any(v.get("wrote") or v.get("declined") for v in doc.values() if isinstance(v, dict)):
            write_private_json(self.record, doc)
        else:
            try:
                self.record.unlink()
            except FileNotFoundError:
                pass

    def _ours(self, entry: Any, mine: dict) -> bool:
        if not isinstance(entry, dict):
            return False
        return bool(
            (mine.get("refresh") and _digest(entry.get("refresh_token")) == mine["refresh"])
            or (mine.get("access") and _digest(entry.get("access_token")) == mine["access"])
        )

    def share(self, by_resource_server: dict[str, dict]) -> None:
        """Write these token data into dkist's cache (entries with a refresh token only)."""
        with self._lock:
            cache = self._read(self.cache)
            record = self._read(self.record)
            space = self._space(record)
            for server, tok in by_resource_server.items():
                if not tok.get("refresh_token") or not tok.get("access_token"):
                    continue  # dkist builds a RefreshTokenAuthorizer for every entry
                before = cache.get(server)
                mine = space["wrote"].get(server)
                previous = mine.get("previous") if mine and self._ours(before, mine) else before
                cache[server] = {
                    "scope": tok.get("scope", ""),
                    "access_token": tok["access_token"],
                    "refresh_token": tok["refresh_token"],
                    "token_type": tok.get("token_type", "Bearer"),
                    "expires_at_seconds": int(tok["expires_at_seconds"]),
                    "resource_server": server,
                }
                space["wrote"][server] = {
                    "refresh": _digest(tok["refresh_token"]),
                    "access": _digest(tok["access_token"]),
                    "previous": previous if isinstance(previous, dict) else None,
                }
            write_private_json(self.cache, cache)
            self._save_record(record)

    def unshare(self) -> None:
        """Remove (or restore) the entries still holding what :meth:`share` wrote."""
        with self._lock:
            record = self._read(self.record)
            space = self._space(record)
            if space["wrote"]:
                cache = self._read(self.cache)
                changed = False
                for server, mine in space["wrote"].items():
                    if self._ours(cache.get(server), mine):
                        changed = True
                        if mine.get("previous"):
                            cache[server] = mine["previous"]
                        else:
                            cache.pop(server, None)
                if changed:
                    if cache:
                        write_private_json(self.cache, cache)
                    else:
                        try:
                            self.cache.unlink()
                        except FileNotFoundError:
                            pass
                space["wrote"] = {}
            self._save_record(record)

    def decline(self, tokens: dict) -> None:
        """Remember that the user logged out of this dkist login (by hash only)."""
        with self._lock:
            record = self._read(self.record)
            space = self._space(record)
            key = _digest(tokens.get("refresh_token") or tokens.get("access_token"))
            if key and key not in space["declined"]:
                space["declined"].append(key)
            self._save_record(record)

    def declined(self, tokens: dict) -> bool:
        key = _digest(tokens.get("refresh_token") or tokens.get("access_token"))
        return bool(key) and key in self._space(self._read(self.record))["declined"]
