"""Preview: an image of any two pixel axes, sliders for the rest, a profile on click.

Reads pixels through :mod:`dkist_widgets.core.pixels` (only the files a view needs,
straight from the FITS files), so it follows transfers: every bump of the model's
``local_files_version`` redraws, and files that arrived fill in.

Choices
-------
* **Rendering.** The image is a PNG made in the kernel (matplotlib colour map,
  Pillow encoder) shown by a bqplot ``Image`` mark on linear pixel scales: one
  binary message per redraw, whatever the image size, and bqplot reports clicks in
  data coordinates. Images wider or taller than ``max_side`` are shown with a
  stride (every k-th pixel); the read is still exact, only the display thins.
* **Missing files** are drawn with grey diagonal stripes, a pattern no colour map
  produces, and the legend counts them; NaN pixels inside files that were read
  are transparent. Colour limits are percentiles of the finite pixels.
* **Orientation** is ndcube's ``plot``: row 0 of the y axis at the bottom.
* **Tiled datasets** are shown as a mosaic (tile grid axis 0 along x, axis 1 along
  y, as ``TiledDataset.plot``); the image axes and sliders are those of one tile.
* Axis labels carry the world coordinates at both ends of each image axis and at
  each slider's index (``describe_world_at``); all text goes through ``escape``.
  Where a world coordinate runs linearly along an image axis, a second axis (top /
  right) shows it in readable units
  (:func:`~dkist_widgets.core.image_world_axes.world_axis`).
* **Opens on data that is there** (issue 14.8): the first view is the one whose
  image holds the most files on disk (:func:`~dkist_widgets.core.pixels.start_indices`).
  With nothing on disk the panel says so and offers to fetch the files of the view
  (the callbacks of :meth:`Preview.on_fetch_request`, e.g. a transfer monitor; with
  none, the dkist code that would). "On disk only" makes sliders and play step
  over the indices whose image holds files on disk (beyond the issue).
* **Damaged files** (issue 14.11): a file on disk that cannot be read or holds the
  wrong shape is named in the status with what is wrong, drawn as missing, and
  reported to the model (``model.mark_unreadable``, when the model has it) so the
  on-disk count leaves it out.
* The colour bar names the data's unit; the profile plot stays hidden until a
  click asks for one; slider labels are never cut.
"""

from __future__ import annotations

import io
import threading
import time

import bqplot as bq
import ipywidgets as w
import numpy as np

from ..core import pixels as px
from ..core.formatting import escape
from ..core.image_world_axes import world_axis
from ..core.world_coords import describe_world_at, pixel_axis_names
from .frame_stats import FrameStatsPanel  # re-exported where it used to live
from .static_form import StaticForm

__all__ = ["Preview", "FrameStatsPanel", "render_rgba", "MISSING_COLOURS"]

#: The two greys of the missing-file stripes (RGBA).
MISSING_COLOURS = ((176, 176, 176, 255), (222, 222, 222, 255))
_STRIPE = 6  # stripe period in display pixels
MIN_DISPLAY_SIDE = 480  # small images are enlarged (pixel repeat) to about this many pixels


def render_rgba(values: np.ndarray, missing: np.ndarray, limits, cmap: str = "gray") -> np.ndarray:
    """``(ny, nx, 4)`` uint8 colours, row 0 at the *bottom* of the picture (flipped for PNG).

    Finite values through ``cmap`` between ``limits``; missing pixels striped grey;
    NaN pixels that are not missing transparent.
    """
    import matplotlib

    colour_map = matplotlib.colormaps[cmap]
    lo, hi = limits if limits is not None else (0.0, 1.0)
    scaled = (np.asarray(values, dtype=np.float32) - lo) / (hi - lo)
    finite = np.isfinite(scaled)
    rgba = colour_map(np.where(finite, np.clip(scaled, 0, 1), 0), bytes=True)
    rgba[~finite] = (0, 0, 0, 0)
    if missing.any():
        yy, xx = np.indices(missing.shape)
        stripe = ((xx + yy) // _STRIPE) % 2 == 0
        rgba[missing & stripe] = MISSING_COLOURS[0]
        rgba[missing & ~stripe] = MISSING_COLOURS[1]
    return rgba[::-1]


def _png(rgba: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgba), mode="RGBA").save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


