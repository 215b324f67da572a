"""The once-per-process self-check of FileIndex against the installed dkist (issue 15.6).

The oracle is dkist's own ``ds[item]`` on the test ASDFs shipped inside dkist; the
"deliberately wrong" index below is a real FileIndex whose answer is shifted by one
file, which the check must catch.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pytest

from dkist_widgets.core import fileindex_check
from dkist_widgets.core.fileindex import FileIndex
from tests.helpers.dkist_samples import load


@pytest.fixture(autouse=True)
def _fresh_check():
    fileindex_check.reset()
    yield
    fileindex_check.reset()


class OffByOneIndex(FileIndex):
    """A FileIndex that reports one file too many on every file-axis slice."""

    def files(self, resolved):
        files = super().files(resolved)
        extra = self.fileuri_array.ravel()[-1:]
        return np.concatenate([files, extra]) if files.size < self.n_frames else files


@pytest.mark.parametrize("name", ["large_visp", "eit"])
def test_real_index_agrees_with_dkist(name):
    ds = load(name)
    index = FileIndex.from_dataset(ds)
    assert fileindex_check.probe_items(index), "the probe must slice something"
    assert fileindex_check.check_against_dkist(ds, index) is None
    assert fileindex_check.last_disagreement() is None


def test_probe_items_really_reach_dkist():
    """At least one probe changes the file count in dkist itself (so the check can see drift)."""
    ds = load("large_visp")
    index = FileIndex.from_dataset(ds)
    counts = {len(ds[item].files) for item in fileindex_check.probe_items(index)}
    assert any(c != len(ds.files) for c in counts)


def test_wrong_answer_is_detected_logged_and_warned(caplog):
    ds = load("large_visp")
    real = FileIndex.from_dataset(ds)
    fileindex_check.reset()
    wrong = OffByOneIndex(
        real.fileuri_array, real.data_shape, real.in_file_shape, real.itemsize, loader_ndim=real.loader_ndim
    )
    with caplog.at_level(logging.WARNING, logger="dkist_widgets.fileindex"):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            sentence = fileindex_check.check_once(ds, wrong)
    assert sentence is not None
    # dkist's own count appears in the sentence, and ours (one more) too
    item = fileindex_check.probe_items(real)[0]
    n_dkist = len(ds[item].files)
    assert f"{n_dkist} files" in sentence and f"{n_dkist + 1} files" in sentence
    assert sentence.count(".") >= 1 and "\n" not in sentence
    assert any(r.getMessage() == sentence for r in caplog.records)
    assert [str(w.message) for w in caught if issubclass(w.category, fileindex_check.DkistSlicingDrift)] == [sentence]
    assert fileindex_check.last_disagreement() == sentence
    # once per process: a later dataset is not sliced again and the result stays
    assert fileindex_check.check_once(load("eit"), FileIndex.from_dataset(load("eit"))) == sentence


def test_check_runs_on_first_use_only(monkeypatch):
    ds = load("large_visp")
    calls = []
    real = fileindex_check.check_against_dkist

    def counting(ds_, index, items=None):
        calls.append(index.n_frames)
        return real(ds_, index, items)

    monkeypatch.setattr(fileindex_check, "check_against_dkist", counting)
    FileIndex.from_dataset(ds)
    FileIndex.from_dataset(ds)
    FileIndex.from_dataset(load("eit"))
    assert calls == [len(ds.files)]


def test_a_large_dataset_is_not_sliced_for_the_check_and_dkists_test_dataset_is_checked_instead(monkeypatch):
    """dkist's ``ds[...]`` copies the whole header table: a dataset over
    LARGEST_CHECKED frames must open without it, and the check still happens, on
    dkist's own small test dataset in the background."""
    import time as _time

    from dkist_widgets.core import fileindex_check
    from dkist_widgets.core.fileindex import FileIndex
    from tests.helpers import dkist_samples

    fileindex_check.reset()
    ds = dkist_samples.load("large_visp")
    monkeypatch.setattr(fileindex_check, "LARGEST_CHECKED", FileIndex.from_dataset(ds).n_frames - 1)
    monkeypatch.setattr(fileindex_check, "BACKGROUND_DELAY_S", 0.0)
    fileindex_check.reset()
    sliced = []
    real = fileindex_check._theirs
    monkeypatch.setattr(fileindex_check, "_theirs", lambda d, item: sliced.append(d) or real(d, item))
    FileIndex.from_dataset(ds)
    assert ds not in sliced  # the dataset in hand was not sliced by dkist
    deadline = _time.monotonic() + 60
    while not fileindex_check._checked:
        assert _time.monotonic() < deadline, "the background check did not run"
        _time.sleep(0.05)
    assert sliced and all(d is not ds for d in sliced)
    assert fileindex_check.last_disagreement() is None
    fileindex_check.reset()


