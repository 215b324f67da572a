"""Saved selections (issue 14, beyond what was asked): save next to the dataset, load back on
a freshly opened dataset, refuse another dataset's or a damaged file in one sentence.

The datasets are the sample archive's real ASDF files, copied to a temporary folder and
opened with ``dkist.load_dataset`` (each open is a new Dataset). Oracles: numpy over
``ds.headers`` and dkist's own ``len(ds[...].files)`` (the notebook's cell 21).
"""

from __future__ import annotations

import json
import shutil

import dkist
import numpy as np
import pytest

from dkist_widgets.core.model import DatasetModel
from dkist_widgets.core.saved_selection import FORMAT, SavedSelectionError, load_selection, recipe_of
from dkist_widgets.panels.header_explorer import HeaderExplorer

pytestmark = pytest.mark.timeout(300)


def _copy(archive, dataset_id, folder):
    folder.mkdir(parents=True, exist_ok=True)
    src = archive.asdf_path(dataset_id)
    shutil.copy2(src, folder / src.name)
    return folder / src.name


def _open(asdf):
    """A freshly opened dataset and a header explorer over it."""
    model = DatasetModel(dkist.load_dataset(asdf), refresh_local=False)
    return HeaderExplorer(model)


def _one_sentence(text):
    assert text and "\n" not in text and text.endswith(".") and len(text.split(". ")) == 1, text


def _message(explorer):
    import html
    import re

    return html.unescape(re.sub(r"<[^>]+>", "", explorer.saved.message.value))


@pytest.fixture
def kplmq(archive, tmp_path):
    return _copy(archive, "KPLMQ", tmp_path / "KPLMQ")


def test_round_trip_reproduces_frames_and_recipe_on_a_fresh_dataset(kplmq):
    first = _open(kplmq)
    # the notebook's gesture: threshold 0.08 (metres), then "Longest good run"
    first.threshold_mode.value = ">="
    first.threshold_text.value = 0.08
    first.longest_button.value = True
    ids = first.model.selected_frames.copy()
    recipe = recipe_of(first.state)
    first.saved.name.value = "good seeing"
    first.saved.save_button.click()
    written = kplmq.parent / "KPLMQ.good-seeing.selection.json"
    assert written.is_file() and sorted(p.name for p in kplmq.parent.iterdir()) == sorted([kplmq.name, written.name])
    document = json.loads(written.read_text())
    assert document["format"] == FORMAT and document["dataset_id"] == "KPLMQ"
    assert document["frame_ids"] == ids.tolist() and document["recipe"]["threshold"] == 0.08
    assert document["snippet"] == first.model.slices_for_frames(ids).snippet and document["created"]
    from dkist_widgets import __version__

    assert document["package_version"] == __version__

    second = _open(kplmq)  # a colleague opens the same ASDF
    assert second.model.dataset is not first.model.dataset and second.model.n_selected == 0
    assert second.saved.choice.options == (("good-seeing", str(written)),)
    second.saved.load_button.click()
    np.testing.assert_array_equal(second.model.selected_frames, ids)
    assert recipe_of(second.state) == recipe
    assert second.threshold_text.value == 0.08 and second.longest_button.value and second.threshold_mode.value == ">="
    assert second.model.selection_source == "header_explorer"  # the recipe is in force, not just the ids
    # independent oracle (notebook cell 21): the longest run of Stokes I raster steps with r0 >= 0.08
    ds = second.model.dataset
    headers = ds.headers
    stokes_i = headers[np.asarray(headers["DINDEX4"]) == 1]
    good = np.flatnonzero(np.ma.filled(stokes_i["ATMOS_R0"] >= 0.08, False))
    runs = np.split(good, np.flatnonzero(np.diff(good) != 1) + 1)
    best = max(runs, key=len)
    assert len(ds[:, best[0] : best[-1] + 1].files) == ids.size


