"""SliceBuilder: choose a slice of the dataset and see, before anything is downloaded,
the output shape, the axes dropped, the FITS files it touches and their bytes.

One row per pixel axis: a mode (all / range / single index), a slider, and the
world values at the ends of the chosen range. The preview is computed by
``model.preview(item)`` from index arrays (microseconds), never by ``ds[item]``.
"Apply" makes the slice the model's working subset; the code to paste is shown
with a Copy button (:class:`~dkist_widgets.panels.copy_button.CodeSnippet`).

Choices
-------
* **The controls follow the model.** Whenever the model's working slice changes
  (Apply here, ``model.set_slice(...)`` in a cell, another panel, a new dataset or
  new tiles) the controls are set from it, so the builder and the file map never
  disagree. Moving a control makes a draft: the summary shows the draft's cost and
  says "not applied" until Apply.
* **Bytes to download** are the model's (``SlicePreview.download_bytes``): the
  FITS files' sizes as a transfer moves them, exact once listed, else an estimate
  labelled as one. The array bytes dkist reads are shown apart, as such.
* Colours are the theme classes of :data:`~.static_assets.THEME_CSS`.
"""

from __future__ import annotations

import ipywidgets as w
import numpy as np

from ..core.formatting import escape, human_bytes, percent
from ..core.world_coords import describe_world_at, pixel_axis_names
from .copy_button import CodeSnippet
from .static_assets import theme_style
from .static_form import StaticForm

__all__ = ["SliceBuilder"]

MODES = [("all", "all"), ("range", "range"), ("index", "index")]


class _AxisControl:
    """The widgets of one pixel axis."""

    def __init__(self, axis: int, name: str, length: int, on_change):
        self.axis = axis
        self.length = length
        self.label = w.HTML(
            f"<b>{escape(name)}</b> <span class='dkw-muted'>({length})</span>",
            layout=w.Layout(width="190px", flex="0 0 190px"),
        )
        self.mode = w.ToggleButtons(
            options=MODES, value="all", style={"button_width": "64px"}, layout=w.Layout(width="auto", flex="0 0 auto")
        )
        top = max(length - 1, 0)
        self.range = w.IntRangeSlider(
            value=(0, top),
            min=0,
            max=top,
            continuous_update=True,
            layout=w.Layout(width="300px", flex="0 0 300px"),
            disabled=True,
        )
        self.index = w.IntSlider(
            value=0,
            min=0,
            max=top,
            continuous_update=True,
            layout=w.Layout(width="300px", flex="0 0 300px", display="none"),
        )
        self.range.add_class("dkw-axis-range")
        self.index.add_class("dkw-axis-index")
        self.world = w.HTML(layout=w.Layout(width="auto", flex="1 1 auto", min_width="0"))
        self.row = w.HBox(
            [self.label, self.mode, self.range, self.index, self.world], layout=w.Layout(align_items="center")
        )
        self.row.add_class("dkw-slice-axis")
        for control in (self.mode, self.range, self.index):
            control.observe(lambda _change: on_change(self), names="value")

    def item(self):
        """This axis's part of a ``ds[...]`` item."""
        if self.mode.value == "index":
            return int(self.index.value)
        if self.mode.value == "range":
            lo, hi = self.range.value
            return slice(int(lo), int(hi) + 1)
        return slice(None)

    def set_item(self, part) -> None:
        if isinstance(part, slice):
            start = 0 if part.start is None else part.start
            stop = self.length if part.stop is None else part.stop
            start, stop, _step = part.indices(self.length)
            if start == 0 and stop >= self.length:
                self.mode.value = "all"
            else:
                self.range.value = (start, max(start, stop - 1))
                self.mode.value = "range"
        else:
            self.index.value = int(part)
            self.mode.value = "index"
        self.sync_visibility()

    def sync_visibility(self) -> None:
        single = self.mode.value == "index"
        self.index.layout.display = None if single else "none"
        self.range.layout.display = "none" if single else None
        self.range.disabled = self.mode.value == "all"

    def ends(self) -> tuple[int, int]:
        if self.mode.value == "index":
            return self.index.value, self.index.value
        if self.mode.value == "range":
            return self.range.value
        return 0, max(self.length - 1, 0)


