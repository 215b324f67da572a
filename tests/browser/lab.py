"""A real JupyterLab driven by Debian Chromium through Playwright.

Pieces (the fixtures in ``conftest.py`` wire them together):

* :class:`LabServer` starts ``jupyter lab`` as a child process on a free loopback
  port with a random token and isolated Jupyter/IPython directories, and stops it
  (SIGTERM, then SIGKILL of its whole process group, kernels included).
* :func:`launch_chromium` launches ``/usr/bin/chromium`` (Playwright's own browser
  download does not work here).
* :func:`open_notebook` writes a notebook into the lab's root dir, opens it in a
  page, waits for the kernel, runs every cell and returns a :class:`NotebookPage`
  for reading outputs and running further cells.
* :func:`screenshot` saves PNGs under ``<repo>/test-artifacts/screenshots``.

Choices:

* Isolation: ``JUPYTER_CONFIG_DIR``, ``JUPYTER_DATA_DIR``, ``JUPYTER_RUNTIME_DIR``
  and ``IPYTHONDIR`` point into a temporary folder. jupyter_core still lists
  ``sys.prefix/share/jupyter`` and ``sys.prefix/etc/jupyter`` (the venv), which is
  where the ipywidgets and anywidget labextensions and the server-extension
  switches live, so nothing the lab needs is lost. ``HOME`` is left alone on
  purpose: the sandbox archive cache defaults to a folder under it, and a fresh
  HOME would make every kernel regenerate it.
* The lab is launched with ``sys.executable`` so its kernels (kernelspec argv
  ``python``, which jupyter_client maps to ``sys.executable``) run in the same
  venv as pytest, and ``PYTHONPATH`` starts with this checkout so kernels import
  the code under test even from a git worktree.
* Kernels inherit the server's environment, so ``extra_env`` given to the server
  reaches every kernel it starts (that is how the loopback world's URLs get in).
* The workspace is per lab (``--LabApp.workspaces_dir``) and every page opens
  with ``?reset``; notebook windowing is off (``windowingMode: none``) so every
  cell is in the DOM; the news/announcements plugin is disabled (no network).
* Outputs and errors are read from the notebook *model* in the page
  (``panel.content.model.toJSON()``: nbformat JSON), not scraped from the DOM.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import nbformat

from tests.helpers.ports import free_port

__all__ = [
    "CHROMIUM_PATH",
    "CHROMIUM_ARGS",
    "REPO_ROOT",
    "SCREENSHOT_DIR",
    "LabServer",
    "ConsoleLog",
    "CellOutput",
    "NotebookPage",
    "launch_chromium",
    "VIEWPORT",
    "open_notebook",
    "screenshot",
    "write_notebook",
]

CHROMIUM_PATH = Path(os.environ.get("DKW_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",  # we run as root in CI containers
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT_DIR = REPO_ROOT / "test-artifacts" / "screenshots"
VIEWPORT = {"width": 1400, "height": 1000}

#: Console messages JupyterLab itself prints while working offline and that say
#: nothing about our widgets. Keep this list short and each entry explained.
BENIGN_CONSOLE_PATTERNS: tuple[str, ...] = ()

# --------------------------------------------------------------------------- lab


def _die_with_parent() -> None:  # runs in the child between fork and exec
    """Ask Linux to SIGTERM the lab if pytest dies without tearing it down."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001 - not Linux: best effort only
        pass


def _write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1))


