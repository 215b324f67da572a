"""A small transfer world for kernel-side tests: a synthetic dataset, a DKIST endpoint
folder, a laptop folder and the loopback Globus Transfer service between them.

Each test module keeps its own endpoint ids, proposal and dataset ids (so modules
running side by side never share a task store or a folder); this module holds what
they used to copy: the inventory record, the model and the service set-up.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dkist_widgets.core.model import DatasetModel
from dkist_widgets.sandbox.globus_service import LoopbackGlobus
from tests.helpers import dkist_samples


def visp_inventory(proposal: str, dataset: str) -> dict:
    """The inventory fields a transfer plan reads (bucket and ids make the source path)."""
    return {
        "datasetId": dataset,
        "primaryProposalId": proposal,
        "bucket": "data",
        "instrumentName": "VISP",
        "startTime": "2022-06-01T10:00:00",
    }


def synthetic_model(basepath: Path, grid: tuple[int, ...], names, inventory: dict) -> DatasetModel:
    """A model over dkist's own Dataset with ``names`` as its files (one per frame)."""
    ds = dkist_samples.synthetic_dataset(grid, names=np.asarray(names), basepath=basepath)
    ds.meta["inventory"].update(inventory)
    return DatasetModel(ds)


def laptop_folder(tmp_path: Path) -> Path:
    """The destination collection's root (a Globus Connect Personal folder)."""
    folder = tmp_path / "laptop"
    folder.mkdir()
    return folder


def start_loopback_globus(
    src: str, archive_root: Path, dst: str, dest: Path, *, label: str = "test", **options
) -> LoopbackGlobus:
    """Start the loopback Transfer API between the DKIST endpoint and the laptop.

    ``options`` go to ``LoopbackGlobus`` (``rate_bytes_per_s`` defaults to no limit).
    """
    options.setdefault("rate_bytes_per_s", None)
    return LoopbackGlobus(
        {src: (f"DKIST ({label})", archive_root, False), dst: (f"Laptop ({label})", dest, True)}, **options
    ).start()
