"""Loopback DKIST data centre: the HTTP API ``dkist.net`` talks to, on 127.0.0.1.

The real clients (``Fido.search`` through ``dkist.net.DKISTClient``, ``Fido.fetch``,
``ds.files.quality_report()`` / ``preview_movie()``, ``dkist.net.globus``'s endpoint
lookup) are pointed here by :mod:`dkist_widgets.sandbox.dkist_config`. Routes, relative
to :attr:`DataCentre.url`:

``GET /datasets/v1``
    Dataset search. Every query parameter ``dkist.net.attr_walker`` produces is
    understood (see :data:`SEARCH_PARAMETERS`); an unknown parameter is a 400 with a
    JSON error, so a mismatch between client and server shows instead of being
    silently ignored. Answer: ``{"recordCount": <all matches>, "searchResults":
    [<records of the requested page>]}``. Only ``ACTIVE`` datasets match unless a
    ``status`` is given (as the real API and ``a.dkist.Dataset``'s docs say).
``GET /datasets/v1/searchValues``
    Known values of the search parameters, computed from the catalogue, in the shape
    of ``dkist/data/api_search_values.json``. A parameter the catalogue cannot
    provide (e.g. no dataset has a spectral sampling) falls back to the values dkist
    ships, so the client's formatting never meets a missing number.
``GET /datasets/v1/config``
    ``{"globusDataEndpointID": <DKIST endpoint id>}``.
``GET|HEAD /download/asdf|quality|movie?datasetId=X``
    The dataset's ASDF, quality report PDF or preview movie, read from
    ``{archive root}/{bucket}/{objectKey}``, with ``Content-Disposition`` (the file
    name the clients save under) and a ``Repr-Digest: sha-256=<hex>`` header that
    parfive checks when it asks for a checksum (``Fido.fetch`` does).
``POST /_sandbox/faults``, ``DELETE /_sandbox/faults``, ``GET /_sandbox/stats``
    Test controls usable from another process (not counted, never faulted).

Choices:

* Filter semantics follow the real API as documented by dkist: time ranges select
  datasets *overlapping* ``[endTimeMin, startTimeMax]``; ``wavelengthRanges`` selects
  datasets whose ``[wavelengthMin, wavelengthMax]`` overlaps the range; range
  parameters (``...Min``/``...Max``) are inclusive (with a 1e-9 relative slack for
  client-side unit conversions) and a record without that value never matches; id lists match exactly; ``instrumentNames`` and ``targetTypes``
  ignore case. ``qualityAverageFriedParameter`` is in **metres**, as the API holds
  it; dkist's ``a.dkist.FriedParameter`` sends centimetres (dkist issue 613), and
  this server does not paper over that.
* Results come in catalogue order; ``pageNumber`` is 1-based; ``pageSize``
  defaults to 100 when absent (dkist always sends it).
* NaN values in records are sent as ``null`` so the JSON is strict.
* A download is two requests for parfive (``HEAD`` then ``GET``); a fault meant to
  break a download must cover both.
* ``ThreadingHTTPServer`` in a daemon thread; slow faults wait on an event that
  :meth:`DataCentre.stop` sets, so stopping never hangs on a sleeping handler.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.resources
import json
import math
import socket
import threading
import urllib.parse
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from ..core.inventory import finite_number
from .endpoints import DKIST_ENDPOINT_ID

__all__ = [
    "DataCentre",
    "Fault",
    "FAULT_KINDS",
    "ROUTES",
    "SEARCH_PARAMETERS",
    "SearchError",
    "search_catalogue",
    "search_values",
]

#: Fault kinds: HTTP 500 with a JSON error; a delay before a normal answer; a 200
#: whose body is not JSON (an HTML page); closing the connection without an answer;
#: and 200 answers of the wrong shape, made from the real answer: ``empty`` (no body),
#: ``truncated`` (the first half of the JSON), ``nulls`` (every number ``null``),
#: ``wrong_types`` (every number the string ``"n/a"``).
FAULT_KINDS = ("500", "slow", "garbage", "drop", "empty", "truncated", "nulls", "wrong_types")
_MANGLING = ("empty", "truncated", "nulls", "wrong_types")


def _mangled(document: Any, kind: str) -> bytes:
    """The body of a wrong-shape 200 answer of ``kind`` made from ``document``."""
    if kind == "empty":
        return b""
    if kind == "truncated":
        text = json.dumps(document, allow_nan=False).encode()
        return text[: max(1, len(text) // 2)]
    replacement = None if kind == "nulls" else "n/a"

    def swap(value):
        if isinstance(value, bool) or value is None or isinstance(value, str):
            return value
        if isinstance(value, (int, float)):
            return replacement
        if isinstance(value, dict):
            return {k: swap(v) for k, v in value.items()}
        if isinstance(value, list):
            return [swap(v) for v in value]
        return value

    return json.dumps(swap(document), allow_nan=False).encode()


#: Route names used for request counts and to aim faults.
ROUTES = ("search", "searchValues", "config", "asdf", "quality", "movie", "other")

DEFAULT_PAGE_SIZE = 100

# --- search semantics -------------------------------------------------------------

# parameter -> record key, exact (string) match against any of the given values
_EXACT = {
    "datasetIds": "datasetId",
    "productIds": "productId",
    "primaryProposalIds": "primaryProposalId",
    "primaryExperimentIds": "primaryExperimentId",
    "recipeId": "recipeId",
    "status": "status",
    "browseMovieUrl": "browseMovieUrl",
    "browseMovieObjectKey": "browseMovieObjectKey",
    "highLevelSoftwareVersion": "highLevelSoftwareVersion",
    "workflowName": "workflowName",
    "workflowVersion": "workflowVersion",
    "observingProgramExecutionId": "observingProgramExecutionId",
    "instrumentProgramExecutionId": "instrumentProgramExecutionId",
    "headerVersion": "headerVersion",
}
# parameter -> record key, case-insensitive scalar match
_CASELESS = {"instrumentNames": "instrumentName"}
# parameter -> record key holding a list; matches when the lists share a value
_LIST_ANY = {"targetTypes": "targetTypes", "spectralLines": "spectralLines"}
_BOOLEAN = {
    "isEmbargoed": "isEmbargoed",
    "hasAllStokes": "hasAllStokes",
    "hasSpectralAxis": "hasSpectralAxis",
    "hasTemporalAxis": "hasTemporalAxis",
}
# parameter -> (record key, "min"|"max"), numbers
_NUMBER_RANGE = {
    f"{key}{side}": (key, side.lower())
    for key in (
        "qualityAverageFriedParameter",
        "exposureTime",
        "averageDatasetSpectralSampling",
        "averageDatasetSpatialSampling",
        "averageDatasetTemporalSampling",
    )
    for side in ("Min", "Max")
}
# parameter -> (record key, "min"|"max"), times
_TIME_RANGE = {
    f"{key}{side}": (key, side.lower())
    for key in ("startTime", "endTime", "embargoEndDate", "createDate", "headerDataUnitCreationDate")
    for side in ("Min", "Max")
}
_BOX = {
    "rectangleContainingBoundingBox": "containing",
    "rectangleContainedByBoundingBox": "contained",
    "rectangleIntersectingBoundingBox": "intersecting",
}
_PAGING = ("pageNumber", "pageSize")

#: Every query parameter the search route understands.
SEARCH_PARAMETERS = frozenset(
    [*_EXACT, *_CASELESS, *_LIST_ANY, *_BOOLEAN, *_NUMBER_RANGE, *_TIME_RANGE, *_BOX, "wavelengthRanges", *_PAGING]
)


class SearchError(ValueError):
    """A search request the API would refuse (HTTP 400)."""


def _parse_time(value: Any) -> dt.datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        parsed = value
    else:
        text = str(value).strip().replace(" ", "T")
        try:
            parsed = dt.datetime.fromisoformat(text)
        except ValueError as err:
            raise SearchError(f"not an ISO time: {value!r}") from err
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed


def _parse_bool(value: str, name: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise SearchError(f"{name} must be true or false, got {value!r}")


def _parse_float(value: str, name: str) -> float:
    try:
        return float(value)
    except ValueError as err:
        raise SearchError(f"{name} must be a number, got {value!r}") from err


def _split_values(values: list[str]) -> list[str]:
    """Array parameters arrive repeated (``doseq``) or comma-separated."""
    out: list[str] = []
    for value in values:
        out.extend(part.strip() for part in value.split(",") if part.strip())
    return out


def _number(record: Mapping, key: str) -> float | None:
    return finite_number(record.get(key))


def _slack(bound: float) -> float:
    """Tolerance for numbers that went through a unit conversion on the client.

    ``a.Wavelength(1083 * u.nm)`` arrives as 1082.9999999999998; without this a
    dataset at exactly 1083 nm would not match its own wavelength.
    """
    return abs(bound) * 1e-9


def _box(value: Any) -> tuple[float, float, float, float] | None:
    """(xmin, ymin, xmax, ymax) of a bounding box given as "(x1,y1),(x2,y2)" or nested lists."""
    if value is None:
        return None
    if isinstance(value, str):
        numbers = [float(x) for x in value.replace("(", " ").replace(")", " ").replace(",", " ").split()]
    else:
        numbers = [float(x) for pair in value for x in pair]
    if len(numbers) != 4:
        return None
    x1, y1, x2, y2 = numbers
    return min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)


def _box_matches(record_box, query_box, mode: str) -> bool:
    rx0, ry0, rx1, ry1 = record_box
    qx0, qy0, qx1, qy1 = query_box
    if mode == "containing":  # the dataset contains the query rectangle
        return rx0 <= qx0 and ry0 <= qy0 and rx1 >= qx1 and ry1 >= qy1
    if mode == "contained":  # the dataset lies inside the query rectangle
        return qx0 <= rx0 and qy0 <= ry0 and qx1 >= rx1 and qy1 >= ry1
    return rx0 <= qx1 and qx0 <= rx1 and ry0 <= qy1 and qy0 <= ry1


def _compile_filters(query: Mapping[str, list[str]]):
    """Turn query parameters into a list of predicates on records (raises SearchError)."""
    unknown = sorted(set(query) - SEARCH_PARAMETERS)
    if unknown:
        raise SearchError(f"unknown search parameter(s): {', '.join(unknown)}")

    predicates = []
    for name, raw in query.items():
        if name in _PAGING:
            continue
        if name in _EXACT:
            key = _EXACT[name]
            wanted = set(_split_values(raw))
            if name == "status":
                predicates.append(lambda r, w=wanted: (r.get("status") or "ACTIVE") in w)
            else:
                predicates.append(lambda r, k=key, w=wanted: str(r.get(k)) in w)
        elif name in _CASELESS:
            key = _CASELESS[name]
            wanted = {v.lower() for v in _split_values(raw)}
            predicates.append(lambda r, k=key, w=wanted: str(r.get(k, "")).lower() in w)
        elif name in _LIST_ANY:
            key = _LIST_ANY[name]
            wanted = {v.lower() for v in _split_values(raw)}
            predicates.append(lambda r, k=key, w=wanted: bool(w & {str(x).lower() for x in (r.get(k) or [])}))
        elif name in _BOOLEAN:
            key = _BOOLEAN[name]
            value = _parse_bool(raw[-1], name)
            predicates.append(lambda r, k=key, v=value: bool(r.get(k)) is v)
        elif name in _NUMBER_RANGE:
            key, side = _NUMBER_RANGE[name]
            bound = _parse_float(raw[-1], name)

            def pred(r, k=key, s=side, b=bound):
                value = _number(r, k)
                if value is None:
                    return False
                return value >= b - _slack(b) if s == "min" else value <= b + _slack(b)

            predicates.append(pred)
        elif name in _TIME_RANGE:
            key, side = _TIME_RANGE[name]
            bound = _parse_time(raw[-1])

            def pred(r, k=key, s=side, b=bound):
                try:
                    value = _parse_time(r.get(k))
                except SearchError:
                    return False
                return value is not None and (value >= b if s == "min" else value <= b)

            predicates.append(pred)
        elif name in _BOX:
            try:
                query_box = _box(raw[-1])
            except ValueError:
                query_box = None
            if query_box is None:
                raise SearchError(f"{name} must be 'x1,y1),(x2,y2' in arcsec, got {raw[-1]!r}")

            def pred(r, q=query_box, m=_BOX[name]):
                try:
                    record_box = _box(r.get("boundingBox"))
                except (TypeError, ValueError):
                    return False
                return record_box is not None and _box_matches(record_box, q, m)

            predicates.append(pred)
        elif name == "wavelengthRanges":
            numbers = [_parse_float(v, name) for v in _split_values(raw)]
            if not numbers or len(numbers) % 2:
                raise SearchError("wavelengthRanges needs pairs of numbers (nm)")
            ranges = [tuple(sorted(numbers[i : i + 2])) for i in range(0, len(numbers), 2)]

            def pred(r, ranges=ranges):
                lo, hi = _number(r, "wavelengthMin"), _number(r, "wavelengthMax")
                if lo is None or hi is None:
                    return False
                return any(lo <= qhi + _slack(qhi) and qlo - _slack(qlo) <= hi for qlo, qhi in ranges)

            predicates.append(pred)
    if "status" not in query:
        predicates.append(lambda r: (r.get("status") or "ACTIVE") == "ACTIVE")
    return predicates


def _clean(value: Any) -> Any:
    """Strict JSON: NaN/inf become null, recursively."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def search_catalogue(catalogue: Iterable[Mapping], query: Mapping[str, list[str]]) -> dict:
    """Answer a search (query as from ``urllib.parse.parse_qs``) over ``catalogue``.

    Returns the JSON document the search route sends. Raises :class:`SearchError`.
    """
    predicates = _compile_filters(query)
    matches = [r for r in catalogue if all(p(r) for p in predicates)]
    try:
        page_size = int(query.get("pageSize", [DEFAULT_PAGE_SIZE])[-1])
        page_number = int(query.get("pageNumber", [1])[-1])
    except ValueError as err:
        raise SearchError("pageSize and pageNumber must be integers") from err
    if page_size < 1 or page_number < 1:
        raise SearchError("pageSize and pageNumber must be at least 1")
    start = (page_number - 1) * page_size
    page = matches[start : start + page_size]
    return {
        "authorizationStatusCode": 200,
        "authorizationStatusDescription": "OK",
        "recordCount": len(matches),
        "searchResults": [_clean(dict(r)) for r in page],
    }


