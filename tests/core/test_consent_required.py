"""Consent required (issue 15.2): a GCS v5-like collection on the loopback Globus
refuses a transfer with an authorization requirement until the right consent is given.

Real ``globus_sdk`` clients throughout (Transfer, NativeAppAuthClient, ``gare``); the
sign-in page is fetched with ``requests`` as a browser elsewhere would. Oracles: the
requirement as ``globus_sdk.gare`` parses the raw 403, the authorize URL's query,
the Auth service's record of what the new token carries, and the files on disk.
"""

from __future__ import annotations

import os
import time
import urllib.parse

import globus_sdk
import pytest
from globus_sdk.gare import to_gare

from dkist_widgets.core.globus_auth import ConsentRequired, GlobusLogin, consent_required_from
from dkist_widgets.core.transfers import TransferSession, TransferSettings
from dkist_widgets.sandbox.globus_auth_service import LoopbackGlobusAuth
from dkist_widgets.sandbox.globus_service import LoopbackGlobus, data_access_scope
from tests.helpers.globus_login import auth_code_from

pytestmark = pytest.mark.timeout(60)

SRC = "5d1c0e2a-0000-4000-8000-0000000000cc"
DST = "5d1c0e2a-0000-4000-8000-0000000000ee"
INVENTORY = {"datasetId": "QQQQQ", "primaryProposalId": "pid_2_1", "bucket": "data"}


@pytest.fixture
def auth():
    svc = LoopbackGlobusAuth(access_token_lifetime=3600).start()
    yield svc
    svc.stop()


@pytest.fixture
def world(tmp_path, auth):
    src = tmp_path / "src"
    folder = src / "data" / "pid_2_1" / "QQQQQ"
    folder.mkdir(parents=True)
    for i in range(2):
        (folder / f"q{i}.fits").write_bytes(os.urandom(10_000))
    dst = tmp_path / "hpc"
    dst.mkdir()
    svc = LoopbackGlobus(
        {SRC: ("DKIST", src, False), DST: ("HPC scratch (GCS v5)", dst, True)}, rate_bytes_per_s=None
    ).start()
    auth.protect(svc)
    yield svc, dst
    auth.unprotect(svc)
    svc.stop()


def sign_in(login: GlobusLogin, requirement=None) -> str:
    """Sign in (for ``requirement`` when given); returns the link the person opened."""
    url = login.start_login(requirement)
    login.finish_login(auth_code_from(url))
    return url


def session_for(svc, login) -> TransferSession:
    return TransferSession(
        TransferSettings(
            transfer_url=svc.url, source_endpoint_id=SRC, destination_endpoint_id=DST, destination_root="/"
        ),
        login,
    )


def test_raw_refusal_is_a_gare(auth, world, tmp_path):
    svc, _ = world
    login = GlobusLogin(
        auth_url=auth.url, token_path=tmp_path / "t.json", reuse_dkist_cache=False, share_with_dkist=False
    )
    sign_in(login)
    svc.faults.require_consent(DST)
    tc = login.transfer_client(base_url=svc.url)
    td = globus_sdk.TransferData(SRC, DST)
    td.add_item("/data/pid_2_1/QQQQQ/q0.fits", "/q0.fits")
    with pytest.raises(globus_sdk.TransferAPIError) as info:
        tc.submit_transfer(td)
    assert info.value.http_status == 403
    gare = to_gare(info.value)
    assert gare is not None and gare.authorization_parameters.required_scopes == [data_access_scope(DST)]
    consent = consent_required_from(info.value)
    assert consent.required_scopes == [data_access_scope(DST)]
    assert "\n" not in str(consent) and "consent" in str(consent)


@pytest.mark.parametrize("mfa", [False, True])
def test_consent_sign_in_then_retry_lands_files(auth, world, tmp_path, mfa):
    svc, dst = world
    login = GlobusLogin(
        auth_url=auth.url, token_path=tmp_path / "t.json", reuse_dkist_cache=False, share_with_dkist=False
    )
    sign_in(login)
    svc.faults.require_consent(DST, mfa=mfa)
    session = session_for(svc, login)
    plan = session.plan_files(INVENTORY, ["q0.fits", "q1.fits"])
    with pytest.raises(ConsentRequired) as info:
        session.submit(plan)
    err = info.value
    assert err.required_scopes == [data_access_scope(DST)]
    assert bool(err.requirement.authorization_parameters.session_required_mfa) is mfa
    assert ("multi-factor" in str(err)) is mfa
    assert login.is_logged_in  # a consent is not an expired login

    # the sign-in asks for exactly that consent (and MFA when required)
    url = sign_in(login, err)
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    assert data_access_scope(DST) in query["scope"][0].split()
    assert ("session_required_mfa" in query) is mfa
    assert login.is_logged_in

    task_id = session.submit(plan)  # the same plan, retried
    tc = login.transfer_client(base_url=svc.url)
    deadline = time.monotonic() + 20
    while tc.get_task(task_id)["status"] != "SUCCEEDED" and time.monotonic() < deadline:
        time.sleep(0.05)
    doc = tc.get_task(task_id)
    assert doc["status"] == "SUCCEEDED", (doc["nice_status"], [e["description"] for e in tc.task_event_list(task_id)])
    landed = sorted(p.name for p in dst.rglob("*.fits"))
    assert landed == ["q0.fits", "q1.fits"]


def test_consent_without_mfa_is_not_enough_for_an_mfa_collection(auth, world, tmp_path):
    svc, _ = world
    login = GlobusLogin(
        auth_url=auth.url, token_path=tmp_path / "t.json", reuse_dkist_cache=False, share_with_dkist=False
    )
    sign_in(login)
    svc.faults.require_consent(DST, mfa=True)
    session = session_for(svc, login)
    plan = session.plan_files(INVENTORY, ["q0.fits"])
    with pytest.raises(ConsentRequired) as info:
        session.submit(plan)
    # a sign-in with only the scope (no MFA) still fails: the loopback checks both
    scopes_only = globus_sdk.gare.GARE(
        code="ConsentRequired", authorization_parameters={"required_scopes": info.value.required_scopes}
    )
    sign_in(login, scopes_only)
    with pytest.raises(ConsentRequired):
        session.submit(plan)
