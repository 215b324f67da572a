// Notifier: a small button that asks the browser for permission to show
// notifications, and shows one when the kernel sends {type: "notify"} (e.g. when
// a Globus transfer ends while the user is in another tab). Without permission
// nothing pops up: the panel's own message in the notebook is the fallback.
import type { RenderContext } from "../lib/anywidget";
import { el } from "../lib/dom";

function permission(): string {
  return typeof Notification === "undefined" ? "unsupported" : Notification.permission;
}

function render({ model, el: root }: RenderContext): () => void {
  // width auto: ipywidgets gives .widget-button a short fixed width that cut the label
  const button = el("button", {
    type: "button",
    class: "jupyter-button widget-button",
    style: "width:auto",
    "data-testid": "notifier-enable",
  });
  const state = el("span", { "data-testid": "notifier-state", style: "margin-left:6px;opacity:.75" });
  root.append(el("div", { class: "dkw-notifier" }, [button, state]));

  const draw = () => {
    const p = permission();
    button.textContent = "Notify me when transfers end";
    button.disabled = p !== "default";
    state.textContent =
      p === "granted" ? "browser notifications on" :
      p === "denied" ? "browser notifications blocked (messages stay in the notebook)" :
      p === "unsupported" ? "this browser has no notifications" : "";
    model.set("permission", p);
    model.save_changes();
  };
  const onClick = async () => {
    if (permission() === "default") await Notification.requestPermission();
    draw();
  };
  const onMessage = (msg: any) => {
    if (!msg || msg.type !== "notify") return;
    const title = String(msg.title ?? "");
    const body = String(msg.body ?? "");
    root.setAttribute("data-last-notification", `${title}: ${body}`);
    if (permission() === "granted") new Notification(title, { body });
  };
  button.addEventListener("click", onClick);
  model.on("msg:custom", onMessage);
  draw();
  return () => button.removeEventListener("click", onClick);
}

export default { render };
