"""LoginPanel: Globus login inside the notebook (open a link, sign in, paste the code).

A thin view over :class:`dkist_widgets.core.globus_auth.GlobusLogin`. It works when
the browser and the kernel are on different machines (a remote JupyterHub, a cluster
node): nothing listens on localhost and nothing calls ``input()``.

No token ever reaches a widget trait. The pasted code sits in a ``Password`` box only
until it is exchanged (the box is cleared at once, success or not), so it is not in
the saved widget state either. Messages are plain text, escaped into HTML.
"""

from __future__ import annotations

import ipywidgets as w

from ..core.formatting import escape
from ..core.globus_auth import AWAITING_CODE, LOGGED_IN, LOGGED_OUT, NEEDS_LOGIN, GlobusLogin, LoginError
from .static_assets import theme_style
from .static_form import StaticForm

__all__ = ["LoginPanel", "close_tree"]


def close_tree(widget: w.Widget) -> None:
    """Close a widget, every widget under it, and their layout and style widgets.

    Boxes do not close their children, nor a widget its layout and style, and
    ipywidgets keeps every unclosed widget in a registry: a tree dropped from a
    long-open panel (e.g. a finished transfer's row) would stay there.
    """
    for child in getattr(widget, "children", ()) or ():
        close_tree(child)
    for name in ("layout", "style"):
        part = getattr(widget, name, None)
        if isinstance(part, w.Widget):
            part.close()
    widget.close()


_STATE_WORDS = {  # words and a theme class (panels/static_assets.THEME_CSS: readable light and dark)
    LOGGED_OUT: ("Not logged in to Globus", "dkw-muted"),
    AWAITING_CODE: ("Waiting for the code from Globus", "dkw-warn"),
    LOGGED_IN: ("Logged in to Globus", "dkw-ok"),
    NEEDS_LOGIN: ("Globus login expired: please log in again", "dkw-error"),
}


class LoginPanel(StaticForm, w.VBox):
    """Login state, a link to open, a box for the code, Log in / Log out.

    Parameters
    ----------
    login
        A :class:`GlobusLogin` (default: a new one with the default settings).
    """

    static_title = "Globus sign-in"

    def static_lines(self) -> list[tuple[str, str]]:
        # whether a login exists, never anything of the tokens
        signed_in = self.login is not None and self.login.is_logged_in
        return [("state", "signed in" if signed_in else "not signed in")]

    def __init__(self, login: GlobusLogin | None = None, **kwargs):
        self.login = login if login is not None else GlobusLogin()
        self.status = w.HTML()
        self.link = w.HTML()
        self.code = w.Password(placeholder="paste the code here", layout=w.Layout(width="24em"))
        self.submit_button = w.Button(description="Submit code", button_style="primary", icon="check")
        self.cancel_button = w.Button(description="Cancel", icon="times")
        self.login_button = w.Button(description="Log in to Globus", icon="sign-in", button_style="primary")
        self.logout_button = w.Button(description="Log out", icon="sign-out")
        self.feedback = w.HTML()
        self.code_row = w.HBox([self.code, self.submit_button, self.cancel_button])
        self.login_button.on_click(self._on_login)
        self.logout_button.on_click(self._on_logout)
        self.submit_button.on_click(self._on_submit)
        self.cancel_button.on_click(self._on_cancel)
        super().__init__(
            [
                theme_style(),
                w.HBox([self.status, self.login_button, self.logout_button]),
                self.link,
                self.code_row,
                self.feedback,
            ],
            **kwargs,
        )
        self.add_class("dkw-login")
        self.login.observe(self._render, names=["state", "message", "authorize_url"])
        self._render()

    # ------------------------------------------------------------------ view
    def _render(self, _change=None) -> None:
        state = self.login.state
        words, tone = _STATE_WORDS[state]
        self.status.value = f'<b class="dkw-login-state {tone}" data-state="{escape(state)}">{escape(words)}</b>'
        message = self.login.message
        # the state's own words are already on the first line: say them once
        repeated = message.rstrip(".").strip() == words
        self.feedback.value = "" if repeated else f'<span class="dkw-login-message">{escape(message)}</span>'
        awaiting = state == AWAITING_CODE
        url = self.login.authorize_url if awaiting else ""
        self.link.value = (
            f'<a class="dkw-login-link" href="{escape(url)}" target="_blank" rel="noopener noreferrer">'
            "Open the Globus sign-in page</a> (in any browser, on any machine)"
            if url
            else ""
        )
        self.code_row.layout.display = "" if awaiting else "none"
        self.login_button.layout.display = "none" if state in (LOGGED_IN, AWAITING_CODE) else ""
        self.logout_button.layout.display = "" if state in (LOGGED_IN, NEEDS_LOGIN) else "none"

    # ------------------------------------------------------------------ actions
    def _on_login(self, _button=None) -> None:
        try:
            self.login.start_login()
        except Exception as err:  # noqa: BLE001 - show, never raise into the comm
            self.feedback.value = (
                f'<span class="dkw-error">Could not start the login: {escape(type(err).__name__)}</span>'
            )

    def _on_submit(self, _button=None) -> None:
        code = self.code.value
        self.code.value = ""  # never keep the code in widget state
        try:
            self.login.finish_login(code)
        except LoginError as err:
            self.feedback.value = f'<span class="dkw-login-message dkw-error">{escape(str(err))}</span>'

    def _on_cancel(self, _button=None) -> None:
        self.code.value = ""
        self.login.cancel_login()

    def _on_logout(self, _button=None) -> None:
        self.login.logout()

    def close(self) -> None:
        try:
            self.login.unobserve(self._render, names=["state", "message", "authorize_url"])
        except ValueError:
            pass
        for child in self.children:
            close_tree(child)
        super().close()
