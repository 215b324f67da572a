"""dkist-widgets: Jupyter panels over one lazy DKIST dataset model.

The core (``dkist_widgets.core``) and the offline world (``dkist_widgets.sandbox``)
import without ipywidgets; the panels (``dkist_widgets.panels``) need it.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
