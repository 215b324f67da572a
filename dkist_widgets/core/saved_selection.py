"""A selection saved next to its dataset, so a colleague reproduces it: file format, write, read.

One JSON file holds the frame ids (rows of ``ds.headers``) and the recipe that made
them (the :class:`~dkist_widgets.core.header_selection.HeaderSelectionState`
traits), with what a reader needs to trust it::

    {"format": "dkist-widgets.selection", "format_version": 1,
     "dataset_id": "KPLMQ", "n_frames": 480, "frame_ids": [12, 13, ...],
     "recipe": {"key": "ATMOS_R0", "threshold": 0.08, "direction": ">=", ...} | null,
     "recipe_words": "ATMOS_R0 ≥ 0.080 m, Stokes I, all Stokes at those times",
     "source": "header_explorer", "snippet": "ds[:, 40:95]",
     "name": "good seeing", "created": "2026-12-01T10:40:00+00:00",
     "package": "dkist-widgets", "package_version": "0.1.0"}

No widgets here; the header explorer's Save/Load control and ``explore()``'s offer
call these functions.

Choices
-------
* **Where.** Next to the dataset: the folder of its files (dkist's
  ``files.basepath``, where ``Fido.fetch`` put the ASDF), as
  ``<dataset id>.<name>.selection.json``, so it travels with the ASDF to a colleague.
  When that folder does not exist or cannot be written (a read-only shared copy), in
  this package's data folder instead (:func:`~dkist_widgets.core.paths.data_root`
  ``/selections/<dataset id>/``); :func:`saved_selections` lists both places.
* **Atomic.** Written to a temporary file in the same folder, flushed, then
  ``os.replace``-d onto the name: a reader sees the old file or the new one, never
  half of one. Saving under a name already used replaces that file (the same as
  saving a document again); other names are never touched.
* **Frame ids and recipe both.** The frame ids are the truth (they do not depend on
  the panel's version); the recipe says how they were made and lets the panel
  show the same brush, threshold and buttons. On load the recipe is applied only
  when it reproduces the saved ids exactly (:meth:`SavedSelection.recipe_reproduces`);
  otherwise the ids are selected as saved and the panel says the recipe differs.
* **Refusals are one sentence** (:class:`SavedSelectionError`): a file of another
  dataset, of another number of frames, not JSON, not this format, or with frame ids
  out of range. Reading never changes or deletes the file, and a refused file
  changes nothing in the model.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .header_selection import RECIPE_TRAITS
from .inventory import inventory_of
from .paths import data_root

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "SUFFIX",
    "SavedSelection",
    "SavedSelectionError",
    "dataset_id_of",
    "dataset_folder",
    "recipe_of",
    "save_selection",
    "load_selection",
    "saved_selections",
]

FORMAT = "dkist-widgets.selection"
FORMAT_VERSION = 1
SUFFIX = ".selection.json"
#: Recipe traits saved: those that decide the frames, and whether a brush adds intervals.
SAVED_TRAITS = (*RECIPE_TRAITS, "add_intervals")


class SavedSelectionError(ValueError):
    """A saved selection that cannot be used here; the message is one sentence."""


@dataclass(frozen=True)
class SavedSelection:
    """One saved selection (see the module docstring for the file)."""

    dataset_id: str
    n_frames: int
    frame_ids: np.ndarray
    recipe: dict | None
    recipe_words: str = ""
    source: str = ""
    snippet: str = ""
    name: str = ""
    created: str = ""
    package_version: str = ""
    path: Path | None = field(default=None, compare=False)

    def recipe_reproduces(self, frames_of_recipe) -> bool:
        """True when ``frames_of_recipe`` (what the recipe selects here) equals the saved ids."""
        return np.array_equal(np.asarray(frames_of_recipe, dtype=np.int64), self.frame_ids)

    def to_json(self) -> dict:
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "dataset_id": self.dataset_id,
            "n_frames": int(self.n_frames),
            "frame_ids": [int(i) for i in self.frame_ids],
            "recipe": self.recipe,
            "recipe_words": self.recipe_words,
            "source": self.source,
            "snippet": self.snippet,
            "name": self.name,
            "created": self.created,
            "package": "dkist-widgets",
            "package_version": self.package_version,
        }


# --------------------------------------------------------------------------- places


def dataset_id_of(dataset) -> str:
    """The dataset's id (``datasetId`` of its inventory); ``SavedSelectionError`` without one."""
    dataset_id = str(inventory_of(dataset).get("datasetId") or "").strip()
    if not dataset_id:
        raise SavedSelectionError(
            "This dataset has no dataset id in its inventory, so a selection cannot be tied to it."
        )
    return dataset_id


