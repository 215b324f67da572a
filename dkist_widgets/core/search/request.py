"""What to search for: the form parsed and validated into a :class:`SearchRequest`, its
``sunpy``/``dkist`` attrs, the URL parameters dkist's walker makes of them, the
equivalent ``Fido.search(...)`` code, and the form's choices (:class:`FormChoices`).
No HTTP here (:mod:`.http`).

Choices
-------
* **Query parameters come from dkist itself.** :meth:`SearchRequest.attrs` builds
  ``sunpy.net.attrs`` / ``a.dkist`` attrs and :func:`query_parameters` turns them
  into URL parameters with ``dkist.net.attr_walker.walker`` -- the code
  ``DKISTClient.search`` runs -- so the panel asks exactly what the shown
  ``Fido.search(...)`` line asks.
* **r0 (dkist issue 613).** The API holds ``qualityAverageFriedParameter`` in
  *metres*; dkist 1.18's ``a.dkist.FriedParameter`` sends its quantities converted
  to *centimetres*. A :class:`SearchRequest` holds r0 in metres (``r0_min_m``,
  ``r0_max_m``); the form's ``r0_min`` / ``r0_max`` are typed in the display unit
  of :mod:`dkist_widgets.core.units` and converted with ``r0_from_display`` (the
  older ``r0_min_cm`` / ``r0_max_cm`` keys are still read, as cm). At the first
  search we ask dkist's walker what it sends for ``FriedParameter(1 cm, 2 cm)``:
  if it sends ``1`` (the bug), the attr is built as ``FriedParameter(r0_m * u.cm,
  ...)`` -- the number in metres with a cm label, so the wire carries metres -- and
  the shown code says why in a one-line comment; if a fixed dkist sends ``0.01``
  (metres), the attr is the natural ``FriedParameter(x * u.<display unit>, ...)``.
  Either way :func:`query_parameters` then *checks* that the wire values equal the
  metres wanted and refuses to search otherwise.
* **Open bounds.** ``a.Time``, ``a.Wavelength`` and ``a.dkist.FriedParameter`` need
  both ends; a missing end is filled with an open bound (1990 / two days from now
  for time, 0 / :data:`OPEN_WAVELENGTH_NM` nm, 0 / :data:`OPEN_R0_M` m). A range
  query on r0 never matches datasets without an r0 (API semantics).
* **Fido routing.** The shown code always carries ``a.dkist.PageSize(n)``, a
  DKIST-only attr, so ``Fido.search`` asks only the DKIST client (with generic
  attrs alone it would also ask the VSO, which fails offline).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ..units import R0_DISPLAY_UNIT, r0_decimals, r0_from_display, r0_to_display

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "MAX_PAGE_SIZE",
    "OPEN_TIME",
    "OPEN_WAVELENGTH_NM",
    "OPEN_R0_M",
    "R0_FORM_CAP_M",
    "DKIST_CLIENT_INSTRUMENTS",
    "SearchInputError",
    "SearchRequest",
    "FormChoices",
    "dkist_sends_fried_in_cm",
    "query_parameters",
    "fido_code",
]

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
#: Open start bound; the open end is two days ahead (UTC): a far-future UTC end makes ERFA warn.
OPEN_TIME = ("1990-01-01T00:00:00", None)
OPEN_WAVELENGTH_NM = 1.0e5
#: Open upper r0 bound (metres).
OPEN_R0_M = 100.0
#: The data centre drops r0 >= 0.3 m (FACTS); the form's r0 range is capped there (metres).
R0_FORM_CAP_M = 0.3
#: Form keys holding r0 in the display unit, and the older keys holding cm.
R0_FORM_KEYS = ("r0_min", "r0_max")
R0_CM_KEYS = ("r0_min_cm", "r0_max_cm")
#: Instruments dkist's Fido client accepts (``DKISTClient._can_handle_query``).
DKIST_CLIENT_INSTRUMENTS = ("VBI", "VTF", "VISP", "CRYO-NIRSP", "DL-NIRSP")


class SearchInputError(ValueError):
    """The form holds values that cannot make a search; ``problems`` lists each one."""

    def __init__(self, problems: Sequence[str]):
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


def _parse_time(value, name: str, problems: list[str]) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, dt.datetime):
        parsed = value
    else:
        text = str(value).strip().replace(" ", "T")
        if text.endswith("Z"):
            text = text[:-1]
        try:
            parsed = dt.datetime.fromisoformat(text)
        except ValueError:
            problems.append(f"{name}: {str(value)!r} is not a date/time (use e.g. 2022-06-01 or 2022-06-01T12:00)")
            return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.UTC).replace(tzinfo=None)
    return parsed.isoformat(timespec="seconds" if not parsed.microsecond else "microseconds")


def _parse_number(value, name: str, problems: list[str], *, minimum: float | None = None) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        problems.append(f"{name}: {str(value)!r} is not a number")
        return None
    if not math.isfinite(number):
        problems.append(f"{name}: {str(value)!r} is not a finite number")
        return None
    if minimum is not None and number < minimum:
        problems.append(f"{name}: must be at least {minimum:g}, got {number:g}")
        return None
    return number


def _parse_flag(value, name: str, problems: list[str]) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("", "any", "none"):
        return None
    if text in ("true", "yes", "1"):
        return True
    if text in ("false", "no", "0"):
        return False
    problems.append(f"{name}: {str(value)!r} must be yes, no or any")
    return None


def _split_ids(value) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        parts = re.split(r"[\s,;]+", value)
    else:
        parts = [str(v) for v in value]
    seen: dict[str, None] = {}
    for part in parts:
        part = part.strip()
        if part:
            seen[part] = None
    return tuple(seen)


@dataclass(frozen=True)
class SearchRequest:
    """What to search for. ``None`` / empty means "do not filter on this".

    Times are ISO strings (UTC); wavelengths in nm; r0 in **metres** (the form
    types it in the display unit, see the module docstring). ``page`` is 1-based.
    """

    start: str | None = None
    end: str | None = None
    instrument: str | None = None
    wavelength_min_nm: float | None = None
    wavelength_max_nm: float | None = None
    embargoed: bool | None = None
    r0_min_m: float | None = None
    r0_max_m: float | None = None
    dataset_ids: tuple[str, ...] = ()
    proposal_id: str | None = None
    target_type: str | None = None
    all_stokes: bool | None = None
    page_size: int = DEFAULT_PAGE_SIZE
    page: int = 1

    @classmethod
    def from_form(cls, fields: Mapping[str, Any], choices: FormChoices | None = None) -> SearchRequest:
        """Parse loosely typed form values (strings, numbers, None); validate.

        Raises :class:`SearchInputError` listing every problem found.
        """
        problems: list[str] = []
        known = {f for f in cls.__dataclass_fields__} | set(R0_FORM_KEYS) | set(R0_CM_KEYS)
        unknown = sorted(set(fields) - known)
        if unknown:
            problems.append(f"unknown field(s): {', '.join(unknown)}")
        page_size = _parse_number(fields.get("page_size"), "page size", problems, minimum=1)
        page = _parse_number(fields.get("page"), "page", problems, minimum=1)
        text = lambda key: (str(fields.get(key)).strip() or None) if fields.get(key) is not None else None  # noqa: E731
        request = cls(
            start=_parse_time(fields.get("start"), "start", problems),
            end=_parse_time(fields.get("end"), "end", problems),
            instrument=text("instrument"),
            wavelength_min_nm=_parse_number(fields.get("wavelength_min_nm"), "wavelength min", problems, minimum=0),
            wavelength_max_nm=_parse_number(fields.get("wavelength_max_nm"), "wavelength max", problems, minimum=0),
            embargoed=_parse_flag(fields.get("embargoed"), "embargoed", problems),
            r0_min_m=_parse_r0(fields, "min", problems),
            r0_max_m=_parse_r0(fields, "max", problems),
            dataset_ids=_split_ids(fields.get("dataset_ids")),
            proposal_id=text("proposal_id"),
            target_type=text("target_type"),
            all_stokes=_parse_flag(fields.get("all_stokes"), "all Stokes", problems),
            page_size=int(page_size) if page_size is not None else DEFAULT_PAGE_SIZE,
            page=int(page) if page is not None else 1,
        )
        problems += request.problems(choices)
        if problems:
            raise SearchInputError(problems)
        return request

    def problems(self, choices: FormChoices | None = None) -> list[str]:
        """Every reason this request cannot be searched (empty when fine)."""
        out: list[str] = []
        if self.start and self.end and self.end < self.start:
            out.append(f"the end time ({self.end}) is before the start time ({self.start})")
        for name, lo, hi, unit in (
            ("wavelength", self.wavelength_min_nm, self.wavelength_max_nm, "nm"),
            ("r0", _display(self.r0_min_m), _display(self.r0_max_m), R0_DISPLAY_UNIT),
        ):
            if lo is not None and hi is not None and lo > hi:
                out.append(f"{name}: the minimum ({lo:g}) is larger than the maximum ({hi:g} {unit})")
        if self.instrument:
            allowed = choices.instruments if choices and choices.instruments else DKIST_CLIENT_INSTRUMENTS
            if self.instrument.upper() not in {i.upper() for i in allowed}:
                out.append(f"unknown instrument {self.instrument!r} (known: {', '.join(allowed)})")
            elif self.instrument.upper() not in DKIST_CLIENT_INSTRUMENTS:
                out.append(f"instrument {self.instrument!r} is not one dkist's search client accepts")
        if self.target_type and choices and choices.target_types:
            if self.target_type.lower() not in {t.lower() for t in choices.target_types}:
                out.append(f"unknown target type {self.target_type!r} (known: {', '.join(choices.target_types)})")
        if not 1 <= self.page_size <= MAX_PAGE_SIZE:
            out.append(f"page size must be between 1 and {MAX_PAGE_SIZE}, got {self.page_size}")
        if self.page < 1:
            out.append(f"page must be at least 1, got {self.page}")
        for ds_id in self.dataset_ids:
            if not re.fullmatch(r"[A-Za-z0-9_\-]+", ds_id):
                out.append(f"dataset id {ds_id!r} holds characters ids never have")
        return out

    def r0_range_m(self) -> tuple[float, float]:
        """The r0 range searched, in metres (open ends filled: 0 and :data:`OPEN_R0_M`)."""
        lo = self.r0_min_m if self.r0_min_m is not None else 0.0
        hi = self.r0_max_m if self.r0_max_m is not None else OPEN_R0_M
        return lo, hi

    def with_page(self, page: int) -> SearchRequest:
        return replace(self, page=int(page))

    # -- attrs ---------------------------------------------------------------------

    def attrs(self) -> list:
        """The sunpy/dkist attrs of this request (r0 built so that metres are sent)."""
        problems = self.problems()
        if problems:
            raise SearchInputError(problems)
        return [attr for attr, _code in self._attrs_and_code()]

    def _attrs_and_code(self) -> list[tuple[Any, str]]:
        import astropy.units as u
        import dkist.net  # noqa: F401 - registers a.dkist
        from sunpy.net import attrs as a

        out: list[tuple[Any, str]] = []
        if self.start or self.end:
            start, end = self.start or OPEN_TIME[0], self.end or _open_end()
            out.append((a.Time(start, end), f"a.Time({start!r}, {end!r})"))
        if self.instrument:
            name = self.instrument.upper()
            out.append((a.Instrument(name), f"a.Instrument({name!r})"))
        if self.wavelength_min_nm is not None or self.wavelength_max_nm is not None:
            lo = self.wavelength_min_nm if self.wavelength_min_nm is not None else 0.0
            hi = self.wavelength_max_nm if self.wavelength_max_nm is not None else OPEN_WAVELENGTH_NM
            out.append((a.Wavelength(lo * u.nm, hi * u.nm), f"a.Wavelength({lo:g} * u.nm, {hi:g} * u.nm)"))
        if self.embargoed is not None:
            out.append((a.dkist.Embargoed(self.embargoed), f"a.dkist.Embargoed({self.embargoed})"))
        if self.r0_min_m is not None or self.r0_max_m is not None:
            out.append(_fried_attr(*self.r0_range_m()))
        if self.dataset_ids:
            value = self.dataset_ids[0] if len(self.dataset_ids) == 1 else list(self.dataset_ids)
            out.append((a.dkist.Dataset(value), f"a.dkist.Dataset({value!r})"))
        if self.proposal_id:
            out.append((a.dkist.Proposal(self.proposal_id), f"a.dkist.Proposal({self.proposal_id!r})"))
        if self.target_type:
            out.append((a.dkist.TargetType(self.target_type), f"a.dkist.TargetType({self.target_type!r})"))
        if self.all_stokes is not None:
            physobs = "stokes_parameters" if self.all_stokes else "intensity"
            out.append((a.Physobs(physobs), f"a.Physobs({physobs!r})"))
        out.append((a.dkist.PageSize(self.page_size), f"a.dkist.PageSize({self.page_size})"))
        if self.page != 1:
            out.append((a.dkist.Page(self.page), f"a.dkist.Page({self.page})"))
        return out


def _open_end() -> str:
    tomorrow = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=2)
    return f"{tomorrow.isoformat()}T00:00:00"


_SENDS_CM: bool | None = None


def dkist_sends_fried_in_cm() -> bool:
    """Does this dkist send ``FriedParameter`` in cm (issue 613)? Asked of its walker once."""
    global _SENDS_CM
    if _SENDS_CM is None:
        import astropy.units as u
        from dkist.net.attr_walker import walker
        from sunpy.net import attrs as a

        sent = walker.create(a.dkist.FriedParameter(1 * u.cm, 2 * u.cm))[0]
        lo = float(sent["qualityAverageFriedParameterMin"])
        if math.isclose(lo, 1.0):
            _SENDS_CM = True
        elif math.isclose(lo, 0.01):
            _SENDS_CM = False
        else:  # pragma: no cover - a dkist we do not know
            raise RuntimeError(f"dkist sends FriedParameter(1 cm) as {lo}; cannot tell its unit")
    return _SENDS_CM


def _display(metres: float | None) -> float | None:
    return None if metres is None else round(r0_to_display(metres), 12)


def _parse_r0(fields: Mapping[str, Any], end: str, problems: list[str]) -> float | None:
    """r0 ``min``/``max`` in metres from the form key (display unit) or the older cm key."""
    label = f"r0 {end} ({R0_DISPLAY_UNIT})"
    typed = _parse_number(fields.get(f"r0_{end}"), label, problems, minimum=0)
    legacy = _parse_number(fields.get(f"r0_{end}_cm"), f"r0 {end} (cm)", problems, minimum=0)
    if typed is not None:
        return r0_from_display(typed)
    return None if legacy is None else legacy / 100.0


def _number_text(value: float) -> str:
    """A number as short as it can be written without losing what r0 means."""
    return f"{round(value, r0_decimals() + 3):g}"


def _fried_attr(lo_m: float, hi_m: float):
    import astropy.units as u
    from sunpy.net import attrs as a

    unit = R0_DISPLAY_UNIT
    lo, hi = _number_text(r0_to_display(lo_m)), _number_text(r0_to_display(hi_m))
    if dkist_sends_fried_in_cm():
        code = (
            f"a.dkist.FriedParameter({lo_m:g} * u.cm, {hi_m:g} * u.cm)"
            f"  # r0 {lo}-{hi} {unit}: dkist <= 1.18 sends this number as cm but the API reads metres "
            "(dkist issue 613), so metres go in labelled cm"
        )
        return a.dkist.FriedParameter(lo_m * u.cm, hi_m * u.cm), code
    quantity = u.Unit(unit)
    return (
        a.dkist.FriedParameter(r0_to_display(lo_m) * quantity, r0_to_display(hi_m) * quantity),
        f"a.dkist.FriedParameter({lo} * u.{unit}, {hi} * u.{unit})",
    )


def query_parameters(request: SearchRequest) -> dict[str, Any]:
    """URL parameters for ``request``, made by dkist's own attr walker; r0 checked to be metres."""
    from dkist.net.attr_walker import walker
    from sunpy.net import attr

    queries = walker.create(attr.and_(*request.attrs()))
    if len(queries) != 1:  # pragma: no cover - we never build OR queries
        raise RuntimeError(f"expected one query, dkist made {len(queries)}")
    params = dict(queries[0])
    if request.r0_min_m is not None or request.r0_max_m is not None:
        want = request.r0_range_m()
        got = (float(params["qualityAverageFriedParameterMin"]), float(params["qualityAverageFriedParameterMax"]))
        if not all(math.isclose(g, w, rel_tol=1e-9, abs_tol=1e-12) for g, w in zip(got, want, strict=True)):
            raise RuntimeError(f"r0 would be sent as {got}, not the metres {want}: refusing to search")
    return params


