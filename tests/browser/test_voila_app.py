"""`dkist-widgets app`: the explorer served alone by Voila, on the offline world,
renders in Chromium with its search form filled from the loopback data centre;
asks nothing of any host but this machine (issue 14.10: an icon font was requested
from the internet) and shows no stray or doubled horizontal scrollbar."""

from __future__ import annotations

import os
import sys

import pytest

from tests.helpers.ports import free_port

from .lab import screenshot, served_process


@pytest.fixture
def app_url(tmp_path):
    pytest.importorskip("voila")
    port = free_port()
    env = dict(os.environ)
    env["JUPYTER_RUNTIME_DIR"] = str(tmp_path / "runtime")
    env["JUPYTER_DATA_DIR"] = str(tmp_path / "data")
    command = [sys.executable, "-m", "dkist_widgets.cli", "app", "--no-browser", f"--port={port}"]
    url = f"http://127.0.0.1:{port}/"
    with served_process(command, env, url, tmp_path / "app.log", 120):
        yield url


_OVERFLOWING = """() => {
  const out = [];
  for (const el of document.querySelectorAll('*')) {
    const style = getComputedStyle(el);
    const scrolls = ['auto', 'scroll'].includes(style.overflowX) || (el === document.scrollingElement);
    if (scrolls && el.scrollWidth > el.clientWidth + 1 && el.clientWidth > 0
        && !el.closest('.dkw-search-grid') && !el.closest('.p-DataGrid, .lm-DataGrid')) {
      out.push((el.className && el.className.toString ? el.className.toString() : el.tagName).slice(0, 80)
               + ' ' + el.scrollWidth + '>' + el.clientWidth);
    }
  }
  return out;
}"""


def test_app_renders_explorer_with_search_form(app_url, page):
    from urllib.parse import urlsplit

    errors = []
    elsewhere = []
    failed = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "request",
        lambda r: (
            elsewhere.append(r.url)
            if urlsplit(r.url).hostname not in ("127.0.0.1", "localhost", None)
            and not r.url.startswith(("data:", "blob:"))
            else None
        ),
    )
    page.on("requestfailed", lambda r: failed.append(r.url))
    page.goto(app_url, wait_until="domcontentloaded", timeout=120_000)
    page.get_by_text("DKIST archive search").first.wait_for(timeout=120_000)
    # the instrument choices come from the loopback data centre's searchValues
    instrument = page.locator("select").filter(has_text="VISP").first
    instrument.wait_for(timeout=30_000)
    assert "VBI" in instrument.inner_text()
    assert page.get_by_text("Error displaying widget").count() == 0
    page.wait_for_timeout(1500)
    screenshot(page, "voila_app")
    assert errors == []
    assert elsewhere == [], elsewhere  # fonts, scripts and styles come from this machine
    assert [u for u in failed if "/api/kernels/" not in u] == []
    # no horizontal scrollbar outside the results grid: the page fits the window
    overflowing = page.evaluate(_OVERFLOWING)
    assert overflowing == [], "\n".join(overflowing)
    # icons render from a local font (the search button's magnifier)
    icon = page.locator("button .fa-search, button i.fa").first
    if icon.count():
        family = icon.evaluate(
            "(el) => getComputedStyle(el, '::before').fontFamily + '|' + getComputedStyle(el).fontFamily"
        )
        assert "FontAwesome" in family or "Font Awesome" in family, family
    page.set_viewport_size({"width": 900, "height": 900})
    page.wait_for_timeout(800)
    overflowing = page.evaluate(_OVERFLOWING)
    assert overflowing == [], "\n".join(overflowing)
    screenshot(page, "voila_app_narrow")
