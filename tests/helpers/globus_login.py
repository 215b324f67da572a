"""Signing in to the loopback Globus Auth as a person does, and reading what it stored.

Shared by the tests of the login, the transfer monitor and the hostile services. The
``auth`` fixture (a running loopback Globus Auth) is registered for every test by
``tests/conftest.py`` (``pytest_plugins``).
"""

from __future__ import annotations

import json
import re

import pytest
import requests

from dkist_widgets.core.globus_auth import GlobusLogin
from dkist_widgets.sandbox.globus_auth_service import LoopbackGlobusAuth

__all__ = ["auth", "auth_code_from", "new_login", "sign_in", "stored_tokens", "_state_of"]


@pytest.fixture
def auth():
    svc = LoopbackGlobusAuth(access_token_lifetime=3600).start()
    yield svc
    svc.stop()


def new_login(auth, paths, **kw) -> GlobusLogin:
    kw.setdefault("reuse_dkist_cache", True)
    return GlobusLogin(auth_url=auth.url, **paths, **kw)


def auth_code_from(url: str) -> str:
    """Open the sign-in link as a browser elsewhere would and read the code the page shows."""
    page = requests.get(url, timeout=10)
    assert page.status_code == 200 and "/v2/web/auth-code" in page.url, (page.status_code, page.url)
    return re.search(r'<code id="auth-code"[^>]*>([^<]+)</code>', page.text).group(1)


def sign_in(login: GlobusLogin, requirement=None) -> str:
    """Do what a person does: open the link elsewhere, read the code, paste it. Returns the code."""
    code = auth_code_from(login.start_login(requirement))
    login.finish_login(code)
    return code


def stored_tokens(login: GlobusLogin) -> list[str]:
    doc = json.loads(login.token_path.read_text())
    out = []
    for space in doc["data"].values():
        for tok in space.values():
            out += [tok["access_token"]] + ([tok["refresh_token"]] if tok.get("refresh_token") else [])
    return out


def _state_of(widget) -> dict:
    """A widget's synced state; every trait as text when a child it lists was closed
    (other tests in this process leave such containers behind), so nothing is skipped."""
    try:
        return widget.get_state()
    except AttributeError:
        return {key: repr(getattr(widget, key, None)) for key in widget.keys}
