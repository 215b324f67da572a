"""Open a DKIST level 1 ASDF lazily: the same ``dkist.Dataset``, built in seconds at a million frames.

:func:`open_lazily` builds the dataset the way dkist's converters do
(``DatasetConverter.from_yaml_tree``, ``FileManagerConverter.from_yaml_tree`` and
``dkist.dataset.loader._load_l1_from_asdf``), from parts that cost nothing per file:

1. the file list is read from the tree's text (:func:`.asdf_text.split_tree`), not by
   the YAML parser;
2. asdf (with its installed extensions, dkist's included) converts the rest of the
   tree: WCS, unit, inventory, history; the dataset, file-manager and header-table
   tags are removed from the text given to it, so those come as plain dicts
   (:func:`.tree_file.read_tree`);
3. the file manager is dkist's ``FileManager`` over a :class:`.file_grid.LazyStripedArray`
   (a loader per file when the file is used) and the data a dask array with dkist's
   chunks whose tasks are made per file computed (:func:`.file_grid.lazy_dask_array`);
4. the header table stays in its blocks until a column is asked for
   (:class:`.header_columns.HeaderColumns`); ``ds.headers`` builds dkist's table then
   (:class:`.lazy_meta.LazyMeta`).

The result is a plain ``dkist.Dataset``. Nothing global is changed: no asdf extension,
converter or config and no dkist setting is touched, so ``dkist.load_dataset`` in the
same kernel behaves as before.

:func:`open_dataset` (a ``dkist.load_dataset`` stand-in) and :func:`open_dataset_file` (the
same with :mod:`..dataset_files`' plain-words errors) are the entry points: anything this reader does not recognise (a
tiled dataset, an older dataset tag, quoted or ragged file lists, other block
compressions, a QTable, a file that fails for any reason) is opened with
``dkist.load_dataset`` instead, and the log (``dkist_widgets.core.lazy_open``) says why.
"""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path

import numpy as np

from .asdf_text import UnusualLayout, split_tree
from .blocks import BlockFile, UnsupportedBlocks
from .file_grid import LazyStripedArray
from .header_columns import HeaderColumns, column_specs
from .lazy_meta import LazyMeta
from .tree_file import read_tree

__all__ = ["open_dataset", "open_dataset_file", "open_lazily", "UnusualLayout"]

log = logging.getLogger("dkist_widgets.core.lazy_open")


def open_lazily(path: os.PathLike | str):
    """The ``dkist.Dataset`` of the level 1 ASDF at ``path``, built lazily.

    Raises :class:`UnusualLayout` (or :class:`UnsupportedBlocks`) when the file is not
    laid out as expected; nothing is left open then.
    """
    from dkist import Dataset
    from dkist.io.dask.loaders import AstropyFITSLoader
    from dkist.io.dask.striped_array import FileManager

    path = Path(path).expanduser().resolve()
    split = split_tree(path)
    tree = read_tree(split.yaml, path, split.first_block, check_version=_dkist_version_check())
    node = tree.get("dataset")
    if not isinstance(node, dict) or not isinstance(node.get("data"), dict) or not isinstance(node.get("meta"), dict):
        raise UnusualLayout("the dataset entry is not laid out as a level 1 Dataset")
    fm_node = node["data"]
    if fm_node.get("chunksize") is not None:
        raise UnusualLayout("the file manager sets a chunk size (deprecated in dkist)")
    meta_node = dict(node["meta"])
    table_node = meta_node.get("headers")
    if not isinstance(table_node, dict) or "inventory" not in meta_node:
        raise UnusualLayout("the dataset's meta has no header table or no inventory")

    blocks = BlockFile(path, split.first_block)
    columns = HeaderColumns(blocks, column_specs(table_node), table_meta=table_node.get("meta"))

    base_path = path.parent
    striped = LazyStripedArray(
        split.fileuris,
        fm_node["target"],
        fm_node["datatype"],
        fm_node["shape"],
        loader=AstropyFITSLoader,
        basepath=base_path,
    )
    subslice = fm_node.get("subslice")
    if subslice:
        idx = len(np.shape(split.fileuris))
        subslice = [np.s_[:]] * idx + [slice(*s) if isinstance(s, list) else s for s in subslice]
    file_manager = FileManager(striped, subslice)

    data = striped._generate_array()
    if subslice:
        data = data[tuple(subslice)]
    meta = LazyMeta(meta_node, columns)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dataset = Dataset(data, wcs=node["wcs"], meta=meta, unit=node.get("unit"), mask=node.get("mask"))
    dataset._file_manager = file_manager
    dataset.meta["history"] = tree["history"]
    dataset.files.basepath = base_path
    return dataset


def open_dataset(path: os.PathLike | str):
    """``open_lazily(path)``, or ``dkist.load_dataset(path)`` when the lazy reader declines (logged)."""
    dataset = _lazily_or_none(Path(path))
    if dataset is not None:
        return dataset
    import dkist

    return dkist.load_dataset(Path(path))


def _lazily_or_none(path: Path):
    """The lazily opened dataset, or None (after a log line saying why) when dkist should open it."""
    try:
        return open_lazily(path)
    except (UnusualLayout, UnsupportedBlocks) as why:
        log.info("Opening %s with dkist.load_dataset: %s", path.name, why)
    except (MemoryError, KeyboardInterrupt):
        raise
    except Exception as err:  # noqa: BLE001 - dkist's loader then gives its own error, or the dataset
        log.warning(
            "Opening %s with dkist.load_dataset: the lazy reader failed (%s: %s)", path.name, type(err).__name__, err
        )
    return None


def _dkist_version_check():
    """dkist's own check that the file's dkist extension is known (None if dkist moved it)."""
    try:
        from dkist.dataset.loader import _check_dkist_version
    except ImportError:  # pragma: no cover - a future dkist
        return None
    return _check_dkist_version


def open_dataset_file(path: os.PathLike | str):
    """What :func:`dkist_widgets.core.dataset_files.open_dataset_file` gives, opened lazily when possible.

    A missing path raises ``FileNotFoundError``; a file the lazy reader declines goes
    to ``open_dataset_file`` (``dkist.load_dataset`` with its plain-words errors).
    """
    from ..dataset_files import open_dataset_file as open_checked

    return open_checked(path)
