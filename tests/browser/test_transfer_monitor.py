"""TransferMonitor in a real JupyterLab: click Start in Chromium, watch the bar advance
while the kernel stays free, click Cancel and confirm.

The kernel runs a loopback Globus Transfer API over a small folder laid out as on
the DKIST endpoint (``/data/{proposal}/{dataset}/``) holding random bytes under the
80 file names of dkist's own ``large_visp`` test dataset; the copy rate is slowed so
the bar moves for several seconds. Oracles: the bar's width in the page, the files
on disk (hashes), and Globus's own task document.
"""

from __future__ import annotations

import json
import re
import time

from playwright.sync_api import expect

from .lab import screenshot

SETUP = [
    "import gzip, hashlib, os, pathlib, shutil, tempfile\n"
    "import dkist, dkist.data.test\n"
    "src = pathlib.Path(dkist.data.test.__file__).parent / 'large_visp.asdf.gz'\n"
    "with gzip.open(src) as f, open('large_visp.asdf', 'wb') as g:\n"
    "    shutil.copyfileobj(f, g)\n"
    "ds = dkist.load_dataset('large_visp.asdf')\n"
    "inv = ds.meta['inventory']\n"
    "tmp = pathlib.Path(tempfile.mkdtemp())\n"
    "os.environ['DKIST_WIDGETS_DATA_DIR'] = str(tmp / 'user-data')  # the task store goes here\n"
    "folder = tmp / 'dkist' / 'data' / inv['primaryProposalId'] / inv['datasetId']\n"
    "folder.mkdir(parents=True)\n"
    "for name in ds.files.filenames:\n"
    "    (folder / name).write_bytes(os.urandom(40_000))\n"
    "laptop = tmp / 'laptop'; laptop.mkdir()",
    "from dkist_widgets.sandbox.globus_service import LoopbackGlobus\n"
    "SRC, DST = '5d1c0e2a-0000-4000-8000-0000000000f1', '5d1c0e2a-0000-4000-8000-0000000000f2'\n"
    "svc = LoopbackGlobus({SRC: ('DKIST', tmp / 'dkist', False), DST: ('Laptop', laptop, True)}, rate_bytes_per_s=30_000).start()",
    "from dkist_widgets import DatasetModel\n"
    "from dkist_widgets.core.transfers import TransferSettings\n"
    "from dkist_widgets.panels.transfers import TransferMonitor\n"
    "model = DatasetModel(ds)\n"
    "model.select_frames(list(range(12)))\n"
    "settings = TransferSettings(transfer_url=svc.url, source_endpoint_id=SRC, destination_endpoint_id=DST, destination_local_root=laptop)\n"
    "monitor = TransferMonitor(model, settings=settings, login=None, active_interval=0.5)\n"
    "monitor",
]


def _kernel_json(nb, expression: str):
    out = nb.run_cell(f"import json; print(json.dumps({expression}))")
    assert not out.errors, out.errors
    return json.loads(out.stdout.strip().splitlines()[-1])


def _bar_fraction(row) -> float:
    style = row.locator(".dkw-task-bar .progress-bar").get_attribute("style") or ""
    m = re.search(r"width:\s*([\d.]+)%", style)
    return float(m.group(1)) / 100 if m else 0.0


def test_start_watch_and_cancel_in_chromium(open_notebook, page):
    nb = open_notebook("transfer_monitor.ipynb", SETUP, wait_for=".dkw-transfer-monitor")
    nb.assert_no_problems()
    start = nb.widget(".dkw-start-selection")
    expect(start).to_contain_text("12 files")
    start.click()

    row = nb.widget(".dkw-task-row").first
    row.wait_for(state="visible", timeout=20_000)
    expect(row.locator(".dkw-task-status")).to_contain_text("copying", timeout=20_000)

    # the bar advances while the kernel runs other cells
    samples = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and len({round(s, 3) for s in samples if s > 0}) < 3:
        samples.append(_bar_fraction(row))
        time.sleep(0.7)
    distinct = sorted({round(s, 3) for s in samples if s > 0})
    assert len(distinct) >= 3 and distinct[-1] < 1.0, samples
    busy = nb.run_cell("import time; t0 = time.time(); time.sleep(1.5); print(round(time.time() - t0, 1))")
    assert busy.stdout.strip() == "1.5"
    after_busy = _bar_fraction(row)
    assert after_busy > distinct[-1], (after_busy, distinct)
    screenshot(page, "transfer_monitor_running", locator=nb.widget(".dkw-transfer-monitor").first)

    # cancel asks first
    row.get_by_role("button", name="Cancel").click()
    confirm = row.get_by_role("button", name="Yes, cancel it")
    expect(confirm).to_be_visible()
    confirm.click()
    expect(row.locator(".dkw-task-status")).to_have_text("cancelled", timeout=20_000)
    expect(row.get_by_role("button", name="Cancel")).to_be_hidden()
    shot = screenshot(page, "transfer_monitor_cancelled", locator=nb.widget(".dkw-transfer-monitor").first)
    assert shot.exists()

    state = _kernel_json(
        nb,
        "(lambda tid: {'doc': monitor.session.client.get_task(tid).data, "
        "'local': sorted(p.name for p in laptop.rglob('*') if p.is_file()), "
        "'ok': all(hashlib.sha256(p.read_bytes()).digest() == hashlib.sha256((folder / p.name).read_bytes()).digest() "
        "for p in laptop.rglob('*') if p.is_file()), "
        "'n_local': int(model.n_local_files)})(monitor.watcher.tasks()[0].task_id)",
    )
    assert state["doc"]["status"] == "FAILED" and state["doc"]["fatal_error"]["code"] == "CANCELED"
    landed = state["local"]
    assert 0 < len(landed) < 12 and all(name.endswith(".fits") for name in landed)  # no partial temporaries
    assert state["ok"]  # every file present is whole
    assert state["n_local"] == len(landed)  # the model saw them land
    nb.run_cell("monitor.close(); svc.stop()")
    nb.assert_no_problems()
