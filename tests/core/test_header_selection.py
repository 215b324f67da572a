"""core.header_selection (the header explorer's recipe, no kernel, no widgets) against numpy
over ``ds.headers``; and what the panel reads from the model: ``selected_mask`` and
``bytes_for_frames``."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from dkist_widgets.core.header_selection import HeaderSelectionState
from dkist_widgets.core.header_table import HeaderTable, MissingKeyError
from dkist_widgets.core.model import DatasetModel
from tests.helpers.dkist_samples import load
from tests.helpers.header_samples import visp_dataset

N_STEPS = 150


@pytest.fixture(scope="module")
def ds():
    return visp_dataset(N_STEPS, seed=5)


@pytest.fixture(scope="module", params=["DINDEX4", "file grid"])
def table(ds, request):
    """The same headers grouped by DINDEX4, and by the file grid's Stokes axis (as the panel does)."""
    if request.param == "DINDEX4":
        return HeaderTable(ds.headers)
    return HeaderTable(ds.headers, grid_shape=ds.files.fileuri_array.shape, stokes_axis=0)


# ---------------------------------------------------------------- oracles over ds.headers


def _r0(ds):
    col = ds.headers["ATMOS_R0"]
    return np.where(col.mask, np.nan, np.asarray(col.data.data, dtype=float))


def _stokes(ds):
    return np.asarray(ds.headers["DINDEX4"]) - 1


def _step(ds):
    return np.asarray(ds.headers["DINDEX3"]) - 1


def _seconds(ds):
    t = np.array([np.datetime64(str(v), "us") for v in ds.headers["DATE-AVG"]])
    return (t - t.min()) / np.timedelta64(1, "s")


def _same_steps(ds, keep):
    """Every Stokes state at the raster steps of ``keep`` (frames at the same time slots)."""
    return np.isin(_step(ds), _step(ds)[keep])


def _longest(ds, ok, stokes=0):
    """Longest stretch of consecutive frames of one Stokes state, in time order, all ``ok``."""
    walk = np.flatnonzero(_stokes(ds) == stokes)
    walk = walk[np.argsort(_seconds(ds)[walk], kind="stable")]
    best, start = (0, 0), None
    for pos, flag in enumerate(list(ok[walk]) + [False]):
        if flag and start is None:
            start = pos
        if not flag and start is not None:
            if pos - start > best[1] - best[0]:
                best = (start, pos)
            start = None
    keep = np.zeros(len(ok), dtype=bool)
    keep[walk[best[0] : best[1]]] = True
    return keep


def _state(table, **traits):
    state = HeaderSelectionState()
    state.start(table)
    state.all_stokes = False
    for name, value in traits.items():
        setattr(state, name, value)
    return state


# ---------------------------------------------------------------- recipes


def test_start_defaults_and_empty_recipe_selects_nothing(table):
    state = HeaderSelectionState()
    assert state.start(table) == "ATMOS_R0"
    assert state.x == "time" and state.stokes == ["I"] and state.all_stokes and state.is_empty
    assert state.frames(table).size == 0 and state.describe() == "nothing chosen"
    # the threshold waits at the median r0 (header units) rounded to the millimetre r0 means
    # (issue 14.4: so the box shows exactly the value in force), switched off
    assert state.direction == "off" and state.threshold == round(float(np.nanmedian(_r0_of(table))), 3)


def _r0_of(table):
    return table.numeric("ATMOS_R0")


@pytest.mark.parametrize("direction", [">=", "<="])
def test_threshold_both_directions_skip_masked(ds, table, direction):
    r0 = _r0(ds)
    state = _state(table)
    state.set_threshold(0.06, direction)
    with np.errstate(invalid="ignore"):
        ok = r0 >= 0.06 if direction == ">=" else r0 <= 0.06
    expected = np.flatnonzero(ok & (_stokes(ds) == 0))
    assert expected.size and np.isnan(r0[_stokes(ds) == 0]).any()  # masked frames exist and never count
    np.testing.assert_array_equal(state.frames(table), expected)
    assert not state.is_empty and "ATMOS_R0 " + ("≥" if direction == ">=" else "≤") in state.describe()
    state.set_threshold(None)
    assert state.direction == "off" and state.frames(table).size == 0


