"""Bad dataset input (issue 9, part 1): every panel says what is wrong, shows no
traceback, stays usable, and loses nothing.

Inputs are built in tmp folders by tests/hostile_datasets.py from the cached sample
archive (KPLMQ VISP, GHMNE tiled VBI), a small headers-only dataset and dkist's own
test data. Oracles: dkist itself (``ds[...].files``, tile datasets' own file lists)
and the files on disk.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from dkist_widgets import explore
from dkist_widgets.core.model import DatasetModel
from dkist_widgets.explorer import PANEL_TITLES
from tests.helpers import dkist_samples
from tests.helpers import hostile_datasets as hd

pytestmark = pytest.mark.timeout(120)

ALL_TABS = ("Headers", "Slice & files", "Preview", "Transfers")


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    """A 40-frame (4 Stokes x 10 steps) headers-only VISP dataset with full headers."""
    from dkist_widgets.sandbox.headers_only import make_headers_only_dataset

    return make_headers_only_dataset(tmp_path_factory.mktemp("small"), 10, 4, dataset_id="SMALL")


def open_all(ex):
    for title in ALL_TABS:
        ex.show(title)
    return ex


# ---------------------------------------------------------------- 1. truncated / corrupt ASDF


@pytest.mark.parametrize(
    "kind, expected",
    [
        ("truncated", "the file is truncated"),
        ("garbage", "this is not an ASDF file"),
        ("empty", "the file is empty"),
        ("yaml_not_asdf_tree", "the ASDF file is damaged"),
        ("not_dkist", "this ASDF file holds no DKIST dataset"),
    ],
)
def test_bad_asdf_in_explore_is_a_message_and_the_model_is_kept(world, archive, tmp_path, kind, expected):
    good = archive.asdf_path("KPLMQ")
    bad = hd.write_bad_asdf(kind, good, tmp_path)
    ex = explore(bad)
    try:
        said = hd.words(ex.load_message.value)
        assert f"Could not open {bad.name}: {expected}" in said, said
        assert "Nothing was loaded" in said
        assert ex.model.dataset is None and ex.load_error
        assert PANEL_TITLES[ex.tabs.selected_index] == "Search"  # the user can look for another
        hd.assert_no_traceback(ex)
        # the notebook stays usable: a good file into the same model works, the note goes
        ex2 = explore(good, model=ex.model)
        assert ex.model.n_frames == 400 and not ex2.load_error
        assert ex.load_message.value == ""
        ex2.close()
        # a bad file given to a model that holds a dataset changes nothing, selection included
        ex.model.select_frames([3, 4, 5], source="test")
        ex3 = explore(bad, model=ex.model)
        assert "still shows the dataset it had" in hd.words(ex3.load_message.value)
        assert ex.model.n_frames == 400 and list(ex.model.selected_frames) == [3, 4, 5]
        ex3.close()
    finally:
        ex.close()


def test_search_open_of_a_damaged_asdf_says_why_and_keeps_the_open_dataset(world, archive, tmp_path):
    """A truncated ASDF left where Open would reuse it: the message names it, the model keeps its dataset."""
    from sunpy.net import Fido
    from sunpy.net import attrs as a

    res = Fido.search(a.dkist.Dataset("KPLMQ"))
    model = DatasetModel(hd.load(archive.asdf_path("GHMNE")))
    model.select_frames([1, 2], source="test")
    ex = explore(res, model=model)
    try:
        search = ex.panel("Search")
        search.path_template.value = str(tmp_path / "{dataset_id}/")
        search.select_ids(["KPLMQ"])
        # first Open downloads the real file: find where it went, then damage it in place
        target = tmp_path / "KPLMQ" / archive.asdf_path("KPLMQ").name
        target.parent.mkdir(parents=True)
        target.write_bytes(archive.asdf_path("KPLMQ").read_bytes()[:50_000])
        assert search.open_selected() is not None
        assert search.wait(60)
        assert search.message_kind == "error", search.message_text
        assert f"Could not open {target.name}: the file is truncated" in search.message_text
        assert "Traceback" not in search.message.value
        assert model.is_tiled and list(model.selected_frames) == [1, 2]  # nothing lost
        # remove the damaged copy: Open downloads it again and works
        target.unlink()
        search.open_selected()
        assert search.wait(60), search.message_text
        deadline = time.monotonic() + 10
        while model.n_frames != 400:
            assert time.monotonic() < deadline, search.message_text
            time.sleep(0.05)
        assert search.message_kind == "ok"
    finally:
        ex.close()


# ---------------------------------------------------------------- 2. ASDF with no headers


def test_asdf_without_headers(world):
    path = dkist_samples.asdf_path("visp_no_headers.asdf.gz")
    ex = open_all(explore(path))
    try:
        assert not ex.errors and not ex.load_error
        he = ex.panel("Headers")
        said = hd.words(he.status.value)
        assert f"header table has 0 rows for {ex.model.n_frames:,} files".replace(",", "") in said.replace(",", "")
        assert "nothing can be selected here" in said
        hd.assert_no_traceback(ex)
        # the other panels work on the file grid alone
        sb = ex.panel("Slice & files").slice_builder
        sb.set_item((0,))
        sb.apply()
        assert "applied ds[0" in hd.words(sb.status.value)
        assert ex.model.working_preview.n_files == len(hd.load(path)[0].files)  # dkist's own count
        fm = ex.panel("Slice & files").file_map
        picked = fm.select_rect([0, 0], [0, 4])
        assert len(picked) == 5 and ex.model.n_selected == 5
        # the button says the files and the bytes a transfer of them moves (issue 14.5)
        moved = ex.model.download_bytes().short
        assert f"Selected frames (5 files, {moved})" == ex.panel("Transfers").start_selection.description
    finally:
        ex.close()


def test_level2_inversion_is_refused_and_the_model_is_kept(world, archive):
    """dkist's own level 2 test file loads as an Inversion, not a Dataset: said, nothing changed."""
    path = dkist_samples.asdf_path("test_L2_inversion.asdf.gz")
    model = DatasetModel(hd.load(archive.asdf_path("KPLMQ")))
    model.select_frames([3, 4], source="test")
    ex = explore(path, model=model)
    try:
        said = hd.words(ex.load_message.value)
        assert "(level 2 data), not a level 1 Dataset or TiledDataset" in said, said
        assert "still shows the dataset it had" in said
        assert model.n_frames == 400 and list(model.selected_frames) == [3, 4]
        hd.assert_no_traceback(ex)
    finally:
        ex.close()


