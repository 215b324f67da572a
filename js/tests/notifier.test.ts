import { afterEach, describe, expect, it } from "vitest";
import widget from "../src/widgets/notifier";
import { FakeModel } from "./fake_model";

class FakeNotification {
  static permission = "granted";
  static shown: { title: string; body?: string }[] = [];
  static async requestPermission() {
    return FakeNotification.permission;
  }
  constructor(title: string, options: { body?: string }) {
    FakeNotification.shown.push({ title, body: options.body });
  }
}

function mount() {
  const model = new FakeModel({ permission: "default" });
  const listeners: ((msg: unknown) => void)[] = [];
  model.on = (event: string, cb: (...args: any[]) => void) => {
    if (event === "msg:custom") listeners.push(cb);
  };
  const root = document.createElement("div");
  widget.render({ model, el: root });
  return { model, root, send: (msg: unknown) => listeners.forEach((cb) => cb(msg)) };
}

afterEach(() => {
  delete (globalThis as any).Notification;
  FakeNotification.shown = [];
});

describe("notifier", () => {
  it("shows a notification when allowed and reports the permission", () => {
    (globalThis as any).Notification = FakeNotification;
    const { model, root, send } = mount();
    expect(model.get("permission")).toBe("granted");
    send({ type: "notify", title: "Transfer finished: <b>x</b>", body: "12 files" });
    expect(FakeNotification.shown).toEqual([{ title: "Transfer finished: <b>x</b>", body: "12 files" }]);
    expect(root.getAttribute("data-last-notification")).toBe("Transfer finished: <b>x</b>: 12 files");
    expect(root.querySelector("b")).toBeNull();
  });

  it("stays quiet without permission or support", () => {
    const { model, send } = mount();
    expect(model.get("permission")).toBe("unsupported");
    send({ type: "notify", title: "t", body: "b" });
    expect(FakeNotification.shown).toEqual([]);
  });
});
