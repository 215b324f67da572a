"""SearchForm: the search panel's form -- the controls, their values for
:meth:`~dkist_widgets.core.search.SearchRequest.from_form`, and the choices the data
centre offers. No search logic (:mod:`dkist_widgets.core.search`) and no actions
(:mod:`dkist_widgets.panels.search`).

Choices
-------
* Every control is a text box or a dropdown holding what the user typed; parsing
  and validation belong to ``SearchRequest.from_form``, which lists every problem.
* "(any)" / "any" mean "do not filter"; r0 is typed in the display unit of
  :mod:`dkist_widgets.core.units` and labelled with it (``r0_min`` / ``r0_max``;
  :meth:`SearchForm.set` also takes the older ``r0_min_cm`` / ``r0_max_cm`` in cm
  and shows them converted).
* Each control carries a ``dkw-search-<name>`` CSS class (the browser tests find
  them by it).
"""

from __future__ import annotations

import ipywidgets as w

from ..core import search as core
from ..core.units import r0_decimals, r0_label, r0_to_display

__all__ = ["SearchForm", "PAGE_SIZES", "ANY"]

PAGE_SIZES = (25, 50, 100, 250, 500, 1000)
#: The dropdown entry meaning "do not filter".
ANY = "(any)"

#: SearchRequest field -> form control attribute.
FIELD_CONTROLS = {
    "start": "start",
    "end": "end",
    "instrument": "instrument",
    "wavelength_min_nm": "wavelength_min",
    "wavelength_max_nm": "wavelength_max",
    "embargoed": "embargoed",
    "r0_min": "r0_min",
    "r0_max": "r0_max",
    "dataset_ids": "dataset_ids",
    "proposal_id": "proposal_id",
    "target_type": "target_type",
    "all_stokes": "all_stokes",
    "page_size": "page_size",
}


class SearchForm(w.VBox):
    """The controls of a search, laid out in rows; one attribute per control
    (:data:`FIELD_CONTROLS`)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        narrow = w.Layout(width="230px")
        style = {"description_width": "90px"}
        self.start = w.Text(description="Start", placeholder="YYYY-MM-DD[THH:MM]", layout=narrow, style=style)
        self.end = w.Text(description="End", placeholder="YYYY-MM-DD[THH:MM]", layout=narrow, style=style)
        self.instrument = w.Dropdown(description="Instrument", options=[ANY], layout=narrow, style=style)
        self.wavelength_min = w.Text(description="λ min (nm)", layout=narrow, style=style)
        self.wavelength_max = w.Text(description="λ max (nm)", layout=narrow, style=style)
        self.embargoed = w.Dropdown(
            description="Embargoed",
            options=[(ANY, "any"), ("no", "no"), ("yes", "yes")],
            value="no",
            layout=narrow,
            style=style,
        )
        self.r0_min = w.Text(description=r0_label("r0 min"), layout=narrow, style=style)
        self.r0_max = w.Text(description=r0_label("r0 max"), layout=narrow, style=style)
        self.dataset_ids = w.Text(
            description="Dataset IDs", placeholder="ids, comma separated", layout=w.Layout(width="466px"), style=style
        )
        self.proposal_id = w.Text(description="Proposal", placeholder="pid_1_23", layout=narrow, style=style)
        self.target_type = w.Dropdown(description="Target", options=[ANY], layout=narrow, style=style)
        self.all_stokes = w.Dropdown(
            description="All Stokes",
            options=[(ANY, "any"), ("yes", "yes"), ("no", "no")],
            value="any",
            layout=narrow,
            style=style,
        )
        self.page_size = w.Dropdown(
            description="Page size", options=list(PAGE_SIZES), value=core.DEFAULT_PAGE_SIZE, layout=narrow, style=style
        )
        for control, name in (
            (self.start, "start"),
            (self.end, "end"),
            (self.instrument, "instrument"),
            (self.wavelength_min, "wavelength-min"),
            (self.wavelength_max, "wavelength-max"),
            (self.embargoed, "embargoed"),
            (self.r0_min, "r0-min"),
            (self.r0_max, "r0-max"),
            (self.dataset_ids, "dataset-ids"),
            (self.proposal_id, "proposal"),
            (self.target_type, "target"),
            (self.all_stokes, "stokes"),
            (self.page_size, "page-size"),
        ):
            control.add_class(f"dkw-search-{name}")
        self.children = [
            w.HBox([self.start, self.end, self.instrument]),
            w.HBox([self.wavelength_min, self.wavelength_max, self.embargoed]),
            w.HBox([self.r0_min, self.r0_max, self.all_stokes]),
            w.HBox([self.dataset_ids, self.target_type]),
            w.HBox([self.proposal_id, self.page_size]),
        ]

    def values(self) -> dict:
        """The form as loosely typed values for :meth:`SearchRequest.from_form`."""
        out = {}
        for field, attr in FIELD_CONTROLS.items():
            value = getattr(self, attr).value
            if isinstance(getattr(self, attr), w.Dropdown) and field != "page_size" and value in (ANY, "any"):
                value = None
            out[field] = value
        return out

    def set(self, **values) -> None:
        """Fill the form from :class:`SearchRequest` field names (tests, notebooks)."""
        for name, value in values.items():
            if name in ("r0_min_cm", "r0_max_cm"):  # older keys, in cm
                name = name[:-3]
                try:
                    value = f"{round(r0_to_display(float(value) / 100.0), 12):g}"
                except (TypeError, ValueError):
                    pass  # not a number: shown as typed, the search says what is wrong
            if name not in FIELD_CONTROLS:
                raise ValueError(f"no form field {name!r}; fields are {sorted(FIELD_CONTROLS)}")
            control = getattr(self, FIELD_CONTROLS[name])
            if isinstance(control, w.Dropdown):
                if value is None:
                    value = ANY if name in ("instrument", "target_type") else "any"
                elif isinstance(value, bool):
                    value = "yes" if value else "no"
                control.value = value
            else:
                if isinstance(value, (list, tuple)):
                    value = ", ".join(value)
                control.value = "" if value is None else str(value)

    def apply_choices(self, choices: core.FormChoices) -> None:
        """Offer the instruments and target types of ``choices``; show their ranges as hints."""
        current = self.instrument.value
        self.instrument.options = [ANY, *choices.instruments]
        self.instrument.value = current if current in self.instrument.options else ANY
        current = self.target_type.value
        self.target_type.options = [ANY, *choices.target_types]
        self.target_type.value = current if current in self.target_type.options else ANY
        lo, hi = choices.time_range
        if lo and hi:
            self.start.placeholder = str(lo)[:16]
            self.end.placeholder = str(hi)[:16]
        r_lo, r_hi = choices.r0_range_m
        if r_lo is not None and r_hi is not None:
            digits = r0_decimals()
            self.r0_min.placeholder = f"≥ {r0_to_display(r_lo):.{digits}f}"
            self.r0_max.placeholder = f"≤ {r0_to_display(r_hi):.{digits}f}"
