"""DatasetOverview: what a dataset is, at a glance, before anything is downloaded.

Shows the pixel axes (numpy order, with lengths), the world axes (with units), the
pixel-to-world correlation matrix as a small picture (an HTML table of coloured
cells: a filled cell means "moving along this pixel axis changes this world
coordinate"), the array size, the file count, and the inventory's key facts with
links.

Choices
-------
* The panel only reads the model's dataset and its ``wcs``/``meta``/``files``:
  nothing reads FITS data, so it is instant even for a headers-only dataset.
* Pixel axes are listed in numpy order (the order of ``ds[...]`` indices), which
  is the reverse of the WCS order; the correlation picture uses the same order,
  so its columns line up with the slice you would write.
* For a ``TiledDataset`` the axes are those of the first unmasked tile (all tiles
  share them) and the grid shape and tile count are shown alongside.
* Every value that comes from the dataset is escaped; links are kept only when
  they are http(s) URLs and open with ``rel="noopener noreferrer"``. Relative
  links from the data centre (``/download/movie?...``) are shown as text.
* Colours come from JupyterLab CSS variables (with fallbacks), so the panel is
  readable in the light and dark themes.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as w
import numpy as np

from ..core.formatting import escape, human_bytes, link_html
from ..core.inventory import dataset_bytes, inventory_of
from ..core.units import r0_label, r0_text
from .static_form import StaticForm

__all__ = ["DatasetOverview", "dataset_facts", "axes_description", "overview_html"]

_STYLE = """<style>
.dkw-overview { color: var(--jp-ui-font-color1, #222); font-size: var(--jp-ui-font-size1, 13px); }
.dkw-overview table { border-collapse: collapse; margin: 2px 0 6px 0; }
.dkw-overview th, .dkw-overview td { padding: 1px 6px; text-align: left;
  border-bottom: 1px solid var(--jp-border-color2, #ddd); }
.dkw-overview .dkw-corr td.dkw-corr-cell { width: 18px; height: 18px; padding: 0;
  border: 1px solid var(--jp-border-color1, #999); }
.dkw-overview .dkw-corr td.dkw-on { background: var(--jp-brand-color1, #1976d2); }
.dkw-overview .dkw-corr td.dkw-off { background: var(--jp-layout-color2, #eee); }
.dkw-overview .dkw-corr th.dkw-px { writing-mode: vertical-rl; transform: rotate(180deg);
  font-weight: normal; padding: 2px 0; }
.dkw-overview .dkw-facts { display: flex; flex-wrap: wrap; gap: 4px 18px; }
.dkw-overview .dkw-block { min-width: 220px; flex: 1 1 260px; }
.dkw-overview .dkw-inventory { flex-basis: 100%; }
.dkw-overview .dkw-kvs { display: flex; flex-wrap: wrap; gap: 2px 16px; margin: 2px 0 4px 0; }
.dkw-overview .dkw-kv { flex: 0 1 auto; min-width: 150px; max-width: 100%; overflow-wrap: anywhere; }
.dkw-overview .dkw-links br { display: none; }
.dkw-overview .dkw-links > a, .dkw-overview .dkw-links { margin-right: 14px; }
.dkw-overview a { color: var(--jp-content-link-color, #1565c0); }
.dkw-overview .dkw-muted { color: var(--jp-ui-font-color2, #666); }
</style>"""

# Inventory keys worth a line, in order, with labels.
_FACT_KEYS = (
    ("datasetId", "Dataset ID"),
    ("instrumentName", "Instrument"),
    ("primaryProposalId", "Proposal"),
    ("startTime", "Start"),
    ("endTime", "End"),
    ("wavelengthMin", "Wavelength min (nm)"),
    ("wavelengthMax", "Wavelength max (nm)"),
    ("qualityAverageFriedParameter", r0_label("Average r0")),
    ("isEmbargoed", "Embargoed"),
    ("embargoEndDate", "Embargo ends"),
    ("frameCount", "Frames (inventory)"),
    ("datasetSize", "Size (inventory)"),
    ("stokesParameters", "Stokes"),
    ("targetTypes", "Targets"),
    ("experimentDescription", "Experiment"),
)
_LINK_KEYS = (
    ("headerDocumentationUrl", "Header documentation"),
    ("calibrationDocumentationUrl", "Calibration documentation"),
    ("infoUrl", "DKIST data documentation"),
    ("browseMovieUrl", "Preview movie"),
)


def _first_tile(dataset):
    if type(dataset).__name__ == "TiledDataset":
        data = dataset._data
        mask = np.ma.getmaskarray(data)
        for position in np.ndindex(data.shape):
            if not mask[position]:
                return data.data[position]
        return None
    return dataset


def axes_description(dataset) -> dict:
    """Pixel axes (numpy order), world axes and the correlation matrix of ``dataset``.

    Returns ``{"pixel": [(name, length)], "world": [(name, unit)],
    "correlation": bool array (n_world, n_pixel) with pixel columns in numpy order}``.
    """
    from ..core.world_coords import pixel_axis_names

    tile = _first_tile(dataset)
    if tile is None:
        return {"pixel": [], "world": [], "correlation": np.zeros((0, 0), dtype=bool)}
    shape = tuple(tile.data.shape)
    pixel = list(zip(pixel_axis_names(tile), shape, strict=False))
    wcs = getattr(tile.wcs, "low_level_wcs", tile.wcs)  # sliced datasets hold a high-level wrapper
    names = list(wcs.world_axis_names or [])
    units = [str(u) for u in (wcs.world_axis_units or [])]
    n_world = wcs.world_n_dim
    names = [n or f"world {i}" for i, n in enumerate(names + [""] * (n_world - len(names)))]
    units = units + [""] * (n_world - len(units))
    matrix = np.asarray(wcs.axis_correlation_matrix, dtype=bool)[:, ::-1]
    return {"pixel": pixel, "world": list(zip(names, units, strict=False)), "correlation": matrix}


def dataset_facts(dataset) -> dict:
    """Counts and sizes: ``n_files``, ``array_shape``, ``array_nbytes``, ``dtype``,
    ``tile_grid`` (None unless tiled), ``n_tiles``, ``file_shape``."""
    tiled = type(dataset).__name__ == "TiledDataset"
    tile = _first_tile(dataset)
    facts: dict[str, Any] = {"tiled": tiled, "tile_grid": None, "n_tiles": 1}
    if tiled:
        mask = np.ma.getmaskarray(dataset._data)
        facts["tile_grid"] = tuple(dataset._data.shape)
        facts["n_tiles"] = int((~mask).sum())
        tiles = [dataset._data.data[p] for p in np.ndindex(mask.shape) if not mask[p]]
    else:
        tiles = [dataset] if dataset is not None else []
    facts["n_files"] = int(sum(len(t.files) for t in tiles))
    if tile is not None:
        facts["array_shape"] = tuple(tile.data.shape)
        facts["dtype"] = str(tile.data.dtype)
        facts["array_nbytes"] = int(sum(int(np.prod(t.data.shape)) * t.data.dtype.itemsize for t in tiles))
        facts["file_shape"] = tuple(tile.files.shape)
    return facts


def _fact_value(key, value) -> str:
    if value is None or value == "":
        return "<span class='dkw-muted'>—</span>"
    if key == "datasetSize":
        nbytes = dataset_bytes({"datasetSize": value})  # the inventory holds GiB
        return escape(human_bytes(nbytes) if nbytes is not None else value)
    if key == "qualityAverageFriedParameter":  # metres in the inventory
        try:
            text = r0_text(value, unit=False)
        except (TypeError, ValueError):
            return escape(value)
        return escape(text if text != "—" else f"{value} (not a number)")
    if isinstance(value, (list, tuple)):
        return escape(", ".join(_plain(v) for v in value))
    return escape(_plain(value))


def _plain(value) -> str:
    """A value as a person reads it: floats to 10 significant digits, so the binary
    representation error of a number such as 631.711 does not show as 631.7109999999999."""
    if isinstance(value, float):
        return f"{value:.10g}"
    return str(value)


def correlation_html(axes: dict) -> str:
    """The correlation matrix as a table: rows world axes, columns pixel axes."""
    pixel, world, matrix = axes["pixel"], axes["world"], axes["correlation"]
    head = "".join(
        f"<th class='dkw-px' title='pixel axis {i}'>{escape(name)}</th>" for i, (name, _n) in enumerate(pixel)
    )
    rows = []
    for wi, (name, _unit) in enumerate(world):
        cells = []
        for pi, (pname, _n) in enumerate(pixel):
            on = bool(matrix[wi, pi])
            tip = f"{name} {'depends on' if on else 'does not depend on'} {pname}"
            cells.append(
                f"<td class='dkw-corr-cell {'dkw-on' if on else 'dkw-off'}' "
                f"data-on='{int(on)}' title='{escape(tip)}'></td>"
            )
        rows.append(f"<tr><th>{escape(name)}</th>{''.join(cells)}</tr>")
    return (
        f"<table class='dkw-corr' data-testid='overview-correlation'><tr><th></th>{head}</tr>"
        + "".join(rows)
        + "</table>"
    )


def overview_html(dataset) -> str:
    """The whole overview as escaped HTML (``dataset`` may be None)."""
    if dataset is None:
        return (
            _STYLE + "<div class='dkw-overview'><b>No dataset open.</b> "
            "<span class='dkw-muted'>Search, select a row and press <i>Open</i>, "
            "or call <code>explore(ds)</code>.</span></div>"
        )
    axes = axes_description(dataset)
    facts = dataset_facts(dataset)
    inventory = inventory_of(dataset)
    title = escape(inventory.get("datasetId", "dataset"))
    kind = "TiledDataset" if facts["tiled"] else "Dataset"

    size_rows = [f"<tr><th>Kind</th><td>{kind}</td></tr>"]
    if facts["tiled"]:
        size_rows.append(
            f"<tr><th>Tile grid</th><td>{escape(' × '.join(map(str, facts['tile_grid'])))}"
            f" ({facts['n_tiles']} tiles)</td></tr>"
        )
    if "array_shape" in facts:
        label = "Array per tile" if facts["tiled"] else "Array"
        size_rows.append(
            f"<tr><th>{label}</th><td>{escape(' × '.join(map(str, facts['array_shape'])))}"
            f" {escape(facts['dtype'])}</td></tr>"
        )
        size_rows.append(f"<tr><th>Data size</th><td>{escape(human_bytes(facts['array_nbytes']))}</td></tr>")
        size_rows.append(f"<tr><th>FITS files</th><td data-testid='overview-files'>{facts['n_files']}</td></tr>")
        size_rows.append(
            f"<tr><th>Array in each file</th><td>{escape(' × '.join(map(str, facts['file_shape'])))}</td></tr>"
        )
    pixel_rows = "".join(
        f"<tr><td>{i}</td><td>{escape(n)}</td><td>{int(length)}</td></tr>"
        for i, (n, length) in enumerate(axes["pixel"])
    )
    world_rows = "".join(
        f"<tr><td>{i}</td><td>{escape(n)}</td><td>{escape(u)}</td></tr>" for i, (n, u) in enumerate(axes["world"])
    )
    fact_rows = "".join(
        f"<div class='dkw-kv'><span class='dkw-muted'>{escape(label)}</span> "
        f"{_fact_value(key, inventory.get(key))}</div>"
        for key, label in _FACT_KEYS
        if key in inventory
    )
    links = [link_html(inventory[key], label) for key, label in _LINK_KEYS if inventory.get(key)]
    links_html = " · ".join(links) or "<span class='dkw-muted'>no links in the inventory</span>"
    return (
        _STYLE
        + f"<div class='dkw-overview' data-testid='overview'><b>{title}</b> <span class='dkw-muted'>{kind}</span>"
        + "<div class='dkw-facts'>"
        + f"<div class='dkw-block'><table>{''.join(size_rows)}</table></div>"
        + "<div class='dkw-block'><b>Pixel axes</b> <span class='dkw-muted'>(numpy order: ds[i0, i1, ...])</span>"
        + f"<table><tr><th>#</th><th>name</th><th>length</th></tr>{pixel_rows}</table>"
        + f"<b>World axes</b><table><tr><th>#</th><th>name</th><th>unit</th></tr>{world_rows}</table></div>"
        + "<div class='dkw-block'><b>Correlation</b> <span class='dkw-muted'>(filled: the world axis "
        + "changes along the pixel axis)</span>"
        + correlation_html(axes)
        + "</div>"
        + f"<div class='dkw-block dkw-inventory'><b>Inventory</b><div class='dkw-kvs'>{fact_rows}</div>"
        + f"<div class='dkw-links'>{links_html}</div></div>"
        + "</div></div>"
    )


class DatasetOverview(StaticForm, w.VBox):
    """Axes, correlation picture, size, file count and inventory facts of the model's dataset."""

    static_title = "Dataset overview"

    def __init__(self, model, **kwargs):
        super().__init__(**kwargs)
        self.add_class("dkw-overview-panel")
        self.model = model
        self.html = w.HTML(layout=w.Layout(width="100%"))
        self.children = [self.html]
        model.observe(self._on_dataset, names="dataset")
        self._on_dataset()

    def _on_dataset(self, _change=None) -> None:
        try:
            self.html.value = overview_html(self.model.dataset)
        except Exception as err:  # noqa: BLE001 - reported to the user, never raised into the caller
            self.html.value = (
                _STYLE + "<div class='dkw-overview'><b>Could not describe this dataset:</b> "
                f"{escape(type(err).__name__)}: {escape(err)}</div>"
            )

    def close(self) -> None:
        try:  # close() runs again from Widget.__del__: unobserve only once
            self.model.unobserve(self._on_dataset, names="dataset")
        except ValueError:
            pass
        self.html.close()
        super().close()
