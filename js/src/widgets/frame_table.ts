// FrameTable: a windowed table of frames as plain DOM rows. The kernel keeps every
// row and sorts/filters them; this view shows the rows it was sent for the window it
// scrolled to, asks for another window when scrolling leaves it, sends header clicks
// (sort), filter texts and row clicks (by the row's frame id, never its position).
// All text goes in through textContent.
import type { RenderContext } from "../lib/anywidget";
import { clear, el } from "../lib/dom";
import { ROW_HEIGHT, visibleRows, windowToRequest } from "../lib/table_window";

const COLUMN_WIDTH = 112;

const STYLE = `
.dkw-frame-table { font-family: var(--jp-ui-font-family, sans-serif); font-size: 12px;
  color: var(--jp-ui-font-color1, #222); border: 1px solid var(--jp-border-color2, #ccc); }
.dkw-frame-table .head, .dkw-frame-table .filters, .dkw-frame-table .row { display: flex; }
.dkw-frame-table .head > div { font-weight: 600; cursor: pointer; background: var(--jp-layout-color2, #eee); }
.dkw-frame-table .head > div:hover { background: var(--jp-layout-color3, #ddd); }
.dkw-frame-table .cell { flex: 0 0 ${COLUMN_WIDTH}px; width: ${COLUMN_WIDTH}px; box-sizing: border-box;
  padding: 0 6px; height: ${ROW_HEIGHT}px; line-height: ${ROW_HEIGHT}px; overflow: hidden;
  white-space: nowrap; text-overflow: ellipsis; border-right: 1px solid var(--jp-border-color3, #eee); }
.dkw-frame-table .filters input { flex: 0 0 ${COLUMN_WIDTH}px; width: ${COLUMN_WIDTH}px; box-sizing: border-box;
  font-size: 11px; height: ${ROW_HEIGHT}px; border: 0; border-right: 1px solid var(--jp-border-color3, #eee);
  border-bottom: 1px solid var(--jp-border-color2, #ccc); padding: 0 6px; background: transparent;
  color: inherit; }
.dkw-frame-table .body { overflow: auto; position: relative; }
.dkw-frame-table .spacer { position: relative; }
.dkw-frame-table .row { position: absolute; left: 0; cursor: pointer; }
.dkw-frame-table .row:nth-child(even) { background: var(--jp-layout-color1, #fff); }
.dkw-frame-table .row.selected { background: #ffe0b3; color: #222; }
.dkw-frame-table .row.marked { outline: 2px solid #d62728; outline-offset: -2px; }
.dkw-frame-table .row:hover { background: #e8f0fb; color: #222; }
.dkw-frame-table .foot { display: flex; justify-content: space-between; padding: 2px 6px;
  color: var(--jp-ui-font-color2, #666); border-top: 1px solid var(--jp-border-color2, #ccc); }
.dkw-frame-table .problem { color: #b00020; }
`;

