// WorldStatus: a card that lists the services the notebook talks to (the
// loopback DKIST data centre and Globus, or the real ones) with their health,
// and a button that asks the kernel to check them again.
import { clear, el } from "../lib/dom";
import type { RenderContext } from "../lib/anywidget";

interface ServiceState {
  name: string;
  url: string;
  ok: boolean | null;
  detail: string;
  latency_ms: number | null;
}

const STYLE = `
.dkw-world { font-family: var(--jp-ui-font-family, sans-serif); font-size: 13px;
  color: var(--jp-ui-font-color1, #222); border: 1px solid var(--jp-border-color2, #ccc);
  border-radius: 4px; padding: 8px 12px; max-width: 640px; background: var(--jp-layout-color1, #fff); }
.dkw-world h4 { margin: 0 0 6px 0; font-size: 14px; }
.dkw-world table { border-collapse: collapse; width: 100%; }
.dkw-world td { padding: 2px 6px; vertical-align: top; }
.dkw-world .dot { display: inline-block; width: 10px; height: 10px; border-radius: 50%; }
.dkw-world .ok { background: #2e7d32; } .dkw-world .bad { background: #c62828; }
.dkw-world .unknown { background: #9e9e9e; }
.dkw-world code { font-size: 12px; word-break: break-all; }
.dkw-world .footer { margin-top: 6px; display: flex; gap: 10px; align-items: center; }
.dkw-world button { cursor: pointer; }
`;

function render({ model, el: root }: RenderContext): () => void {
  const style = el("style", {}, [STYLE]);
  const title = el("h4", {}, []);
  const table = el("table", { "data-testid": "world-services" });
  const button = el("button", { type: "button", "data-testid": "world-check" }, [
    "Check services",
  ]);
  const counter = el("span", { "data-testid": "world-checks" });
  const card = el("div", { class: "dkw-world" }, [
    title,
    table,
    el("div", { class: "footer" }, [button, counter]),
  ]);
  root.append(style, card);

  const draw = () => {
    title.textContent = model.get("title");
    clear(table);
    const services: ServiceState[] = model.get("services") ?? [];
    for (const service of services) {
      const state = service.ok === null ? "unknown" : service.ok ? "ok" : "bad";
      const latency =
        service.latency_ms === null ? "" : ` (${service.latency_ms.toFixed(0)} ms)`;
      table.append(
        el("tr", { "data-service": service.name }, [
          el("td", {}, [el("span", { class: `dot ${state}`, title: state })]),
          el("td", {}, [service.name]),
          el("td", {}, [el("code", {}, [service.url])]),
          el("td", {}, [service.detail + latency]),
        ]),
      );
    }
    const checking: boolean = model.get("checking");
    button.disabled = checking;
    button.textContent = checking ? "Checking…" : "Check services";
    const checks: number = model.get("checks");
    counter.textContent = `checked ${checks} time${checks === 1 ? "" : "s"}`;
  };

  const onClick = () => model.send({ type: "check" });
  button.addEventListener("click", onClick);
  model.on("change:services", draw);
  model.on("change:checking", draw);
  model.on("change:checks", draw);
  model.on("change:title", draw);
  draw();
  return () => button.removeEventListener("click", onClick);
}

export default { render };
