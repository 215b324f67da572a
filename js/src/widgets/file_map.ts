// FileMap: every FITS file of a dataset as one cell of a canvas grid
// (e.g. Stokes state x raster step), coloured by its state. States arrive as a
// binary buffer, one byte per file; when files outnumber pixels, files fold into
// blocks that show the most urgent state inside them. Hover asks the kernel for
// the file's name and header summary; dragging a rectangle selects frames.
// Text on the canvas (row labels, axis caption) takes the theme's text colour and
// is repainted when JupyterLab's theme changes, so it reads in light and dark.
import type { RenderContext } from "../lib/anywidget";
import { el } from "../lib/dom";
import {
  blockRectToFiles,
  blockStates,
  colourOf,
  countStates,
  hexToRgb,
  layout,
  type Layout,
  type Legend,
  legendOf,
} from "../lib/filemap_layout";

const MAX_WIDTH = 860;
const MAX_HEIGHT = 320;
const MAX_CELL = 28;
const LEFT = 44; // room for row labels
const BOTTOM = 18;

const STYLE = `
.dkw-filemap { font-family: var(--jp-ui-font-family, sans-serif); font-size: 12px;
  color: var(--jp-ui-font-color1, #222); position: relative; user-select: none; }
.dkw-filemap .legend { display: flex; flex-wrap: wrap; gap: 12px; margin: 4px 0; }
.dkw-filemap .swatch { display: inline-block; width: 10px; height: 10px; margin-right: 4px;
  vertical-align: middle; border: 1px solid var(--jp-border-color1, #757575); }
.dkw-filemap canvas { cursor: crosshair; display: block; }
.dkw-filemap .tip { background: var(--jp-layout-color2, #f3f3f3); margin-top: 4px;
  border: 1px solid var(--jp-border-color2, #ddd); padding: 4px 6px; border-radius: 3px;
  white-space: pre; font-family: var(--jp-code-font-family, monospace); font-size: 11px;
  min-height: 6.2em; max-width: 860px; overflow: hidden; }
.dkw-filemap .hint { color: var(--jp-ui-font-color1, #222); opacity: 0.85; }
`;

function toBytes(value: unknown): Uint8Array {
  if (value instanceof DataView) {
    return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  }
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (ArrayBuffer.isView(value)) {
    const v = value as ArrayBufferView;
    return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  }
  return new Uint8Array(0);
}