function render({ model, el: root }: RenderContext): () => void {
  const head = el("div", { class: "head" });
  const filters = el("div", { class: "filters" });
  const spacer = el("div", { class: "spacer" });
  const body = el("div", { class: "body", "data-testid": "frame-table-body" }, [spacer]);
  const count = el("span", { class: "count" });
  const problem = el("span", { class: "problem" });
  const wrap = el("div", { class: "dkw-frame-table" }, [
    el("style", {}, [STYLE]),
    el("div", { style: "overflow-x: auto" }, [head, filters, body]),
    el("div", { class: "foot" }, [count, problem]),
  ]);
  root.append(wrap);
  let pending: number | null = null;
  let filterTimer: ReturnType<typeof setTimeout> | undefined;
  let lastColumns = "";
  let widths: number[] = [];

  // column widths from the header and the first rows' text (about 7 px a character, clamped)
  const measure = (cols: string[]) => {
    const rows: string[][] = model.get("rows") ?? [];
    widths = cols.map((name, c) => {
      let px = name.length * 8.5 + 40; // bold header text, the sort arrow and padding
      for (const row of rows.slice(0, 20)) px = Math.max(px, (row[c] ?? "").length * 7 + 14);
      return Math.round(Math.max(64, Math.min(COLUMN_WIDTH * 2, px)));
    });
  };
  const sized = (node: HTMLElement, c: number) => {
    node.style.width = node.style.flexBasis = `${widths[c] ?? COLUMN_WIDTH}px`;
    return node;
  };

  const columns = (): string[] => model.get("columns") ?? [];

  const drawHead = () => {
    const cols = columns();
    const sort: unknown[] = model.get("sort") ?? [];
    clear(head);
    const key = cols.join("\u0000");
    if (key !== lastColumns) measure(cols);
    for (const [c, name] of cols.entries()) {
      const arrow = sort[0] === name ? (sort[1] ? " ▼" : " ▲") : "";
      const cell = el("div", { class: "cell", title: `sort by ${name} (click again to reverse)` }, [name + arrow]);
      cell.addEventListener("click", () => {
        const now: unknown[] = model.get("sort") ?? [];
        // ascending, then descending, then frame order again
        const next = now[0] !== name ? [name, false] : now[1] ? [] : [name, true];
        model.set("sort", next);
        model.save_changes();
        body.scrollTop = 0;
      });
      head.append(sized(cell, c));
    }
    if (key !== lastColumns) {
      lastColumns = key;
      const current: Record<string, string> = model.get("filters") ?? {};
      clear(filters);
      for (const [c, name] of cols.entries()) {
        const input = el("input", { placeholder: "filter", title: `filter ${name}: >0.05, 0.02..0.1, =1, text` });
        input.value = current[name] ?? "";
        input.addEventListener("input", () => {
          clearTimeout(filterTimer);
          filterTimer = setTimeout(() => {
            const next: Record<string, string> = { ...(model.get("filters") ?? {}) };
            if (input.value.trim()) next[name] = input.value;
            else delete next[name];
            model.set("filters", next);
            model.save_changes();
            body.scrollTop = 0;
          }, 250);
        });
        filters.append(sized(input, c));
      }
    }
    const width = widths.reduce((a, b) => a + b, 0);
    for (const part of [head, filters, spacer]) part.style.width = `${width}px`;
  };

  const drawRows = () => {
    const nRows: number = model.get("n_rows") ?? 0;
    const rows: string[][] = model.get("rows") ?? [];
    const start: number = model.get("rows_start") ?? 0;
    const selected: boolean[] = model.get("selected_rows") ?? [];
    const marked: number = model.get("marked_frame") ?? -1;
    body.style.height = `${(model.get("height_rows") ?? 10) * ROW_HEIGHT}px`;
    spacer.style.height = `${nRows * ROW_HEIGHT}px`;
    if (nRows > 0 && body.scrollTop >= nRows * ROW_HEIGHT) body.scrollTop = 0; // the view shrank
    const [first, last] = visibleRows(body.scrollTop, body.clientHeight || ROW_HEIGHT * 10, nRows);
    clear(spacer);
    // draw the held rows around the visible ones (a few extra for smooth scrolling)
    const from = Math.max(start, first - 5);
    const to = Math.min(start + rows.length, last + 5);
    for (let i = from; i < to; i++) {
      const cells = rows[i - start];
      const classes = ["row"];
      if (selected[i - start]) classes.push("selected");
      if (Number(cells[0]) === marked) classes.push("marked");
      const row = el(
        "div",
        { class: classes.join(" "), "data-frame": String(cells[0]), style: `top: ${i * ROW_HEIGHT}px` },
        cells.map((text, c) => sized(el("div", { class: "cell", title: text }, [text]), c)),
      );
      spacer.append(row);
    }
    const total: number = model.get("n_total") ?? nRows;
    count.textContent =
      nRows === total ? `${total.toLocaleString()} rows` : `${nRows.toLocaleString()} of ${total.toLocaleString()} rows`;
    problem.textContent = model.get("problem") ?? "";
    const want = windowToRequest([first, last], start, rows.length, model.get("window_rows") ?? rows.length, nRows);
    if (want !== null && want !== pending && want !== model.get("window_start")) {
      pending = want;
      model.set("window_start", want);
      model.save_changes();
    } else if (want === null) {
      pending = null;
    }
  };

  const onScroll = () => requestAnimationFrame(drawRows);
  body.addEventListener("scroll", onScroll);
  spacer.addEventListener("click", (event) => {
    const row = (event.target as HTMLElement).closest(".row");
    if (!row) return;
    model.send({ type: "click", frame: Number(row.getAttribute("data-frame")) });
  });
  const onColumns = () => {
    drawHead();
    drawRows();
  };
  model.on("change:columns", onColumns);
  model.on("change:sort", drawHead);
  model.on("change:rows", drawRows);
  model.on("change:selected_rows", drawRows);
  model.on("change:marked_frame", drawRows);
  model.on("change:n_rows", drawRows);
  model.on("change:problem", drawRows);
  onColumns();
  return () => {
    body.removeEventListener("scroll", onScroll);
    clearTimeout(filterTimer);
  };
}

export default { render };
