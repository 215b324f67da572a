"""`dkist-widgets app`: the explorer served alone by Voila, on the offline world,
renders in Chromium with its search form filled from the loopback data centre."""

from __future__ import annotations

import os
import sys

import pytest

from .lab import _free_port, screenshot, served_process


@pytest.fixture
def app_url(tmp_path):
    pytest.importorskip("voila")
    port = _free_port()
    env = dict(os.environ)
    env["JUPYTER_RUNTIME_DIR"] = str(tmp_path / "runtime")
    env["JUPYTER_DATA_DIR"] = str(tmp_path / "data")
    command = [sys.executable, "-m", "dkist_widgets.cli", "app", "--no-browser", f"--port={port}"]
    url = f"http://127.0.0.1:{port}/"
    with served_process(command, env, url, tmp_path / "app.log", 120):
        yield url


def test_app_renders_explorer_with_search_form(app_url, page):
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(app_url, wait_until="domcontentloaded", timeout=120_000)
    page.get_by_text("DKIST archive search").first.wait_for(timeout=120_000)
    # the instrument choices come from the loopback data centre's searchValues
    instrument = page.locator("select").filter(has_text="VISP").first
    instrument.wait_for(timeout=30_000)
    assert "VBI" in instrument.inner_text()
    assert page.get_by_text("Error displaying widget").count() == 0
    screenshot(page, "voila_app")
    assert errors == []
