"""The one path-template engine: ``{key}`` templates for download paths (``Fido.fetch``
style, e.g. ``~/sunpy/data/{dataset_id}/``) and for Globus destination folders (e.g.
``dkist/{primary_proposal_id}/{dataset_id}`` under ``/~/``). No widgets.

Keys
----
* **dkist's own keys**: every key of ``dkist.utils.inventory.path_format_keys()``,
  i.e. each human column name of ``INVENTORY_KEY_MAP`` cleaned as sunpy's
  ``QueryResponseRow.response_block_map`` cleans it ("Primary Proposal ID" ->
  ``primary_proposal_id``, "Storage Bucket" -> ``storage_bucket``). These are the
  keys ``Fido.fetch(path=...)`` (``DKISTClient._make_filename``),
  ``dkist.net.transfer_complete_datasets(path=...)`` and
  ``ds.files.download(path=...)`` accept. The value of a key is the record value
  behind it: the camelCase key of a search record or of ``ds.meta["inventory"]``
  (``primary_proposal_id`` <- ``primaryProposalId``).
* **Aliases** kept from earlier releases: the destination fields of
  :data:`TEMPLATE_FIELDS` (``dataset_id``, ``proposal_id``, ``instrument``,
  ``product_id``, ``bucket``, ``date``, ``year``) and the download key
  ``wavelength`` (= ``wavelength_min``; ``Fido.fetch`` would write its
  ``[min max] nm`` pair, spaces and all). Three of them are dkist keys too with the
  same value; ``proposal_id`` = ``primary_proposal_id``; ``bucket`` =
  ``storage_bucket``; ``date``/``year`` are the first 10/4 characters of
  ``startTime``.
* ``{file}``: download paths only, the file name the server sends (a template
  without it names a folder, as in ``Fido.fetch``). A destination is a folder.

Values
------
The record's own text: strings as sent, numbers and booleans through ``str``,
lists joined with ``", "``. ``None``, NaN and empty values count as missing and
are refused ("has no value for {key}"), except the bucket, which defaults to
``"data"`` (dkist's ``conf.dataset_path`` convention). ``Fido.fetch`` formats the
astropy objects of its result table instead (a ``Time`` with millisecond precision,
a ``Quantity`` with its unit); for the text keys people put in paths (ids,
instrument, bucket, proposal) the two agree, which the tests check against
``dkist.utils.inventory.path_format_inventory``. Key lookup needs only
``dkist.utils.inventory`` (importing ``dkist.net`` would ask the network).

Safety
------
Refused, with a :class:`PathTemplateError` (a ``ValueError``) saying what is wrong:
unbalanced braces, an empty ``{}``, formats / conversions / attribute or index
lookups, unknown keys (with a "did you mean"), ``..`` components, and values that
would add path components (``/``, ``\\``, NUL, ``.``, ``..``). Destination paths
are also normalised and must stay under their root (:func:`expand_destination`).
Messages name the key; they are worded once for both uses except the unknown-key
sentence, which keeps each use's long-standing words ("unknown path template key"
for download paths, "Unknown field" for destinations).
"""

from __future__ import annotations

import math
import os
import posixpath
import re
import string
from collections.abc import Callable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

__all__ = [
    "PathTemplateError",
    "PathTemplate",
    "TEMPLATE_FIELDS",
    "ALIASES",
    "FILE_KEY",
    "DEFAULT_BUCKET",
    "dkist_keys",
    "known_keys",
    "template_fields",
    "placeholder_fields",
    "expand_destination",
]

DEFAULT_BUCKET = "data"
FILE_KEY = "file"

#: The destination fields of earlier releases (kept as aliases), with what they hold.
TEMPLATE_FIELDS = {
    "dataset_id": "the dataset id (datasetId)",
    "proposal_id": "the primary proposal id",
    "instrument": "the instrument name, e.g. VISP",
    "product_id": "the product id",
    "bucket": "the archive bucket",
    "date": "the start date, YYYY-MM-DD",
    "year": "the start year",
}


def _start(record: Mapping[str, Any], n: int) -> str | None:
    start = str(record.get("startTime") or "")
    return start[:n] or None


#: Alias -> (how its value comes from a record, what it holds).
ALIASES: dict[str, tuple[Callable[[Mapping[str, Any]], Any], str]] = {
    "dataset_id": (lambda r: r.get("datasetId"), TEMPLATE_FIELDS["dataset_id"]),
    "proposal_id": (lambda r: r.get("primaryProposalId"), TEMPLATE_FIELDS["proposal_id"]),
    "instrument": (lambda r: r.get("instrumentName"), TEMPLATE_FIELDS["instrument"]),
    "product_id": (lambda r: r.get("productId"), TEMPLATE_FIELDS["product_id"]),
    "bucket": (lambda r: r.get("bucket") or DEFAULT_BUCKET, TEMPLATE_FIELDS["bucket"]),
    "date": (lambda r: _start(r, 10), TEMPLATE_FIELDS["date"]),
    "year": (lambda r: _start(r, 4), TEMPLATE_FIELDS["year"]),
    "wavelength": (lambda r: r.get("wavelengthMin"), "the minimum wavelength in nm (= wavelength_min)"),
}


