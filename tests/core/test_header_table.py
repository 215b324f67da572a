"""core.header_table against independent computations on the astropy Table."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.table import MaskedColumn, Table
from astropy.time import Time
from hypothesis import given, settings
from hypothesis import strategies as st

from dkist_widgets.core.header_table import (
    FRAME_COLUMN,
    HeaderTable,
    MissingKeyError,
    catalogue_problem,
    decimate_minmax,
    describe_key,
    longest_true_run,
)
from tests.helpers.header_samples import synthetic_visp_headers

N_STEPS = 300


@pytest.fixture(scope="module")
def headers():
    return synthetic_visp_headers(N_STEPS, seed=3)


@pytest.fixture(scope="module")
def table(headers):
    return HeaderTable(headers)


def _r0_oracle(headers):
    col = headers["ATMOS_R0"]
    return np.where(col.mask, np.nan, col.data.data)


def test_numeric_masked_is_nan_and_bools_are_numbers(headers, table):
    r0 = table.numeric("ATMOS_R0")
    assert np.isnan(r0).sum() == headers["ATMOS_R0"].mask.sum() > 0
    np.testing.assert_array_equal(r0, _r0_oracle(headers))
    np.testing.assert_array_equal(table.numeric("AO_LOCK"), np.asarray(headers["AO_LOCK"], dtype=float))
    assert table.is_numeric("ATMOS_R0") and table.is_numeric("AO_LOCK") and not table.is_numeric("OBJECT")
    strings = HeaderTable(Table({"A": ["True", "false", "2.5", "nope", ""]}))
    np.testing.assert_array_equal(strings.numeric("A"), [1.0, 0.0, 2.5, np.nan, np.nan])


def test_time_axis_matches_astropy(headers, table):
    assert table.time.source == "DATE-AVG" and table.time.message == ""
    times = Time(list(headers["DATE-AVG"]), format="isot", scale="utc")
    expected = (times - times.min()).sec
    np.testing.assert_allclose(table.time.values, expected, atol=1e-6)
    # bounds given as ISO strings and astropy Time land on the same axis value
    iso = str(headers["DATE-AVG"][17])
    assert table.time.to_axis(iso) == pytest.approx(expected[17], abs=1e-6)
    assert table.time.to_axis(Time(iso)) == pytest.approx(expected[17], abs=1e-6)


def test_time_falls_back_with_a_message(headers):
    no_avg = HeaderTable(headers[[k for k in headers.colnames if k != "DATE-AVG"]])
    assert no_avg.time.source == "DATE-BEG" and "DATE-AVG is absent" in no_avg.time.message
    neither = HeaderTable(headers[[k for k in headers.colnames if not k.startswith("DATE")]])
    assert neither.time.source == "frame" and not neither.time.is_time
    assert "DATE-AVG is absent" in neither.time.message and "DATE-BEG is absent" in neither.time.message
    np.testing.assert_array_equal(neither.time.values, np.arange(len(headers)))
    with pytest.raises(ValueError, match="frame number"):
        neither.time.to_axis("2023-05-01T17:00:00")
    bad = Table(
        {"DATE-AVG": MaskedColumn(["2023-01-01T00:00:01", "garbage", "2023-01-01T00:00:03"], mask=[False, False, True])}
    )
    axis = HeaderTable(bad).time
    np.testing.assert_array_equal(axis.values, [0.0, np.nan, np.nan])
    assert "2 frames have no readable DATE-AVG" in axis.message


@pytest.mark.parametrize("base", [0, 1])
def test_stokes_from_dindex4_either_base(base):
    headers = synthetic_visp_headers(10, seed=1, dindex_base=base)
    stokes = HeaderTable(headers).stokes
    assert stokes.source == "DINDEX4" and stokes.names == ("I", "Q", "U", "V")
    np.testing.assert_array_equal(stokes.codes, np.asarray(headers["DINDEX4"]) - base)
    assert ("0-based" in stokes.message) == (base == 0)
    np.testing.assert_array_equal(stokes.frames("Q"), np.flatnonzero(np.asarray(headers["DINDEX4"]) == 1 + base))


def test_stokes_other_sources(headers):
    by_grid = HeaderTable(headers, grid_shape=(4, N_STEPS), stokes_axis=0).stokes
    np.testing.assert_array_equal(by_grid.codes, HeaderTable(headers).stokes.codes)
    assert "file grid" in by_grid.source
    not_visp = headers.copy()
    not_visp["INSTRUME"] = "VBI"
    single = HeaderTable(not_visp).stokes
    assert single.names == ("all",) and "only for VISP" in single.message
    with pytest.raises(ValueError, match="unknown Stokes state 'Q'"):
        single.frames("Q")


def test_frames_where_matches_numpy(headers, table):
    r0 = _r0_oracle(headers)
    dindex4 = np.asarray(headers["DINDEX4"])
    with np.errstate(invalid="ignore"):
        expected = np.flatnonzero((r0 >= 0.07) & (r0 <= 0.2))
        np.testing.assert_array_equal(table.frames_where("ATMOS_R0", 0.07, 0.2), expected)
        np.testing.assert_array_equal(
            table.frames_where("ATMOS_R0", min=0.07, stokes="I"), np.flatnonzero((r0 >= 0.07) & (dindex4 == 1))
        )
    # masked frames never qualify, even with no bounds
    np.testing.assert_array_equal(table.frames_where("ATMOS_R0"), np.flatnonzero(~headers["ATMOS_R0"].mask))
    with pytest.raises(MissingKeyError, match="'ATMOS_R1' is not in this dataset's headers"):
        table.frames_where("ATMOS_R1", 0.1)


def test_intervals_complement_and_expand(headers, table):
    times = Time(list(headers["DATE-AVG"]))
    lo, hi = headers["DATE-AVG"][40], headers["DATE-AVG"][90]
    inside = (times >= Time(lo)) & (times <= Time(hi))
    got = table.frames_in_intervals([(hi, lo)])  # bounds in any order
    np.testing.assert_array_equal(got, np.flatnonzero(inside))
    two = table.frames_in_intervals([(0, 10), (100, 110)])
    t = table.time.values
    np.testing.assert_array_equal(two, np.flatnonzero(((t >= 0) & (t <= 10)) | ((t >= 100) & (t <= 110))))
    only_i = table.frames_in_intervals([(lo, hi)], within=table.stokes.frames("I"))
    assert set(only_i) == set(np.flatnonzero(inside & (np.asarray(headers["DINDEX4"]) == 1)))
    comp = table.complement(only_i)
    assert len(comp) + len(only_i) == len(headers) and not set(comp) & set(only_i)
    # expanding the Stokes I frames gives back all four states at those times, by grid and by time
    by_time = table.expand_stokes(only_i)
    by_grid = HeaderTable(headers, grid_shape=(4, N_STEPS), stokes_axis=0).expand_stokes(only_i)
    np.testing.assert_array_equal(by_time, np.flatnonzero(inside))
    np.testing.assert_array_equal(by_grid, by_time)


def _longest_run_oracle(order, member):
    best, best_start, run, start = 0, 0, 0, 0
    for pos, frame in enumerate(order):
        if member[frame]:
            if run == 0:
                start = pos
            run += 1
            if run > best:
                best, best_start = run, start
        else:
            run = 0
    return sorted(order[best_start : best_start + best]) if best else []


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 40), st.booleans()), min_size=0, max_size=60))
def test_longest_run_walks_time_order(rows):
    times = np.array([r[0] for r in rows], dtype=np.int64)  # ms; repeats are ties
    good = np.array([r[1] for r in rows], dtype=bool)
    iso = np.datetime_as_string(
        np.datetime64("2023-01-01T00:00:00", "us") + (times * 1000).astype("timedelta64[us]"), unit="us"
    )
    table = HeaderTable(
        Table({"DATE-AVG": iso, "GOOD": good}) if rows else Table({"DATE-AVG": np.array([], dtype="U26"), "GOOD": good})
    )
    got = table.longest_run(np.flatnonzero(good))
    order = np.argsort(times, kind="stable")
    assert got.tolist() == _longest_run_oracle(order, good)


def test_longest_true_run_edges():
    assert longest_true_run(np.array([], dtype=bool)) == (0, 0)
    assert longest_true_run(np.array([1, 1, 0, 1, 1], dtype=bool)) == (0, 2)  # earliest on ties
    assert longest_true_run(np.array([0, 1, 1, 1], dtype=bool)) == (1, 4)


def test_longest_run_restricted_to_stokes_i(headers, table):
    within = table.stokes.frames("I")
    good = table.frames_where("ATMOS_R0", min=0.06)
    run = table.longest_run(good, within=within)
    assert run.size > 1 and np.all(np.asarray(headers["DINDEX4"])[run] == 1)
    r0 = _r0_oracle(headers)
    assert np.all(r0[run] >= 0.06)
    # the frames just before and after the run (in time order among Stokes I) fail the criterion
    walk = within[np.argsort(table.time.values[within], kind="stable")]
    pos = np.flatnonzero(np.isin(walk, run))
    assert np.all(np.diff(pos) == 1)
    for neighbour in (pos[0] - 1, pos[-1] + 1):
        if 0 <= neighbour < walk.size:
            assert not r0[walk[neighbour]] >= 0.06


def test_decimation_keeps_extremes_gaps_and_bounds():
    rng = np.random.default_rng(5)
    n = 200_000
    x = np.sort(rng.uniform(0, 1000, n))
    y = rng.normal(0, 1, n)
    y[12345] = 50.0  # a spike
    y[54321] = -40.0  # a dip
    gap = (x > 400) & (x < 420)  # a masked stretch spanning many bins
    y[gap] = np.nan
    xd, yd = decimate_minmax(x, y, n_bins=500)
    assert xd.size <= 1500
    assert np.nanmax(yd) == 50.0 and np.nanmin(yd) == -40.0
    in_gap = (xd > 402) & (xd < 418)
    assert not np.isfinite(yd[in_gap]).any()  # nothing drawn inside the masked stretch ...
    before = np.flatnonzero(np.isfinite(yd) & (xd < 402))[-1]
    after = np.flatnonzero(np.isfinite(yd) & (xd > 418))[0]
    assert np.isnan(yd[before + 1 : after]).any()  # ... and the line is broken across it
    assert not np.isnan(yd[(xd > 100) & (xd < 300)]).any()  # no gap where all values are valid
    assert np.all(np.diff(xd) >= 0)
    short_x, short_y = decimate_minmax(x[:900], y[:900], n_bins=500)
    np.testing.assert_array_equal(short_x, x[:900])
    np.testing.assert_array_equal(short_y, y[:900])


def test_unlocked_spans_cover_exactly_the_unlocked_frames(headers, table):
    spans = table.unlocked_spans()
    t = table.time.values
    lock = np.asarray(headers["AO_LOCK"])
    assert len(spans) > 0
    covered = np.zeros(len(t), dtype=bool)
    for lo, hi in spans:
        covered |= (t >= lo) & (t <= hi)
    np.testing.assert_array_equal(covered, ~lock)
    assert len(table.unlocked_spans(min_gap=1e9)) == 1
    assert HeaderTable(headers[["DATE-AVG"]]).unlocked_spans().shape == (0, 2)


def test_key_catalogue():
    assert catalogue_problem() == ""
    r0 = describe_key("ATMOS_R0")
    assert r0.units == "m" and "Fried" in r0.description
    d4 = describe_key("DINDEX4")
    assert d4.pattern == "DINDEX<k>" and d4.key == "DINDEX4"
    assert describe_key("PC1_2").pattern == "PC<i>_<j>"
    assert describe_key("NOT_A_KEY") is None
    assert describe_key("DINDEX") is None  # a template needs its number


def test_frame_table(headers, table):
    ids = np.array([3, 7, 500, 1100])
    frame = table.frame_table(["DATE-AVG", "ATMOS_R0", "AO_LOCK", "DINDEX4", "OBJECT", "NOPE"], ids)
    assert list(frame.columns) == [FRAME_COLUMN, "DATE-AVG", "ATMOS_R0", "AO_LOCK", "DINDEX4", "OBJECT"]
    np.testing.assert_array_equal(frame[FRAME_COLUMN], ids)
    np.testing.assert_array_equal(frame["ATMOS_R0"].to_numpy(), _r0_oracle(headers)[ids])
    assert frame["DINDEX4"].dtype.kind == "i"
    assert list(frame["DATE-AVG"]) == [str(headers["DATE-AVG"][i]) for i in ids]


def test_no_headers_is_a_clear_error():
    with pytest.raises(ValueError, match="no header table"):
        HeaderTable(None)


def test_grid_rows_from_columns_match_pandas():
    """The explorer's table rows (HeaderTable.rows, no DataFrame) against pandas over the
    astropy Table: first window, sorts both ways (missing last, ties in frame order),
    filters with a sort, and the text of a window."""
    import pandas as pd

    from dkist_widgets.core.table_view import TableView

    headers = synthetic_visp_headers(1000, seed=5)  # 4,000 frames
    dindex3 = MaskedColumn(np.asarray(headers["DINDEX3"]), mask=np.arange(len(headers)) % 97 == 0)
    headers.replace_column("DINDEX3", dindex3)  # a masked integer column: shown as float, sorted missing last
    keys = ["DATE-AVG", "ATMOS_R0", "AO_LOCK", "OOBSHIFT", "DINDEX3", "DINDEX4", "OBJECT"]
    table = HeaderTable(headers)
    oracle = pd.DataFrame(
        {
            FRAME_COLUMN: np.arange(len(headers)),
            **{k: np.ma.filled(np.ma.asarray(headers[k], dtype=float), np.nan) for k in keys[1:6]},
            "DATE-AVG": np.asarray(headers["DATE-AVG"], dtype=str),
            "OBJECT": np.asarray(headers["OBJECT"], dtype=str),
        }
    )
    view = TableView(table.rows(keys))
    assert view.columns == [FRAME_COLUMN, *keys] and view.n_rows == len(headers)
    window = view.source.to_frame(view.order[:60])
    for key in keys:
        np.testing.assert_array_equal(window[key].to_numpy(), oracle[key].to_numpy()[:60], err_msg=key)
    assert window["DINDEX4"].dtype.kind == "i" and window["DINDEX3"].dtype.kind == "f"
    assert window["AO_LOCK"].dtype.kind == "b"

    def pandas_order(frame, key, descending):
        return frame.sort_values(key, ascending=not descending, kind="stable", na_position="last")[FRAME_COLUMN]

    for key in ("ATMOS_R0", "DINDEX3", "DINDEX4", "DATE-AVG", FRAME_COLUMN):
        for descending in (False, True):
            view.set_sort(key, descending)
            expected = pandas_order(oracle, key, descending).to_numpy()
            np.testing.assert_array_equal(view.frames(), expected, err_msg=f"{key} {descending}")
    # sort orders are the table's, computed once per key and direction
    assert table.sort_order("ATMOS_R0", True) is table.sort_order("ATMOS_R0", True)
    view.set_filters({"ATMOS_R0": ">0.08", "DATE-AVG": "T17:1"})
    view.set_sort("ATMOS_R0", True)
    kept = oracle[(oracle["ATMOS_R0"] > 0.08) & oracle["DATE-AVG"].str.contains("T17:1")]
    assert 0 < view.n_rows < len(headers)
    np.testing.assert_array_equal(view.frames(), pandas_order(kept, "ATMOS_R0", True).to_numpy())
    first = view.rows_text(0, 3)
    row = kept.loc[first_frame := int(first[0][0])]
    assert first_frame == pandas_order(kept, "ATMOS_R0", True).iloc[0]
    assert first[0][1] == row["DATE-AVG"] and first[0][2] == f"{row['ATMOS_R0']:.6g}"
