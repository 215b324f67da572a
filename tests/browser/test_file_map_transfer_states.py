"""The file map lights transferring and failed files, in a real JupyterLab (issue 13).

The kernel runs a loopback Globus Transfer API (throttled) over random bytes under
the 80 file names of dkist's ``large_visp`` test dataset, configured only through
the environment variables a real user sets (no sandbox object, no settings passed
to the monitor; ``DKIST_WIDGETS_GLOBUS_LOGIN=none`` because this Transfer API has no
Globus Auth). A click in Chromium starts the transfer of 12 selected frames; the
canvas must paint every file the task is still moving in the "transferring" colour;
then the loopback Globus fails the task on demand and the canvas must paint every
file that did not land in the "failed" colour.

Oracles: the files on disk (which frames landed), the loopback's own task
document, and the pixels of the canvas at each file's cell compared with the
colours the kernel's legend trait names (core/file_states.py).
"""

from __future__ import annotations

import json
import time

from playwright.sync_api import expect

from .lab import screenshot

SETUP = [
    "import gzip, os, pathlib, shutil, tempfile\n"
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
    "    (folder / name).write_bytes(os.urandom(30_000))\n"
    "laptop = tmp / 'laptop'; laptop.mkdir()",
    "from dkist_widgets.sandbox.globus_service import LoopbackGlobus\n"
    "SRC, DST = '5d1c0e2a-0000-4000-8000-0000000000e1', '5d1c0e2a-0000-4000-8000-0000000000e2'\n"
    "svc = LoopbackGlobus({SRC: ('DKIST', tmp / 'dkist', False), DST: ('Laptop', laptop, True)}, rate_bytes_per_s=40_000).start()\n"
    "# what a user sets to point the panels at a Transfer service (no Globus Auth here)\n"
    "os.environ.update({'GLOBUS_SDK_SERVICE_URL_TRANSFER': svc.url, 'DKIST_WIDGETS_GLOBUS_SOURCE': SRC,\n"
    "                   'DKIST_WIDGETS_GLOBUS_DESTINATION': DST, 'DKIST_WIDGETS_GLOBUS_DESTINATION_ROOT': str(laptop),\n"
    "                   'DKIST_WIDGETS_GLOBUS_LOGIN': 'none'})",
    "import numpy as np\n"
    "from dkist_widgets import DatasetModel, FileMap\n"
    "from dkist_widgets.panels.transfers import TransferMonitor\n"
    "model = DatasetModel(ds)\n"
    "model.select_frames(list(range(12)))\n"
    "monitor = TransferMonitor(model, active_interval=0.3, refresh_interval=0.3)\n"
    "monitor",
    "fmap = FileMap(model)\nfmap",
]

# frames on disk under the destination (the oracle for what landed)
LANDED = "sorted(int(model.frames_for_files([p.name])[0]) for p in laptop.rglob('*.fits'))"

PIXELS = """(canvas, arg) => {
  const ctx = canvas.getContext('2d');
  const left = 44, bottom = 18;  // js/src/widgets/file_map.ts LEFT, BOTTOM
  const cw = (canvas.width - left) / arg.cols, ch = (canvas.height - bottom) / arg.rows;
  return arg.frames.map((f) => {
    const r = Math.floor(f / arg.cols), c = f % arg.cols;
    const d = ctx.getImageData(Math.floor(left + (c + 0.5) * cw), Math.floor((r + 0.5) * ch), 1, 1).data;
    return [d[0], d[1], d[2]];
  });
}"""


def _kernel_json(nb, expression: str):
    out = nb.run_cell(f"import json; print(json.dumps({expression}))")
    assert not out.errors, out.errors
    return json.loads(out.stdout.strip().splitlines()[-1])


def _rgb(hex_colour: str) -> list[int]:
    v = int(hex_colour[1:], 16)
    return [(v >> 16) & 255, (v >> 8) & 255, v & 255]


def _wait_kernel(nb, expression: str, predicate, timeout: float = 40.0):
    end = time.monotonic() + timeout
    while True:
        value = _kernel_json(nb, expression)
        if predicate(value) or time.monotonic() > end:
            return value
        time.sleep(0.5)


