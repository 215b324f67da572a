"""The header explorer's controls, each linked to a :class:`HeaderSelectionState` trait.

Every toggle, box and button shows a trait of the state (``traitlets.link``), so
what is highlighted is what the recipe holds: when the recipe is cleared (by the
Clear button, or because another panel replaced the selection) every highlight
goes with it. Nothing here computes a selection.

Choices
-------
* The threshold box is in display units (r0 in metres, the unit the notebook and
  the headers use, see :mod:`dkist_widgets.core.units`) and the unit is named right
  of it; the link converts to and from header units with the key plotted at that
  moment. The box shows the state's value as typed (to 6 decimals), so typing
  0.08 selects exactly ``ATMOS_R0 >= 0.08``.
* Stokes check boxes: each box adds or removes only its own state from
  ``state.stokes``, and the boxes are set from ``state.stokes``; a box set to what
  the state already holds changes nothing, so the two directions cannot loop.
* The key picker is not linked: a typed text becomes a key only once it names a
  header key (``key_from_text``), and the explorer decides what to do with it.
* A line under the buttons says the recipe in force (``state.describe``), so
  pressing "Longest good run" a second time visibly turns that step off.
* Widgets take their layouts and styles from the panel's
  :class:`~dkist_widgets.panels.shared_looks.SharedLooks` (one model per look, not
  two per widget); none of them changes its layout or style afterwards. The Stokes
  check boxes are made only when there is more than one Stokes state to choose.
"""

from __future__ import annotations

import math

import ipywidgets as w
import traitlets

from ..core.formatting import escape
from ..core.header_selection import RECIPE_TRAITS
from ..core.header_table import describe_key
from .header_plot import display_unit, from_display, to_display, value_text
from .shared_looks import SharedLooks

__all__ = ["HeaderControls"]


