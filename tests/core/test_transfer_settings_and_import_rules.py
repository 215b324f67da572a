"""The product does not know its test world (issue 13).

* ``core/`` and ``panels/`` import nothing from ``sandbox/``: read from the source
  (every import statement, relative ones resolved) and proven at run time (every
  core and panel module imports, and a transfer monitor is built, with
  ``dkist_widgets.sandbox`` made unimportable).
* Whether a Globus login is needed is a setting (``DKIST_WIDGETS_GLOBUS_LOGIN``),
  never a guess from a URL; the sandbox sets it, with the other variables a real
  user sets, and ``TransferSettings.from_environment()`` alone finds the sandbox.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import dkist_widgets
from dkist_widgets.core.transfers import (
    ENV_DESTINATION,
    ENV_DESTINATION_ROOT,
    ENV_LOGIN,
    ENV_SOURCE,
    ENV_TRANSFER_URL,
    TransferSettings,
)
from dkist_widgets.sandbox.world import World

PACKAGE = Path(dkist_widgets.__file__).parent
LAYERS = ("core", "panels")


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in a file, relative imports resolved."""
    name = _module_name(path)
    return _imports_of(
        path.read_text(encoding="utf-8"), name if path.name == "__init__.py" else name.rpartition(".")[0]
    )


def _imports_of(source: str, package: str) -> list[tuple[int, str]]:
    tree = ast.parse(source)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.append((node.lineno, module))
            found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names]  # from x import sandbox
    return found


def _layer_files():
    return sorted(p for layer in LAYERS for p in (PACKAGE / layer).rglob("*.py"))


@pytest.mark.parametrize(
    "source",
    [
        "from ..sandbox.world import current",  # what panels/transfers.py did before issue 13
        "from .. import sandbox",
        "import dkist_widgets.sandbox.world as w",
        "from dkist_widgets import sandbox",
        "def f():\n    from ..sandbox import start",
    ],
)
def test_the_scan_sees_every_spelling_of_a_sandbox_import(source):
    """The oracle itself, on the spellings a sandbox import could take (in panels/)."""
    names = {m for _, m in _imports_of(source, "dkist_widgets.panels")}
    assert any(m == "dkist_widgets.sandbox" or m.startswith("dkist_widgets.sandbox.") for m in names), names


def test_core_and_panels_import_nothing_from_the_sandbox():
    files = _layer_files()
    assert any(p.parent.name == "transfers" for p in files), "the transfers package is scanned"
    offences = [
        f"{p.relative_to(PACKAGE.parent)}:{line} imports {module}"
        for p in files
        for line, module in _imported_modules(p)
        if module == "dkist_widgets.sandbox" or module.startswith("dkist_widgets.sandbox.")
    ]
    assert offences == []


def test_core_and_panels_work_with_the_sandbox_unimportable(tmp_path):
    modules = [_module_name(p) for p in _layer_files()]
    code = (
        "import sys\n"
        "sys.modules['dkist_widgets.sandbox'] = None  # any import of it raises\n"
        f"for name in {modules!r}:\n"
        "    __import__(name)\n"
        "from dkist_widgets.core.transfers import TransferSettings\n"
        "from dkist_widgets.panels.transfers import TransferMonitor\n"
        "settings = TransferSettings.from_environment()\n"
        "monitor = TransferMonitor(None, settings=settings)  # default login, store, watcher\n"
        "print(type(monitor.login).__name__, settings.login_required)\n"
        "monitor.close()\n"
        "assert 'dkist_widgets.sandbox' not in [m for m in sys.modules if sys.modules[m] is not None]\n"
        "print('ok')\n"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "DKIST_WIDGETS_DATA_DIR": str(tmp_path / "data"),
        "PYTHONPATH": str(PACKAGE.parent),
    }
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split() == ["GlobusLogin", "True", "ok"]


# ---------------------------------------------------------------------- the login setting
@pytest.mark.parametrize(
    "value, required", [(None, True), ("required", True), (" Required ", True), ("none", False), ("NONE", False)]
)
def test_login_setting(monkeypatch, value, required):
    if value is None:
        monkeypatch.delenv(ENV_LOGIN, raising=False)
    else:
        monkeypatch.setenv(ENV_LOGIN, value)
    assert TransferSettings.from_environment().login_required is required
    assert TransferSettings.from_environment(login_required=not required).login_required is (not required)


def test_login_setting_refuses_what_it_does_not_understand(monkeypatch):
    monkeypatch.setenv(ENV_LOGIN, "maybe")
    with pytest.raises(ValueError) as err:
        TransferSettings.from_environment()
    assert ENV_LOGIN in str(err.value) and "required" in str(err.value) and "none" in str(err.value)


@pytest.mark.parametrize("login, expected", [("none", None), ("required", "GlobusLogin")])
def test_monitor_logs_in_as_the_setting_says_whatever_the_url(monkeypatch, tmp_path, login, expected):
    from dkist_widgets.panels.transfers import TransferMonitor

    monkeypatch.setenv("DKIST_WIDGETS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv(ENV_LOGIN, login)
    monkeypatch.delenv("GLOBUS_SDK_SERVICE_URL_AUTH", raising=False)
    # a loopback URL used to mean "no login" by a guess; now only the setting decides
    settings = TransferSettings.from_environment(transfer_url="http://127.0.0.1:9/")
    monitor = TransferMonitor(None, settings=settings)
    try:
        assert (type(monitor.login).__name__ if monitor.login is not None else None) == expected
        assert (monitor.login_panel is None) is (expected is None)
    finally:
        monitor.close()


def test_sandbox_sets_what_a_user_sets(monkeypatch, tmp_path):
    """World.globus_environment() is all from_environment() needs to find the world."""
    world = World(
        datacentre_url="http://127.0.0.1:1/",
        transfer_url="http://127.0.0.1:2/",
        archive_dir=tmp_path / "a",
        local_endpoint_dir=tmp_path / "laptop",
        auth_url="http://127.0.0.1:3/",
    )
    env = world.globus_environment()
    assert env[ENV_LOGIN] == "required"
    assert env[ENV_SOURCE] == world.dkist_endpoint_id and env[ENV_DESTINATION] == world.local_endpoint_id
    assert env[ENV_DESTINATION_ROOT] == str(world.local_endpoint_dir) and env[ENV_TRANSFER_URL] == world.transfer_url
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    found = TransferSettings.from_environment()
    direct = world.transfer_settings()
    for field in ("source_endpoint_id", "destination_endpoint_id", "destination_local_root", "login_required"):
        assert getattr(found, field) == getattr(direct, field), field
    assert found.service_key == direct.service_key  # the same task store
    no_auth = World(datacentre_url="u", transfer_url="t", archive_dir=tmp_path, local_endpoint_dir=tmp_path)
    assert no_auth.globus_environment()[ENV_LOGIN] == "none" and no_auth.transfer_settings().login_required is False
