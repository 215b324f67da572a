"""``Dataset.meta`` whose ``"headers"`` entry is built the first time someone reads it.

dkist's ``Dataset`` keeps the header table in ``meta["headers"]`` and ``ds.headers``
reads it from there. :class:`LazyMeta` is a mutable mapping holding the other entries
as they are and, for ``"headers"``, a :class:`~.header_columns.HeaderColumns`: reading
``meta["headers"]`` (``ds.headers``, slicing a dataset, ``dict(meta)``) builds the
full astropy table once (:meth:`HeaderColumns.to_table`) and returns that same table
afterwards. Assigning ``meta["headers"] = table`` (dkist does this on the slices it
makes) replaces it as in a dict.

``meta.copy()`` (dkist copies ``meta`` so when slicing) gives another ``LazyMeta`` sharing
the columns, so it does not build the table either; ``copy.copy`` (what dkist's ASDF
writer uses) gives a plain ``dict`` with the table built, ``copy.deepcopy`` one with it
copied.
"""

from __future__ import annotations

import copy
from collections.abc import MutableMapping

from .header_columns import HeaderColumns

__all__ = ["LazyMeta", "header_columns_of"]


class LazyMeta(MutableMapping):
    """A ``dict``-like meta with a lazily built ``"headers"`` table (see the module doc)."""

    def __init__(self, entries: dict, columns: HeaderColumns):
        self._entries = dict(entries)
        self._entries.pop("headers", None)
        self._columns = columns
        self._headers_replaced = False
        self._order = list(entries) if "headers" in entries else ["headers", *entries]

    @property
    def header_columns(self) -> HeaderColumns | None:
        """The compact columns, while ``"headers"`` is still the table they describe."""
        return None if self._headers_replaced else self._columns

    def __getitem__(self, key):
        if key == "headers" and not self._headers_replaced:
            return self._columns.to_table()
        return self._entries[key]

    def __setitem__(self, key, value) -> None:
        if key == "headers":
            self._headers_replaced = True
        if key not in self._order:
            self._order.append(key)
        self._entries[key] = value

    def __delitem__(self, key) -> None:
        if key not in self._order:
            raise KeyError(key)
        if key == "headers":
            self._headers_replaced = True  # the columns no longer describe meta["headers"]
        self._entries.pop(key, None)
        self._order.remove(key)

    def __iter__(self):
        return iter(list(self._order))

    def __len__(self) -> int:
        return len(self._order)

    def __contains__(self, key) -> bool:
        return key in self._order

    def copy(self) -> LazyMeta:
        new = LazyMeta.__new__(LazyMeta)
        new._entries = dict(self._entries)
        new._columns = self._columns
        new._headers_replaced = self._headers_replaced
        new._order = list(self._order)
        return new

    def __copy__(self) -> dict:
        # copy.copy(ds.meta): dkist's ASDF writer (save_dataset) copies meta this way and
        # asdf serialises plain dicts, so this one is a dict with the table built
        return dict(self.items())

    def __deepcopy__(self, memo):
        return copy.deepcopy(dict(self.items()), memo)

    def __repr__(self) -> str:
        shown = {
            k: (
                "<header table, built when read>" if k == "headers" and not self._headers_replaced else self._entries[k]
            )
            for k in self._order
        }
        return f"LazyMeta({shown!r})"


def header_columns_of(dataset) -> HeaderColumns | None:
    """The compact header columns behind ``dataset.headers`` when it was opened lazily, else None."""
    meta = getattr(dataset, "meta", None)
    return meta.header_columns if isinstance(meta, LazyMeta) else None
