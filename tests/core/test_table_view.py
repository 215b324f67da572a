"""The header table's kernel-side view (core.table_view) and its widget (panels.frame_table).

Oracle: plain pandas operations on the same DataFrame.
"""

import json

import numpy as np
import pandas as pd
import pytest

from dkist_widgets.core.table_view import FilterError, TableView, parse_numeric_filter


@pytest.fixture
def frame():
    rng = np.random.default_rng(3)
    n = 500
    r0 = rng.uniform(0.02, 0.2, n)
    r0[rng.choice(n, 40, replace=False)] = np.nan
    return pd.DataFrame(
        {
            "frame": np.arange(n),
            "DATE-AVG": [f"2026-11-23T10:{i // 60:02d}:{i % 60:02d}" for i in range(n)],
            "ATMOS_R0": r0,
            "DINDEX4": np.arange(n) % 4 + 1,
            "AO_LOCK": np.arange(n) % 7 != 0,
        }
    )


def test_numeric_filters_match_pandas(frame):
    view = TableView(frame)
    cases = {
        ">0.1": frame["ATMOS_R0"] > 0.1,
        ">= 0.1, <0.15": (frame["ATMOS_R0"] >= 0.1) & (frame["ATMOS_R0"] < 0.15),
        "0.15..0.05": frame["ATMOS_R0"].between(0.05, 0.15),
        "nan": frame["ATMOS_R0"].isna(),
    }
    for text, expected in cases.items():
        view.set_filters({"ATMOS_R0": text})
        np.testing.assert_array_equal(view.frames(), frame["frame"][expected].to_numpy(), err_msg=text)
    view.set_filters({"DINDEX4": "1", "AO_LOCK": "=1"})
    expected = (frame["DINDEX4"] == 1) & frame["AO_LOCK"]
    np.testing.assert_array_equal(view.frames(), frame["frame"][expected].to_numpy())
    view.set_filters({"DATE-AVG": "T10:03:"})
    np.testing.assert_array_equal(view.frames(), np.arange(180, 240))


def test_bad_filter_is_named_and_ignored(frame):
    view = TableView(frame)
    view.set_filters({"ATMOS_R0": "good seeing <script>", "DINDEX4": "=2"})
    np.testing.assert_array_equal(view.frames(), frame["frame"][frame["DINDEX4"] == 2].to_numpy())
    assert "not a number condition" in view.problems["ATMOS_R0"]
    with pytest.raises(FilterError):
        parse_numeric_filter(">>1")


def test_sort_is_stable_with_missing_last(frame):
    view = TableView(frame)
    view.set_sort("ATMOS_R0", descending=True)
    order = view.frames()
    expected = frame.sort_values("ATMOS_R0", ascending=False, kind="stable", na_position="last")["frame"]
    np.testing.assert_array_equal(order, expected.to_numpy())
    view.set_sort("DINDEX4")  # ties keep frame order
    expected = frame.sort_values("DINDEX4", kind="stable")["frame"]
    np.testing.assert_array_equal(view.frames(), expected.to_numpy())
    view.set_sort("DATE-AVG", descending=True)
    assert view.frames()[0] == 499
    with pytest.raises(KeyError, match="no column"):
        view.set_sort("NOPE")


def test_rows_text_and_mask(frame):
    view = TableView(frame)
    mask = np.zeros(len(frame), bool)
    mask[[5, 7, 9]] = True
    view.set_row_mask(mask)
    view.set_sort("frame", descending=True)
    rows = view.rows_text(0, 10)
    assert [r[0] for r in rows] == ["9", "7", "5"]
    nan_row = int(np.flatnonzero(frame["ATMOS_R0"].isna())[0])
    view.set_row_mask(None)
    view.set_sort(None)
    text = view.rows_text(nan_row, nan_row + 1)[0]
    assert text[2] == "—" and text[4] in ("true", "false")
    assert view.position_of_frame(nan_row) == nan_row


def test_frame_table_sends_only_a_window_at_a_million_rows():
    from dkist_widgets.panels.frame_table import WINDOW_ROWS, FrameTable

    n = 1_000_000
    frame = pd.DataFrame({"frame": np.arange(n), "ATMOS_R0": np.linspace(0.01, 0.2, n)})
    table = FrameTable(frame)
    state = table.get_state()
    assert len(state["rows"]) == WINDOW_ROWS and state["n_rows"] == n
    assert len(json.dumps({k: v for k, v in state.items() if k != "_esm"})) < 20_000
    table.window_start = 500_000  # the browser scrolled half way
    assert table.rows_start == 500_000 and table.rows[0][0] == "500000"
    table.filters = {"ATMOS_R0": ">0.19"}
    expected = int((frame["ATMOS_R0"] > 0.19).sum())
    assert table.n_rows == expected and table.rows_start == 0
    clicked = []
    table.on_click(clicked.append)
    table._on_message(table, {"type": "click", "frame": int(table.rows[3][0])}, [])
    table._on_message(table, {"type": "click", "frame": "<b>"}, [])  # garbage: ignored
    table._on_message(table, {"type": "click", "frame": n + 5}, [])  # not a row: ignored
    assert clicked == [int(table.view_frames(3, 4)[0])]
    table.filters = {"ATMOS_R0": "best"}
    assert "filter on ATMOS_R0" in table.problem and table.n_rows == n
