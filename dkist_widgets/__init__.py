"""dkist-widgets: Jupyter panels over one lazy DKIST dataset model.

The core (``dkist_widgets.core``) and the offline world (``dkist_widgets.sandbox``)
import without ipywidgets; the panels (``dkist_widgets.panels``) need it. The names
below are imported on first use, so ``import dkist_widgets`` stays cheap.
"""

from importlib import import_module

__version__ = "0.1.0"

_LAZY = {
    "DatasetModel": "dkist_widgets.core.model",
    "SliceBuilder": "dkist_widgets.panels.slice_builder",
    "FileMap": "dkist_widgets.panels.file_map",
    "WorldStatus": "dkist_widgets.panels.world_status",
    "SearchPanel": "dkist_widgets.panels.search",
    "HeaderExplorer": "dkist_widgets.panels.header_explorer",
    "TransferMonitor": "dkist_widgets.panels.transfers",
    "LoginPanel": "dkist_widgets.panels.login",
    "Preview": "dkist_widgets.panels.preview",
    "FrameStatsPanel": "dkist_widgets.panels.preview",
    "DatasetOverview": "dkist_widgets.panels.overview",
    "sandbox": "dkist_widgets.sandbox",
    "explore": "dkist_widgets.explorer",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name):
    if name in _LAZY:
        module = import_module(_LAZY[name])
        return module if name == "sandbox" else getattr(module, name)
    raise AttributeError(f"module 'dkist_widgets' has no attribute {name!r}")
