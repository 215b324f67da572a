"""Destination paths of transfers: templates, dataset folders on the DKIST endpoint, labels.

Choices
-------
* **Destination paths** come from a template such as
  ``"dkist/{proposal_id}/{dataset_id}"`` expanded under a root (``"/~/"``, the
  endpoint's home, by default). Only the fields in :data:`TEMPLATE_FIELDS` exist;
  values may not hold ``/`` or be ``.``/``..``; the expanded path is normalised and
  must stay under the root; anything else is a :class:`PathTemplateError` that says
  what is wrong.
* **Dataset folders** on the DKIST endpoint follow dkist's ``conf.dataset_path``
  (``/{bucket}/{primaryProposalId}/{datasetId}``).
* **Labels** keep only what Globus accepts (letters, digits, space, ``_,.-``).
"""

from __future__ import annotations

import posixpath
import re
import string
from collections.abc import Mapping
from typing import Any

__all__ = [
    "PathTemplateError",
    "TEMPLATE_FIELDS",
    "DEFAULT_BUCKET",
    "DEFAULT_DATASET_PATH",
    "DEFAULT_TEMPLATE",
    "expand_destination",
    "template_fields",
    "dataset_folder",
    "clean_label",
]

DEFAULT_BUCKET = "data"
DEFAULT_DATASET_PATH = "/{bucket}/{primaryProposalId}/{datasetId}"
DEFAULT_TEMPLATE = "dkist/{proposal_id}/{dataset_id}"

#: Fields a destination template may use, with what they hold.
TEMPLATE_FIELDS = {
    "dataset_id": "the dataset id (datasetId)",
    "proposal_id": "the primary proposal id",
    "instrument": "the instrument name, e.g. VISP",
    "product_id": "the product id",
    "bucket": "the archive bucket",
    "date": "the start date, YYYY-MM-DD",
    "year": "the start year",
}


class PathTemplateError(ValueError):
    """A destination template that cannot be used; the message says why."""


def _norm_root(root: str) -> str:
    root = (root or "/~/").strip()
    if root.startswith("~"):
        root = "/" + root
    if not root.startswith("/"):
        raise PathTemplateError(f"The destination root {root!r} must be an absolute Globus path (start with '/' or '~/').")
    norm = posixpath.normpath(root)
    if ".." in norm.split("/"):
        raise PathTemplateError(f"The destination root {root!r} may not contain '..'.")
    return norm.rstrip("/") + "/" if norm != "/" else "/"


def expand_destination(template: str, fields: Mapping[str, Any], root: str = "/~/") -> str:
    """Expand ``template`` (``{dataset_id}``-style fields) under ``root``; return a folder path ending in ``/``.

    Raises :class:`PathTemplateError` for unknown fields, format specs, values that
    would add path parts, and paths that leave ``root``.
    """
    root = _norm_root(root)
    template = (template or "").strip()
    used = []
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as err:
        raise PathTemplateError(f"The path template {template!r} has unbalanced braces ({err}); write {{field}} or {{{{ for a brace.") from None
    for _, name, spec, conv in parsed:
        if name is None:
            continue
        if name == "" or not name.isidentifier():
            raise PathTemplateError(f"Empty or invalid field {{{name}}} in the path template; known fields: {', '.join(TEMPLATE_FIELDS)}.")
        if name not in TEMPLATE_FIELDS:
            raise PathTemplateError(f"Unknown field {{{name}}} in the path template; known fields: {', '.join(TEMPLATE_FIELDS)}.")
        if spec or conv:
            raise PathTemplateError(f"Field {{{name}}} may not have a format or conversion.")
        used.append(name)
    values = {}
    for name in used:
        value = fields.get(name)
        if value is None or str(value).strip() == "":
            raise PathTemplateError(f"This dataset has no value for {{{name}}}; remove it from the path template.")
        value = str(value).strip()
        if "/" in value or "\\" in value or value in (".", "..") or "\x00" in value:
            raise PathTemplateError(f"The value of {{{name}}} ({value!r}) cannot be used as a folder name.")
        values[name] = value
    rel = template.format(**values)
    if "\x00" in rel:
        raise PathTemplateError("The path template contains a NUL character.")
    if rel.startswith("~"):
        rel = "/" + rel
    if rel.startswith("/"):
        full = posixpath.normpath(rel)
        if rel.startswith("/~") and not root.startswith("/~"):
            raise PathTemplateError(f"The path {rel!r} is not under the destination root {root!r}.")
    else:
        full = posixpath.normpath(root + rel) if rel else root.rstrip("/") or "/"
    if ".." in rel.replace("\\", "/").split("/"):
        raise PathTemplateError(f"The path template may not use '..' (it would leave {root!r}).")
    full = full.rstrip("/") + "/" if full != "/" else "/"
    if not (full == root or full.startswith(root)):
        raise PathTemplateError(f"The path {full!r} is not under the destination root {root!r}.")
    return full


def template_fields(inventory: Mapping[str, Any]) -> dict[str, str | None]:
    """Template field values from a dataset inventory or search record (camelCase keys)."""
    start = str(inventory.get("startTime") or "")
    return {
        "dataset_id": inventory.get("datasetId"),
        "proposal_id": inventory.get("primaryProposalId"),
        "instrument": inventory.get("instrumentName"),
        "product_id": inventory.get("productId"),
        "bucket": inventory.get("bucket") or DEFAULT_BUCKET,
        "date": start[:10] or None,
        "year": start[:4] or None,
    }


def dataset_folder(inventory: Mapping[str, Any], dataset_path: str = DEFAULT_DATASET_PATH) -> str:
    """The dataset's folder on the DKIST endpoint (dkist's ``conf.dataset_path``)."""
    values = {k: v for k, v in inventory.items() if isinstance(v, (str, int))}
    values.setdefault("bucket", DEFAULT_BUCKET)
    if not values.get("bucket"):
        values["bucket"] = DEFAULT_BUCKET
    try:
        path = dataset_path.format(**values)
    except KeyError as err:
        raise ValueError(f"the dataset inventory lacks {err.args[0]!r}, needed to find its folder") from None
    return "/" + path.strip("/")


_LABEL_OK = re.compile(r"[^A-Za-z0-9 _,.\-]")


def clean_label(label: str) -> str:
    """A Globus-acceptable label: letters, digits, space, ``_,.-``; at most 128 characters."""
    return _LABEL_OK.sub("-", label or "").strip()[:128]
