"""Datasets for the file-index and model tests: dkist's own test ASDFs plus two synthetic ones.

The test ASDFs ship inside dkist (``dkist/data/test``); the gzipped ones are unpacked
once per process into a private temporary folder. The synthetic datasets are real
dkist ``Dataset`` objects built from a real ``FileManager`` (no FITS files needed):
``single_file`` (one file: dkist drops the file axes) and ``unit_axis`` (file grid
``(1, 80)``: dkist 1.18.1 cannot slice it at all).

Hypothesis strategies for ``ds[...]`` items also live here.
"""

from __future__ import annotations

import gzip
import shutil
import tempfile
import warnings
from functools import cache, lru_cache
from pathlib import Path

import dkist
import numpy as np
from hypothesis import strategies as st

DKIST_TEST_DATA = Path(dkist.__file__).parent / "data" / "test"

# name -> file in dkist/data/test. 5d_gwcs.asdf holds only a gWCS (no dataset) and
# test_L2_inversion.asdf.gz is an Inversion (no file manager): neither can be sliced
# as a Dataset, so they are not here.
PLAIN = {
    "eit": "eit_dataset-1.2.0.asdf",
    "large_visp": "large_visp.asdf.gz",
    "croppable_visp": "croppable_visp.asdf.gz",
    "croppable_cryo": "croppable_cryo.asdf.gz",
    "old_wcs_visp": "test_old_wcs_BRMQY.asdf",
    "visp_no_headers": "visp_no_headers.asdf.gz",
}
TILED = {
    "tiled_test": "test_tiled_dataset-1.3.0_dataset-1.2.0.asdf",
    "large_vbi": "large_vbi.asdf.gz",
}
SYNTHETIC = ("single_file", "unit_axis")


@lru_cache(maxsize=1)
def _unpack_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="dkist-widgets-test-asdf-"))


def asdf_path(filename: str) -> Path:
    src = DKIST_TEST_DATA / filename
    if not filename.endswith(".gz"):
        return src
    dst = _unpack_dir() / filename[:-3]
    if not dst.exists():
        with gzip.open(src, "rb") as fin, open(dst.with_suffix(".part"), "wb") as fout:
            shutil.copyfileobj(fin, fout)
        dst.with_suffix(".part").rename(dst)
    return dst


@cache
def load(name: str):
    """Load (once per process) a named test dataset."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if name in PLAIN:
            return dkist.load_dataset(asdf_path(PLAIN[name]))
        if name in TILED:
            return dkist.load_dataset(asdf_path(TILED[name]))
        if name == "single_file":
            return synthetic_dataset((1,), in_file_shape=(1, 50, 128), base="large_visp", drop_axes=2)
        if name == "unit_axis":
            return synthetic_dataset((1, 80), base="large_visp")
    raise KeyError(name)


def synthetic_dataset(grid_shape, *, base="large_visp", in_file_shape=None, drop_axes=0, names=None, basepath=None):
    """A real dkist Dataset over a made-up file grid (no FITS files exist).

    The FileManager, dask array and Dataset are built the way dkist's ASDF converter
    builds them (``FileManager.from_parts`` -> ``_generate_array`` -> ``Dataset``),
    reusing the WCS of ``base`` (``drop_axes`` leading pixel axes sliced away when the
    new data has fewer axes).
    """
    from astropy.table import Table
    from dkist import Dataset
    from dkist.io.dask.loaders import AstropyFITSLoader
    from dkist.io.dask.striped_array import FileManager

    ref = load(base)
    sea = ref.files._fm._striped_external_array
    n = int(np.prod(grid_shape))
    if names is None:
        names = np.char.add(np.char.add("f", np.arange(n).astype(str)), ".fits")
    uris = np.asarray(names).reshape(grid_shape)
    fm = FileManager.from_parts(
        uris,
        sea.target,
        sea.dtype,
        tuple(in_file_shape or sea.shape),
        loader=AstropyFITSLoader,
        basepath=basepath,
    )
    data = fm._generate_array()
    wcs = ref.wcs if not drop_axes else ref[(0,) * drop_axes].wcs
    headers = Table({"FILENAME": np.char.add("H", uris.ravel()), "FRAMEID": np.arange(n)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = Dataset(data, wcs=wcs, meta={"headers": headers, "inventory": dict(ref.meta["inventory"])})
    ds._file_manager = fm
    return ds


def dkist_answer(ds, item):
    """``(shape, n_files, filenames)`` of ``ds[item]`` by dkist itself, or the exception it raises."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            sliced = ds[item]
            return tuple(sliced.data.shape), len(sliced.files), list(sliced.files.filenames)
        except Exception as exc:  # noqa: BLE001 - any rejection counts
            return exc


# ---------------------------------------------------------------- strategies


def _entry(size: int):
    valid_int = st.integers(0, max(size - 1, 0))
    wild_int = st.integers(-2, size + 2)
    valid_bound = st.one_of(st.none(), st.integers(0, size))
    wild_bound = st.one_of(st.none(), st.integers(-3, size + 3))
    valid_slice = st.builds(slice, valid_bound, valid_bound)
    wild_slice = st.builds(slice, wild_bound, wild_bound, st.sampled_from([None, None, 1, 2, -1]))
    return st.one_of(
        valid_int,
        valid_int.map(np.int64),
        valid_slice,
        valid_slice,
        valid_slice,
        st.just(slice(None)),
        wild_int,
        wild_slice,
    )


@st.composite
def items(draw, shape):
    """Items for ``ds[...]`` on a dataset of this data shape: mostly valid, some not."""
    ndim = len(shape)
    length = draw(st.integers(0, ndim + (1 if draw(st.integers(0, 9)) == 0 else 0)))
    entries = [draw(_entry(shape[i] if i < ndim else 3)) for i in range(length)]
    if draw(st.integers(0, 3)) == 0:
        at = draw(st.integers(0, len(entries)))
        # entries after the ellipsis are meant for the trailing axes
        tail = len(entries) - at
        for j in range(at, len(entries)):
            axis = ndim - tail + (j - at)
            if 0 <= axis < ndim:
                entries[j] = draw(_entry(shape[axis]))
        entries.insert(at, Ellipsis)
    form = draw(st.integers(0, 9))
    if len(entries) == 1 and form < 4:
        return entries[0]
    if form == 9:
        return list(entries)
    return tuple(entries)


@st.composite
def frame_selections(draw, grid_shape, max_boxes=3):
    """A frame selection made of a few random boxes of the file grid (C-order flat ids)."""
    n = int(np.prod(grid_shape))
    mask = np.zeros(grid_shape, dtype=bool)
    for _ in range(draw(st.integers(0, max_boxes))):
        box = []
        for size in grid_shape:
            lo = draw(st.integers(0, size - 1))
            hi = draw(st.integers(lo + 1, size))
            box.append(slice(lo, hi))
        mask[tuple(box)] = True
    extra = draw(st.lists(st.integers(0, n - 1), max_size=3))
    flat = mask.ravel()
    flat[extra] = True
    return np.flatnonzero(flat)
