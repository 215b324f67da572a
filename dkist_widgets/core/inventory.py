"""The one lookup of a dataset's inventory record (``ds.meta["inventory"]``), and the
one reading of its numbers (search records have the same keys).

``datasetSize`` is GiB (2**30 bytes) in DKIST's API; :func:`dataset_bytes` turns it
into bytes. :func:`finite_number` is how every panel reads a number from a record
that may hold anything (null, text, a bool): a finite float or ``None``."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

__all__ = ["inventory_of", "NoInventory", "GIB", "finite_number", "dataset_bytes"]

#: Bytes in the GiB of the API's ``datasetSize``.
GIB = 2**30


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


def finite_number(value) -> float | None:
    """``value`` as a finite float, or ``None`` (null, bool, text that is not a number, NaN, inf)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def dataset_bytes(record: Mapping[str, Any]) -> float | None:
    """Bytes of a dataset's files from its ``datasetSize`` (GiB), or ``None`` when unusable."""
    gib = finite_number(record.get("datasetSize"))
    return None if gib is None or gib < 0 else gib * GIB
