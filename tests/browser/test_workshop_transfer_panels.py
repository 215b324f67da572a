"""Slice builder, file map, login and transfer monitor in a real JupyterLab, used as a
workshop attendee uses them (issue 14: items 5, 6, 7, 9 and the copy button).

One notebook: dkist's own 80-file VISP dataset, a loopback Globus (protected by the
loopback Globus Auth) whose DKIST endpoint holds files of varied sizes under the
dataset's file names, and the panels around one model. The gestures:

* 14.6: press **Selected frames** before logging in (red "Log in to Globus first"),
  then log in through the panel (open the link elsewhere, paste the code): the red
  message is gone.
* 14.7: a cell calls ``model.set_slice(...)``: the builder's controls, its file count
  and the file map show that slice (oracle: ``len(ds[...].files)``).
* Copy: press the builder's Copy button; the clipboard holds the code, and that code
  run in the kernel gives dkist's file count.
* 14.5: the bytes the builder and the start button show before the transfer are the
  bytes the task row reports after it, Globus's ``bytes_transferred`` and the files
  on disk.
* 14.9: every text of the panels measured for contrast (computed styles; canvas
  pixels for the file map), in JupyterLab's light and dark themes, with screenshots.
"""

from __future__ import annotations

import json
import re

from playwright.sync_api import expect

from .lab import screenshot, sign_in_through_panel

SETUP = [
    "import gzip, os, pathlib, shutil, tempfile\n"
    "import dkist, dkist.data.test\n"
    "src = pathlib.Path(dkist.data.test.__file__).parent / 'large_visp.asdf.gz'\n"
    "with gzip.open(src) as f, open('large_visp.asdf', 'wb') as g:\n"
    "    shutil.copyfileobj(f, g)\n"
    "ds = dkist.load_dataset('large_visp.asdf')\n"
    "inv = ds.meta['inventory']\n"
    "tmp = pathlib.Path(tempfile.mkdtemp())\n"
    "os.environ['DKIST_WIDGETS_DATA_DIR'] = str(tmp / 'user-data')\n"
    "folder = tmp / 'dkist' / 'data' / inv['primaryProposalId'] / inv['datasetId']\n"
    "folder.mkdir(parents=True)\n"
    "for i, name in enumerate(ds.files.filenames):  # FITS sizes differ: headers, compression\n"
    "    (folder / name).write_bytes(os.urandom(2880 * 10 + 613 * i))\n"
    "inv['datasetSize'] = sum(p.stat().st_size for p in folder.iterdir()) / 2**30  # GiB, as the data centre says\n"
    "inv['frameCount'] = len(ds.files)\n"
    "laptop = tmp / 'laptop'; laptop.mkdir()",
    "from dkist_widgets.sandbox.globus_service import LoopbackGlobus\n"
    "from dkist_widgets.sandbox.globus_auth_service import LoopbackGlobusAuth\n"
    "SRC, DST = '5d1c0e2a-0000-4000-8000-0000000000a1', '5d1c0e2a-0000-4000-8000-0000000000a2'\n"
    "auth = LoopbackGlobusAuth(access_token_lifetime=3600).start()\n"
    "svc = LoopbackGlobus({SRC: ('DKIST', tmp / 'dkist', False), DST: ('Laptop', laptop, True)}, rate_bytes_per_s=400_000).start()\n"
    "auth.protect(svc)",
    "from dkist_widgets import DatasetModel, SliceBuilder, FileMap\n"
    "from dkist_widgets.core.globus_auth import GlobusLogin\n"
    "from dkist_widgets.core.transfers import TransferSettings\n"
    "from dkist_widgets.panels.overview import DatasetOverview\n"
    "from dkist_widgets.panels.transfers import TransferMonitor\n"
    "model = DatasetModel(ds)\n"
    "login = GlobusLogin(auth_url=auth.url, token_path=tmp / 'tokens.json', reuse_dkist_cache=False)\n"
    "settings = TransferSettings(transfer_url=svc.url, source_endpoint_id=SRC, destination_endpoint_id=DST, destination_local_root=laptop)\n"
    "DatasetOverview(model)",
    "builder = SliceBuilder(model)\nbuilder",
    "fmap = FileMap(model)\nfmap",
    "monitor = TransferMonitor(model, settings=settings, login=login, active_interval=0.3, refresh_interval=0.3)\n"
    "monitor",
]

PANELS = {
    "overview": ".dkw-overview-panel",
    "slice builder": ".dkw-slice-builder",
    "file map": ".dkw-filemap",
    "login": ".dkw-login",
    "transfer monitor": ".dkw-transfer-monitor",
}

