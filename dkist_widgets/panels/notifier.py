"""Browser notifications (when the user allows them) for events such as a finished
transfer. Thin anywidget over ``js/src/widgets/notifier.ts``; the text is sent as a
message and shown by the browser's notification system, never parsed as HTML."""

from __future__ import annotations

import anywidget
import traitlets

from .static_assets import esm_path

__all__ = ["Notifier"]


class Notifier(anywidget.AnyWidget):
    _esm = esm_path("notifier")

    #: What the browser last reported: "default", "granted", "denied", "unsupported".
    permission = traitlets.Unicode("default").tag(sync=True)

    def notify(self, title: str, body: str = "") -> None:
        """Show a browser notification if allowed (always recorded on the widget's element)."""
        self.send({"type": "notify", "title": str(title), "body": str(body)})