# ---------------------------------------------------------------- 3. missing keys


@pytest.mark.parametrize(
    "key, expected",
    [
        ("ATMOS_R0", "ATMOS_R0 is not in these headers"),
        ("DATE-AVG", "DATE-AVG is absent"),
        ("DINDEX4", None),  # Stokes comes from the file grid: nothing to complain about
    ],
)
def test_headers_missing_one_key(small, key, expected):
    ds = hd.without_key(small, key)
    ex = open_all(explore(ds))
    try:
        assert not ex.errors, ex.errors
        he = ex.panel("Headers")
        if expected:
            assert expected in hd.words(he.status.value)
        assert he.table.stokes.names == ("I", "Q", "U", "V")
        hd.assert_no_traceback(ex)
        # selecting still works and reaches every panel, checked against dkist's files
        ids = he.brush_interval(2, 5) if he.x == "frame" else he.select_where("DINDEX3", min=3, max=6)
        assert len(ids) > 0 and ex.model.n_selected == len(ids)
        names = np.asarray(ds.files.filenames)[ids]
        assert sorted(ex.model.files_for_frames(ids)) == sorted(names)
        moved = ex.model.download_bytes(ids).short  # the bytes the transfer moves (issue 14.5)
        assert ex.panel("Transfers").start_selection.description == f"Selected frames ({len(ids)} files, {moved})"
        if key == "ATMOS_R0":
            with pytest.raises(KeyError, match="ATMOS_R0"):
                he.longest_good_run()
            assert ex.model.n_selected == len(ids)  # the refused action kept the selection
    finally:
        ex.close()


# ---------------------------------------------------------------- 4. r0 masked / NaN / inf


