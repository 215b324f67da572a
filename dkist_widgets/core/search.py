"""DKIST archive search, without widgets: request -> validation -> dkist attrs ->
HTTP -> rows; the equivalent ``Fido.search`` code; form choices from ``searchValues``;
ASDF / quality report / preview movie downloads with a path template; background jobs.

Choices
-------
* **Query parameters come from dkist itself.** :meth:`SearchRequest.attrs` builds
  ``sunpy.net.attrs`` / ``a.dkist`` attrs and :func:`query_parameters` turns them
  into URL parameters with ``dkist.net.attr_walker.walker`` -- the code
  ``DKISTClient.search`` runs -- so the panel asks exactly what the shown
  ``Fido.search(...)`` line asks. Only the HTTP request is ours: dkist's search calls
  ``urllib.request.urlopen`` with **no timeout** (a hung server would hang the
  search thread for ever), so :func:`run_search` sends the same URL with a timeout
  and reads ``recordCount`` itself (``DKISTQueryResponseTable`` keeps it only as a
  total over OR-ed queries). :meth:`SearchResult.table` still gives the real
  ``DKISTQueryResponseTable`` built by dkist from the same JSON.
* **r0 (dkist issue 613).** The API holds ``qualityAverageFriedParameter`` in
  *metres*; dkist 1.18's ``a.dkist.FriedParameter`` sends its quantities converted
  to *centimetres*. The form takes r0 in cm (how people speak of it). At import of
  the first search we ask dkist's walker what it sends for ``FriedParameter(1 cm,
  2 cm)``: if it sends ``1`` (the bug), the attr is built as ``FriedParameter(r0_m
  * u.cm, ...)`` -- the number in metres with a cm label, so the wire carries
  metres; if a fixed dkist sends ``0.01`` (metres), the attr is built with the real
  quantity. Either way :func:`query_parameters` then *checks* that the wire values
  equal the metres wanted and refuses to search otherwise. The shown code carries
  a comment saying so.
* **Open bounds.** ``a.Time``, ``a.Wavelength`` and ``a.dkist.FriedParameter`` need
  both ends; a missing end is filled with an open bound (1990 / two days from now
  for time, 0 / :data:`OPEN_WAVELENGTH_NM` nm, 0 / :data:`OPEN_R0_CM` cm). A range query on
  r0 never matches datasets without an r0 (API semantics).
* **Fido routing.** The shown code always carries ``a.dkist.PageSize(n)``, a
  DKIST-only attr, so ``Fido.search`` asks only the DKIST client (with generic
  attrs alone it would also ask the VSO, which fails offline).
* **Rows.** Result records are turned into rows keyed by dkist's column names
  (``dkist.utils.inventory.INVENTORY_KEY_MAP``: "Dataset ID", "Average Fried
  Parameter", ...), with plain Python values: numbers (NaN where missing),
  strings, lists joined with ", ". "Wavelength" is a ``"min-max"`` string; the
  numbers are in "Wavelength Min"/"Wavelength Max". "Dataset Size" is in GiB as
  dkist's table says.
* **Downloads** mirror ``DKISTClient.fetch`` / ``ds.files.quality_report()`` /
  ``preview_movie()``: the same URLs (``{download_endpoint}/asdf|quality|movie?
  datasetId=X``), the file name from ``Content-Disposition``, the same path
  template keys as ``Fido.fetch`` (a result row's ``response_block_map`` plus
  ``{file}``). They are streamed here rather than through parfive so that they have
  a timeout, a byte progress callback and a cancel, write to a ``.part`` file
  renamed when complete, and check the server's ``Repr-Digest`` when it sends one.
* **Background work** runs in daemon threads (:class:`BackgroundJob`): a thread that
  only sets traits keeps widgets live while a cell blocks, an asyncio task would not.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import os
import re
import socket
import string
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from email.message import Message
from pathlib import Path
from typing import Any

from .jobs import BackgroundJob as _BackgroundJob, Cancelled

__all__ = [
    "BackgroundJob",
    "Cancelled",
    "DEFAULT_COLUMNS",
    "DEFAULT_PATH_TEMPLATE",
    "DownloadError",
    "FormChoices",
    "PathTemplate",
    "SearchFailed",
    "SearchInputError",
    "SearchRequest",
    "SearchResult",
    "download_product",
    "fetch_asdfs",
    "fetch_search_values",
    "fido_code",
    "query_parameters",
    "records_from_table",
    "rows_from_records",
    "run_search",
]

#: The workshop's columns, shown by default.
DEFAULT_COLUMNS = (
    "Dataset ID", "Start Time", "Instrument", "Wavelength", "Average Fried Parameter",
    "Primary Proposal ID", "Dataset Size", "Embargoed",
)
DEFAULT_PATH_TEMPLATE = "~/sunpy/data/{dataset_id}/"
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
#: Open start bound; the open end is two days ahead (UTC): a far-future UTC end makes ERFA warn.
OPEN_TIME = ("1990-01-01T00:00:00", None)
OPEN_WAVELENGTH_NM = 1.0e5
OPEN_R0_CM = 1.0e4
#: The data centre drops r0 >= 0.3 m (FACTS); the form's r0 range is capped there.
R0_FORM_CAP_CM = 30.0
#: Instruments dkist's Fido client accepts (``DKISTClient._can_handle_query``).
DKIST_CLIENT_INSTRUMENTS = ("VBI", "VTF", "VISP", "CRYO-NIRSP", "DL-NIRSP")

PRODUCT_ROUTES = {"asdf": "asdf", "quality": "quality", "movie": "movie"}
#: What each product's first bytes look like (an HTML error page is not a file).
_MAGIC = {
    "asdf": lambda head: head.startswith(b"#ASDF"),
    "quality": lambda head: head.startswith(b"%PDF-"),
    "movie": lambda head: head[4:8] == b"ftyp",
}


class SearchInputError(ValueError):
    """The form holds values that cannot make a search; ``problems`` lists each one."""

    def __init__(self, problems: Sequence[str]):
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


class SearchFailed(RuntimeError):
    """The data centre did not give a usable answer (message says why, for people)."""


class DownloadError(RuntimeError):
    """A file could not be downloaded (message says which and why)."""


# --------------------------------------------------------------------------- request


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
            problems.append(f"{name}: {str(value)!r} is not a date/time (use e.g. 2022-06-01 or "
                            "2022-06-01T12:00)")
            return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.timezone.utc).replace(tzinfo=None)
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

    Times are ISO strings (UTC); wavelengths in nm; r0 in **cm** (sent as metres,
    see the module docstring). ``page`` is 1-based.
    """

    start: str | None = None
    end: str | None = None
    instrument: str | None = None
    wavelength_min_nm: float | None = None
    wavelength_max_nm: float | None = None
    embargoed: bool | None = None
    r0_min_cm: float | None = None
    r0_max_cm: float | None = None
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
        known = {f for f in cls.__dataclass_fields__}
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
            wavelength_min_nm=_parse_number(fields.get("wavelength_min_nm"), "wavelength min", problems,
                                            minimum=0),
            wavelength_max_nm=_parse_number(fields.get("wavelength_max_nm"), "wavelength max", problems,
                                            minimum=0),
            embargoed=_parse_flag(fields.get("embargoed"), "embargoed", problems),
            r0_min_cm=_parse_number(fields.get("r0_min_cm"), "r0 min", problems, minimum=0),
            r0_max_cm=_parse_number(fields.get("r0_max_cm"), "r0 max", problems, minimum=0),
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
        for name, lo, hi in (("wavelength", self.wavelength_min_nm, self.wavelength_max_nm),
                             ("r0", self.r0_min_cm, self.r0_max_cm)):
            if lo is not None and hi is not None and lo > hi:
                out.append(f"{name}: the minimum ({lo:g}) is larger than the maximum ({hi:g})")
        if self.instrument:
            allowed = choices.instruments if choices and choices.instruments else DKIST_CLIENT_INSTRUMENTS
            if self.instrument.upper() not in {i.upper() for i in allowed}:
                out.append(f"unknown instrument {self.instrument!r} (known: {', '.join(allowed)})")
            elif self.instrument.upper() not in DKIST_CLIENT_INSTRUMENTS:
                out.append(f"instrument {self.instrument!r} is not one dkist's search client accepts")
        if self.target_type and choices and choices.target_types:
            if self.target_type.lower() not in {t.lower() for t in choices.target_types}:
                out.append(f"unknown target type {self.target_type!r} "
                           f"(known: {', '.join(choices.target_types)})")
        if not 1 <= self.page_size <= MAX_PAGE_SIZE:
            out.append(f"page size must be between 1 and {MAX_PAGE_SIZE}, got {self.page_size}")
        if self.page < 1:
            out.append(f"page must be at least 1, got {self.page}")
        for ds_id in self.dataset_ids:
            if not re.fullmatch(r"[A-Za-z0-9_\-]+", ds_id):
                out.append(f"dataset id {ds_id!r} holds characters ids never have")
        return out

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
        from sunpy.net import attrs as a

        import dkist.net  # noqa: F401 - registers a.dkist

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
        if self.r0_min_cm is not None or self.r0_max_cm is not None:
            lo = self.r0_min_cm if self.r0_min_cm is not None else 0.0
            hi = self.r0_max_cm if self.r0_max_cm is not None else OPEN_R0_CM
            out.append(_fried_attr(lo, hi))
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
    tomorrow = dt.datetime.now(dt.timezone.utc).date() + dt.timedelta(days=2)
    return f"{tomorrow.isoformat()}T00:00:00"


