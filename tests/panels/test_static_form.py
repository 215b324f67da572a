"""Panels read well where no kernel draws them (issue 17.7): nbconvert, the docs, viewers.

Each panel's display bundle keeps the widget view (JupyterLab draws the live panel)
and adds ``text/plain`` and ``text/html`` forms saying what dataset, what selection
and what transfers it shows, escaped; a notebook exported to HTML by nbconvert shows
that table instead of ``Explorer(children=(HTML(value="<style>...``.
"""

from __future__ import annotations

import html
from pathlib import Path

import dkist
import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient
from nbconvert import HTMLExporter

from dkist_widgets import DatasetModel
from dkist_widgets.core.describe import as_html, describe_model

EIT = Path(dkist.__file__).parent / "data" / "test" / "eit_dataset-1.2.0.asdf"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


@pytest.fixture(scope="module")
def model(archive):
    ds = dkist.load_dataset(archive.asdf_path("KPLMQ"))
    m = DatasetModel(ds)
    m.select_frames(np.arange(0, m.n_frames, 2), source="header_explorer")
    return m


def _bundle(widget) -> dict:
    out = widget._repr_mimebundle_()
    return out[0] if isinstance(out, tuple) else out


def _panels(model):
    from dkist_widgets.panels.file_map import FileMap
    from dkist_widgets.panels.frame_stats import FrameStatsPanel
    from dkist_widgets.panels.header_explorer import HeaderExplorer
    from dkist_widgets.panels.login import LoginPanel
    from dkist_widgets.panels.overview import DatasetOverview
    from dkist_widgets.panels.preview import Preview
    from dkist_widgets.panels.slice_builder import SliceBuilder
    from dkist_widgets.panels.world_status import WorldStatus

    return {
        "slice": SliceBuilder(model),
        "filemap": FileMap(model),
        "login": LoginPanel(),
        "world": WorldStatus(),
        "headers": HeaderExplorer(model),
        "preview": Preview(model),
        "stats": FrameStatsPanel(model),
        "overview": DatasetOverview(model),
    }


def test_model_lines_say_dataset_selection_and_files(model):
    lines = dict(describe_model(model))
    inventory = model.dataset.meta["inventory"]
    assert lines["dataset"].startswith(inventory["datasetId"])
    assert lines["files"].startswith(f"{model.n_frames:,} FITS files")
    assert lines["selection"].startswith(f"{model.n_selected:,} of {model.n_frames:,} frames")
    assert lines["on disk"] == f"{model.n_local_files:,} of {model.n_frames:,} files"


def test_every_panel_keeps_its_live_view_and_adds_readable_forms(model):
    for name, panel in _panels(model).items():
        bundle = _bundle(panel)
        assert WIDGET_VIEW in bundle, name
        assert "children=(" not in bundle["text/plain"], name
        assert bundle["text/html"].startswith('<div class="dkw-static"'), name
        if name in ("slice", "filemap", "headers", "preview", "stats", "overview"):
            assert model.dataset.meta["inventory"]["datasetId"] in bundle["text/plain"], name
            assert f"{model.n_selected:,} of {model.n_frames:,} frames" in bundle["text/html"], name
        panel.close()


def test_static_html_escapes_what_it_shows():
    text = as_html("<b>t</b>", [("<script>alert(1)</script>", "a & b <i>")])
    assert "<script>" not in text and "<i>" not in text and "<b>t</b>" not in text
    assert html.escape("<script>alert(1)</script>") in text


def test_login_static_form_never_shows_a_token(model, tmp_path, monkeypatch):
    from dkist_widgets.panels.login import LoginPanel

    monkeypatch.setenv("DKIST_WIDGETS_DATA_DIR", str(tmp_path))
    panel = LoginPanel()
    bundle = _bundle(panel)
    assert "state" in bundle["text/plain"] and "not signed in" in bundle["text/plain"]
    assert "token" not in bundle["text/html"].lower()
    panel.close()


@pytest.mark.timeout(300)
def test_nbconvert_html_shows_the_static_form_not_the_widget_repr(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "import dkist, numpy as np\n"
            "from dkist_widgets import DatasetModel\n"
            "from dkist_widgets.panels.slice_builder import SliceBuilder\n"
            f"m = DatasetModel(dkist.load_dataset({str(EIT)!r}))\n"
            "m.select_frames(np.arange(3), source='code')\n"
            "SliceBuilder(m)"
        )
    ]
    # saved without widget state, as a notebook often reaches GitHub or VS Code's viewer
    NotebookClient(
        nb,
        timeout=240,
        kernel_name="python3",
        store_widget_state=False,
        resources={"metadata": {"path": str(tmp_path)}},
    ).execute()
    body, _ = HTMLExporter(template_name="lab").from_notebook_node(nb)
    assert 'class="dkw-static"' in body
    assert "SliceBuilder(children=" not in body and "HTML(value=" not in body
    assert "3 of " in body
