"""HeaderExplorer in the kernel: plot, brush, threshold, table, summary — checked against
independent computations on the header Table and against dkist's own file lists."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
from astropy.time import Time

from dkist_widgets.core.model import DatasetModel
from dkist_widgets.panels.header_explorer import HeaderExplorer
from tests.helpers.dkist_samples import load
from tests.helpers.header_samples import visp_dataset

N_STEPS = 120


@pytest.fixture
def ds():
    return visp_dataset(N_STEPS, seed=11)


@pytest.fixture
def explorer(ds):
    return HeaderExplorer(DatasetModel(ds, refresh_local=False))


def _times(ds):
    return Time(list(ds.headers["DATE-AVG"]))


def _r0(ds):
    col = ds.headers["ATMOS_R0"]
    return np.where(col.mask, np.nan, col.data.data)


def _stokes(ds):
    return np.asarray(ds.headers["DINDEX4"]) - 1


def _summary_number(explorer, testid):
    match = re.search(rf"data-testid='{testid}'>([^<]*)<", explorer.summary.value)
    assert match, explorer.summary.value
    return match.group(1)


def _dkist_files(ds, model, ids):
    """Files of the frames by dkist itself: the union of ds[item].files over the covering slices."""
    cover = model.slices_for_frames(ids)
    names = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for item in cover.items:
            names.extend(ds[item].files.filenames)
    return names


def test_default_plot_is_stokes_i_r0_in_metres_with_gaps(ds, explorer):
    # issue 14.4: r0 is drawn in metres, as the headers and the notebook hold it, and the axis says so
    assert explorer.key == "ATMOS_R0" and explorer.shown_stokes == ["I"]
    assert explorer.y_axis.label == "ATMOS_R0 [m]" and explorer.threshold_unit.value == "m"
    assert explorer.series_marks["I"].visible and not explorer.series_marks["Q"].visible
    stokes_i = np.flatnonzero(_stokes(ds) == 0)
    order = stokes_i[np.argsort(_times(ds)[stokes_i].jd, kind="stable")]
    expected = _r0(ds)[order]  # metres: drawn as the headers hold them
    finite = np.flatnonzero(np.isfinite(expected))
    expected = expected[finite[0] : finite[-1] + 1]  # leading/trailing masked frames are not drawn
    np.testing.assert_allclose(explorer.series_marks["I"].y, expected)  # short series: not decimated
    assert np.isnan(explorer.series_marks["I"].y).sum() == np.isnan(expected).sum() > 0  # masked -> gaps
    # AO-unlocked spans drawn: one rectangle per unlocked stretch of Stokes I frames
    lock = np.asarray(ds.headers["AO_LOCK"])[order]
    stretches = np.count_nonzero(np.diff(np.concatenate([[1], lock.astype(int)])) == -1)
    assert len(explorer.unlocked_mark.x) == stretches > 0


def test_brush_release_selects_interval_and_counts_files(ds, explorer):
    model = explorer.model
    times = _times(ds)
    lo, hi = np.datetime64(str(ds.headers["DATE-AVG"][20])), np.datetime64(str(ds.headers["DATE-AVG"][55]))
    # what the browser does: selected moves while brushing, the explorer acts on release
    explorer.brush.brushing = True
    explorer.brush.selected = np.array([lo, hi])
    assert model.n_selected == 0
    explorer.brush.brushing = False
    inside = (times >= Time(str(lo))) & (times <= Time(str(hi)))
    expected = np.flatnonzero(inside)  # all Stokes states at those times (default)
    np.testing.assert_array_equal(model.selected_frames, expected)
    assert model.selection_source == "header_explorer"
    files = len(set(np.asarray(ds.files.filenames)[expected]))
    assert int(_summary_number(explorer, "files")) == files == len(_dkist_files(ds, model, expected))
    assert sorted(_dkist_files(ds, model, expected)) == sorted(model.files_for_frames(expected))
    assert _summary_number(explorer, "fraction") == f"{len(expected) / len(ds.headers):.1%}"
    # the selected frames are highlighted in the plot
    assert np.isfinite(explorer.selected_mark.y).sum() == np.count_nonzero(
        inside & (_stokes(ds) == 0) & ~np.isnan(_r0(ds))
    )


def test_two_intervals_threshold_and_or_invert(ds, explorer):
    model = explorer.model
    t = explorer.table.time.values
    r0 = _r0(ds)
    stokes_i = _stokes(ds) == 0
    explorer.add_intervals.value = True
    explorer.all_stokes.value = False
    explorer.brush_interval(0, 30)
    explorer.brush_interval(100, 150)
    in_brush = stokes_i & (((t >= 0) & (t <= 30)) | ((t >= 100) & (t <= 150)))
    np.testing.assert_array_equal(model.selected_frames, np.flatnonzero(in_brush))
    assert len(explorer.intervals_mark.x) == 2
    # drag the threshold handle to 0.06 m (the browser sets y on release; r0 is drawn in metres)
    explorer.threshold_handle.y = np.array([0.0603])  # a mouse position: rounded to the millimetre
    assert explorer.threshold_mode.value == ">=" and explorer.threshold_text.value == 0.06
    with np.errstate(invalid="ignore"):
        good = stokes_i & (r0 >= 0.06)
    np.testing.assert_array_equal(model.selected_frames, np.flatnonzero(in_brush & good))
    explorer.combine.value = "or"
    np.testing.assert_array_equal(model.selected_frames, np.flatnonzero(in_brush | good))
    explorer.combine.value = "and"
    explorer.invert_button.value = True
    np.testing.assert_array_equal(model.selected_frames, np.flatnonzero(stokes_i & ~(in_brush & good)))
    explorer.clear()
    assert model.n_selected == 0 and explorer.intervals == [] and explorer.threshold_mode.value == "off"


def test_longest_good_run_button_and_api_agree(ds, explorer):
    model = explorer.model
    r0 = _r0(ds)
    explorer.set_threshold(0.05)
    explorer.longest_button.value = True
    via_ui = model.selected_frames.copy()
    via_api = explorer.longest_good_run(min=0.05)
    np.testing.assert_array_equal(via_ui, via_api)
    # oracle: walk Stokes I frames in time order, find the longest stretch with r0 >= 0.05
    stokes_i = np.flatnonzero(_stokes(ds) == 0)
    walk = stokes_i[np.argsort(_times(ds)[stokes_i].jd, kind="stable")]
    with np.errstate(invalid="ignore"):
        ok = r0[walk] >= 0.05
    best = (0, 0)
    start = None
    for pos, flag in enumerate(list(ok) + [False]):
        if flag and start is None:
            start = pos
        if not flag and start is not None:
            if pos - start > best[1] - best[0]:
                best = (start, pos)
            start = None
    run = np.sort(walk[best[0] : best[1]])
    steps = np.asarray(ds.headers["DINDEX3"])
    expected = np.flatnonzero(np.isin(steps, steps[run]))  # all Stokes at those steps
    np.testing.assert_array_equal(via_api, expected)


def test_select_where_and_time_range_api(ds, explorer):
    model = explorer.model
    r0 = _r0(ds)
    with np.errstate(invalid="ignore"):
        expected = np.flatnonzero((r0 >= 0.04) & (r0 <= 0.1))
    np.testing.assert_array_equal(explorer.select_where("ATMOS_R0", min=0.04, max=0.1), expected)
    np.testing.assert_array_equal(model.selected_frames, expected)
    only_v = explorer.select_where("ATMOS_R0", min=0.04, stokes="V", mode="intersect")
    np.testing.assert_array_equal(only_v, expected[_stokes(ds)[expected] == 3])
    t0, t1 = str(ds.headers["DATE-AVG"][5]), str(ds.headers["DATE-AVG"][9])
    got = explorer.select_time_range(t0, t1)
    times = _times(ds)
    np.testing.assert_array_equal(got, np.flatnonzero((times >= Time(t0)) & (times <= Time(t1))))
    inverted = explorer.invert_selection()
    assert len(inverted) == len(ds.headers) - len(got) and not set(inverted) & set(got)
    with pytest.raises(KeyError, match="'NOPE' is not in this dataset's headers"):
        explorer.select_where("NOPE", min=1)


def test_table_click_maps_through_frame_column_after_sort(ds, explorer):
    grid = explorer.grid
    assert grid.n_rows == len(ds.headers)
    grid.sort = ["ATMOS_R0", True]  # what a second click on the header sends
    best = int(np.nanargmax(_r0(ds)))
    assert grid.rows[0][0] == str(best)  # the first row shown is the best seeing
    assert grid.click_row(0) == best
    assert explorer._marked_frame == best and grid.marked_frame == best
    assert explorer.marker_mark.visible
    assert np.datetime64(explorer.marker_mark.x[0], "us") == np.datetime64(str(ds.headers["DATE-AVG"][best]), "us")
    assert (
        f"frame {best}" in explorer.row_info.value and np.asarray(ds.files.filenames)[best] in explorer.row_info.value
    )


def test_other_panels_selection_is_reflected(ds, explorer):
    model = explorer.model
    model.select_frames(np.arange(40, 80), source="file_map")
    assert "file_map" in explorer.status.value
    assert int(_summary_number(explorer, "frames")) == 40
    np.testing.assert_array_equal(np.flatnonzero(explorer.grid.selected), np.arange(40, 80))
    assert explorer.grid.selected_rows[:3] == [False, False, False]  # rows 0.. of the table
    explorer.only_selected.value = True
    assert explorer.grid.n_rows == 40 and all(explorer.grid.selected_rows)
    np.testing.assert_array_equal(explorer._grid_frame["frame"].to_numpy(), np.arange(40, 80))


def test_missing_keys_leave_a_usable_explorer():
    ds = visp_dataset(30, seed=2, drop=("ATMOS_R0", "DATE-AVG", "DATE-BEG", "DINDEX4"))
    explorer = HeaderExplorer(DatasetModel(ds, refresh_local=False))
    status = explorer.status.value
    assert "ATMOS_R0 is not in these headers" in status
    assert "DATE-AVG is absent" in status and "frame number" in status
    assert explorer.x == "frame" and explorer.x_toggle.disabled
    assert explorer.key is not None and explorer.key != "ATMOS_R0"
    # Stokes comes from the file grid's Stokes axis even without DINDEX4
    assert explorer.table.stokes.names == ("I", "Q", "U", "V")
    ids = explorer.brush_interval(2, 5)
    expected = np.flatnonzero(np.isin(np.arange(120) % 30, [2, 3, 4, 5]))
    np.testing.assert_array_equal(ids, expected)
    with pytest.raises(KeyError, match="ATMOS_R0"):
        explorer.longest_good_run()


def test_headers_not_matching_files_is_explained():
    explorer = HeaderExplorer(DatasetModel(load("visp_no_headers"), refresh_local=False))
    assert "cannot be matched to files" in explorer.status.value
    with pytest.raises(ValueError, match="header rows do not match its files"):
        explorer.select_where("ATMOS_R0", min=0.1)


def test_html_in_headers_and_names_is_escaped():
    names = [f"<img src=x onerror=alert({i})>.fits" for i in range(4 * 10)]
    ds = visp_dataset(10, seed=4, names=names)
    ds.headers.replace_column("OBJECT", np.full(len(ds.headers), "<script>alert(1)</script>"))
    ds.meta["inventory"]["headerDocumentationUrl"] = "javascript:alert(1)"
    ds.headers["HEAD_URL"] = "https://docs.example/'><b>x</b>"
    explorer = HeaderExplorer(DatasetModel(ds, refresh_local=False))
    explorer.mark_frame(3)
    assert "<img" not in explorer.row_info.value and "&lt;img src=x" in explorer.row_info.value
    explorer.key_picker.value = "OBJECT"
    assert "not numeric" in explorer.status.value
    assert "OBJECT" in explorer._grid_keys
    info = explorer.key_info.value
    assert "javascript:" not in info and "<b>x</b>" not in info and "&#x27;&gt;&lt;b&gt;" in info
    # the key picker's options carry SPEC-0214 meanings, so one can search by meaning
    assert any(o.startswith("ATMOS_R0 [m] — ") and "Fried" in o for o in explorer.key_picker.options)


def test_key_picker_replots_and_real_dkist_test_data():
    ds = load("large_visp")  # dkist's own test data: 0-based DINDEX4, r0 not masked
    explorer = HeaderExplorer(DatasetModel(ds, refresh_local=False))
    # the file grid's Stokes axis wins over DINDEX4, and agrees with it
    assert "file grid" in explorer.table.stokes.source
    np.testing.assert_array_equal(explorer.table.stokes.codes, np.asarray(ds.headers["DINDEX4"]))
    option = next(o for o in explorer.key_picker.options if o.startswith("XPOSURE"))
    explorer.key_picker.value = option
    assert explorer.key == "XPOSURE" and explorer.y_axis.label.startswith("XPOSURE [ms]")
    explorer.set_stokes(["I", "V"])
    assert explorer.series_marks["V"].visible and not explorer.series_marks["Q"].visible
    ids = explorer.brush_interval(0, 60)
    assert len(set(np.asarray(ds.files.filenames)[ids])) == int(_summary_number(explorer, "files"))


def test_decimated_at_scale_and_summary_follows():
    ds = visp_dataset(25_000, seed=7, n_filler=0)  # 100k frames
    explorer = HeaderExplorer(DatasetModel(ds, refresh_local=False), n_bins=500)
    y = explorer.series_marks["I"].y
    assert len(y) <= 1500
    r0_i = _r0(ds)[_stokes(ds) == 0]  # metres
    assert np.nanmax(y) == pytest.approx(np.nanmax(r0_i)) and np.nanmin(y) == pytest.approx(np.nanmin(r0_i))
    ids = explorer.brush_interval(1000, 20000)
    t = explorer.table.time.values
    np.testing.assert_array_equal(ids, np.flatnonzero((t >= 1000) & (t <= 20000)))
    assert int(_summary_number(explorer, "files")) == len(set(np.asarray(ds.files.filenames)[ids]))


def test_table_shows_r0_as_the_plot_does_but_sorts_by_the_values(ds, explorer):
    """Issue 14.4: the table's r0 cells read in the display unit to the millimetre (as the
    plot and the threshold box do); sorting still uses the exact values (oracle: numpy)."""
    from dkist_widgets.core.units import r0_text

    grid = explorer.grid
    column = grid.columns.index("ATMOS_R0")
    raw = np.ma.filled(np.ma.asarray(ds.headers["ATMOS_R0"], float), np.nan)
    for row in grid.rows:
        frame = int(row[grid.columns.index("frame")])
        assert row[column] == r0_text(raw[frame], unit=False)
        assert row[column] == "—" or re.fullmatch(r"\d+\.\d{3}", row[column])
    grid.view.sort_column, grid.view.descending = "ATMOS_R0", True
    grid.view.invalidate()
    finite = np.flatnonzero(np.isfinite(raw))
    expected = finite[np.argsort(-raw[finite], kind="stable")][:20]
    assert np.array_equal(grid.view.frames(0, 20), expected)


def test_table_of_100k_lazily_opened_frames_reads_only_its_window(monkeypatch):
    """At 100k frames opened lazily the explorer's first table window is built from the
    columns: no all-rows DataFrame, no row beyond the window converted, and the columns
    only the table shows are not read whole. Sorting uses the shared table's cached order."""
    from dkist_widgets.core.dataset_files import open_dataset_file
    from dkist_widgets.core.header_table import HeaderTable
    from dkist_widgets.panels.frame_table import WINDOW_ROWS
    from tests.helpers.load_samples import headers_only_asdf

    path = headers_only_asdf(25_000)  # 4 x 25,000 = 100k frames
    ds = open_dataset_file(path)
    compact = ds.meta.header_columns
    asked: list[int] = []
    grid_values = HeaderTable.grid_values

    def counting(self, key, frame_ids):
        asked.append(np.asarray(frame_ids).size)
        return grid_values(self, key, frame_ids)

    def no_frame_table(*_args, **_kwargs):
        raise AssertionError("the explorer built a DataFrame of the header table")

    monkeypatch.setattr(HeaderTable, "grid_values", counting)
    monkeypatch.setattr(HeaderTable, "frame_table", no_frame_table)
    model = DatasetModel(ds, refresh_local=False)
    explorer = HeaderExplorer(model)
    grid = explorer.grid
    assert grid.n_rows == len(compact) == 100_000 and len(grid.rows) == WINDOW_ROWS
    assert asked and max(asked) <= WINDOW_ROWS  # rows converted: the window's only
    table_only = ["OOBSHIFT", "DINDEX3", "LIGHTLVL", "XPOSURE"]
    assert set(table_only) <= set(grid.columns)
    assert not [k for k in table_only if compact.is_loaded(k)]  # not inflated whole for a window
    # the window's text against the columns read whole from a second, independent open
    oracle = open_dataset_file(path).meta.header_columns
    for key in ("DATE-AVG", "DINDEX3", "OOBSHIFT"):
        column = grid.columns.index(key)
        values = np.asarray(oracle.arrays(key)[0][:WINDOW_ROWS]).astype(str)
        assert [row[column] for row in grid.rows] == list(values), key
    # sorting reads the column once; the order is the shared table's, reused by a second build
    grid.sort = ["DINDEX3", True]
    expected = np.lexsort((np.arange(100_000), -np.asarray(oracle.arrays("DINDEX3")[0])))[:WINDOW_ROWS]
    assert [int(row[0]) for row in grid.rows] == expected.tolist()
    again = HeaderExplorer(model)
    assert again.table is explorer.table
    assert again.table.sort_order("DINDEX3", True) is explorer.table.sort_order("DINDEX3", True)