def fido_code(request: SearchRequest) -> str:
    """The ``Fido.search(...)`` code asking the same as ``request``."""
    lines = [
        "import astropy.units as u",
        "from sunpy.net import Fido, attrs as a",
        "import dkist.net",
        "",
        "res = Fido.search(",
    ]
    for _attr, code in request._attrs_and_code():
        code, _, comment = code.partition("  # ")
        if comment:
            lines.append(f"    # {comment}")
        lines.append(f"    {code},")
    lines.append(")")
    return "\n".join(lines)


# --------------------------------------------------------------------------- choices


@dataclass(frozen=True)
class FormChoices:
    """Choices and ranges for the form, from the data centre's ``searchValues``."""

    instruments: tuple[str, ...] = DKIST_CLIENT_INSTRUMENTS
    target_types: tuple[str, ...] = ()
    time_range: tuple[str | None, str | None] = (None, None)
    r0_range_m: tuple[float | None, float | None] = (None, None)
    statuses: tuple[str, ...] = ()

    @property
    def r0_range_cm(self) -> tuple[float | None, float | None]:
        """:attr:`r0_range_m` in cm, rounded to 0.01 cm (kept for older callers)."""
        return tuple(None if v is None else round(v * 100.0, 2) for v in self.r0_range_m)  # type: ignore[return-value]

    @classmethod
    def from_search_values(cls, document: Mapping) -> FormChoices:
        by_name = {}
        for entry in document.get("parameterValues", []) if isinstance(document, Mapping) else []:
            if isinstance(entry, Mapping) and "parameterName" in entry:
                by_name[entry["parameterName"]] = entry.get("values") or {}

        def categorical(name):
            values = by_name.get(name, {}).get("categoricalValues") or []
            return tuple(sorted({str(v) for v in values if v is not None}))

        def ranged(name):
            v = by_name.get(name, {})
            return v.get("minValue"), v.get("maxValue")

        start_lo, _ = ranged("startTimeMin")
        _, end_hi = ranged("endTimeMax")
        r0_lo, r0_hi = ranged("qualityAverageFriedParameterMin")
        r0 = (None, None)
        if isinstance(r0_lo, (int, float)) and isinstance(r0_hi, (int, float)):
            # the real searchValues carries absurd maxima (2.6e30 m): cap at the data
            # centre's own validity limit
            r0 = (float(r0_lo), min(float(r0_hi), R0_FORM_CAP_M))
        instruments = categorical("instrumentNames") or DKIST_CLIENT_INSTRUMENTS
        return cls(
            instruments=instruments,
            target_types=categorical("targetTypes"),
            time_range=(start_lo, end_hi),
            r0_range_m=r0,
            statuses=categorical("status"),
        )
