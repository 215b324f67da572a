"""Windows and macOS: no POSIX-only call in the product or the sandbox (issue 17).

An AST scan of ``dkist_widgets/`` for modules, functions, signals, keywords and
paths that do not exist (or mean something else) on Windows. Each use that stays is
listed in :data:`ALLOWED` with the reason it is safe there; an allowed use that
disappears must leave the list too, so the list stays a true account.

Not scanned: ``"/"`` in strings. Globus paths and URLs are POSIX-style on every
platform; local paths are built with ``pathlib``/``os.path`` (reviewed by hand).
"""

from __future__ import annotations

import ast
from pathlib import Path

import dkist_widgets

PACKAGE = Path(dkist_widgets.__file__).parent

#: Modules that only exist on POSIX systems.
POSIX_MODULES = {"fcntl", "termios", "tty", "pty", "pwd", "grp", "resource", "posix", "crypt", "spwd", "syslog"}
#: ``shlex`` quotes for POSIX shells only; commands are lists of arguments instead.
SHELL_MODULES = {"shlex"}
#: Attributes of ``os`` missing on Windows (or, for chmod, meaning only "read-only" there).
POSIX_OS = {
    "fork",
    "forkpty",
    "setsid",
    "setpgrp",
    "setpgid",
    "getpgid",
    "killpg",
    "getuid",
    "geteuid",
    "getgid",
    "getegid",
    "chown",
    "lchown",
    "mkfifo",
    "mknod",
    "statvfs",
    "sysconf",
    "uname",
    "getloadavg",
    "symlink",
    "link",
    "chmod",
    "WNOHANG",
}
#: Path methods that need privileges on Windows (links) or mean little there (chmod).
#: (``Path.owner``/``group`` are left out: ``re.Match.group`` would drown them.)
POSIX_PATH_METHODS = {"symlink_to", "hardlink_to", "chmod", "lchmod"}
#: Signals and signal functions; SIGTERM exists on Windows but is listed so each use says so.
POSIX_SIGNAL = {
    "SIGKILL",
    "SIGHUP",
    "SIGQUIT",
    "SIGUSR1",
    "SIGUSR2",
    "SIGCHLD",
    "SIGALRM",
    "SIGPIPE",
    "SIGSTOP",
    "SIGCONT",
    "SIGTERM",
    "alarm",
    "setitimer",
    "pause",
    "pthread_kill",
}
#: subprocess keywords that are POSIX-only.
POSIX_KEYWORDS = {"preexec_fn", "start_new_session", "pass_fds", "process_group", "user", "group"}
#: String prefixes of POSIX-only locations.
POSIX_PATHS = ("/tmp", "/dev/", "/proc/", "/var/", "/etc/", "/usr/")

#: Links are fine where a ``try`` around them catches ``OSError`` (Windows refuses
#: symlinks without developer mode): the fallback is the portable path.
LINKS = {"symlink", "link", "symlink_to", "hardlink_to"}
FALLBACK_ERRORS = {"OSError", "PermissionError", "NotImplementedError", "Exception"}

#: (file relative to dkist_widgets/, name) -> why it is safe on Windows and macOS.
ALLOWED = {
    ("cli.py", "geteuid"): "guarded by hasattr(os, 'geteuid'): the root warning is POSIX-only by nature",
    ("cli.py", "SIGTERM"): "signal.SIGTERM exists on Windows and signal.signal accepts it there",
    ("core/dkist_token_cache.py", "chmod"): (
        "privacy on POSIX (0700/0600); on Windows it only sets the read-only bit, harmless, and the "
        "file lives in the user's own profile folder"
    ),
    ("core/globus_auth.py", "chmod"): "as for core/dkist_token_cache.py: 0600 on POSIX, harmless on Windows",
}


def _has_fallback(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    """Whether ``node`` sits in the body of a ``try`` that catches ``OSError`` (or wider)."""
    child, parent = node, parents.get(node)
    while parent is not None:
        if isinstance(parent, ast.Try) and child in parent.body:
            for handler in parent.handlers:
                caught = handler.type
                names = [caught] if not isinstance(caught, ast.Tuple) else list(caught.elts)
                if caught is None or any(ast.unparse(n).split(".")[-1] in FALLBACK_ERRORS for n in names):
                    return True
        child, parent = parent, parents.get(parent)
    return False


def _uses(path: Path) -> list[tuple[str, int]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in LINKS and _has_fallback(node, parents):
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                root = alias.name.split(".")[0]
                if root in POSIX_MODULES | SHELL_MODULES:
                    found.append((root, node.lineno))
        elif isinstance(node, ast.ImportFrom) and node.module:
            root = node.module.split(".")[0]
            if root in POSIX_MODULES | SHELL_MODULES:
                found.append((root, node.lineno))
            if root in ("os", "signal"):
                for alias in node.names:
                    if alias.name in (POSIX_OS if root == "os" else POSIX_SIGNAL):
                        found.append((alias.name, node.lineno))
        elif isinstance(node, ast.Attribute):
            owner = node.value.id if isinstance(node.value, ast.Name) else None
            if owner == "os" and node.attr in POSIX_OS:
                found.append((node.attr, node.lineno))
            elif owner == "signal" and node.attr in POSIX_SIGNAL:
                found.append((node.attr, node.lineno))
            elif owner not in ("os", "signal") and node.attr in POSIX_PATH_METHODS:
                found.append((node.attr, node.lineno))
        elif isinstance(node, ast.Call):
            callee = ast.unparse(node.func)
            if callee.startswith("subprocess.") or callee.endswith("Popen"):
                for kw in node.keywords:
                    if kw.arg in POSIX_KEYWORDS:
                        found.append((kw.arg, node.lineno))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if node.value.startswith(POSIX_PATHS) and " " not in node.value:
                found.append((node.value, node.lineno))
    return found


def _scan() -> dict[tuple[str, str], list[int]]:
    uses: dict[tuple[str, str], list[int]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        for name, line in _uses(path):
            uses.setdefault((rel, name), []).append(line)
    return uses


def test_no_posix_only_calls_outside_the_allow_list():
    uses = _scan()
    unexplained = {key: lines for key, lines in uses.items() if key not in ALLOWED}
    assert not unexplained, (
        "POSIX-only names in dkist_widgets/ (make them portable, or add each to ALLOWED "
        f"with the reason it is safe on Windows and macOS): {unexplained}"
    )


def test_every_allowed_use_still_exists():
    uses = _scan()
    stale = sorted(key for key in ALLOWED if key not in uses)
    assert not stale, f"ALLOWED lists uses that are gone; remove them: {stale}"


def test_the_scan_sees_what_it_looks_for(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import fcntl, os, signal, subprocess, shlex\n"
        "from pathlib import Path\n"
        "os.symlink('a', 'b')\n"
        "Path('b').symlink_to('a')\n"
        "os.kill(1, signal.SIGKILL)\n"
        "subprocess.Popen(['x'], start_new_session=True, preexec_fn=None)\n"
        "os.getuid()\n"
        "open('/tmp/x')\n"
        "try:\n"
        "    os.link('a', 'c')\n"
        "except OSError:\n"
        "    pass\n"
    )
    names = {name for name, _ in _uses(sample)}
    assert names >= {
        "fcntl",
        "shlex",
        "symlink",
        "symlink_to",
        "SIGKILL",
        "start_new_session",
        "preexec_fn",
        "getuid",
        "/tmp/x",
    }
    assert "link" not in names  # guarded by a fallback
