"""CodeSnippet: a line (or block) of Python the panels show, with a Copy button.

Every panel that shows code a user may paste into a cell (the slice builder's
``ds[...]``, the header explorer's selection code, the search panel's Fido code)
shows it through this one widget, so they all copy the same way.

Choices
-------
* **One small anywidget with its module inline**: a button next to a ``<pre>``,
  nothing to build. The text is set with ``textContent`` (never parsed as HTML).
* **Copying** uses ``navigator.clipboard.writeText`` where the page is a secure
  context (JupyterLab on 127.0.0.1 or https) and falls back to selecting a hidden
  textarea and ``document.execCommand("copy")`` elsewhere (plain-http JupyterHub).
  The button says "Copied" (or "Press Ctrl+C" with the text selected when the
  browser refuses) for two seconds.
* The kernel is told of each copy (``copies`` counts them) so a panel or a test
  can tell that the button was pressed; nothing else travels back.
* Colours come from JupyterLab's theme variables, so the snippet reads in the
  light and the dark theme.
"""

from __future__ import annotations

import anywidget
import traitlets

__all__ = ["CodeSnippet"]

_ESM = r"""
function render({ model, el }) {
  const wrap = document.createElement("div");
  wrap.className = "dkw-snippet";
  const pre = document.createElement("pre");
  pre.className = "dkw-snippet-code";
  const button = document.createElement("button");
  button.type = "button";
  button.className = "dkw-copy-button";
  button.title = "Copy this code to the clipboard";
  button.setAttribute("aria-label", "Copy code");
  wrap.append(pre, button);
  el.append(wrap);
  let timer = null;
  const idle = () => { button.textContent = "Copy"; };
  const show = () => {
    const code = model.get("code") || "";
    pre.textContent = code;
    const testid = model.get("testid");
    if (testid) pre.setAttribute("data-testid", testid); else pre.removeAttribute("data-testid");
    wrap.style.display = code ? "" : "none";
  };
  const said = (text) => {
    button.textContent = text;
    if (timer) clearTimeout(timer);
    timer = setTimeout(idle, 2000);
  };
  const fallback = (code) => {
    const area = document.createElement("textarea");
    area.value = code;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.append(area);
    area.select();
    let ok = false;
    try { ok = document.execCommand("copy"); } catch (err) { ok = false; }
    area.remove();
    if (!ok) {  // leave the code selected so Ctrl+C copies it
      const range = document.createRange();
      range.selectNodeContents(pre);
      const sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
    }
    return ok;
  };
  button.addEventListener("click", async () => {
    const code = model.get("code") || "";
    let ok = false;
    if (navigator.clipboard && window.isSecureContext) {
      try { await navigator.clipboard.writeText(code); ok = true; } catch (err) { ok = false; }
    }
    if (!ok) ok = fallback(code);
    said(ok ? "Copied" : "Press Ctrl+C");
    if (ok) model.send({ type: "copied" });
  });
  idle();
  show();
  model.on("change:code", show);
  model.on("change:testid", show);
  return () => { if (timer) clearTimeout(timer); };
}
export default { render };
"""

_CSS = """
.dkw-snippet { display: flex; align-items: flex-start; gap: 6px; max-width: 100%; }
.dkw-snippet .dkw-snippet-code { margin: 0; padding: 2px 6px; flex: 0 1 auto; min-width: 0;
  white-space: pre-wrap; overflow-wrap: anywhere;
  font-family: var(--jp-code-font-family, monospace); font-size: var(--jp-code-font-size, 13px);
  color: var(--jp-content-font-color1, #111); background: var(--jp-layout-color2, #eee);
  border-radius: 3px; }
.dkw-snippet .dkw-copy-button { flex: 0 0 auto; font-size: 12px; line-height: 1.4; padding: 1px 8px;
  cursor: pointer; border-radius: 3px; border: 1px solid var(--jp-border-color1, #757575);
  color: var(--jp-ui-font-color1, #111); background: var(--jp-layout-color1, #fff); }
.dkw-snippet .dkw-copy-button:hover { background: var(--jp-layout-color2, #eee); }
"""


class CodeSnippet(anywidget.AnyWidget):
    """Code shown in a ``<pre>`` with a Copy button; hidden while ``code`` is empty.

    Parameters
    ----------
    code
        The text to show and copy.
    testid
        A ``data-testid`` for the ``<pre>`` (what browser tests find it by).
    """

    _esm = _ESM
    _css = _CSS

    code = traitlets.Unicode("").tag(sync=True)
    testid = traitlets.Unicode("").tag(sync=True)
    copies = traitlets.Int(0, read_only=True, help="How many times the Copy button copied.")

    def __init__(self, code: str = "", *, testid: str = "", **kwargs):
        super().__init__(code=code, testid=testid, **kwargs)
        self.add_class("dkw-code-snippet")
        self.on_msg(self._on_msg)

    def _on_msg(self, _widget, content, _buffers) -> None:
        if isinstance(content, dict) and content.get("type") == "copied":
            self.set_trait("copies", self.copies + 1)
