"""The install a user gets: sdist -> wheel without node -> a new virtualenv without the
offline world's extra, then the package works on dkist's own shipped test data.

One module-scoped build (about 1-2 minutes, most of it pip installing the plain
dependencies into the new virtualenv from pip's cache), then small checks on it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def _git_status() -> str:
    return subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout


def _python_only_path(tmp: Path) -> str:
    """A PATH holding only ``python`` (this virtualenv's): no node, no npm."""
    bin_dir = tmp / "python-only-bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "python"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    wrapper.chmod(0o755)
    assert shutil.which("node", path=str(bin_dir)) is None
    assert shutil.which("npm", path=str(bin_dir)) is None
    return str(bin_dir)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("needs a git checkout")
    tmp = tmp_path_factory.mktemp("packaging")
    before = _git_status()
    dist = tmp / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--sdist", "--no-isolation", "--outdir", str(dist), str(REPO)],
        check=True,
        capture_output=True,
    )
    assert _git_status() == before, "building the sdist changed tracked files"
    (sdist,) = dist.glob("*.tar.gz")
    with tarfile.open(sdist) as tar:
        tar.extractall(tmp / "unpacked", filter="data")
    (source,) = (tmp / "unpacked").iterdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PATH", "PYTHONPATH")}
    env["PATH"] = _python_only_path(tmp)
    result = subprocess.run(
        ["python", "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist), "."],
        cwd=source,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, f"wheel from the sdist without node failed:\n{result.stdout}\n{result.stderr}"
    (wheel,) = dist.glob("*.whl")
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    clean_env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    clean_env["PATH"] = f"{venv / 'bin'}:{env['PATH']}"
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", str(wheel)], env=clean_env, capture_output=True, text=True
    )
    assert install.returncode == 0, install.stderr[-3000:]
    return {"sdist": sdist, "wheel": wheel, "venv": venv, "python": python, "env": clean_env}


def _run(built, code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(built["python"]), "-c", code],
        env=built["env"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=built["venv"],
    )


def test_sdist_carries_the_bundles_and_the_licence(built):
    with tarfile.open(built["sdist"]) as tar:
        names = {Path(n).relative_to(Path(n).parts[0]).as_posix() for n in tar.getnames() if "/" in n}
    for ts in (REPO / "js" / "src" / "widgets").glob("*.ts"):
        assert f"dkist_widgets/static/{ts.stem}.js" in names
    assert "LICENSE.rst" in names


def test_every_bundle_is_an_ensured_target():
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    hook = config["tool"]["hatch"]["build"]["hooks"]["jupyter-builder"]
    bundles = {f"dkist_widgets/static/{ts.stem}.js" for ts in (REPO / "js" / "src" / "widgets").glob("*.ts")}
    assert set(hook["ensured-targets"]) == bundles
    assert set(hook["skip-if-exists"]) == bundles


def test_wheel_carries_notebooks_licence_bundles_and_types(built):
    names = set(zipfile.ZipFile(built["wheel"]).namelist())
    notebooks = {p.name for p in (REPO / "notebooks").glob("*.ipynb")}
    assert notebooks and {f"dkist_widgets/_notebooks/{n}" for n in notebooks} <= names
    assert any(n.endswith("licenses/LICENSE.rst") for n in names)
    assert "dkist_widgets/py.typed" in names
    for ts in (REPO / "js" / "src" / "widgets").glob("*.ts"):
        assert f"dkist_widgets/static/{ts.stem}.js" in names


def test_plain_install_has_no_offline_world_and_says_what_to_install(built):
    result = _run(
        built,
        "import importlib.util as u; print([m for m in ('dkist_data_simulator', 'dkist_inventory', "
        "'imageio_ffmpeg', 'jupyterlab') if u.find_spec(m)])",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
    result = _run(built, "import dkist_widgets.sandbox")
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: The offline sample world needs the 'sandbox' extra")
    assert 'pip install "dkist-widgets[sandbox]"' in last


def test_demo_from_the_wheel_says_what_to_install(built):
    result = subprocess.run(
        [str(built["venv"] / "bin" / "dkist-widgets"), "demo", "--no-browser"],
        env=built["env"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "dkist-widgets needs the offline sample world and JupyterLab for this command: "
        'pip install "dkist-widgets[sandbox,lab]"'
    )
    assert "usage:" not in result.stderr


def test_demo_serves_the_shipped_notebooks(built, tmp_path):
    """Outside a checkout, the folder `dkist-widgets demo` serves holds the workshop notebooks."""
    code = (
        "import os; os.environ['DKIST_WIDGETS_DATA_DIR'] = %r\n"
        "from dkist_widgets import cli\n"
        "folder = cli._notebook_dir(None)\n"
        "print(folder)\n"
        "print(sorted(p.name for p in folder.glob('*.ipynb')))\n" % str(tmp_path)
    )
    result = _run(built, code)
    assert result.returncode == 0, result.stderr[-3000:]
    folder, names = result.stdout.strip().splitlines()
    assert Path(folder) == tmp_path / "notebooks"
    assert names == str(sorted(p.name for p in (REPO / "notebooks").glob("*.ipynb")))


def test_explore_opens_dkists_shipped_test_dataset(built):
    code = """
import gzip, shutil, tempfile, pathlib, warnings
warnings.simplefilter("ignore")
import dkist, numpy as np
src = pathlib.Path(dkist.__file__).parent / "data" / "test" / "large_visp.asdf.gz"
dst = pathlib.Path(tempfile.mkdtemp()) / "large_visp.asdf"
with gzip.open(src, "rb") as fin, open(dst, "wb") as fout:
    shutil.copyfileobj(fin, fout)
from dkist_widgets import explore, DatasetModel
e = explore(str(dst))
ds = e.model.dataset
assert e.model.file_index.n_frames == len(ds.files.filenames), "frames"
p = e.model.preview((0, slice(0, 3)))
assert p.n_files == len(ds[0, 0:3].files), (p.n_files, len(ds[0, 0:3].files))
print("OK", type(e).__name__, len(ds.files), p.n_files)
"""
    result = _run(built, code)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().startswith("OK Explorer ")
