"""DKIST archive search, without widgets: request -> validation -> dkist attrs -> HTTP ->
rows; the equivalent ``Fido.search`` code; form choices from ``searchValues``; ASDF /
quality report / preview movie downloads with a path template.

One concern per module; this package re-exports every public name, so
``from dkist_widgets.core import search as core; core.SearchRequest`` and
``from dkist_widgets.core.search import SearchRequest`` both work:

* :mod:`.request` -- :class:`SearchRequest` (form parsing, validation, attrs),
  :func:`query_parameters`, :func:`fido_code`, :class:`FormChoices`, the r0 unit rule
  (dkist issue 613).
* :mod:`.results` -- :class:`SearchResult`, :func:`rows_from_records`,
  :func:`records_from_table`, :func:`result_from_fido`.
* :mod:`.http` -- :class:`SearchFailed`, :func:`run_search`,
  :func:`fetch_search_values`, :func:`load_form_choices`.
* :mod:`.downloads` -- :func:`download_product`, :func:`fetch_asdfs`,
  :class:`FetchOutcome`, :class:`DownloadError`.
* Path templates are :mod:`dkist_widgets.core.path_template` (one engine for
  download paths and Globus destinations); :class:`PathTemplate` is re-exported.
* Background work runs in :class:`BackgroundJob`, the one background-job utility of
  :mod:`dkist_widgets.core.jobs` with a time-out reported as :class:`SearchFailed`:
  a daemon thread that only sets traits keeps widgets live while a cell blocks, an
  asyncio task would not.
"""

from __future__ import annotations

from ..jobs import BackgroundJob as _BackgroundJob
from ..jobs import Cancelled
from ..path_template import PathTemplate, PathTemplateError
from .downloads import DEFAULT_PATH_TEMPLATE, PRODUCT_ROUTES, DownloadError, FetchOutcome, download_product, fetch_asdfs
from .http import SearchFailed, fetch_search_values, http_client_errors, load_form_choices, run_search
from .request import (
    DEFAULT_PAGE_SIZE,
    DKIST_CLIENT_INSTRUMENTS,
    MAX_PAGE_SIZE,
    OPEN_R0_M,
    OPEN_TIME,
    OPEN_WAVELENGTH_NM,
    R0_FORM_CAP_M,
    FormChoices,
    SearchInputError,
    SearchRequest,
    dkist_sends_fried_in_cm,
    fido_code,
    query_parameters,
)
from .results import (
    ACTION_NEEDS,
    DEFAULT_COLUMNS,
    SearchResult,
    action_blockers,
    record_problems,
    records_from_table,
    result_from_fido,
    row_id,
    rows_from_records,
)

__all__ = [
    "ACTION_NEEDS",
    "action_blockers",
    "record_problems",
    "row_id",
    "BackgroundJob",
    "Cancelled",
    "DEFAULT_COLUMNS",
    "DEFAULT_PAGE_SIZE",
    "DEFAULT_PATH_TEMPLATE",
    "DKIST_CLIENT_INSTRUMENTS",
    "DownloadError",
    "FetchOutcome",
    "FormChoices",
    "MAX_PAGE_SIZE",
    "OPEN_R0_M",
    "OPEN_TIME",
    "OPEN_WAVELENGTH_NM",
    "PRODUCT_ROUTES",
    "PathTemplate",
    "PathTemplateError",
    "R0_FORM_CAP_M",
    "SearchFailed",
    "SearchInputError",
    "SearchRequest",
    "SearchResult",
    "dkist_sends_fried_in_cm",
    "download_product",
    "fetch_asdfs",
    "fetch_search_values",
    "fido_code",
    "http_client_errors",
    "load_form_choices",
    "query_parameters",
    "records_from_table",
    "result_from_fido",
    "rows_from_records",
    "run_search",
]


class BackgroundJob(_BackgroundJob):
    """:class:`dkist_widgets.core.jobs.BackgroundJob` whose time-out is a :class:`SearchFailed`."""

    timeout_error = SearchFailed
