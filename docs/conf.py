"""Sphinx configuration for the dkist-widgets documentation (sunpy style).

Built by ``make docs`` (and so by ``make test``) with warnings as errors. The workshop
notebooks are copied into ``tutorials/generated/`` and executed offline against the
sandbox (loopback data centre and Globus) started here; the API reference pages are
written at build time from the package's modules, so a new module is documented
without editing this folder.
"""

from __future__ import annotations

import os
import pkgutil
import shutil
import tempfile
from pathlib import Path

import dkist_widgets

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

project = "dkist-widgets"
author = "The dkist-widgets developers"
copyright = "2026, The dkist-widgets developers"
release = version = dkist_widgets.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_nb",
]
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
exclude_patterns = ["_build", "**.ipynb_checkpoints", "screenshots/*.md"]
html_theme = "sunpy"
html_title = f"dkist-widgets {version}"
html_static_path: list[str] = []
# Our own site root: no analytics script and no sunpy.org navigation links.
html_theme_options = {
    "show_prev_next": False,
    "sst_site_root": "https://dkist-widgets.readthedocs.io",
    "goatcounter_analytics_url": False,
    "navbar_links": [
        ("Tutorials", "tutorials/index", 3),
        ("How-to", "how-to/index", 3),
        ("API", "api/index", 3),
    ],
}

# numpydoc: no autosummary stubs for class members (autodoc documents them).
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
autodoc_member_order = "bysource"
autodoc_typehints = "none"
autodoc_default_options = {"members": True, "undoc-members": False, "show-inheritance": False}
autodoc_mock_imports: list[str] = []
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

# Notebooks: executed here, offline, on the sandbox; a cell that raises fails the build.
nb_execution_mode = os.environ.get("DKW_DOCS_EXECUTE", "force")
nb_execution_timeout = 600
nb_execution_raise_on_error = True
nb_merge_streams = True
# Widget views need a live kernel and scripts from the internet: the page shows each
# panel's static HTML form instead (panels/static_form.py), and loads no widget scripts.
nb_mime_priority_overrides = [("*", "application/vnd.jupyter.widget-view+json", None)]
nb_ipywidgets_js: dict = {}
suppress_warnings = ["mystnb.unknown_mime_type"]

# ----------------------------------------------------------------- API pages
SKIP_MODULES = {"dkist_widgets.app"}


def _public_modules() -> list[str]:
    names = ["dkist_widgets"]
    for info in pkgutil.walk_packages(dkist_widgets.__path__, prefix="dkist_widgets."):
        parts = info.name.split(".")
        if any(p.startswith("_") for p in parts) or info.name in SKIP_MODULES:
            continue
        names.append(info.name)
    return sorted(names)


def _write_api_pages(_app) -> None:
    out = HERE / "api" / "generated"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    modules = _public_modules()
    for name in modules:
        title = f"``{name}``"
        (out / f"{name}.rst").write_text(f"{title}\n{'=' * len(title)}\n\n.. automodule:: {name}\n")
    toc = "\n".join(f"   generated/{name}" for name in modules)
    (HERE / "api" / "modules.rst").write_text(
        "All modules\n===========\n\n.. toctree::\n   :maxdepth: 1\n\n" + toc + "\n"
    )


# ----------------------------------------------------------------- tutorials
_WORLD = None


def _copy_notebooks(_app) -> None:
    out = HERE / "tutorials" / "generated"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    for nb in sorted((REPO / "notebooks").glob("*.ipynb")):
        shutil.copy2(nb, out / nb.name)


def _start_world(_app) -> None:
    """The loopback services the executed notebooks talk to, in a throwaway folder.

    The kernels inherit this process's environment: the world's settings, including
    its kernels' home (the local endpoint folder, where dkist finds the loopback
    Globus Connect Personal)."""
    global _WORLD
    if nb_execution_mode == "off":
        return
    from dkist_widgets import sandbox

    scratch = Path(tempfile.mkdtemp(prefix="dkw-docs-"))
    _WORLD = sandbox.start(local_endpoint_dir=scratch / "local-endpoint", attach=False)
    os.environ.update(_WORLD.kernel_environment())
    os.environ["MPLBACKEND"] = "agg"


def _stop_world(_app, _exc) -> None:
    if _WORLD is not None:
        _WORLD.stop()


def setup(app):
    app.connect("builder-inited", _write_api_pages)
    app.connect("builder-inited", _copy_notebooks)
    app.connect("builder-inited", _start_world)
    app.connect("build-finished", _stop_world)