def test_explore_offers_the_saved_selections(kplmq):
    from dkist_widgets.explorer import explore

    first = _open(kplmq)
    first.threshold_mode.value = ">="
    first.threshold_text.value = 0.08
    path = first.saved.save("r0 over 0.08")
    ex = explore(dkist.load_dataset(kplmq))
    offer = ex.saved_offer
    assert offer.layout.display == "flex" and "1 saved selection of KPLMQ" in offer.text.value
    assert offer.choice.value == str(path)
    offer.load_button.click()
    np.testing.assert_array_equal(ex.model.selected_frames, first.model.selected_frames)
    assert ex.tabs.titles[ex.tabs.selected_index] == "Headers"
    # the same ASDF in a folder without saved selections: no offer
    elsewhere = kplmq.parent.parent / "elsewhere"
    elsewhere.mkdir()
    empty = explore(dkist.load_dataset(shutil.copy2(kplmq, elsewhere / kplmq.name)))
    assert empty.saved_offer.layout.display == "none" and empty.saved_offer.choice.options == ()
    ex.close()
    empty.close()


def test_a_selection_of_another_dataset_is_refused_in_one_sentence(archive, kplmq, tmp_path):
    other = _open(_copy(archive, "RTZWX", tmp_path / "RTZWX"))
    other.threshold_mode.value = ">="
    other.threshold_text.value = 0.05
    foreign = other.saved.save("theirs")
    assert foreign is not None
    mine = _open(kplmq)
    mine.threshold_mode.value = ">="
    mine.threshold_text.value = 0.08
    before, recipe = mine.model.selected_frames.copy(), recipe_of(mine.state)
    assert mine.saved.load(foreign) is False
    _one_sentence(_message(mine))
    assert "RTZWX" in _message(mine) and "KPLMQ" in _message(mine)
    np.testing.assert_array_equal(mine.model.selected_frames, before)
    assert recipe_of(mine.state) == recipe
    with pytest.raises(SavedSelectionError):
        load_selection(foreign, mine.model)


@pytest.mark.parametrize(
    "content",
    [
        '{"format": "dkist-widgets.selection", "format_version": 1, "dataset_id": "KPL',  # cut short
        "\x00\x01 not json at all",
        '{"format": "dkist-widgets.selection", "format_version": 1, "dataset_id": "KPLMQ", "n_frames": 4, '
        '"frame_ids": [0, 1], "recipe": null}',  # wrong number of frames
        '{"format": "dkist-widgets.selection", "format_version": 1, "dataset_id": "KPLMQ", "n_frames": NFRAMES, '
        '"frame_ids": [0, 99999999], "recipe": null}',  # out of range
        "[1, 2, 3]",
    ],
    ids=["truncated", "binary", "frame-count", "out-of-range", "not-an-object"],
)
def test_a_damaged_file_gives_one_sentence_and_loses_nothing(kplmq, content):
    explorer = _open(kplmq)
    explorer.threshold_mode.value = ">="
    explorer.threshold_text.value = 0.08
    before, recipe = explorer.model.selected_frames.copy(), recipe_of(explorer.state)
    damaged = kplmq.parent / "KPLMQ.damaged.selection.json"
    damaged.write_text(content.replace("NFRAMES", str(explorer.model.n_frames)))
    data = damaged.read_bytes()
    explorer.saved.refresh()
    assert str(damaged) in dict(explorer.saved.choice.options).values()
    explorer.saved.choice.value = str(damaged)
    explorer.saved.load_button.click()
    _one_sentence(_message(explorer))
    assert "damaged" in _message(explorer) and "nothing was changed" in _message(explorer)
    np.testing.assert_array_equal(explorer.model.selected_frames, before)
    assert recipe_of(explorer.state) == recipe
    assert damaged.read_bytes() == data  # the file is only read


def test_a_folder_that_cannot_be_written_falls_back_to_the_data_folder(kplmq, tmp_path, monkeypatch):
    monkeypatch.setenv("DKIST_WIDGETS_DATA_DIR", str(tmp_path / "data"))
    explorer = _open(kplmq)
    explorer.model.dataset.files.basepath = tmp_path / "not-there"  # e.g. a shared copy we cannot write to
    explorer.threshold_mode.value = ">="
    explorer.threshold_text.value = 0.08
    path = explorer.saved.save("elsewhere")
    assert path == tmp_path / "data" / "selections" / "KPLMQ" / "KPLMQ.elsewhere.selection.json"
    assert str(path.parent) in _message(explorer)
    again = _open(kplmq)
    again.model.dataset.files.basepath = tmp_path / "not-there"
    again.saved.refresh()
    assert dict(again.saved.choice.options) == {"elsewhere": str(path)}
    assert again.saved.load(path)
    np.testing.assert_array_equal(again.model.selected_frames, explorer.model.selected_frames)