def test_header_explorer_builds_few_widget_models(ds):
    # In a live kernel every widget model is a comm_open (its state as JSON, signed and
    # sent), a hop through the server, and a model, a view, style and layout work in the
    # browser, all before the panel paints: at a million frames that was a large part of
    # the paint. A first build made 133 models (a Layout and a Style per widget, a line
    # per Stokes state whether drawn or not, empty overlay marks); the parts now share
    # their looks and marks are made when first drawn. Four Stokes states here, as in
    # the 1M-frame benchmark.
    from ipywidgets.widgets.widget import _instances

    model = DatasetModel(ds, refresh_local=False)
    before = set(_instances)
    explorer = HeaderExplorer(model)
    made = [type(_instances[k]).__name__ for k in set(_instances) - before]
    assert len(explorer.table.stokes.names) == 4
    assert len(made) <= 80, sorted(made)
    # what was left out of the first build still answers when it is first needed
    explorer.brush_interval(0, 30)
    explorer.set_threshold(0.06)
    explorer.mark_frame(5)
    explorer.set_stokes(["I", "Q"])
    assert explorer.selected_mark.visible and explorer.threshold_line.visible and explorer.marker_mark.visible
    assert explorer.series_marks["Q"].visible and len(explorer.series_marks["Q"].y)
    order = [explorer.unlocked_mark, explorer.series_marks["I"], explorer.series_marks["Q"]]
    order += [explorer.selected_mark, explorer.threshold_line, explorer.threshold_handle, explorer.marker_mark]
    assert list(explorer.figure.marks) == order
