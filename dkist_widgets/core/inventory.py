"""The one lookup of a dataset's inventory record (``ds.meta["inventory"]``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["inventory_of", "NoInventory"]


class NoInventory(ValueError):
    """The dataset carries no inventory record (datasetId, proposal...)."""


def inventory_of(dataset: Any, *, required: bool = False) -> Mapping[str, Any]:
    """The camelCase inventory record of ``dataset`` (a ``Dataset``, a tile, or anything with
    ``.inventory`` / ``.meta["inventory"]``).

    Returns ``{}`` when there is none, or raises :class:`NoInventory` if ``required``.
    """
    inventory = getattr(dataset, "inventory", None)
    if not inventory:
        inventory = (getattr(dataset, "meta", None) or {}).get("inventory")
    if not inventory:
        if required:
            raise NoInventory(
                "this dataset has no inventory (datasetId, proposal): cannot find its files on the DKIST endpoint"
            )
        return {}
    return inventory
