"""The static form of a panel, for frontends without a live kernel.

nbconvert to HTML, the documentation, VS Code's notebook viewer and a notebook shown
on GitHub cannot draw a widget; they show the richest other form of the output. Each
panel mixes in :class:`StaticForm`, so that form is a small table saying what dataset,
what selection and what transfers the panel showed (``text/html``) and the same as
aligned text (``text/plain``), instead of the widget's ``repr``
(``Explorer(children=(HTML(value="<style>...``). JupyterLab with a live kernel still
draws the widget: the widget view outranks both.
"""

from __future__ import annotations

from typing import Any

from ..core.describe import as_html, as_text, describe_model

__all__ = ["StaticForm"]

LIVE_NOTE = "A live panel: run this notebook in Jupyter to use it."


class StaticForm:
    """Mixin for a widget: text and HTML forms of what it shows.

    A panel sets :attr:`static_title` and may extend :meth:`static_lines` (the
    default describes ``self.model``, if the panel has one).
    """

    static_title = "dkist-widgets panel"

    def static_lines(self) -> list[tuple[str, str]]:
        model = getattr(self, "model", None)
        return describe_model(model) if model is not None else []

    def static_text(self) -> str:
        return as_text(self.static_title, self.static_lines())

    def _repr_mimebundle_(self, **kwargs: Any):
        bundle = super()._repr_mimebundle_(**kwargs)  # type: ignore[misc]
        metadata = None
        if isinstance(bundle, tuple):  # anywidget answers (data, metadata)
            bundle, metadata = bundle
        data = dict(bundle or {})
        lines = self.static_lines()
        data["text/plain"] = as_text(self.static_title, lines)
        data["text/html"] = as_html(self.static_title, lines, note=LIVE_NOTE)
        return (data, metadata) if metadata is not None else data