class LabServer:
    """One ``jupyter lab`` process; kernels it starts get ``extra_env``."""

    def __init__(
        self,
        base_dir: Path | None = None,
        extra_env: Mapping[str, str] | None = None,
        startup_timeout: float = 120.0,
    ):
        self.base_dir = Path(base_dir or tempfile.mkdtemp(prefix="dkw-lab-"))
        self.extra_env = dict(extra_env or {})
        self.startup_timeout = startup_timeout
        self.token = secrets.token_hex(24)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.root_dir = self.base_dir / "notebooks"
        self.log_path = self.base_dir / "lab.log"
        self.startup_seconds: float | None = None
        self._process: subprocess.Popen | None = None
        self._log_file = None

    # -- lifecycle ---------------------------------------------------------
    def _environment(self) -> dict[str, str]:
        env = dict(os.environ)
        for key in ("JUPYTER_PATH", "JUPYTER_CONFIG_PATH", "JUPYTER_TOKEN", "JPY_SESSION_NAME"):
            env.pop(key, None)
        dirs = {
            "JUPYTER_CONFIG_DIR": self.base_dir / "config",
            "JUPYTER_DATA_DIR": self.base_dir / "data",
            "JUPYTER_RUNTIME_DIR": self.base_dir / "runtime",
            "IPYTHONDIR": self.base_dir / "ipython",
        }
        for key, path in dirs.items():
            path.mkdir(parents=True, exist_ok=True)
            env[key] = str(path)
        env["JUPYTER_PLATFORM_DIRS"] = "1"
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
        env["PYTHONUNBUFFERED"] = "1"
        env.update(self.extra_env)
        return env

    def _write_lab_settings(self) -> None:
        # page_config is merged over all config dirs, so ours adds to the venv's.
        _write_json(
            self.base_dir / "config" / "labconfig" / "page_config.json",
            {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}},
        )
        settings = self.base_dir / "settings"
        _write_json(
            settings / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings",
            {"windowingMode": "none"},
        )
        _write_json(
            settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings",
            {"fetchNews": "false", "checkForUpdates": False},
        )

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.root_dir={self.root_dir}",
            "--ServerApp.terminals_enabled=False",
            "--LabApp.expose_app_in_browser=True",
            f"--LabApp.workspaces_dir={self.base_dir / 'workspaces'}",
            f"--LabApp.user_settings_dir={self.base_dir / 'settings'}",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ] + (["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else [])

    def start(self) -> LabServer:
        self.root_dir.mkdir(parents=True, exist_ok=True)
        (self.base_dir / "workspaces").mkdir(parents=True, exist_ok=True)
        self._write_lab_settings()
        self._log_file = open(self.log_path, "wb")
        started = time.perf_counter()
        self._process = subprocess.Popen(
            self.command(),
            cwd=self.root_dir,
            env=self._environment(),
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # own process group: stop() reaps kernels too
            preexec_fn=_die_with_parent,
        )
        deadline = started + self.startup_timeout
        while True:
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"jupyter lab exited with code {self._process.returncode} while "
                    f"starting.\n--- lab log ---\n{self.log_tail()}"
                )
            try:
                self.api("GET", "/api/status", timeout=2)
                break
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            if time.perf_counter() > deadline:
                self.stop()
                raise RuntimeError(
                    f"jupyter lab did not answer /api/status within {self.startup_timeout:g} s"
                    f".\n--- lab log ---\n{self.log_tail()}"
                )
            time.sleep(0.2)
        self.startup_seconds = time.perf_counter() - started
        return self

    def stop(self, grace: float = 10.0) -> None:
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)  # the server shuts its kernels down
            try:
                process.wait(grace)
            except subprocess.TimeoutExpired:
                pass
        try:  # whatever is left in the lab's own process group (stray kernels)
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            pass
        self._process = None
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def log_tail(self, lines: int = 120) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no lab log)"
        text = text.replace(self.token, "<token>")
        return "\n".join(text.splitlines()[-lines:])

    # -- HTTP --------------------------------------------------------------
    def page_url(self, path: str, reset: bool = True) -> str:
        """URL of a lab page (e.g. ``lab/tree/x.ipynb``) with the token and ``?reset``."""
        query = f"token={self.token}" + ("&reset" if reset else "")
        return f"{self.url}/{path.lstrip('/')}?{query}"

    def api(self, method: str, path: str, body: dict | None = None, timeout: float = 10):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            payload = response.read()
        return json.loads(payload) if payload else None

    def shutdown_kernels_for(self, notebook_path: str) -> int:
        """Delete the sessions (and so the kernels) of one notebook; return how many."""
        count = 0
        for session in self.api("GET", "/api/sessions") or []:
            if session.get("path") == notebook_path:
                self.api("DELETE", f"/api/sessions/{session['id']}")
                count += 1
        return count


# ----------------------------------------------------------------------- browser