def test_intervals_add_and_replace_and_x_change_drops_them(ds, table):
    t = _seconds(ds)
    state = _state(table)
    state.brush(40, 10)  # bounds in any order
    state.add_intervals = True
    state.brush(200, 230)
    assert state.intervals == [(10.0, 40.0), (200.0, 230.0)]
    inside = ((t >= 10) & (t <= 40)) | ((t >= 200) & (t <= 230))
    np.testing.assert_array_equal(state.frames(table), np.flatnonzero(inside & (_stokes(ds) == 0)))
    state.brush(0, 5, add=False)
    assert state.intervals == [(0.0, 5.0)]
    state.x = "frame"  # intervals were seconds; on frame numbers they mean nothing
    assert state.intervals == [] and state.is_empty
    state.brush(3, 7)
    np.testing.assert_array_equal(state.frames(table), np.arange(3, 8))  # frames 3..7 are Stokes I


def test_and_or_invert(ds, table):
    t, r0, stokes_i = _seconds(ds), _r0(ds), _stokes(ds) == 0
    state = _state(table)
    state.brush(20, 160)
    state.set_threshold(0.05, ">=")
    in_brush = (t >= 20) & (t <= 160)
    with np.errstate(invalid="ignore"):
        good = r0 >= 0.05
    np.testing.assert_array_equal(state.frames(table), np.flatnonzero(stokes_i & in_brush & good))
    state.combine = "or"
    np.testing.assert_array_equal(state.frames(table), np.flatnonzero(stokes_i & (in_brush | good)))
    state.invert = True
    np.testing.assert_array_equal(state.frames(table), np.flatnonzero(stokes_i & ~(in_brush | good)))
    assert "inverted" in state.describe() and " OR " in state.describe()
    state.clear()  # back to nothing; key, Stokes and the threshold value stay
    assert state.is_empty and state.frames(table).size == 0
    assert state.key == "ATMOS_R0" and state.threshold == 0.05 and state.combine == "or"
    state.invert = True  # invert alone: the complement of nothing
    np.testing.assert_array_equal(state.frames(table), np.flatnonzero(stokes_i))


def test_stokes_states_and_all_stokes_at_those_times(ds, table):
    r0, stokes = _r0(ds), _stokes(ds)
    state = _state(table, stokes=["Q", "V"])
    state.set_threshold(0.08, ">=")
    with np.errstate(invalid="ignore"):
        chosen = (r0 >= 0.08) & np.isin(stokes, [1, 3])
    np.testing.assert_array_equal(state.frames(table), np.flatnonzero(chosen))
    state.all_stokes = True
    np.testing.assert_array_equal(state.frames(table), np.flatnonzero(_same_steps(ds, chosen)))
    assert set(stokes[state.frames(table)]) == {0, 1, 2, 3}
    state.stokes = []  # none ticked: the criteria apply to every state
    state.all_stokes = False
    with np.errstate(invalid="ignore"):
        np.testing.assert_array_equal(state.frames(table), np.flatnonzero(r0 >= 0.08))
    state.stokes = ["X"]
    with pytest.raises(ValueError, match="unknown Stokes state 'X'"):
        state.frames(table)


def test_longest_good_run_with_and_without_a_threshold(ds, table):
    r0 = _r0(ds)
    state = _state(table)
    state.longest_run = True  # no criterion: "good" means r0 has a value
    run = _longest(ds, np.isfinite(r0))
    np.testing.assert_array_equal(state.frames(table), np.flatnonzero(run))
    assert "frames with a ATMOS_R0 value" in state.describe()
    state.set_threshold(0.06, ">=")  # the flag stays on and re-runs on the new criteria
    with np.errstate(invalid="ignore"):
        run = _longest(ds, r0 >= 0.06)
    np.testing.assert_array_equal(state.frames(table), np.flatnonzero(run))
    state.all_stokes = True
    np.testing.assert_array_equal(state.frames(table), np.flatnonzero(_same_steps(ds, run)))
    assert state.settle(table) == [] and state.longest_run


@pytest.mark.parametrize("kind", ["masked", "nan"])
def test_r0_without_any_value(kind):
    ds = visp_dataset(40, seed=3)
    col = ds.headers["ATMOS_R0"]
    if kind == "masked":
        col.mask = True
    else:
        ds.headers.replace_column("ATMOS_R0", np.full(len(col), np.nan))
    table = HeaderTable(ds.headers)
    state = HeaderSelectionState()
    state.start(table)
    assert state.key == "ATMOS_R0" and state.threshold is None  # no median to start from
    state.set_threshold(0.01, ">=")
    assert state.frames(table).size == 0  # no frame meets a criterion on a missing value
    state.longest_run = True
    assert state.frames(table).size == 0
    why = state.settle(table)  # a longest run of nothing is switched off, and said why
    assert not state.longest_run and why == ["longest good run switched off: ATMOS_R0 has no finite values"]