def test_file_map_lights_transferring_then_failed_files(open_notebook, page):
    nb = open_notebook("file_map_transfer_states.ipynb", SETUP, wait_for="[data-testid=filemap-canvas]")
    nb.assert_no_problems()
    rows, cols = _kernel_json(nb, "fmap.grid_shape")
    colour = {s["name"]: _rgb(s["colour"]) for s in _kernel_json(nb, "fmap.legend")["states"]}
    assert _kernel_json(nb, "monitor.login is None and monitor.settings.login_required is False") is True
    canvas = nb.widget("[data-testid=filemap-canvas]")

    def pixels(frames):
        canvas.scroll_into_view_if_needed()
        return canvas.evaluate(PIXELS, {"frames": frames, "rows": rows, "cols": cols})

    start = nb.widget(".dkw-start-selection")
    expect(start).to_contain_text("12 files")
    start.click()

    # -- while the task copies: wait until some files landed, then hold the copy still
    _wait_kernel(nb, LANDED, lambda landed: len(landed) >= 2)
    nb.run_cell("svc.set_rate(1)  # hold the transfer where it is")
    landed = _kernel_json(nb, LANDED)
    assert 2 <= len(landed) < 12
    state = _wait_kernel(
        nb,
        "{'moving': model.transferring_frames.tolist(), 'local': np.flatnonzero(model.local_files).tolist()}",
        lambda s: s["local"] == landed and s["moving"] == [f for f in range(12) if f not in landed],
    )
    moving = [f for f in range(12) if f not in landed]
    assert state == {"moving": moving, "local": landed}, state  # the kernel agrees with the disk
    legend = nb.widget("[data-testid=filemap-legend]")
    expect(legend.locator("[data-state=transferring]")).to_have_text(f"transferring: {len(moving)}", timeout=20_000)
    assert pixels(moving) == [colour["transferring"]] * len(moving)
    assert pixels(landed) == [colour["selected"]] * len(landed)  # selected outranks on disk
    assert pixels(list(range(12, 16))) == [colour["in_slice"]] * 4  # not part of the task
    screenshot(page, "file_map_transferring", locator=nb.widget(".dkw-filemap"))

    # -- Globus fails the task: every file that did not land is failed
    task_id = _kernel_json(nb, "monitor.watcher.tasks()[0].task_id")
    nb.run_cell(f"svc.faults.task_failed({task_id!r}, code='PERMISSION_DENIED', description='denied on purpose')")
    expect(nb.widget(".dkw-task-status")).to_contain_text("failed: denied on purpose", timeout=20_000)
    doc = _kernel_json(nb, f"svc.engine.task_doc({task_id!r})")
    assert doc["status"] == "FAILED" and doc["fatal_error"]["code"] == "PERMISSION_DENIED"
    landed_now = _kernel_json(nb, LANDED)
    failed = [f for f in range(12) if f not in landed_now]
    assert failed and landed_now[: len(landed)] == landed
    expect(legend.locator("[data-state=failed]")).to_have_text(f"failed: {len(failed)}", timeout=20_000)
    expect(legend.locator("[data-state=transferring]")).to_have_text("transferring: 0")
    assert _kernel_json(nb, "model.failed_frames.tolist()") == failed
    states = _kernel_json(nb, "list(fmap.states)")
    failed_bit = _kernel_json(nb, "[s['bit'] for s in fmap.legend['states'] if s['name'] == 'failed'][0]")
    assert [i for i, b in enumerate(states) if b & failed_bit] == failed  # the widget's bytes
    assert pixels(failed) == [colour["failed"]] * len(failed)
    assert pixels(landed_now) == [colour["selected"]] * len(landed_now)
    screenshot(page, "file_map_failed", locator=nb.widget(".dkw-filemap"))
    shot = screenshot(page, "transfer_monitor_failed", locator=nb.widget(".dkw-transfer-monitor").first)
    assert shot.exists()
    nb.run_cell("monitor.close(); svc.stop()")
    nb.assert_no_problems()
