"""The embedded offline world: sample archive, loopback DKIST data centre, loopback Globus.

>>> from dkist_widgets import sandbox
>>> world = sandbox.start()      # doctest: +SKIP
>>> world.dataset_endpoint, world.transfer_url, world.archive_dir   # doctest: +SKIP
>>> world.stop()                 # doctest: +SKIP
"""

from .world import ENV_WORLD_STATE, World, current, start

__all__ = ["start", "current", "World", "ENV_WORLD_STATE"]