_CATEGORICAL = (
    "instrumentNames",
    "targetTypes",
    "status",
    "highLevelSoftwareVersion",
    "workflowName",
    "workflowVersion",
    "headerVersion",
    "spectralLines",
)
_CATEGORICAL_KEYS = {"instrumentNames": "instrumentName"}
_RANGES_NUMERIC = (
    "exposureTime",
    "qualityAverageFriedParameter",
    "averageDatasetSpectralSampling",
    "averageDatasetSpatialSampling",
    "averageDatasetTemporalSampling",
)
_RANGES_TIME = ("createDate", "endTime", "startTime", "headerDataUnitCreationDate")


def search_values(catalogue: Iterable[Mapping]) -> dict:
    """The ``searchValues`` document for ``catalogue`` (shape of dkist's shipped file)."""
    records = list(catalogue)
    shipped = json.loads((importlib.resources.files("dkist.data") / "api_search_values.json").read_text())
    fallback = {p["parameterName"]: p["values"] for p in shipped["parameterValues"]}
    out = []

    def add(name, values):
        out.append({"parameterName": name, "values": values})

    for name in _RANGES_TIME:
        parsed = []
        for r in records:
            try:
                t = _parse_time(r.get(name))
            except SearchError:
                t = None
            if t is not None:
                parsed.append((t, r.get(name)))
        for side in ("Min", "Max"):
            if parsed:
                values = {"minValue": min(parsed)[1], "maxValue": max(parsed)[1]}
            else:
                values = fallback.get(name + side, {"minValue": None, "maxValue": None})
            add(name + side, values)
    for name in _RANGES_NUMERIC:
        numbers = [n for r in records if (n := _number(r, name)) is not None]
        for side in ("Min", "Max"):
            if numbers:
                values = {"minValue": min(numbers), "maxValue": max(numbers)}
            else:
                values = fallback.get(name + side, {"minValue": 0.0, "maxValue": 0.0})
            add(name + side, values)
    for name in _CATEGORICAL:
        key = _CATEGORICAL_KEYS.get(name, name)
        seen: dict[str, None] = {}
        for r in records:
            value = r.get(key)
            if name == "status" and value is None:
                value = "ACTIVE"
            for v in value if isinstance(value, list) else [value]:
                if v is not None:
                    seen[str(v)] = None
        add(name, {"categoricalValues": list(seen)})
    return {"parameterValues": out}