class PathTemplateError(ValueError):
    """A path template that cannot be used; the message says why."""


# ----------------------------------------------------------------------------- keys


def _key_clean(name: str) -> str:
    """A column name as ``response_block_map`` / ``path_format_keys`` spell it."""
    key = re.sub(f"[{re.escape(string.punctuation)}]", "_", name).replace(" ", "_")
    return "".join(ch for ch in key if ch.isidentifier() or ch.isnumeric()).lower()


@lru_cache(maxsize=1)
def _dkist_record_keys() -> dict[str, str]:
    """dkist path key -> camelCase record key (``primary_proposal_id`` -> ``primaryProposalId``)."""
    from dkist.utils.inventory import INVENTORY_KEY_MAP, path_format_keys

    by_key = {_key_clean(human): api for api, human in INVENTORY_KEY_MAP.items()}
    keys = path_format_keys()
    missing = [k for k in keys if k not in by_key]
    if missing:  # pragma: no cover - a dkist that cleans keys differently
        raise RuntimeError(f"cannot map dkist's path keys {missing} to inventory keys")
    return {k: by_key[k] for k in keys}


def dkist_keys() -> tuple[str, ...]:
    """dkist's own path keys (``dkist.utils.inventory.path_format_keys()``)."""
    return tuple(_dkist_record_keys())


def known_keys(*, file: bool = False) -> tuple[str, ...]:
    """Every key a template may use: the aliases, then dkist's keys (and ``file`` if asked)."""
    keys = dict.fromkeys(ALIASES)
    keys.update(dict.fromkeys(_dkist_record_keys()))
    if file:
        keys[FILE_KEY] = None
    return tuple(keys)


def _value_text(raw: Any) -> str | None:
    """A record value as path text, or None when missing (None, NaN, empty)."""
    if raw is None:
        return None
    if isinstance(raw, float) and math.isnan(raw):
        return None
    if isinstance(raw, (list, tuple)):
        raw = ", ".join(str(v) for v in raw)
    text = str(raw).strip()
    return text or None


def template_fields(inventory: Mapping[str, Any]) -> dict[str, str | None]:
    """Every key's value from a dataset inventory or search record (camelCase keys).

    The aliases of :data:`TEMPLATE_FIELDS` come first (as before), then each of
    dkist's keys; a missing value is None (``bucket``/``storage_bucket``: ``"data"``).
    """
    fields: dict[str, str | None] = {name: _value_text(get(inventory)) for name, (get, _d) in ALIASES.items()}
    for key, api in _dkist_record_keys().items():
        fields.setdefault(key, _value_text(inventory.get(api)))
    if fields.get("storage_bucket") is None:
        fields["storage_bucket"] = DEFAULT_BUCKET
    return fields


def placeholder_fields() -> dict[str, str]:
    """``{key: "<key>"}`` for every key: a template preview when no dataset is open."""
    return {k: f"<{k}>" for k in known_keys()}


# ----------------------------------------------------------------------------- parsing

_UNKNOWN_WORDS = {
    "download": "unknown path template key {{{name}}}",
    "destination": "Unknown field {{{name}}} in the path template",
}


def _parse(template: str, *, use: str) -> tuple[str, ...]:
    """The keys ``template`` uses, in order; raises PathTemplateError for anything unsafe.

    ``use`` is ``"download"`` (``{file}`` allowed) or ``"destination"``.
    """
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as err:
        raise PathTemplateError(
            f"The path template {template!r} is malformed: unbalanced braces ({err}); "
            "write {key} or {{ for a brace."
        ) from None
    allowed = known_keys(file=use == "download")
    names: list[str] = []
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        if name == "":
            raise PathTemplateError("The path template has an empty {}: name a key, e.g. {dataset_id}.")
        if spec or conversion or not name.isidentifier():
            shown = name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
            raise PathTemplateError(
                f"Field {{{shown}}} may not have a format, conversion, attribute or index: "
                "only plain keys like {dataset_id} are allowed."
            )
        if name not in allowed:
            if name == FILE_KEY:
                raise PathTemplateError("Field {file} names a downloaded file; a destination is a folder.")
            close = sorted(k for k in allowed if name.lower() in k or k in name.lower())[:5]
            hint = f" (did you mean {', '.join('{' + k + '}' for k in close)}?)" if close else ""
            raise PathTemplateError(
                _UNKNOWN_WORDS[use].format(name=name)
                + hint
                + "; use dkist's keys (dkist.utils.inventory.path_format_keys(), "
                "e.g. {primary_proposal_id}) or " + ", ".join(TEMPLATE_FIELDS) + "."
            )
        names.append(name)
    if ".." in re.split(r"[/\\]", template):
        raise PathTemplateError(
            f"The path template may not contain '..' (it would leave the folder it names): {template!r}"
        )
    return tuple(names)