def _forget_in_memory_only():
    """What a new kernel sees: nothing in memory, the result file on disk."""
    fileindex_check._checked = False
    fileindex_check._disagreement = None
    fileindex_check._background_started = False


def test_the_answer_is_remembered_per_set_of_versions(monkeypatch, tmp_path):
    """A later kernel with the same versions slices nothing; other versions check again."""
    monkeypatch.setenv("DKIST_WIDGETS_DATA_DIR", str(tmp_path))
    fileindex_check.reset()
    ds = load("large_visp")
    calls = []
    real = fileindex_check.check_against_dkist
    monkeypatch.setattr(fileindex_check, "check_against_dkist", lambda *a, **k: calls.append(1) or real(*a, **k))
    FileIndex.from_dataset(ds)
    assert calls == [1]
    import json

    remembered = json.loads((tmp_path / fileindex_check.RESULT_FILE).read_text())
    assert remembered == {fileindex_check._versions_key(): {"disagreement": None}}
    assert "dkist==" in fileindex_check._versions_key() and "astropy==" in fileindex_check._versions_key()

    _forget_in_memory_only()
    FileIndex.from_dataset(ds)
    assert calls == [1] and fileindex_check._checked  # remembered: nothing sliced

    _forget_in_memory_only()
    monkeypatch.setattr(fileindex_check, "_versions_key", lambda: "dkist==9.9 (another environment)")
    FileIndex.from_dataset(ds)
    assert calls == [1, 1]  # other versions: checked again, and remembered beside the first
    assert len(json.loads((tmp_path / fileindex_check.RESULT_FILE).read_text())) == 2


def test_a_remembered_disagreement_is_still_warned_in_a_new_kernel(monkeypatch, tmp_path, caplog):
    monkeypatch.setenv("DKIST_WIDGETS_DATA_DIR", str(tmp_path))
    fileindex_check.reset()
    ds = load("large_visp")
    real = FileIndex.from_dataset(ds)
    fileindex_check.reset()
    wrong = OffByOneIndex(
        real.fileuri_array, real.data_shape, real.in_file_shape, real.itemsize, loader_ndim=real.loader_ndim
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sentence = fileindex_check.check_once(ds, wrong)
    assert sentence
    _forget_in_memory_only()
    with caplog.at_level(logging.WARNING, logger="dkist_widgets.fileindex"):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert fileindex_check.check_once(ds, real) == sentence
    assert [str(w.message) for w in caught if issubclass(w.category, fileindex_check.DkistSlicingDrift)] == [sentence]
    assert fileindex_check.last_disagreement() == sentence


def test_an_unwritable_data_dir_only_means_checking_again(monkeypatch, tmp_path):
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the folder should be")
    monkeypatch.setattr(fileindex_check, "_result_path", lambda: blocked / fileindex_check.RESULT_FILE)
    fileindex_check.reset()
    ds = load("large_visp")
    assert fileindex_check.check_once(ds, FileIndex.from_dataset(ds)) is None
    assert fileindex_check._checked


def test_the_background_check_waits_for_the_open_to_finish(monkeypatch, tmp_path):
    """The large-dataset check starts BACKGROUND_DELAY_S after the open, not during it."""
    import time as _time

    monkeypatch.setenv("DKIST_WIDGETS_DATA_DIR", str(tmp_path))
    ds = load("large_visp")
    monkeypatch.setattr(fileindex_check, "LARGEST_CHECKED", FileIndex.from_dataset(ds).n_frames - 1)
    monkeypatch.setattr(fileindex_check, "BACKGROUND_DELAY_S", 1.5)
    fileindex_check.reset()
    started = []
    real = fileindex_check.check_against_dkist
    monkeypatch.setattr(
        fileindex_check, "check_against_dkist", lambda *a, **k: started.append(_time.monotonic()) or real(*a, **k)
    )
    opened = _time.monotonic()
    FileIndex.from_dataset(ds)
    deadline = opened + 60
    while not fileindex_check._checked:
        assert _time.monotonic() < deadline, "the background check did not run"
        _time.sleep(0.05)
    assert started and started[0] - opened >= 1.5
