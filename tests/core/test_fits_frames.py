"""core.fits_frames against astropy (the oracle dkist itself reads with) and dkist's ``ds.data``.

Every value is compared with ``np.array(hdu.section[item], dtype=np.float32)`` from
``astropy.io.fits.open(..., do_not_scale_image_data=True)``, the way dkist opens
files; files the fast reader must leave to astropy are checked to return ``None``.
"""

from __future__ import annotations

import shutil

import dkist
import numpy as np
import pytest
from astropy.io import fits

from dkist_widgets.core import pixels as px
from dkist_widgets.core.fits_frames import image_layout, read_image_part
from dkist_widgets.core.model import DatasetModel


def _astropy(path, target, item):
    with fits.open(path, memmap=False, do_not_scale_image_data=True, lazy_load_hdus=True) as hdul:
        return np.array(hdul[target].section[item], dtype=np.float32)


ITEMS = [(0, slice(None), 7), (0, 5, slice(None)), (0, slice(2, 40, 3), slice(None, None, -1)), (Ellipsis,)]


def test_every_sample_visp_file_reads_as_astropy_reads_it(archive):
    ds = dkist.load_dataset(archive.asdf_path("KPLMQ"))
    paths = [ds.files.basepath / name for name in ds.files.filenames]
    assert len(paths) == 400
    assert all(image_layout(path) is not None for path in paths)
    for path in paths[::20]:
        layout = image_layout(path)
        assert layout is not None, path  # plain float images: the fast path is taken
        assert layout[2] == tuple(int(n) for n in ds.files.shape)
        for item in ITEMS:
            ours = read_image_part(path, 0, item)
            np.testing.assert_array_equal(ours, _astropy(path, 0, item))
            assert ours.dtype == np.float32


def test_map_across_files_equals_dkist_data(archive, tmp_path):
    ds = dkist.load_dataset(archive.asdf_path("KPLMQ"))
    model = DatasetModel(ds)
    slab = px.read_image(model, (1, 3), {0: 1, 2: 9})
    expected = ds.data[1, :, 9, :].compute().T
    np.testing.assert_array_equal(slab.values, expected)
    assert slab.n_read == slab.n_files == ds.data.shape[1]


def _write(path, hdus):
    fits.HDUList(hdus).writeto(path)
    return path


@pytest.mark.parametrize(
    "make",
    [
        # unsigned 16-bit stored with BZERO = 32768: raw (unscaled) values, as dkist reads them
        lambda: [fits.PrimaryHDU(np.arange(60000, dtype=np.uint16).reshape(200, 300))],
        lambda: [fits.PrimaryHDU(np.linspace(-5, 5, 600).reshape(20, 30))],  # float64
        lambda: [fits.PrimaryHDU(np.arange(600, dtype=np.int64).reshape(20, 30))],
        lambda: [fits.PrimaryHDU((np.arange(600) % 256).astype(np.uint8).reshape(20, 30))],
    ],
)
def test_other_bitpix_and_scaling_equal_astropy(tmp_path, make):
    path = _write(tmp_path / "f.fits", make())
    for item in [(slice(None), 3), (5, slice(None)), (Ellipsis,), (slice(1, 9, 2), slice(None, None, -4))]:
        ours = read_image_part(path, 0, item)
        assert ours is not None
        np.testing.assert_array_equal(ours, _astropy(path, 0, item))


def test_blank_and_bscale_on_integers_are_not_applied_like_dkist(tmp_path):
    hdu = fits.PrimaryHDU(np.arange(-300, 300, dtype=np.int16).reshape(20, 30))
    hdu.header["BLANK"] = -5
    hdu.header["BSCALE"] = 2.5
    hdu.header["BZERO"] = 3.0
    path = _write(tmp_path / "f.fits", [hdu])
    ours = read_image_part(path, 0, (Ellipsis,))
    np.testing.assert_array_equal(ours, _astropy(path, 0, (Ellipsis,)))
    assert ours[0, 0] == -300  # raw


def test_image_extension_after_a_primary_with_data(tmp_path):
    primary = fits.PrimaryHDU(np.ones((7, 11), dtype=np.float32))  # its padded data must be skipped
    image = fits.ImageHDU(np.arange(1 * 40 * 50, dtype=">f4").reshape(1, 40, 50))
    path = _write(tmp_path / "f.fits", [primary, image])
    ours = read_image_part(path, 1, (0, slice(None), 4))
    np.testing.assert_array_equal(ours, _astropy(path, 1, (0, slice(None), 4)))
    assert read_image_part(path, 2, (Ellipsis,)) is None  # no such HDU: astropy raises for the caller


def test_unusual_or_damaged_files_are_left_to_astropy(tmp_path):
    data = np.arange(40 * 50, dtype=np.float32).reshape(40, 50)
    compressed = _write(tmp_path / "c.fits", [fits.PrimaryHDU(), fits.CompImageHDU(data)])
    assert read_image_part(compressed, 1, (Ellipsis,)) is None
    part, why = px._read_part(compressed, 1, (slice(None), 3))  # (array, None) or (None, what is wrong)
    assert why is None
    np.testing.assert_array_equal(part, data[:, 3])  # astropy read it

    plain = _write(tmp_path / "p.fits", [fits.PrimaryHDU(data)])
    truncated = tmp_path / "t.fits"
    truncated.write_bytes(plain.read_bytes()[:-3000])
    assert read_image_part(truncated, 0, (Ellipsis,)) is None
    garbage = tmp_path / "g.fits"
    garbage.write_bytes(b"not a FITS file" * 400)
    assert read_image_part(garbage, 0, (Ellipsis,)) is None
    assert read_image_part(tmp_path / "absent.fits", 0, (Ellipsis,)) is None
    assert read_image_part(plain, 0, (Ellipsis,), expected_shape=(50, 40)) is None
    np.testing.assert_array_equal(read_image_part(plain, 0, (Ellipsis,), expected_shape=(40, 50)), data)
    # the caller still sees the damaged and absent files as unreadable
    for unreadable in (garbage, tmp_path / "absent.fits"):
        part, why = px._read_part(unreadable, 0, (Ellipsis,))
        assert part is None and why


def test_a_damaged_file_in_a_dataset_is_missing(archive, tmp_path):
    ds = dkist.load_dataset(archive.asdf_path("KPLMQ"))
    names = np.asarray(ds.files.filenames)
    for name in names[:20]:
        shutil.copy(ds.files.basepath / name, tmp_path / name)
    (tmp_path / names[3]).write_bytes((tmp_path / names[3]).read_bytes()[:5000])
    model = DatasetModel(ds)
    model.set_basepath(tmp_path)
    slab = px.read_image(model, (1, 3), {0: 0, 2: 9})
    assert slab.n_files == 100
    assert slab.missing[:, 3].all()
    assert not slab.missing[:, [0, 1, 2, 4]].any()
