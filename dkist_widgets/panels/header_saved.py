"""Save a selection next to the dataset and load it back: the header explorer's control, and
the offer ``explore()`` shows when a dataset has saved selections.

The file, where it goes and every check live in
:mod:`dkist_widgets.core.saved_selection`; this module is the buttons and the
sentences.

Choices
-------
* **Load applies the recipe when it reproduces the saved frames** (checked on a
  scratch :class:`HeaderSelectionState` first, so nothing changes before it is
  known): brush, threshold and buttons then show how the selection was made. When
  it does not (another panel made it, or the recipe means something else here) the
  saved frame ids are selected as they are, and the message says so.
* **A refused file changes nothing**: the message is the one sentence of
  :class:`SavedSelectionError`; the selection, the recipe and the file stay.
* Messages name files by their name; the folder a selection was saved in is shown
  from ``~`` when it is under the home folder.
* The explorer's controls take their layouts and styles from its
  :class:`~dkist_widgets.panels.shared_looks.SharedLooks` (none is changed afterwards).
"""

from __future__ import annotations

from pathlib import Path

import ipywidgets as w
import traitlets

from ..core.formatting import escape
from ..core.header_selection import HeaderSelectionState
from ..core.saved_selection import (
    SavedSelectionError,
    dataset_id_of,
    load_selection,
    recipe_of,
    save_selection,
    saved_selections,
)
from .shared_looks import SharedLooks

__all__ = ["SavedSelectionControls", "SavedSelectionOffer"]

SOURCE_PREFIX = "saved selection"


def _options(dataset) -> list[tuple[str, str]]:
    return (
        [(path.name.split(".", 1)[1].removesuffix(".selection.json"), str(path)) for path in saved_selections(dataset)]
        if dataset is not None
        else []
    )


def _offer(dropdown: w.Dropdown, options) -> None:
    """Set the options, keeping the value chosen when it is still there, else the newest."""
    current = dropdown.value
    dropdown.options = options
    values = [value for _label, value in options]
    dropdown.value = current if current in values else (values[0] if values else None)


def _shown_folder(folder: Path) -> str:
    """``~/sunpy/data/KPLMQ`` rather than the whole home folder."""
    try:
        return "~/" + folder.relative_to(Path.home()).as_posix()
    except ValueError:
        return str(folder)