def launch_chromium(playwright, **kwargs):
    """Launch Debian Chromium headless with the flags that keep it offline and quiet."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM_PATH), args=CHROMIUM_ARGS, headless=True, **kwargs)


@dataclass
class ConsoleLog:
    """Browser console errors, uncaught page errors and dialogs of one page."""

    errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def attach(self, page) -> ConsoleLog:
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))

        def on_dialog(dialog):
            if dialog.type == "beforeunload":  # JupyterLab asks when leaving unsaved work
                dialog.accept()
                return
            self.dialogs.append(f"{dialog.type}: {dialog.message}")
            dialog.dismiss()

        page.on("dialog", on_dialog)
        return self

    def _on_console(self, message) -> None:
        if message.type != "error":
            return
        text = message.text
        if any(re.search(pattern, text) for pattern in BENIGN_CONSOLE_PATTERNS):
            return
        location = message.location or {}
        self.errors.append(f"{text} ({location.get('url', '')}:{location.get('lineNumber', '')})")

    def all_problems(self) -> list[str]:
        return (
            [f"console error: {e}" for e in self.errors]
            + [f"page error: {e}" for e in self.page_errors]
            + [f"dialog: {d}" for d in self.dialogs]
        )


# Finds the notebook panel for ``path`` among the main-area widgets.
_FIND_PANEL = """
const app = window.jupyterapp;
const findPanel = () => [...app.shell.widgets('main')].find(
  (w) => w.context && w.context.path === path && w.content && w.sessionContext);
// Notebook commands act on the tracker's current notebook, which follows focus;
// Lumino activates through posted messages, so wait until focus has moved.
const activate = async (panel) => {
  app.shell.activateById(panel.id);
  const deadline = Date.now() + 10000;
  while (app.shell.currentWidget !== panel || !panel.node.contains(document.activeElement)) {
    if (Date.now() > deadline) throw new Error('could not activate ' + path);
    await new Promise((r) => requestAnimationFrame(() => r()));
  }
  await new Promise((r) => setTimeout(r, 0));
};
"""

_WAIT_PANEL_AND_KERNEL = (
    "async ({path, timeoutMs}) => {"
    + _FIND_PANEL
    + """
  await app.started;
  await app.restored;
  const deadline = Date.now() + timeoutMs;
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  let panel = null;
  while (!(panel = findPanel())) {
    if (Date.now() > deadline) throw new Error('notebook panel did not open: ' + path);
    await sleep(100);
  }
  await panel.context.ready;
  await panel.sessionContext.ready;
  for (;;) {
    const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
    if (kernel && kernel.status === 'idle' && kernel.connectionStatus === 'connected') break;
    if (Date.now() > deadline) {
      throw new Error('kernel not idle: ' + (kernel ? kernel.status + '/' + kernel.connectionStatus : 'no kernel'));
    }
    await sleep(100);
  }
  await activate(panel);
  return panel.id;
}"""
)

_OPEN_IN_RUNNING_LAB = (
    "async ({path}) => {"
    + _FIND_PANEL
    + """
  await app.started;
  await app.restored;
  await app.commands.execute('docmanager:open', {path, factory: 'Notebook'});
}"""
)

_ACTIVATE = "async ({path}) => {" + _FIND_PANEL + " await activate(findPanel()); }"

_RUN_ALL = (
    "async ({path}) => {"
    + _FIND_PANEL
    + """
  const panel = findPanel();
  await activate(panel);
  return await app.commands.execute('notebook:run-all-cells');
}"""
)

# True once no code cell is queued or running ("[*]"), the kernel is idle and
# the cells in ``mustHaveRun`` have an execution count. (After an error,
# run-all leaves the later cells unrun, so "every cell ran" cannot be the test.)
_SETTLED = (
    "({path, mustHaveRun}) => {"
    + _FIND_PANEL
    + """
  const panel = findPanel();
  if (!panel) return false;
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  if (!kernel || kernel.status !== 'idle') return false;
  const cells = panel.content.widgets;
  for (const cell of cells) {
    if (cell.model.type !== 'code') continue;
    if (cell.promptNode && cell.promptNode.textContent.includes('*')) return false;
  }
  for (const index of mustHaveRun) {
    if (!cells[index] || cells[index].model.executionCount === null) return false;
  }
  return true;
}"""
)

_NOTEBOOK_JSON = "({path}) => {" + _FIND_PANEL + " return findPanel().content.model.toJSON(); }"

# A JS fragment (after _FIND_PANEL, with ``path`` and ``code`` in scope): a new code cell
# at the end of the notebook holding ``code``, active, not run yet; ``nb`` is the notebook.
TYPE_CELL = """
  const panel = findPanel();
  await activate(panel);
  const nb = panel.content;
  nb.activeCellIndex = nb.widgets.length - 1;
  nb.deselectAll();
  await app.commands.execute('notebook:insert-cell-below');
  if (nb.activeCell.model.type !== 'code') await app.commands.execute('notebook:change-cell-to-code');
  nb.activeCell.model.sharedModel.setSource(code);
