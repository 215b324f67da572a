"""FileMap: every FITS file of the dataset as one cell on a canvas.

The grid is the dataset's file grid folded to two dimensions: the last file axis
runs along the columns (e.g. raster step, or time for a VBI tile) and the other
file axes along the rows (e.g. Stokes state); a tiled dataset has one row per tile.
Each file's state travels as **one byte** (bit flags defined once in
:mod:`dkist_widgets.core.file_states`) in a binary buffer, re-sent only when some
byte changed; the bits' names, colours and labels travel once as the ``legend``
trait, so the browser holds no copy of them. The canvas folds files into blocks
when they outnumber pixels (``js/src/lib/filemap_layout.ts``).

Transferring and failed files are the model's (``model.transferring_frames``,
``model.failed_frames``, set by the transfer monitor); the map observes
``transfer_states_version`` like the selection and local files.

Hover asks the kernel for the file name and a header summary; dragging a rectangle
selects its frames in the model (Shift adds, Alt removes).
"""

from __future__ import annotations

import math
import threading

import anywidget
import numpy as np
import traitlets

from ..core.file_states import (  # noqa: F401  (bits re-exported for panels' tests)
    FAILED,
    IN_SLICE,
    LOCAL,
    SELECTED,
    STATE_BITS,
    TRANSFERRING,
    file_states,
    legend_spec,
)
from ..core.formatting import escape  # noqa: F401  (re-exported for panels' tests)
from ..core.units import R0_DISPLAY_UNIT, R0_KEY, r0_to_display
from ..core.world_coords import pixel_axis_names
from .static_assets import esm_path
from .static_form import StaticForm

__all__ = ["FileMap", "STATE_BITS", "file_states", "grid_of"]


def grid_of(model) -> tuple[int, int, str, str, list[str]]:
    """(rows, cols, row axis name, column axis name, row labels) of the model's files."""
    if model.is_tiled:
        indexes = model.tile_indexes
        counts = {index.n_frames for index in indexes.values()}
        cols = max(counts) if counts else 0
        labels = [",".join(str(p) for p in position) for position in indexes]
        return len(indexes), cols, "tile", "frame in tile", labels
    index = model.file_index
    names = pixel_axis_names(model.dataset)
    grid = index.grid_shape if index.n_file_axes else (1,)
    cols = grid[-1]
    rows = int(np.prod(grid[:-1])) if len(grid) > 1 else 1
    col_name = names[len(grid) - 1] if index.n_file_axes else "file"
    row_name = " × ".join(names[: len(grid) - 1]) or "—"
    labels = _row_labels(model.dataset, grid, names)
    return rows, cols, row_name, col_name, labels


def _row_labels(ds, grid, names) -> list[str]:
    rows = int(np.prod(grid[:-1])) if len(grid) > 1 else 1
    if len(grid) == 2 and names and names[0].lower().startswith("stokes") and grid[0] <= 4:
        return ["I", "Q", "U", "V"][: grid[0]]
    return [str(r) for r in range(rows)]


