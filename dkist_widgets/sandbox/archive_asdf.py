"""Write a dataset's ASDF from a header table, with dkist-inventory's own pieces.

Every ASDF of the sample archive goes through here, FITS-backed or headers-only, so
``dkist.load_dataset`` sees what the DKIST data centre would produce: the header
parsing, gWCS and inventory come from ``dkist_inventory`` (``HeaderParser``,
``TransformBuilder``, ``extract_inventory``, ``make_asdf_file_object``); the file
manager is ``dkist.io.DKISTFileManager`` with the FITS loader.

Why not simply ``dkist_inventory.asdf_generator.dataset_from_fits``: it reads every
FITS header back from disk (we already hold them as a table) and two of its steps are
O(n) Python loops that dominate at scale: ``HeaderParser.midpoint_header`` compares
``Time`` objects one by one (18 s at 100k frames) and ``references_from_filenames``
calls ``os.path.relpath`` per file. Here the midpoint header is computed with numpy
``datetime64`` (same rule: the frame whose ``DATE-AVG`` is closest to the middle of
the time range) and seeded into the parser's cached property, and the file names are
already relative to the ASDF's folder. Tiled (mosaic) datasets are small and go
through ``asdf_tree_from_filenames`` unchanged.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from astropy.table import Table

__all__ = ["write_dataset_asdf", "fast_midpoint_index", "to_plain"]


def fast_midpoint_index(date_avg) -> int:
    """Index of the frame whose DATE-AVG is closest to the middle of the time range."""
    times = np.asarray(np.asarray(date_avg, dtype=str), dtype="datetime64[us]")
    tmin, tmax = times.min(), times.max()
    mid = tmin + (tmax - tmin) // 2
    return int(np.argmin(np.abs((times - mid).astype(np.int64))))


#: Header columns dkist-inventory reads through ``HeaderParser.header_array``.
_HEADER_ARRAY_KEYS = ("DATE-AVG", "DATE-BEG", "FRAMEWAV")
_HEADER_ARRAY_PREFIXES = ("CRVAL", "CRPIX", "PC")


def _dindex_sorted(table: Table) -> bool:
    """True when rows are already in the data centre's order (DINDEX, slowest last)."""
    keys = sorted((k for k in table.colnames if k.startswith("DINDEX")), reverse=True)
    if not keys:
        return True
    order = np.lexsort([np.asarray(table[k]) for k in reversed(keys)])
    return bool((order == np.arange(len(table))).all())


def _parser(parser_class, table: Table, filenames):
    """A ``HeaderParser`` over ``table`` without its per-call copies when possible.

    ``HeaderParser.__init__`` sorts by DINDEX, re-orders columns, validates, and its
    cached properties copy the table again (``headers``) and convert every row to one
    structured array (``header_array``, ~4 KB a row with 120 keys: 4 GB at 1M
    frames). When the rows are already sorted (the archive builds them so) the
    parser is given the table as is, ``header_array`` holds only the columns
    dkist-inventory reads from it (dates, CRVAL/CRPIX/PC, FRAMEWAV) and the midpoint
    header is seeded (see module docstring). Otherwise the ordinary constructor runs.
    """
    if not _dindex_sorted(table):
        work = table.copy(copy_data=False)
        work["filename"] = np.asarray(filenames, dtype=str)
        parser = parser_class(work, validate=False)
    else:
        with_names = Table(table, copy=False)
        with_names["filename"] = np.asarray(filenames, dtype=str)
        parser = parser_class.__new__(parser_class)
        parser._headers = with_names
        parser.__dict__["headers"] = table
        small = [k for k in table.colnames if k in _HEADER_ARRAY_KEYS or k.startswith(_HEADER_ARRAY_PREFIXES)]
        parser.__dict__["header_array"] = np.array(table[small]).reshape(parser.files_shape, order="F")
    headers = parser.headers
    parser.__dict__["midpoint_header"] = headers[fast_midpoint_index(headers["DATE-AVG"])]
    return parser


