"""DatasetModel: previews equal dkist's own ``ds[item]``; selections, covers, local files, threads."""

from __future__ import annotations

import subprocess
import sys
import threading
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dkist_widgets.core.model import DatasetModel
from dkist_widgets.sandbox.archive import DATASET_IDS
from tests.helpers.dkist_samples import (
    PLAIN,
    SYNTHETIC,
    TILED,
    dkist_answer,
    frame_selections,
    items,
    load,
    synthetic_dataset,
)

SLOW = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def model_of(ds):
    return DatasetModel(ds, refresh_local=False)


def assert_preview_matches(model, ds, item):
    expected = dkist_answer(ds, item)
    if isinstance(expected, Exception):
        with pytest.raises((ValueError, IndexError)):
            model.preview(item)
        return None
    shape, n_files, filenames = expected
    preview = model.preview(item)
    assert preview.shape == shape, item
    assert preview.n_files == n_files, item
    assert preview.files == filenames, item
    assert set(preview.files) == set(filenames)
    assert preview.nbytes == int(np.prod(shape)) * ds.data.dtype.itemsize
    assert preview.frame_ids.size == n_files
    assert preview.file_positions.shape[0] == n_files
    return preview


@pytest.mark.parametrize("name", [*PLAIN, *SYNTHETIC])
def test_preview_equals_dkist(name):
    ds = load(name)
    model = model_of(ds)

    @SLOW
    @given(item=items(ds.data.shape))
    def check(item):
        assert_preview_matches(model, ds, item)

    check()