_SENDS_CM: bool | None = None


def dkist_sends_fried_in_cm() -> bool:
    """Does this dkist send ``FriedParameter`` in cm (issue 613)? Asked of its walker once."""
    global _SENDS_CM
    if _SENDS_CM is None:
        import astropy.units as u
        from sunpy.net import attrs as a

        from dkist.net.attr_walker import walker

        sent = walker.create(a.dkist.FriedParameter(1 * u.cm, 2 * u.cm))[0]
        lo = float(sent["qualityAverageFriedParameterMin"])
        if math.isclose(lo, 1.0):
            _SENDS_CM = True
        elif math.isclose(lo, 0.01):
            _SENDS_CM = False
        else:  # pragma: no cover - a dkist we do not know
            raise RuntimeError(f"dkist sends FriedParameter(1 cm) as {lo}; cannot tell its unit")
    return _SENDS_CM


def _fried_attr(lo_cm: float, hi_cm: float):
    import astropy.units as u
    from sunpy.net import attrs as a

    lo_m, hi_m = lo_cm / 100.0, hi_cm / 100.0
    if dkist_sends_fried_in_cm():
        code = (f"a.dkist.FriedParameter({lo_m:g} * u.cm, {hi_m:g} * u.cm)"
                f"  # r0 {lo_cm:g}-{hi_cm:g} cm: dkist issue 613 sends the number as cm, the API reads metres")
        return a.dkist.FriedParameter(lo_m * u.cm, hi_m * u.cm), code
    return a.dkist.FriedParameter(lo_cm * u.cm, hi_cm * u.cm), f"a.dkist.FriedParameter({lo_cm:g} * u.cm, {hi_cm:g} * u.cm)"