class Preview(StaticForm, w.VBox):
    """Look at a dataset's pixels as they arrive.

    Parameters
    ----------
    model
        A :class:`~dkist_widgets.core.model.DatasetModel`.
    image_axes
        ``(x_axis, y_axis)`` in numpy order (default: the last two axes, x the last).
    percentiles
        Colour limits as percentiles of the finite pixels.
    cmap
        A matplotlib colour map name.
    max_side
        Display at most this many pixels along each image axis (a stride beyond).
    """

    static_title = "Image preview"

    def __init__(
        self, model, *, image_axes=None, percentiles=(1.0, 99.0), cmap: str = "gray", max_side: int = 1200, **kwargs
    ):
        super().__init__(**kwargs)
        self.add_class("dkw-preview")
        self.model = model
        self.max_side = int(max_side)
        self._lock = threading.RLock()
        self.slab: px.Slab | None = None
        self.limits: tuple[float, float] | None = None
        self.stride = 1
        self.tile_shape: tuple[int, int] | None = None
        self.clicked: tuple[int, int] | None = None
        self.last_draw_seconds = 0.0
        self.indices: list[int] = []
        self.image_axes: tuple[int, int] = (0, 0)
        self._building = False
        self._fetch_callbacks: list = []
        self.unit = ""
        self.problems: tuple[tuple[str, str], ...] = ()
        self._known_problems: dict[str, str] = {}
        self.on_disk_only = w.Checkbox(
            value=False, description="step through frames on disk only", indent=False, layout=w.Layout(width="auto")
        )
        self.on_disk_only.add_class("dkw-preview-on-disk-only")
        self.nothing_box = w.HBox(layout=w.Layout(display="none", align_items="center"))
        self.nothing_text = w.HTML()
        self.nothing_text.add_class("dkw-preview-nothing")
        self.fetch_button = w.Button(
            description="Fetch this view's files", icon="download", layout=w.Layout(width="220px")
        )
        self.fetch_button.add_class("dkw-preview-fetch")
        self.fetch_button.on_click(lambda _b: self.request_fetch())
        self.nothing_box.children = [self.nothing_text, self.fetch_button]

        self.x_picker = w.Dropdown(description="x", layout=w.Layout(width="300px"))
        self.y_picker = w.Dropdown(description="y", layout=w.Layout(width="300px"))
        self.profile_picker = w.Dropdown(description="profile", layout=w.Layout(width="250px"))
        self.percentile = w.FloatRangeSlider(
            value=tuple(percentiles),
            min=0,
            max=100,
            step=0.5,
            description="limits %",
            continuous_update=False,
            layout=w.Layout(width="330px"),
        )
        self.cmap_picker = w.Dropdown(
            options=["gray", "viridis", "inferno", "magma", "cividis"],
            value=cmap,
            description="colours",
            layout=w.Layout(width="200px"),
        )
        self.sliders: dict[int, w.IntSlider] = {}
        self.plays: dict[int, w.Play] = {}
        self.slider_labels: dict[int, w.HTML] = {}
        self.slider_box = w.VBox()
        self.status = w.HTML()
        self.status.add_class("dkw-preview-status")
        self.legend = w.HTML()
        self.legend.add_class("dkw-preview-legend")
        self.colourbar = w.Image(format="png", layout=w.Layout(width="300px", height="14px"))
        self.colourbar_labels = w.HTML()
        self.colourbar_high = w.HTML()
        for part in (self.colourbar_labels, self.colourbar_high):
            part.add_class("dkw-preview-colourbar-label")
        self.world_text = w.HTML()
        self.world_text.add_class("dkw-preview-world-axes")
        self.upscale = 1

        self.image_widget = w.Image(format="png")
        self.x_scale = bq.LinearScale()
        self.y_scale = bq.LinearScale()
        self.image_mark = bq.Image(image=self.image_widget, scales={"x": self.x_scale, "y": self.y_scale})
        self.image_mark.on_element_click(self._on_image_click)
        self.marker = bq.Scatter(
            x=[],
            y=[],
            scales={"x": self.x_scale, "y": self.y_scale},
            colors=["#e8710a"],
            marker="crosshair",
            default_size=120,
        )
        self.x_axis_widget = bq.Axis(scale=self.x_scale, label="x")
        self.y_axis_widget = bq.Axis(scale=self.y_scale, orientation="vertical", label="y")
        self.xw_scale, self.yw_scale = bq.LinearScale(), bq.LinearScale()
        self.x_world_axis = bq.Axis(scale=self.xw_scale, side="top", label="", tick_format=".4g", visible=False)
        self.y_world_axis = bq.Axis(
            scale=self.yw_scale,
            orientation="vertical",
            side="right",
            label="",
            tick_format=".4g",
            label_offset="50px",
            visible=False,
        )
        # an invisible mark holds the world scales in the figure (bqplot draws axes of scales in use)
        self._world_mark = bq.Scatter(
            x=[0], y=[0], scales={"x": self.xw_scale, "y": self.yw_scale}, default_opacities=[0.0], visible=False
        )
        self.figure = bq.Figure(
            marks=[self.image_mark, self.marker, self._world_mark],
            axes=[self.x_axis_widget, self.y_axis_widget, self.x_world_axis, self.y_world_axis],
            padding_x=0,
            padding_y=0,
            fig_margin={"top": 50, "bottom": 55, "left": 80, "right": 80},
            layout=w.Layout(width="700px", height="520px"),
        )
        self.figure.add_class("dkw-preview-figure")

        self.p_x = bq.LinearScale()
        self.p_y = bq.LinearScale()
        self.profile_line = bq.Lines(x=[], y=[], scales={"x": self.p_x, "y": self.p_y}, colors=["#1f77b4"])
        self.profile_axis_x = bq.Axis(scale=self.p_x, label="index")
        self.profile_axis_y = bq.Axis(scale=self.p_y, orientation="vertical", tick_format=".3g")
        self.profile_figure = bq.Figure(
            marks=[self.profile_line],
            axes=[self.profile_axis_x, self.profile_axis_y],
            fig_margin={"top": 10, "bottom": 45, "left": 70, "right": 10},
            layout=w.Layout(width="640px", height="220px"),
        )
        self.profile_title = w.HTML("<i>click the image for a profile</i>")
        self.profile_title.add_class("dkw-preview-profile-title")

        controls = w.HBox(
            [self.x_picker, self.y_picker, self.cmap_picker, self.percentile], layout=w.Layout(flex_flow="row wrap")
        )
        bar = w.HBox(
            [self.colourbar_labels, self.colourbar, self.colourbar_high, self.legend],
            layout=w.Layout(align_items="center", flex_flow="row wrap"),
        )
        # the profile plot joins the view at the first click (no empty 0-1 plot before;
        # bqplot cannot lay out a hidden figure)
        self.children = [
            controls,
            self.slider_box,
            self.on_disk_only,
            self.nothing_box,
            self.figure,
            bar,
            self.world_text,
            self.status,
            w.HBox([self.profile_picker, self.profile_title]),
        ]

        self.x_picker.observe(self._on_axes, "value")
        self.y_picker.observe(self._on_axes, "value")
        self.percentile.observe(lambda _c: self.redraw(read=False), "value")
        self.cmap_picker.observe(lambda _c: self.redraw(read=False), "value")
        self.profile_picker.observe(lambda _c: self._draw_profile(), "value")
        model.observe(self._on_dataset, "dataset")
        model.observe(self._on_local, "local_files_version")
        self._on_dataset(None, image_axes=image_axes)

    # ------------------------------------------------------------------ setup

    @property
    def _ds(self):
        """The dataset whose axes the view uses (one tile when tiled)."""
        ds = self.model.dataset
        if ds is None:
            return None
        if self.model.is_tiled:
            return ds[next(iter(self.model.tile_indexes))]
        return ds

    def _on_dataset(self, _change, image_axes=None) -> None:
        ds = self._ds
        if ds is None:
            self.status.value = "no dataset"
            return
        shape = tuple(int(n) for n in ds.data.shape)
        if len(shape) < 2:
            self.status.value = "this dataset has fewer than two axes: nothing to show as an image"
            return
        names = pixel_axis_names(ds)
        self.axis_names = names
        self.shape = shape
        if image_axes is None:
            image_axes = (len(shape) - 1, len(shape) - 2)
        options = [(f"{i}: {name} ({n})", i) for i, (name, n) in enumerate(zip(names, shape, strict=False))]
        self._building = True
        try:
            self.x_picker.options = options
            self.y_picker.options = options
            self.profile_picker.options = options
            self.x_picker.value, self.y_picker.value = int(image_axes[0]), int(image_axes[1])
            self.profile_picker.value = next((i for i, n in enumerate(names) if "wave" in n.lower()), 0)
        finally:
            self._building = False
        self.unit = str(getattr(ds, "unit", None) or "")
        self._known_problems = {}
        self.indices = px.start_indices(self.model, image_axes) or [0] * len(shape)
        self.set_image_axes(*image_axes)

    def set_image_axes(self, x_axis: int, y_axis: int) -> None:
        """Show pixel axes ``x_axis`` (horizontal) and ``y_axis`` (vertical); the others become sliders."""
        x_axis, y_axis = int(x_axis), int(y_axis)
        px.normalise_request(self.shape, (x_axis, y_axis), [0] * len(self.shape))  # validates
        with self._lock:
            self.image_axes = (x_axis, y_axis)
            self.clicked = None
            self._building = True
            try:
                self.x_picker.value, self.y_picker.value = x_axis, y_axis
            finally:
                self._building = False
            self._build_sliders()
            self._label_axes()
            self.redraw()

    def _build_sliders(self) -> None:
        self.sliders, self.plays, self.slider_labels = {}, {}, {}
        rows = []
        for axis, n in enumerate(self.shape):
            if axis in self.image_axes:
                continue
            slider = w.IntSlider(
                value=min(self.indices[axis], n - 1),
                min=0,
                max=n - 1,
                description=self.axis_names[axis],
                continuous_update=False,
                layout=w.Layout(width="auto", min_width="420px"),
                style={"description_width": "initial"},
            )
            slider.add_class("dkw-preview-slider")
            play = w.Play(value=slider.value, min=0, max=n - 1, interval=400, description="play")
            w.jslink((play, "value"), (slider, "value"))
            label = w.HTML()
            slider.observe(lambda change, a=axis: self._on_slider(a, change["new"], change["old"]), "value")
            self.sliders[axis], self.plays[axis], self.slider_labels[axis] = slider, play, label
            rows.append(w.HBox([slider, play, label]))
            self._label_slider(axis)
        self.slider_box.children = rows

    def _world(self, axis: int, index: int) -> str:
        try:
            return describe_world_at(self._ds, axis, index)
        except Exception as exc:  # noqa: BLE001 - a WCS that cannot answer: say so, keep the view
            return f"(world: {type(exc).__name__})"

    def _label_slider(self, axis: int) -> None:
        index = self.sliders[axis].value
        self.slider_labels[axis].value = f"<span class='dkw-preview-world'>{escape(self._world(axis, index))}</span>"

    def _label_axes(self) -> None:
        lines = []
        for name, axis, widget in zip("xy", self.image_axes, (self.x_axis_widget, self.y_axis_widget), strict=False):
            n = self.shape[axis]
            widget.label = f"{self.axis_names[axis]} (pixel)"
            first, last = self._world(axis, 0), self._world(axis, n - 1)
            lines.append(
                f"<b>{name}</b>: {escape(self.axis_names[axis])}: 0 → {escape(first)}; {n - 1} → {escape(last)}"
            )
        self._world_axes()
        if self.model.is_tiled:
            lines.append(
                escape(
                    f"mosaic of {self.model.tile_grid_shape} tiles; world values of tile "
                    f"{next(iter(self.model.tile_indexes))}"
                )
            )
        self.world_text.value = "<br>".join(lines)

    def _world_axes(self) -> None:
        """Top / right axes in world units where the coordinate is linear along the image axis."""
        for axis, scale, widget in zip(
            self.image_axes, (self.xw_scale, self.yw_scale), (self.x_world_axis, self.y_world_axis), strict=True
        ):
            found = None if self.model.is_tiled else world_axis(self._ds, axis, self.indices)
            if found is None:
                widget.visible = False
                continue
            scale.min, scale.max = found.at_start, found.at_end
            widget.label = found.label
            widget.visible = True
        self.world_axes = (
            self.x_world_axis.label if self.x_world_axis.visible else None,
            self.y_world_axis.label if self.y_world_axis.visible else None,
        )

    # ------------------------------------------------------------------ events

    def _on_axes(self, _change) -> None:
        if self._building:
            return
        x, y = self.x_picker.value, self.y_picker.value
        if x is None or y is None:
            return
        if x == y:
            self.status.value = "<b>choose two different axes for x and y</b>"
            return
        self.set_image_axes(x, y)

    def _on_slider(self, axis: int, value: int, old: int | None = None) -> None:
        if self.on_disk_only.value:
            there = px.indices_on_disk(self.model, axis, self.image_axes, self.indices)
            if there and int(value) not in there:
                step = 1 if old is None or value >= old else -1
                ahead = [i for i in there if (i - value) * step > 0]
                target = (min(ahead) if step > 0 else max(ahead)) if ahead else (there[0] if step > 0 else there[-1])
                self.sliders[axis].value = int(target)  # observed again with a value on disk
                return
        with self._lock:
            self.indices[axis] = int(value)
            self._label_slider(axis)
            self.redraw()

    def _on_local(self, _change) -> None:
        if self.model.dataset is not None and self.indices:
            self.redraw()

    def _on_image_click(self, _mark, content) -> None:
        data = content.get("data", {}) if isinstance(content, dict) else {}
        if "click_x" in data and "click_y" in data:
            self.click(data["click_x"], data["click_y"])

    # ------------------------------------------------------------------ public

    def set_index(self, axis: int, index: int) -> None:
        """Move the slider of ``axis`` (not an image axis) to ``index``."""
        if axis not in self.sliders:
            raise ValueError(f"axis {axis} is an image axis or not an axis of this dataset")
        slider = self.sliders[axis]
        if not slider.min <= index <= slider.max:
            raise IndexError(f"index {index} is out of range 0..{slider.max} for axis {axis}")
        slider.value = int(index)

    def redraw(self, *, read: bool = True) -> None:
        """Re-read the pixels (``read``) and re-render the image."""
        with self._lock:
            t0 = time.perf_counter()
            if read or self.slab is None:
                if self.model.is_tiled:
                    self.slab, self.tile_shape = px.read_mosaic(self.model, self.image_axes, self.indices)
                else:
                    self.slab = px.read_image(self.model, self.image_axes, self.indices)
            slab = self.slab
            low, high = self.percentile.value
            self.limits = px.percentile_limits(slab.values, low, high) if high > low else None
            ny, nx = slab.values.shape
            self.stride = max(1, int(np.ceil(max(ny, nx) / self.max_side)))
            k = self.stride
            self.upscale = max(1, MIN_DISPLAY_SIDE // max(ny, nx)) if k == 1 else 1
            values, missing = slab.values[::k, ::k], slab.missing[::k, ::k]
            if self.upscale > 1:  # so the stripes of a one-pixel-wide missing column stay visible
                u = self.upscale
                values = np.repeat(np.repeat(values, u, axis=0), u, axis=1)
                missing = np.repeat(np.repeat(missing, u, axis=0), u, axis=1)
            png = _png(render_rgba(values, missing, self.limits, self.cmap_picker.value))
            # bqplot's Image mark redraws on a new ``image`` widget, not on a change of its value
            old = self.image_widget
            self.image_widget = w.Image(value=png, format="png")
            with self.image_mark.hold_sync():
                self.image_mark.image = self.image_widget
                self.image_mark.x = [-0.5, nx - 0.5]
                self.image_mark.y = [-0.5, ny - 0.5]
                self.x_scale.min, self.x_scale.max = -0.5, nx - 0.5
                self.y_scale.min, self.y_scale.max = -0.5, ny - 0.5
            old.close()
            self._draw_colourbar()
            self.last_draw_seconds = time.perf_counter() - t0
            self._render_status()
            if read and self.clicked is not None:
                self._draw_profile()

    def _draw_colourbar(self) -> None:
        gradient = np.linspace(0, 1, 256, dtype=np.float32)[None, :].repeat(8, axis=0)
        rgba = render_rgba(gradient, np.zeros(gradient.shape, dtype=bool), (0.0, 1.0), self.cmap_picker.value)
        self.colourbar.value = _png(rgba)
        unit = escape(self.unit) if self.unit else "(no unit in the dataset)"
        if self.limits is None:
            self.colourbar_labels.value = ""
            self.colourbar_high.value = ""
            self.colourbar.layout.visibility = "hidden"
        else:
            lo, hi = self.limits
            self.colourbar.layout.visibility = "visible"
            self.colourbar_labels.value = f"<span class='dkw-preview-limits'>{lo:.4g}&nbsp;</span>"
            self.colourbar_high.value = (
                f"<span class='dkw-preview-limits-high'>&nbsp;{hi:.4g} "
                f"<span class='dkw-preview-unit'>{unit}</span></span>"
            )

    def _render_status(self) -> None:
        slab = self.slab
        n_missing_files = slab.n_files - slab.n_read
        swatch = (
            "<span style='display:inline-block;width:14px;height:14px;vertical-align:middle;"
            "background:repeating-linear-gradient(45deg,#b0b0b0 0 4px,#dedede 4px 8px)'></span>"
        )
        self.legend.value = (
            f"{swatch} <span class='dkw-preview-missing'>missing: {n_missing_files} of {slab.n_files} files</span>"
        )
        thin = f"; shown every {self.stride}th pixel" if self.stride > 1 else ""
        fixed = ", ".join(f"{escape(self.axis_names[a])}={self.indices[a]}" for a in self.sliders)
        self.status.value = (
            escape(f"read {slab.n_read} of {slab.n_files} files in {self.last_draw_seconds * 1000:.0f} ms")
            + (f"; {fixed}" if fixed else "")
            + escape(thin)
            + self._problems_html(slab)
        )
        self._nothing_on_disk(slab)

    def _problems_html(self, slab) -> str:
        """The files of this view that are on disk but cannot be used, named, with why."""
        for name, why in slab.problems:
            self._known_problems[name] = why
        if slab.problems:
            self._report_unreadable(slab.problems)
        in_view = set(self._view_names())
        shown = [(n, why) for n, why in self._known_problems.items() if n in in_view]
        self.problems = tuple(shown)
        if not shown:
            return ""
        items = "".join(f"<li>{escape(name)}: {escape(why)}</li>" for name, why in shown[:5])
        more = f"<li>… and {len(shown) - 5} more</li>" if len(shown) > 5 else ""
        return (
            f"<div class='dkw-preview-problems'>{len(shown)} file(s) on disk could not be used "
            f"(drawn as missing, not counted as on disk):<ul style='margin:0'>{items}{more}</ul></div>"
        )

    def _view_names(self) -> list[str]:
        if self.model.is_tiled:
            return list(self._known_problems)
        uris = px.layout_of(self.model.dataset).uris.ravel()
        return [str(uris[f]) for f in self.view_frame_ids()]

    def _report_unreadable(self, problems) -> None:
        mark = getattr(self.model, "mark_unreadable", None)
        if mark is None:
            return
        frames = {}
        for name, why in problems:
            for frame in px.frame_ids_of(self.model, [name]):
                frames[frame] = why
        if frames:  # not from inside this redraw: the model's refresh redraws the view
            threading.Thread(target=mark, args=(frames,), daemon=True, name="dkw-preview-unreadable").start()

    def _nothing_on_disk(self, slab) -> None:
        if slab.n_read or self.problems:
            self.nothing_box.layout.display = "none"
            return
        self.nothing_text.value = (
            escape(
                f"Nothing of this view is on disk yet ({slab.n_files} file(s) needed"
                f"{'; none of the dataset' if not self.model.n_local_files else ''})."
            )
            + " "
        )
        self.fetch_button.disabled = False
        self.nothing_box.layout.display = "flex"

    # ------------------------------------------------------------------ fetching

    def view_frame_ids(self) -> list[int]:
        """Frame ids (model order) of the files the current view needs."""
        if self.model.is_tiled:
            return []
        layout = px.layout_of(self.model.dataset)
        ngrid = len(layout.grid_shape)
        item = tuple(slice(None) if a in self.image_axes else int(self.indices[a]) for a in range(ngrid))
        ids = np.arange(int(np.prod(layout.grid_shape))).reshape(layout.grid_shape)[item]
        return [int(i) for i in np.ravel(ids)]

    def on_fetch_request(self, callback, remove: bool = False) -> None:
        """Register ``callback(frame_ids)`` for "Fetch this view's files" (``remove=True`` drops it)."""
        if remove:
            self._fetch_callbacks = [c for c in self._fetch_callbacks if c is not callback]
        else:
            self._fetch_callbacks.append(callback)

    def request_fetch(self) -> list[int]:
        """Hand the current view's frame ids to the fetch callbacks (or show the dkist code)."""
        ids = self.view_frame_ids()
        if not self._fetch_callbacks:
            item = ", ".join(":" if a in self.image_axes else str(self.indices[a]) for a in range(len(self.shape)))
            self.nothing_text.value = (
                escape(f"{len(ids)} file(s). No transfer is connected to this view; in code:")
                + f"<pre class='dkw-code'>ds[{escape(item)}].files.download("
                "path='~/dkist_data/{dataset_id}')</pre>"
            )
            return ids
        for callback in list(self._fetch_callbacks):
            callback(ids)
        self.fetch_button.disabled = True
        self.nothing_text.value = escape(f"Asked for the {len(ids)} file(s) of this view; they show as they arrive.")
        return ids

    def click(self, x: float, y: float) -> None:
        """Act as a click at data coordinates ``(x, y)``: mark it and draw the profile there."""
        if self.slab is None:
            return
        ny, nx = self.slab.values.shape
        ix, iy = int(round(x)), int(round(y))
        if not (0 <= ix < nx and 0 <= iy < ny):
            return
        with self._lock:
            self.clicked = (ix, iy)
            self.marker.x, self.marker.y = [ix], [iy]
            self._draw_profile()

    def profile_request(self) -> tuple[dict, tuple | None] | None:
        """``(indices, tile)`` for the profile at the clicked pixel (``None`` before a click)."""
        if self.clicked is None:
            return None
        ix, iy = self.clicked
        tile = None
        if self.model.is_tiled and self.tile_shape is not None:
            ty, tx = self.tile_shape
            tile = (ix // tx, iy // ty)
            ix, iy = ix % tx, iy % ty
        indices = list(self.indices)
        indices[self.image_axes[0]], indices[self.image_axes[1]] = ix, iy
        return dict(enumerate(indices)), tile

    def _draw_profile(self) -> None:
        request = self.profile_request()
        axis = self.profile_picker.value
        if request is None or axis is None:
            return
        indices, tile = request
        if tile is not None and tile not in self.model.tile_indexes:
            self.profile_title.value = "<i>no tile there</i>"
            return
        slab = px.read_profile(self.model, axis, indices, tile=tile)
        self.profile = slab
        if self.profile_figure not in self.children:
            self.children = (*self.children, self.profile_figure)
        x = np.arange(slab.values.size)
        y = np.where(slab.missing, np.nan, slab.values)
        self.profile_line.x, self.profile_line.y = x, y
        self.profile_axis_x.label = f"{self.axis_names[axis]} (pixel)"
        where = ", ".join(f"{self.axis_names[a]}={i}" for a, i in indices.items() if a != axis)
        missing = int(np.count_nonzero(slab.missing))
        note = f" — {missing} points from missing files" if missing else ""
        tile_text = f"tile {tile}: " if tile is not None else ""
        self.profile_title.value = escape(f"{tile_text}profile along {self.axis_names[axis]} at {where}{note}")
