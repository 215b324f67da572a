"""Benchmark: headers-only VISP dataset generation at 4k / 100k / 1M frames.

Baseline (same run): the simulator's per-frame path,
``SimpleVISPDataset(...).generate_headers()``, timed on a small number of frames
and expressed per frame; the ratio is (baseline per frame x n) / measured time.
The vectorised path is ``make_headers_only_dataset`` (header table + ASDF written by
dkist-inventory's parser/gWCS/inventory), timed end to end; for sizes up to
100k the ASDF is also loaded back with ``dkist.load_dataset`` and its frame count
checked.

Run:  PYTHONPATH=. .venv/bin/python benchmarks/bench_headers_only.py [sizes...]
      (default sizes 4000 100000 1000000; writes benchmarks/results/headers_only.md)
"""

from __future__ import annotations

import datetime
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
BASELINE_FRAMES = 40


def baseline_seconds_per_frame(n_frames: int = BASELINE_FRAMES) -> float:
    import astropy.units as u
    from dkist_data_simulator.spec214.visp import SimpleVISPDataset

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sim = SimpleVISPDataset(
            n_maps=1,
            n_steps=n_frames // 4,
            n_stokes=4,
            time_delta=3.2,
            linewave=396.847 * u.nm,
            detector_shape=(976, 2555),
        )
        sim.header()  # first call pays one-off setup; not counted
        sim.reset()
        started = time.perf_counter()
        headers = sim.generate_headers()
        elapsed = time.perf_counter() - started
    assert len(headers) == n_frames
    return elapsed / n_frames


def one_size(n_frames: int, workdir: Path) -> dict:
    """Generate (and for <= 100k load) one dataset in a fresh subprocess."""
    code = f"""
import time, warnings, resource, json
warnings.simplefilter("ignore")
import dkist, dkist_inventory.asdf_generator, dkist_data_simulator.spec214.visp  # imports not timed
from dkist_widgets.sandbox.headers_only import make_headers_only_dataset
t = time.perf_counter()
path = make_headers_only_dataset({str(workdir)!r}, n_steps={n_frames // 4}, seed=1, dataset_id="BENCH")
gen = time.perf_counter() - t
out = {{"generate_s": gen, "asdf_mb": path.stat().st_size / 1e6}}
if {n_frames} <= 100_000:
    t = time.perf_counter()
    ds = dkist.load_dataset(path)
    out["load_s"] = time.perf_counter() - t
    assert len(ds.files) == {n_frames} and len(ds.headers) == {n_frames}
    out["columns"] = len(ds.headers.colnames)
out["max_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
print("RESULT", json.dumps(out))
"""
    env = dict(os.environ, PYTHONPATH=str(HERE.parent))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
    if proc.returncode or not line:
        raise RuntimeError(proc.stderr[-3000:])
    import json

    return json.loads(line[0][len("RESULT ") :])


def main(sizes: list[int]) -> None:
    per_frame = baseline_seconds_per_frame()
    print(f"baseline: simulator per-frame headers {per_frame * 1e3:.1f} ms/frame")
    rows = []
    for n in sizes:
        workdir = Path(tempfile.mkdtemp(prefix=f"bench-ho-{n}-"))
        try:
            result = one_size(n, workdir)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        ratio = per_frame * n / result["generate_s"]
        rows.append((n, result, ratio))
        print(n, result, f"speed-up x{ratio:.0f}")

    lines = [
        "# Headers-only dataset generation",
        "",
        f"Measured {datetime.date.today().isoformat()} on {platform.machine()}, "
        f"{os.cpu_count()} cores (shared with other work), Python {platform.python_version()}.",
        "",
        f"Baseline in the same run: `SimpleVISPDataset.generate_headers()` on {BASELINE_FRAMES} frames "
        f"= **{per_frame * 1e3:.1f} ms per frame** (headers only, no ASDF).",
        "",
        "| frames | generate (s) | baseline estimate (s) | speed-up | ASDF (MB) | load with dkist (s) | peak RSS (GB) |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n, r, ratio in rows:
        load = f"{r['load_s']:.1f}" if "load_s" in r else "not timed"
        lines.append(
            f"| {n:,} | {r['generate_s']:.1f} | {per_frame * n:,.0f} | x{ratio:,.0f} | "
            f"{r['asdf_mb']:.1f} | {load} | {r['max_rss_gb']:.1f} |"
        )
    lines += [
        "",
        "Generate = header table (numpy columns) + dkist-inventory header parser, gWCS, inventory",
        "+ ASDF write (zlib), end to end, imports excluded. Datasets above 20,000 frames keep the",
        "~120 keys of `headers_only.ESSENTIAL_KEYS`; smaller ones the full ~320-key header.",
        "Target: 1M frames in under 2 minutes on this machine.",
    ]
    out = HERE / "results" / "headers_only.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [4000, 100_000, 1_000_000])