def query_parameters(request: SearchRequest) -> dict[str, Any]:
    """URL parameters for ``request``, made by dkist's own attr walker; r0 checked to be metres."""
    from sunpy.net import attr

    from dkist.net.attr_walker import walker

    queries = walker.create(attr.and_(*request.attrs()))
    if len(queries) != 1:  # pragma: no cover - we never build OR queries
        raise RuntimeError(f"expected one query, dkist made {len(queries)}")
    params = dict(queries[0])
    if request.r0_min_cm is not None or request.r0_max_cm is not None:
        want = ((request.r0_min_cm or 0.0) / 100.0,
                (request.r0_max_cm if request.r0_max_cm is not None else OPEN_R0_CM) / 100.0)
        got = (float(params["qualityAverageFriedParameterMin"]), float(params["qualityAverageFriedParameterMax"]))
        if not all(math.isclose(g, w, rel_tol=1e-9, abs_tol=1e-12) for g, w in zip(got, want)):
            raise RuntimeError(f"r0 would be sent as {got}, not the metres {want}: refusing to search")
    return params


def fido_code(request: SearchRequest) -> str:
    """The ``Fido.search(...)`` code asking the same as ``request``."""
    lines = ["import astropy.units as u", "from sunpy.net import Fido, attrs as a", "import dkist.net", "",
             "res = Fido.search("]
    for _attr, code in request._attrs_and_code():
        code, _, comment = code.partition("  # ")
        lines.append(f"    {code}," + (f"  # {comment}" if comment else ""))
    lines.append(")")
    return "\n".join(lines)