class HeaderControls:
    """Widgets of the header explorer other than the plot, the table and the texts."""

    def __init__(self, state, looks: SharedLooks | None = None):
        self.state = state
        self.looks = looks = looks if looks is not None else SharedLooks()
        button_style = looks.style(w.ToggleButton)
        check_style = looks.style(w.Checkbox)
        self.option_key: dict[str, str] = {}
        self.key_picker = w.Combobox(
            placeholder="search keys (name or meaning)",
            ensure_option=False,
            description="Key",
            layout=looks.layout(width="420px"),
            style=looks.style(w.Combobox),
        )
        self.key_picker.add_class("dkw-key-picker")
        self.x_toggle = w.ToggleButtons(
            options=[("time", "time"), ("frame", "frame")],
            value="time",
            layout=looks.layout(),
            style={"button_width": "60px"},
            tooltip="x axis",
        )
        self.stokes_checks: dict[str, w.Checkbox] = {}
        self.stokes_box = w.HBox(layout=looks.layout())
        self.threshold_mode = w.ToggleButtons(
            options=[("off", "off"), ("keep ≥", ">="), ("keep ≤", "<=")],
            value="off",
            layout=looks.layout(),
            style={"button_width": "84px"},
            tooltip="Keep frames whose plotted value is above/below the value "
            "(or drag the red handle right of the plot)",
        )
        self.threshold_text = w.FloatText(value=0.0, layout=looks.layout(width="100px"), style=looks.style(w.FloatText))
        self.threshold_text.add_class("dkw-threshold-value")
        self.threshold_unit = looks.html(width="40px")
        self.threshold_unit.add_class("dkw-threshold-unit")
        self.combine = w.ToggleButtons(
            options=[("AND", "and"), ("OR", "or")],
            value="and",
            layout=looks.layout(),
            style={"button_width": "62px"},
            tooltip="How brushed intervals and the threshold combine",
        )
        self.add_intervals = w.Checkbox(
            value=False,
            description="add intervals",
            indent=False,
            layout=looks.layout(width="120px"),
            style=check_style,
        )
        self.invert_button = w.ToggleButton(
            value=False,
            description="Invert",
            tooltip="Select the frames not chosen",
            layout=looks.layout(),
            style=button_style,
        )
        self.longest_button = w.ToggleButton(
            value=False,
            description="Longest good run",
            tooltip="Keep the longest stretch of consecutive frames meeting the "
            "criteria (press again to drop this step)",
            layout=looks.layout(),
            style=button_style,
        )
        self.clear_button = w.Button(
            description="Clear",
            tooltip="Clear brush, threshold and selection",
            layout=looks.layout(),
            style=looks.style(w.Button),
        )
        self.all_stokes = w.Checkbox(
            value=True,
            description="all Stokes at those times",
            indent=False,
            layout=looks.layout(width="190px"),
            style=check_style,
        )
        self.only_selected = w.Checkbox(
            value=False,
            description="only selected rows",
            indent=False,
            layout=looks.layout(width="150px"),
            style=check_style,
        )
        self.recipe = looks.html()
        self.recipe.add_class("dkw-header-recipe")
        self.links = [
            traitlets.link((state, "x"), (self.x_toggle, "value")),
            traitlets.link((state, "direction"), (self.threshold_mode, "value")),
            traitlets.link(
                (state, "threshold"),
                (self.threshold_text, "value"),
                transform=(self._threshold_shown, self._threshold_typed),
            ),
            traitlets.link((state, "combine"), (self.combine, "value")),
            traitlets.link((state, "add_intervals"), (self.add_intervals, "value")),
            traitlets.link((state, "invert"), (self.invert_button, "value")),
            traitlets.link((state, "longest_run"), (self.longest_button, "value")),
            traitlets.link((state, "all_stokes"), (self.all_stokes, "value")),
        ]
        state.observe(self._show_stokes, names="stokes")
        state.observe(self._show_key, names="key")
        state.observe(self._show_recipe, names=[*RECIPE_TRAITS, "add_intervals"])
        self._show_recipe()

    def threshold_row(self) -> w.HBox:
        looks = self.looks
        return w.HBox(
            [
                looks.html("threshold&nbsp;", width="70px"),
                self.threshold_mode,
                self.threshold_text,
                self.threshold_unit,
                looks.html("&nbsp;&nbsp;brush/threshold&nbsp;"),
                self.combine,
                self.add_intervals,
            ],
            layout=self.looks.layout(align_items="center"),
        )

    def button_row(self) -> w.HBox:
        return w.HBox(
            [self.invert_button, self.longest_button, self.clear_button, self.all_stokes, self.only_selected],
            layout=self.looks.layout(),
        )

    # ------------------------------------------------------------------ a table

    def show(self, table) -> None:
        """Key options, Stokes boxes and the x toggle for ``table`` (``None``: none)."""
        self.stokes_checks = {}
        if table is None:
            self.stokes_box.children = []
            self.key_picker.options = []
            return
        self.x_toggle.disabled = not table.time.is_time
        names = table.stokes.names
        for name in names if len(names) > 1 else ():  # one Stokes state: no boxes to show
            box = w.Checkbox(
                value=name in self.state.stokes,
                indent=False,
                layout=self.looks.layout(width="85px"),
                style=self.looks.style(w.Checkbox),
                description=f"Stokes {name}" if name != "all" else "all frames",
            )
            box.observe(lambda change, name=name: self._on_stokes_box(name, change["new"]), names="value")
            self.stokes_checks[name] = box
        self.stokes_box.children = list(self.stokes_checks.values())
        options = []
        self.option_key = {}
        for key in table.keys:
            info = describe_key(key)
            text = key
            if info is not None and (info.description or info.units):
                unit = f" [{info.units}]" if info.units else ""
                text = f"{key}{unit} — {info.description[:70]}"
            options.append(text)
            self.option_key[text] = key
        self.key_picker.options = options

    def key_from_text(self, text) -> tuple[str, bool]:
        """(key, chosen) for a text typed or picked: ``chosen`` when it is an option or a
        whole key name (not a prefix still being typed)."""
        text = str(text or "").strip()
        key = self.option_key.get(text) or text.split(" — ")[0].split(" [")[0].strip().upper()
        return key, text in self.option_key or (len(text) >= 3 and text.upper() == key)

    # ------------------------------------------------------------------ links

    def _threshold_shown(self, value: float | None) -> float:
        if value is None or not math.isfinite(value):
            return self.threshold_text.value  # nothing to show: leave the box as it is
        return round(float(to_display(self.state.key, value)), 6)

    def _threshold_typed(self, value: float) -> float:
        return float(from_display(self.state.key, float(value)))

    def _on_stokes_box(self, name: str, checked: bool) -> None:
        current = list(self.state.stokes)
        if checked and name not in current:
            self.state.stokes = [n for n in self.stokes_checks if n in current or n == name]
        elif not checked and name in current:
            self.state.stokes = [n for n in current if n != name]

    def _show_stokes(self, _change) -> None:
        for name, box in self.stokes_checks.items():
            box.value = name in self.state.stokes

    def _show_key(self, _change) -> None:
        self.threshold_unit.value = escape(display_unit(self.state.key))
        if self.state.threshold is not None:
            self.threshold_text.value = self._threshold_shown(self.state.threshold)

    def _show_recipe(self, _change=None) -> None:
        self.recipe.value = f"<span style='opacity:.75'>Recipe: {escape(self.state.describe(value_text))}</span>"
