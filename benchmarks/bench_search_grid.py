"""Benchmark: SearchPanel with 10,000 matching datasets, paged grid vs one naive grid.

A loopback data centre serves a 10,000-record catalogue (records made from the
inventory of dkist's ``large_visp`` test ASDF, with distinct ids, times and r0).
In the same run we measure:

* **paged** (what ``SearchPanel`` does): search one page (100 rows) through the
  real HTTP endpoint, build the rows, fill the ``ipydatagrid.DataGrid``, and
  serialise the grid's state as the comm would send it; then "Next page"; and the
  selection mapping (``grid.get_visible_data()``) on that grid.
* **naive** (the baseline): fetch all 10,000 records in one request
  (``pageSize=10000``), build the same rows and put them all in one ``DataGrid``
  with the same columns -- what a notebook doing ``DataGrid(table.to_pandas())``
  ends up with.

Bytes are the JSON + binary buffers of ``grid.get_state()`` (what the browser
receives when the grid is displayed and what a saved notebook stores). Times are
medians of ``--repeat`` runs. Results go to ``benchmarks/results/search_grid.md``.

Run::

    PYTHONPATH=. .venv/bin/python benchmarks/bench_search_grid.py
    PYTHONPATH=. .venv/bin/python benchmarks/bench_search_grid.py --n 2000 --repeat 2 --no-write
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import gzip
import json
import os
import platform
import shutil
import statistics
import tempfile
import time
import urllib.request
import warnings
from pathlib import Path

RESULTS = Path(__file__).parent / "results" / "search_grid.md"


def build_catalogue(n: int) -> list[dict]:
    import dkist
    import numpy as np

    src = Path(dkist.__file__).parent / "data" / "test" / "large_visp.asdf.gz"
    tmp = Path(tempfile.mkdtemp(prefix="bench-search-")) / "large_visp.asdf"
    with gzip.open(src) as fin, tmp.open("wb") as fout:
        shutil.copyfileobj(fin, fout)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        inv = dict(dkist.load_dataset(tmp).meta["inventory"])
    inv.pop("dataset_size", None)
    rng = np.random.default_rng(613)
    start = dt.datetime(2022, 1, 1)
    records = []
    for i in range(n):
        rec = copy.deepcopy(inv)
        ds_id = f"B{i:05d}"
        t0 = start + dt.timedelta(hours=6 * i)
        rec.update(
            {
                "datasetId": ds_id,
                "productId": f"L1-{ds_id}",
                "bucket": "data",
                "primaryProposalId": f"pid_{1 + i % 7}_{i % 97}",
                "asdfObjectKey": f"pid/{ds_id}/{ds_id}.asdf",
                "qualityReportObjectKey": f"pid/{ds_id}/{ds_id}.pdf",
                "browseMovieObjectKey": f"pid/{ds_id}/{ds_id}.mp4",
                "startTime": t0.isoformat(),
                "endTime": (t0 + dt.timedelta(minutes=30)).isoformat(),
                "qualityAverageFriedParameter": float(rng.uniform(0.02, 0.2)),
                "isEmbargoed": False,
                "status": "ACTIVE",
                "datasetSize": int(rng.integers(1, 500)),
                "frameCount": int(rng.integers(10, 100000)),
            }
        )
        records.append(rec)
    return records


def state_bytes(widget) -> int:
    """JSON + buffer bytes of the widget's full state, as sent on display."""
    from ipywidgets.widgets.widget import _remove_buffers

    state = widget.get_state()
    state, _paths, buffers = _remove_buffers(state)
    return len(json.dumps(state).encode()) + sum(len(memoryview(b).cast("B")) for b in buffers)