def test_missing_key_and_key_change_switch_the_threshold_off(ds):
    headers = ds.headers.copy()
    headers.remove_column("ATMOS_R0")
    table = HeaderTable(headers)
    state = HeaderSelectionState()
    key = state.start(table)
    assert key == table.numeric_keys[0] != "ATMOS_R0"
    state.set_threshold(1.0, "<=")
    state.key = "ATMOS_R0"  # set directly, not through choose_key
    assert state.direction == "off" and state.threshold is None and state.frames(table).size == 0
    state.set_threshold(0.05, ">=")
    with pytest.raises(MissingKeyError, match="ATMOS_R0"):
        state.frames(table)
    state.choose_key(table, "LIGHTLVL")
    assert state.direction == "off" and state.threshold == pytest.approx(np.median(headers["LIGHTLVL"]))


def test_dragging_the_handle_switches_a_threshold_on(ds, table):
    state = _state(table)
    state.drag_threshold(0.07)
    assert state.direction == ">=" and state.threshold == 0.07
    state.direction = "<="
    state.drag_threshold(0.09)
    assert state.direction == "<=" and state.threshold == 0.09
    with np.errstate(invalid="ignore"):
        expected = np.flatnonzero((_r0(ds) <= 0.09) & (_stokes(ds) == 0))
    np.testing.assert_array_equal(state.frames(table), expected)


