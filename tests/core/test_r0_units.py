"""Issue 14.4: r0 in metres everywhere in the header explorer, as the notebook says.

The workshop notebook says "set the threshold to 0.08" and means metres (the unit of
``ATMOS_R0``). The oracle is numpy over ``ds.headers`` (masked r0 never qualifies).
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from dkist_widgets.core import units
from dkist_widgets.core.model import DatasetModel
from dkist_widgets.panels.header_explorer import HeaderExplorer
from tests.helpers.header_samples import visp_dataset


def _numpy_r0_at_least(ds, value):
    """Frame ids (header rows) with ATMOS_R0 >= value; masked r0 is not >= anything."""
    return np.flatnonzero(np.ma.filled(np.ma.asarray(ds.headers["ATMOS_R0"], float) >= value, False))


def _type_threshold(explorer, text_value):
    """What a person does: pick "keep ≥", then type the number in the box."""
    explorer.threshold_mode.value = ">="
    explorer.threshold_text.value = text_value


def test_the_convention_is_metres_rounded_to_the_millimetre():
    assert units.R0_DISPLAY_UNIT == "m" and units.R0_DISPLAY_SCALE == 1.0
    assert units.r0_label() == "r0 (m)" and units.r0_decimals() == 3
    assert units.r0_text(0.08213) == "0.082 m" and units.r0_text(0.0805, unit=False) in ("0.080", "0.081")
    assert units.r0_text(0.08) == "0.080 m" and units.r0_rounded(0.12345) == 0.123
    assert units.r0_text(None) == units.r0_text(float("nan")) == units.r0_text("x") == "—"
    assert units.r0_from_display(0.08) == 0.08 == units.r0_to_display(0.08)


def test_typing_0_08_selects_what_numpy_selects_single_stokes():
    """One Stokes state (VBI-like): the box's 0.08 is exactly ATMOS_R0 >= 0.08."""
    ds = visp_dataset(300, n_stokes=1, seed=5)
    explorer = HeaderExplorer(DatasetModel(ds, refresh_local=False))
    _type_threshold(explorer, 0.08)
    expected = _numpy_r0_at_least(ds, 0.08)
    assert 0 < expected.size < len(ds.headers)  # the oracle discriminates: neither none nor all
    np.testing.assert_array_equal(explorer.model.selected_frames, expected)
    assert explorer.state.threshold == 0.08 and explorer.threshold_unit.value == "m"


def test_typing_0_08_selects_what_numpy_selects_every_stokes_state():
    """Four Stokes states: with every state ticked and "all Stokes at those times" off, the
    threshold is ATMOS_R0 >= 0.08 over the whole header table."""
    ds = visp_dataset(150, seed=11)
    explorer = HeaderExplorer(DatasetModel(ds, refresh_local=False))
    for box in explorer.controls.stokes_checks.values():
        box.value = True
    explorer.all_stokes.value = False
    _type_threshold(explorer, 0.08)
    expected = _numpy_r0_at_least(ds, 0.08)
    assert 0 < expected.size < len(ds.headers)
    np.testing.assert_array_equal(explorer.model.selected_frames, expected)


@pytest.fixture(scope="module")
def explorer():
    return HeaderExplorer(DatasetModel(visp_dataset(120, seed=3), refresh_local=False))


def test_every_r0_text_of_the_explorer_names_metres(explorer):
    explorer.clear()
    assert explorer.y_axis.label == "ATMOS_R0 [m]"
    assert "plotted and typed in m" in explorer.key_info.value
    # the box starts at the median r0 rounded to the millimetre: what it shows is what is in force
    median = float(np.nanmedian(np.ma.filled(np.ma.asarray(explorer.model.headers["ATMOS_R0"], float), np.nan)))
    assert explorer.threshold_text.value == round(median, 3) == explorer.state.threshold
    _type_threshold(explorer, 0.08)
    assert "ATMOS_R0 ≥ 0.080 m" in explorer.recipe.value
    # the code shown says the recipe in metres and slices like dkist
    assert "# ATMOS_R0 ≥ 0.080 m" in explorer.code.value and "ds[" in explorer.code.value
    frame = int(explorer.model.selected_frames[0])
    explorer.mark_frame(frame)
    r0 = float(explorer.model.headers["ATMOS_R0"][frame])
    assert re.search(rf"ATMOS_R0 = {r0:.3f} m\b", explorer.row_info.value), explorer.row_info.value


def test_a_dragged_handle_lands_on_a_millimetre(explorer):
    explorer.clear()
    explorer.threshold_handle.y = np.array([0.07349])  # where a mouse lets go
    assert explorer.state.threshold == 0.073 and explorer.threshold_text.value == 0.073
    np.testing.assert_array_equal(
        explorer.model.selected_frames,
        explorer.table.expand_stokes(
            np.intersect1d(_numpy_r0_at_least(explorer.model.dataset, 0.073), explorer.table.stokes.frames(["I"]))
        ),
    )
