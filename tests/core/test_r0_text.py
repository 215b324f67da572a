"""r0 as text (issue 14.4): rounded to a millimetre in the display unit, unit named;
the expected text is computed through core.units, so it holds in any display unit."""

from __future__ import annotations

import math

import pytest

from dkist_widgets.core.units import R0_DISPLAY_UNIT, r0_decimals, r0_rounded, r0_text, r0_to_display


def test_one_millimetre_sets_the_decimals():
    step = r0_to_display(0.001)
    assert 10 ** -r0_decimals() == pytest.approx(step)  # m: 3 decimals, cm: 1


@pytest.mark.parametrize("metres", [0.0821234567891234, 0.1, 0.0049, 0.29999])
def test_text_is_rounded_and_names_the_unit(metres):
    text = r0_text(metres)
    number, unit = text.split(" ")
    assert unit == R0_DISPLAY_UNIT
    assert len(number.split(".")[-1]) == r0_decimals()
    assert float(number) == pytest.approx(r0_to_display(metres), abs=0.5 * 10 ** -r0_decimals() + 1e-12)
    assert len(number) <= 6  # never 17 digits


@pytest.mark.parametrize("value", [None, "", "abc", float("nan"), math.inf, True, [0.1], {}])
def test_values_that_are_not_numbers_give_a_dash(value):
    assert r0_rounded(value) is None
    assert r0_text(value) == "—"
