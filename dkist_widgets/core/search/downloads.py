"""Downloads of a dataset's ASDF, quality report (PDF) and preview movie (MP4), into a
folder or a :class:`~dkist_widgets.core.path_template.PathTemplate`.

Choices
-------
* **Mirrors dkist.** ``DKISTClient.fetch`` / ``ds.files.quality_report()`` /
  ``preview_movie()``: the same URLs (``{download_endpoint}/asdf|quality|movie?
  datasetId=X``), the file name from ``Content-Disposition``, the path template
  keys of ``Fido.fetch`` (dkist's ``path_format_keys()`` plus ``{file}``; the
  engine is :mod:`dkist_widgets.core.path_template`).
* **Streamed here rather than through parfive** so that a download has a
  timeout, a byte progress callback and a cancel, writes to a ``.part`` file
  renamed when complete (a partial file never remains), checks the server's
  ``Repr-Digest`` when it sends one, and refuses an answer whose first bytes are
  not the product asked for (an HTML error page is not a file).
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from email.message import Message
from pathlib import Path

from ..jobs import Cancelled
from ..path_template import PathTemplate
from .http import SearchFailed, _download_endpoint, _open, http_client_errors

__all__ = [
    "DEFAULT_PATH_TEMPLATE",
    "PRODUCT_ROUTES",
    "DownloadError",
    "FetchOutcome",
    "download_product",
    "fetch_asdfs",
]

DEFAULT_PATH_TEMPLATE = "~/sunpy/data/{dataset_id}/"
PRODUCT_ROUTES = {"asdf": "asdf", "quality": "quality", "movie": "movie"}
#: What each product's first bytes look like (an HTML error page is not a file).
_MAGIC = {
    "asdf": lambda head: head.startswith(b"#ASDF"),
    "quality": lambda head: head.startswith(b"%PDF-"),
    "movie": lambda head: head[4:8] == b"ftyp",
}


class DownloadError(RuntimeError):
    """A file could not be downloaded (message says which and why)."""


def _file_name_from(headers, fallback: str) -> str:
    disposition = headers.get("Content-Disposition")
    name = ""
    if disposition:
        msg = Message()
        msg["Content-Disposition"] = disposition
        name = msg.get_param("filename", header="Content-Disposition") or ""
        if isinstance(name, tuple):  # RFC 2231
            name = name[2]
    name = Path(str(name).replace("\\", "/")).name
    return name if name not in ("", ".", "..") else fallback


ProgressCallback = Callable[[int, int | None], None]


def download_product(
    dataset_id: str,
    kind: str,
    destination: Path | PathTemplate,
    *,
    record: Mapping | None = None,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    timeout: float = 60.0,
    overwrite: bool = False,
    download_endpoint: str | None = None,
) -> Path:
    """Download a dataset's ``asdf``, ``quality`` (PDF) or ``movie`` (MP4); return its path.

    ``destination`` is a folder or a :class:`PathTemplate` (then ``record`` fills it).
    ``progress(bytes_done, bytes_total_or_None)`` is called as bytes arrive. An
    existing file of the same name is reused unless ``overwrite``. Raises
    :class:`DownloadError` or :class:`Cancelled`; a partial file never remains.
    """
    if kind not in PRODUCT_ROUTES:
        raise ValueError(f"kind must be one of {sorted(PRODUCT_ROUTES)}, got {kind!r}")
    what = {"asdf": "ASDF", "quality": "quality report", "movie": "preview movie"}[kind]
    base = download_endpoint or _download_endpoint()
    url = f"{base}/{PRODUCT_ROUTES[kind]}?" + urllib.parse.urlencode({"datasetId": dataset_id})
    fallback = f"{dataset_id}." + {"asdf": "asdf", "quality": "pdf", "movie": "mp4"}[kind]
    label = f"the {what} of {dataset_id}"
    try:
        resp = _open(url, timeout, label)
    except SearchFailed as err:
        raise DownloadError(str(err)) from err
    with resp:
        name = _file_name_from(resp.headers, fallback)
        if isinstance(destination, PathTemplate):
            target = destination.path_for(record or {"datasetId": dataset_id}, name)
        else:
            target = Path(os.path.expanduser(str(destination))) / name
        if target.exists() and not overwrite:
            if progress:
                progress(target.stat().st_size, target.stat().st_size)
            return target
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise DownloadError(f"Cannot create the folder {target.parent}: {err.strerror or err}") from err
        total = resp.headers.get("Content-Length")
        total = int(total) if total and total.isdigit() else None
        digest = resp.headers.get("Repr-Digest") or ""
        expected_sha = digest.split("sha-256=", 1)[1].split(",")[0].strip() if "sha-256=" in digest else None
        part = target.with_name(target.name + f".{os.getpid()}.{threading.get_ident()}.part")
        sha = hashlib.sha256()
        head = b""
        done = 0
        try:
            with part.open("wb") as out:
                while True:
                    if cancel is not None and cancel.is_set():
                        raise Cancelled(f"Download of {label} cancelled.")
                    chunk = resp.read(1 << 16)
                    if not chunk:
                        break
                    out.write(chunk)
                    if len(head) < 16:
                        head += chunk[:16]
                    sha.update(chunk)
                    done += len(chunk)
                    if progress:
                        progress(done, total)
            if total is not None and done != total:
                raise DownloadError(f"The download of {label} stopped at {done} of {total} bytes.")
            if expected_sha and not re.fullmatch(r"[0-9a-fA-F]{64}", expected_sha):
                expected_sha = None  # base64 digests (RFC 9530) are not compared here
            if expected_sha and sha.hexdigest() != expected_sha.lower():
                raise DownloadError(f"The {what} of {dataset_id} arrived corrupted (checksum mismatch).")
            if not _MAGIC[kind](head):
                content_type = resp.headers.get("Content-Type") or "unknown type"
                raise DownloadError(
                    f"The data centre sent something that is not the {what} of {dataset_id} "
                    f"({content_type}, starting {bytes(head[:24])!r})."
                )
            part.replace(target)
        except TimeoutError as err:
            raise DownloadError(f"The data centre stopped sending {label} (no data for {timeout:g} s).") from err
        except (ConnectionError, http_client_errors()) as err:
            raise DownloadError(
                f"The connection broke while downloading {label}: {err or type(err).__name__}."
            ) from err
        except OSError as err:
            raise DownloadError(f"Cannot write {target}: {err.strerror or err}") from err
        finally:
            if part.exists():
                part.unlink()
    return target


@dataclass
class FetchOutcome:
    dataset_id: str
    path: Path | None = None
    error: str | None = None


def fetch_asdfs(
    records: Sequence[Mapping],
    template: str | PathTemplate = DEFAULT_PATH_TEMPLATE,
    *,
    progress: Callable[[int, int, int, int | None], None] | None = None,
    cancel: threading.Event | None = None,
    timeout: float = 60.0,
    overwrite: bool = False,
) -> list[FetchOutcome]:
    """Download the ASDF of each record into ``template``; one outcome per record.

    ``progress(index, n, bytes_done, bytes_total)`` for the ``index``-th download.
    A failure of one dataset is recorded in its outcome and the others go on; a
    cancel stops everything (raises :class:`Cancelled`).
    """
    if not isinstance(template, PathTemplate):
        template = PathTemplate(template)
    outcomes = []
    n = len(records)
    for index, record in enumerate(records):
        ds_id = str(record.get("datasetId"))
        cb = (lambda done, total, i=index: progress(i, n, done, total)) if progress else None
        try:
            path = download_product(
                ds_id, "asdf", template, record=record, progress=cb, cancel=cancel, timeout=timeout, overwrite=overwrite
            )
            outcomes.append(FetchOutcome(ds_id, path=path))
        except (DownloadError, ValueError) as err:
            outcomes.append(FetchOutcome(ds_id, error=str(err)))
    return outcomes