def dataset_folder(dataset) -> Path | None:
    """The folder of the dataset's files (``files.basepath``; the first tile's for a tiled one)."""
    files = getattr(dataset, "files", None)
    if files is None:
        for tile in getattr(dataset, "flat", ()):
            files = getattr(tile, "files", None)
            if files is not None:
                break
    base = getattr(files, "basepath", None)
    return Path(base).expanduser() if base else None


def _fallback_folder(dataset_id: str) -> Path:
    return data_root() / "selections" / _slug(dataset_id)


def _writable(folder: Path | None) -> bool:
    return folder is not None and folder.is_dir() and os.access(folder, os.W_OK | os.X_OK)


def _slug(text: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", str(text)).strip("-")
    return slug[:60] or "selection"


# --------------------------------------------------------------------------- write


def recipe_of(state) -> dict:
    """The saved traits of a :class:`HeaderSelectionState` as plain JSON values."""
    recipe = {name: getattr(state, name) for name in SAVED_TRAITS}
    recipe["intervals"] = [[float(lo), float(hi)] for lo, hi in recipe["intervals"]]
    recipe["stokes"] = list(recipe["stokes"])
    return recipe


def save_selection(
    model,
    *,
    name: str = "",
    recipe: Mapping | None = None,
    recipe_words: str = "",
    folder=None,
    version: str | None = None,
) -> Path:
    """Write the model's selection (and the recipe that made it) next to the dataset.

    ``recipe``: :func:`recipe_of` the state that made the selection (``None`` when
    another panel made it). ``folder``: where to write (default: next to the dataset,
    else the data folder; see the module docstring). Returns the file written.
    """
    dataset = model.dataset
    if dataset is None:
        raise SavedSelectionError("No dataset is open, so there is no selection to save.")
    dataset_id = dataset_id_of(dataset)
    ids = np.asarray(model.selected_frames, dtype=np.int64)
    if ids.size == 0:
        raise SavedSelectionError("Nothing is selected: select frames first, then save.")
    try:
        snippet = model.slices_for_frames(ids).snippet
    except ValueError as error:
        snippet = f"# no ds[...] for these frames: {error}"
    if version is None:
        from .. import __version__ as version
    name = str(name).strip() or dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    saved = SavedSelection(
        dataset_id=dataset_id,
        n_frames=int(model.n_frames),
        frame_ids=ids,
        recipe=dict(recipe) if recipe is not None else None,
        recipe_words=recipe_words,
        source=str(model.selection_source),
        snippet=snippet,
        name=name,
        created=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        package_version=str(version),
    )
    text = json.dumps(saved.to_json(), indent=1, ensure_ascii=False)
    filename = f"{_slug(dataset_id)}.{_slug(name)}{SUFFIX}"
    targets = [Path(folder).expanduser()] if folder is not None else [dataset_folder(dataset)]
    if folder is None:
        targets.append(None)  # the data folder, made on demand
    last_error = None
    for target in targets:
        if target is None:
            target = _fallback_folder(dataset_id)
            target.mkdir(parents=True, exist_ok=True)
        elif not _writable(target):
            continue
        try:
            return _write_atomically(target / filename, text)
        except OSError as error:  # read-only after all (a mount, a quota): try the next place
            last_error = error
    raise SavedSelectionError(f"The selection could not be written ({last_error or 'no writable folder'}).")


def _write_atomically(path: Path, text: str) -> Path:
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=SUFFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


# --------------------------------------------------------------------------- read


def saved_selections(dataset) -> list[Path]:
    """Files of selections saved for ``dataset`` (next to it and in the data folder), newest first."""
    try:
        dataset_id = dataset_id_of(dataset)
    except SavedSelectionError:
        return []
    pattern = f"{_slug(dataset_id)}.*{SUFFIX}"
    found = {}
    for folder in (dataset_folder(dataset), _fallback_folder(dataset_id)):
        if folder is not None and folder.is_dir():
            for path in folder.glob(pattern):
                if path.is_file() and not path.name.startswith(".tmp-"):
                    found[path.resolve()] = path
    return sorted(found.values(), key=lambda p: (-p.stat().st_mtime, p.name))


def load_selection(path, model) -> SavedSelection:
    """Read a saved selection and check it belongs to the dataset of ``model`` (a
    :class:`~dkist_widgets.core.model.DatasetModel`); ``SavedSelectionError`` (one
    sentence) otherwise. The file is only read, and nothing in ``model`` changes."""
    path = Path(path).expanduser()
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SavedSelectionError(f"{path.name} does not exist any more.") from None
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise SavedSelectionError(
            f"{path.name} is not a readable saved selection ({type(error).__name__}); nothing was changed."
        ) from None
    if not isinstance(document, Mapping) or document.get("format") != FORMAT:
        raise SavedSelectionError(f"{path.name} is not a dkist-widgets saved selection; nothing was changed.")
    if document.get("format_version") != FORMAT_VERSION:
        raise SavedSelectionError(
            f"{path.name} has format version {document.get('format_version')!r}, "
            f"this version reads {FORMAT_VERSION}; nothing was changed."
        )
    if model.dataset is None:
        raise SavedSelectionError("No dataset is open, so a saved selection cannot be applied.")
    dataset_id = dataset_id_of(model.dataset)
    if document.get("dataset_id") != dataset_id:
        raise SavedSelectionError(
            f"{path.name} is a selection of dataset {document.get('dataset_id')!r}, "
            f"not of {dataset_id!r}: nothing was changed."
        )
    return _parsed(document, path, int(model.n_frames))


def _parsed(document: Mapping, path: Path, n_frames: int) -> SavedSelection:
    problem = None
    try:
        ids = np.asarray([int(i) for i in document.get("frame_ids", [])], dtype=np.int64)
        saved_n = int(document.get("n_frames"))
    except (TypeError, ValueError):
        ids, saved_n, problem = np.zeros(0, dtype=np.int64), -1, "its frame ids are not whole numbers"
    recipe = document.get("recipe")
    if problem is None and saved_n != n_frames:
        problem = f"it was saved for {saved_n} frames and this dataset has {n_frames}"
    elif problem is None and (ids.size == 0 or ids.min() < 0 or ids.max() >= n_frames):
        problem = "its frame ids are empty or out of range"
    elif problem is None and np.any(np.diff(ids) <= 0):
        problem = "its frame ids are not sorted and distinct"
    elif problem is None and recipe is not None and not isinstance(recipe, Mapping):
        problem = "its recipe is not a set of named values"
    if problem:
        raise SavedSelectionError(f"{path.name} cannot be used: {problem}; nothing was changed.")

    def text(key) -> str:
        value = document.get(key)
        return value if isinstance(value, str) else ""

    return SavedSelection(
        dataset_id=str(document["dataset_id"]),
        n_frames=n_frames,
        frame_ids=ids,
        recipe=dict(recipe) if recipe is not None else None,
        recipe_words=text("recipe_words"),
        source=text("source"),
        snippet=text("snippet"),
        name=text("name"),
        created=text("created"),
        package_version=text("package_version"),
        path=path,
    )
