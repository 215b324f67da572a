"""The state bits of the file map: defined once here and sent to the browser.

Each file of a dataset travels to the file map as **one byte**, the OR of the bits
below. The browser draws from :func:`legend_spec` (names, bits, colours, labels, in
priority order), which the widget sends as a synced trait, so the TypeScript holds
no copy of these numbers or colours.

Choices
-------
* **Priority** (most urgent first): failed > transferring > selected > on disk > in
  slice. A cell, or a block of files folded into one cell, shows the colour of the
  most urgent state of any file in it.
* **Colours** are Material palette tones that stay apart for the common colour-vision
  deficiencies in pairs that meet on the map (red/amber, purple/green, blue/grey).
* A file outside the working slice has no bit set and shows :data:`OUTSIDE_COLOUR`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

__all__ = [
    "FileState",
    "FILE_STATES",
    "STATE_BITS",
    "IN_SLICE",
    "SELECTED",
    "LOCAL",
    "TRANSFERRING",
    "FAILED",
    "OUTSIDE_COLOUR",
    "OUTSIDE_LABEL",
    "legend_spec",
    "file_states",
]

IN_SLICE, SELECTED, LOCAL, TRANSFERRING, FAILED = 1, 2, 4, 8, 16
OUTSIDE_COLOUR = "#d9d9d9"
OUTSIDE_LABEL = "outside slice"


@dataclass(frozen=True)
class FileState:
    """One bit of a file's state byte: its name (a stable key), colour and legend label."""

    name: str
    bit: int
    colour: str
    label: str


#: Every state, most urgent first (the order the map resolves a block's colour in).
FILE_STATES: tuple[FileState, ...] = (
    FileState("failed", FAILED, "#d32f2f", "failed"),
    FileState("transferring", TRANSFERRING, "#f9a825", "transferring"),
    FileState("selected", SELECTED, "#7b1fa2", "selected"),
    FileState("local", LOCAL, "#2e7d32", "on disk"),
    FileState("in_slice", IN_SLICE, "#64b5f6", "in slice"),
)

#: Legend label -> bit (lowest bit first).
STATE_BITS = {s.label: s.bit for s in sorted(FILE_STATES, key=lambda s: s.bit)}


def legend_spec() -> dict:
    """What the browser needs to draw states: ``{"states": [...], "outside": {...}}``."""
    return {
        "states": [asdict(s) for s in FILE_STATES],
        "outside": {"colour": OUTSIDE_COLOUR, "label": OUTSIDE_LABEL},
    }


def file_states(model, transferring=None, failed=None) -> np.ndarray:
    """One uint8 per frame (frame order) of a ``DatasetModel``, OR of the bits above.

    ``transferring`` / ``failed``: frame ids; default: the model's own
    ``transferring_frames`` / ``failed_frames``.
    """
    n = model.n_frames
    states = np.zeros(n, dtype=np.uint8)
    if n == 0:
        return states
    preview = model.working_preview
    if preview is None or model.working_item is None:
        states |= IN_SLICE
    else:
        states[preview.frame_ids] |= IN_SLICE
    states[model.selected_frames] |= SELECTED
    states[np.asarray(model.local_files, dtype=bool)] |= LOCAL
    if transferring is None:
        transferring = getattr(model, "transferring_frames", None)
    if failed is None:
        failed = getattr(model, "failed_frames", None)
    if transferring is not None:
        states[np.asarray(transferring, dtype=np.int64)] |= TRANSFERRING
    if failed is not None:
        states[np.asarray(failed, dtype=np.int64)] |= FAILED
    return states