"""

_RUN_EXTRA_CELL = (
    "async ({path, code}) => {"
    + _FIND_PANEL
    + TYPE_CELL
    + """
  const index = nb.activeCellIndex;
  await app.commands.execute('notebook:run-cell');
  return index;
}"""
)

_CELL_JSON = "({path, index}) => {" + _FIND_PANEL + " return findPanel().content.widgets[index].model.toJSON(); }"


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else (value or "")


@dataclass
class CellOutput:
    """What one executed cell showed, split the way nbformat splits it."""

    stdout: str
    stderr: str
    result: str  # text/plain of the execute_result, "" if none
    errors: list[dict]  # error outputs: {"ename", "evalue", "traceback"}
    raw: list[dict]

    @classmethod
    def from_outputs(cls, outputs: Sequence[dict]) -> CellOutput:
        stdout = "".join(_text(o.get("text")) for o in outputs if o.get("name") == "stdout")
        stderr = "".join(_text(o.get("text")) for o in outputs if o.get("name") == "stderr")
        result = "".join(
            _text(o.get("data", {}).get("text/plain")) for o in outputs if o.get("output_type") == "execute_result"
        )
        errors = [o for o in outputs if o.get("output_type") == "error"]
        return cls(stdout, stderr, result, errors, list(outputs))


@dataclass
class NotebookPage:
    """An open notebook in a Chromium page, with the kernel behind it."""

    page: object  # playwright.sync_api.Page
    lab: LabServer
    path: str
    console: ConsoleLog
    panel_id: str = ""
    timings: dict[str, float] = field(default_factory=dict)

    def notebook_json(self) -> dict:
        """The notebook as nbformat JSON, straight from the page's model."""
        return self.page.evaluate(_NOTEBOOK_JSON, {"path": self.path})

    def outputs(self) -> list[CellOutput]:
        return [
            CellOutput.from_outputs(cell.get("outputs", []))
            for cell in self.notebook_json()["cells"]
            if cell["cell_type"] == "code"
        ]

    def error_outputs(self) -> list[dict]:
        return [error for out in self.outputs() for error in out.errors]

    def stderr_text(self) -> str:
        return "".join(out.stderr for out in self.outputs())

    def problems(self) -> list[str]:
        """Error outputs in the notebook plus browser console/page errors and dialogs."""
        found = [
            f"error output: {e.get('ename')}: {e.get('evalue')}\n" + _strip_ansi("\n".join(e.get("traceback", [])))
            for e in self.error_outputs()
        ]
        return found + self.console.all_problems()

    def assert_no_problems(self) -> None:
        problems = self.problems()
        assert not problems, "problems in notebook/browser:\n" + "\n\n".join(problems)

    def wait_settled(self, timeout: float = 60.0, must_have_run: Sequence[int] = ()) -> None:
        """Wait until no cell is queued or running and the kernel is idle.

        ``must_have_run``: cell indices that must also show an execution count.
        """
        self.page.wait_for_function(
            _SETTLED,
            arg={"path": self.path, "mustHaveRun": list(must_have_run)},
            timeout=timeout * 1000,
            polling=100,
        )

    def run_cell(self, code: str, timeout: float = 60.0) -> CellOutput:
        """Append a code cell to the notebook, run it, and return what it showed.

        The cell is visible in the notebook (and in screenshots), just as if the
        user had typed it, so kernel state can be asked from the test:
        ``nb.run_cell("print(w.checks)").stdout``.
        """
        index = self.page.evaluate(_RUN_EXTRA_CELL, {"path": self.path, "code": code})
        self.wait_settled(timeout, must_have_run=[index])
        cell = self.page.evaluate(_CELL_JSON, {"path": self.path, "index": index})
        return CellOutput.from_outputs(cell.get("outputs", []))

    def activate(self) -> None:
        """Bring this notebook's tab to the front (several can be open in one page)."""
        self.page.evaluate(_ACTIVATE, {"path": self.path})

    def widget(self, selector: str):
        """A locator scoped to this notebook's panel (activates its tab first)."""
        self.activate()
        return self.page.locator(f"#{self.panel_id}").locator(selector)

    def close(self) -> None:
        """Shut down this notebook's kernel (the page is closed by its fixture)."""
        if self.lab.running:
            try:
                self.lab.shutdown_kernels_for(self.path)
            except (urllib.error.URLError, OSError):
                pass


