"""Destination paths of transfers: templates, dataset folders on the DKIST endpoint, labels.

Choices
-------
* **Destination paths** come from a template such as
  ``"dkist/{proposal_id}/{dataset_id}"`` (or dkist's own keys, e.g.
  ``{primary_proposal_id}``) expanded under a root (``"/~/"``, the endpoint's home,
  by default) by the project's one path-template engine,
  :mod:`dkist_widgets.core.path_template`; values may not hold ``/`` or be
  ``.``/``..``; the expanded path is normalised and must stay under the root;
  anything else is a :class:`PathTemplateError` that says what is wrong.
* **Dataset folders** on the DKIST endpoint follow dkist's ``conf.dataset_path``
  (``/{bucket}/{primaryProposalId}/{datasetId}``).
* **Labels** keep only what Globus accepts (letters, digits, space, ``_,.-``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

# The one path-template engine (Fido paths and Globus destinations): dkist's own keys
# (``path_format_keys()``) plus the short aliases below.
from ..path_template import (
    DEFAULT_BUCKET,
    TEMPLATE_FIELDS,
    PathTemplateError,
    expand_destination,
    template_fields,
)

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

DEFAULT_DATASET_PATH = "/{bucket}/{primaryProposalId}/{datasetId}"
DEFAULT_TEMPLATE = "dkist/{proposal_id}/{dataset_id}"


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