@pytest.mark.parametrize("kind", ["masked", "nan", "inf", "-inf"])
def test_r0_without_a_finite_value_leaves_safe_controls(small, kind):
    ds = hd.with_r0(small, kind)
    ex = open_all(explore(ds))
    try:
        assert not ex.errors, ex.errors
        he = ex.panel("Headers")
        assert he.key == "ATMOS_R0"
        assert all(len(m.y) == 0 for m in he.series_marks.values())  # nothing drawn, nothing faked
        hd.assert_no_traceback(ex)
        # every selection control answers without raising, and selects no frame by r0
        assert len(he.set_threshold(0.05)) == 0
        assert len(he.select_where("ATMOS_R0", min=0.0)) == 0
        he.clear()
        # the rest still works: a brush on time, the file map, the slice builder
        fm = ex.panel("Slice & files").file_map
        assert len(fm.select_rect([0, 3], [0, 1])) == 8 and ex.model.n_selected == 8
        sb = ex.panel("Slice & files").slice_builder
        sb.set_item((0,))
        sb.apply()
        assert ex.model.working_preview.n_files == len(ds[0].files) == 10
    finally:
        ex.close()


@pytest.mark.parametrize("kind", ["masked", "nan"])
def test_r0_without_a_finite_value_is_said_and_refusal_keeps_selection(small, kind):
    from dkist_widgets.panels.header_explorer import HeaderExplorer

    ds = hd.with_r0(small, kind)
    model = DatasetModel(ds, refresh_local=False)
    he = HeaderExplorer(model)
    assert "no finite ATMOS_R0 values" in hd.words(he.status.value)
    model.select_frames([0, 1, 2], source="file map")
    he.longest_button.value = True  # a click on "Longest good run"
    assert list(model.selected_frames) == [0, 1, 2]
    assert "no finite ATMOS_R0 values" in hd.words(he.status.value)


# ---------------------------------------------------------------- 5. zero frames


def test_zero_frame_dataset_and_empty_slice(world, archive):
    """dkist cannot build a Dataset over 0 files (FileManager.from_parts raises IndexError);
    the closest is ``ds[0:0]``, which dkist itself answers with 0 files."""
    ds = hd.load(archive.asdf_path("KPLMQ"))
    empty = ds[0:0]
    assert len(empty.files) == 0
    model = DatasetModel(ds)
    model.select_frames([7, 8], source="test")
    ex = explore(empty, model=model)
    try:
        said = hd.words(ex.load_message.value)
        assert "Could not explore this Dataset: this dataset has no files" in said
        assert "still shows the dataset it had" in said
        assert model.dataset is ds and list(model.selected_frames) == [7, 8]
        open_all(ex)
        assert not ex.errors
        # an empty working slice: every panel says 0 files and nothing can be sent
        model.set_slice((slice(0, 0),))
        assert model.working_preview.n_files == len(ds[0:0].files) == 0
        monitor = ex.panel("Transfers")
        assert monitor.start_subset.description == "Working subset (0 files)" and monitor.start_subset.disabled
        fm = ex.panel("Slice & files").file_map
        assert not any(b & 1 for b in fm.states)  # no file in the slice
        hd.assert_no_traceback(ex)
    finally:
        ex.close()
    # with no dataset before: a message and the search form
    ex = explore(empty)
    try:
        assert "this dataset has no files" in hd.words(ex.load_message.value)
        assert ex.model.dataset is None and PANEL_TITLES[ex.tabs.selected_index] == "Search"
    finally:
        ex.close()


# ---------------------------------------------------------------- 6. tiled with masked tiles


