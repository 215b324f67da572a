"""SearchActions: what the search panel's buttons do with the selected records --
fetch the ASDFs, open one into the model, show the quality report and preview
movie, hand datasets to a transfer monitor (asking first above the limits).

A mixin of :class:`~dkist_widgets.panels.search.SearchPanel` (split out to keep
each module to one concern); it uses the panel's ``selected_records``, ``_start``,
``_say``, ``path_template``, ``model``, ``viewer_box`` and ``transfer_confirm``.
"""

from __future__ import annotations

from pathlib import Path

from ..core import search as core
from ..core.formatting import escape, human_bytes

__all__ = ["SearchActions"]


class SearchActions:
    """The actions of the search panel (see the module docstring)."""

    # ---------------------------------------------------------------- actions

    def _selected_with_template(self):
        """(selected records, path template) for a fetch, or None (nothing selected, or a
        template the panel has already said is bad)."""
        records = self.selected_records()
        template = self._template()
        if not records or template is None:
            return None
        return records, template

    def _template(self) -> core.PathTemplate | None:
        try:
            return core.PathTemplate(self.path_template.value)
        except ValueError as err:
            self._say(f"Save to: {err}", "error")
            return None

    def _progress(self, fraction: float, text: str) -> None:
        self.progress.layout.visibility = "visible"
        self.progress.value = max(0.0, min(1.0, fraction))
        self.progress_label.value = escape(text)

    def fetch_selected(self) -> core.BackgroundJob | None:
        """Download the selected datasets' ASDFs into the path template."""
        chosen = self._selected_with_template()
        if chosen is None:
            return None
        records, template = chosen
        timeout = self.search_timeout

        def progress(index, n, done, total):
            frac = (index + (done / total if total else 0.0)) / n
            self._progress(
                frac, f"ASDF {index + 1} of {n}: {human_bytes(done)}" + (f" of {human_bytes(total)}" if total else "")
            )

        def work(cancel):
            return core.fetch_asdfs(records, template, progress=progress, cancel=cancel, timeout=timeout)

        def done(outcomes):
            ok = [o for o in outcomes if o.path is not None]
            bad = [o for o in outcomes if o.error]
            lines = [f"{o.dataset_id}: {o.path}" for o in ok] + [o.error for o in bad]
            self._progress(1.0, f"{len(ok)} of {len(outcomes)} ASDF file(s) fetched")
            self.fetched = outcomes
            self._say("\n".join(lines), "error" if bad else "ok")

        code = f"files = Fido.fetch(res, path={self.path_template.value!r})  # res: the rows selected"
        self.code.value = self.code.value + f"<pre class='dkw-code'>{escape(code)}</pre>"
        return self._start("Fetching ASDF", work, done, timeout=None)

    def open_selected(self) -> core.BackgroundJob | None:
        """Fetch (or reuse) the first selected dataset's ASDF and load it into the model."""
        chosen = self._selected_with_template()
        if chosen is None:
            return None
        records, template = chosen
        record = records[0]
        ds_id = str(record.get("datasetId"))
        timeout = self.search_timeout

        def work(cancel):
            from ..core.dataset_files import open_dataset_file

            path = core.download_product(
                ds_id,
                "asdf",
                template,
                record=record,
                cancel=cancel,
                timeout=timeout,
                progress=lambda d, t: self._progress(d / t if t else 0.0, f"ASDF of {ds_id}: {human_bytes(d)}"),
            )
            if cancel.is_set():
                raise core.Cancelled("Open cancelled.")
            return path, open_dataset_file(path)  # a bad file: DatasetFileError (a ValueError) says why

        def done(value):
            path, ds = value
            self.model.set_dataset(ds)
            self.opened_id = ds_id
            self._progress(1.0, f"opened {ds_id}")
            self._say(f"Opened {ds_id} from {path}.", "ok")

        return self._start("Opening", work, done, timeout=None)

    def _product(self, kind: str, on_file) -> core.BackgroundJob | None:
        chosen = self._selected_with_template()
        if chosen is None:
            return None
        records, template = chosen
        record = records[0]
        ds_id = str(record.get("datasetId"))
        timeout = self.search_timeout
        what = {"quality": "quality report", "movie": "preview movie"}[kind]

        def work(cancel):
            folder = template.folder_for(record)
            return core.download_product(
                ds_id,
                kind,
                folder,
                record=record,
                cancel=cancel,
                timeout=timeout,
                progress=lambda d, t: self._progress(d / t if t else 0.0, f"{what} of {ds_id}: {human_bytes(d)}"),
            )

        def done(path):
            on_file(ds_id, Path(path))
            self._progress(1.0, f"{what} of {ds_id}: {human_bytes(Path(path).stat().st_size)}")

        return self._start(f"Downloading the {what}", work, done, timeout=None)

    def show_quality_report(self) -> core.BackgroundJob | None:
        """Download the first selected dataset's quality report and show it inline."""

        def show(ds_id, path):
            self.viewer_box.show_report(ds_id, path)
            self.report_file = path
            self._say(f"Quality report of {ds_id} saved to {path}.", "ok")

        return self._product("quality", show)

    def play_movie(self) -> core.BackgroundJob | None:
        """Download the first selected dataset's preview movie and play it inline."""

        def show(ds_id, path):
            self.viewer_box.show_movie(ds_id, path)
            self.movie_file = path
            self._say(f"Preview movie of {ds_id} saved to {path}.", "ok")

        return self._product("movie", show)

    def on_transfer_request(self, callback, remove: bool = False) -> None:
        """Register ``callback(records)`` for the Transfer button (``remove=True`` to drop it)."""
        if remove:
            self._transfer_callbacks = [c for c in self._transfer_callbacks if c is not callback]
        else:
            self._transfer_callbacks.append(callback)

    def request_transfer(self, *, confirmed: bool = False) -> list[dict]:
        """Hand the selected datasets (records) to the registered transfer callbacks.

        A transfer above the panel's limits is not started: the panel shows its files,
        bytes and estimated time and asks; [] is returned and "Start transfer" hands
        it over. ``confirmed=True`` (scripts) skips the question.
        """
        records = self.selected_records()
        self._left_out = ""
        if not records:
            return []
        blocked = core.action_blockers(records, [core.row_id(r, 0) for r in records]).get("transfer", [])
        if blocked:  # only the records a transfer can work for go on (issue 14.11)
            records = [r for r in records if not set(core.ACTION_NEEDS["transfer"]) & set(core.record_problems(r))]
            self._left_out = "Left out of the transfer: " + "; ".join(blocked)
            if not records:
                self._say(self._left_out, "error")
                return []
        if not self._transfer_callbacks:
            return self._hand_over(records)  # says that no monitor is connected
        if not confirmed and self.transfer_confirm.ask(records, self._hand_over, on_cancel=self._transfer_declined):
            self._say("Large transfer: confirm below (files, bytes and an estimated time are shown).", "info")
            return []
        return self._hand_over(records)

    def _transfer_declined(self) -> None:
        self._say("Transfer not started.", "info")

    def _hand_over(self, records: list[dict]) -> list[dict]:
        self.transfer_request = records
        if not self._transfer_callbacks:
            self._say(
                "No transfer monitor is connected to this panel "
                "(connect one with panel.on_transfer_request(callback)).",
                "info",
            )
            return records
        for callback in list(self._transfer_callbacks):
            try:
                callback(records)
            except Exception as err:  # noqa: BLE001 - reported to the user, never raised into the caller
                self._say(f"The transfer monitor refused: {err}", "error")
                return records
        left_out = getattr(self, "_left_out", "")
        self._say(
            f"{len(records)} dataset(s) handed to the transfer monitor: "
            + ", ".join(str(r.get("datasetId")) for r in records)
            + (f"\n{left_out}" if left_out else ""),
            "info" if left_out else "ok",
        )
        return records
