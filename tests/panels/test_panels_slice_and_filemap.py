"""Kernel-side behaviour of the SliceBuilder and FileMap panels, checked against
dkist's own answers (``ds[item].files``) on datasets dkist ships."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import dkist
import dkist.data.test as dkist_test_data
import numpy as np
import pytest

from dkist_widgets.core.model import DatasetModel
from dkist_widgets.panels.file_map import IN_SLICE, LOCAL, SELECTED, FileMap
from dkist_widgets.panels.slice_builder import SliceBuilder

TEST_DATA = Path(dkist_test_data.__file__).parent


@pytest.fixture(scope="module")
def visp(tmp_path_factory):
    target = tmp_path_factory.mktemp("visp") / "large_visp.asdf"
    with gzip.open(TEST_DATA / "large_visp.asdf.gz", "rb") as src, open(target, "wb") as dst:
        shutil.copyfileobj(src, dst)
    return dkist.load_dataset(target)


@pytest.fixture(scope="module")
def tiled():
    return dkist.load_dataset(TEST_DATA / "test_tiled_dataset-1.3.0_dataset-1.2.0.asdf")


def test_slice_builder_counts_equal_dkist(visp):
    builder = SliceBuilder(DatasetModel(visp))
    builder.axes[0].mode.value = "index"
    builder.axes[0].index.value = 2
    builder.axes[1].mode.value = "range"
    builder.axes[1].range.value = (3, 11)
    builder.axes[2].mode.value = "index"  # a wavelength: inside every file
    expected = visp[builder.item]
    assert builder.preview.n_files == len(expected.files)
    assert builder.preview.shape == expected.data.shape
    assert f">{len(expected.files)}<" in builder.summary.value
    assert "ds[2, 3:12, 0]" in builder.code.code
    assert "stokes, wavelength" in builder.summary.value  # the axes dropped, by name


def test_slice_builder_apply_and_reset(visp):
    model = DatasetModel(visp)
    builder = SliceBuilder(model)
    builder.set_item((1, slice(0, 5)))
    builder.apply()
    assert model.working_item[:2] == (1, slice(0, 5, None))
    assert model.working_preview.n_files == len(visp[1, 0:5].files)
    builder.reset()
    assert model.working_item is None
    assert model.working_preview.n_files == len(visp.files)


def test_slice_builder_labels_world_values(visp):
    builder = SliceBuilder(DatasetModel(visp))
    assert "I &nbsp;→&nbsp; V" in builder.axes[0].world.value  # whole Stokes axis
    builder.axes[2].mode.value = "range"
    builder.axes[2].range.value = (0, 3)
    assert "nm" in builder.axes[2].world.value and "→" in builder.axes[2].world.value


def test_slice_builder_tiles(tiled):
    model = DatasetModel(tiled)
    builder = SliceBuilder(model)
    total = builder.preview.n_files
    assert total == sum(len(t.files) for t in tiled.flat)
    first = next(iter(builder._tile_buttons))
    builder._tile_buttons[first].value = False
    assert builder.preview.n_files == total - len(tiled.flat[0].files)


def test_file_map_states_and_selection(visp):
    model = DatasetModel(visp)
    fmap = FileMap(model)
    rows, cols = fmap.grid_shape
    assert rows * cols == len(visp.files) == len(fmap.states)
    states = np.frombuffer(fmap.states, np.uint8)
    assert np.all(states & IN_SLICE)

    model.set_slice((0, slice(0, 5)))
    states = np.frombuffer(fmap.states, np.uint8)
    expected = set(visp[0, 0:5].files.filenames)
    names = np.asarray(visp.files.filenames)
    assert set(names[(states & IN_SLICE) > 0]) == expected

    selected = fmap.select_rect([1, 2], [3, 4])  # Stokes Q..U, steps 3..4
    assert set(names[selected]) == set(visp[1:3, 3:5].files.filenames)
    states = np.frombuffer(fmap.states, np.uint8)
    assert np.count_nonzero(states & SELECTED) == 4
    fmap.select_rect([0, 0], [0, 0], mode="add")
    assert model.n_selected == 5


def test_file_map_marks_local_files(visp, tmp_path):
    model = DatasetModel(visp)
    fmap = FileMap(model)
    names = visp.files.filenames
    for name in names[:7]:
        (tmp_path / name).write_bytes(b"x")
    model.set_basepath(tmp_path)
    states = np.frombuffer(fmap.states, np.uint8)
    assert np.flatnonzero(states & LOCAL).tolist() == list(range(7))


def test_file_map_sends_only_changed_buffers(visp):
    model = DatasetModel(visp)
    fmap = FileMap(model)
    sent = []
    fmap.observe(lambda change: sent.append(change["new"]), names="states")
    model.clear_selection()  # nothing changes: no new buffer
    assert sent == []
    model.select_frames([3], source="test")
    assert len(sent) == 1 and len(sent[0]) == len(visp.files)


def test_file_map_hover_is_plain_text(visp):
    fmap = FileMap(DatasetModel(visp))
    text = fmap.describe(1, 2)
    frame = 1 * fmap.grid_shape[1] + 2
    assert visp.files.filenames[frame] in text
    assert "not downloaded" in text
    assert fmap.describe(99, 99) == ""


# ---------------------------------------------------------------------- issue 14.7: the builder follows the model
def _in_slice_names(fmap) -> set[str]:
    states = np.frombuffer(fmap.states, np.uint8)
    names = np.asarray(fmap.model.files_for_frames(np.arange(fmap.model.n_frames)))
    return set(names[(states & IN_SLICE) > 0])


@pytest.mark.parametrize("item", [(1, slice(2, 9)), (slice(None), slice(4, None)), (Ellipsis, 3), (2,)])
def test_slice_builder_follows_set_slice_made_in_code(visp, item):
    model = DatasetModel(visp)
    builder = SliceBuilder(model)
    fmap = FileMap(model)
    model.set_slice(item)  # as a notebook cell does, no click on the builder
    expected = visp[item]
    assert builder.preview.n_files == len(expected.files)
    assert builder.preview.shape == expected.data.shape
    assert set(visp[builder.item].files.filenames) == set(expected.files.filenames) == _in_slice_names(fmap)
    assert f">{len(expected.files)}<" in builder.summary.value
    assert "working slice" in builder.applied.value
    # the controls show the same slice: applying them changes nothing
    before = model.working_preview.frame_ids.copy()
    builder.apply()
    assert np.array_equal(model.working_preview.frame_ids, before)
    # a draft says it is not applied; clearing in code puts every control back to "all"
    builder.axes[1].mode.value = "index"
    assert "not applied" in builder.applied.value
    model.clear_slice()
    assert [a.mode.value for a in builder.axes] == ["all"] * len(builder.axes)
    assert builder.preview.n_files == len(visp.files) and "working slice" in builder.applied.value


def test_slice_builder_follows_tiles_and_slice_of_a_vbi_mosaic(tiled):
    model = DatasetModel(tiled)
    builder = SliceBuilder(model)
    fmap = FileMap(model)
    model.set_slice((0,))  # notebooks/02_vbi_mosaic.ipynb: the first frame of every tile
    expected = tiled.slice_tiles[0]
    n_expected = sum(len(t.files) for t in expected.flat if t is not None)
    assert builder.preview.n_files == n_expected == model.working_preview.n_files
    assert builder.axes[0].mode.value == "index" and builder.axes[0].index.value == 0
    assert np.count_nonzero(np.frombuffer(fmap.states, np.uint8) & IN_SLICE) == n_expected
    mask = model.selected_tiles.copy()
    first = tuple(np.argwhere(mask)[0])
    mask[first] = False
    model.select_tiles(mask)  # in code again
    assert builder._tile_buttons[first].value is False
    assert builder.preview.n_files == model.working_preview.n_files == n_expected - 1


def test_slice_builder_bar_says_the_fraction_of_files_to_a_tenth(visp):
    """10 of 80 files is 12.5 %, and one file of a large dataset is not 0 %."""
    builder = SliceBuilder(DatasetModel(visp))
    total = builder.model.n_frames
    builder.axes[0].mode.value = "index"
    builder.axes[1].mode.value = "index"
    n = len(visp[builder.item].files)  # dkist's own count
    assert builder.preview.n_files == n
    assert builder.bar.description == (f"{n / total:.1%}" if n / total >= 0.0005 else "<0.1%")
    assert builder.bar.description not in ("0%", "0.0%")
