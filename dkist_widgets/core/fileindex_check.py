"""A cheap self-check that :class:`~dkist_widgets.core.fileindex.FileIndex` still
agrees with the installed dkist.

``FileIndex`` re-implements dkist 1.18's slicing arithmetic (which files ``ds[item]``
touches) so that counts come in microseconds. A newer dkist could change that
arithmetic; the counts shown would then silently differ from what ``ds[item]``
does. So, once per process, the first dataset an index is built for is sliced by
dkist itself for a handful of items (a few ``ds[...]`` calls, ~0.1-0.5 s in all)
and the answers (files touched, output shape, or whether it raises) are compared.

Choices:

* The check runs on the dataset in hand (no extra file to load). A dataset dkist
  cannot slice at all (see ``FileIndex.unsliceable_reason``) or whose slicing raises
  in the WCS for reasons unrelated to files does not count as checked: the next
  dataset is tried instead.
* A disagreement is logged (logger ``dkist_widgets.fileindex``) and raised as a
  :class:`DkistSlicingDrift` warning, once per process, in one sentence naming the
  item, both answers and the dkist version; :func:`last_disagreement` returns the
  sentence so a panel can show it. Counts are still shown (dkist's own
  ``ds[item]`` remains the authority), the warning says not to trust them blindly.
* The supported range, :data:`SUPPORTED_DKIST`, is declared in docs/real-world.md;
  outside it the check is what protects the user.
"""

from __future__ import annotations

import logging
import threading
import warnings

import numpy as np

__all__ = [
    "DkistSlicingDrift",
    "SUPPORTED_DKIST",
    "check_against_dkist",
    "check_once",
    "last_disagreement",
    "probe_items",
    "reset",
]

#: dkist versions whose slicing FileIndex mirrors (checked against 1.18.1).
SUPPORTED_DKIST = ">=1.18,<1.19"

logger = logging.getLogger("dkist_widgets.fileindex")


class DkistSlicingDrift(UserWarning):
    """The installed dkist slices files differently from what FileIndex computes."""


_lock = threading.Lock()
_checked = False
_disagreement: str | None = None


def _dkist_version() -> str:
    try:
        import dkist

        return str(dkist.__version__)
    except Exception:  # noqa: BLE001 - pragma: no cover - dkist is a dependency
        return "unknown"


def probe_items(index) -> list[tuple]:
    """A handful of items that exercise file axes and in-file axes of this index.

    An int and a short slice on the first file axis, a slice starting inside the
    last file axis, and an int on the last data axis (inside every file, so it
    must not reduce the file count).
    """
    items: list[tuple] = []
    k = index.n_file_axes
    if k:
        first = index.grid_shape[0]
        items.append((0,))
        items.append((slice(0, min(2, first)),))
        last = index.grid_shape[k - 1]
        if last > 1:
            items.append((*([slice(None)] * (k - 1)), slice(1, last)))
    if index.ndim > k:
        items.append((Ellipsis, 0))
    return items


def _ours(index, item):
    try:
        resolved = index.resolve(item)
    except (ValueError, IndexError) as exc:
        return ("raises", type(exc).__name__)
    return ("files", tuple(str(f) for f in index.files(resolved)), tuple(resolved.shape))


def _theirs(ds, item):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sub = ds[item]
            files = tuple(str(f) for f in np.asarray(sub.files.filenames).ravel())
            shape = tuple(int(n) for n in sub.data.shape)
    except Exception as exc:  # noqa: BLE001 - what dkist raises is part of its answer
        return ("raises", type(exc).__name__)
    return ("files", files, shape)


def _describe(answer) -> str:
    if answer[0] == "raises":
        return f"raises {answer[1]}"
    return f"{len(answer[1])} files, shape {answer[2]}"


def check_against_dkist(ds, index, items=None) -> str | None:
    """Compare ``index`` with dkist's own ``ds[item]`` for a few items.

    Returns ``None`` when they agree, else one sentence describing the first
    disagreement. Both raising counts as agreement (the exception type may differ:
    dkist raises from several layers).
    """
    from .fileindex import format_item

    for item in probe_items(index) if items is None else items:
        ours, theirs = _ours(index, item), _theirs(ds, item)
        if ours[0] == "raises" and theirs[0] == "raises":
            continue
        if ours[0] == theirs[0] == "files" and ours[1:] == theirs[1:]:
            continue
        return (
            f"dkist {_dkist_version()} slices ds[{format_item(item)}] into "
            f"{_describe(theirs)} where dkist-widgets counts {_describe(ours)}: "
            f"file counts shown here may be wrong (supported dkist {SUPPORTED_DKIST})."
        )
    return None


def check_once(ds, index) -> str | None:
    """Run :func:`check_against_dkist` on the first checkable dataset of the process.

    Later calls return the first result without slicing anything. Never raises:
    a failure of the check itself is logged and the next dataset is tried.
    """
    global _checked, _disagreement
    if _checked:
        return _disagreement
    if index.unsliceable_reason:
        return None
    with _lock:
        if _checked:
            return _disagreement
        try:
            sentence = check_against_dkist(ds, index)
        except Exception:  # the check must never break loading a dataset
            logger.debug("FileIndex self-check could not run", exc_info=True)
            return None
        _checked = True
        _disagreement = sentence
    if sentence:
        logger.warning(sentence)
        warnings.warn(sentence, DkistSlicingDrift, stacklevel=3)
    else:
        logger.debug("FileIndex agrees with dkist %s on %d items", _dkist_version(), len(probe_items(index)))
    return sentence


def last_disagreement() -> str | None:
    """The sentence of the process's self-check, or ``None`` (agreed or not run yet)."""
    return _disagreement


def reset() -> None:
    """Forget the result so the next dataset is checked again (tests)."""
    global _checked, _disagreement
    with _lock:
        _checked = False
        _disagreement = None
