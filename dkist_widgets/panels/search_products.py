"""ProductViewer: a dataset's quality report and preview movie, shown inline under the
search panel. It only shows files already downloaded
(:func:`dkist_widgets.core.search.download_product` fetches them).

Choices
-------
* **Quality report** is shown as an ``application/pdf`` output inside an
  ``ipywidgets.Output``: JupyterLab 4's built-in PDF renderer (pdf-extension)
  displays it inline in an iframe from a blob URL, which works where a
  ``data:``-URL ``<iframe>`` in an HTML widget is blocked. The saved file's path is
  shown beside it, so another frontend (or the browser's own PDF viewer being
  disabled) still leaves the report one click away in the file browser.
* **Preview movie** is an ``ipywidgets.Video`` holding the MP4 bytes (H.264,
  autoplay, loop, controls).
* The dataset id and path are escaped before they go into HTML.
"""

from __future__ import annotations

import base64
from pathlib import Path

import ipywidgets as w

from ..core import search as core
from ..core.formatting import escape, human_bytes

__all__ = ["ProductViewer"]


class ProductViewer(w.VBox):
    """The report (path line + PDF output) and the movie box of the search panel."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.report_output = w.Output(layout=w.Layout(width="100%"))
        self.report_output.add_class("dkw-search-report-view")
        self.report_path = w.HTML()
        self.movie_box = w.VBox()
        self.movie_box.add_class("dkw-search-movie-view")
        self.report_file: Path | None = None
        self.movie_file: Path | None = None
        self.children = [self.report_path, self.report_output, self.movie_box]

    def show_report(self, ds_id: str, path: Path) -> None:
        """Show the PDF at ``path`` (raises DownloadError if it is not a PDF)."""
        data = Path(path).read_bytes()
        if not data.startswith(b"%PDF-"):
            raise core.DownloadError(f"The quality report of {ds_id} is not a PDF.")
        self.report_output.outputs = (
            {
                "output_type": "display_data",
                "data": {
                    "application/pdf": base64.b64encode(data).decode("ascii"),
                    "text/plain": f"Quality report of {ds_id}: {path}",
                },
                "metadata": {},
            },
        )
        self.report_path.value = (
            f"<span class='dkw-report-path'>Quality report of <b>{escape(ds_id)}</b>: "
            f"<code>{escape(path)}</code> ({human_bytes(len(data))})</span>"
        )
        self.report_file = Path(path)

    def show_movie(self, ds_id: str, path: Path) -> None:
        """Play the MP4 at ``path``."""
        data = Path(path).read_bytes()
        video = w.Video(
            value=data, format="mp4", autoplay=True, loop=True, controls=True, layout=w.Layout(max_width="640px")
        )
        video.add_class("dkw-search-video")
        self.movie_box.children = [
            w.HTML(f"Preview movie of <b>{escape(ds_id)}</b>: <code>{escape(path)}</code>"),
            video,
        ]
        self.movie_file = Path(path)
