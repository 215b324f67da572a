"""Fixtures for real-browser tests: JupyterLab + Debian Chromium via Playwright.

Use in a test module under ``tests/browser/``::

    def test_x(open_notebook):
        nb = open_notebook("x.ipynb", ["from m import W; w = W(); w"], wait_for=".my-widget")
        nb.widget("button").click()
        assert nb.run_cell("print(w.value)").stdout.strip() == "1"
        nb.assert_no_problems()

A module whose kernels need extra environment (e.g. the loopback world URLs)
overrides ``lab_server``::

    @pytest.fixture(scope="module")
    def lab_server(lab_server_factory, world):
        return lab_server_factory({"DKIST_...": world.url})

``lab_server_factory(extra_env)`` starts one lab per distinct env and reuses it
for the rest of the session; all labs stop at session end.

Every test in this folder gets the ``browser`` mark (deselect with
``-m "not browser"``). Without ``/usr/bin/chromium`` the tests are skipped and
the terminal summary says so loudly; set ``DKW_REQUIRE_BROWSER=1`` (CI) to turn
that skip into a failure.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from pathlib import Path

import pytest

from .lab import (
    CHROMIUM_PATH,
    VIEWPORT,
    ConsoleLog,
    LabServer,
    launch_chromium,
    screenshot,
)
from .lab import open_notebook as _open_notebook

HERE = Path(__file__).resolve().parent
_SKIPPED_BECAUSE: list[str] = []
_LAB_STARTS: list[tuple[str, float]] = []
_TEST_TIMEOUT_S = 300


def pytest_collection_modifyitems(config, items):
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.browser)
            if item.get_closest_marker("timeout") is None:
                item.add_marker(pytest.mark.timeout(_TEST_TIMEOUT_S))


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """On a failed browser test: save a screenshot and attach the lab log tail."""
    report = yield
    if report.when == "call" and report.failed:
        page = item.funcargs.get("page") if hasattr(item, "funcargs") else None
        if page is not None:
            try:
                path = screenshot(page, f"FAILED-{item.name}")
                report.sections.append(("browser screenshot", str(path)))
            except Exception as error:  # noqa: BLE001 - the page may be gone
                report.sections.append(("browser screenshot", f"could not save: {error}"))
        for lab in getattr(item, "_dkw_labs", []):
            report.sections.append((f"jupyter lab log ({lab.url})", lab.log_tail()))
    return report


def pytest_terminal_summary(terminalreporter):
    for url, seconds in _LAB_STARTS:
        terminalreporter.write_line(f"browser tests: JupyterLab at {url} started in {seconds:.1f} s")
    if _SKIPPED_BECAUSE:
        terminalreporter.write_sep("!", "BROWSER TESTS WERE SKIPPED: THIS IS NOT A PASS", red=True)
        for reason in sorted(set(_SKIPPED_BECAUSE)):
            terminalreporter.write_line(reason, red=True, bold=True)


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    if not CHROMIUM_PATH.exists():
        reason = f"{CHROMIUM_PATH} is missing: real-browser tests need Debian Chromium (apt-get install -y chromium)"
        _SKIPPED_BECAUSE.append(reason)
        if os.environ.get("DKW_REQUIRE_BROWSER") == "1":
            pytest.fail(reason + " and DKW_REQUIRE_BROWSER=1", pytrace=False)
        pytest.skip(reason)
    return CHROMIUM_PATH


@pytest.fixture(scope="session")
def playwright_driver(chromium_path):
    from playwright.sync_api import sync_playwright

    manager = sync_playwright()
    driver = manager.start()
    yield driver
    manager.__exit__(None, None, None)


@pytest.fixture(scope="session")
def browser(playwright_driver):
    """One headless Chromium for the session; each test gets a fresh context."""
    chromium = launch_chromium(playwright_driver)
    yield chromium
    chromium.close()


@pytest.fixture
def page(browser):
    """A page in a new browser context (fresh cookies, storage, cache) per test."""
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(30_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture(scope="session")
def lab_server_factory(tmp_path_factory):
    """``factory(extra_env=None) -> LabServer``: one running lab per distinct env."""
    labs: dict[tuple, LabServer] = {}

    def factory(extra_env: Mapping[str, str] | None = None) -> LabServer:
        env = {str(k): str(v) for k, v in (extra_env or {}).items()}
        key = tuple(sorted(env.items()))
        lab = labs.get(key)
        if lab is None or not lab.running:
            lab = LabServer(base_dir=tmp_path_factory.mktemp("lab"), extra_env=env).start()
            labs[key] = lab
            _LAB_STARTS.append((lab.url, lab.startup_seconds))
        return lab

    yield factory
    for lab in labs.values():
        lab.stop()


@pytest.fixture(scope="session")
def lab_server(lab_server_factory) -> LabServer:
    """The lab with no extra kernel env. Override (module scope) to add env."""
    return lab_server_factory()


@pytest.fixture
def open_notebook(request, page, chromium_path):
    """``open_notebook(name, cells, *, lab=None, wait_for=None, run=True, timeout=90)``.

    Opens the notebook in this test's page on ``lab`` (default: the
    ``lab_server`` fixture, resolved lazily so a module override is honoured),
    runs every cell and returns a :class:`tests.browser.lab.NotebookPage`.
    Kernels of the notebooks opened are shut down after the test.
    """
    opened = []
    console = ConsoleLog().attach(page)
    request.node._dkw_labs = []

    def opener(name, cells, *, lab: LabServer | None = None, **kwargs):
        lab = lab or request.getfixturevalue("lab_server")
        if lab not in request.node._dkw_labs:
            request.node._dkw_labs.append(lab)
        started = time.perf_counter()
        notebook = _open_notebook(page, lab, name, cells, console=console, **kwargs)
        notebook.timings["total_open"] = time.perf_counter() - started
        opened.append(notebook)
        return notebook

    yield opener
    for notebook in opened:
        notebook.close()
