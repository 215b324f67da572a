"""Lazy opening of DKIST level 1 ASDF files (see :mod:`.open`)."""

from .header_columns import HeaderColumns
from .lazy_meta import LazyMeta, header_columns_of
from .open import UnusualLayout, open_dataset, open_dataset_file, open_lazily

__all__ = [
    "HeaderColumns",
    "LazyMeta",
    "UnusualLayout",
    "header_columns_of",
    "open_dataset",
    "open_dataset_file",
    "open_lazily",
]
