"""The embedded offline world: sample archive, loopback DKIST data centre, loopback Globus.

It needs the ``sandbox`` extra (``pip install "dkist-widgets[sandbox]"``: the DKIST
data simulator and inventory tools, ffmpeg for preview movies, a file lock); the
panels never import it. Without the extra, importing it raises an ``ImportError``
whose message is one sentence saying what to install.

>>> from dkist_widgets import sandbox
>>> world = sandbox.start()      # doctest: +SKIP
>>> world.dataset_endpoint, world.transfer_url, world.archive_dir   # doctest: +SKIP
>>> world.stop()                 # doctest: +SKIP
"""

from importlib.util import find_spec as _find_spec

#: Modules of the ``sandbox`` extra, by the distribution that provides them.
SANDBOX_EXTRA_MODULES = {
    "dkist_data_simulator": "dkist-data-simulator",
    "dkist_inventory": "dkist-inventory",
    "imageio_ffmpeg": "imageio-ffmpeg",
    "filelock": "filelock",
}


def missing_sandbox_packages() -> list[str]:
    """Distributions of the ``sandbox`` extra that are not installed."""
    return [dist for module, dist in SANDBOX_EXTRA_MODULES.items() if _find_spec(module) is None]


_missing = missing_sandbox_packages()
if _missing:
    raise ImportError(
        "The offline sample world needs the 'sandbox' extra "
        f'(missing: {", ".join(_missing)}): pip install "dkist-widgets[sandbox]".'
    )

from .world import ENV_WORLD_STATE, World, current, start  # noqa: E402

__all__ = ["start", "current", "World", "ENV_WORLD_STATE", "missing_sandbox_packages"]
