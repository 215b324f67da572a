"""Write many small FITS files fast from one header table.

``astropy.io.fits.PrimaryHDU(...).writeto`` costs ~20 ms per file here (header
parsing, verification); a dataset of 800 files would take 16 s. The files written
here are plain single-HDU FITS: header cards formatted by ``astropy.io.fits.Card``
(so values are formatted exactly as astropy would), constant cards formatted once
per dataset, ``END``, blank padding to 2880 bytes, then the big-endian data padded
with zeros to 2880 bytes. Masked values (e.g. ``ATMOS_R0`` where the data centre
drops it) leave the card out of that file. ``FRAMEVOL`` (file size in MiB) is filled
in per file with the exact size and written back into the table, so the ASDF's
header table equals the FITS headers.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.table import Table

__all__ = ["write_fits_files", "expected_file_size", "NOT_IN_PRIMARY_HDU"]

#: Simulator keys that do not belong in a single primary HDU (the simulator models
#: compressed extension HDUs) or that we do not compute (checksums).
NOT_IN_PRIMARY_HDU = ("XTENSION", "PCOUNT", "GCOUNT", "EXTEND", "CHECKSUM", "DATASUM", "COMMENT", "HISTORY")

_BLOCK = 2880


def _pyvalue(value):
    if isinstance(value, np.generic):
        return value.item()
    return value


def _card(key: str, value) -> str:
    return fits.Card(key, _pyvalue(value)).image


def _padded(n: int) -> int:
    return -(-n // _BLOCK) * _BLOCK


def expected_file_size(n_header_cards: int, data_bytes: int) -> int:
    """Bytes of a single-HDU FITS file with this many 80-char cards (END excluded)."""
    return _padded((n_header_cards + 1) * 80) + _padded(data_bytes)


def write_fits_files(
    directory: os.PathLike,
    headers: Table,
    filenames: Sequence[str],
    frames,
) -> list[Path]:
    """Write one FITS file per header row.

    Parameters
    ----------
    headers
        Table in 214 card order; must start with SIMPLE, BITPIX, NAXIS, NAXISn matching
        the frames. Masked cells are left out of that file's header. ``FRAMEVOL`` is
        set to each file's size in MiB (in the table too).
    frames
        Sequence (or array) of arrays, ``frames[i]`` written with ``headers[i]``.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    names = headers.colnames
    columns = {}
    constant = {}
    for key in names:
        col = headers[key]
        mask = np.ma.getmaskarray(col) if hasattr(col, "mask") else None
        data = np.asarray(col)
        is_constant = (mask is None or not mask.any()) and bool((data == data[0]).all())
        if is_constant:
            constant[key] = _card(key, data[0])
        else:
            columns[key] = (data, mask)
    has_framevol = "FRAMEVOL" in names
    sizes = np.zeros(len(headers))
    paths = []
    for i, name in enumerate(filenames):
        frame = np.asarray(frames[i])
        cards = []
        framevol_pos = None
        for key in names:
            if key == "FRAMEVOL":
                framevol_pos = len(cards)
                continue
            image = constant.get(key)
            if image is None:
                data, mask = columns[key]
                if mask is not None and mask[i]:
                    continue
                image = _card(key, data[i])
            cards.append(image)
        n_cards = sum(len(c) // 80 for c in cards) + (1 if has_framevol else 0)
        payload = frame.astype(frame.dtype.newbyteorder(">"), copy=False).tobytes()
        size = expected_file_size(n_cards, len(payload))
        if has_framevol:
            framevol = size / 2**20
            cards.insert(framevol_pos, _card("FRAMEVOL", framevol))
            sizes[i] = framevol
        header = "".join(cards) + "END".ljust(80)
        header = header.ljust(_padded(len(header)))
        path = directory / name
        with open(path, "wb") as f:
            f.write(header.encode("ascii"))
            f.write(payload)
            f.write(b"\0" * (_padded(len(payload)) - len(payload)))
        paths.append(path)
    if has_framevol:
        headers["FRAMEVOL"] = sizes
    return paths
