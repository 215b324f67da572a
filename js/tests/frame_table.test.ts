import { describe, expect, it } from "vitest";
import { ROW_HEIGHT, visibleRows, windowToRequest } from "../src/lib/table_window";
import widget from "../src/widgets/frame_table";
import { FakeModel } from "./fake_model";

describe("table window", () => {
  it("finds the visible rows", () => {
    expect(visibleRows(0, 10 * ROW_HEIGHT, 1000)).toEqual([0, 10]);
    expect(visibleRows(100 * ROW_HEIGHT + 5, 10 * ROW_HEIGHT, 1000)).toEqual([100, 111]);
    expect(visibleRows(0, 10 * ROW_HEIGHT, 3)).toEqual([0, 3]);
  });

  it("asks for a new window only when scrolling leaves the held rows", () => {
    expect(windowToRequest([10, 20], 0, 60, 60, 1_000_000)).toBeNull();
    expect(windowToRequest([500_000, 500_010], 0, 60, 60, 1_000_000)).toBe(500_000 - 20);
    expect(windowToRequest([999_990, 1_000_000], 0, 60, 60, 1_000_000)).toBe(1_000_000 - 60);
    expect(windowToRequest([0, 0], 0, 0, 60, 0)).toBeNull();
  });
});

function mount(values: Record<string, any>) {
  const model = new FakeModel({
    columns: ["frame", "OBJECT"],
    n_rows: 3,
    n_total: 5,
    rows_start: 0,
    rows: [
      ["0", "<img src=x onerror=alert(1)>"],
      ["3", "quiet sun"],
      ["4", ""],
    ],
    selected_rows: [false, true, false],
    sort: [],
    filters: {},
    marked_frame: 3,
    problem: "",
    height_rows: 10,
    window_start: 0,
    ...values,
  });
  const root = document.createElement("div");
  document.body.append(root);
  widget.render({ model, el: root });
  return { model, root };
}

describe("frame table view", () => {
  it("draws rows as text, highlights selected and marked rows", () => {
    const { root } = mount({});
    const rows = root.querySelectorAll(".row");
    expect(rows.length).toBe(3);
    expect(root.querySelector("img")).toBeNull();
    expect(rows[0].textContent).toContain("<img src=x onerror=alert(1)>");
    expect(rows[1].className).toContain("selected");
    expect(rows[1].className).toContain("marked");
    expect(root.querySelector(".count")!.textContent).toBe("3 of 5 rows");
  });

  it("sends the clicked row's frame, not its position", () => {
    const { root, model } = mount({});
    (root.querySelectorAll(".row")[1].firstChild as HTMLElement).click();
    expect(model.sent).toEqual([{ type: "click", frame: 3 }]);
  });

  it("cycles sort ascending, descending, off on header clicks", () => {
    const { root, model } = mount({});
    const header = () => root.querySelectorAll(".head .cell")[1] as HTMLElement;
    header().click();
    expect(model.get("sort")).toEqual(["OBJECT", false]);
    expect(header().textContent).toBe("OBJECT ▲");
    header().click();
    expect(model.get("sort")).toEqual(["OBJECT", true]);
    header().click();
    expect(model.get("sort")).toEqual([]);
  });

  it("shows a filter problem as text", () => {
    const { root, model } = mount({});
    model.set("problem", "filter on frame: '<b>' is not a number condition");
    expect(root.querySelector(".problem")!.textContent).toContain("<b>");
    expect(root.querySelector(".problem b")).toBeNull();
  });
});