def median_time(fn, repeat: int) -> tuple[float, object]:
    times, value = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), value


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)

    os.environ.setdefault("XDG_DATA_HOME", tempfile.mkdtemp(prefix="bench-search-xdg-"))
    from ipydatagrid import DataGrid

    from dkist_widgets.core import search as core
    from dkist_widgets.core.model import DatasetModel
    from dkist_widgets.panels.search import SearchPanel, _dataframe
    from dkist_widgets.sandbox.datacentre import DataCentre
    from dkist_widgets.sandbox.dkist_config import configure_this_process

    t = time.perf_counter()
    catalogue = build_catalogue(args.n)
    build_s = time.perf_counter() - t
    dc = DataCentre(catalogue, tempfile.mkdtemp(prefix="bench-search-archive-")).start()
    try:
        configure_this_process(dc.dataset_endpoint, dc.download_endpoint)
        columns = list(core.DEFAULT_COLUMNS)
        panel = SearchPanel(model=DatasetModel(), choices=core.FormChoices(), search_timeout=120)
        panel.page_size.options = sorted({args.page_size, *panel.page_size.options})
        panel.set_form(embargoed=False, page_size=args.page_size)

        def paged_search():
            panel.search()
            assert panel.wait(120) and panel.message_kind == "ok", panel.message_text
            return state_bytes(panel.grid)

        def next_page():
            panel.goto_page(2)
            assert panel.wait(120) and panel.message_kind == "ok", panel.message_text
            panel.goto_page(1)
            assert panel.wait(120)

        def select_rows():
            panel.grid.selections = []  # a new value each time, or traitlets skips the observer
            panel.grid.selections = [{"r1": 3, "c1": 0, "r2": 7, "c2": 6}]
            return list(panel.selected_ids)

        paged_s, paged_bytes = median_time(paged_search, args.repeat)
        assert panel.result.total == args.n and len(panel.grid.get_visible_data()) == min(args.page_size, args.n)
        next_s, _ = median_time(next_page, args.repeat)
        next_s /= 2
        select_s, selected = median_time(select_rows, args.repeat)
        assert len(selected) == 5

        # the largest page the panel offers
        panel.set_form(page_size=1000)
        max_page_s, max_page_bytes = median_time(paged_search, args.repeat)
        max_select_s, selected = median_time(select_rows, args.repeat)
        assert len(selected) == 5 and len(panel.grid.get_visible_data()) == min(1000, args.n)

        naive_grid = {}

        def naive():
            url = dc.dataset_endpoint + f"v1?isEmbargoed=false&pageSize={args.n}"
            with urllib.request.urlopen(url, timeout=300) as resp:
                doc = json.load(resp)
            rows, all_columns = core.rows_from_records(doc["searchResults"])
            frame = _dataframe(rows, all_columns)
            grid = DataGrid(frame[[c for c in columns if c != "Dataset ID"]], selection_mode="row")
            naive_grid["grid"] = grid
            return state_bytes(grid)

        naive_s, naive_bytes = median_time(naive, args.repeat)
        grid = naive_grid["grid"]
        assert len(grid.get_visible_data()) == args.n

        def naive_select():
            grid.selections = [{"r1": 3, "c1": 0, "r2": 7, "c2": 6}]
            return list(grid.get_visible_data().index[3:8])

        naive_select_s, _ = median_time(naive_select, args.repeat)
    finally:
        dc.stop()

    result = {
        "n": args.n,
        "page_size": args.page_size,
        "repeat": args.repeat,
        "catalogue_build_s": build_s,
        "paged_search_render_s": paged_s,
        "paged_next_page_s": next_s,
        "paged_state_bytes": paged_bytes,
        "paged_select_s": select_s,
        "max_page_s": max_page_s,
        "max_page_bytes": max_page_bytes,
        "max_page_select_s": max_select_s,
        "naive_search_render_s": naive_s,
        "naive_state_bytes": naive_bytes,
        "naive_select_s": naive_select_s,
    }
    report = render(result)
    print(report)
    if not args.no_write:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(report)
    return result


def render(r: dict) -> str:
    def mb(n):
        return f"{n / 1e6:.2f} MB" if n >= 1e5 else f"{n / 1e3:.1f} kB"

    return f"""# SearchPanel grid with {r["n"]:,} results

Recorded by `benchmarks/bench_search_grid.py` on {dt.date.today().isoformat()}
({platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs, shared
machine). Medians of {r["repeat"]} runs, same process, same loopback data centre.
Paged = what `SearchPanel` does (page size {r["page_size"]}); naive = all {r["n"]:,}
rows fetched in one request and put in one `DataGrid` with the same 7 columns.
Bytes = JSON + binary buffers of `grid.get_state()` (sent to the browser on display,
and stored in a saved notebook's widget state).

| | paged | naive | naive / paged |
|---|---|---|---|
| search + rows + grid + state (s) | {r["paged_search_render_s"]:.3f} | {r["naive_search_render_s"]:.3f} | {r["naive_search_render_s"] / r["paged_search_render_s"]:.0f}x |
| grid state sent | {mb(r["paged_state_bytes"])} | {mb(r["naive_state_bytes"])} | {r["naive_state_bytes"] / r["paged_state_bytes"]:.0f}x |
| map a 5-row selection to ids (s) | {r["paged_select_s"]:.4f} | {r["naive_select_s"]:.4f} | {r["naive_select_s"] / r["paged_select_s"]:.0f}x |
| next page (s) | {r["paged_next_page_s"]:.3f} | n/a | |

With the largest page the panel offers (1000 rows): search + render
{r["max_page_s"]:.3f} s, {mb(r["max_page_bytes"])} of grid state, selection mapping
{r["max_page_select_s"]:.4f} s ({r["naive_search_render_s"] / r["max_page_s"]:.0f}x /
{r["naive_state_bytes"] / r["max_page_bytes"]:.0f}x / {r["naive_select_s"] / r["max_page_select_s"]:.0f}x better than naive).

Catalogue of {r["n"]:,} records built in {r["catalogue_build_s"]:.1f} s (not part of any timing).

Reading: the paged grid's cost does not grow with the number of results (only
`recordCount` does); the naive grid's cost and bytes grow linearly, and the
selection mapping (`get_visible_data()`, a deep copy of the grid's data) with it.
Sorting/filtering in the paged grid act on the page shown (the panel says so).
"""


if __name__ == "__main__":
    main()
