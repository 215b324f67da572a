"""The screens of docs/real-world.md, taken in a real JupyterLab from the sandbox.

The kernel runs the loopback Globus Auth and Transfer API with the collections the
sandbox world has besides DKIST and the laptop: an institute's GCS v5 collection, a
guest collection on it shared with the user, and the user's bookmark there
(``dkist_widgets.sandbox.world.shared_collections`` / ``add_bookmark``). The person's
gestures: Log in (open the link, paste the code), Find, pick the bookmark, Start; the
guest collection then asks for a consent (as a GCS v5 collection does), the person
signs in again through the link the panel shows and the transfer starts by itself.

Oracles: the texts in the page, Globus's own answers and the files on disk (hashes).
Screenshots are saved to ``docs/screenshots/real_world_*.png`` (and test-artifacts).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from playwright.sync_api import expect

from .lab import screenshot, sign_in_through_panel

DOCS_SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

SETUP = [
    "import gzip, hashlib, os, pathlib, shutil, tempfile\n"
    "import dkist, dkist.data.test\n"
    "src = pathlib.Path(dkist.data.test.__file__).parent / 'large_visp.asdf.gz'\n"
    "with gzip.open(src) as f, open('large_visp.asdf', 'wb') as g:\n"
    "    shutil.copyfileobj(f, g)\n"
    "ds = dkist.load_dataset('large_visp.asdf')\n"
    "inv = ds.meta['inventory']\n"
    "tmp = pathlib.Path(tempfile.mkdtemp())\n"
    "os.environ['DKIST_WIDGETS_DATA_DIR'] = str(tmp / 'user-data')\n"
    "folder = tmp / 'dkist' / 'data' / inv['primaryProposalId'] / inv['datasetId']\n"
    "folder.mkdir(parents=True)\n"
    "for i, name in enumerate(ds.files.filenames):\n"
    "    (folder / name).write_bytes(os.urandom(20_000 + 37 * i))\n"
    "laptop = tmp / 'laptop'; laptop.mkdir()",
    "from dkist_widgets.sandbox import world as W\n"
    "from dkist_widgets.sandbox.endpoints import DKIST_ENDPOINT_ID as SRC, DKIST_ENDPOINT_NAME\n"
    "from dkist_widgets.sandbox.endpoints import LOCAL_ENDPOINT_ID as DST, LOCAL_ENDPOINT_NAME\n"
    "from dkist_widgets.sandbox.globus_engine import Endpoint\n"
    "from dkist_widgets.sandbox.globus_service import LoopbackGlobus\n"
    "from dkist_widgets.sandbox.globus_auth_service import LoopbackGlobusAuth\n"
    "auth = LoopbackGlobusAuth(access_token_lifetime=3600).start()\n"
    "svc = LoopbackGlobus({SRC: (DKIST_ENDPOINT_NAME, tmp / 'dkist', False),\n"
    "                      DST: Endpoint(DST, LOCAL_ENDPOINT_NAME, laptop, is_globus_connect=True),\n"
    "                      **W.shared_collections()}, rate_bytes_per_s=2_000_000).start()\n"
    "W.add_bookmark(svc)\n"
    "auth.protect(svc)",
    "from dkist_widgets import DatasetModel\n"
    "from dkist_widgets.core.globus_auth import GlobusLogin\n"
    "from dkist_widgets.core.transfers import TransferSettings\n"
    "from dkist_widgets.panels.transfers import TransferMonitor\n"
    "model = DatasetModel(ds)\n"
    "model.select_frames(list(range(4)))\n"
    "login = GlobusLogin(auth_url=auth.url, token_path=tmp / 'tokens.json', reuse_dkist_cache=False,\n"
    "                    share_with_dkist=False)\n"
    "settings = TransferSettings(transfer_url=svc.url, source_endpoint_id=SRC, destination_endpoint_id=DST,\n"
    "                            destination_local_root=laptop)\n"
    "monitor = TransferMonitor(model, settings=settings, login=login, active_interval=0.3, refresh_interval=0.3)\n"
    "monitor",
]


def _shot(page, name: str, locator) -> Path:
    path = screenshot(page, name, locator=locator)
    DOCS_SHOTS.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy(path, DOCS_SHOTS / f"{name}.png"))


def _kernel_json(nb, expression: str):
    out = nb.run_cell(f"import json; print(json.dumps({expression}))")
    assert not out.errors, out.errors
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_real_world_screens(open_notebook, page):
    nb = open_notebook("real_world_screens.ipynb", SETUP, wait_for=".dkw-transfer-monitor")
    nb.assert_no_problems()
    monitor = nb.widget(".dkw-transfer-monitor").first
    names = _kernel_json(nb, "[W.GUEST_ENDPOINT_NAME, W.BOOKMARK_NAME, W.BOOKMARK_PATH, W.CLUSTER_ENDPOINT_NAME]")
    guest_name, mark_name, mark_path, cluster_name = names

    # -- 1. the login panel: a link to open anywhere and a box for the code
    login = monitor.locator(".dkw-login")
    login.get_by_role("button", name="Log in to Globus").click()
    expect(login.locator("a.dkw-login-link")).to_be_visible()
    _shot(page, "real_world_login", login)
    sign_in_through_panel(login, press_login=False)
    expect(login.locator(".dkw-login-state")).to_have_attribute("data-state", "logged_in", timeout=20_000)

    # -- 2. Find with no words: the user's own collections, shared ones and bookmarks, labelled
    monitor.get_by_role("button", name="Find").click()
    message = monitor.locator(".dkw-transfer-message")
    expect(message).to_contain_text("destination(s) found", timeout=20_000)
    select = monitor.locator(".dkw-destination select")
    # ipywidgets writes the labels' spaces as no-break spaces
    labels = [t.replace("\xa0", " ").strip() for t in select.locator("option").all_inner_texts()]
    assert labels[0].startswith("This computer")
    assert f"Shared with me: {guest_name}" in " | ".join(labels)
    mark_label = next(label for label in labels if label.startswith("Bookmark: "))
    assert mark_label == f"Bookmark: {mark_name} ({guest_name}, {mark_path})"
    # the laptop (Globus Connect Personal, the user's own collection) is "This computer", listed once
    assert [label.split(":")[0] for label in labels] == [
        "This computer (configured destination)",
        "Shared with me",
        "Bookmark",
    ]
    # words: the same groups first, then every collection that matches ("Found")
    monitor.get_by_placeholder("find a collection or bookmark").fill("institute")
    monitor.get_by_role("button", name="Find").click()
    spaced = r"\s".join(map(re.escape, f"Found: {cluster_name}".split(" ")))  # any space, no-break too
    expect(select.locator("option")).to_contain_text([re.compile(r"^This\scomputer"), re.compile(spaced)])
    monitor.get_by_placeholder("find a collection or bookmark").fill("")
    monitor.get_by_role("button", name="Find").click()
    expect(select.locator("option")).to_have_count(len(labels))
    # a <select> opens as a native pop-up, which screenshots do not show: list it open
    opened = (
        "(el, n) => { el.dataset.css = el.style.cssText;"
        " el.parentElement.dataset.css = el.parentElement.style.cssText;"
        " el.size = n; el.style.height = el.style.width = 'auto';"
        " el.parentElement.style.height = el.parentElement.style.width = 'auto'; }"
    )
    select.evaluate(opened, len(labels))
    _shot(page, "real_world_destinations", monitor.locator(".dkw-destination").first)
    select.evaluate(
        "el => { el.removeAttribute('size'); el.style.cssText = el.dataset.css;"
        " el.parentElement.style.cssText = el.parentElement.dataset.css; }"
    )

    # -- 3. pick the bookmark: the root becomes its folder
    select.select_option(index=labels.index(mark_label))
    root = monitor.locator(".widget-text").filter(has_text="Root").locator("input")
    expect(root).to_have_value(mark_path)
    expect(monitor.locator(".dkw-path")).to_contain_text(f"{mark_path}dkist/")
    expect(monitor.locator(".dkw-path")).not_to_contain_text("on this machine")

    # -- 4. the guest collection wants a consent: one sentence, and the login panel asks for it
    nb.run_cell("svc.faults.require_consent(W.GUEST_ENDPOINT_ID)")
    monitor.locator(".dkw-start-selection").click()
    expect(message).to_contain_text("consent", timeout=20_000)
    expect(message).to_have_class(re.compile("dkw-error"))
    expect(login.locator("a.dkw-login-link")).to_be_visible()
    assert monitor.locator(".dkw-task-row").count() == 0
    _shot(page, "real_world_consent", monitor)

    # -- 5. sign in again through that link: the same transfer starts by itself
    sign_in_through_panel(login, press_login=False)
    row = monitor.locator(".dkw-task-row").first
    row.wait_for(state="visible", timeout=30_000)
    expect(row.locator(".dkw-task-status")).to_contain_text("done", timeout=60_000)
    _shot(page, "real_world_after_consent", monitor)
    nb.run_cell(
        "def same(p):\n"
        "    digest = lambda q: hashlib.sha256(q.read_bytes()).digest()\n"
        "    return digest(p) == digest(folder / p.name)\n"
        "under_mark = W.shared_collections()[W.GUEST_ENDPOINT_ID].root / W.BOOKMARK_PATH.strip('/')"
    )
    landed = _kernel_json(nb, "sorted((p.name, same(p)) for p in under_mark.rglob('*.fits'))")
    expected = _kernel_json(nb, "sorted({str(ds.files.filenames[i]) for i in range(4)})")
    assert [name for name, _ in landed] == expected and all(ok for _, ok in landed)
    nb.run_cell("monitor.close(); svc.stop(); auth.stop()")
    nb.assert_no_problems()
