"""``dkist-widgets app``: the explorer notebook served by Voila, and what Voila needs to
serve it offline (issue 14.10).

Choices
-------
* **No request leaves the machine.** Voila's ``lab`` template links Font Awesome
  from a CDN, so offline the icons fail and the page waits on it. Voila's own
  ``voila-style.js`` already carries Font Awesome 5 (its ``@font-face`` rules and
  the ``fa-*`` classes, fonts served from Voila's static folder), so the ``dkist``
  template here is ``lab`` with those two links taken out and nothing else
  changed. :func:`voila_environment` puts its data folder on ``JUPYTER_PATH``;
  :func:`voila_arguments` selects it.
* **One horizontal scrollbar at most.** The template's CSS stops the page body and
  the output areas from scrolling sideways (wide widgets wrap or scroll inside
  themselves: the results grid keeps its own scrollbar).
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["APP_NOTEBOOK", "TEMPLATE_NAME", "JUPYTER_DATA", "voila_arguments", "voila_environment"]

HERE = Path(__file__).resolve().parent
APP_NOTEBOOK = HERE / "dkist_explorer.ipynb"
TEMPLATE_NAME = "dkist"
#: A Jupyter data folder holding ``voila/templates/dkist``.
JUPYTER_DATA = HERE / "jupyter_data"


def voila_arguments() -> list[str]:
    """Command-line arguments selecting the offline template."""
    return [f"--template={TEMPLATE_NAME}"]


def voila_environment(env: dict | None = None) -> dict[str, str]:
    """``JUPYTER_PATH`` with :data:`JUPYTER_DATA` first (other entries kept)."""
    current = (env if env is not None else os.environ).get("JUPYTER_PATH", "")
    parts = [str(JUPYTER_DATA)] + [p for p in current.split(os.pathsep) if p and p != str(JUPYTER_DATA)]
    return {"JUPYTER_PATH": os.pathsep.join(parts)}
