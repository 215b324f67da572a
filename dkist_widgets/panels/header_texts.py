"""The header explorer's texts: selection summary, key description, a frame's values.

Plain functions from the model and the header table to escaped HTML (every value
from a header or a file name goes through :func:`~dkist_widgets.core.formatting.escape`;
only http(s) links become links).

Choices
-------
* **Summary** bytes are the bytes a transfer of the selected frames moves, as the
  model says them (:meth:`DatasetModel.download_bytes`): exact once the file sizes
  are listed, else an estimate marked "≈" (see :mod:`dkist_widgets.core.file_sizes`),
  the same number the transfer monitor's button shows and the transfer then moves.
* One file per frame: the explorer only works when the header rows match the files.
* **Code** is the dkist slicing a user would write to get the selected files
  (:meth:`DatasetModel.slices_for_frames`), under a comment saying the recipe with
  its units (r0 in metres), in a closed ``<details>`` so it costs no room; at most
  :data:`MAX_CODE_LINES` lines (a fragmented selection's cover can be thousands).
"""

from __future__ import annotations

import numpy as np

from ..core.formatting import escape, percent, safe_url
from ..core.header_table import describe_key
from ..core.units import R0_DISPLAY_SCALE, R0_DISPLAY_UNIT, R0_KEY
from .header_plot import value_text

__all__ = ["summary_html", "key_info_html", "frame_html", "code_html"]

#: Lines of ``ds[...]`` code shown; a longer cover is cut with a line saying how to get it all.
MAX_CODE_LINES = 25


def summary_html(model, table) -> str:
    """Frames, files, bytes and fraction of the dataset selected, Stokes counts, time span."""
    ids = model.selected_frames
    n = int(ids.size)
    total = table.n_frames
    bytes_text = f"{model.download_bytes(ids).short} to download"
    parts = [
        f"<b data-testid='frames'>{n}</b> of {total} frames",
        f"<b data-testid='files'>{n}</b> files",
        f"<span data-testid='bytes'>{escape(bytes_text)}</span>",
        f"<span data-testid='fraction'>{percent(n, total)}</span> of the dataset",
    ]
    if n and len(table.stokes.names) > 1:
        counts = np.bincount(table.stokes.codes[ids], minlength=len(table.stokes.names))
        parts.append(escape(", ".join(f"{name} {c}" for name, c in zip(table.stokes.names, counts, strict=True))))
    if n and table.time.is_time:
        t = table.time.values[ids]
        t = t[np.isfinite(t)]
        if t.size:
            span = table.time.to_datetime([t.min(), t.max()])
            parts.append(escape(f"{str(span[0])[:19]} → {str(span[1])[:19]}"))
    return "<div class='dkw-summary'>Selected: " + " · ".join(parts) + "</div>"


def key_info_html(model, table, key: str) -> str:
    """The key's SPEC-0214 unit and meaning, and a link to the header documentation."""
    info = describe_key(key)
    parts = [f"<b>{escape(key)}</b>"]
    if info is not None:
        if info.units and info.units != "None":
            parts.append(f"unit: {escape(info.units)}")
        if info.description:
            parts.append(escape(info.description))
        if info.section_title:
            parts.append(f"<span style='opacity:.7'>SPEC-0214 {escape(info.section_title)}</span>")
    else:
        parts.append("<span style='opacity:.7'>not described in SPEC-0214</span>")
    if key == R0_KEY:
        where = "as the headers hold it" if R0_DISPLAY_SCALE == 1.0 else "(headers hold m)"
        parts.append(
            escape(
                f"plotted and typed in {R0_DISPLAY_UNIT} {where}; masked where AO was unlocked "
                "(grey spans), r0 ≥ 0.3 m or OOBSHIFT ≥ 100"
            )
        )
    dataset = model.dataset
    meta = getattr(dataset, "meta", None) or {}
    url = safe_url((meta.get("inventory") or {}).get("headerDocumentationUrl")) if dataset is not None else None
    if url is None and table is not None and table.has("HEAD_URL") and table.n_frames:
        url = safe_url(str(table.column_text("HEAD_URL", [0])[0]))
    if url:
        parts.append(f"<a href='{escape(url)}' target='_blank' rel='noopener noreferrer'>header documentation</a>")
    return " · ".join(parts)


def frame_html(model, table, frame: int, key: str | None) -> str:
    """One frame: its number, time, plotted value (display units) and file name."""
    parts = [f"<b>frame {frame}</b>"]
    if table.time.is_time:
        parts.append(escape(table.column_text(table.time.source, [frame])[0]))
    if key:
        value = table.numeric(key)[frame]
        shown = "masked" if not np.isfinite(value) else escape(value_text(key, value))
        parts.append(f"{escape(key)} = {shown}")
    files = model.files_for_frames([frame])
    parts.append(f"file <code>{escape(files[0])}</code>")
    return " · ".join(parts)


def code_html(model, recipe_words: str | None) -> str:
    """The selection as dkist code (``ds[...]``) under a comment with the recipe in words."""
    ids = model.selected_frames
    if not ids.size:
        return ""
    try:
        snippet = model.slices_for_frames(ids).snippet
    except ValueError as error:  # a grid dkist cannot slice: say why instead of code
        snippet = f"# no ds[...] for these frames: {error}"
    lines = snippet.splitlines()
    if len(lines) > MAX_CODE_LINES:  # a fragmented selection: the start, and where the rest is
        snippet = "\n".join(
            [
                *lines[: MAX_CODE_LINES - 1],
                f"    # ... {len(lines) - MAX_CODE_LINES + 1} more lines: "
                "print(model.slices_for_frames().snippet) shows them all",
            ]
        )
    comment = f"# {recipe_words}\n" if recipe_words else ""
    return (
        f"<details class='dkw-header-code'><summary>code for these {ids.size} frames</summary>"
        f"<pre style='margin:2px 0'>{escape(comment + snippet)}</pre></details>"
    )