class SliceBuilder(StaticForm, w.VBox):
    """Build ``ds[...]`` interactively over a :class:`~dkist_widgets.core.model.DatasetModel`."""

    static_title = "Slice builder"

    def __init__(self, model, **kwargs):
        super().__init__(**kwargs)
        self.add_class("dkw-slice-builder")
        self.model = model
        self.axes: list[_AxisControl] = []
        self._following = False  # True while the controls are being set from the model
        self.summary = w.HTML()
        self.summary.add_class("dkw-slice-summary")
        self.bar = w.FloatProgress(value=0, min=0, max=1, description="files", layout=w.Layout(width="420px"))
        self.code = CodeSnippet(testid="slice-code")
        self.code.add_class("dkw-slice-code")
        self.applied = w.HTML()
        self.applied.add_class("dkw-slice-applied")
        self.apply_button = w.Button(
            description="Apply", button_style="primary", tooltip="Make this slice the working subset of every panel"
        )
        self.reset_button = w.Button(description="Reset", tooltip="Back to the whole dataset")
        self.status = w.HTML()
        self.apply_button.on_click(lambda _b: self.apply())
        self.reset_button.on_click(lambda _b: self.reset())
        self._axes_box = w.VBox()
        self._tiles_box = w.VBox()
        self.children = [
            theme_style(),
            w.HTML(
                "<b>Slice builder</b> <span class='dkw-muted'>— what a slice costs before anything is downloaded</span>"
            ),
            self._tiles_box,
            self._axes_box,
            self.summary,
            self.bar,
            self.code,
            w.HBox([self.apply_button, self.reset_button, self.applied, self.status]),
        ]
        model.observe(self._on_dataset, names=["dataset"])
        model.observe(self._follow_model, names=["working_item", "tiles_version"])
        model.observe(self._on_sizes, names=["file_sizes_version"])
        self._on_dataset(None)

    # -- building -------------------------------------------------------------------

    def _on_dataset(self, _change) -> None:
        ds = self._single_dataset()
        if ds is None:
            self.axes = []
            self._axes_box.children = [w.HTML("<i>No dataset open.</i>")]
            self.summary.value = self.code.code = self.applied.value = ""
            self.bar.value = 0
            return
        self._tiles_box.children = self._tile_toggles() if self.model.is_tiled else []
        names = pixel_axis_names(ds)
        shape = ds.data.shape
        self.axes = [_AxisControl(i, names[i], shape[i], self._on_axis_change) for i in range(len(shape))]
        self._axes_box.children = [a.row for a in self.axes]
        for control in self.axes:
            self._update_world(control)
        self._follow_model(None)

    def _follow_model(self, _change) -> None:
        """Show the model's working slice (and chosen tiles): set the controls from it."""
        if not self.axes:
            return
        if self.model.is_tiled and getattr(self, "_tile_buttons", None):
            chosen = self.model.selected_tiles
            self._following = True
            try:
                for position, button in self._tile_buttons.items():
                    button.value = bool(chosen[position])
            finally:
                self._following = False
        item = self.model.working_item
        self.set_item(() if item is None else item)
        self.refresh()

    def _on_sizes(self, _change) -> None:
        self.refresh()

    def _single_dataset(self):
        ds = getattr(self.model, "dataset", None)
        if ds is None:
            return None
        if self.model.is_tiled:  # the slice applies within each tile: use the first one
            return next(t for t in ds.flat if t is not None)
        return ds

    def _tile_toggles(self) -> list:
        """A grid of toggle buttons, one per tile, for ``model.select_tiles``."""
        grid_shape = self.model.tile_grid_shape
        chosen = self.model.selected_tiles
        available = set(self.model.tile_indexes)
        self._tile_buttons = {}
        rows = []
        for r in range(grid_shape[0]):
            row = []
            for c in range(grid_shape[1] if len(grid_shape) > 1 else 1):
                position = (r, c) if len(grid_shape) > 1 else (r,)
                button = w.ToggleButton(
                    value=bool(chosen[position]),
                    description=f"{r},{c}",
                    disabled=position not in available,
                    layout=w.Layout(width="52px"),
                    tooltip="masked tile: no data" if position not in available else "",
                )
                button.observe(lambda _c: self._on_tiles(), names="value")
                self._tile_buttons[position] = button
                row.append(button)
            rows.append(w.HBox(row))
        return [
            w.HTML("<b>Tiles</b> <span class='dkw-muted'>(the slice applies within each chosen tile)</span>"),
            *rows,
        ]

    def _on_tiles(self) -> None:
        if self._following:
            return
        mask = np.zeros(self.model.tile_grid_shape, dtype=bool)
        for position, button in self._tile_buttons.items():
            mask[position] = button.value
        try:
            self.model.select_tiles(mask)
        except ValueError as err:
            self.status.value = f"<span class='dkw-error'>{escape(err)}</span>"
        self.refresh()

    def _on_axis_change(self, control: _AxisControl) -> None:
        control.sync_visibility()
        if self._following:  # set_item refreshes once when every axis is set
            return
        self._update_world(control)
        self.refresh()

    def _update_world(self, control: _AxisControl) -> None:
        ds = self._single_dataset()
        lo, hi = control.ends()
        try:
            start = describe_world_at(ds, control.axis, lo)
            end = describe_world_at(ds, control.axis, hi)
        except Exception as err:  # noqa: BLE001 - a WCS that cannot evaluate: say so, keep working
            control.world.value = (
                f"<span class='dkw-muted'>world values unavailable ({escape(type(err).__name__)})</span>"
            )
            return
        text = escape(start) if lo == hi else f"{escape(start)} &nbsp;→&nbsp; {escape(end)}"
        control.world.value = f"<span class='dkw-world-values'>{text}</span>"

    # -- state ----------------------------------------------------------------------

    @property
    def item(self) -> tuple:
        """The ``ds[...]`` item the controls describe now."""
        return tuple(control.item() for control in self.axes)

    def set_item(self, item) -> None:
        """Set the controls from an item (tuple of ints/slices, shorter is fine, one
        ``...`` allowed); axes the item does not name show "all"."""
        if not isinstance(item, tuple):
            item = (item,)
        if any(part is Ellipsis for part in item):
            at = item.index(Ellipsis)
            rest = item[at + 1 :]
            fill = (slice(None),) * max(len(self.axes) - at - len(rest), 0)
            item = item[:at] + fill + rest
        item = tuple(item) + (slice(None),) * max(len(self.axes) - len(item), 0)
        self._following = True
        try:
            for control, part in zip(self.axes, item, strict=False):
                control.set_item(part)
        finally:
            self._following = False
        for control in self.axes:
            self._update_world(control)
        self.refresh()  # the preview of what the controls now say (applied or not)

    def refresh(self) -> None:
        if not self.axes:
            return
        try:
            preview = self.model.preview(self.item)
        except (ValueError, IndexError) as err:
            self.summary.value = f"<span class='dkw-error'>{escape(err)}</span>"
            return
        self.preview = preview
        total = self.model.n_frames
        fraction = preview.n_files / total if total else 0.0
        self.bar.value = fraction
        self.bar.description = percent(preview.n_files, total)
        names = pixel_axis_names(self._single_dataset())
        dropped = ", ".join(escape(names[i]) for i in preview.dropped_axes) or "none"
        download = f"{escape(preview.download_bytes.text)} to download"
        self.summary.value = (
            "<div class='dkw-slice-preview'>"
            f"Output shape <b data-testid='slice-shape'>{escape(preview.shape)}</b> · "
            f"axes dropped: {dropped} · "
            f"<b data-testid='slice-files'>{preview.n_files:,}</b> of {total:,} files · "
            f"<b data-testid='slice-bytes'>{download}</b> · "
            f"<span class='dkw-muted'>array data read {escape(human_bytes(preview.loaded_nbytes))}, "
            f"result array {escape(human_bytes(preview.nbytes))}</span>"
            "</div>"
        )
        self.code.code = preview.snippet
        self._show_applied()

    def _show_applied(self) -> None:
        """Say whether the controls show the model's working slice or an unapplied draft."""
        working = self.model.working_preview
        draft = getattr(self, "preview", None)
        same = (
            working is not None
            and draft is not None
            and draft.shape == working.shape
            and np.array_equal(draft.frame_ids, working.frame_ids)
        )
        if same:
            self.applied.value = "<span class='dkw-ok' data-testid='slice-applied'>working slice</span>"
        else:
            self.applied.value = (
                "<span class='dkw-warn' data-testid='slice-applied'>"
                "not applied: press Apply to make it the working slice</span>"
            )

    def apply(self) -> None:
        """Make the controls' slice the model's working subset."""
        try:
            preview = self.model.set_slice(self.item)
        except (ValueError, IndexError) as err:
            self.status.value = f"<span class='dkw-error'>{escape(err)}</span>"
            return
        self.status.value = f"<span class='dkw-ok'>applied {escape(preview.snippet)}</span>"

    def reset(self) -> None:
        """Back to the whole dataset."""
        for control in self.axes:
            control.mode.value = "all"
        self.model.clear_slice()
        self.status.value = ""