class SavedSelectionControls:
    """Name box, Save, a list of saved selections and Load, for one header explorer."""

    def __init__(self, explorer, looks: SharedLooks | None = None):
        self.explorer = explorer
        looks = looks if looks is not None else SharedLooks()
        button_style = looks.style(w.Button)
        self.name = w.Text(
            placeholder="name, e.g. good seeing", layout=looks.layout(width="180px"), style=looks.style(w.Text)
        )
        self.name.add_class("dkw-saved-name")
        self.save_button = w.Button(
            description="Save selection",
            icon="save",
            tooltip="Save the selected frames and the recipe next to the dataset",
            layout=looks.layout(),
            style=button_style,
        )
        self.save_button.add_class("dkw-saved-save")
        self.choice = w.Dropdown(options=[], layout=looks.layout(width="200px"), style=looks.style(w.Dropdown))
        self.choice.add_class("dkw-saved-choice")
        self.load_button = w.Button(
            description="Load",
            icon="folder-open",
            tooltip="Load the chosen saved selection",
            layout=looks.layout(),
            style=button_style,
        )
        self.load_button.add_class("dkw-saved-load")
        self.message = looks.html()
        self.message.add_class("dkw-saved-message")
        self.save_button.on_click(lambda _b: self.save(self.name.value))
        self.load_button.on_click(lambda _b: self.choice.value and self.load(self.choice.value))
        self.box = w.VBox(
            [
                w.HBox(
                    [
                        looks.html("saved&nbsp;", width="70px"),
                        self.name,
                        self.save_button,
                        self.choice,
                        self.load_button,
                    ],
                    layout=looks.layout(align_items="center", flex_flow="row wrap"),
                ),
                self.message,
            ],
            layout=looks.layout(),
        )
        self.refresh()

    def refresh(self) -> None:
        """List the selections saved for the dataset open now."""
        options = _options(self.explorer.model.dataset)
        _offer(self.choice, options)
        self.choice.disabled = self.load_button.disabled = not options
        self.save_button.disabled = self.explorer.table is None

    def _say(self, text: str, ok: bool = True) -> None:
        colour = "inherit" if ok else "var(--jp-error-color1, #c62828)"
        self.message.value = f"<span style='color:{colour}'>{escape(text)}</span>"

    def save(self, name: str = ""):
        """Save the model's selection (with the recipe when this panel made it); returns the path."""
        explorer = self.explorer
        state = explorer.state
        made_here = explorer.model.selection_source == "header_explorer"
        try:
            path = save_selection(
                explorer.model,
                name=name,
                recipe=recipe_of(state) if made_here else None,
                recipe_words=explorer.recipe_words(),
            )
        except SavedSelectionError as error:
            self._say(str(error), ok=False)
            return None
        self.refresh()
        self.choice.value = str(path)
        self._say(f"Saved {explorer.model.n_selected} frames as {path.name} in {_shown_folder(path.parent)}.")
        return path

    def load(self, path) -> bool:
        """Load a saved selection into the model (see the module's choices); False if refused."""
        explorer = self.explorer
        try:
            saved = load_selection(path, explorer.model)
            reproduces = False
            if saved.recipe is not None and explorer.table is not None:
                scratch = HeaderSelectionState()
                scratch.restore(saved.recipe)
                reproduces = saved.recipe_reproduces(scratch.frames(explorer.table))
        except SavedSelectionError as error:
            self._say(str(error), ok=False)
            return False
        except (traitlets.TraitError, ValueError, KeyError) as error:
            self._say(f"The recipe in that file cannot be applied here ({error}); nothing was changed.", ok=False)
            return False
        label = saved.name or saved.path.name
        if reproduces:
            explorer.state.restore(saved.recipe)
            self._say(f"Loaded {label}: {saved.frame_ids.size} frames, {saved.recipe_words}.")
        else:
            explorer.model.select_frames(saved.frame_ids, source=f"{SOURCE_PREFIX} {label}", mode="replace")
            why = "made outside the header explorer" if saved.recipe is None else "its recipe selects other frames here"
            self._say(f"Loaded {label}: the {saved.frame_ids.size} saved frames ({why}).")
        return True


class SavedSelectionOffer(w.HBox):
    """A line over the explorer's tabs when the open dataset has saved selections (hidden otherwise).

    ``on_load(path)`` is called with the chosen file (the explorer opens its Headers
    tab and loads it there).
    """

    def __init__(self, model, on_load):
        super().__init__(layout=w.Layout(align_items="center"))
        self.add_class("dkw-saved-offer")
        self.model = model
        self.text = w.HTML()
        self.choice = w.Dropdown(options=[], layout=w.Layout(width="220px"))
        self.load_button = w.Button(description="Load in Headers", icon="folder-open")
        self.load_button.on_click(lambda _b: self.choice.value and on_load(self.choice.value))
        self.children = [self.text, self.choice, self.load_button]
        model.observe(self.refresh, names="dataset")
        self.refresh()

    def refresh(self, _change=None) -> None:
        """Offer the selections saved for the dataset open now."""
        options = _options(self.model.dataset)
        _offer(self.choice, options)
        self.layout.display = "flex" if options else "none"
        if not options:
            self.text.value = ""
            return
        try:
            dataset_id = dataset_id_of(self.model.dataset)
        except SavedSelectionError:
            dataset_id = "this dataset"
        n = len(options)
        self.text.value = escape(f"{n} saved selection{'s' if n > 1 else ''} of {dataset_id}:") + "&nbsp;"

    def close(self) -> None:
        try:
            self.model.unobserve(self.refresh, names="dataset")
        except ValueError:
            pass
        super().close()
