"""The one way numbers are written for people: decimal bytes, durations, percentages."""

from __future__ import annotations

import pytest

from dkist_widgets.core.formatting import human_bytes, human_duration, percent


@pytest.mark.parametrize(
    ("part", "whole", "text"),
    [
        (0, 80, "0%"),
        (10, 80, "12.5%"),  # not "12%": the slice builder's bar rounded half to even
        (80, 400, "20.0%"),
        (1, 1_000_000, "<0.1%"),  # one file of a million is not "0%"
        (999_999, 1_000_000, ">99.9%"),  # nor is all but one "100%"
        (400, 400, "100%"),
        (5, 0, "0%"),
    ],
)
def test_percent_never_says_none_or_all_when_it_is_not(part, whole, text):
    assert percent(part, whole) == text


def test_bytes_are_decimal_and_durations_plain():
    assert human_bytes(999) == "999 B"
    assert human_bytes(33_400_000) == "33.4 MB"
    assert human_bytes(1_000) == "1.0 kB"
    assert human_duration(185) == "3 min 05 s"
