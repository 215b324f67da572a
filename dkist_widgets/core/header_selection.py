"""HeaderSelectionState: the header explorer's selection recipe as plain traits (no widgets).

The recipe that turns a header table into a set of frames (brushed time intervals,
a threshold on the plotted key and its direction, how the two combine, invert, the
longest good run, the Stokes states it applies to, "all Stokes at those times") is
held here, in the spirit of glue's viewer ``State`` objects: a ``HasTraits`` with no
comm that a test drives without a kernel. The header explorer links its widgets to
these traits and writes ``frames(table)`` into the model; it holds no selection
logic of its own.

Choices
-------
* **Units.** ``threshold`` is in header units (metres for ``ATMOS_R0``); display
  units are the panel's business. ``intervals`` are on the ``x`` axis of
  :class:`~dkist_widgets.core.header_table.HeaderTable`: seconds since the first
  frame (``x="time"``) or frame numbers (``x="frame"``).
* **Invariants kept by the state itself.** Changing ``key`` switches the threshold
  off and forgets its value (a value of one key means nothing for another;
  :meth:`choose_key` then starts it at the key's median); changing ``x`` drops the
  brushed intervals (they were measured on the other axis).
* **Longest good run is a flag**, a step of the recipe like invert: it stays true
  while the other criteria change, so moving the threshold re-runs it, and a saved
  recipe reproduces it. Its button shows the flag; a second press turns the step
  off, and :meth:`describe` (shown by the panel) says what is in force, so nothing
  is undone silently. A longest run of a key without a single finite value would
  select nothing: :meth:`settle` switches the step off and says why.
* **Order of the steps** (:meth:`frames`): intervals and threshold (each restricted
  to the chosen Stokes states) combine with AND or OR; invert complements that
  among the chosen Stokes states (invert alone keeps them all); longest run keeps
  the longest stretch of consecutive frames in time order; "all Stokes at those
  times" finally adds the other Stokes states of the chosen time slots.
* **Empty recipe.** With no interval, threshold, invert or longest run the recipe
  chooses nothing (:attr:`is_empty`); :meth:`clear` returns to it, keeping the key,
  axis, Stokes states and the threshold value typed.
"""

from __future__ import annotations

import math

import numpy as np
import traitlets

from .header_table import R0_KEY, HeaderTable
from .units import R0_PRECISION_M

__all__ = ["HeaderSelectionState", "RECIPE_TRAITS", "THRESHOLD_DIRECTIONS"]

THRESHOLD_DIRECTIONS = ("off", ">=", "<=")
#: Traits whose change changes :meth:`HeaderSelectionState.frames`.
RECIPE_TRAITS = (
    "key",
    "x",
    "intervals",
    "threshold",
    "direction",
    "combine",
    "invert",
    "longest_run",
    "stokes",
    "all_stokes",
)


