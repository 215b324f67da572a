"""Globus login against the loopback Auth + a token-protected loopback Transfer API.

Real ``globus_sdk`` clients throughout; the authorize page is fetched with
``requests`` (as a browser on another machine would) and the code read from it.
Oracles: file modes from ``os.stat``, the services' own view of which tokens live,
and a search for every issued token string in every place it must never be.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from pathlib import Path

import globus_sdk
import ipywidgets
import nbformat
import pytest
import requests
from globus_sdk.token_storage import JSONTokenStorage
from ipywidgets.embed import dependency_state

from dkist_widgets.core.globus_auth import (
    AWAITING_CODE,
    LOGGED_IN,
    LOGGED_OUT,
    NEEDS_LOGIN,
    LoginError,
    NotLoggedIn,
)
from dkist_widgets.core.transfers import TaskStore, TransferSession, TransferSettings, TransferWatcher
from dkist_widgets.sandbox.globus_auth_service import DKIST_CLIENT_ID
from dkist_widgets.sandbox.globus_service import LoopbackGlobus
from tests.helpers.globus_login import _state_of, new_login, sign_in, stored_tokens

pytestmark = pytest.mark.timeout(60)

SRC = "5d1c0e2a-0000-4000-8000-0000000000cc"
DST = "5d1c0e2a-0000-4000-8000-0000000000dd"
INVENTORY = {"datasetId": "QQQQQ", "primaryProposalId": "pid_2_1", "bucket": "data"}


@pytest.fixture
def transfer(tmp_path, auth):
    src = tmp_path / "src"
    folder = src / "data" / "pid_2_1" / "QQQQQ"
    folder.mkdir(parents=True)
    for i in range(3):
        (folder / f"q{i}.fits").write_bytes(os.urandom(20_000))
    dst = tmp_path / "dst"
    dst.mkdir()
    svc = LoopbackGlobus({SRC: ("DKIST", src, False), DST: ("Laptop", dst, True)}, rate_bytes_per_s=None).start()
    auth.protect(svc)
    yield svc
    auth.unprotect(svc)
    svc.stop()


@pytest.fixture
def paths(tmp_path):
    return {
        "token_path": tmp_path / "data" / "globus" / "tokens.json",
        "dkist_cache": tmp_path / "dkist-cache" / "globus_auth_cache.json",
    }


def session_for(transfer, login) -> TransferSession:
    return TransferSession(
        TransferSettings(transfer_url=transfer.url, source_endpoint_id=SRC, destination_endpoint_id=DST), login
    )


# ---------------------------------------------------------------------- the flow
def test_auth_code_flow_end_to_end(auth, transfer, paths):
    login = new_login(auth, paths)
    assert login.state == LOGGED_OUT
    with pytest.raises(NotLoggedIn):
        session_for(transfer, login).client.get_endpoint(SRC)
    assert transfer.request_counts == {}  # refused before any request was sent

    url = login.start_login()
    assert login.state == AWAITING_CODE and login.authorize_url == url
    assert "code_challenge_method=S256" in url and f"client_id={DKIST_CLIENT_ID}" in url
    sign_in(login)
    assert login.state == LOGGED_IN and login.source == "login" and login.authorize_url == ""

    # token file: 0600, folder 0700, JSONTokenStorage's own format readable by globus_sdk
    assert os.stat(login.token_path).st_mode & 0o777 == 0o600
    assert os.stat(login.token_path.parent).st_mode & 0o777 == 0o700
    sdk_view = JSONTokenStorage(
        login.token_path, namespace=next(iter(json.loads(login.token_path.read_text())["data"]))
    )
    data = sdk_view.get_token_data("transfer.api.globus.org")
    assert data is not None and data.refresh_token and auth.is_active(data.access_token)

    # the protected Transfer API now answers
    session = session_for(transfer, login)
    assert session.client.get_endpoint(SRC)["display_name"] == "DKIST"
    plan = session.plan_files(INVENTORY, ["q0.fits", "q1.fits"])
    task_id = session.submit(plan)
    assert len(task_id) == 36


def test_wrong_or_reused_code_keeps_waiting(auth, paths):
    login = new_login(auth, paths)
    login.start_login()
    with pytest.raises(LoginError, match="refused the code"):
        login.finish_login("not-the-code")
    assert login.state == AWAITING_CODE
    with pytest.raises(LoginError, match="Paste the code"):
        login.finish_login("   ")
    with pytest.raises(LoginError, match="one word"):
        login.finish_login("two words")
    code = sign_in(login)
    assert login.state == LOGGED_IN
    other = new_login(auth, {**paths, "token_path": paths["token_path"].with_name("other.json")})
    other.start_login()
    with pytest.raises(LoginError):
        other.finish_login(code)  # a code works once, and only with its own verifier


def test_pkce_verifier_is_checked(auth):
    client = globus_sdk.NativeAppAuthClient(DKIST_CLIENT_ID, base_url=auth.url)
    client.oauth2_start_flow(requested_scopes="urn:globus:auth:scope:transfer.api.globus.org:all")
    page = requests.get(client.oauth2_get_authorize_url(), timeout=10).text
    code = re.search(r'id="auth-code"[^>]*>([^<]+)<', page).group(1)
    client.current_oauth2_flow_manager.verifier = "x" * 43  # a different verifier
    with pytest.raises(globus_sdk.AuthAPIError) as err:
        client.oauth2_exchange_code_for_tokens(code)
    assert err.value.http_status == 400 and "invalid_grant" in err.value.text
    bad = requests.get(
        auth.url + "v2/oauth2/authorize", params={"client_id": "someone-else", "response_type": "code"}, timeout=10
    )
    assert bad.status_code == 400 and "invalid_client" in bad.text


def test_expired_access_token_is_refreshed_quietly(auth, transfer, paths):
    login = new_login(auth, paths)
    sign_in(login)
    before = stored_tokens(login)
    auth.expire_access_tokens()
    session = session_for(transfer, login)
    assert session.client.get_endpoint(SRC)["id"] == SRC  # 401 -> refresh -> retry
    assert login.state == LOGGED_IN
    after = stored_tokens(login)
    assert after[0] != before[0] and auth.is_active(after[0])  # the new access token was saved
    assert os.stat(login.token_path).st_mode & 0o777 == 0o600


def test_revoked_login_asks_again_instead_of_failing(auth, transfer, paths, tmp_path):
    login = new_login(auth, paths)
    sign_in(login)
    session = session_for(transfer, login)
    watcher = TransferWatcher(session, TaskStore(tmp_path / "t.json"), autostart=False)
    task_id = watcher.start_transfer(session.plan_files(INVENTORY, ["q2.fits"]))
    auth.revoke_all()
    assert watcher.poll_once() is None  # paused, no crash
    assert login.state == NEEDS_LOGIN and watcher.paused_for_login and "log in again" in watcher.problem
    assert watcher.poll_once() is None and transfer.request_counts["task_list"] == 1  # no hammering while logged out
    sign_in(login)  # the panel's flow again
    assert login.state == LOGGED_IN and not watcher.paused_for_login
    for _ in range(50):
        watcher.poll_once()
        if watcher.progress(task_id).done:
            break
        time.sleep(0.05)
    assert watcher.progress(task_id).succeeded


def test_reload_marks_expired_tokens_without_refresh(auth, paths):
    login = new_login(auth, paths)
    sign_in(login)
    doc = json.loads(login.token_path.read_text())
    for space in doc["data"].values():
        for tok in space.values():
            tok["refresh_token"] = None
            tok["expires_at_seconds"] = int(time.time()) - 10
    login.token_path.write_text(json.dumps(doc))
    os.chmod(login.token_path, 0o644)
    again = new_login(auth, paths)
    assert again.state == NEEDS_LOGIN and "expired" in again.message
    assert os.stat(login.token_path).st_mode & 0o777 == 0o600  # tightened on load


# ---------------------------------------------------------------------- dkist's cache
def write_dkist_cache(path: Path, tokens: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"transfer.api.globus.org": tokens}))
    os.chmod(path, 0o600)


def issue_tokens(auth) -> dict:
    client = globus_sdk.NativeAppAuthClient(DKIST_CLIENT_ID, base_url=auth.url)
    client.oauth2_start_flow(requested_scopes="urn:globus:auth:scope:transfer.api.globus.org:all", refresh_tokens=True)
    page = requests.get(client.oauth2_get_authorize_url(), timeout=10).text
    code = re.search(r'id="auth-code"[^>]*>([^<]+)<', page).group(1)
    return dict(client.oauth2_exchange_code_for_tokens(code).by_resource_server["transfer.api.globus.org"])


def test_dkist_cached_login_is_reused(auth, transfer, paths):
    tokens = issue_tokens(auth)
    write_dkist_cache(paths["dkist_cache"], tokens)
    authorize_before = auth.request_counts.get("authorize", 0)
    login = new_login(auth, paths)
    assert login.state == LOGGED_IN and login.source == "dkist" and "dkist" in login.message
    assert auth.request_counts.get("authorize", 0) == authorize_before  # not asked again
    assert session_for(transfer, login).client.get_endpoint(DST)["id"] == DST
    # logout undoes only what the widget did (issue 15.1): dkist's own login is not
    # revoked and its cache is left as dkist wrote it; the widget just stops using it
    # and does not silently adopt it again at the next start
    cache_before = paths["dkist_cache"].read_bytes()
    login.logout()
    assert login.state == LOGGED_OUT and not login.token_path.exists()
    assert paths["dkist_cache"].read_bytes() == cache_before
    assert auth.is_active(tokens["access_token"]) and auth.is_active(tokens["refresh_token"], kind="refresh")
    assert new_login(auth, paths).state == LOGGED_OUT
    # a later sign-in in the widget is shared with dkist and its logout restores dkist's own
    again = new_login(auth, paths, share_with_dkist=True)
    sign_in(again)
    shared = json.loads(paths["dkist_cache"].read_text())["transfer.api.globus.org"]
    assert shared["refresh_token"] != tokens["refresh_token"]
    again.logout()
    assert json.loads(paths["dkist_cache"].read_text()) == json.loads(cache_before)


def test_dkist_cache_expired_without_refresh_is_ignored(auth, paths):
    tokens = issue_tokens(auth)
    tokens.update(refresh_token=None, expires_at_seconds=int(time.time()) - 5)
    write_dkist_cache(paths["dkist_cache"], tokens)
    assert new_login(auth, paths).state == LOGGED_OUT
    assert new_login(auth, paths, reuse_dkist_cache="auto").state == LOGGED_OUT  # auto: only against production Auth


def test_logout_revokes(auth, transfer, paths):
    login = new_login(auth, paths)
    sign_in(login)
    access, refresh = stored_tokens(login)
    login.logout()
    assert not login.token_path.exists() and login.state == LOGGED_OUT
    assert not auth.is_active(access) and not auth.is_active(refresh, kind="refresh")
    stale = globus_sdk.TransferClient(base_url=transfer.url, authorizer=globus_sdk.AccessTokenAuthorizer(access))
    with pytest.raises(globus_sdk.TransferAPIError) as err:
        stale.get_endpoint(SRC)
    assert err.value.http_status == 401


# ---------------------------------------------------------------------- never leaked
def test_tokens_never_reach_widgets_saved_notebooks_or_logs(auth, transfer, paths, tmp_path, caplog):
    from dkist_widgets.panels.login import LoginPanel
    from dkist_widgets.panels.transfers import TransferMonitor

    caplog.set_level(logging.DEBUG)
    login = new_login(auth, paths)
    panel = LoginPanel(login)
    panel.login_button.click()
    link = re.search(r'href="([^"]+)"', panel.link.value).group(1).replace("&amp;", "&")
    page = requests.get(link, timeout=10).text
    code = re.search(r'id="auth-code"[^>]*>([^<]+)<', page).group(1)
    panel.code.value = code
    panel.submit_button.click()
    assert login.state == LOGGED_IN and panel.code.value == ""
    assert "Logged in" in panel.status.value
    assert "Logged in" not in panel.feedback.value  # the state is said once, on the first line
    session = session_for(transfer, login)
    monitor = TransferMonitor(None, session=session, store=TaskStore(tmp_path / "t.json"))
    try:
        task_id = monitor.transfer_datasets([INVENTORY])
        monitor.watcher.wait(task_id, timeout=20)
        auth.expire_access_tokens()  # force a refresh, so a second token exists
        monitor.watcher.session.client.get_endpoint(SRC)
        secrets = stored_tokens(login) + [code]
        assert len(secrets) == 3 and all(len(s) > 20 for s in secrets)

        states = {mid: _state_of(wid) for mid, wid in list(ipywidgets.Widget.widgets.items())}
        blob = json.dumps(states, default=str)
        nb = nbformat.v4.new_notebook()
        nb.metadata["widgets"] = {
            "application/vnd.jupyter.widget-state+json": {
                "version_major": 2,
                "version_minor": 0,
                "state": dependency_state([monitor, panel], drop_defaults=False),
            }
        }
        nb.cells.append(
            nbformat.v4.new_code_cell(
                "monitor",
                outputs=[
                    nbformat.v4.new_output(
                        "display_data",
                        data={
                            "text/plain": repr(monitor),
                            "application/vnd.jupyter.widget-view+json": {
                                "model_id": monitor.model_id,
                                "version_major": 2,
                                "version_minor": 0,
                            },
                        },
                    )
                ],
            )
        )
        saved = tmp_path / "saved.ipynb"
        nbformat.write(nb, saved)
        notebook_text = saved.read_text()
        assert monitor.model_id in notebook_text and "dkw-task" in blob  # the search looked at real content
        store_text = (tmp_path / "t.json").read_text()
        places = {
            "widget state": blob,
            "saved notebook": notebook_text,
            "logs": "\n".join(r.getMessage() for r in caplog.records),
            "repr": repr(login) + repr(login.authorizer()) + repr(session),
            "messages": login.message + monitor.message.value + monitor.problem.value,
            "task store": store_text,
        }
        for secret in secrets:
            for where, text in places.items():
                if secret == code and where == "logs":
                    continue  # urllib3 logs the URL the test's stand-in *browser* fetched (a spent, one-time code)
                assert secret not in text, f"a secret leaked into the {where}"
        assert any("auth sandbox" in r.getMessage() or "globus" in r.name for r in caplog.records)  # logging was on
    finally:
        monitor.close()
        panel.close()


# ---------------------------------------------------------------------- sharing with dkist (issue 15.1)
def test_sign_in_is_written_to_dkist_cache_in_dkist_format(auth, transfer, paths, tmp_path, monkeypatch):
    """After one sign-in here, dkist's own token code finds usable tokens (no localhost login)."""
    import dkist.net.globus.auth as dkist_auth

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    paths = {**paths, "dkist_cache": dkist_auth.get_cache_file_path()}  # where dkist itself looks
    assert not paths["dkist_cache"].exists()
    login = new_login(auth, paths, share_with_dkist=True)
    sign_in(login)
    assert os.stat(paths["dkist_cache"]).st_mode & 0o777 == 0o600
    cache = dkist_auth.get_cache_contents()
    assert set(cache) == {"transfer.api.globus.org"}
    assert cache["transfer.api.globus.org"]["refresh_token"] in stored_tokens(login)

    def no_localhost_login(*_a, **_k):  # tripwire: the real one would wait for a browser forever
        raise AssertionError("dkist started its own localhost-callback login")

    monkeypatch.setattr(dkist_auth, "do_native_app_authentication", no_localhost_login)
    monkeypatch.setenv("GLOBUS_SDK_SERVICE_URL_AUTH", auth.url)
    authorizer = dkist_auth.get_refresh_token_authorizer()["transfer.api.globus.org"]
    client = globus_sdk.TransferClient(base_url=transfer.url, authorizer=authorizer)
    assert client.get_endpoint(DST)["id"] == DST  # the loopback Transfer accepts dkist's authorizer

    login.logout()
    assert not paths["dkist_cache"].exists()  # only the widget's entry was there
    assert not (login.token_path.parent / "dkist-share.json").exists()


