import { describe, expect, it } from "vitest";
import widget from "../src/widgets/world_status";
import { FakeModel } from "./fake_model";

function mount(services: object[]) {
  const model = new FakeModel({ title: "Services", services, checking: false, checks: 0 });
  const root = document.createElement("div");
  widget.render({ model, el: root });
  return { model, root };
}

describe("world_status", () => {
  it("draws one row per service with its state", () => {
    const { root } = mount([
      { name: "A", url: "http://a/", ok: true, detail: "reachable", latency_ms: 3 },
      { name: "B", url: "http://b/", ok: false, detail: "cannot connect", latency_ms: null },
    ]);
    const rows = root.querySelectorAll("tr");
    expect(rows.length).toBe(2);
    expect(rows[0].querySelector(".dot")!.className).toContain("ok");
    expect(rows[1].querySelector(".dot")!.className).toContain("bad");
    expect(rows[1].textContent).toContain("cannot connect");
  });

  it("shows HTML in names as text", () => {
    const { root } = mount([
      { name: "<img src=x onerror=alert(1)>", url: "u", ok: null, detail: "", latency_ms: null },
    ]);
    expect(root.querySelector("img")).toBeNull();
    expect(root.textContent).toContain("<img src=x onerror=alert(1)>");
  });

  it("sends a check message on click and follows the kernel's counter", () => {
    const { model, root } = mount([]);
    (root.querySelector("button") as HTMLButtonElement).click();
    expect(model.sent).toEqual([{ type: "check" }]);
    model.set("checks", 1);
    expect(root.querySelector("[data-testid=world-checks]")!.textContent).toBe("checked 1 time");
  });
});
