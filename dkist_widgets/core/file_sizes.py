"""Bytes a download of some FITS files will move, known before anything moves.

Choices
-------
* **What is counted** is the size of the FITS files on the DKIST endpoint, which
  is what a Globus task's ``bytes_transferred`` counts and what lands on disk. The
  array bytes dkist reads (``SlicePreview.loaded_nbytes``) are smaller (no
  headers, no padding, compressed tiles) and are never shown as "to download".
* **Exact where known.** A file's size is exact once it is known from a Globus
  listing of the dataset's folder (the transfer monitor lists it as soon as a
  dataset is open and Globus answers) or another exact source handed to
  ``DatasetModel.set_file_sizes``.
* **An estimate, labelled as one, otherwise.** The inventory holds ``datasetSize``
  (GiB, 2**30 bytes, the data centre's total of the dataset's FITS files) and
  ``frameCount``; their ratio is the mean file size and every unlisted file is
  counted at that mean. The real data centre gives ``datasetSize`` in whole GiB
  (the loopback one gives a float); a whole number is said to be rounded, since
  for a small dataset the mean may then be far off. Without a usable inventory (absent, zero as the data
  centre writes for a dataset under 1 GiB it rounds down) the estimate falls back
  to the array bytes per file, a lower bound, and says so.
* **One unit convention**: :func:`~dkist_widgets.core.formatting.human_bytes`
  (decimal, 1 MB = 10**6 B), as for every other byte count the panels show.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

import numpy as np

from .formatting import human_bytes
from .inventory import GIB, finite_number

__all__ = ["DownloadBytes", "SizeEstimate", "estimate_file_size", "download_bytes"]

#: Basis words shown after an estimate.
INVENTORY = "inventory"
WHOLE_GIB = "inventory, whole GiB"
ARRAY_DATA = "array data"
#: Weaker bases win when parts of a sum are estimated differently.
_WEAKNESS = {"": 0, INVENTORY: 1, WHOLE_GIB: 2, ARRAY_DATA: 3}


class SizeEstimate(NamedTuple):
    """Bytes assumed for a file whose size is not known, and where that number comes from."""

    per_file: float
    basis: str  # INVENTORY, WHOLE_GIB or ARRAY_DATA


class DownloadBytes(NamedTuple):
    """Bytes a transfer of ``n_files`` files moves.

    ``total`` adds exact sizes where known and the estimate for the ``n_estimated``
    others; ``basis`` names the estimate's source (``""`` when nothing was estimated).
    """

    total: int
    n_files: int
    n_estimated: int
    basis: str = ""

    @property
    def exact(self) -> bool:
        return self.n_estimated == 0

    @property
    def short(self) -> str:
        """``3.3 MB`` or ``≈ 3.3 MB`` (``≥`` for an array-data lower bound)."""
        mark = "" if self.exact else "≥ " if self.basis == ARRAY_DATA else "≈ "
        return mark + human_bytes(self.total)

    @property
    def basis_text(self) -> str:
        """Where an estimate comes from, in words (``""`` when exact)."""
        if self.exact:
            return ""
        if self.basis == ARRAY_DATA:
            return "the array data only, a lower bound: the file sizes are not listed yet"
        if self.basis == WHOLE_GIB:
            return "the inventory's dataset size (rounded to whole GiB) divided by its frame count"
        return "the inventory's dataset size divided by its frame count"

    @property
    def text(self) -> str:
        """``3.3 MB`` when exact, ``≈ 3.3 MB (estimate from the inventory)`` otherwise."""
        if self.exact:
            return human_bytes(self.total)
        if self.basis == ARRAY_DATA:
            return f"≥ {human_bytes(self.total)} (estimate: array data only, file sizes not listed yet)"
        if self.basis == WHOLE_GIB:
            return f"≈ {human_bytes(self.total)} (rough estimate from the inventory's dataset size in whole GiB)"
        return f"≈ {human_bytes(self.total)} (estimate from the inventory's dataset size)"


def estimate_file_size(inventory: Mapping[str, Any] | None, array_bytes_per_file: int) -> SizeEstimate:
    """The mean file size from the inventory (``datasetSize`` GiB / ``frameCount``), else the array bytes."""
    inventory = inventory or {}
    size_gib = finite_number(inventory.get("datasetSize"))
    count = finite_number(inventory.get("frameCount"))
    if size_gib is not None and count is not None and size_gib > 0 and count > 0:
        return SizeEstimate(size_gib * GIB / count, WHOLE_GIB if size_gib.is_integer() else INVENTORY)
    return SizeEstimate(float(array_bytes_per_file), ARRAY_DATA)


def download_bytes(parts: Iterable[tuple[np.ndarray | None, np.ndarray, SizeEstimate]]) -> DownloadBytes:
    """Sum ``(known sizes or None, frame ids, estimate)`` parts (one per tile).

    A size is known when it is ``>= 0`` (negative or NaN: not listed).
    """
    total = 0.0
    n_files = n_estimated = 0
    basis = ""
    for sizes, ids, estimate in parts:
        ids = np.asarray(ids, dtype=np.int64)
        n_files += int(ids.size)
        if sizes is None:
            known = np.zeros(ids.size, dtype=bool)
            total_known = 0.0
        else:
            chosen = np.asarray(sizes, dtype=float)[ids]
            known = chosen >= 0  # NaN compares False
            total_known = float(chosen[known].sum())
        missing = int(ids.size - np.count_nonzero(known))
        total += total_known + missing * estimate.per_file
        if missing:
            n_estimated += missing
            # the weaker basis wins: an array-data lower bound makes the whole sum one
            basis = max(basis, estimate.basis, key=_WEAKNESS.__getitem__)
    return DownloadBytes(int(round(total)), n_files, n_estimated, basis)
