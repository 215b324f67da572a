"""The two by-products of a DKIST dataset: the quality report (PDF) and the preview movie (MP4).

Real files, small: the report is a few pages drawn with matplotlib's ``PdfPages``
(plain ``Figure`` objects, no pyplot state, no display needed); the movie is H.264 in an MP4 written by the
ffmpeg binary that ``imageio-ffmpeg`` ships (``-pix_fmt yuv420p`` and even
dimensions so browsers play it; ``+faststart`` so it streams).

Choices:

* ``ATMOS_R0`` is in metres (DKIST headers). It may be missing, or a
  ``MaskedColumn`` whose masked rows are frames where the data centre dropped it
  (no AO lock, r0 >= 0.3 m, OOBSHIFT >= 100). Masked/missing values are drawn as
  *gaps* (NaN breaks the line), never as zeros, and the page says how many there are.
* Time axis: ``DATE-AVG`` (else ``DATE-BEG``) when parseable, else frame index.
* Movie frames are scaled to 8-bit with one pair of limits for the whole movie
  (1st/99th percentile of all finite pixels), so brightness changes between frames
  stay visible; NaNs become black. Odd dimensions are padded by one pixel.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

__all__ = ["write_quality_report", "write_preview_movie", "r0_series"]

_R0_LIMIT_M = 0.3  # the data centre's r0 validity limit (FACTS)


def _column(headers, name: str) -> np.ndarray | None:
    """A header column as float array with NaN where masked/invalid; None if absent."""
    if headers is None or name not in getattr(headers, "colnames", []):
        return None
    col = headers[name]
    values = np.ma.asarray(col)
    try:
        data = np.ma.filled(values.astype(float), np.nan)
    except (TypeError, ValueError):
        data = np.array([_to_float(v) for v in np.ma.filled(values, np.nan).tolist()], dtype=float)
    return np.asarray(data, dtype=float)


def _to_float(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return np.nan


def r0_series(headers) -> tuple[np.ndarray, int]:
    """(r0 in metres with NaN for masked/missing frames, number of usable frames)."""
    n = len(headers) if headers is not None else 0
    r0 = _column(headers, "ATMOS_R0")
    if r0 is None:
        r0 = np.full(n, np.nan)
    return r0, int(np.isfinite(r0).sum())


def _times(headers):
    """Frame times as matplotlib date numbers, or None (then frame index is used)."""
    from astropy.time import Time

    for key in ("DATE-AVG", "DATE-BEG"):
        if headers is not None and key in headers.colnames:
            try:
                values = np.ma.filled(np.ma.asarray(headers[key]).astype(str), "")
                if any(v in ("", "--") for v in values):
                    continue
                return Time(list(values), format="isot", scale="utc").plot_date, key
            except (ValueError, TypeError):
                continue
    return None, None


def _fmt(value, unit: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if not np.isfinite(value):
            return "-"
        return f"{value:.4g}{unit}"
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value)) or "-"
    return f"{value}{unit}"


def write_quality_report(pdf_path: Path, headers, record: Mapping) -> Path:
    """Write a small quality report PDF for one dataset and return its path.

    Parameters
    ----------
    pdf_path
        Where to write (parents are created).
    headers
        ``astropy.table.Table``, one row per frame (``ds.headers``); any quality
        column may be missing or masked.
    record
        The dataset's search record (camelCase keys); missing keys print as "-".
    """
    # Figure objects without pyplot: no global backend switch, nothing left open.
    import matplotlib.dates as mdates
    from matplotlib.backends.backend_pdf import PdfPages
    from matplotlib.figure import Figure

    pdf_path = Path(pdf_path)
    pdf_path.parent.mkdir(parents=True, exist_ok=True)
    n_frames = len(headers) if headers is not None else 0
    r0, n_r0 = r0_series(headers)
    times, time_key = _times(headers)
    x = times if times is not None else np.arange(n_frames)

    dataset_id = record.get("datasetId", "?")
    facts = [
        ("Dataset ID", record.get("datasetId")),
        ("Product ID", record.get("productId")),
        ("Instrument", record.get("instrumentName")),
        ("Proposal", record.get("primaryProposalId")),
        ("Experiment", record.get("primaryExperimentId")),
        ("Start", record.get("startTime")),
        ("End", record.get("endTime")),
        ("Wavelength", f"{_fmt(record.get('wavelengthMin'))} - {_fmt(record.get('wavelengthMax'))} nm"),
        ("Frames", record.get("frameCount", n_frames)),
        ("Dataset size", _fmt(record.get("datasetSize"), " GiB")),
        ("Average r0", _fmt(record.get("qualityAverageFriedParameter"), " m")),
        ("Full Stokes", record.get("hasAllStokes")),
        ("Target types", record.get("targetTypes")),
        ("Embargoed", record.get("isEmbargoed")),
        ("Status", record.get("status", "ACTIVE")),
        ("Header frames", n_frames),
        ("Frames with valid r0", f"{n_r0} of {n_frames}"),
    ]

    def time_axis(ax):
        if times is not None:
            ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M"))
            ax.set_xlabel(f"{time_key} (UTC)")
        else:
            ax.set_xlabel("frame index")

    with PdfPages(pdf_path) as pdf:
        info = pdf.infodict()
        info["Title"] = f"DKIST quality report {dataset_id}"
        info["Author"] = "dkist-widgets sandbox"

        # page 1: the facts
        fig = Figure(figsize=(8.27, 11.69))
        fig.text(0.08, 0.94, "DKIST Data Quality Report", fontsize=20, weight="bold")
        fig.text(0.08, 0.91, f"Dataset {dataset_id}", fontsize=14)
        y = 0.86
        for label, value in facts:
            fig.text(0.08, y, f"{label}:", fontsize=10, weight="bold")
            fig.text(0.36, y, _fmt(value)[:90], fontsize=10)
            y -= 0.03
        fig.text(0.08, 0.06, "Sandbox product: values computed from the dataset headers.", fontsize=8, style="italic")
        pdf.savefig(fig)

        # page 2: r0 over time and its histogram
        fig = Figure(figsize=(8.27, 11.69))
        ax1, ax2 = fig.subplots(2, 1)
        if n_frames and n_r0:
            ax1.plot(x, r0 * 100, "-", color="tab:blue", lw=1)  # NaNs break the line: gaps
            ax1.axhline(_R0_LIMIT_M * 100, color="tab:red", ls=":", lw=1, label="validity limit")
            ax1.legend(loc="upper right", fontsize=8)
            masked = ~np.isfinite(r0)
            if masked.any():
                ax1.plot(np.asarray(x)[masked], np.zeros(masked.sum()), "|", color="0.6", label="masked frames")
        else:
            ax1.text(0.5, 0.5, "No valid ATMOS_R0 in this dataset", ha="center", va="center", transform=ax1.transAxes)
        ax1.set_title(f"Fried parameter r0 ({n_frames - n_r0} masked or missing of {n_frames} frames)")
        ax1.set_ylabel("r0 (cm)")
        time_axis(ax1)
        finite = r0[np.isfinite(r0)] * 100
        if finite.size:
            ax2.hist(finite, bins=min(30, max(5, finite.size // 4)), color="tab:blue")
            ax2.axvline(np.median(finite), color="k", ls="--", lw=1, label=f"median {np.median(finite):.2f} cm")
            ax2.legend(fontsize=8)
        else:
            ax2.text(0.5, 0.5, "No r0 values", ha="center", va="center", transform=ax2.transAxes)
        ax2.set_title("r0 distribution")
        ax2.set_xlabel("r0 (cm)")
        ax2.set_ylabel("frames")
        fig.tight_layout()
        pdf.savefig(fig)

        # page 3: light level and AO lock
        fig = Figure(figsize=(8.27, 11.69))
        ax1, ax2 = fig.subplots(2, 1, sharex=True)
        light = _column(headers, "LIGHTLVL")
        if light is not None and np.isfinite(light).any():
            ax1.plot(x, light, "-", color="tab:orange", lw=1)
        else:
            ax1.text(0.5, 0.5, "No LIGHTLVL in this dataset", ha="center", va="center", transform=ax1.transAxes)
        ax1.set_title("Light level")
        ax1.set_ylabel("LIGHTLVL")
        lock = _column(headers, "AO_LOCK")
        if lock is not None and np.isfinite(lock).any():
            ax2.step(x, lock, where="mid", color="tab:green", lw=1)
            ax2.set_yticks([0, 1], ["off", "locked"])
            locked = np.nanmean(lock) * 100
            ax2.set_title(f"AO lock ({locked:.0f}% of frames locked)")
        else:
            ax2.text(0.5, 0.5, "No AO_LOCK in this dataset", ha="center", va="center", transform=ax2.transAxes)
            ax2.set_title("AO lock")
        time_axis(ax2)
        fig.tight_layout()
        pdf.savefig(fig)
    return pdf_path


def _scale_limits(frames: list[np.ndarray]) -> tuple[float, float]:
    sample = np.concatenate([f[np.isfinite(f)].ravel()[:: max(1, f.size // 20000)] for f in frames])
    if sample.size == 0:
        return 0.0, 1.0
    lo, hi = np.percentile(sample, [1, 99])
    if not hi > lo:
        hi = lo + 1.0
    return float(lo), float(hi)


def write_preview_movie(mp4_path: Path, frames: Iterable[np.ndarray], fps: int = 10) -> Path:
    """Write ``frames`` (2-D arrays, same shape) as a grey H.264 MP4 and return its path.

    Raises ``ValueError`` for no frames, non-2-D or mismatched frames, and
    ``RuntimeError`` with ffmpeg's message if encoding fails.
    """
    import imageio_ffmpeg

    mp4_path = Path(mp4_path)
    stack = [np.asarray(f, dtype=float) for f in frames]
    if not stack:
        raise ValueError("a preview movie needs at least one frame")
    shape = stack[0].shape
    if len(shape) != 2 or any(f.shape != shape for f in stack):
        raise ValueError(f"frames must be 2-D and all the same shape; first is {shape}")
    if int(fps) < 1:
        raise ValueError("fps must be at least 1")
    lo, hi = _scale_limits(stack)
    height, width = shape
    out_h, out_w = height + height % 2, width + width % 2

    mp4_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = mp4_path.with_name(mp4_path.name + ".part.mp4")
    cmd = [
        imageio_ffmpeg.get_ffmpeg_exe(),
        "-y",
        "-loglevel",
        "error",
        "-f",
        "rawvideo",
        "-pix_fmt",
        "gray",
        "-s",
        f"{out_w}x{out_h}",
        "-r",
        str(int(fps)),
        "-i",
        "-",
        "-an",
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-crf",
        "28",
        "-pix_fmt",
        "yuv420p",
        "-movflags",
        "+faststart",
        str(tmp),
    ]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for frame in stack:
            scaled = np.clip((frame - lo) / (hi - lo), 0.0, 1.0) * 255.0
            img = np.nan_to_num(scaled, nan=0.0).astype(np.uint8)
            if (out_h, out_w) != shape:
                img = np.pad(img, ((0, out_h - height), (0, out_w - width)), mode="edge")
            proc.stdin.write(img.tobytes())
        proc.stdin.close()
    except BrokenPipeError:
        pass
    stderr = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    if proc.wait() != 0:
        tmp.unlink(missing_ok=True)
        raise RuntimeError(f"ffmpeg failed writing {mp4_path.name}: {stderr.strip()}")
    tmp.replace(mp4_path)
    return mp4_path
