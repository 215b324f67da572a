"""WorldStatus in a real JupyterLab: the JS bundle renders, a mouse click reaches
the kernel, and the kernel's answer comes back to the page.

The independent evidence that the kernel saw the click is a tiny HTTP server in
this test process: the kernel's probe is the only thing that GETs it.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import expect

from .lab import screenshot

CHECKED_NONE = re.compile(r"checked 0 times?")
CHECKED_ONCE = re.compile(r"checked 1 times?")


class _CountingHandler(BaseHTTPRequestHandler):
    def do_GET(self):
        # Count before answering, so a finished probe has always been counted.
        with self.server.lock:
            self.server.hits[self.path] += 1
        body = b"pong"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def ping_server():
    """A loopback HTTP server counting GETs by path; ``.url(path)`` gives a URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _CountingHandler)
    server.hits = Counter()
    server.lock = threading.Lock()
    server.url = lambda path: f"http://127.0.0.1:{server.server_address[1]}{path}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _world_status_cells(services_literal: str, extra: str = "") -> list[str]:
    return [
        "from dkist_widgets.panels.world_status import WorldStatus",
        f"w = WorldStatus(services={services_literal}{extra})\nw",
    ]


def test_click_reaches_kernel_and_result_comes_back(open_notebook, page, ping_server):
    url = ping_server.url("/ping")
    nb = open_notebook(
        "roundtrip.ipynb",
        _world_status_cells(repr([("Test service", url)])),
        wait_for='.dkw-world tr[data-service="Test service"]',
    )
    row = nb.widget('.dkw-world tr[data-service="Test service"]')
    counter = nb.widget('[data-testid="world-checks"]')
    button = nb.widget('button[data-testid="world-check"]')

    # Rendered by the js/ bundle from the kernel's initial state; nothing probed yet.
    assert row.is_visible()
    assert row.locator("td").nth(1).inner_text() == "Test service"
    assert row.locator("code").inner_text() == url
    assert "not checked yet" in row.inner_text()
    assert row.locator(".dot.unknown").count() == 1
    assert CHECKED_NONE.fullmatch(counter.inner_text())
    assert button.inner_text() == "Check services"
    assert ping_server.hits["/ping"] == 0

    button.click()  # a real mouse click at the button's centre

    # The count comes back from the kernel (the exact wording, "1 time" vs "1
    # times", belongs to the JS unit tests; here the number is what matters).
    expect(counter).to_have_text(CHECKED_ONCE, timeout=30_000)
    assert "reachable (HTTP 200)" in row.inner_text()
    assert row.locator(".dot.ok").count() == 1

    # The kernel's own view, asked through a new cell in the same notebook.
    answer = nb.run_cell("print(w.checks, w.services[0]['ok'], w.services[0]['detail'])")
    assert answer.errors == []
    assert answer.stdout.strip() == "1 True reachable (HTTP 200)"
    # Exactly one GET: one click, one message, one probe (asked after the cell
    # above, so a late second probe would have had time to show up).
    assert ping_server.hits == Counter({"/ping": 1})
    assert CHECKED_ONCE.fullmatch(counter.inner_text())

    nb.assert_no_problems()
    print("notebook timings (s):", {k: round(v, 2) for k, v in nb.timings.items()})
    shot = screenshot(page, "world_status_roundtrip")
    assert shot.stat().st_size > 10_000


def test_service_name_with_html_is_shown_as_text(open_notebook, page, ping_server):
    evil_name = "<img src=x onerror=alert(1)>"
    evil_title = "<b>bold?</b>"
    url = ping_server.url("/evil")
    nb = open_notebook(
        "escaping.ipynb",
        _world_status_cells(repr([(evil_name, url)]), extra=f", title={evil_title!r}"),
        wait_for=".dkw-world tr[data-service]",
    )
    card = nb.widget(".dkw-world")

    def check_shown_as_text():
        assert card.locator("img").count() == 0
        assert card.locator("b").count() == 0
        assert card.locator("h4").inner_text() == evil_title
        cells = card.locator("tr[data-service] td")
        assert cells.nth(1).inner_text() == evil_name
        assert card.locator("tr[data-service]").get_attribute("data-service") == evil_name

    check_shown_as_text()
    # Redraw after a kernel update goes through the same path: click and re-check.
    nb.widget('button[data-testid="world-check"]').click()
    expect(nb.widget('[data-testid="world-checks"]')).to_have_text(CHECKED_ONCE)
    check_shown_as_text()
    assert ping_server.hits == Counter({"/evil": 1})
    # No alert() ran and nothing else went wrong (dialogs are part of problems()).
    nb.assert_no_problems()
    screenshot(page, "world_status_escaping", locator=card)


def test_lab_with_extra_env_reaches_kernel(open_notebook, lab_server_factory, lab_server):
    """The fixture contract the sandbox-world tests rely on: ``extra_env`` given to
    ``lab_server_factory`` is in every kernel's environment, and kernels import
    this checkout of dkist_widgets with the test run's Python."""
    import sys
    from pathlib import Path

    lab = lab_server_factory({"DKW_BROWSER_FIXTURE_PROBE": "reached-the-kernel"})
    assert lab is lab_server_factory({"DKW_BROWSER_FIXTURE_PROBE": "reached-the-kernel"})
    assert lab is not lab_server
    nb = open_notebook(
        "extra_env.ipynb",
        [
            "import os, sys, dkist_widgets\n"
            "print(os.environ.get('DKW_BROWSER_FIXTURE_PROBE'))\n"
            "print(sys.executable)\n"
            "print(dkist_widgets.__file__)"
        ],
        lab=lab,
    )
    nb.assert_no_problems()
    probe, executable, module_file = nb.outputs()[0].stdout.splitlines()
    assert probe == "reached-the-kernel"
    assert Path(executable).resolve() == Path(sys.executable).resolve()
    repo_root = Path(__file__).resolve().parents[2]
    assert Path(module_file).resolve() == repo_root / "dkist_widgets" / "__init__.py"
    # The default lab's kernels do not see it.
    plain = open_notebook("no_extra_env.ipynb", ["import os; print(os.environ.get('DKW_BROWSER_FIXTURE_PROBE'))"])
    assert plain.outputs()[0].stdout.strip() == "None"
