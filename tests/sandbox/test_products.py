"""Quality report PDF and preview movie MP4 writers: real files, checked from the outside."""

from __future__ import annotations

import re
import subprocess
import zlib
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest
from astropy.table import MaskedColumn, Table

from dkist_widgets.sandbox.products import r0_series, write_preview_movie, write_quality_report

pytestmark = pytest.mark.timeout(120)

RECORD = {
    "datasetId": "ABCDE",
    "productId": "L1-ABCDEP",
    "instrumentName": "VISP",
    "primaryProposalId": "pid_1_123",
    "startTime": "2022-10-24T18:57:45.000",
    "endTime": "2022-10-24T19:33:26.865",
    "wavelengthMin": 853.9,
    "wavelengthMax": 854.5,
    "frameCount": 40,
    "datasetSize": 2.5,
    "qualityAverageFriedParameter": 0.0814,
    "hasAllStokes": True,
    "targetTypes": ["sunspot"],
    "isEmbargoed": False,
}


def _headers(n=40, *, r0=True, masked_every=4):
    t = Table()
    seconds = np.arange(n) * 30
    t["DATE-AVG"] = [f"2022-10-24T19:{s // 60:02d}:{s % 60:02d}.000" for s in seconds]
    if r0:
        values = 0.05 + 0.05 * np.sin(np.arange(n) / 5)
        t["ATMOS_R0"] = MaskedColumn(values, mask=(np.arange(n) % masked_every == 0))
    t["AO_LOCK"] = np.arange(n) % masked_every != 0
    t["LIGHTLVL"] = 5000 + 10 * np.arange(n, dtype=float)
    return t


def _pdf_text(pdf: Path) -> str:
    """Text drawn on the pages (matplotlib compresses content streams with zlib)."""
    raw = pdf.read_bytes()
    chunks = []
    for match in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", raw, re.S):
        try:
            chunks.append(zlib.decompress(match.group(1)))
        except zlib.error:
            chunks.append(match.group(1))
    return b"".join(chunks).decode("latin-1")


def _pdf_glyphs(pdf: Path) -> str:
    """The characters of every text run with spaces dropped (PDF draws them as offsets)."""
    text = _pdf_text(pdf)
    string = r"\(((?:\\.|[^\\)])*)\)"
    runs = re.findall(r"\[((?:" + string + r"|[^\]])*)\]\s*TJ|" + string + r"\s*Tj", text, re.S)
    out = []
    for tj, _, tj_plain in runs:
        out.append("".join(re.findall(string, tj)) if tj else tj_plain)
    return re.sub(r"\\(.)", r"\1", "|".join(out)).replace(" ", "")


def _pages(pdf: Path) -> int:
    return len(re.findall(rb"/Type\s*/Page\b", pdf.read_bytes()))


@pytest.mark.parametrize("case", ["masked", "missing", "all_masked", "empty_table"])
def test_quality_report_is_a_small_real_pdf(tmp_path, case):
    headers = {
        "masked": _headers(),
        "missing": _headers(r0=False),
        "all_masked": _headers(masked_every=1),
        "empty_table": Table(),
    }[case]
    pdf = write_quality_report(tmp_path / "sub" / "q.pdf", headers, RECORD)
    data = pdf.read_bytes()
    assert data[:5] == b"%PDF-" and data.rstrip().endswith(b"%%EOF")
    assert 10_000 < len(data) < 200_000
    assert _pages(pdf) == 3
    assert "ABCDE" in pdf.read_bytes().decode("latin-1")  # the document title (Info dict)


def test_r0_series_masks_become_nan():
    headers = _headers(n=12, masked_every=4)
    r0, usable = r0_series(headers)
    assert usable == 9
    assert np.isnan(r0[[0, 4, 8]]).all() and np.isfinite(r0[[1, 2, 3]]).all()
    np.testing.assert_allclose(r0[1], 0.05 + 0.05 * np.sin(1 / 5))
    r0, usable = r0_series(_headers(n=5, r0=False))
    assert usable == 0 and r0.shape == (5,) and np.isnan(r0).all()


def test_quality_report_states_masked_frames(tmp_path):
    """The report says how many frames lost r0 (read back from the PDF's text runs)."""
    pdf = write_quality_report(tmp_path / "q.pdf", _headers(n=40, masked_every=4), RECORD)
    glyphs = _pdf_glyphs(pdf)
    assert "10maskedormissingof40frames" in glyphs  # 40 frames, every 4th masked
    assert "30of40" in glyphs  # "Frames with valid r0: 30 of 40"
    assert "DatasetABCDE" in glyphs and "VISP" in glyphs
    pdf = write_quality_report(tmp_path / "q2.pdf", _headers(n=40, r0=False), RECORD)
    glyphs = _pdf_glyphs(pdf)
    assert "NovalidATMOS_R0inthisdataset" in glyphs and "0of40" in glyphs


def _probe(mp4: Path) -> str:
    out = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(mp4), "-f", "null", "-"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    return out.stderr


def _decode(mp4: Path, width: int, height: int) -> np.ndarray:
    out = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(mp4), "-f", "rawvideo", "-pix_fmt", "gray", "-"],
        capture_output=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    return np.frombuffer(out.stdout, np.uint8).reshape(-1, height, width)


def test_preview_movie_is_browser_playable_h264(tmp_path):
    frames = [np.full((33, 51), float(i)) for i in range(15)]  # odd dimensions
    frames[3][5:10, 5:10] = np.nan
    mp4 = write_preview_movie(tmp_path / "m" / "movie.mp4", frames, fps=5)
    data = mp4.read_bytes()
    assert data[4:8] == b"ftyp"
    assert data.find(b"moov") < data.find(b"mdat")  # faststart: index before the data
    info = _probe(mp4)
    assert "h264" in info and "yuv420p" in info
    assert re.search(r"52x34", info), info  # padded to even dimensions
    assert re.search(r"\b5 fps\b", info), info
    decoded = _decode(mp4, 52, 34)
    assert decoded.shape[0] == 15
    # brightness rises frame by frame: one scaling for the whole movie
    means = decoded[:, 10:30, 10:40].mean(axis=(1, 2))
    assert means[-1] > means[0] + 150
    assert np.all(np.diff(means) > -3)
    assert not list(mp4.parent.glob("*.part*"))


@pytest.mark.parametrize(
    "frames, message",
    [
        ([], "at least one frame"),
        ([np.zeros((4, 4)), np.zeros((4, 6))], "same shape"),
        ([np.zeros((2, 4, 4))], "2-D"),
    ],
)
def test_preview_movie_rejects_bad_frames(tmp_path, frames, message):
    with pytest.raises(ValueError, match=message):
        write_preview_movie(tmp_path / "bad.mp4", frames)
    assert not (tmp_path / "bad.mp4").exists()