# --------------------------------------------------------------------------- results


def _column_name(key: str) -> str:
    from dkist.utils.inventory import INVENTORY_KEY_MAP

    return INVENTORY_KEY_MAP[key] if key in INVENTORY_KEY_MAP else key


def _cell(value) -> Any:
    if value is None:
        return float("nan")
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return float(value) if isinstance(value, float) else value
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return str(value)


def rows_from_records(records: Iterable[Mapping]) -> tuple[list[dict], list[str]]:
    """(rows keyed by dkist column names, every column name in first-seen order)."""
    rows: list[dict] = []
    columns: dict[str, None] = {c: None for c in DEFAULT_COLUMNS}
    for record in records:
        row: dict[str, Any] = {}
        for key, value in record.items():
            row[_column_name(key)] = _cell(value)
        lo, hi = record.get("wavelengthMin"), record.get("wavelengthMax")
        if lo is not None and hi is not None:
            row["Wavelength"] = f"{float(lo):.2f}-{float(hi):.2f}"
        for name in row:
            columns.setdefault(name, None)
        rows.append(row)
    names = [c for c in columns if any(c in r for r in rows)] if rows else []
    for row in rows:
        for name in names:
            row.setdefault(name, float("nan"))
    return rows, names


@dataclass
class SearchResult:
    """One page of a search: the records, the total the API counts, and what was asked."""

    records: list[dict]
    total: int
    request: SearchRequest | None = None
    url: str = ""
    seconds: float = 0.0
    from_table: bool = False
    _rows: tuple[list[dict], list[str]] | None = field(default=None, repr=False)

    @property
    def shown(self) -> int:
        return len(self.records)

    @property
    def page(self) -> int:
        return self.request.page if self.request else 1

    @property
    def page_size(self) -> int:
        return self.request.page_size if self.request else max(len(self.records), 1)

    @property
    def n_pages(self) -> int:
        return max(1, math.ceil(self.total / self.page_size)) if self.total else 1

    @property
    def first_index(self) -> int:
        """0-based index of the first record of this page among all results."""
        return (self.page - 1) * self.page_size

    def _build(self):
        if self._rows is None:
            self._rows = rows_from_records(self.records)
        return self._rows

    @property
    def rows(self) -> list[dict]:
        return self._build()[0]

    @property
    def columns(self) -> list[str]:
        return self._build()[1]

    def record(self, dataset_id: str) -> dict | None:
        for record in self.records:
            if record.get("datasetId") == dataset_id:
                return record
        return None

    def summary(self) -> str:
        if not self.total and not self.records:
            return "No dataset matches."
        if self.from_table:
            extra = f" of {self.total:,} available" if self.total > self.shown else ""
            return f"Showing {self.shown:,}{extra} results (from a result table)."
        first = self.first_index + 1 if self.records else 0
        last = self.first_index + self.shown
        return (f"Showing {first:,}-{last:,} of {self.total:,} datasets "
                f"(page {self.page} of {self.n_pages}).")

    def table(self):
        """dkist's own ``DKISTQueryResponseTable`` for these records."""
        from dkist.net.client import DKISTClient, DKISTQueryResponseTable

        doc = {"recordCount": self.total, "searchResults": self.records}
        table = DKISTQueryResponseTable.from_results([doc], client=DKISTClient())
        table.display_keys = table._core_keys
        return table


def _dataset_endpoint() -> str:
    from dkist.net import conf

    return conf.dataset_endpoint


def _download_endpoint() -> str:
    from dkist.net import conf

    return conf.download_endpoint