def _substitute(template: str, names: tuple[str, ...], fields: Mapping[str, Any]) -> str:
    """``template`` with each key replaced by its checked value."""
    values = {}
    for name in names:
        value = _value_text(fields.get(name))
        if value is None:
            dataset = _value_text(fields.get("dataset_id"))
            who = f"Dataset {dataset!r}" if dataset and name != "dataset_id" else "This dataset"
            raise PathTemplateError(f"{who} has no value for {{{name}}}; remove it from the path template.")
        if value in (".", "..") or any(c in value for c in "/\\\x00"):
            raise PathTemplateError(
                f"{{{name}}} = {value!r} cannot be used in a path (a value that cannot be "
                "used as a folder name: '.', '..', or holding '/', '\\' or NUL)."
            )
        values[name] = value
    text = template.format(**values)
    if "\x00" in text:
        raise PathTemplateError("The path template contains a NUL character.")
    return text


# ----------------------------------------------------------------------------- destinations


def _norm_root(root: str) -> str:
    root = (root or "/~/").strip()
    if root.startswith("~"):
        root = "/" + root
    if not root.startswith("/"):
        raise PathTemplateError(
            f"The destination root {root!r} must be an absolute Globus path (start with '/' or '~/')."
        )
    norm = posixpath.normpath(root)
    if ".." in norm.split("/"):
        raise PathTemplateError(f"The destination root {root!r} may not contain '..'.")
    return norm.rstrip("/") + "/" if norm != "/" else "/"


def expand_destination(template: str, fields: Mapping[str, Any], root: str = "/~/") -> str:
    """Expand ``template`` under ``root``; return a Globus folder path ending in ``/``.

    ``fields`` maps keys to values (:func:`template_fields` gives every key of a
    record). An empty template names the root; an absolute one (``/...`` or
    ``~/...``) must lie under it. Raises :class:`PathTemplateError` for unknown keys,
    format specs, values that would add path parts, and paths that leave ``root``.
    """
    root = _norm_root(root)
    template = (template or "").strip()
    rel = _substitute(template, _parse(template, use="destination"), fields)
    if rel.startswith("~"):
        rel = "/" + rel
    if rel.startswith("/"):
        full = posixpath.normpath(rel)
        if rel.startswith("/~") and not root.startswith("/~"):
            raise PathTemplateError(f"The path {rel!r} is not under the destination root {root!r}.")
    else:
        full = posixpath.normpath(root + rel) if rel else root.rstrip("/") or "/"
    if ".." in rel.replace("\\", "/").split("/"):  # pragma: no cover - _parse and the values rule it out
        raise PathTemplateError(f"The path template may not contain '..' (it would leave {root!r}).")
    full = full.rstrip("/") + "/" if full != "/" else "/"
    if not (full == root or full.startswith(root)):
        raise PathTemplateError(f"The path {full!r} is not under the destination root {root!r}.")
    return full


# ----------------------------------------------------------------------------- download paths


class PathTemplate:
    """A download path template like ``~/sunpy/data/{dataset_id}/`` (validated on creation).

    Keys: dkist's path keys, the aliases and ``{file}`` (module docstring). A
    template without ``{file}`` is a folder (as in ``Fido.fetch``); ``~`` is the
    user's home. Raises :class:`PathTemplateError` (a ``ValueError``).
    """

    def __init__(self, template: str):
        self.template = str(template).strip()
        if not self.template:
            raise PathTemplateError("The path template is empty: name a folder, e.g. ~/sunpy/data/{dataset_id}/")
        self.fields = _parse(self.template, use="download")
        self.has_file = FILE_KEY in self.fields

    def __repr__(self) -> str:
        return f"PathTemplate({self.template!r})"

    def path_for(self, record: Mapping, file_name: str) -> Path:
        """The file path for ``record`` (camelCase keys) and the server's ``file_name``."""
        fields = {**template_fields(record), FILE_KEY: file_name}
        path = Path(os.path.expanduser(_substitute(self.template, self.fields, fields)))
        return path if self.has_file else path / file_name

    def folder_for(self, record: Mapping) -> Path:
        """The folder a template without ``{file}`` names (with ``{file}``: its parent)."""
        return self.path_for(record, "FILE").parent