def test_tiled_dataset_with_masked_tiles(world, archive):
    ds = hd.load(archive.asdf_path("GHMNE"))
    mask = np.zeros(ds.shape, dtype=bool)
    mask[0, 1] = mask[2, 0] = True
    ds.mask = mask
    ex = open_all(explore(ds))
    try:
        model = ex.model
        assert not ex.errors and not ex.load_error
        unmasked = [ds[p] for p in np.ndindex(ds.shape) if not mask[p]]
        assert model.n_frames == sum(len(t.files) for t in unmasked) == 21
        he = ex.panel("Headers")
        assert "cannot be matched" not in he.status.value  # dkist keeps all 27 rows in combined_headers
        assert len(model.headers) == 21
        # each frame's header row is its file's (FILENAME column vs dkist's per-tile file lists)
        expected = [n for t in unmasked for n in t.files.filenames]
        assert model.files_for_frames(np.arange(21)) == expected
        assert [str(f) for f in model.headers["FILENAME"]] == expected
        ids = he.brush_interval(0, 10)
        assert len(ids) > 0
        # masked tiles cannot be chosen, and trying keeps the choice
        sb = ex.panel("Slice & files").slice_builder
        assert sb._tile_buttons[(0, 1)].disabled and sb._tile_buttons[(2, 0)].disabled
        before = model.selected_tiles.copy()
        with pytest.raises(ValueError, match="masked"):
            model.select_tiles(np.ones(ds.shape, dtype=bool))
        np.testing.assert_array_equal(model.selected_tiles, before)
        fm = ex.panel("Slice & files").file_map
        assert fm.grid_shape == [7, 3]
        hd.assert_no_traceback(ex)
    finally:
        ex.close()
    ds.mask = np.ones(ds.shape, dtype=bool)
    ex = explore(ds)
    try:
        assert "every tile of this TiledDataset is masked" in hd.words(ex.load_message.value)
        assert ex.model.dataset is None
    finally:
        ex.close()


# ---------------------------------------------------------------- 7. HTML in names and headers


def test_html_in_file_names_headers_and_labels_is_inert_in_every_panel():
    """test_header_explorer / test_explorer cover the header explorer and overview; this covers
    the file map, slice builder, preview and transfer monitor of a whole explorer."""
    from tests.helpers.header_samples import visp_dataset

    names = [f"<img src=x onerror=alert({i})>.fits" for i in range(4 * 10)]
    ds = visp_dataset(10, seed=4, names=names)
    ds.headers.replace_column("OBJECT", np.full(len(ds.headers), "<script>alert(1)</script>"))
    ds.meta["inventory"].update(datasetId="<script>alert(2)</script>", primaryProposalId="<b>p</b>", bucket="data")
    ex = open_all(explore(ds))
    try:
        assert not ex.errors, ex.errors
        ex.model.select_frames([0, 1], source="<i>me</i>")
        ex.panel("Headers").mark_frame(1)
        for value in hd.html_values(ex):
            assert "<script" not in value and "<img" not in value and "<b>p</b>" not in value, value[:300]
            assert "<i>me</i>" not in value
        fm = ex.panel("Slice & files").file_map
        tip = fm.describe(0, 1)  # plain text for the canvas tip (textContent in the browser)
        assert "<img src=x onerror=alert(1)>.fits" in tip
        monitor = ex.panel("Transfers")
        assert "&lt;b&gt;p&lt;/b&gt;" in monitor.path_preview.value or "dkw-path-error" in monitor.path_preview.value
    finally:
        ex.close()


# ---------------------------------------------------------------- 8. local destination not writable / full

SRC = "5d1c0e2a-0000-4000-8000-00000000c0aa"
DST = "5d1c0e2a-0000-4000-8000-00000000c0bb"
INVENTORY = {
    "datasetId": "HOSTL",
    "primaryProposalId": "pid_9_9",
    "bucket": "data",
    "instrumentName": "VISP",
    "startTime": "2022-06-01T10:00:00",
}
FILE_SIZE = 200_000


@pytest.fixture
def transfer_world(tmp_path):
    from dkist_widgets.core.transfers import TaskStore, TransferSession, TransferSettings
    from dkist_widgets.panels.transfers import TransferMonitor
    from dkist_widgets.sandbox.globus_service import LoopbackGlobus

    src = tmp_path / "dkist-endpoint"
    folder = src / "data" / "pid_9_9" / "HOSTL"
    folder.mkdir(parents=True)
    for i in range(8):
        (folder / f"f{i}.fits").write_bytes(bytes([i]) * FILE_SIZE)
    dest = tmp_path / "laptop"
    dest.mkdir()
    svc = LoopbackGlobus({SRC: ("DKIST (test)", src, False), DST: ("Laptop (test)", dest, True)}, rate_bytes_per_s=None)
    svc.start()
    settings = TransferSettings(
        transfer_url=svc.url, source_endpoint_id=SRC, destination_endpoint_id=DST, destination_local_root=dest
    )
    ds = dkist_samples.synthetic_dataset(
        (2, 4), names=np.array([f"f{i}.fits" for i in range(8)]), basepath=tmp_path / "nowhere"
    )
    ds.meta["inventory"].update(INVENTORY)
    model = DatasetModel(ds)
    monitor = TransferMonitor(
        model,
        session=TransferSession(settings),
        store=TaskStore(tmp_path / "t.json"),
        active_interval=0.1,
        refresh_interval=0.2,
    )
    yield monitor, model, dest, svc
    monitor.close()
    svc.stop()