def _explain_http_error(err: urllib.error.HTTPError, what: str) -> str:
    detail = ""
    try:
        body = err.read(2000)
        try:
            doc = json.loads(body)
            detail = str(doc.get("error") or doc.get("message") or doc)[:300] if isinstance(doc, dict) else ""
        except ValueError:
            detail = body.decode("utf-8", "replace")[:200]
    except Exception:  # noqa: BLE001 - the body is a courtesy
        pass
    reason = f" ({detail})" if detail else ""
    if err.code >= 500:
        return f"The DKIST data centre failed on {what}: HTTP {err.code}{reason}. Try again later."
    if err.code == 404:
        return f"Not found on the data centre: {what}: HTTP 404{reason}."
    return f"The DKIST data centre refused {what}: HTTP {err.code}{reason}."


def _open(url: str, timeout: float, what: str, method: str = "GET"):
    """urlopen with messages people can act on."""
    request = urllib.request.Request(url, method=method, headers={"Accept": "application/json, */*"})
    try:
        return urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as err:
        raise SearchFailed(_explain_http_error(err, what)) from err
    except (TimeoutError, socket.timeout) as err:
        raise SearchFailed(f"No answer from the data centre within {timeout:g} s ({what}).") from err
    except urllib.error.URLError as err:
        reason = err.reason
        if isinstance(reason, (TimeoutError, socket.timeout)):
            raise SearchFailed(f"No answer from the data centre within {timeout:g} s ({what}).") from err
        raise SearchFailed(f"Cannot reach the data centre at {_host_of(url)} ({what}): {reason}.") from err
    except (ConnectionError, OSError) as err:
        raise SearchFailed(f"The connection to the data centre broke ({what}): {err or type(err).__name__}.") from err


