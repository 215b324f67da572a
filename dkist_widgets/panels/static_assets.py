"""Paths of the bundled front-end modules built from ``js/`` at install time."""

from pathlib import Path

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"


def esm_path(name: str) -> Path:
    """The built ES module for widget ``name`` (``js/src/widgets/<name>.ts``)."""
    path = STATIC_DIR / f"{name}.js"
    if not path.exists():
        raise FileNotFoundError(
            f"{path} is missing: the JavaScript bundle was not built. Reinstall the "
            "package (`pip install .`, which runs the js build) or run `npm run build` in js/."
        )
    return path


#: Status colours for text, per JupyterLab theme (``body[data-jp-theme-light]``), each
#: at least 4.5:1 (WCAG AA) against the theme's layout colours 0-2 (checked in Chromium
#: by ``tests/browser/test_theme_contrast.py``). Panels use the classes, never an
#: inline colour: an inline colour chosen for white is unreadable on the dark theme.
THEME_CSS = """<style>
:root { --dkw-ok: #1b5e20; --dkw-error: #b71c1c; --dkw-warn: #8a4500; --dkw-muted: #595959; }
body[data-jp-theme-light="false"] { --dkw-ok: #81c784; --dkw-error: #ffabab; --dkw-warn: #ffcc80;
  --dkw-muted: #bdbdbd; }
.dkw-ok { color: var(--dkw-ok); }
.dkw-error { color: var(--dkw-error); }
.dkw-warn { color: var(--dkw-warn); }
.dkw-muted { color: var(--dkw-muted); }
.dkw-text { color: var(--jp-ui-font-color1, #111); }
/* ipywidgets draws accordion titles in --jp-ui-font-color2 (4.2-4.4:1 on their grey): use color1 */
.dkw-transfer-monitor [class*="Collapse-header"], .dkw-slice-builder [class*="Collapse-header"] {
  color: var(--jp-ui-font-color1, #111); }
</style>"""


def theme_style() -> "object":
    """An (invisible) HTML widget carrying :data:`THEME_CSS`; put one in each panel."""
    import ipywidgets as w  # imported here: this module also serves the widget-free paths

    style = w.HTML(THEME_CSS, layout=w.Layout(display="none"))
    style.add_class("dkw-theme-css")
    return style