def test_state_is_plain_traits_without_widgets():
    import subprocess
    import sys

    code = (
        "import sys\n"
        "for blocked in ('ipywidgets', 'anywidget', 'bqplot', 'ipydatagrid'):\n"
        "    sys.modules[blocked] = None\n"
        "from dkist_widgets.core.header_selection import HeaderSelectionState\n"
        "from dkist_widgets.core.header_table import HeaderTable\n"
        "from astropy.table import Table\n"
        "t = HeaderTable(Table({'ATMOS_R0': [0.1, 0.02, 0.2], 'DATE-AVG': ['2023-01-01T00:00:00',"
        " '2023-01-01T00:00:01', '2023-01-01T00:00:02']}))\n"
        "s = HeaderSelectionState(); s.start(t); s.set_threshold(0.05)\n"
        "print(s.frames(t).tolist())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["[0,", "2]"]


# ---------------------------------------------------------------- the model's part


def test_selected_mask_follows_the_selection(ds):
    model = DatasetModel(ds, refresh_local=False)
    assert model.selected_mask.shape == (len(ds.headers),) and not model.selected_mask.any()
    model.select_frames([3, 7, 400], source="test")
    mask = model.selected_mask
    np.testing.assert_array_equal(np.flatnonzero(mask), [3, 7, 400])
    assert model.selected_mask is mask and not mask.flags.writeable  # one mask per selection
    model.select_frames([5], source="test", mode="add")
    np.testing.assert_array_equal(np.flatnonzero(model.selected_mask), [3, 5, 7, 400])


def test_bytes_for_frames_plain_dataset(ds):
    model = DatasetModel(ds, refresh_local=False)
    per_file = int(np.prod(ds.files.shape)) * ds.data.dtype.itemsize
    ids = np.array([0, 10, 11, 300])
    assert model.bytes_for_frames(ids) == (None, 4 * per_file)  # sizes unknown: no on-disk bytes
    sizes = np.arange(len(ds.headers), dtype=float) * 1000 + 17
    model.set_file_sizes(sizes)
    got = model.bytes_for_frames(ids)
    assert got.on_disk == int(sizes[ids].sum()) and got.data == 4 * per_file
    sizes[11] = -1  # one unknown size among these frames: no on-disk total
    model.set_file_sizes(sizes)
    assert model.bytes_for_frames(ids).on_disk is None
    assert model.bytes_for_frames([0, 10]).on_disk == int(sizes[[0, 10]].sum())
    model.select_frames([0, 10], source="test")
    assert model.bytes_for_frames() == model.bytes_for_frames([0, 10])  # default: the selection
    with pytest.raises(IndexError):
        model.bytes_for_frames([len(ds.headers)])


def test_bytes_for_frames_tiled_dataset():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tds = load("large_vbi")
    model = DatasetModel(tds, refresh_local=False)
    tiles = [t for t in np.ravel(tds._data.data)]
    per_file = int(np.prod(tiles[0].files.shape)) * tiles[0].data.dtype.itemsize
    n = model.n_frames
    ids = np.array([0, n // 2, n - 1])
    assert model.bytes_for_frames(ids) == (None, 3 * per_file)
    sizes = np.full(n, 1234.0)
    sizes[n // 2 + 1] = np.nan  # unknown, but not among the frames asked
    model.set_file_sizes(sizes)
    assert model.bytes_for_frames(ids) == (3 * 1234, 3 * per_file)
    assert model.bytes_for_frames(np.arange(n)).on_disk is None


# ---------------------------------------------------------------- the panel shows the state


@pytest.fixture
def explorer(ds):
    from dkist_widgets.panels.header_explorer import HeaderExplorer

    return HeaderExplorer(DatasetModel(ds, refresh_local=False))


def _recipe_highlights(explorer):
    return (
        explorer.threshold_mode.value,
        explorer.invert_button.value,
        explorer.longest_button.value,
        explorer.brush.selected,
    )


def test_another_panels_selection_clears_the_recipe_and_its_highlights(ds, explorer):
    model = explorer.model
    explorer.brush_interval(10, 200)
    explorer.set_threshold(0.05)
    explorer.longest_button.value = True
    explorer.invert_button.value = True
    assert _recipe_highlights(explorer)[:3] == (">=", True, True)
    model.select_frames(np.arange(5, 9), source="file_map")
    np.testing.assert_array_equal(model.selected_frames, np.arange(5, 9))  # the other panel's selection stays
    assert _recipe_highlights(explorer) == ("off", False, False, None)
    assert explorer.state.is_empty and explorer.intervals == [] and "nothing chosen" in explorer.recipe.value
    assert "Selection set by file_map" in explorer.status.value
    # brushing here replaces it, and the note about the other panel goes
    explorer.brush.brushing = True
    explorer.brush.selected = np.array([np.datetime64(str(ds.headers["DATE-AVG"][i]), "us") for i in (20, 60)])
    explorer.brush.brushing = False
    assert model.selection_source == "header_explorer" and model.n_selected > 0
    assert "Selection set by" not in explorer.status.value


def test_longest_run_second_press_is_said_and_selection_follows(ds, explorer):
    model = explorer.model
    explorer.set_threshold(0.05)
    criteria = model.selected_frames.copy()
    explorer.longest_button.value = True
    run = model.selected_frames.copy()
    assert "longest good run" in explorer.recipe.value and run.size < criteria.size
    explorer.longest_button.value = False  # the second press: the step goes, visibly
    assert "longest good run" not in explorer.recipe.value
    np.testing.assert_array_equal(model.selected_frames, criteria)
    with np.errstate(invalid="ignore"):
        expected = _same_steps(ds, (_r0(ds) >= 0.05) & (_stokes(ds) == 0))
    np.testing.assert_array_equal(criteria, np.flatnonzero(expected))


def test_threshold_handle_sits_right_of_the_brush_area(ds, explorer):
    """bqplot lays the brush's overlay over the plot area only: the handle must be outside it."""
    handle = explorer.threshold_handle
    assert explorer.figure.interaction is explorer.brush  # brushing needs no mode switch
    assert handle.visible and handle.enable_move and handle.restrict_y
    assert not handle.apply_clip and handle.preserve_domain.get("x")
    last = max(np.datetime64(str(v), "us") for v in ds.headers["DATE-AVG"])
    assert np.datetime64(handle.x[0], "us") > last  # right of every plotted value
    # dropping the handle sets a threshold; the plot's own placement does not
    assert explorer.threshold_mode.value == "off" and explorer.model.n_selected == 0
    handle.y = np.array([0.05])  # issue 14.4: r0 is drawn in metres
    assert explorer.threshold_mode.value == ">=" and explorer.state.threshold == pytest.approx(0.05)
    assert explorer.threshold_line.visible and float(handle.y[0]) == 0.05
    explorer.clear()
    assert not explorer.threshold_line.visible and explorer.model.n_selected == 0