def _tiled_answer(tds, item, positions=None):
    """dkist's answer for a tiled dataset: slice_tiles over all tiles, or tile by tile."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            if positions is None:
                sliced = tds.slice_tiles[item]
                shapes = {tuple(t.data.shape) for t in sliced.flat}
                return shapes, len(sliced.files), list(sliced.files.filenames)
            parts = [tds[p][item] for p in positions]
            names = [n for part in parts for n in part.files.filenames]
            return {tuple(p.data.shape) for p in parts}, sum(len(p.files) for p in parts), names
        except Exception as exc:  # noqa: BLE001
            return exc


@pytest.mark.parametrize("name", list(TILED))
def test_tiled_preview_equals_dkist(name):
    tds = load(name)
    model = model_of(tds)
    tile_shape = tds[0, 0].data.shape

    @settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(item=items(tile_shape), pick=st.lists(st.booleans(), min_size=9, max_size=9))
    def check(item, pick):
        mask = np.asarray(pick).reshape(tds.shape)
        if not mask.any():
            mask[0, 0] = True
        model.select_tiles(np.ones(tds.shape, dtype=bool))
        expected = _tiled_answer(tds, item)
        if isinstance(expected, Exception):
            with pytest.raises((ValueError, IndexError)):
                model.preview(item)
            return
        shapes, n_files, names = expected
        preview = model.preview(item)
        assert {preview.shape} == shapes and preview.n_files == n_files and preview.files == names
        # a chosen subset of tiles sums the files of those tiles
        positions = [tuple(int(i) for i in p) for p in np.argwhere(mask)]
        model.select_tiles(mask)
        shapes, n_files, names = _tiled_answer(tds, item, positions)
        preview = model.preview(item)
        assert preview.n_files == n_files and preview.files == names
        assert preview.tiles == tuple(positions)

    check()


def test_tiled_frames_are_combined_header_rows():
    tds = load("large_vbi")
    model = model_of(tds)
    headers = tds.combined_headers
    assert model.n_frames == len(headers) == len(tds.files)
    preview = model.preview((1,))
    ids = preview.frame_ids
    # combined header rows of the frames touched carry the touched file names
    assert list(headers["FILENAME"][ids]) == preview.files
    cover = model.slices_for_frames(ids)
    got = []
    for position, item in cover.items:
        got.extend(tds[position][item].files.filenames)
    assert sorted(got) == sorted(preview.files)
    assert model.frames_for_files(preview.files).tolist() == ids.tolist()
    assert model.file_positions(ids[:2]).tolist() == [[0, 0, 1], [0, 1, 1]]


def test_tiled_select_tiles_validates():
    model = model_of(load("tiled_test"))
    with pytest.raises(ValueError, match="shape"):
        model.select_tiles(np.ones((2, 2), dtype=bool))
    version = model.tiles_version
    mask = np.zeros((3, 3), dtype=bool)
    mask[1] = True
    model.select_tiles(mask)
    assert model.tiles_version == version + 1
    assert model.working_preview.n_files == 3 * 2
    assert model.preview(0).snippet == "[ds[p][0] for p in [(1, 0), (1, 1), (1, 2)]]"


@pytest.mark.parametrize("name", ["large_visp", "croppable_cryo"])
def test_slices_for_selection_reproduce_it_with_dkist(name):
    ds = load(name)
    model = model_of(ds)

    @settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(ids=frame_selections(ds.files.fileuri_array.shape, max_boxes=2))
    def check(ids):
        model.select_frames(ids, source="test")
        cover = model.slices_for_frames()
        got = []
        for item in cover.items:
            got.extend(ds[item].files.filenames)
        assert sorted(got) == sorted(model.files_for_frames())
        assert len(got) == len(set(got))
        assert model.frames_for_files(got).tolist() == model.selected_frames.tolist()

    check()


def test_selection_modes_and_versions():
    model = model_of(load("large_visp"))
    seen = []
    model.observe(lambda change: seen.append((change["new"], model.selection_source)), "selection_version")
    v0 = model.selection_version
    model.select_frames([5, 3, 3, 9], source="table")
    assert model.selected_frames.tolist() == [3, 5, 9]
    model.select_frames([9, 10], mode="add", source="map")
    assert model.selected_frames.tolist() == [3, 5, 9, 10]
    model.select_frames([5], mode="remove")
    assert model.selected_frames.tolist() == [3, 9, 10]
    model.select_frames([9, 10, 11], mode="intersect", source="plot")
    assert model.selected_frames.tolist() == [9, 10]
    model.select_frames([10, 9], source="echo")  # no change: no event (no echo loops)
    assert model.selection_version == v0 + 4
    assert [s for _, s in seen] == ["table", "map", "", "plot"]
    assert model.n_selected == 2
    with pytest.raises(IndexError):
        model.select_frames([0, 80])
    with pytest.raises(ValueError, match="mode"):
        model.select_frames([1], mode="xor")
    assert model.selected_frames.tolist() == [9, 10]  # failures changed nothing
    with pytest.raises(ValueError):
        model.selected_frames[0] = 1  # read-only
    mask = np.zeros(80, dtype=bool)
    mask[[1, 2]] = True
    model.select_frames(mask)
    assert model.selected_frames.tolist() == [1, 2]
    model.clear_selection(source="reset")
    assert model.selected_frames.size == 0 and model.selection_source == "reset"


def test_set_slice_validates_and_notifies():
    ds = load("large_visp")
    model = model_of(ds)
    changes = []
    model.observe(lambda change: changes.append(change["name"]), ["working_item", "working_preview"])
    preview = model.set_slice((np.int64(1), slice(2, 7)))
    assert model.working_item == (1, slice(2, 7))
    assert preview.n_files == 5 and preview.snippet == "ds[1, 2:7]"
    assert model.preview() is not preview and model.preview().n_files == 5  # None -> working item
    assert "working_item" in changes and "working_preview" in changes
    for bad in [slice(None, None, 2), (0, 0, 0, 0), -1, slice(0, 5)]:
        with pytest.raises((ValueError, IndexError)):
            model.set_slice(bad)
    assert model.working_item == (1, slice(2, 7))  # unchanged by rejected items
    assert model.frames_for_item((1, slice(2, 7))).tolist() == list(range(22, 27))
    model.clear_slice()
    assert model.working_item is None and model.working_preview.n_files == 80
    assert model.working_preview.snippet == "ds"


def test_preview_of_a_sliced_dataset_is_the_composed_slice():
    """dkist 1.18.1 re-slices a sliced Dataset against the *original* file grid; we compose."""
    root = load("large_visp")
    model = model_of(root[1])
    preview = model.preview(3)
    assert preview.files == root[1, 3].files.filenames == ["23.fits"]
    assert preview.shape == root[1, 3].data.shape
    assert model.preview((slice(2, 5), 7)).files == root[1, 2:5, 7].files.filenames


def test_unit_axis_dataset_previews_whole_but_rejects_slices():
    model = model_of(load("unit_axis"))
    assert model.working_preview.n_files == 80
    with pytest.raises(ValueError, match="length-1 axis"):
        model.preview(0)


def test_local_files_from_directory_listing(tmp_path):
    names = np.array([f"sub{i % 3}/frame_{i:03d}.fits" for i in range(24)])
    ds = synthetic_dataset((4, 6), names=names, basepath=tmp_path)
    model = DatasetModel(ds)
    assert model.n_local_files == 0 and model.local_files.tolist() == [False] * 24
    present = [0, 4, 5, 17, 23]
    for i in present:
        path = tmp_path / names[i]
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(b"x")
    (tmp_path / "sub1").mkdir(exist_ok=True)
    (tmp_path / "sub1" / "frame_001.fits.part").write_bytes(b"x")  # a longer name is not a match
    (tmp_path / "sub1" / "frame_007.fits").mkdir()  # a folder is not a file
    version = model.local_files_version
    assert model.refresh_local_files() == len(present)
    assert model.local_files_version == version + 1
    assert np.flatnonzero(model.local_files).tolist() == present
    assert model.preview((0,)).n_local == 3  # frames 0, 4, 5 are in the first row
    other = tmp_path / "elsewhere"
    other.mkdir()
    assert model.set_basepath(other) == 0
    assert str(ds.files.basepath) == str(other)


def test_local_files_flat_folder(tmp_path):
    ds = synthetic_dataset((4, 20), basepath=tmp_path)
    for i in (3, 40, 79):
        (tmp_path / f"f{i}.fits").write_bytes(b"")
    model = DatasetModel(ds)
    assert np.flatnonzero(model.local_files).tolist() == [3, 40, 79]
    no_base = DatasetModel(synthetic_dataset((4, 20), basepath=None))
    assert no_base.n_local_files == 0


def test_file_sizes_feed_file_bytes():
    model = model_of(load("large_visp"))
    assert model.preview(0).file_bytes is None
    version = model.file_sizes_version
    model.set_file_sizes(np.full(80, 1000.0))
    assert model.file_sizes_version == version + 1
    assert model.preview(0).file_bytes == 20_000
    with pytest.raises(ValueError):
        model.set_file_sizes(np.ones(3))


def test_concurrent_selection_changes_are_consistent():
    model = model_of(load("croppable_visp"))
    n = model.n_frames
    chunks = np.array_split(np.arange(n), 8)
    errors = []

    def worker(ids):
        try:
            for part in np.array_split(ids, 20):
                model.select_frames(part, mode="add", source=threading.current_thread().name)
                model.preview((0, slice(int(part[0]) % 600, 650)))
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(c,)) for c in chunks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert model.selected_frames.tolist() == list(range(n))
    assert model.n_selected == n


def test_model_without_dataset_says_so():
    model = DatasetModel()
    assert model.n_frames == 0 and model.working_preview is None
    with pytest.raises(ValueError, match="set_dataset"):
        model.preview(0)
    with pytest.raises(TypeError):
        model.set_dataset(object())


def test_core_imports_without_ipywidgets():
    code = (
        "import sys; sys.modules['ipywidgets'] = None\n"
        "import dkist_widgets.core.model, dkist_widgets.core.fileindex\n"
        "assert 'ipywidgets' not in [m for m in sys.modules if sys.modules[m] is not None]\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("dataset_id", DATASET_IDS)
def test_preview_equals_dkist_on_sample_archive(archive, dataset_id):
    import dkist

    path = archive.asdf_path(dataset_id)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = dkist.load_dataset(path)
    model = model_of(ds)
    shape = ds.data.shape if not model.is_tiled else ds.flat[0].data.shape

    @settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(item=items(shape))
    def check(item):
        if model.is_tiled:
            expected = _tiled_answer(ds, item)
            if isinstance(expected, Exception):
                with pytest.raises((ValueError, IndexError)):
                    model.preview(item)
                return
            assert model.preview(item).n_files == expected[1]
            assert model.preview(item).files == expected[2]
        else:
            assert_preview_matches(model, ds, item)

    check()


@pytest.fixture(scope="module")
def headers_only_dataset(tmp_path_factory):
    """A VISP ASDF written by the sandbox's headers-only generator (dkist-inventory pieces)."""
    headers_only = pytest.importorskip("dkist_widgets.sandbox.headers_only")
    import dkist

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        path = headers_only.make_headers_only_dataset(tmp_path_factory.mktemp("headers-only"), 20, n_maps=2)
        return dkist.load_dataset(path)