# --- faults --------------------------------------------------------------------------


@dataclass
class Fault:
    """One injected misbehaviour.

    ``remaining`` None means "until cleared". ``routes`` None means every route.
    """

    kind: str
    remaining: int | None = None
    delay: float = 5.0
    routes: tuple[str, ...] | None = None

    def __post_init__(self):
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"fault kind must be one of {FAULT_KINDS}, got {self.kind!r}")
        if self.remaining is not None and self.remaining < 1:
            raise ValueError("count must be at least 1 (or None for 'until cleared')")
        if self.routes is not None:
            self.routes = tuple(self.routes)
            bad = set(self.routes) - set(ROUTES)
            if bad:
                raise ValueError(f"unknown route(s) {sorted(bad)}; routes are {ROUTES}")
        if self.delay < 0:
            raise ValueError("delay must be >= 0")


# --- server -------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    datacentre: DataCentre

    def handle_error(self, request, client_address):
        """Quiet: a client hanging up (or a 'drop' fault) is not worth a traceback."""


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "DKISTSandboxDataCentre/1"

    def log_message(self, format, *args):
        pass

    # plumbing
    def _send_json(self, status: int, document: Any, extra_headers: Mapping[str, str] | None = None):
        body = json.dumps(document, allow_nan=False).encode()
        mangle = getattr(self, "_mangle", None)
        if mangle is not None and status == 200:
            body = _mangled(document, mangle)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra_headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _error(self, status: int, message: str, **extra):
        self._send_json(status, {"error": message, "status": status, **extra})

    def do_GET(self):
        self._dispatch()

    def do_HEAD(self):
        self._dispatch()

    def do_POST(self):
        self._dispatch()

    def do_DELETE(self):
        self._dispatch()

    def _dispatch(self):
        dc = self.server.datacentre
        parsed = urllib.parse.urlsplit(self.path)
        path = parsed.path
        query = urllib.parse.parse_qs(parsed.query, keep_blank_values=True)
        self._mangle = None
        try:
            if path.startswith("/_sandbox/"):
                self._admin(path)
                return
            route = _route_of(path)
            dc._count(route)
            fault = dc._take_fault(route)
            if fault is not None and fault.kind in _MANGLING:
                self._mangle, fault = fault.kind, None  # served, then mangled in _send_json
            if fault is not None:
                if fault.kind == "drop":
                    self.close_connection = True
                    try:
                        self.connection.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                    return
                if fault.kind == "500":
                    self._error(500, "injected fault: internal server error")
                    return
                if fault.kind == "garbage":
                    body = b"<html><body>502 Bad Gateway (injected garbage)</body></html>"
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(body)
                    return
                if fault.kind == "slow":
                    if dc._stopping.wait(fault.delay):
                        return
            if self.command not in ("GET", "HEAD"):
                self._error(405, f"{self.command} not allowed on {path}")
                return
            self._serve(route, query)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _admin(self, path: str):
        dc = self.server.datacentre
        if path == "/_sandbox/faults" and self.command == "POST":
            length = int(self.headers.get("Content-Length") or 0)
            try:
                spec = json.loads(self.rfile.read(length) or b"{}")
                fault = dc.inject_fault(
                    spec["kind"],
                    count=spec.get("count"),
                    delay=spec.get("delay", 5.0),
                    routes=spec.get("routes"),
                )
            except (KeyError, TypeError, ValueError) as err:
                self._error(400, f"bad fault: {err}")
                return
            self._send_json(200, {"injected": asdict(fault)})
        elif path == "/_sandbox/faults" and self.command == "DELETE":
            dc.clear_faults()
            self._send_json(200, {"cleared": True})
        elif path == "/_sandbox/faults" and self.command in ("GET", "HEAD"):
            self._send_json(200, {"faults": [asdict(f) for f in dc.faults]})
        elif path == "/_sandbox/stats" and self.command in ("GET", "HEAD"):
            self._send_json(200, {"requests": dc.request_count, "by_route": dict(dc.request_counts)})
        else:
            self._error(404, f"no admin route {self.command} {path}")

    def _serve(self, route: str, query: dict[str, list[str]]):
        dc = self.server.datacentre
        if route == "search":
            try:
                document = search_catalogue(dc.catalogue, query)
            except SearchError as err:
                self._error(400, str(err))
                return
            self._send_json(200, document)
        elif route == "searchValues":
            self._send_json(200, dc.search_values())
        elif route == "config":
            self._send_json(200, {"globusDataEndpointID": dc.endpoint_id})
        elif route in ("asdf", "quality", "movie"):
            self._serve_file(route, query)
        elif self.path.split("?")[0] in ("", "/"):
            self._send_json(
                200,
                {
                    "service": "DKIST sandbox data centre",
                    "dataset_endpoint": dc.dataset_endpoint,
                    "download_endpoint": dc.download_endpoint,
                    "datasets": len(dc.catalogue),
                },
            )
        else:
            self._error(404, f"no route {self.path.split('?')[0]}")

    def _serve_file(self, route: str, query: dict[str, list[str]]):
        dc = self.server.datacentre
        ids = query.get("datasetId") or []
        if len(ids) != 1 or not ids[0]:
            self._error(400, "exactly one datasetId is required")
            return
        dataset_id = ids[0]
        record = dc.record(dataset_id)
        if record is None:
            self._error(404, f"unknown dataset {dataset_id!r}", datasetId=dataset_id)
            return
        key_name = {"asdf": "asdfObjectKey", "quality": "qualityReportObjectKey", "movie": "browseMovieObjectKey"}[
            route
        ]
        object_key = record.get(key_name)
        if not object_key:
            self._error(404, f"dataset {dataset_id!r} has no {route} file", datasetId=dataset_id)
            return
        file_path = dc.object_path(record, object_key)
        if file_path is None or not file_path.is_file():
            self._error(
                404, f"{route} file of dataset {dataset_id!r} is missing from the archive", datasetId=dataset_id
            )
            return
        content_type = {"asdf": "application/asdf", "quality": "application/pdf", "movie": "video/mp4"}[route]
        size = file_path.stat().st_size
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(size))
        self.send_header("Content-Disposition", f'attachment; filename="{file_path.name}"')
        self.send_header("Repr-Digest", f"sha-256={dc._sha256(file_path)}")
        self.end_headers()
        if self.command == "HEAD":
            return
        with file_path.open("rb") as f:
            while chunk := f.read(1 << 20):
                self.wfile.write(chunk)