def _host_of(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _read_json(url: str, timeout: float, what: str) -> Any:
    with _open(url, timeout, what) as resp:
        try:
            body = resp.read()
        except (TimeoutError, socket.timeout) as err:
            raise SearchFailed(f"The data centre stopped answering within {timeout:g} s ({what}).") from err
        except (ConnectionError, OSError, http_client_errors()) as err:
            raise SearchFailed(f"The connection to the data centre broke ({what}): {err or type(err).__name__}.") from err
    try:
        return json.loads(body)
    except ValueError as err:
        preview = body[:80].decode("utf-8", "replace")
        raise SearchFailed(f"The data centre's answer to {what} is not JSON (it starts {preview!r}); "
                           "the service may be down or behind a broken proxy.") from err


def http_client_errors():
    import http.client

    return http.client.HTTPException


def run_search(request: SearchRequest, *, timeout: float = 30.0,
               dataset_endpoint: str | None = None) -> SearchResult:
    """Ask the data centre for one page of ``request`` (raises SearchInputError / SearchFailed)."""
    params = query_parameters(request)
    base = dataset_endpoint or _dataset_endpoint()
    from dkist.net import conf

    url = base + conf.dataset_search_path + "?" + urllib.parse.urlencode(params, doseq=True)
    started = time.perf_counter()
    try:
        doc = _read_json(url, timeout, "the search")
    except SearchFailed:
        raise
    except (ConnectionError, OSError) as err:
        raise SearchFailed(f"The connection to the data centre broke (the search): {err}.") from err
    if not isinstance(doc, dict) or not isinstance(doc.get("searchResults"), list):
        raise SearchFailed("The data centre's answer to the search has no 'searchResults' list; "
                           "is the dataset endpoint right?")
    records = [r for r in doc["searchResults"] if isinstance(r, dict)]
    try:
        total = int(doc.get("recordCount", len(records)))
    except (TypeError, ValueError):
        total = len(records)
    return SearchResult(records=records, total=total, request=request, url=url,
                        seconds=time.perf_counter() - started)


def records_from_table(table) -> list[dict]:
    """Records (API keys) back from a ``DKISTQueryResponseTable`` (Fido results a user holds)."""
    import numpy as np
    from astropy.time import Time
    from astropy.units import Quantity

    from dkist.utils.inventory import INVENTORY_KEY_MAP

    reverse = {v: k for k, v in INVENTORY_KEY_MAP.items()}
    records = []
    for row in table:
        record: dict[str, Any] = {}
        for name in table.colnames:
            value = row[name]
            if name == "Wavelength":
                lo, hi = Quantity(value).to_value("nm")
                record["wavelengthMin"], record["wavelengthMax"] = float(lo), float(hi)
                continue
            key = reverse.get(name, name)
            if isinstance(value, Time):
                value = value.copy()
                value.precision = 6
                value = value.isot
            elif isinstance(value, Quantity):  # a scalar, or a list such as "Filter Wavelengths"
                value = float(value.value) if value.isscalar else np.asarray(value.value).tolist()
            elif isinstance(value, np.ndarray):
                value = value.tolist()
            elif isinstance(value, np.generic):
                value = value.item()
            if isinstance(value, float) and math.isnan(value):
                value = None
            record[key] = value
        records.append(record)
    return records


# --------------------------------------------------------------------------- choices


@dataclass(frozen=True)
class FormChoices:
    """Choices and ranges for the form, from the data centre's ``searchValues``."""

    instruments: tuple[str, ...] = DKIST_CLIENT_INSTRUMENTS
    target_types: tuple[str, ...] = ()
    time_range: tuple[str | None, str | None] = (None, None)
    r0_range_cm: tuple[float | None, float | None] = (None, None)
    statuses: tuple[str, ...] = ()

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
            r0 = (round(r0_lo * 100, 2), round(min(r0_hi * 100, R0_FORM_CAP_CM), 2))
        instruments = categorical("instrumentNames") or DKIST_CLIENT_INSTRUMENTS
        return cls(instruments=instruments, target_types=categorical("targetTypes"),
                   time_range=(start_lo, end_hi), r0_range_cm=r0, statuses=categorical("status"))


def fetch_search_values(*, timeout: float = 10.0, dataset_endpoint: str | None = None) -> dict:
    """The data centre's ``searchValues`` document (raises SearchFailed)."""
    from dkist.net import conf

    base = dataset_endpoint or _dataset_endpoint()
    doc = _read_json(base + conf.dataset_search_values_path, timeout, "the search values")
    if not isinstance(doc, dict):
        raise SearchFailed("The data centre's search values are not a JSON object.")
    return doc


def load_form_choices(*, timeout: float = 10.0) -> tuple[FormChoices, str | None]:
    """(choices, problem): from the data centre, else from dkist's cached/shipped values."""
    try:
        return FormChoices.from_search_values(fetch_search_values(timeout=timeout)), None
    except SearchFailed as err:
        problem = f"Search values not available from the data centre ({err}); using dkist's stored ones."
    from dkist.net.attrs_values import _get_cached_json

    try:
        path = _get_cached_json()[0]
        return FormChoices.from_search_values(json.loads(Path(path).read_text())), problem
    except Exception:  # noqa: BLE001 - fall back to the built-in list
        return FormChoices(), problem


# --------------------------------------------------------------------------- downloads


def _template_key(name: str) -> str:
    """A column name as ``response_block_map`` spells it ("Dataset ID" -> "dataset_id")."""
    key = re.sub(f"[{re.escape(string.punctuation)}]", "_", name).replace(" ", "_")
    return "".join(ch for ch in key if ch.isidentifier() or ch.isnumeric()).lower()


def template_keys() -> dict[str, str]:
    """Path-template key -> record key, as ``Fido.fetch`` names them, plus ``file``."""
    from dkist.utils.inventory import INVENTORY_KEY_MAP

    keys = {_template_key(human): api for api, human in INVENTORY_KEY_MAP.items()}
    keys["wavelength"] = "wavelengthMin"
    return keys


class PathTemplate:
    """A download path template like ``~/sunpy/data/{dataset_id}/`` (validated on creation).

    Keys are those ``Fido.fetch`` offers for DKIST rows (``dataset_id``,
    ``instrument``, ``primary_proposal_id``, ``product_id``, ...) and ``{file}``
    (the server's file name). A template without ``{file}`` is a folder (as in
    ``Fido.fetch``). Refused: unknown keys, attribute/index lookups, ``..``
    components, and values that would add path components.
    """

    def __init__(self, template: str):
        self.template = str(template).strip()
        if not self.template:
            raise ValueError("the path template is empty")
        keys = template_keys()
        fields: list[str] = []
        try:
            parsed = list(string.Formatter().parse(self.template))
        except ValueError as err:
            raise ValueError(f"the path template {self.template!r} is malformed: {err}") from None
        for literal, name, spec, conversion in parsed:
            if ".." in Path(literal).parts or literal.strip("/") == "..":
                raise ValueError(f"the path template may not contain '..': {self.template!r}")
            if name is None:
                continue
            if name == "":
                raise ValueError("the path template has an empty {}: name a key, e.g. {dataset_id}")
            if spec or conversion or not name.isidentifier():
                raise ValueError(f"path template field {{{name}}}: only plain keys like {{dataset_id}} are allowed")
            if name != "file" and name not in keys:
                close = sorted(k for k in keys if name.lower() in k or k in name.lower())[:5]
                hint = f" (did you mean {', '.join(close)}?)" if close else ""
                raise ValueError(f"unknown path template key {{{name}}}{hint}")
            fields.append(name)
        if any(part == ".." for part in Path(self.template).parts):
            raise ValueError(f"the path template may not contain '..': {self.template!r}")
        self.fields = tuple(fields)
        self.has_file = "file" in fields

    def path_for(self, record: Mapping, file_name: str) -> Path:
        """The file path for ``record`` and the server's ``file_name``."""
        keys = template_keys()
        values = {}
        for name in self.fields:
            if name == "file":
                value = file_name
            else:
                raw = record.get(keys[name])
                if raw is None:
                    raise ValueError(f"dataset {record.get('datasetId')!r} has no value for {{{name}}}")
                value = _cell(raw)
            value = str(value)
            if not value or value in (".", "..") or "/" in value or "\\" in value or "\0" in value:
                raise ValueError(f"{{{name}}} = {value!r} cannot be used in a path")
            values[name] = value
        text = self.template.format(**values)
        path = Path(os.path.expanduser(text))
        if not self.has_file:
            path = path / file_name
        return path

    def folder_for(self, record: Mapping) -> Path:
        """The folder a template without ``{file}`` names (with ``{file}``: its parent)."""
        return self.path_for(record, "FILE").parent


def _file_name_from(headers, fallback: str) -> str:
    disposition = headers.get("Content-Disposition")
    name = ""
    if disposition:
        msg = Message()
        msg["Content-Disposition"] = disposition
        name = msg.get_param("filename", header="Content-Disposition") or ""
        if isinstance(name, tuple):  # RFC 2231
            name = name[2]
    name = Path(str(name).replace("\\", "/")).name
    return name if name not in ("", ".", "..") else fallback


ProgressCallback = Callable[[int, int | None], None]


def download_product(dataset_id: str, kind: str, destination: Path | PathTemplate, *,
                     record: Mapping | None = None, progress: ProgressCallback | None = None,
                     cancel: threading.Event | None = None, timeout: float = 60.0,
                     overwrite: bool = False, download_endpoint: str | None = None) -> Path:
    """Download a dataset's ``asdf``, ``quality`` (PDF) or ``movie`` (MP4); return its path.

    ``destination`` is a folder or a :class:`PathTemplate` (then ``record`` fills it).
    ``progress(bytes_done, bytes_total_or_None)`` is called as bytes arrive. An
    existing file of the same name is reused unless ``overwrite``. Raises
    :class:`DownloadError` or :class:`Cancelled`; a partial file never remains.
    """
    if kind not in PRODUCT_ROUTES:
        raise ValueError(f"kind must be one of {sorted(PRODUCT_ROUTES)}, got {kind!r}")
    what = {"asdf": "ASDF", "quality": "quality report", "movie": "preview movie"}[kind]
    base = download_endpoint or _download_endpoint()
    url = f"{base}/{PRODUCT_ROUTES[kind]}?" + urllib.parse.urlencode({"datasetId": dataset_id})
    fallback = f"{dataset_id}." + {"asdf": "asdf", "quality": "pdf", "movie": "mp4"}[kind]
    label = f"the {what} of {dataset_id}"
    try:
        resp = _open(url, timeout, label)
    except SearchFailed as err:
        raise DownloadError(str(err)) from err
    with resp:
        name = _file_name_from(resp.headers, fallback)
        if isinstance(destination, PathTemplate):
            target = destination.path_for(record or {"datasetId": dataset_id}, name)
        else:
            target = Path(os.path.expanduser(str(destination))) / name
        if target.exists() and not overwrite:
            if progress:
                progress(target.stat().st_size, target.stat().st_size)
            return target
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise DownloadError(f"Cannot create the folder {target.parent}: {err.strerror or err}") from err
        total = resp.headers.get("Content-Length")
        total = int(total) if total and total.isdigit() else None
        digest = resp.headers.get("Repr-Digest") or ""
        expected_sha = digest.split("sha-256=", 1)[1].split(",")[0].strip() if "sha-256=" in digest else None
        part = target.with_name(target.name + f".{os.getpid()}.{threading.get_ident()}.part")
        sha = hashlib.sha256()
        head = b""
        done = 0
        try:
            with part.open("wb") as out:
                while True:
                    if cancel is not None and cancel.is_set():
                        raise Cancelled(f"Download of {label} cancelled.")
                    chunk = resp.read(1 << 16)
                    if not chunk:
                        break
                    out.write(chunk)
                    if len(head) < 16:
                        head += chunk[:16]
                    sha.update(chunk)
                    done += len(chunk)
                    if progress:
                        progress(done, total)
            if total is not None and done != total:
                raise DownloadError(f"The download of {label} stopped at {done} of {total} bytes.")
            if expected_sha and not re.fullmatch(r"[0-9a-fA-F]{64}", expected_sha):
                expected_sha = None  # base64 digests (RFC 9530) are not compared here
            if expected_sha and sha.hexdigest() != expected_sha.lower():
                raise DownloadError(f"The {what} of {dataset_id} arrived corrupted (checksum mismatch).")
            if not _MAGIC[kind](head):
                content_type = resp.headers.get("Content-Type") or "unknown type"
                raise DownloadError(f"The data centre sent something that is not the {what} of {dataset_id} "
                                    f"({content_type}, starting {bytes(head[:24])!r}).")
            part.replace(target)
        except (TimeoutError, socket.timeout) as err:
            raise DownloadError(f"The data centre stopped sending {label} (no data for {timeout:g} s).") from err
        except (ConnectionError, http_client_errors()) as err:
            raise DownloadError(f"The connection broke while downloading {label}: {err or type(err).__name__}.") from err
        except OSError as err:
            raise DownloadError(f"Cannot write {target}: {err.strerror or err}") from err
        finally:
            if part.exists():
                part.unlink()
    return target


@dataclass
class FetchOutcome:
    dataset_id: str
    path: Path | None = None
    error: str | None = None


def fetch_asdfs(records: Sequence[Mapping], template: str | PathTemplate = DEFAULT_PATH_TEMPLATE, *,
                progress: Callable[[int, int, int, int | None], None] | None = None,
                cancel: threading.Event | None = None, timeout: float = 60.0,
                overwrite: bool = False) -> list[FetchOutcome]:
    """Download the ASDF of each record into ``template``; one outcome per record.

    ``progress(index, n, bytes_done, bytes_total)`` for the ``index``-th download.
    A failure of one dataset is recorded in its outcome and the others go on; a
    cancel stops everything (raises :class:`Cancelled`).
    """
    if not isinstance(template, PathTemplate):
        template = PathTemplate(template)
    outcomes = []
    n = len(records)
    for index, record in enumerate(records):
        ds_id = str(record.get("datasetId"))
        cb = (lambda done, total, i=index: progress(i, n, done, total)) if progress else None
        try:
            path = download_product(ds_id, "asdf", template, record=record, progress=cb, cancel=cancel,
                                    timeout=timeout, overwrite=overwrite)
            outcomes.append(FetchOutcome(ds_id, path=path))
        except (DownloadError, ValueError) as err:
            outcomes.append(FetchOutcome(ds_id, error=str(err)))
    return outcomes


# --------------------------------------------------------------------------- jobs


class BackgroundJob(_BackgroundJob):
    """:class:`dkist_widgets.core.jobs.BackgroundJob` whose time-out is a :class:`SearchFailed`."""

    timeout_error = SearchFailed
