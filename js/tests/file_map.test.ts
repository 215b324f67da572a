import { describe, expect, it } from "vitest";
import widget from "../src/widgets/file_map";
import { FakeModel } from "./fake_model";
import spec from "./fixtures/file_states_legend.json";

// jsdom has no canvas: a 0 x 0 grid draws only the legend, which is what is tested here.
function mount(states: number[], legend: unknown) {
  const model = new FakeModel({
    title: "t",
    grid_shape: [0, 0],
    row_axis: "",
    col_axis: "",
    row_labels: [],
    states: new DataView(new Uint8Array(states).buffer),
    legend,
  });
  const root = document.createElement("div");
  widget.render({ model, el: root });
  return { model, root };
}

describe("file_map legend", () => {
  it("shows the kernel's states, labels and colours, with counts", () => {
    const bit = (name: string) => spec.states.find((s) => s.name === name)!.bit;
    const { root } = mount([0, bit("in_slice"), bit("in_slice") | bit("transferring"), bit("failed")], spec);
    const items = Array.from(root.querySelectorAll("[data-testid=filemap-legend] [data-state]"));
    expect(items.map((i) => i.getAttribute("data-state"))).toEqual(["outside", ...spec.states.map((s) => s.name)]);
    const text = (name: string) => root.querySelector(`[data-state=${name}]`)!.textContent;
    expect(text("transferring")).toBe("transferring: 1");
    expect(text("failed")).toBe("failed: 1");
    expect(text("outside")).toBe(`${spec.outside.label}: 2`);
    const swatch = root.querySelector("[data-state=failed] .swatch") as HTMLElement;
    const failedColour = spec.states.find((s) => s.name === "failed")!.colour;
    expect(swatch.style.background).toBe(hexToCss(failedColour));
  });

  it("draws nothing without the kernel's legend", () => {
    const { root } = mount([1, 2], undefined);
    expect(root.querySelectorAll("[data-state]").length).toBe(0);
  });

  it("redraws when the legend changes", () => {
    const { model, root } = mount([1], spec);
    model.set("legend", { states: [{ name: "only", bit: 1, colour: "#000001", label: "only one" }], outside: spec.outside });
    expect(root.querySelector("[data-state=only]")!.textContent).toBe("only one: 1");
    expect(root.querySelector("[data-state=failed]")).toBeNull();
  });
});

function hexToCss(hex: string): string {
  const v = parseInt(hex.slice(1), 16);
  return `rgb(${(v >> 16) & 255}, ${(v >> 8) & 255}, ${v & 255})`;
}
