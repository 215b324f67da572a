"""One ``Layout`` and one ``Style`` per look, shared by the widgets of a panel.

Every ipywidgets widget otherwise makes its own ``Layout`` and ``Style`` models,
and in a live kernel each model costs a ``comm_open`` (its state as JSON, signed
and sent), a hop through the server, and a model and a view in the browser. A
panel of forty widgets makes eighty of them that all say "nothing special".
ipywidgets lets several widgets share one ``Layout`` (or ``Style``) instance: each
widget view draws it on its own element.

Choices
-------
* Looks are keyed by their attributes: ``looks.layout(width="70px")`` asked twice
  is the same ``Layout``; ``looks.layout()`` is the plain one.
* **Only for looks never changed afterwards.** Setting ``widget.layout.display``
  on a shared layout would hide every widget sharing it: a widget whose layout or
  style changes after construction gets its own (``w.Layout(...)``), not one of these.
* One :class:`SharedLooks` per panel instance, not per process: closing one panel's
  widgets (``Widget.close_all()`` in a test) cannot leave another panel holding a
  closed model.
"""

from __future__ import annotations

import ipywidgets as w

__all__ = ["SharedLooks"]


class SharedLooks:
    """Layouts and styles made once and handed to every widget asking for the same look."""

    def __init__(self):
        self._made: dict[tuple, w.Widget] = {}

    def _get(self, cls, attrs: dict):
        key = (cls, tuple(sorted(attrs.items())))
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = cls(**attrs)
        return made

    def layout(self, **attrs) -> w.Layout:
        """The shared ``Layout`` with these attributes (never to be changed)."""
        return self._get(w.Layout, attrs)

    def style(self, widget_class, **attrs):
        """The shared style for widgets of ``widget_class`` (e.g. ``w.HTML``: an ``HTMLStyle``)
        with these attributes; widget classes with the same style class share it."""
        return self._get(widget_class.style.klass, attrs)

    def html(self, value: str = "", **layout) -> w.HTML:
        """An ``HTML`` with a shared layout and the shared ``HTMLStyle``."""
        return w.HTML(value, layout=self.layout(**layout), style=self.style(w.HTML))
