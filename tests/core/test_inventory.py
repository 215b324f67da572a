"""The one reading of an inventory record's numbers (core/inventory.py)."""

import math

import pytest

from dkist_widgets.core.inventory import GIB, dataset_bytes, finite_number


@pytest.mark.parametrize(
    "value, expected",
    [(3, 3.0), ("2.5", 2.5), (None, None), (True, None), ("n/a", None), (math.nan, None), (math.inf, None), ([], None)],
)
def test_finite_number(value, expected):
    assert finite_number(value) == expected


def test_dataset_bytes_reads_gib():
    assert dataset_bytes({"datasetSize": 2}) == 2 * 2**30 == 2 * GIB
    assert dataset_bytes({"datasetSize": -1}) is None
    assert dataset_bytes({"datasetSize": None}) is None and dataset_bytes({}) is None