class HeaderSelectionState(traitlets.HasTraits):
    """The selection recipe of the header explorer.

    ``frames(table)`` answers which frame ids (rows of ``ds.headers``) the recipe
    selects and ``describe()`` says it in words; the other methods change traits.
    """

    key = traitlets.Unicode(None, allow_none=True, help="Key plotted; the threshold applies to it.")
    x = traitlets.Enum(("time", "frame"), "time", help="Axis the intervals are measured on.")
    intervals = traitlets.List(
        traitlets.Tuple(traitlets.Float(), traitlets.Float()), help="Brushed closed intervals (lo, hi) on the x axis."
    )
    add_intervals = traitlets.Bool(False, help="A new brush adds an interval instead of replacing them.")
    threshold = traitlets.Float(None, allow_none=True, help="Threshold on key in header units (None: none).")
    direction = traitlets.Enum(THRESHOLD_DIRECTIONS, "off", help="Keep frames >= or <= the threshold, or off.")
    combine = traitlets.Enum(("and", "or"), "and", help="How intervals and threshold combine.")
    invert = traitlets.Bool(False, help="Complement the result among the chosen Stokes states.")
    longest_run = traitlets.Bool(False, help="Keep only the longest stretch of consecutive good frames.")
    stokes = traitlets.List(
        traitlets.Unicode(), default_value=["I"], help="Stokes states the criteria apply to (empty: all)."
    )
    all_stokes = traitlets.Bool(True, help="Add the other Stokes states at the chosen time slots.")

    # ------------------------------------------------------------------ invariants

    @traitlets.observe("key")
    def _key_changed(self, _change) -> None:
        with self.hold_trait_notifications():
            self.direction = "off"
            self.threshold = None

    @traitlets.observe("x")
    def _x_changed(self, _change) -> None:
        self.intervals = []

    # ------------------------------------------------------------------ setting

    def start(self, table: HeaderTable, key: str | None = None) -> str | None:
        """Reset for a new table: time axis when it has one, its first Stokes state, and
        ``key`` (else ``ATMOS_R0``, else its first numeric key). Returns the key chosen."""
        numeric = table.numeric_keys
        if key not in numeric:
            key = R0_KEY if R0_KEY in numeric else (numeric[0] if numeric else None)
        with self.hold_trait_notifications():
            self.clear()
            self.x = "time" if table.time.is_time else "frame"
            self.intervals = []
            self.stokes = [table.stokes.names[0]]
        self.choose_key(table, key)
        return key

    def choose_key(self, table: HeaderTable, key: str | None) -> None:
        """Plot ``key``: the threshold switches off and its value becomes the key's median
        (None without a finite value; r0 rounded to a millimetre), so switching it on starts
        mid-range at a value the box shows exactly."""
        self.key = key  # not under hold_trait_notifications: _key_changed must run first
        self.direction = "off"
        median = table.median(key) if key is not None and table.has(key) else None  # once per dataset
        if median is not None and key == R0_KEY:  # to what r0 means (a millimetre), so the box shows it exactly
            median = round(median, max(0, -math.floor(math.log10(R0_PRECISION_M) + 1e-9)))
        self.threshold = median

    def brush(self, lo: float, hi: float, *, add: bool | None = None) -> None:
        """A brush from ``lo`` to ``hi`` (x axis units): replaces the intervals, or adds one
        (``add``, default :attr:`add_intervals`)."""
        lo, hi = sorted((float(lo), float(hi)))
        add = self.add_intervals if add is None else add
        self.intervals = (list(self.intervals) if add else []) + [(lo, hi)]

    def set_threshold(self, value, direction: str = ">=") -> None:
        """Threshold ``value`` (header units) kept ``direction``; ``None`` or ``"off"`` switches it off."""
        if value is None or direction == "off":
            self.direction = "off"
            return
        if direction not in THRESHOLD_DIRECTIONS:
            raise ValueError(f"direction must be one of {THRESHOLD_DIRECTIONS}, got {direction!r}")
        with self.hold_trait_notifications():
            self.threshold = float(value)
            self.direction = direction

    def drag_threshold(self, value) -> None:
        """The threshold handle was dropped at ``value`` (header units): a threshold that
        was off starts as "keep ≥"."""
        with self.hold_trait_notifications():
            self.threshold = float(value)
            if self.direction == "off":
                self.direction = ">="

    def restore(self, recipe) -> None:
        """Set the traits of a saved recipe (:func:`~dkist_widgets.core.saved_selection.recipe_of`):
        the key and axis first (they reset the threshold and intervals), then the rest.
        Unknown names are ignored; a value of the wrong type raises ``TraitError``."""
        recipe = dict(recipe)
        if "key" in recipe:
            self.key = recipe["key"]
        if "x" in recipe:
            self.x = recipe["x"]
        if "intervals" in recipe:
            recipe["intervals"] = [tuple(pair) for pair in recipe["intervals"]]
        for name in (
            "stokes",
            "intervals",
            "threshold",
            "combine",
            "invert",
            "all_stokes",
            "add_intervals",
            "longest_run",
            "direction",
        ):
            if name in recipe:
                setattr(self, name, recipe[name])

    def clear(self) -> None:
        """Back to the empty recipe (intervals, threshold direction, invert, longest run off)."""
        with self.hold_trait_notifications():
            self.intervals = []
            self.direction = "off"
            self.invert = False
            self.longest_run = False

    # ------------------------------------------------------------------ reading

    @property
    def threshold_on(self) -> bool:
        return (
            self.direction != "off"
            and self.key is not None
            and self.threshold is not None
            and math.isfinite(self.threshold)
        )

    @property
    def is_empty(self) -> bool:
        """True when the recipe chooses nothing (no interval, threshold, invert or longest run)."""
        return not (self.intervals or self.threshold_on or self.invert or self.longest_run)

    def within(self, table: HeaderTable) -> np.ndarray | None:
        """Frames of the chosen Stokes states (``None``: every frame, one state or none chosen)."""
        if len(table.stokes.names) == 1 or not self.stokes:
            return None
        return table.stokes.frames(list(self.stokes))

    def frames(self, table: HeaderTable) -> np.ndarray:
        """Sorted frame ids the recipe selects in ``table``.

        Raises :class:`~dkist_widgets.core.header_table.MissingKeyError` when a threshold
        is on for a key the table lacks, ``ValueError`` for a Stokes state it lacks.
        """
        within = self.within(table)
        universe = table.all_frames() if within is None else within
        parts = []
        if self.intervals:
            parts.append(table.frames_in_intervals(self.intervals, x=self.x, within=within))
        if self.threshold_on:
            lo, hi = (self.threshold, None) if self.direction == ">=" else (None, self.threshold)
            parts.append(table.frames_where(self.key, lo, hi, within=within))
        if len(parts) == 2:
            combine = np.intersect1d if self.combine == "and" else np.union1d
            ids = combine(parts[0], parts[1])
        elif parts:
            ids = parts[0]
        elif self.longest_run and self.key is not None:
            ids = table.frames_where(self.key, within=within)  # "good" = has a value
        elif self.invert or self.longest_run:
            ids = universe
        else:
            ids = np.zeros(0, dtype=np.int64)
        if self.invert and parts:
            ids = table.complement(ids, within=within)
        if self.longest_run:
            ids = table.longest_run(ids, within=within)
        if self.all_stokes:
            ids = table.expand_stokes(ids)
        return np.asarray(ids, dtype=np.int64)

    def settle(self, table: HeaderTable) -> list[str]:
        """Switch off the steps ``table`` cannot honour; returns why, one line each.

        A longest good run of a key with no finite value would select nothing, so
        that step is switched off (and the model's selection stays as it was).
        """
        why = []
        key = self.key
        if self.longest_run and key is not None and table.has(key) and not np.isfinite(table.numeric(key)).any():
            why.append(f"longest good run switched off: {key} has no finite values")
            self.longest_run = False
        return why

    def describe(self, display=None) -> str:
        """The recipe in words, e.g. ``"ATMOS_R0 ≥ 0.060 m AND 2 intervals, longest good run, Stokes I, all Stokes"``.

        ``display(key, value) -> str`` formats a threshold (default: the value as is).
        """
        if self.is_empty:
            return "nothing chosen"
        words = []
        if self.intervals:
            n = len(self.intervals)
            words.append(f"{n} interval{'s' if n > 1 else ''} of {self.x}")
        if self.threshold_on:
            value = display(self.key, self.threshold) if display else f"{self.threshold:g}"
            words.append(f"{self.key} {'≥' if self.direction == '>=' else '≤'} {value}")
        text = f" {self.combine.upper()} ".join(words)
        steps = [text] if text else []
        if self.invert:
            steps.append("inverted")
        if self.longest_run:
            steps.append(f"longest good run{'' if words else f' (frames with a {self.key} value)'}")
        if self.stokes and self.stokes != ["all"]:  # "all": a table with no Stokes states
            steps.append("Stokes " + "+".join(self.stokes))
        if self.all_stokes:
            steps.append("all Stokes at those times")
        return ", ".join(steps)