# Every visible text node under the roots: its colour (alpha x the opacity of every
# ancestor) over the background it sits on (ancestors' backgrounds composited down
# to the page), WCAG 2 relative-luminance contrast. Disabled controls are exempt
# (WCAG 1.4.3 "inactive user interface components").
_TEXT_CONTRAST = r"""
(roots) => {
  const parse = (c) => {
    const m = /rgba?\(([^)]+)\)/.exec(c || "");
    if (!m) return null;
    const p = m[1].split(/[\s,\/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  };
  const over = (fg, bg) => [0, 1, 2].map((i) => fg[i] * fg[3] + bg[i] * (1 - fg[3])).concat([1]);
  const lum = (c) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]);
  };
  const ratio = (a, b) => { const x = lum(a), y = lum(b); return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05); };
  const pageBg = () => {
    for (const e of [document.body, document.documentElement]) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c && c[3] > 0) return over(c, [255, 255, 255, 1]);
    }
    return [255, 255, 255, 1];
  };
  const background = (el) => {
    const layers = [];
    for (let e = el; e && e.nodeType === 1; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c && c[3] > 0) { layers.push(c); if (c[3] >= 1) break; }
    }
    let base = layers.length && layers[layers.length - 1][3] >= 1 ? layers.pop() : pageBg();
    for (let i = layers.length - 1; i >= 0; i--) base = over(layers[i], base);
    return base;
  };
  const opacity = (el) => {
    let o = 1;
    for (let e = el; e && e.nodeType === 1; e = e.parentElement) o *= parseFloat(getComputedStyle(e).opacity);
    return o;
  };
  const out = [];
  const measure = (panel, el, text) => {
    const cs = getComputedStyle(el);
    if (cs.visibility !== "visible" || !el.getClientRects().length) return;
    if (el.closest(":disabled, [disabled], .mod-disabled")) return;
    const fg = parse(cs.color);
    fg[3] *= opacity(el);
    const bg = background(el);
    out.push({ panel, text: text.slice(0, 50), ratio: ratio(over(fg, bg), bg), color: cs.color,
               bg: "rgb(" + bg.slice(0, 3).map(Math.round).join(",") + ")", cls: String(el.className) });
  };
  for (const [panel, selector] of Object.entries(roots)) {
    for (const root of document.querySelectorAll(selector)) {
      const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
      let node;
      while ((node = walker.nextNode())) {
        const text = node.textContent.trim();
        const el = node.parentElement;
        if (!text || !el || el.closest("style, script")) continue;
        measure(panel, el, text);
      }
      for (const input of root.querySelectorAll("input[type=text], input[type=number], textarea, select")) {
        if (input.value) measure(panel, input, input.value);
      }
    }
  }
  return out;
}
"""

# The file map's canvas text (row labels left of the grid, the axis caption under
# it): the strongest glyph pixel against the page behind the transparent canvas.
_CANVAS_CONTRAST = r"""
({selector, left, bottom}) => {
  const canvas = document.querySelector(selector);
  const ctx = canvas.getContext("2d");
  const parse = (c) => { const p = /rgba?\(([^)]+)\)/.exec(c)[1].split(/[\s,\/]+/).map(Number); return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1]; };
  const lum = (c) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]);
  };
  const ratio = (a, b) => { const x = lum(a), y = lum(b); return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05); };
  let bg = null;
  for (let e = canvas; e && e.nodeType === 1; e = e.parentElement) {
    const c = parse(getComputedStyle(e).backgroundColor);
    if (c[3] >= 1) { bg = c; break; }
  }
  bg = bg || parse(getComputedStyle(document.body).backgroundColor);
  const best = (x, y, w, h) => {
    const d = ctx.getImageData(x, y, w, h).data;
    let top = 1;
    for (let i = 0; i < d.length; i += 4) {
      const a = d[i + 3] / 255;
      if (a === 0) continue;
      const px = [0, 1, 2].map((k) => d[i + k] * a + bg[k] * (1 - a));
      top = Math.max(top, ratio(px, bg));
    }
    return top;
  };
  return {
    rowLabels: best(0, 0, left - 2, canvas.height - bottom),
    caption: best(left, canvas.height - bottom, canvas.width - left, bottom),
    background: bg,
  };
}
"""


def _kernel_json(nb, expression: str):
    out = nb.run_cell(f"import json; print(json.dumps({expression}))")
    assert not out.errors, out.errors
    return json.loads(out.stdout.strip().splitlines()[-1])


def _set_theme(page, name: str, light: bool) -> None:
    page.evaluate(
        "async (theme) => { await window.jupyterapp.commands.execute('apputils:change-theme', {theme}); }", name
    )
    page.wait_for_function(f"() => document.body.dataset.jpThemeLight === '{str(light).lower()}'", timeout=30_000)
    page.wait_for_timeout(800)  # the theme's stylesheet applied and the canvas repainted


def _contrast_failures(page, nb, theme: str) -> list[str]:
    results = page.evaluate(_TEXT_CONTRAST, PANELS)
    seen = {r["panel"] for r in results}
    assert seen == set(PANELS), f"{theme}: panels without text measured: {set(PANELS) - seen}"
    failures = [
        f"{theme} {r['panel']}: {r['text']!r} {r['ratio']:.2f}:1 ({r['color']} on {r['bg']}, class {r['cls']!r})"
        for r in results
        if r["ratio"] < 4.5
    ]
    canvas = page.evaluate(
        _CANVAS_CONTRAST, {"selector": f"#{nb.panel_id} [data-testid=filemap-canvas]", "left": 44, "bottom": 18}
    )
    for part in ("rowLabels", "caption"):
        if canvas[part] < 4.5:
            failures.append(f"{theme} file map canvas {part}: {canvas[part]:.2f}:1 on {canvas['background']}")
    return failures