def _single_dataset(parser, transform_builder, inventory: Mapping[str, Any]):
    import astropy.units as u
    import dask.array
    from astropy.io.fits.hdu.base import BITPIX2DTYPE
    from dkist.dataset import Dataset
    from dkist.io import DKISTFileManager
    from dkist.io.dask.loaders import AstropyFITSLoader

    table = parser._headers
    first = parser.header
    naxis = int(first["NAXIS"])
    shape_keys = [f"NAXIS{a}" for a in range(naxis, 0, -1)]
    for key in ["BITPIX", *shape_keys]:
        column = np.asarray(table[key])
        if not (column == column[0]).all():
            raise ValueError(f"{key} differs between the frames of one dataset")
    dtype = np.dtype(BITPIX2DTYPE[int(first["BITPIX"])])
    shape = tuple(int(first[k]) for k in shape_keys)
    # C order over the file axes: (stokes, map, step) for VISP.
    names = np.asarray(table["filename"], dtype=str)
    fileuris = names.reshape(parser.files_shape, order="F").T
    manager = DKISTFileManager.from_parts(fileuris.tolist(), 0, dtype.name, shape, loader=AstropyFITSLoader)
    meta = {
        "inventory": inventory,
        "headers": parser.headers,
        "parameters": [],
        "observation_input_frames": [],
        "calibration_input_frames": [],
        "recipe_run_config": {},
    }
    # The ASDF stores the file manager, not the array: a placeholder of the right
    # shape stands in for dkist's per-file dask graph (8 s at 1M files); the graph
    # is built again from the file list when the ASDF is loaded.
    placeholder = dask.array.empty(manager._fm.output_shape, dtype=dtype, chunks=-1)
    ds = Dataset(
        placeholder,
        transform_builder.gwcs,
        unit=u.Unit(parser.data_unit, format="fits"),
        meta=meta,
    )
    ds._file_manager = manager
    return ds


def write_dataset_asdf(
    dataset_dir: os.PathLike,
    headers: Table,
    filenames: Sequence[str],
    inventory: Mapping[str, Any],
    *,
    compress: bool = True,
) -> tuple[Path, dict]:
    """Write the ASDF describing the files ``filenames`` into ``dataset_dir``.

    The file is named as the data centre names it (``asdfObjectKey``'s last part,
    ``VISP_L1_20221024T212809_ABCDE_metadata.asdf``).

    Parameters
    ----------
    headers
        One row per file (any order: rows are sorted by DINDEX as the data centre
        does); row *i* belongs to ``filenames[i]``.
    filenames
        File names relative to ``dataset_dir`` (the FITS may or may not exist).
    inventory
        Inventory keys that cannot be derived from headers (bucket, frameCount,
        datasetSize, browseMovieUrl, ...); they override derived ones.
    compress
        zlib-compress the ASDF's binary blocks (header columns, lookup tables).

    Returns
    -------
    (path, inventory)
        The written file and the inventory record stored inside it.
    """
    from dkist_inventory.asdf_generator import asdf_tree_from_filenames, make_asdf_file_object
    from dkist_inventory.header_parsing import HeaderParser
    from dkist_inventory.inventory import extract_inventory
    from dkist_inventory.transforms import TransformBuilder

    dataset_dir = Path(dataset_dir)
    dataset_dir.mkdir(parents=True, exist_ok=True)
    if len(filenames) != len(headers):
        raise ValueError(f"{len(filenames)} file names for {len(headers)} header rows")
    table = Table(headers, copy=False)
    extra = dict(inventory)

    if "MINDEX1" in table.colnames and len(np.unique(np.asarray(table["MINDEX1"]))) > 1:
        tree = asdf_tree_from_filenames(
            [dataset_dir / f for f in filenames],
            headers=table.copy(),
            relative_to=dataset_dir,
            extra_inventory=extra,
        )
    else:
        parser = _parser(HeaderParser, table, filenames)
        builder = TransformBuilder(parser)
        record = extract_inventory(parser, builder, **extra)
        tree = {"dataset": _single_dataset(parser, builder, record)}

    record = tree["dataset"].meta["inventory"]
    record.pop("dataset_size", None)  # dkist-inventory's internal name; datasetSize is given
    normalised = to_plain(record)
    record.clear()
    record.update(normalised)
    # dkist-inventory < 1.11 does not derive the quality report's key; the same name
    # as its generate_quality_report_filename (1.11), so the sandbox serves one layout.
    record.setdefault(
        "qualityReportObjectKey",
        f"{record['primaryProposalId']}/{record['datasetId']}/{record['datasetId']}_quality_report.pdf",
    )
    path = dataset_dir / Path(record["asdfObjectKey"]).name
    kwargs = {"all_array_storage": "internal"}
    if compress:
        kwargs["all_array_compression"] = "zlib"
    import asdf

    # make_asdf_file_object validates against dkist's level-1 schema; writing would
    # validate the same tree a second time (tens of seconds at 1M frames).
    with make_asdf_file_object(tree) as afile, asdf.config_context() as config:
        config.validate_on_write = False
        afile.write_to(path, **kwargs)
    return path, dict(record)


def to_plain(value):
    """Plain JSON-able Python: numpy scalars to Python, tuples to lists, NaN to None."""
    if isinstance(value, dict):
        return {str(to_plain(k)): to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return [to_plain(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value