class FileMap(StaticForm, anywidget.AnyWidget):
    """Canvas map of a dataset's files, coloured by state, linked to a ``DatasetModel``."""

    static_title = "File map"

    _esm = esm_path("file_map")

    title = traitlets.Unicode("").tag(sync=True)
    grid_shape = traitlets.List(traitlets.Int(), [0, 0]).tag(sync=True)
    row_axis = traitlets.Unicode("").tag(sync=True)
    col_axis = traitlets.Unicode("").tag(sync=True)
    row_labels = traitlets.List(traitlets.Unicode()).tag(sync=True)
    #: One byte per file (rows x cols, row-major; padding cells are 0).
    states = traitlets.Bytes(b"").tag(sync=True)
    #: The state bits, most urgent first, with colours and labels (core/file_states.py).
    legend = traitlets.Dict(legend_spec()).tag(sync=True)

    def __init__(self, model, **kwargs):
        super().__init__(**kwargs)
        self.model = model
        self._lock = threading.Lock()
        self._cols = 0
        self.on_msg(self._on_message)
        model.observe(self._on_dataset, names=["dataset"])
        model.observe(
            self._on_state,
            names=[
                "working_preview",
                "selection_version",
                "local_files_version",
                "tiles_version",
                "transfer_states_version",
            ],
        )
        self._on_dataset(None)

    # -- kernel -> browser ------------------------------------------------------------

    def _on_dataset(self, _change) -> None:
        if self.model.dataset is None:
            self.grid_shape, self.states, self.title = [0, 0], b"", "No dataset open"
            return
        rows, cols, row_axis, col_axis, labels = grid_of(self.model)
        self._cols = cols
        with self.hold_sync():
            self.row_axis, self.col_axis, self.row_labels = row_axis, col_axis, labels
            self.grid_shape = [rows, cols]
            self.title = f"{self.model.n_frames:,} files"
            self._push_states()

    def _on_state(self, _change) -> None:
        if self.model.dataset is not None:
            self._push_states()

    def _push_states(self) -> None:
        with self._lock:
            states = file_states(self.model)
            rows, cols = self.grid_shape
            if states.size != rows * cols:  # tiles with unequal frame counts: pad
                padded = np.zeros(rows * cols, dtype=np.uint8)
                padded[: states.size] = states[: rows * cols]
                states = padded
            data = states.tobytes()
            if data != self.states:  # only a changed buffer travels
                self.states = data

    # -- browser -> kernel ------------------------------------------------------------

    def _on_message(self, _widget, content, _buffers) -> None:
        if not isinstance(content, dict):
            return
        if content.get("type") == "select_rect":
            self.select_rect(content.get("rows", [0, -1]), content.get("cols", [0, -1]), content.get("mode", "replace"))
        elif content.get("type") == "hover":
            row, col = int(content.get("row", -1)), int(content.get("col", -1))
            self.send({"type": "hover", "row": row, "col": col, "text": self.describe(row, col)})

    def frames_in_rect(self, rows, cols) -> np.ndarray:
        """Frame ids inside an inclusive (rows, cols) rectangle of the grid."""
        n_rows, n_cols = self.grid_shape
        r0, r1 = max(0, int(rows[0])), min(n_rows - 1, int(rows[1]))
        c0, c1 = max(0, int(cols[0])), min(n_cols - 1, int(cols[1]))
        if r1 < r0 or c1 < c0:
            return np.zeros(0, dtype=np.int64)
        r = np.arange(r0, r1 + 1, dtype=np.int64)[:, None]
        c = np.arange(c0, c1 + 1, dtype=np.int64)[None, :]
        ids = (r * n_cols + c).ravel()
        return ids[ids < self.model.n_frames]

    def select_rect(self, rows, cols, mode: str = "replace") -> np.ndarray:
        """Select the frames in a grid rectangle, as a drag in the browser does."""
        ids = self.frames_in_rect(rows, cols)
        return self.model.select_frames(ids, source="file map", mode=mode)

    def describe(self, row: int, col: int) -> str:
        """Plain text for the hover tip of one file (never HTML)."""
        n_rows, n_cols = self.grid_shape
        if not (0 <= row < n_rows and 0 <= col < n_cols):
            return ""
        frame = row * n_cols + col
        if frame >= self.model.n_frames:
            return "(no file)"
        name = self.model.files_for_frames([frame])[0]
        lines = [f"frame {frame}", str(name)]
        headers = self.model.headers
        if headers is not None and self.model.headers_match_files:
            row_ = headers[frame]
            for key, fmt in (("DATE-AVG", "{}"), (R0_KEY, "r0 {:.1f} " + R0_DISPLAY_UNIT), ("AO_LOCK", "AO lock {}")):
                if key not in headers.colnames:
                    continue
                value = row_[key]
                if value is np.ma.masked or (isinstance(value, float) and math.isnan(value)):
                    lines.append(f"{key}: masked")
                elif key == R0_KEY:
                    lines.append(fmt.format(r0_to_display(value)))
                else:
                    lines.append(fmt.format(value))
        local = bool(self.model.local_files[frame]) if self.model.local_files.size else False
        lines.append("on disk" if local else "not downloaded")
        if frame in self.model.failed_frames:
            lines.append("transfer failed")
        elif frame in self.model.transferring_frames:
            lines.append("transferring")
        return "\n".join(lines)
