"""``dkist-widgets generate --frames N``: builds the cached headers-only dataset once, then reuses it."""

from __future__ import annotations

import argparse

import pytest


def test_frame_counts_parse():
    from dkist_widgets.cli import _frame_count

    assert _frame_count("100k") == 100_000 and _frame_count("1M") == 1_000_000 and _frame_count("4000") == 4000
    for bad in ("3", "1.0000001M", "many", "0"):
        with pytest.raises(argparse.ArgumentTypeError):
            _frame_count(bad)


def test_generate_builds_once_and_reuses(tmp_path, monkeypatch, capsys):
    import dkist

    from dkist_widgets.cli import main
    from dkist_widgets.sandbox.headers_only import cached_headers_only_dataset

    monkeypatch.setenv("DKIST_WIDGETS_DATA_DIR", str(tmp_path))
    assert main(["generate", "--frames", "40"]) == 0
    path = cached_headers_only_dataset(10, 4)
    assert path.is_relative_to(tmp_path) and path.is_file()
    stamp = path.stat().st_mtime_ns
    assert main(["generate", "--frames", "40"]) == 0
    assert path.stat().st_mtime_ns == stamp and "ready" in capsys.readouterr().out
    assert len(dkist.load_dataset(path).files) == 40
