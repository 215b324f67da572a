"""Read part of a plain FITS image straight from the file: one open, a header scan, one read.

Why: the Preview's x-y map reads one row from each of hundreds of files, and
``astropy.io.fits.open`` costs ~1.8 ms per file there (header parsing into ``Card``
objects, HDU classes), most of the map's time (issue 18.5). A DKIST frame's
header only needs a handful of cards to locate its pixels.

Choices
-------
* **Only what is certain, else ``None``.** :func:`read_image_part` handles an
  uncompressed image HDU (primary or ``IMAGE`` extension) with ``BITPIX`` in
  8/16/32/64/-32/-64, no random groups, and a file long enough to hold the data.
  Anything else (tile-compressed ``BINTABLE`` HDUs, a truncated or missing file, a
  header it cannot parse, a shape other than ``expected_shape``) returns ``None``
  and the caller reads the file with astropy, so damaged files are diagnosed by
  astropy exactly as before and nothing here decides a file is damaged.
* **Values as dkist gives them.** dkist opens files with
  ``do_not_scale_image_data=True``, so ``BSCALE``/``BZERO``/``BLANK`` are not
  applied: the raw stored values, converted to float32, are what
  ``np.array(hdu.section[item], dtype=np.float32)`` gives (checked in tests against
  astropy for scaled floats, unsigned 16-bit via ``BZERO`` and ``BLANK`` integers,
  and against dkist's ``ds.data`` on the sample archive).
* **Each file's own header.** The data offset is found in every file (reading the
  header blocks costs microseconds); nothing is assumed from another file.
* **Reading.** ``numpy.memmap`` over the data, indexed with the item and copied:
  only the pages holding the requested pixels are read (one row of a 976 x 2555
  frame touches three 4 KiB pages).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

__all__ = ["read_image_part", "image_layout"]

_BLOCK = 2880
_CARD = 80
_MAX_HEADER_BLOCKS = 2000  # 5.7 MB of header: beyond that, let astropy decide
_DTYPES = {8: ">u1", 16: ">i2", 32: ">i4", 64: ">i8", -32: ">f4", -64: ">f8"}


def _header(f) -> dict[str, bytes] | None:
    """The raw value bytes per keyword of the header at the file's position, or ``None``.

    Leaves the file at the start of the data. Only the value before any ``/`` comment
    is kept (enough for the numeric, logical and short string cards used here).
    """
    cards: dict[str, bytes] = {}
    for _ in range(_MAX_HEADER_BLOCKS):
        block = f.read(_BLOCK)
        if len(block) != _BLOCK:
            return None
        for start in range(0, _BLOCK, _CARD):
            card = block[start : start + _CARD]
            key = card[:8].rstrip()
            if key == b"END":
                return cards
            if card[8:10] == b"= " and key not in (b"COMMENT", b"HISTORY", b""):
                name = key.decode("ascii", "replace")
                if name not in cards:
                    cards[name] = card[10:].split(b"/", 1)[0].strip()
    return None


def _int(cards: dict[str, bytes], key: str, default: int | None = None) -> int | None:
    raw = cards.get(key)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        return None


def image_layout(path: str | os.PathLike, target: int = 0) -> tuple[int, np.dtype, tuple[int, ...]] | None:
    """``(data offset, dtype, shape)`` of HDU ``target`` if it is a plain image, else ``None``."""
    try:
        with open(path, "rb") as f:
            return _layout_in(f, target)
    except OSError:
        return None


def _layout_in(f, target: int) -> tuple[int, np.dtype, tuple[int, ...]] | None:
    size = os.fstat(f.fileno()).st_size
    for index in range(target + 1):
        cards = _header(f)
        if cards is None:
            return None
        first = "SIMPLE" if index == 0 else "XTENSION"
        if first not in cards:
            return None
        if index == 0 and cards[first] != b"T":
            return None
        bitpix = _int(cards, "BITPIX")
        naxis = _int(cards, "NAXIS")
        if bitpix not in _DTYPES or naxis is None or not 0 <= naxis <= 999:
            return None
        axes = [_int(cards, f"NAXIS{i}") for i in range(1, naxis + 1)]
        if any(n is None or n < 0 for n in axes):
            return None
        pcount, gcount = _int(cards, "PCOUNT", 0), _int(cards, "GCOUNT", 1)
        if pcount is None or gcount is None:
            return None
        offset = f.tell()
        n_values = int(np.prod(axes, dtype=np.int64)) if naxis else 0
        if index == target:
            if index > 0 and cards["XTENSION"].strip(b"' ") != b"IMAGE":
                return None  # tile-compressed images are BINTABLEs: astropy reads them
            if cards.get("GROUPS") == b"T" or cards.get("ZIMAGE") == b"T" or pcount or gcount != 1:
                return None
            if naxis == 0 or offset + n_values * abs(bitpix) // 8 > size:
                return None
            return offset, np.dtype(_DTYPES[bitpix]), tuple(reversed(axes))
        n_bytes = abs(bitpix) // 8 * gcount * (pcount + n_values)
        f.seek(offset + -(-n_bytes // _BLOCK) * _BLOCK)
    return None


def read_image_part(
    path: str | os.PathLike, target: int, item: tuple, expected_shape: tuple[int, ...] | None = None
) -> np.ndarray | None:
    """``float32`` copy of ``data[item]`` of HDU ``target``, or ``None`` when astropy must read it.

    ``expected_shape`` (the shape the dataset says its files hold) makes any other
    shape return ``None`` so the caller's own check names the file.
    """
    try:
        with open(Path(path), "rb") as f:
            layout = _layout_in(f, int(target))
            if layout is None:
                return None
            offset, dtype, shape = layout
            if expected_shape is not None and shape != tuple(int(n) for n in expected_shape):
                return None
            data = np.memmap(f, dtype=dtype, mode="r", offset=offset, shape=shape)
            try:
                return np.array(data[item], dtype=np.float32)
            finally:
                del data
    except (OSError, ValueError, IndexError, TypeError):
        return None
