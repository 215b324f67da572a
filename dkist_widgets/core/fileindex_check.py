"""A cheap self-check that :class:`~dkist_widgets.core.fileindex.FileIndex` still
agrees with the installed dkist.

``FileIndex`` re-implements dkist 1.18's slicing arithmetic (which files ``ds[item]``
touches) so that counts come in microseconds. A newer dkist could change that
arithmetic; the counts shown would then silently differ from what ``ds[item]``
does. So, once per process, the first dataset an index is built for is sliced by
dkist itself for a handful of items that touch a few files each (a few ``ds[...]``
calls; ``benchmarks/bench_fileindex_check.py`` measures them)
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
* The answer depends on the installed versions only, so it is remembered on disk
  (``fileindex-check.json`` in :func:`~dkist_widgets.core.paths.data_root`, keyed by the
  versions of dkist, ndcube, gwcs, astropy, numpy and dkist-widgets): a later kernel
  with the same versions slices nothing. A disagreement found earlier is still logged
  and warned in every process.
* A dataset over :data:`LARGEST_CHECKED` frames is not sliced (see there); dkist's
  small test dataset is checked instead, in a daemon thread that starts
  :data:`BACKGROUND_DELAY_S` after the open, so that it does not compete with the open
  for the interpreter (measured: it added 0.7-1.5 s to a 100k-frame lazy open).
"""

from __future__ import annotations

import json
import logging
import threading
import warnings
from importlib import metadata

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

#: Datasets with more frames than this are not sliced by dkist for the check: dkist's
#: ``ds[...]`` copies the whole header table (and first builds it, for a lazily opened
#: dataset), 1.6 s at 100k frames and a minute at 1M. Such an open checks dkist's own
#: small test dataset instead, in a background thread.
LARGEST_CHECKED = 10_000

#: Seconds between a large open and the start of the background check.
BACKGROUND_DELAY_S = 5.0

#: The file (in ``data_root()``) remembering the check's answer per set of versions.
RESULT_FILE = "fileindex-check.json"

#: The distributions whose versions decide how dkist slices (the key of the remembered answer).
DECIDING_DISTRIBUTIONS = ("dkist", "ndcube", "gwcs", "astropy", "numpy", "dkist-widgets")

#: dkist versions whose slicing FileIndex mirrors (checked against 1.18.1 with astropy 8
#: and 1.18.0 with astropy 7.0, the oldest versions pyproject.toml allows).
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


def _versions_key() -> str:
    parts = []
    for name in DECIDING_DISTRIBUTIONS:
        try:
            parts.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            parts.append(f"{name}==?")
    return " ".join(parts)


def _result_path():
    from .paths import data_root

    return data_root() / RESULT_FILE


def _remembered() -> tuple[bool, str | None]:
    """(found, sentence) for the installed versions, from the result file."""
    try:
        answers = json.loads(_result_path().read_text())
        entry = answers[_versions_key()]
        return True, entry["disagreement"]
    except (OSError, ValueError, KeyError, TypeError):
        return False, None


def _remember(sentence: str | None) -> None:
    try:
        path = _result_path()
        try:
            answers = json.loads(path.read_text())
            answers = answers if isinstance(answers, dict) else {}
        except (OSError, ValueError):
            answers = {}
        answers[_versions_key()] = {"disagreement": sentence}
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(answers, indent=1))
        tmp.replace(path)
    except OSError:  # a read-only or full disk: the check simply runs again next time
        logger.debug("could not remember the FileIndex self-check", exc_info=True)


def _forget_remembered() -> None:
    try:
        path = _result_path()
        answers = json.loads(path.read_text())
        answers.pop(_versions_key(), None)
        path.write_text(json.dumps(answers, indent=1))
    except (OSError, ValueError, AttributeError):
        pass