def _mount_tmpfs(where: Path, options: str) -> bool:
    """A real small filesystem (needs root with mount rights); False where that is not allowed."""
    where.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0 or not shutil.which("mount"):
        return False
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)], capture_output=True)
    return done.returncode == 0


def _umount(where: Path) -> None:
    subprocess.run(["umount", str(where)], capture_output=True)


def _refused_then_works(monitor, model, dest, root, words):
    monitor.root.value = root
    model.select_frames([1, 2, 3], source="test")
    monitor.start_selection.click()
    said = hd.words(monitor.message.value)
    assert "dkw-error" in monitor.message.value and all(w_ in said for w_ in words), said
    assert "Nothing was submitted" in said and len(monitor.rows.children) == 0
    assert list(model.selected_frames) == [1, 2, 3]  # nothing lost
    # usable afterwards: a writable folder with room gets the files
    monitor.root.value = "/~/"
    monitor.start_selection.click()
    assert len(monitor.rows.children) == 1, monitor.message.value
    landed = dest / "dkist" / "pid_9_9" / "HOSTL"
    deadline = time.monotonic() + 20
    while sorted(p.name for p in landed.glob("*.fits")) != ["f1.fits", "f2.fits", "f3.fits"]:
        assert time.monotonic() < deadline, monitor.message.value
        time.sleep(0.05)


def test_destination_through_a_file_is_refused(transfer_world):
    monitor, model, dest, _ = transfer_world
    (dest / "notafolder").write_text("a file where a folder should be")
    _refused_then_works(monitor, model, dest, "/~/notafolder/", ["is a file, not a folder"])


def test_destination_not_writable_is_refused(transfer_world):
    monitor, model, dest, _ = transfer_world
    ro = dest / "readonly"
    mounted = _mount_tmpfs(ro, "ro,size=64k")
    if not mounted:
        if os.geteuid() == 0:
            pytest.skip("root without mount rights: permission bits do not stop root")
        ro.mkdir(exist_ok=True)
        ro.chmod(0o555)
    try:
        reason = "Read-only file system" if mounted else "Permission denied"
        _refused_then_works(monitor, model, dest, "/~/readonly/", ["Cannot write into", reason])
    finally:
        if mounted:
            _umount(ro)
        else:
            ro.chmod(0o755)


def test_destination_disk_full_is_refused(transfer_world):
    """A real 256 KiB filesystem (tmpfs) as the destination: 3 files of 200 kB do not fit."""
    monitor, model, dest, _ = transfer_world
    small_disk = dest / "small"
    if not _mount_tmpfs(small_disk, "size=256k"):
        pytest.skip("cannot mount a small filesystem here; see test_destination_keep_free_is_honoured")
    try:
        _refused_then_works(monitor, model, dest, "/~/small/", ["Not enough space", "needs 600.0 kB"])
    finally:
        _umount(small_disk)


def test_destination_keep_free_is_honoured(transfer_world, monkeypatch):
    """The settings hook (DKIST_WIDGETS_KEEP_FREE_BYTES) against the real free space of this disk."""
    from dkist_widgets.core.destination import ENV_KEEP_FREE

    monitor, model, dest, _ = transfer_world
    free = shutil.disk_usage(dest).free
    monkeypatch.setenv(ENV_KEEP_FREE, str(free - 100_000))  # leaves room for less than 3 files
    monitor.root.value = "/~/"
    model.select_frames([1, 2, 3], source="test")
    monitor.start_selection.click()
    said = hd.words(monitor.message.value)
    assert "Not enough space" in said and "keeping" in said and len(monitor.rows.children) == 0
    assert list(model.selected_frames) == [1, 2, 3]
    monkeypatch.delenv(ENV_KEEP_FREE)  # the disk really has room: the same click now starts the transfer
    monitor.start_selection.click()
    assert len(monitor.rows.children) == 1, monitor.message.value