def _route_of(path: str) -> str:
    if path.startswith("/datasets/"):
        rest = path[len("/datasets/") :].rstrip("/")
        return {"v1": "search", "v1/searchValues": "searchValues", "v1/config": "config"}.get(rest, "other")
    if path.startswith("/download/"):
        rest = path[len("/download/") :].rstrip("/")
        return rest if rest in ("asdf", "quality", "movie") else "other"
    return "other"


class DataCentre:
    """A loopback DKIST data centre serving ``catalogue`` and the files under ``archive_root``.

    Parameters
    ----------
    catalogue
        Dataset records (dicts with the keys of real search results).
    archive_root
        Folder holding ``{bucket}/{objectKey}`` files.
    host, port
        Where to listen; port 0 picks a free port.
    endpoint_id
        The Globus endpoint id ``v1/config`` reports.

    Use ``start()``/``stop()`` or ``with DataCentre(...) as dc:``.
    """

    def __init__(
        self,
        catalogue: Iterable[Mapping],
        archive_root: Path | str,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        endpoint_id: str = DKIST_ENDPOINT_ID,
    ):
        self.catalogue: list[dict] = [dict(r) for r in catalogue]
        ids = [r.get("datasetId") for r in self.catalogue]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates or None in ids:
            raise ValueError(f"every record needs a unique datasetId (duplicates: {duplicates})")
        self._by_id = {r["datasetId"]: r for r in self.catalogue}
        self.archive_root = Path(archive_root)
        self.endpoint_id = endpoint_id
        self._host, self._port = host, port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._counts: Counter[str] = Counter()
        self._stopping = threading.Event()
        self._digests: dict[tuple[str, int, int], str] = {}
        self._search_values: dict | None = None

    # lifecycle
    def start(self) -> DataCentre:
        if self._server is not None:
            return self
        self._stopping.clear()
        self._server = _Server((self._host, self._port), _Handler)
        self._server.datacentre = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="sandbox-datacentre", kwargs={"poll_interval": 0.1}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> DataCentre:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._server is not None

    # addresses
    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the data centre is not running; call start() first")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def dataset_endpoint(self) -> str:
        """What ``dkist.net.conf.dataset_endpoint`` must be (trailing slash included)."""
        return self.url + "/datasets/"

    @property
    def download_endpoint(self) -> str:
        """What ``dkist.net.conf.download_endpoint`` must be."""
        return self.url + "/download"

    # data
    def record(self, dataset_id: str) -> dict | None:
        return self._by_id.get(dataset_id)

    def object_path(self, record: Mapping, object_key: str) -> Path | None:
        """``{root}/{bucket}/{objectKey}``; None if the key would escape the archive."""
        root = self.archive_root.resolve()
        path = (root / str(record.get("bucket", "data")) / object_key.lstrip("/")).resolve()
        return path if path.is_relative_to(root) else None

    def search_values(self) -> dict:
        if self._search_values is None:
            self._search_values = search_values(self.catalogue)
        return self._search_values

    def _sha256(self, path: Path) -> str:
        st = path.stat()
        key = (str(path), st.st_size, st.st_mtime_ns)
        with self._lock:
            cached = self._digests.get(key)
        if cached is None:
            h = hashlib.sha256()
            with path.open("rb") as f:
                while chunk := f.read(1 << 20):
                    h.update(chunk)
            cached = h.hexdigest()
            with self._lock:
                self._digests[key] = cached
        return cached

    # faults
    def inject_fault(
        self, kind: str, count: int | None = 1, *, delay: float = 5.0, routes: Iterable[str] | None = None
    ) -> Fault:
        """Misbehave on the next ``count`` matching requests (None: until cleared).

        ``kind`` is one of :data:`FAULT_KINDS`; ``routes`` limits it to some of
        :data:`ROUTES`. Faults queue: the oldest matching fault applies first.
        """
        fault = Fault(str(kind), count, float(delay), tuple(routes) if routes is not None else None)
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    @property
    def faults(self) -> list[Fault]:
        with self._lock:
            return [Fault(**asdict(f)) for f in self._faults]

    def _take_fault(self, route: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.routes is None or route in fault.routes:
                    if fault.remaining is not None:
                        fault.remaining -= 1
                        if fault.remaining == 0:
                            self._faults.remove(fault)
                    return fault
        return None

    # counts
    def _count(self, route: str) -> None:
        with self._lock:
            self._counts[route] += 1

    @property
    def request_count(self) -> int:
        """Requests served (admin routes excluded)."""
        with self._lock:
            return sum(self._counts.values())

    @property
    def request_counts(self) -> Counter[str]:
        """Requests served per route name (see :data:`ROUTES`)."""
        with self._lock:
            return Counter(self._counts)

    def reset_counts(self) -> None:
        with self._lock:
            self._counts.clear()
