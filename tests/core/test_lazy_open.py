"""The lazy open gives the answers ``dkist.load_dataset`` gives, on the same ASDF.

Oracle: ``dkist.load_dataset`` on the same file, in the same process (after the lazy
open, so the lazy open is also shown to leave dkist's loader as it was).

* 100k frames (a cached headers-only VISP dataset, :mod:`load_samples`): shape, chunks,
  dtype, file grid, file lists and shapes of 200 random slices, every header column
  (values, dtype, mask, unit), the rows of sliced datasets, and the compact columns;
  no loader is made by opening or slicing.
* The sample archive's VISP dataset with real FITS files: pixel values of random
  slices, loaders made only for the files read, ``basepath`` redirecting arrays made
  before it changed.
* Layouts the lazy reader declines (a tiled VBI dataset, a damaged file) go to dkist's
  loader and the log says so.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pytest

from tests.helpers import load_samples

STEPS_100K = 25_000  # 4 x 25,000 = 100k frames


def _lazy(path):
    from dkist_widgets.core.lazy_open import open_lazily

    return open_lazily(path)


def _dkist(path):
    import dkist

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return dkist.load_dataset(path)


def _grid(ds):
    return ds.files._fm._striped_external_array


def _random_items(rng, data_shape, grid_ndim, n):
    """``n`` random ``ds[...]`` items: ints and slices on the file axes,
    sometimes a pixel axis too."""
    items = []
    for _ in range(n):
        item = []
        for axis in range(grid_ndim):
            size = data_shape[axis]
            kind = rng.integers(3)
            if kind == 0:
                item.append(int(rng.integers(0, size)))  # dkist refuses negative ints (size unknown to astropy)
            elif kind == 1:
                a = int(rng.integers(0, size))
                item.append(slice(a, int(rng.integers(a + 1, size + 1))))  # dkist slices no WCS with a step
            else:
                item.append(slice(None))
        if rng.integers(4) == 0:
            item.append(slice(0, int(rng.integers(1, data_shape[grid_ndim] + 1))))
        items.append(tuple(item))
    return items


def _asdf_state():
    import asdf

    config = asdf.get_config()
    return (
        [e.extension_uri for e in config.extensions],
        [type(c).__name__ for e in config.extensions for c in e.converters],
        config.lazy_load if hasattr(config, "lazy_load") else None,
        config.validate_on_read,
    )


@pytest.fixture(scope="module")
def big_pair():
    path = load_samples.headers_only_asdf(STEPS_100K)
    before = _asdf_state()
    lazy = _lazy(path)
    assert _asdf_state() == before  # no asdf extension, converter or setting changed
    return lazy, _dkist(path)


def test_100k_dataset_matches_dkist(big_pair):
    lazy, ref = big_pair
    from dkist import Dataset
    from dkist.io.dask.striped_array import StripedExternalArray

    assert type(lazy) is Dataset and len(lazy.files) == len(ref.files) == 4 * STEPS_100K
    assert lazy.data.shape == ref.data.shape and lazy.data.chunks == ref.data.chunks
    assert lazy.data.dtype == ref.data.dtype and lazy.unit == ref.unit
    assert np.array_equal(lazy.files.fileuri_array, ref.files.fileuri_array)
    assert lazy.files.basepath == ref.files.basepath and lazy.files.shape == ref.files.shape
    assert lazy.files.filenames == ref.files.filenames
    assert lazy.wcs.pixel_shape == ref.wcs.pixel_shape and str(lazy.wcs) == str(ref.wcs)
    assert lazy.meta["inventory"] == ref.meta["inventory"]
    assert set(lazy.meta) == set(ref.meta)
    assert lazy.meta["history"] == ref.meta["history"]
    assert str(lazy) == str(ref)
    # dkist's own loader, run after the lazy open, still makes its eager file manager
    assert type(_grid(ref)) is StripedExternalArray and type(_grid(lazy)) is not StripedExternalArray
    assert _grid(lazy)._loader_array.n_made == 0


def test_100k_random_slices_match_dkist(big_pair):
    """File lists and shapes of 200 slices. ``ds[item]`` copies the whole header table
    (dkist's ``_slice_headers``, ~1 s at 100k), so the 200 go through the two parts of
    ``Dataset.__getitem__`` that give them (the file manager's ``_slice_by_cube``, the
    data array); whole ``ds[item]`` are compared in the header test."""
    lazy, ref = big_pair
    rng = np.random.default_rng(18)
    grid_ndim = lazy.files.fileuri_array.ndim
    for k, item in enumerate(_random_items(rng, lazy.data.shape, grid_ndim, 200)):
        a, b = lazy.files._fm._slice_by_cube(item), ref.files._fm._slice_by_cube(item)
        if k % 10 == 0:  # dask slices a 100k-chunk array in ~0.1 s: 20 of them
            assert lazy.data[item].shape == ref.data[item].shape, item
        assert a.filenames == b.filenames, item
        assert a.fileuri_array.shape == b.fileuri_array.shape, item
    assert _grid(lazy)._loader_array.n_made == 0  # slicing reads no file and makes no loader


def test_100k_headers_match_dkist(big_pair):
    lazy, ref = big_pair
    from dkist_widgets.core.lazy_open import header_columns_of

    compact = header_columns_of(lazy)
    assert compact is not None and compact.colnames == ref.headers.colnames and len(compact) == len(ref.headers)
    # compact columns first (before ds.headers is built): same values, a fraction of the bytes
    text_bytes = 0
    for name in ref.headers.colnames:
        want = ref.headers[name]
        got = compact[name]
        assert np.array_equal(np.ma.getmaskarray(got), np.ma.getmaskarray(want)), name
        if want.dtype.kind == "U":
            assert np.array_equal(np.asarray(got).astype(str), np.asarray(want)), name
            text_bytes += want.nbytes
        else:
            assert np.array_equal(np.ma.getdata(got), np.ma.getdata(want), equal_nan=want.dtype.kind == "f"), name
        assert got.unit == want.unit, name
    assert compact.nbytes() < ref.headers.as_array().nbytes / 3
    # ds.headers: the table dkist builds
    table = lazy.headers
    assert table is lazy.headers  # built once
    assert table.colnames == ref.headers.colnames
    for name in ref.headers.colnames:
        want, got = ref.headers[name], table[name]
        assert got.dtype == want.dtype and got.unit == want.unit and type(got) is type(want), name
        assert np.array_equal(np.ma.getmaskarray(got), np.ma.getmaskarray(want)), name
        assert np.array_equal(np.ma.getdata(got), np.ma.getdata(want), equal_nan=want.dtype.kind == "f"), name
    # header rows of sliced datasets
    rng = np.random.default_rng(5)
    for item in _random_items(rng, lazy.data.shape, lazy.files.fileuri_array.ndim, 3):  # ~1 s each in dkist
        sliced_lazy, sliced_ref = lazy[item], ref[item]
        assert sliced_lazy.files.filenames == sliced_ref.files.filenames, item
        assert sliced_lazy.data.shape == sliced_ref.data.shape, item
        a, b = sliced_lazy.headers, sliced_ref.headers
        assert len(a) == len(b), item
        assert np.array_equal(a["FILENAME"], b["FILENAME"]) and np.array_equal(a["DATE-AVG"], b["DATE-AVG"]), item
        assert np.array_equal(a["ATMOS_R0"].filled(np.nan), b["ATMOS_R0"].filled(np.nan), equal_nan=True), item


@pytest.fixture(scope="module")
def visp_with_fits(archive):
    paths = sorted(p for p in archive.root.glob("data/*/*/VISP_*.asdf") if len(list(p.parent.glob("*.fits"))) > 100)
    assert paths, "the sample archive has a VISP dataset with its FITS files"
    return paths[0]


def test_pixel_values_match_dkist(visp_with_fits, tmp_path):
    import copy

    lazy, ref = _lazy(visp_with_fits), _dkist(visp_with_fits)
    assert lazy.data.shape == ref.data.shape and lazy.data.chunks == ref.data.chunks
    # deep-copies (before any slice is computed: after one, dkist 1.18.1's own datasets recurse forever)
    twin = copy.deepcopy(lazy)
    assert twin.files.filenames == ref.files.filenames and twin.headers.colnames == ref.headers.colnames
    grid = _grid(lazy)._loader_array
    rng = np.random.default_rng(7)
    grid_ndim = lazy.files.fileuri_array.ndim
    for item in _random_items(rng, lazy.data.shape, grid_ndim, 4):
        item = item[:grid_ndim] + (slice(10, 14), slice(3, 9))
        before = grid.n_made
        a = lazy[item].data.compute()
        b = np.asarray(ref[item].data.compute())
        assert a.shape == b.shape and np.array_equal(a, b, equal_nan=True), item
        assert grid.n_made - before <= len(lazy[item].files)  # loaders only for the files read
    whole = lazy.data[0, :3].compute()
    assert np.array_equal(whole, ref.data[0, :3].compute()) and np.isfinite(whole).all()
    # the graph pickles (dask's process and distributed schedulers)
    import pickle

    part = lazy.data[1, 2:4, 5:9, :7]
    assert np.array_equal(pickle.loads(pickle.dumps(part)).compute(), ref.data[1, 2:4, 5:9, :7].compute())
    # an array made before basepath changes reads from the new place, as dkist's does
    frame = lazy.data[0, 5]
    frame_ref = ref.data[0, 5]
    lazy.files.basepath = tmp_path
    ref.files.basepath = tmp_path
    assert np.isnan(frame.compute()).all() and np.isnan(frame_ref.compute()).all()


def test_lazily_opened_dataset_saves_like_dkists(visp_with_fits, tmp_path):
    import copy

    from dkist.io.utils import save_dataset

    lazy, ref = _lazy(visp_with_fits), _dkist(visp_with_fits)
    plain = copy.copy(lazy.meta)
    plain.pop("history")
    assert "history" in lazy.meta  # the copy is separate
    save_dataset(lazy, tmp_path / "lazy.asdf")
    save_dataset(ref, tmp_path / "ref.asdf")
    a, b = _dkist(tmp_path / "lazy.asdf"), _dkist(tmp_path / "ref.asdf")
    assert a.files.filenames == b.files.filenames and a.data.shape == b.data.shape
    assert a.headers.colnames == b.headers.colnames and np.array_equal(a.headers["FILENAME"], b.headers["FILENAME"])
    assert a.meta["inventory"] == b.meta["inventory"]


def _same_table(a, b) -> None:
    assert a.colnames == b.colnames
    for name in b.colnames:
        x, y = a[name], b[name]
        assert x.dtype == y.dtype and x.unit == y.unit and type(x) is type(y), name
        assert np.array_equal(np.ma.getmaskarray(x), np.ma.getmaskarray(y)), name
        assert np.array_equal(np.ma.getdata(x), np.ma.getdata(y), equal_nan=y.dtype.kind == "f"), name


@pytest.mark.parametrize(
    "name",
    [
        "eit_dataset-1.2.0.asdf",
        "large_visp.asdf.gz",
        "croppable_visp.asdf.gz",
        "croppable_cryo.asdf.gz",
        "visp_no_headers.asdf.gz",
    ],
)
def test_dkists_own_test_files_open_the_same(name):
    """dkist's test ASDFs (older table/column tags, 1-3 file axes, EIT's one-axis grid)."""
    from tests.helpers import dkist_samples

    path = dkist_samples.asdf_path(name)
    lazy, ref = _lazy(path), _dkist(path)
    assert str(lazy) == str(ref)
    assert lazy.data.shape == ref.data.shape and lazy.data.chunks == ref.data.chunks
    assert np.array_equal(lazy.files.fileuri_array, ref.files.fileuri_array)
    assert lazy.meta["inventory"] == ref.meta["inventory"]
    _same_table(lazy.headers, ref.headers)


@pytest.mark.parametrize(
    "name", ["eit_dataset-1.1.0.asdf", "test_old_wcs_BRMQY.asdf", "test_tiled_dataset-1.3.0_dataset-1.2.0.asdf"]
)
def test_older_tags_and_tiles_go_to_dkist(name):
    from dkist_widgets.core.lazy_open import UnusualLayout, open_dataset
    from tests.helpers import dkist_samples

    path = dkist_samples.asdf_path(name)
    with pytest.raises(UnusualLayout):
        _lazy(path)
    assert str(open_dataset(path)) == str(_dkist(path))


def test_declined_layouts_fall_back_to_dkist(archive, caplog, tmp_path):
    from dkist import TiledDataset

    from dkist_widgets.core.lazy_open import UnusualLayout, open_dataset

    vbi = next(archive.root.glob("data/*/*/VBI_*.asdf"))
    with pytest.raises(UnusualLayout):
        _lazy(vbi)
    with caplog.at_level(logging.INFO, logger="dkist_widgets.core.lazy_open"):
        ds = open_dataset(vbi)
    assert isinstance(ds, TiledDataset) and ds.shape == _dkist(vbi).shape
    assert any("dkist.load_dataset" in r.getMessage() and vbi.name in r.getMessage() for r in caplog.records)


def test_damaged_file_gets_dkists_error(visp_with_fits, tmp_path):
    from dkist_widgets.core.dataset_files import DatasetFileError
    from dkist_widgets.core.lazy_open import open_dataset_file

    cut = tmp_path / visp_with_fits.name
    cut.write_bytes(visp_with_fits.read_bytes()[:5000])
    with pytest.raises(DatasetFileError, match="truncated"):
        open_dataset_file(cut)
    with pytest.raises(FileNotFoundError):
        open_dataset_file(tmp_path / "missing.asdf")


def test_model_and_explore_open_lazily(visp_with_fits):
    from dkist_widgets.core.lazy_open import HeaderColumns
    from dkist_widgets.core.model import DatasetModel

    model = DatasetModel.from_asdf(visp_with_fits)
    ref = _dkist(visp_with_fits)
    assert isinstance(model.headers, HeaderColumns) and model.headers_match_files
    assert model.n_frames == len(ref.files)
    assert model.preview((0, slice(2, 5))).files == ref[0, 2:5].files.filenames


def test_header_table_on_compact_columns_matches_dkist_headers(big_pair):
    """The header explorer's computations on the compact columns equal those on dkist's table."""
    from dkist_widgets.core.header_table import HeaderTable
    from dkist_widgets.core.lazy_open import HeaderColumns, open_lazily

    lazy, ref = big_pair
    fresh = open_lazily(lazy.files.basepath / load_samples.headers_only_asdf(STEPS_100K).name)
    compact = fresh.meta.header_columns
    assert isinstance(compact, HeaderColumns)
    grid = ref.files.fileuri_array.shape
    a = HeaderTable(compact, grid_shape=grid, stokes_axis=0)
    b = HeaderTable(ref.headers, grid_shape=grid, stokes_axis=0)
    assert a.keys == b.keys and a.numeric_keys == b.numeric_keys and a.instrument == b.instrument
    assert a.time.source == b.time.source and a.time.origin == b.time.origin
    assert np.array_equal(a.time.values, b.time.values, equal_nan=True)
    for key in ("ATMOS_R0", "AO_LOCK", "DINDEX3", "XPOSURE", "LIGHTLVL"):
        assert np.array_equal(a.numeric(key), b.numeric(key), equal_nan=True), key
    ids = np.random.default_rng(3).choice(len(compact), 500, replace=False)
    for key in ("FILENAME", "DATE-BEG", "INSTRUME", "STOKES"):
        assert np.array_equal(a.column_text(key, ids), b.column_text(key, ids)), key
    keys = ["DATE-AVG", "ATMOS_R0", "STOKES"]
    assert a.frame_table(keys, ids).equals(b.frame_table(keys, ids))
    assert np.array_equal(a.decimated("ATMOS_R0", 200)[1], b.decimated("ATMOS_R0", 200)[1], equal_nan=True)
    # only the columns used were read
    assert {k for k in compact.colnames if compact.is_loaded(k)} <= {
        "DATE-AVG",
        "INSTRUME",
        "ATMOS_R0",
        "AO_LOCK",
        "DINDEX3",
        "XPOSURE",
        "LIGHTLVL",
        "FILENAME",
        "DATE-BEG",
        "STOKES",
    }


def test_shared_header_table_is_built_once_per_dataset(visp_with_fits):
    from astropy.table import MaskedColumn

    from dkist_widgets.core.header_table import shared_header_table
    from dkist_widgets.core.model import DatasetModel

    model = DatasetModel.from_asdf(visp_with_fits)
    grid = model.dataset.files.fileuri_array.shape
    first = shared_header_table(model, grid_shape=grid, stokes_axis=0)
    time_axis = first.time
    assert shared_header_table(model, grid_shape=grid, stokes_axis=0) is first
    assert first.decimated("ATMOS_R0", 50) is first.decimated("ATMOS_R0", 50)

    def in_cm(key, values):
        return values * 100

    x_cm, y_cm = first.decimated("ATMOS_R0", 50, display=in_cm)
    x_m, y_m = first.decimated("ATMOS_R0", 50)
    assert np.array_equal(x_cm, x_m, equal_nan=True) and np.allclose(y_cm, y_m * 100, equal_nan=True)
    order = first.sort_order("ATMOS_R0", descending=True)
    values = np.arange(model.n_frames, dtype=float)
    model.headers.add_column(MaskedColumn(values, name="PIX_MEAN", mask=np.zeros(values.size, bool)))
    second = shared_header_table(model, grid_shape=grid, stokes_axis=0)
    assert second is not first and "PIX_MEAN" in second.keys and second.time is time_axis
    assert second.sort_order("ATMOS_R0", descending=True) is order  # a column's sort order is kept too
    assert np.array_equal(second.numeric("PIX_MEAN"), values)
    assert "PIX_MEAN" in model.dataset.headers.colnames  # ds.headers, built later, has it too
    other = DatasetModel.from_asdf(visp_with_fits)
    assert shared_header_table(other, grid_shape=grid, stokes_axis=0) is not second


def test_read_ahead_reads_the_plot_columns_in_a_thread():
    from astropy.table import Table

    from dkist_widgets.core.header_table import HeaderTable, plot_keys, read_ahead
    from dkist_widgets.core.lazy_open import open_lazily

    compact = open_lazily(load_samples.headers_only_asdf(STEPS_100K)).meta.header_columns
    keys = plot_keys(compact)
    assert keys[0] == "DATE-AVG" and "ATMOS_R0" in keys and "AO_LOCK" in keys
    thread = read_ahead(compact, [*keys, "NOT_A_KEY"])
    thread.join(60)
    assert {k for k in compact.colnames if compact.is_loaded(k)} == set(keys)
    assert read_ahead(compact, keys) is None  # nothing left to read
    assert read_ahead(Table({"DATE-AVG": ["2026-01-01T00:00:00"]}), keys) is None  # held in memory
    # what was read ahead is what a table reads itself
    fresh = open_lazily(load_samples.headers_only_asdf(STEPS_100K)).meta.header_columns
    np.testing.assert_array_equal(HeaderTable(compact).time.values, HeaderTable(fresh).time.values)


def test_opening_a_dataset_reads_and_parses_the_plot_columns_ahead(monkeypatch):
    """``open_dataset_file`` starts the explorer's first columns in a thread: the time
    column parsed once, the same values a table of dkist's headers gives; off, nothing."""
    import threading

    from dkist_widgets.core import dataset_files
    from dkist_widgets.core.header_table import HeaderTable, plot_keys

    path = load_samples.headers_only_asdf(STEPS_100K)
    monkeypatch.setattr(dataset_files, "READ_PLOT_COLUMNS_AHEAD", False)
    compact = dataset_files.open_dataset_file(path).meta.header_columns
    assert not any(compact.is_loaded(k) for k in compact.colnames)
    assert not compact.has_derived("DATE-AVG", "time_values")

    monkeypatch.setattr(dataset_files, "READ_PLOT_COLUMNS_AHEAD", True)
    ds = dataset_files.open_dataset_file(path)
    compact = ds.meta.header_columns
    for thread in [t for t in threading.enumerate() if t.name == "dkw-header-read-ahead"]:
        thread.join(60)
    assert {k for k in compact.colnames if compact.is_loaded(k)} == set(plot_keys(compact))
    assert compact.has_derived("DATE-AVG", "time_values")
    ahead = HeaderTable(compact).time
    assert ahead.values is HeaderTable(compact).time.values  # parsed once, shared
    ref = HeaderTable(_dkist(path).headers).time
    assert ahead.source == ref.source == "DATE-AVG" and ahead.origin == ref.origin
    np.testing.assert_array_equal(ahead.values, ref.values)


def test_derived_values_are_computed_once_and_forgotten_when_the_column_is_replaced():
    import threading
    import time

    from astropy.table import Column

    from dkist_widgets.core.header_table import HeaderTable
    from dkist_widgets.core.lazy_open import open_lazily

    compact = open_lazily(load_samples.headers_only_asdf(STEPS_100K)).meta.header_columns
    calls = []

    def slow():
        calls.append(1)
        time.sleep(0.2)
        return object()

    got = []
    threads = [threading.Thread(target=lambda: got.append(compact.derived("ATMOS_R0", "x", slow))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1 and len({id(g) for g in got}) == 1
    before = HeaderTable(compact).time
    n = len(compact)
    compact.replace_column("DATE-AVG", Column(["2026-01-01T00:00:00"] * (n - 1) + ["2026-01-01T00:00:10"]))
    after = HeaderTable(compact).time
    assert after.values is not before.values and after.values[-1] == 10.0 and after.values[0] == 0.0
