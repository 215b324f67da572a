"""Benchmark: the size of the install a user gets (issue 17.1).

Builds this checkout's wheel once, then installs it into two new virtualenvs in the same
run and measures each one's ``site-packages`` (bytes of regular files, the same count as
``du --apparent-size``):

* **plain**: ``pip install dkist_widgets-*.whl``, what ``pip install dkist-widgets``
  gives a user;
* **baseline, with the offline world**: ``pip install "dkist_widgets-*.whl[sandbox]"``.
  Before issue 17 the offline world's tools (dkist-data-simulator, dkist-inventory,
  imageio-ffmpeg, filelock) were plain dependencies, so this is what every user got.

The ten largest distributions of each install are listed, so a later growth can be
traced. pip's cache makes a rerun take a minute or two.

Run::

    PYTHONPATH=. .venv/bin/python benchmarks/bench_install_size.py            # writes results
    PYTHONPATH=. .venv/bin/python benchmarks/bench_install_size.py --no-write
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS = HERE / "results" / "install_size.md"


def _tree_bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file() and not f.is_symlink())


def _build_wheel(out: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), str(REPO)],
        check=True,
        capture_output=True,
    )
    (wheel,) = out.glob("*.whl")
    return wheel


def _install(requirement: str, venv: Path) -> tuple[int, list[tuple[str, int]]]:
    """Install into a new virtualenv; the site-packages bytes and the largest distributions."""
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", requirement],
        check=True,
        env=env,
        capture_output=True,
    )
    site = next((venv / "lib").glob("python*/site-packages"))
    # pip itself is in every new virtualenv, not part of what the user asked for
    per_top = {entry.name: _tree_bytes(entry) if entry.is_dir() else entry.stat().st_size for entry in site.iterdir()}
    largest = sorted(
        ((n, b) for n, b in per_top.items() if not n.endswith((".dist-info", ".pth"))), key=lambda x: -x[1]
    )
    return _tree_bytes(site), largest[:10]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dkw-install-size-") as tmp:
        tmp = Path(tmp)
        wheel = _build_wheel(tmp / "dist")
        empty, _ = _install("pip", tmp / "empty")  # a new virtualenv with only pip in it
        plain, plain_top = _install(str(wheel), tmp / "plain")
        world, world_top = _install(f"{wheel}[sandbox]", tmp / "world")
    mb = 1e6
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout
    lines = [
        "# The install a user gets: site-packages size (`benchmarks/bench_install_size.py`)",
        "",
        f"Run {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()}, Python "
        f"{platform.python_version()}, wheel of commit {commit.strip()}; each install in a new virtualenv "
        "in the same run. MB = 10^6 bytes of regular files in site-packages.",
        "",
        "| install | site-packages | without pip's own files |",
        "|---|---:|---:|",
        f"| new virtualenv (pip only) | {empty / mb:.0f} MB | 0 MB |",
        f"| baseline: `dkist-widgets[sandbox]` (what every user got before the extra) | {world / mb:.0f} MB "
        f"| {(world - empty) / mb:.0f} MB |",
        f"| **plain `pip install dkist-widgets`** | **{plain / mb:.0f} MB** | **{(plain - empty) / mb:.0f} MB** |",
        "",
        f"Plain / baseline: {(plain - empty) / (world - empty):.2f}.",
        "",
        "Largest top-level entries, plain install: "
        + ", ".join(f"{name} {size / mb:.0f} MB" for name, size in plain_top)
        + ".",
        "",
        "Largest top-level entries, with the offline world: "
        + ", ".join(f"{name} {size / mb:.0f} MB" for name, size in world_top)
        + ".",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.no_write:
        RESULTS.write_text(text)


if __name__ == "__main__":
    main()
