"""The HTTP client of the search: the data centre's endpoints (from ``dkist.net.conf``),
one request with a time-out and messages people can act on, the search itself
(:func:`run_search`) and the ``searchValues`` document behind the form's choices.

Choices
-------
* **Only the HTTP request is ours.** dkist's search calls
  ``urllib.request.urlopen`` with **no timeout** (a hung server would hang the
  search thread for ever), so :func:`run_search` sends the URL dkist's walker makes
  (:func:`~.request.query_parameters`) with a timeout and reads ``recordCount``
  itself.
* **Errors are sentences.** Every failure -- an HTTP status, a time-out, a refused
  connection, a broken connection, an answer that is not JSON (a web page from a
  proxy, an empty body, JSON cut short) -- becomes a
  :class:`SearchFailed` whose message says what happened and, where there is one,
  what to do.
* **Choices fall back.** When ``searchValues`` cannot be read, the form uses the
  copy dkist cached or ships (:func:`load_form_choices`), and says so.
"""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from .request import FormChoices, SearchRequest, query_parameters
from .results import SearchResult

__all__ = ["SearchFailed", "run_search", "fetch_search_values", "load_form_choices", "http_client_errors"]


class SearchFailed(RuntimeError):
    """The data centre did not give a usable answer (message says why, for people)."""


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
    except Exception:  # noqa: BLE001 - an error body that cannot be read adds no detail
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
    except TimeoutError as err:
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
        except TimeoutError as err:
            raise SearchFailed(f"The data centre stopped answering within {timeout:g} s ({what}).") from err
        except (ConnectionError, OSError, http_client_errors()) as err:
            raise SearchFailed(
                f"The connection to the data centre broke ({what}): {err or type(err).__name__}."
            ) from err
    if not body.strip():
        raise SearchFailed(
            f"The data centre answered {what} with an empty page; "
            "the service may be restarting, or a proxy is in the way. Try again."
        )
    try:
        return json.loads(body)
    except ValueError as err:
        preview = body[:80].decode("utf-8", "replace")
        if preview.lstrip().startswith("<"):
            raise SearchFailed(
                f"The data centre's answer to {what} is not JSON but a web page (it starts "
                f"{preview!r}): a proxy or a network sign-in page may be in the way."
            ) from err
        raise SearchFailed(
            f"The data centre's answer to {what} is not JSON (it starts {preview!r}); "
            "it may have been cut short, or the service is down or behind a broken proxy."
        ) from err


def http_client_errors():
    import http.client

    return http.client.HTTPException


def run_search(request: SearchRequest, *, timeout: float = 30.0, dataset_endpoint: str | None = None) -> SearchResult:
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
        raise SearchFailed(
            "The data centre's answer to the search has no 'searchResults' list; is the dataset endpoint right?"
        )
    records = [r for r in doc["searchResults"] if isinstance(r, dict)]
    try:
        total = int(doc.get("recordCount", len(records)))
    except (TypeError, ValueError):
        total = len(records)
    return SearchResult(records=records, total=total, request=request, url=url, seconds=time.perf_counter() - started)


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
    except Exception:  # noqa: BLE001 - no usable cached values: an empty form, with the problem said
        return FormChoices(), problem