function render({ model, el: root }: RenderContext): () => void {
  const title = el("div", { class: "title" });
  const legend = el("div", { class: "legend", "data-testid": "filemap-legend" });
  const canvas = el("canvas", { "data-testid": "filemap-canvas" });
  const tip = el("div", { class: "tip", "data-testid": "filemap-tip" });
  const hint = el("div", { class: "hint" }, [
    "Drag to select frames (Shift adds, Alt removes). Hover for a file's details.",
  ]);
  const wrap = el("div", { class: "dkw-filemap" }, [
    el("style", {}, [STYLE]),
    title,
    legend,
    canvas,
    hint,
    tip,
  ]);
  const TIP_IDLE = "Hover over a file to see its name, time and r0.";
  tip.textContent = TIP_IDLE;
  root.append(wrap);

  const ctx = canvas.getContext("2d")!;
  const blocksCanvas = document.createElement("canvas");
  let lay: Layout = layout(1, 1, MAX_WIDTH, MAX_HEIGHT);
  let cellW = 1;
  let cellH = 1;
  let drag: { start: [number, number]; end: [number, number] } | null = null;
  let hoverKey = "";

  const grid = (): [number, number] => {
    const shape: number[] = model.get("grid_shape") ?? [0, 0];
    return [shape[0] ?? 0, shape[1] ?? 0];
  };

  // bits, colours and labels come from the kernel (dkist_widgets/core/file_states.py)
  const legendSpec = (): Legend | null => legendOf(model.get("legend"));

  const drawLegend = (states: Uint8Array, spec: Legend) => {
    const counts = countStates(states, spec);
    legend.replaceChildren();
    const item = (key: string, colour: string, label: string, n: number) =>
      el("span", { "data-state": key }, [
        el("span", { class: "swatch", style: `background:${colour}` }),
        `${label}: ${n.toLocaleString()}`,
      ]);
    legend.append(item("outside", spec.outside.colour, spec.outside.label, counts.outside));
    for (const s of spec.states) legend.append(item(s.name, s.colour, s.label, counts[s.name]));
  };

  const drawBase = () => {
    const [rows, cols] = grid();
    const states = toBytes(model.get("states"));
    const spec = legendSpec();
    title.textContent = model.get("title") ?? "";
    if (spec === null) {
      legend.replaceChildren();
      canvas.width = 0;
      canvas.height = 0;
      return;
    }
    drawLegend(states, spec);
    if (rows * cols === 0 || states.length !== rows * cols) {
      canvas.width = 0;
      canvas.height = 0;
      return;
    }
    lay = layout(rows, cols, MAX_WIDTH, MAX_HEIGHT);
    cellW = Math.max(1, Math.min(MAX_CELL, Math.floor(MAX_WIDTH / lay.blockCols)));
    cellH = Math.max(1, Math.min(MAX_CELL, Math.floor(MAX_HEIGHT / lay.blockRows)));
    const blocks = blockStates(states, lay);
    blocksCanvas.width = lay.blockCols;
    blocksCanvas.height = lay.blockRows;
    const bctx = blocksCanvas.getContext("2d")!;
    const image = bctx.createImageData(lay.blockCols, lay.blockRows);
    const cache = new Map<number, [number, number, number]>();
    for (let i = 0; i < blocks.length; i++) {
      let rgb = cache.get(blocks[i]);
      if (!rgb) {
        rgb = hexToRgb(colourOf(blocks[i], spec));
        cache.set(blocks[i], rgb);
      }
      image.data[4 * i] = rgb[0];
      image.data[4 * i + 1] = rgb[1];
      image.data[4 * i + 2] = rgb[2];
      image.data[4 * i + 3] = 255;
    }
    bctx.putImageData(image, 0, 0);
    canvas.width = LEFT + lay.blockCols * cellW;
    canvas.height = lay.blockRows * cellH + BOTTOM;
    paint();
  };

  const paint = () => {
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.imageSmoothingEnabled = false;
    const w = lay.blockCols * cellW;
    const h = lay.blockRows * cellH;
    ctx.drawImage(blocksCanvas, LEFT, 0, w, h);
    // thin separators when cells are big enough to read individually
    ctx.strokeStyle = "rgba(255,255,255,0.7)";
    ctx.lineWidth = 1;
    if (cellW >= 5) {
      ctx.beginPath();
      for (let c = 1; c < lay.blockCols; c++) {
        ctx.moveTo(LEFT + c * cellW + 0.5, 0);
        ctx.lineTo(LEFT + c * cellW + 0.5, h);
      }
      ctx.stroke();
    }
    if (cellH >= 5) {
      ctx.beginPath();
      for (let r = 1; r < lay.blockRows; r++) {
        ctx.moveTo(LEFT, r * cellH + 0.5);
        ctx.lineTo(LEFT + w, r * cellH + 0.5);
      }
      ctx.stroke();
    }
    // labels (canvas text: never parsed as HTML)
    const textColour = getComputedStyle(wrap).color || "#222";
    ctx.fillStyle = textColour;
    ctx.font = "600 12px sans-serif";
    ctx.textBaseline = "middle";
    const rowLabels: string[] = model.get("row_labels") ?? [];
    if (cellH >= 10 && lay.rowStep === 1) {
      for (let r = 0; r < lay.blockRows; r++) {
        const label = rowLabels[r] ?? String(r);
        ctx.fillText(label.slice(0, 6), 2, r * cellH + cellH / 2);
      }
    } else {
      ctx.fillText(`${lay.rows}`, 2, h / 2);
    }
    ctx.textBaseline = "alphabetic";
    const colAxis: string = model.get("col_axis") ?? "";
    const rowAxis: string = model.get("row_axis") ?? "";
    ctx.fillText(`${colAxis} → (${lay.cols.toLocaleString()})   rows: ${rowAxis}`, LEFT, h + 13);
    if (drag) {
      const [r0, r1] = [Math.min(drag.start[0], drag.end[0]), Math.max(drag.start[0], drag.end[0])];
      const [c0, c1] = [Math.min(drag.start[1], drag.end[1]), Math.max(drag.start[1], drag.end[1])];
      ctx.strokeStyle = textColour;
      ctx.setLineDash([4, 3]);
      ctx.strokeRect(LEFT + c0 * cellW + 0.5, r0 * cellH + 0.5, (c1 - c0 + 1) * cellW - 1, (r1 - r0 + 1) * cellH - 1);
      ctx.setLineDash([]);
    }
  };

  const blockAt = (event: MouseEvent): [number, number] | null => {
    const rect = canvas.getBoundingClientRect();
    const x = event.clientX - rect.left - LEFT;
    const y = event.clientY - rect.top;
    if (x < 0 || y < 0) return null;
    const bc = Math.floor(x / cellW);
    const br = Math.floor(y / cellH);
    if (br >= lay.blockRows || bc >= lay.blockCols) return null;
    return [br, bc];
  };
  const clampBlock = (event: MouseEvent): [number, number] => {
    const rect = canvas.getBoundingClientRect();
    const bc = Math.floor((event.clientX - rect.left - LEFT) / cellW);
    const br = Math.floor((event.clientY - rect.top) / cellH);
    return [
      Math.max(0, Math.min(lay.blockRows - 1, br)),
      Math.max(0, Math.min(lay.blockCols - 1, bc)),
    ];
  };

  const onDown = (event: MouseEvent) => {
    const b = blockAt(event);
    if (!b) return;
    drag = { start: b, end: b };
    paint();
    event.preventDefault();
  };
  const onMove = (event: MouseEvent) => {
    if (drag) {
      drag.end = clampBlock(event);
      paint();
      return;
    }
    const b = blockAt(event);
    if (!b) return;
    const row = b[0] * lay.rowStep;
    const col = b[1] * lay.colStep;
    const key = `${row},${col}`;
    if (key !== hoverKey) {
      hoverKey = key;
      const span = lay.rowStep * lay.colStep > 1 ? ` (block of ${lay.rowStep}×${lay.colStep} files)` : "";
      tip.textContent = `row ${row}, column ${col}${span}`;
      model.send({ type: "hover", row, col });
    }
  };
  const onUp = (event: MouseEvent) => {
    if (!drag) return;
    drag.end = clampBlock(event);
    const files = blockRectToFiles(lay, drag.start, drag.end);
    const mode = event.shiftKey ? "add" : event.altKey ? "remove" : "replace";
    drag = null;
    paint();
    model.send({ type: "select_rect", rows: files.rows, cols: files.cols, mode });
  };
  const onWindowMove = (event: MouseEvent) => {
    if (drag && event.target !== canvas) onMove(event);
  };
  const onLeave = () => {
    hoverKey = "";
  };
  const onMessage = (msg: any) => {
    if (msg && msg.type === "hover" && `${msg.row},${msg.col}` === hoverKey) {
      tip.textContent = String(msg.text ?? "");
    }
  };

  canvas.addEventListener("mousedown", onDown);
  canvas.addEventListener("mousemove", onMove);
  window.addEventListener("mousemove", onWindowMove);
  window.addEventListener("mouseup", onUp);
  canvas.addEventListener("mouseleave", onLeave);
  model.on("msg:custom", onMessage);
  model.on("change:states", drawBase);
  model.on("change:grid_shape", drawBase);
  model.on("change:title", drawBase);
  model.on("change:legend", drawBase);
  drawBase();
  // JupyterLab marks the theme on <body>; a theme change repaints the canvas text
  const themeWatch = new MutationObserver(() => paint());
  themeWatch.observe(document.body, { attributes: true, attributeFilter: ["data-jp-theme-light", "data-jp-theme-name"] });

  return () => {
    themeWatch.disconnect();
    window.removeEventListener("mousemove", onWindowMove);
    window.removeEventListener("mouseup", onUp);
  };
}

export default { render };