def test_workshop_gestures_on_slice_builder_login_and_transfers(open_notebook, page, lab_server):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=lab_server.url)
    nb = open_notebook("workshop_transfer_panels.ipynb", SETUP, wait_for=".dkw-transfer-monitor")
    nb.assert_no_problems()
    _set_theme(page, "JupyterLab Light", True)
    monitor = nb.widget(".dkw-transfer-monitor")

    # -- 14.6: press Start before logging in -> red; log in -> the red message is gone
    _kernel_json(nb, "model.select_frames(list(range(0, 80, 5))) is not None")
    start = monitor.locator(".dkw-start-selection")
    expect(start).to_contain_text("16 files")
    start.click()
    message = monitor.locator(".dkw-transfer-message")
    expect(message).to_have_text(re.compile("Log in to Globus first"))
    expect(message).to_have_class(re.compile("dkw-error"))
    screenshot(page, "transfer_monitor_log_in_first_light", locator=monitor)
    sign_in_through_panel(nb.widget(".dkw-login"))
    expect(monitor.locator(".dkw-transfer-message")).to_have_count(0)
    assert "Log in to Globus first" not in monitor.inner_text()

    # -- 14.7: set_slice in a cell; the builder shows it, as dkist and the file map do
    item = "(slice(1, 3), slice(2, 7))"
    n_dkist = _kernel_json(nb, f"[model.set_slice({item}) is not None, len(ds[{item}].files)]")[1]
    builder = nb.widget(".dkw-slice-builder")
    expect(builder.locator("[data-testid=slice-files]")).to_have_text(str(n_dkist))
    expect(builder.locator("[data-testid=slice-applied]")).to_have_text("working slice")
    stokes = builder.locator(".dkw-slice-axis").nth(0)
    expect(stokes.locator(".widget-toggle-button.mod-active")).to_have_text("range")
    expect(stokes.locator(".dkw-axis-range .widget-readout")).to_have_text(re.compile(r"1\s*[-–]\s*2"))
    in_slice = _kernel_json(nb, "int(((__import__('numpy').frombuffer(fmap.states, 'u1') & 1) > 0).sum())")
    assert in_slice == n_dkist

    # -- copy button: the clipboard holds the code, and the code gives dkist's count
    code = builder.locator("[data-testid=slice-code]")
    expect(code).to_have_text("ds[1:3, 2:7]")
    builder.locator(".dkw-copy-button").click()
    expect(builder.locator(".dkw-copy-button")).to_have_text("Copied")
    copied = page.evaluate("() => navigator.clipboard.readText()")
    assert copied == "ds[1:3, 2:7]"
    assert _kernel_json(nb, f"[len(({copied}).files), builder.code.copies]") == [n_dkist, 1]

    # -- 14.5: bytes before == bytes after == Globus's count == files on disk
    bytes_before = builder.locator("[data-testid=slice-bytes]")
    expect(bytes_before).not_to_contain_text("≈", timeout=20_000)  # the listing made after the login is exact
    shown = bytes_before.inner_text().removesuffix(" to download")
    subset = monitor.locator(".dkw-start-subset")
    expect(subset).to_have_text(f"Working subset ({n_dkist} files, {shown})")
    screenshot(page, "slice_builder_bytes_before_light", locator=builder)
    subset.click()
    row = monitor.locator(".dkw-task-row").first
    expect(row.locator(".dkw-task-status")).to_have_attribute("data-status", "SUCCEEDED", timeout=60_000)
    after = row.locator(".dkw-task-info").inner_text()
    assert after.startswith(f"{n_dkist}/{n_dkist} files, {shown} of {shown}"), (after, shown)
    oracle = _kernel_json(
        nb,
        "[sum(p.stat().st_size for p in (laptop / 'dkist' / inv['primaryProposalId'] / inv['datasetId']).glob('*.fits')),"
        " monitor.session.client.get_task(monitor.completed[-1])['bytes_transferred'],"
        " sum((folder / n).stat().st_size for n in ds[" + item + "].files.filenames),"
        " __import__('dkist_widgets.core.formatting', fromlist=['x']).human_bytes(model.working_preview.download_bytes.total)]",
    )
    on_disk, moved, on_endpoint, human = oracle
    assert on_disk == moved == on_endpoint and human == shown

    # -- 14.9: contrast of every text, light then dark; screenshots of both
    monitor.locator(".dkw-template input").fill("../{dataset_id}")  # a red path error, as a typo gives
    expect(monitor.locator(".dkw-path-error")).to_be_visible()
    failures = []
    for theme, light in (("JupyterLab Light", True), ("JupyterLab Dark", False)):
        _set_theme(page, theme, light)
        tag = "light" if light else "dark"
        for name, selector in PANELS.items():
            screenshot(page, f"workshop_{name.replace(' ', '_')}_{tag}", locator=nb.widget(selector).first)
        failures += _contrast_failures(page, nb, tag)
    _set_theme(page, "JupyterLab Light", True)
    assert not failures, "\n".join(failures)