def probe_items(index) -> list[tuple]:
    """A handful of items that exercise file axes and in-file axes of this index.

    An int on the first file axis, short slices on every file axis, a slice starting
    inside the last file axis, and an int on the last data axis (inside every file,
    so it must not reduce the file count). Every file axis is cut to at most two
    entries, so each item touches a few files whatever the dataset's size: dkist's
    own ``ds[item].files`` costs per file touched (a probe of a whole million-frame
    dataset took a minute).
    """
    items: list[tuple] = []
    k = index.n_file_axes
    few = [slice(0, min(2, n)) for n in index.grid_shape[:k]]
    if k:
        items.append((0, *few[1:]))
        items.append(tuple(few))
        last = index.grid_shape[k - 1]
        if last > 1:
            items.append((*few[:-1], slice(1, min(3, last))))
    if index.ndim > k:
        items.append((*few, Ellipsis, 0))
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
    if _checked:
        return _disagreement
    found, sentence = _remembered()
    if found:
        with _lock:
            first = not _checked
            if first:
                _record(sentence)
        if first:
            _say(sentence, 0)
        return _disagreement
    if index.unsliceable_reason:
        return None
    if index.n_frames > LARGEST_CHECKED:
        _check_a_small_dataset_in_background()
        return None
    with _lock:
        if _checked:
            return _disagreement
        try:
            sentence = check_against_dkist(ds, index)
        except Exception:  # the check must never break loading a dataset (logged)
            logger.debug("FileIndex self-check could not run", exc_info=True)
            return None
        _record(sentence)
    _remember(sentence)
    _say(sentence, len(probe_items(index)))
    return sentence


def _record(sentence: str | None) -> None:
    global _checked, _disagreement
    _checked = True
    _disagreement = sentence


def _say(sentence: str | None, n_items: int) -> None:
    if sentence:
        logger.warning(sentence)
        warnings.warn(sentence, DkistSlicingDrift, stacklevel=4)
    elif n_items:
        logger.debug("FileIndex agrees with dkist %s on %d items", _dkist_version(), n_items)
    else:
        logger.debug("FileIndex agreed with dkist %s (remembered for these versions)", _dkist_version())


_background_started = False


def _check_a_small_dataset_in_background() -> None:
    """Check on dkist's own shipped ``large_visp`` test dataset (a few hundred files),
    once, in a daemon thread started :data:`BACKGROUND_DELAY_S` later: opening a large
    dataset never waits for it."""
    global _background_started
    with _lock:
        if _background_started or _checked:
            return
        _background_started = True

    def run() -> None:
        import gzip
        import shutil
        import tempfile
        from pathlib import Path

        try:
            import dkist

            from .fileindex import FileIndex

            source = Path(dkist.__file__).parent / "data" / "test" / "large_visp.asdf.gz"
            with tempfile.TemporaryDirectory(prefix="dkw-selfcheck-") as folder:
                target = Path(folder) / "large_visp.asdf"
                with gzip.open(source, "rb") as fin, open(target, "wb") as fout:
                    shutil.copyfileobj(fin, fout)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    small = dkist.load_dataset(target)
                    index = FileIndex.from_dataset(small)
                    sentence = check_against_dkist(small, index)
            with _lock:
                if _checked:
                    return
                _record(sentence)
            _remember(sentence)
            _say(sentence, len(probe_items(index)))
        except Exception:  # the check must never break anything (logged); the next dataset tries
            logger.debug("FileIndex self-check on dkist's test dataset could not run", exc_info=True)

    timer = threading.Timer(BACKGROUND_DELAY_S, run)
    timer.name, timer.daemon = "dkw-fileindex-check", True
    timer.start()


def last_disagreement() -> str | None:
    """The sentence of the process's self-check, or ``None`` (agreed or not run yet)."""
    return _disagreement


def reset() -> None:
    """Forget the result, here and on disk, so the next dataset is checked again."""
    global _checked, _disagreement, _background_started
    _forget_remembered()
    with _lock:
        _background_started = False
        _checked = False
        _disagreement = None
