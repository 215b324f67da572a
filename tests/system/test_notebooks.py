"""Every notebook in ``notebooks/`` runs headlessly (nbclient) against a sandbox world.

The world is started in this process; each kernel gets ``world.kernel_environment()``
(so plain ``Fido``/``dkist``/``globus-sdk`` reach the loopback services,
``sandbox.start()`` attaches, and ``HOME`` is the world's local endpoint folder, where
dkist finds the loopback Globus Connect Personal and ``~/sunpy/data`` lands; what a
previous notebook left there is removed first) and its own ``DKIST_WIDGETS_DATA_DIR``
(where the widget's Globus tokens live).

Two sign-in states are run for the workshop notebooks:

* **signed in** — the test signs in beforehand exactly as a person would (open the
  loopback Globus Auth page, read the code, paste it), into the token file the
  kernel will read; the notebooks' transfer cells then really move files, and the
  test checks the files on disk against dkist's own slice;
* **not signed in** — the guarded transfer cells print how to sign in, and every
  other cell still runs without error.

Only nbclient runs here: no widget JavaScript (see ``tests/browser/test_notebooks_in_lab.py``).
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.helpers.globus_login import auth_code_from

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))

pytestmark = pytest.mark.timeout(300)


def kernel_env(world, data_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(world.kernel_environment())
    env["DKIST_WIDGETS_DATA_DIR"] = str(data_dir)
    env["MPLBACKEND"] = "agg"
    return env


def fresh_home(world) -> Path:
    """The kernels' home (the local endpoint folder), without what earlier notebooks left."""
    home = Path(world.local_endpoint_dir)
    for leftover in ("sunpy", "dkist", ".cache/dkist"):
        shutil.rmtree(home / leftover, ignore_errors=True)
    return home


def sign_in(world, data_dir: Path, monkeypatch) -> None:
    """Sign in as a person would, storing tokens where the kernel will look for them
    (the widget's token file, and dkist's cache in the kernels' home)."""
    from dkist_widgets.core.globus_auth import GlobusLogin

    monkeypatch.setenv("DKIST_WIDGETS_DATA_DIR", str(data_dir))
    for key in ("HOME", "XDG_CACHE_HOME", "DKIST_WIDGETS_SHARE_DKIST_LOGIN"):
        monkeypatch.setenv(key, world.kernel_environment()[key])
    login = GlobusLogin(auth_url=world.auth_url, reuse_dkist_cache=False)
    login.finish_login(auth_code_from(login.start_login()))
    assert login.is_logged_in


def run_notebook(path: Path, env: dict[str, str], cwd: Path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs, f"{path.name} is saved with outputs"
    client = NotebookClient(nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(cwd)}})
    client.execute(env=env)
    errors = [
        (i, o)
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code"
        for o in cell.outputs
        if o.output_type == "error"
    ]
    assert not errors, "\n".join(f"cell {i}: {o.ename}: {o.evalue}" for i, o in errors)
    return nb


def text_of(nb) -> str:
    parts = []
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            if o.output_type == "stream":
                parts.append(o.text)
            elif "data" in o and "text/plain" in o.data:
                parts.append(o.data["text/plain"])
    return "\n".join(parts)


def widget_views(nb) -> int:
    return sum(
        1
        for cell in nb.cells
        for o in cell.get("outputs", [])
        if "application/vnd.jupyter.widget-view+json" in o.get("data", {})
    )


def test_there_are_notebooks():
    names = [p.name for p in NOTEBOOKS]
    assert {"00_tour.ipynb", "01_downloading_data.ipynb", "02_vbi_mosaic.ipynb"} <= set(names), names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_signed_in(path, world, tmp_path, monkeypatch):
    from dkist_widgets.sandbox.archive import ensure_archive

    # The session's archive (the one the world serves), found before sign_in points
    # DKIST_WIDGETS_DATA_DIR at this test's folder: afterwards ensure_archive() would
    # generate a second archive there (minutes on a busy machine: the 300 s timeout).
    archive = ensure_archive()
    data_dir = tmp_path / "data"
    home = fresh_home(world)
    sign_in(world, data_dir, monkeypatch)
    nb = run_notebook(path, kernel_env(world, data_dir), tmp_path)
    assert widget_views(nb) > 0
    out = text_of(nb)
    assert "Not signed in yet" not in out
    local = Path(world.local_endpoint_dir)
    if path.name == "01_downloading_data.ipynb":
        # the transfer of the good-seeing subset really happened: the files on disk
        # are those of the slice the notebook printed, as dkist names them
        assert "SUCCEEDED" in out
        assert "same as the widget: True" in out
        assert (home / "sunpy" / "data" / "KPLMQ").is_dir()
        import dkist

        ds = dkist.load_dataset(archive.asdf_path("KPLMQ"))
        snippet = re.search(r"as a slice: (ds\[[^\]]*\])", out).group(1)
        expected = set(eval(snippet, {"ds": ds}).files.filenames)
        landed = {p.name for p in (local / "dkist" / "pid_1_123" / "KPLMQ").glob("*.fits")}
        assert expected and expected <= landed
        # dkist's own download with the same sign-in: the same files, where sds looks
        folder = Path(re.search(r"dkist put (\d+) files in (\S+)", out).group(2))
        assert folder == home / "sunpy" / "data" / "KPLMQ"
        assert expected <= {p.name for p in folder.glob("*.fits")}
        assert "Waiting for completion of Globus Authentication" not in out  # no dkist login
        # the plot cell read the landed files: exactly the other raster steps are NaN
        first, last = map(int, re.search(r"raster steps (\d+)\.\.(\d+):", out).groups())
        missing = int(re.search(r"(\d+) of 100 raster steps have no file here", out).group(1))
        assert missing == 100 - (last - first + 1) < 100
    if path.name == "02_vbi_mosaic.ipynb":
        assert "SUCCEEDED" in out
        landed = list((local / "dkist" / "pid_1_50" / "GHMNE").glob("*.fits"))
        assert len(landed) >= 9  # one frame per tile of the 3 x 3 mosaic


@pytest.mark.parametrize("path", [p for p in NOTEBOOKS if p.name != "00_tour.ipynb"], ids=lambda p: p.stem)
def test_notebook_runs_without_sign_in(path, world, tmp_path):
    fresh_home(world)
    nb = run_notebook(path, kernel_env(world, tmp_path / "data"), tmp_path)
    out = text_of(nb)
    assert "Not signed in yet" in out
    if path.name == "01_downloading_data.ipynb":
        assert "100 of 100 raster steps have no file here" in out