def test_logout_keeps_dkist_entries_it_did_not_write(auth, paths):
    """dkist's other entries and a login dkist made itself after ours survive our logout."""
    own = issue_tokens(auth)
    paths["dkist_cache"].parent.mkdir(parents=True, exist_ok=True)
    other = {
        "resource_server": "example.org",
        "access_token": "a",
        "refresh_token": "r",
        "expires_at_seconds": 1,
        "scope": "s",
        "token_type": "Bearer",
    }
    paths["dkist_cache"].write_text(json.dumps({"example.org": other}))
    login = new_login(auth, paths, reuse_dkist_cache=False, share_with_dkist=True)
    sign_in(login)
    doc = json.loads(paths["dkist_cache"].read_text())
    assert doc["example.org"] == other and "transfer.api.globus.org" in doc
    # dkist logs in again on its own (its file now holds its tokens, not ours)
    doc["transfer.api.globus.org"] = own
    paths["dkist_cache"].write_text(json.dumps(doc))
    login.logout()
    assert json.loads(paths["dkist_cache"].read_text()) == {"example.org": other, "transfer.api.globus.org": own}


def test_share_auto_only_against_production_unless_told(auth, paths, monkeypatch):
    """dkist's file has no per-service sections: sandbox tokens go there only when asked
    (the sandbox asks for its own kernels, whose dkist cache is in the sandbox's home)."""
    monkeypatch.delenv("DKIST_WIDGETS_SHARE_DKIST_LOGIN", raising=False)
    monkeypatch.setenv("GLOBUS_SDK_SERVICE_URL_AUTH", auth.url)  # even when dkist would use it
    login = new_login(auth, paths, reuse_dkist_cache=False)
    sign_in(login)
    assert not paths["dkist_cache"].exists()
    login.logout()
    monkeypatch.setenv("DKIST_WIDGETS_SHARE_DKIST_LOGIN", "1")
    login = new_login(auth, paths, reuse_dkist_cache=False)
    sign_in(login)
    assert paths["dkist_cache"].exists()
    login.logout()
    assert not paths["dkist_cache"].exists()
