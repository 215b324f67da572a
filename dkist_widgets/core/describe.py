"""A readable text form of the model: what dataset, what selection, what is on disk.

Used where no live kernel draws the widgets (nbconvert to HTML, the docs, VS Code's
viewer, a notebook on GitHub): :func:`describe_model` gives ``(label, value)`` lines,
:func:`as_text` and :func:`as_html` lay them out. Every value is escaped in HTML.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from .formatting import escape
from .inventory import inventory_of

__all__ = ["describe_model", "as_text", "as_html"]

Lines = list[tuple[str, str]]


def describe_model(model: Any) -> Lines:
    """``(label, value)`` lines for a :class:`~dkist_widgets.core.model.DatasetModel`."""
    dataset = getattr(model, "dataset", None)
    if dataset is None:
        return [("dataset", "none open")]
    first = dataset
    if getattr(model, "is_tiled", False):
        tiles = [t for t in getattr(dataset, "flat", []) if t is not None]
        first = tiles[0] if tiles else dataset
    inventory = inventory_of(first)
    name = inventory.get("datasetId") or "(no dataset id)"
    instrument = inventory.get("instrumentName")
    lines: Lines = [("dataset", f"{name}" + (f" ({instrument})" if instrument else ""))]
    if getattr(model, "is_tiled", False):
        lines.append(("tiles", "x".join(str(n) for n in model.tile_grid_shape) + " mosaic"))
    else:
        shape = getattr(getattr(dataset, "data", None), "shape", None)
        if shape is not None:
            lines.append(("array", " x ".join(str(n) for n in shape)))
    n = int(getattr(model, "n_frames", 0))
    lines.append(("files", f"{n:,} FITS files (one per frame)"))
    preview = getattr(model, "working_preview", None)
    if getattr(model, "working_item", None) is not None and preview is not None:
        lines.append(("working slice", f"{preview.snippet}: {preview.n_files:,} of {n:,} files"))
    n_selected = int(getattr(model, "n_selected", 0))
    if n_selected:
        text = f"{n_selected:,} of {n:,} frames"
        moved = _selected_download(model)
        if moved:
            text += f", {moved} to download"
        source = getattr(model, "selection_source", "")
        if source:
            text += f" (by {source.replace('_', ' ')})"
        lines.append(("selection", text))
    else:
        lines.append(("selection", "none"))
    lines.append(("on disk", f"{int(getattr(model, 'n_local_files', 0)):,} of {n:,} files"))
    return lines


def _selected_download(model: Any) -> str:
    """The selection's bytes to download as the panels say them ("≈" marks an estimate)."""
    download_bytes = getattr(model, "download_bytes", None)
    if download_bytes is None:
        return ""
    try:
        return download_bytes().short
    except Exception:  # noqa: BLE001 - a summary never fails the display
        return ""


def as_text(title: str, lines: Iterable[tuple[str, str]]) -> str:
    """``title`` then one ``label: value`` line each, aligned."""
    lines = list(lines)
    width = max((len(label) for label, _ in lines), default=0)
    return "\n".join([title, *(f"  {label.ljust(width)}  {value}" for label, value in lines)])


def as_html(title: str, lines: Sequence[tuple[str, str]], note: str = "") -> str:
    """A small self-contained table (inline styles only: no stylesheet is loaded statically)."""
    rows = "".join(
        f'<tr><th style="text-align:left;padding:1px 12px 1px 0;font-weight:600">{escape(label)}</th>'
        f'<td style="text-align:left;padding:1px 0">{escape(value)}</td></tr>'
        for label, value in lines
    )
    foot = f'<div style="opacity:0.7;font-size:90%">{escape(note)}</div>' if note else ""
    return (
        f'<div class="dkw-static" style="border:1px solid #8888;border-radius:4px;padding:6px 10px;'
        f'display:inline-block"><div style="font-weight:700;margin-bottom:4px">{escape(title)}</div>'
        f"<table>{rows}</table>{foot}</div>"
    )