def _strip_ansi(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def write_notebook(path: Path, cells: Sequence[str]) -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    notebook.metadata["language_info"] = {"name": "python"}
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, str(path))


def open_notebook(
    page,
    lab: LabServer,
    name: str,
    cells: Sequence[str],
    *,
    run: bool = True,
    wait_for: str | None = None,
    timeout: float = 90.0,
    console: ConsoleLog | None = None,
) -> NotebookPage:
    """Write notebook ``name`` (relative to the lab root), open it, run all cells.

    If ``page`` already shows this lab, the notebook opens as another tab of the
    running app (faster, and earlier :class:`NotebookPage` objects stay valid);
    otherwise the page navigates to ``/lab/tree/<name>?reset``.

    Waits for: the panel and an idle kernel; ``notebook:run-all-cells`` to finish;
    every code cell executed with the kernel idle again; then ``wait_for`` (a CSS
    selector, e.g. the widget's root) to be visible. Errors are not raised here:
    check ``nb.assert_no_problems()`` (or ``nb.problems()``) in the test.
    """
    if not name.endswith(".ipynb"):
        raise ValueError(f"notebook name must end with .ipynb: {name!r}")
    write_notebook(lab.root_dir / name, cells)
    console = console or ConsoleLog().attach(page)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    in_this_lab = page.url.startswith(lab.url + "/lab") and page.evaluate("() => window.jupyterapp !== undefined")
    if in_this_lab:  # another tab in the running app: earlier NotebookPages stay usable
        page.evaluate(_OPEN_IN_RUNNING_LAB, {"path": name})
    else:
        page.goto(lab.page_url(f"lab/tree/{quote(name)}"), wait_until="domcontentloaded")
        page.wait_for_function("() => window.jupyterapp !== undefined", timeout=timeout * 1000)
    panel_id = page.evaluate(_WAIT_PANEL_AND_KERNEL, {"path": name, "timeoutMs": int(timeout * 1000)})
    timings["open_and_kernel_idle"] = time.perf_counter() - t0
    notebook = NotebookPage(page=page, lab=lab, path=name, console=console, panel_id=panel_id, timings=timings)
    if run:
        t1 = time.perf_counter()
        page.evaluate(_RUN_ALL, {"path": name})  # resolves when the run ends
        notebook.wait_settled(timeout, must_have_run=[0] if cells else [])
        timings["run_all"] = time.perf_counter() - t1
    if wait_for:
        t2 = time.perf_counter()
        notebook.widget(wait_for).first.wait_for(state="visible", timeout=timeout * 1000)
        timings["widget_visible"] = time.perf_counter() - t2
    return notebook


def screenshot(page, name: str, locator=None, full_page: bool = False) -> Path:
    """Save a PNG to ``test-artifacts/screenshots/<name>.png`` and return its path."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "screenshot"
    path = SCREENSHOT_DIR / f"{safe}.png"
    if locator is not None:
        locator.screenshot(path=str(path))
    else:
        page.screenshot(path=str(path), full_page=full_page)
    return path


@contextlib.contextmanager
def served_process(
    command: Sequence[str], env: Mapping[str, str], ready_url: str, log_path: Path, timeout: float = 120.0
):
    """Run a server process until ``ready_url`` answers; stop it on exit.

    Fails with the end of its log if it exits early or never answers.
    """
    with open(log_path, "w") as log:
        process = subprocess.Popen(list(command), env=dict(env), stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + timeout
            while True:
                if process.poll() is not None:
                    raise AssertionError(Path(log_path).read_text()[-3000:])
                try:
                    urllib.request.urlopen(ready_url, timeout=2)
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise AssertionError(f"{command[:4]} did not answer within {timeout:.0f} s")
                    time.sleep(0.3)
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


def sign_in_through_panel(panel, *, press_login: bool = True) -> None:
    """What a person does in the login panel: Log in, open the link (any browser), copy
    the code the page shows, paste it, Submit; then wait until it says logged in."""
    from playwright.sync_api import expect

    from tests.helpers.globus_login import auth_code_from

    if press_login:
        panel.get_by_role("button", name="Log in to Globus").click()
    link = panel.locator("a.dkw-login-link")
    link.wait_for()
    panel.locator("input[type=password]").fill(auth_code_from(link.get_attribute("href")))
    panel.get_by_role("button", name="Submit code").click()
    expect(panel.locator(".dkw-login-state")).to_have_attribute("data-state", "logged_in", timeout=20_000)
