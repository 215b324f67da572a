"""Every notebook in ``notebooks/`` run in JupyterLab + Chromium against a sandbox world.

The lab's kernels get ``world.kernel_environment()``, a temporary ``HOME`` and data
dir (so they are not signed in to Globus: the guarded transfer cells print how to
sign in). For each notebook: run all cells; no error output, no browser console
error; every widget view saved in the outputs is rendered in the page (a widget
element inside it, no "Error displaying widget"). Screenshots go to
``test-artifacts/screenshots/notebook_<name>*.png``; the explorer is also shot in
the dark theme in a narrow window.

The notebooks are opened from their code cells (the markdown is not needed to run
them; the lab fixtures write the notebook they open).
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from .lab import screenshot

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


@pytest.fixture(scope="module")
def lab_server(lab_server_factory, world, tmp_path_factory):
    env = dict(world.kernel_environment())
    env["HOME"] = str(tmp_path_factory.mktemp("home"))
    env["DKIST_WIDGETS_DATA_DIR"] = str(tmp_path_factory.mktemp("kernel-data"))
    return lab_server_factory(env)


def code_cells(path: Path) -> list[str]:
    nb = nbformat.read(path, as_version=4)
    return [cell.source for cell in nb.cells if cell.cell_type == "code"]


# Widget views are the output panels without a mime type (JupyterLab's widget
# renderer sets none); closed widgets (e.g. tqdm bars of Fido.fetch) are hidden.
_RENDERED = """(panelId) => {
  const panel = document.getElementById(panelId);
  const outs = [...panel.querySelectorAll('.jp-OutputArea-output')].filter((o) => !o.dataset.mimeType);
  return outs.map((o) => ({
    hidden: o.classList.contains('lm-mod-hidden'),
    rendered: !!o.querySelector('.jupyter-widgets, [class*="widget-"], [class*="dkw-"]'),
    text: o.innerText.slice(0, 200),
  }));
}"""


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_in_lab_with_every_widget_rendered(path, open_notebook, page):
    cells = code_cells(path)
    nb = open_notebook(path.name, cells, timeout=240)
    nb.wait_settled(240, must_have_run=list(range(len(cells))))
    nb.assert_no_problems()

    saved = sum(
        1 for cell in nb.notebook_json()["cells"] for o in cell.get("outputs", []) if WIDGET_MIME in o.get("data", {})
    )
    assert saved > 0
    views = page.evaluate(_RENDERED, nb.panel_id)
    assert len(views) == saved, (len(views), saved)
    shown = [v for v in views if not v["hidden"]]
    assert shown
    broken = [v["text"] for v in shown if not v["rendered"] or "Error displaying widget" in v["text"]]
    assert not broken, broken
    assert "Error displaying widget" not in nb.widget(".jp-Notebook").first.inner_text()

    explorer = nb.widget(".dkw-explorer")
    if explorer.count():
        explorer.first.scroll_into_view_if_needed()
        page.wait_for_timeout(300)
    screenshot(page, f"notebook_{path.stem}")
    last = nb.widget(".jp-Cell").last
    last.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    screenshot(page, f"notebook_{path.stem}_end")

    if explorer.count():
        # dark theme, narrow window: the overview wraps and stays readable
        page.set_viewport_size({"width": 720, "height": 1000})
        page.evaluate("() => window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Dark'})")
        page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'", timeout=30_000)
        explorer.first.scroll_into_view_if_needed()
        page.wait_for_timeout(500)
        overview = nb.widget("[data-testid=overview]").first
        widths = overview.evaluate("(el) => [el.scrollWidth, el.clientWidth]")
        assert widths[0] <= widths[1] + 2, widths  # wraps instead of overflowing sideways
        colour = overview.evaluate("(el) => getComputedStyle(el).color")
        assert colour not in ("rgb(0, 0, 0)", "rgb(34, 34, 34)"), colour  # follows the dark theme
        screenshot(page, f"notebook_{path.stem}_dark_narrow", locator=explorer.first)
        page.evaluate("() => window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Light'})")
        page.set_viewport_size({"width": 1400, "height": 1000})
        nb.assert_no_problems()
