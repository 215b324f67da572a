"""HeaderExplorer at 100k and 1M frames against the naive approach, in the same run.

Naive baseline (what a notebook does today): an ipydatagrid ``DataGrid`` of the whole
table (the same columns the explorer's table shows) and a bqplot ``Scatter`` of every
frame's ``ATMOS_R0`` against ``DATE-AVG``.

Measured in the kernel, per size:

* **build + serialise**: wall time to construct the widgets and compute every
  widget's state as the comm would send it (``get_state`` + buffer split, the same
  work ipywidgets does when a widget is displayed);
* **bytes sent**: JSON state + binary buffers of every widget created (the table's
  state holds its first window of 60 rows; later windows travel only when scrolled);
* **brush release -> summary**: from ``brush.brushing = False`` (with ``selected``
  set, as the browser sends it) until the summary HTML has been set, median of 15
  random intervals; "full handler" adds the plot highlight and table refresh.

The dataset is the sandbox's headers-only VISP dataset (``sandbox.headers_only``:
a real DKIST-style ASDF loaded by ``dkist.load_dataset``); ``--synthetic`` uses the
faster in-memory generator of ``tests/helpers/header_samples.py`` instead.

Run: ``PYTHONPATH=. .venv/bin/python benchmarks/bench_header_explorer.py [--sizes 100000 1000000]``
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

RESULTS = Path(__file__).resolve().parent / "results" / "header_explorer.md"


def _state_bytes(widgets) -> tuple[int, int]:
    from ipywidgets.widgets.widget import _remove_buffers

    total_json = total_buf = 0
    for widget in widgets:
        state = widget.get_state()
        state, _paths, buffers = _remove_buffers(state)
        total_json += len(json.dumps(state, default=str))
        total_buf += sum(memoryview(b).nbytes for b in buffers)
    return total_json, total_buf


def _live_widgets() -> dict:
    from ipywidgets.widgets import widget

    return widget._instances


def _new_widgets(before: set):
    return [w for k, w in list(_live_widgets().items()) if k not in before]


def _load(n_frames: int, synthetic: bool, workdir: Path):
    n_steps = n_frames // 4
    if synthetic:
        from tests.helpers.header_samples import visp_dataset

        return visp_dataset(n_steps, seed=1, n_filler=0)
    import dkist

    from dkist_widgets.sandbox.headers_only import cached_headers_only_dataset

    path = cached_headers_only_dataset(n_steps, 4)  # generated once, shared with tests and the CLI
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return dkist.load_dataset(path)


def bench_explorer(model):
    from dkist_widgets.panels.header_explorer import HeaderExplorer

    before = set(_live_widgets())
    t0 = time.perf_counter()
    explorer = HeaderExplorer(model)
    built = time.perf_counter()
    json_b, buf_b = _state_bytes(_new_widgets(before))
    # the table's first window of rows is part of its state (counted above); reported apart
    window_b = len(json.dumps(explorer.grid.rows))
    done = time.perf_counter()
    return explorer, {
        "build_s": built - t0,
        "build_serialise_s": done - t0,
        "bytes": json_b + buf_b,
        "json": json_b,
        "buffers": buf_b,
        "window": window_b,
    }


def bench_naive(model, keys):
    import bqplot as bq
    from ipydatagrid import DataGrid

    from dkist_widgets.core.header_table import HeaderTable

    before = set(_live_widgets())
    t0 = time.perf_counter()
    table = HeaderTable(model.headers)
    frame = table.frame_table(keys)
    grid = DataGrid(frame)
    x = table.time.to_datetime(table.time.values)
    y = table.numeric("ATMOS_R0") * 100
    xs, ys = bq.DateScale(), bq.LinearScale()
    scatter = bq.Scatter(x=x, y=y, scales={"x": xs, "y": ys})
    figure = bq.Figure(marks=[scatter], axes=[bq.Axis(scale=xs), bq.Axis(scale=ys, orientation="vertical")])
    built = time.perf_counter()
    json_b, buf_b = _state_bytes(_new_widgets(before))
    done = time.perf_counter()
    del grid, figure
    return {
        "build_s": built - t0,
        "build_serialise_s": done - t0,
        "bytes": json_b + buf_b,
        "json": json_b,
        "buffers": buf_b,
    }


def bench_brush(explorer, repeats: int = 15):
    rng = np.random.default_rng(0)
    times = explorer.table.time
    lo_t, hi_t = np.nanmin(times.values), np.nanmax(times.values)
    to_summary, full = [], []
    stamp = {}
    explorer.summary.observe(lambda _c: stamp.__setitem__("t", time.perf_counter()), names="value")
    for _ in range(repeats):
        a, b = np.sort(rng.uniform(lo_t, hi_t, 2))
        explorer.brush.brushing = True
        explorer.brush.selected = times.to_datetime([a, b]).astype("datetime64[ms]")
        stamp.clear()
        t0 = time.perf_counter()
        explorer.brush.brushing = False
        t1 = time.perf_counter()
        to_summary.append(stamp.get("t", np.nan) - t0)
        full.append(t1 - t0)
    return {
        "summary_ms": 1e3 * float(np.nanmedian(to_summary)),
        "full_ms": 1e3 * float(np.median(full)),
        "n_selected_last": int(explorer.model.n_selected),
    }


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--synthetic", action="store_true")
    parser.add_argument(
        "--naive-max", type=int, default=1_000_000, help="skip the naive baseline above this many frames"
    )
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)

    from dkist_widgets.core.header_table import key_catalogue
    from dkist_widgets.core.model import DatasetModel
    from dkist_widgets.panels.header_explorer import DEFAULT_TABLE_KEYS

    key_catalogue()  # loaded once per process (~0.5 s); not part of a build
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-hx-") as tmp:
        for n in args.sizes:
            t = time.perf_counter()
            ds = _load(n, args.synthetic, Path(tmp))
            model = DatasetModel(ds, refresh_local=False)
            load_s = time.perf_counter() - t
            print(f"{n}: dataset ready in {load_s:.1f} s", flush=True)
            explorer, ours = bench_explorer(model)
            print(f"  explorer {ours}", flush=True)
            brush = bench_brush(explorer)
            print(f"  brush {brush}", flush=True)
            keys = [k for k in DEFAULT_TABLE_KEYS if k in model.headers.colnames]
            del explorer
            gc.collect()
            naive = None
            if n <= args.naive_max:
                try:
                    naive = bench_naive(model, keys)
                    print(f"  naive {naive}", flush=True)
                except MemoryError as error:
                    naive = {"error": f"MemoryError {error}"}
            rows.append(
                {
                    "n": n,
                    "load_s": load_s,
                    "ours": ours,
                    "brush": brush,
                    "naive": naive,
                    "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3,
                    "n_columns": len(model.headers.colnames),
                }
            )
            del model, ds
            gc.collect()
    report = _report(rows, args)
    print(report)
    if not args.no_write:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(report)


def _mb(n):
    return f"{n / 1e6:.2f} MB"


def _report(rows, args) -> str:
    lines = [
        "# Header explorer at scale",
        "",
        f"Run: `{' '.join(['benchmarks/bench_header_explorer.py'] + sys.argv[1:])}` on "
        f"{os.cpu_count()} cores (shared), {time.strftime('%Y-%m-%d')}. Dataset: "
        + (
            "in-memory synthetic headers (`tests/helpers/header_samples.py`)"
            if args.synthetic
            else "sandbox headers-only VISP ASDF loaded with `dkist.load_dataset`"
        )
        + ".",
        "Kernel-side numbers (build = constructing the widgets; serialise = every widget's comm state, "
        "as sent on display; bytes = JSON + binary buffers; the table's state includes its first 60-row window).",
        "Naive = `DataGrid` of the whole table (same columns as the explorer's table) + bqplot `Scatter` "
        "of every frame's ATMOS_R0 vs DATE-AVG.",
        "",
        "| frames | explorer build+serialise | explorer bytes | naive build+serialise | naive bytes | bytes ratio (naive/ours) | brush→summary (median) | brush full handler (median) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        ours, naive, brush = r["ours"], r["naive"], r["brush"]
        if naive is None:
            naive_t = naive_b = ratio = "skipped"
        elif "error" in naive:
            naive_t = naive_b = ratio = naive["error"]
        else:
            naive_t = f"{naive['build_serialise_s']:.2f} s"
            naive_b = _mb(naive["bytes"])
            ratio = f"{naive['bytes'] / ours['bytes']:.0f}x"
        lines.append(
            f"| {r['n']:,} | {ours['build_serialise_s']:.2f} s | {_mb(ours['bytes'])} | {naive_t} | {naive_b} | "
            f"{ratio} | {brush['summary_ms']:.1f} ms | {brush['full_ms']:.1f} ms |"
        )
    lines += ["", "Details:", ""]
    for r in rows:
        lines.append(
            f"- {r['n']:,} frames ({r['n_columns']} header columns): dataset load {r['load_s']:.1f} s; "
            f"explorer build {r['ours']['build_s']:.2f} s, JSON {_mb(r['ours']['json'])}, buffers "
            f"{_mb(r['ours']['buffers'])}, of which the table's first window {_mb(r['ours']['window'])}; "
            f"peak RSS of the process so far {r['maxrss_mb']:.0f} MB."
        )
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
