"""Opening a dataset's ASDF file, with a plain-words reason when it cannot be opened.

``dkist.load_dataset`` fails on bad files with whatever the layer underneath raises:
``asdf``'s ``DelimiterNotFoundError("End of YAML marker not found")`` for a file cut
short, ``ValueError("Does not appear to be a ASDF file.")`` for anything else,
``TypeError`` for an ASDF that holds no DKIST dataset, a ``KeyError`` for YAML that
looks like ASDF but lacks its history. :func:`open_dataset_file` turns each into a
:class:`DatasetFileError` whose message names the file, says what is wrong with it
and what to do, so panels can show one line instead of a traceback.

Choices
-------
* Nothing is guessed from the file name: the reason comes from the exception and
  the file's size and first bytes.
* A level 2 ``Inversion`` loads fine in dkist but is no ``Dataset``: it is refused
  here with its own message (the panels describe frames and files).
* A missing path stays a ``FileNotFoundError`` (a typo, not a bad file).
* Opened lazily, the columns the header explorer plots first (the time key, r0,
  ``AO_LOCK``) start to be read and the time column parsed in a background thread
  as soon as the open returns (:func:`~.header_table.read_plot_columns_ahead`): the
  explorer is what most users display next, and at a million frames that work goes on
  for ~0.4 s after the open returns and holds ~63 MB
  (``benchmarks/bench_header_explorer_build.py``). A panel asking for them meanwhile waits for that thread rather
  than reading them twice.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

#: Start reading the header explorer's first columns when a dataset is opened lazily
#: (off: they are read when a panel first needs them; the paint benchmark measures both).
READ_PLOT_COLUMNS_AHEAD = True

__all__ = ["DatasetFileError", "open_dataset_file", "describe_load_failure"]


class DatasetFileError(ValueError):
    """An ASDF file that is not a usable DKIST dataset; ``str()`` says why, in words.

    Attributes: ``path`` (the file) and ``reason`` (the sentence without the path).
    """

    def __init__(self, path: os.PathLike | str, reason: str):
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"Could not open {self.path.name}: {reason}")


def describe_load_failure(path: os.PathLike | str, err: BaseException) -> str:
    """One sentence saying why ``dkist.load_dataset(path)`` raised ``err``."""
    path = Path(path)
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            head = f.read(5)
    except OSError as os_err:
        return f"the file cannot be read ({os_err.strerror or os_err})."
    name = type(err).__name__
    text = str(err)
    if size == 0:
        return "the file is empty (0 bytes). Download it again."
    if head != b"#ASDF":
        return (
            f"this is not an ASDF file (it does not start with '#ASDF'; {size:,} bytes). "
            "Check the path, or download the dataset's ASDF again."
        )
    if name == "DelimiterNotFoundError" or "marker not found" in text or isinstance(err, EOFError):
        return (
            f"the file is truncated: it ends ({size:,} bytes) before its YAML tree does, so it was cut short "
            "(an interrupted download or copy). Download it again."
        )
    if isinstance(err, TypeError) and "not a valid level 1" in text:
        return "this ASDF file holds no DKIST dataset (no 'dataset' entry of a dkist type)."
    if type(err).__module__.startswith(("yaml", "asdf")) or isinstance(err, (KeyError, UnicodeDecodeError)):
        return f"the ASDF file is damaged or not written by the DKIST data centre ({name}: {text}). Download it again."
    return f"dkist could not load it ({name}: {text})."


def open_dataset_file(path: os.PathLike | str):
    """A level 1 ``Dataset``/``TiledDataset`` from ``path``, or a clear error.

    Opened lazily (:mod:`dkist_widgets.core.lazy_open`: the same dkist ``Dataset``,
    per-file work only for files used) when the ASDF has the usual layout, else by
    ``dkist.load_dataset`` (said in the log).

    Raises ``FileNotFoundError`` when there is no file at ``path`` and
    :class:`DatasetFileError` when the file cannot be opened as a DKIST dataset.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"no ASDF file at {str(path)!r}")
    from dkist import Dataset, TiledDataset

    from .lazy_open import open_dataset

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            dataset = open_dataset(path)
    except (MemoryError, KeyboardInterrupt):
        raise
    except Exception as err:
        raise DatasetFileError(path, describe_load_failure(path, err)) from err
    if not isinstance(dataset, (Dataset, TiledDataset)):
        raise DatasetFileError(
            path,
            f"it holds a {type(dataset).__name__} (level 2 data), not a level 1 Dataset or TiledDataset; "
            "load it with dkist.load_dataset in code.",
        )
    _read_plot_columns_ahead(dataset)
    return dataset


def _read_plot_columns_ahead(dataset) -> None:
    """Opened lazily: start reading and parsing the columns the header explorer plots
    first (time, r0, AO lock; ~0.4 s and ~63 MB at a million frames) in a thread, so
    an explorer displayed after the open finds them ready. Nothing for a tiled dataset
    or one opened by dkist's loader (its headers are in memory already)."""
    from .header_table import read_plot_columns_ahead
    from .lazy_open import header_columns_of

    if READ_PLOT_COLUMNS_AHEAD:
        read_plot_columns_ahead(header_columns_of(dataset))