def test_preview_equals_dkist_on_headers_only_asdf(headers_only_dataset):
    ds = headers_only_dataset
    model = model_of(ds)
    assert model.n_frames == len(ds.headers) == 160

    # The generator's gWCS describes 50 x 100 in-file pixels while the data (and
    # files.shape) say 976 x 2555; gWCS slicing then fails for an int index past the
    # WCS's array_shape, which no real DKIST dataset would do. Draw ints within both.
    assert model.wcs_shape_mismatch is None or "array_shape" in model.wcs_shape_mismatch
    shape = tuple(min(a, b) for a, b in zip(ds.data.shape, ds.wcs.array_shape or ds.data.shape))

    @settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(item=items(shape))
    def check(item):
        preview = assert_preview_matches(model, ds, item)
        if preview is not None and preview.n_files:
            sliced = ds[item]
            if len(sliced.headers) == preview.n_files:  # dkist's header slicing is off for stop=0
                assert list(sliced.headers["FILENAME"]) == list(ds.headers["FILENAME"][preview.frame_ids])

    check()


def test_which_files_are_on_disk_agrees_with_the_file_system(tmp_path):
    """``refresh_local_files``' listing rule against ``os.path.isfile`` per name: sub-folders,
    a name that is the prefix of another, a folder named like a file, a missing basepath."""
    import os

    from dkist_widgets.core.model import _exists_under

    uris = np.array(
        [
            "a.fits",
            "a.fits.long_name_that_a_fixed_width_cast_would_cut.fits",
            "sub/b.fits",
            "sub/deeper/c.fits",
            "sub/missing.fits",
            "folder.fits",
            "ünïcode.fits",
        ]
    )
    (tmp_path / "sub" / "deeper").mkdir(parents=True)
    (tmp_path / "folder.fits").mkdir()
    for name in ["a.fits", "sub/b.fits", "sub/deeper/c.fits", "ünïcode.fits", "not_in_the_dataset.fits"]:
        (tmp_path / name).write_bytes(b"x")
    expected = np.array([os.path.isfile(tmp_path / u) for u in uris])
    assert expected.sum() == 4  # the oracle sees files both on the top level and in sub-folders
    assert _exists_under(tmp_path, uris).tolist() == expected.tolist()
    assert _exists_under(tmp_path / "nowhere", uris).tolist() == [False] * uris.size
    assert _exists_under(None, uris).tolist() == [False] * uris.size
    flat = uris[[0, 1, 5, 6]]  # no sub-folder in any name: one listing
    assert _exists_under(tmp_path, flat).tolist() == [os.path.isfile(tmp_path / u) for u in flat]
