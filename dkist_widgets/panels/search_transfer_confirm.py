"""TransferConfirm: the question the search panel asks before a large transfer.

The Transfer button of :class:`~dkist_widgets.panels.search.SearchPanel` hands whole
datasets to the transfer monitor. Above a size or a file count this part shows what
would move -- datasets, files, bytes and an estimated time -- and waits for "Start
transfer" or "Don't transfer" (issue 14.2).

Choices
-------
* **Where the numbers come from.** The search records: ``frameCount`` (one FITS
  file per frame) and ``datasetSize`` (GiB in the API, shown with
  ``human_bytes``). A record without them counts as unknown and the question says
  so; an unknown size always asks (it could be anything).
* **Settings**, in this order: the panel's constructor arguments
  ``confirm_bytes`` / ``confirm_files`` / ``transfer_rate``, then the environment
  variables :data:`ENV_BYTES` (bytes, e.g. ``5e9``), :data:`ENV_FILES` and
  :data:`ENV_RATE` (bytes per second used for the estimate), then the defaults
  (:data:`DEFAULT_CONFIRM_BYTES`, :data:`DEFAULT_CONFIRM_FILES`,
  :data:`DEFAULT_RATE`). ``confirm_bytes=0`` asks before every transfer;
  ``math.inf`` never asks on size.
* The estimate is bytes / rate, labelled as one ("about ... at 100.0 MB/s"); the
  real rate depends on the endpoints.
* Text from the records is escaped.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import ipywidgets as w

from ..core.formatting import escape, human_bytes, human_duration
from ..core.inventory import dataset_bytes, finite_number

__all__ = [
    "TransferConfirm",
    "TransferSize",
    "transfer_size",
    "ENV_BYTES",
    "ENV_FILES",
    "ENV_RATE",
    "DEFAULT_CONFIRM_BYTES",
    "DEFAULT_CONFIRM_FILES",
    "DEFAULT_RATE",
    "setting",
]

ENV_BYTES = "DKIST_WIDGETS_CONFIRM_TRANSFER_BYTES"
ENV_FILES = "DKIST_WIDGETS_CONFIRM_TRANSFER_FILES"
ENV_RATE = "DKIST_WIDGETS_TRANSFER_RATE"
#: Ask before moving more than 10 GB ...
DEFAULT_CONFIRM_BYTES = 10e9
#: ... or more than 1000 files.
DEFAULT_CONFIRM_FILES = 1000
#: Bytes per second assumed for the time estimate (a good Globus link).
DEFAULT_RATE = 100e6


def setting(value: float | None, env: str, default: float) -> float:
    """``value`` if given, else the environment variable ``env`` (a number), else ``default``."""
    if value is not None:
        return float(value)
    text = os.environ.get(env, "").strip()
    if text:
        try:
            return float(text)
        except ValueError:
            raise ValueError(f"{env}={text!r} is not a number") from None
    return float(default)


@dataclass(frozen=True)
class TransferSize:
    """What a transfer of some search records would move."""

    n_datasets: int
    files: int
    bytes: float
    unknown_files: tuple[str, ...]  # dataset ids without a usable frameCount
    unknown_bytes: tuple[str, ...]  # dataset ids without a usable datasetSize

    def text(self, rate: float) -> str:
        files = f"{self.files:,} files" + (f" (+ unknown for {len(self.unknown_files)})" if self.unknown_files else "")
        size = human_bytes(self.bytes) + (f" (+ unknown for {len(self.unknown_bytes)})" if self.unknown_bytes else "")
        eta = (
            f"about {human_duration(self.bytes / rate)} at {human_bytes(rate)}/s (an estimate)"
            if rate > 0
            else "no time estimate"
        )
        return f"{self.n_datasets} dataset(s): {files}, {size}, {eta}"


def transfer_size(records: Sequence[dict]) -> TransferSize:
    """Files and bytes of ``records`` from their ``frameCount`` and ``datasetSize`` (GiB)."""
    files, size, no_files, no_bytes = 0, 0.0, [], []
    for record in records:
        ds_id = str(record.get("datasetId"))
        count = finite_number(record.get("frameCount"))
        nbytes = dataset_bytes(record)
        if count is None or count < 0:
            no_files.append(ds_id)
        else:
            files += int(count)
        if nbytes is None:
            no_bytes.append(ds_id)
        else:
            size += nbytes
    return TransferSize(len(records), files, size, tuple(no_files), tuple(no_bytes))


class TransferConfirm(w.VBox):
    """The question, hidden until asked. ``ask(records, start)`` returns True when it
    asked (``start(records)`` runs on "Start transfer") and False when the transfer
    is small enough to start at once (the caller starts it)."""

    def __init__(
        self,
        *,
        confirm_bytes: float | None = None,
        confirm_files: float | None = None,
        transfer_rate: float | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.add_class("dkw-search-confirm")
        self.confirm_bytes = setting(confirm_bytes, ENV_BYTES, DEFAULT_CONFIRM_BYTES)
        self.confirm_files = setting(confirm_files, ENV_FILES, DEFAULT_CONFIRM_FILES)
        self.rate = setting(transfer_rate, ENV_RATE, DEFAULT_RATE)
        self.text = w.HTML()
        self.text.add_class("dkw-search-confirm-text")
        self.start_button = w.Button(
            description="Start transfer", button_style="warning", icon="check", layout=w.Layout(width="150px")
        )
        self.start_button.add_class("dkw-search-confirm-start")
        self.cancel_button = w.Button(description="Don't transfer", layout=w.Layout(width="150px"))
        self.cancel_button.add_class("dkw-search-confirm-cancel")
        self.start_button.on_click(lambda _b: self._answer(True))
        self.cancel_button.on_click(lambda _b: self._answer(False))
        self.children = [self.text, w.HBox([self.start_button, self.cancel_button])]
        self.layout.display = "none"
        self.pending: list[dict] | None = None
        self.size: TransferSize | None = None
        self._start: Callable[[list[dict]], object] | None = None
        self._on_cancel: Callable[[], object] | None = None

    @property
    def asking(self) -> bool:
        return self.pending is not None

    def needs_asking(self, size: TransferSize) -> bool:
        unknown = (size.unknown_bytes and self.confirm_bytes < math.inf) or (
            size.unknown_files and self.confirm_files < math.inf
        )
        return size.bytes > self.confirm_bytes or size.files > self.confirm_files or bool(unknown)

    def ask(
        self, records: list[dict], start: Callable[[list[dict]], object], on_cancel: Callable[[], object] | None = None
    ) -> bool:
        size = transfer_size(records)
        self.size = size
        if not self.needs_asking(size):
            self.hide()
            return False
        self.pending, self._start, self._on_cancel = list(records), start, on_cancel
        limits = f"asked above {human_bytes(self.confirm_bytes)} or {self.confirm_files:,.0f} files"
        ids = ", ".join(str(r.get("datasetId")) for r in records[:5]) + (" …" if len(records) > 5 else "")
        self.text.value = (
            f"<div style='white-space:pre-wrap'><b>Transfer {escape(size.text(self.rate))}?</b>\n"
            f"{escape(ids)}\n<span style='opacity:.75'>{escape(limits)}</span></div>"
        )
        self.layout.display = "flex"
        return True

    def hide(self) -> None:
        self.pending = None
        self.layout.display = "none"

    def _answer(self, go: bool) -> None:
        records, start, on_cancel = self.pending, self._start, self._on_cancel
        self.hide()
        if records is None:
            return
        if go and start is not None:
            start(records)
        elif not go and on_cancel is not None:
            on_cancel()
