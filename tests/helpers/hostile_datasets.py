"""Builders of bad inputs for tests/test_hostile_inputs.py, made in a test's tmp folder.

Every bad file starts from a real one (the cached sample archive's KPLMQ ASDF, or a
small headers-only dataset from :func:`dkist_widgets.sandbox.headers_only.make_headers_only_dataset`)
and is damaged the way files get damaged: cut short, overwritten, replaced by a
different ASDF. Bad header tables are made by removing or replacing columns of a
loaded dataset's real ``ds.headers``, which is what such a dataset would hold.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import ipywidgets as w
import numpy as np
from astropy.table import MaskedColumn

#: kind -> function(good_bytes) -> bad bytes
BAD_ASDF = {
    "truncated": lambda good: good[: len(good) // 2],
    "garbage": lambda good: bytes(np.random.default_rng(3).integers(0, 256, 20_000, dtype=np.uint8)),
    "empty": lambda good: b"",
    "yaml_not_asdf_tree": lambda good: (
        b"#ASDF 1.0.0\n#ASDF_STANDARD 1.5.0\n%YAML 1.1\n%TAG ! tag:stsci.edu:asdf/\n"
        b"--- !core/asdf-1.1.0\nfoo: bar\n...\n"
    ),
}


def write_bad_asdf(kind: str, good: Path, folder: Path) -> Path:
    """A damaged copy of the ASDF ``good`` in ``folder`` (``kind`` from BAD_ASDF, or ``not_dkist``)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{kind}_{good.name}"
    if kind == "not_dkist":  # a valid ASDF file written by asdf itself, holding no dataset
        import asdf

        asdf.AsdfFile({"foo": [1, 2, 3]}).write_to(path)
        return path
    path.write_bytes(BAD_ASDF[kind](good.read_bytes()))
    return path


def load(path):
    import dkist

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return dkist.load_dataset(path)


def without_key(path, key: str):
    """The dataset at ``path`` with ``key`` removed from its header table."""
    ds = load(path)
    ds.headers.remove_column(key)
    return ds


def with_r0(path, kind: str):
    """The dataset at ``path`` with ATMOS_R0 all masked, all NaN, all +inf or all -inf."""
    ds = load(path)
    n = len(ds.headers)
    if kind == "masked":
        col = MaskedColumn(np.full(n, 0.1), mask=np.ones(n, dtype=bool), name="ATMOS_R0")
    else:
        value = {"nan": np.nan, "inf": np.inf, "-inf": -np.inf}[kind]
        col = MaskedColumn(np.full(n, value), name="ATMOS_R0")
    ds.headers.replace_column("ATMOS_R0", col)
    return ds


# ------------------------------------------------------------------ looking at widgets


def all_widgets(root) -> list:
    """Every widget reachable from ``root`` (children and widget attributes, also inside dicts/lists)."""
    seen, stack, out = set(), [root], []
    while stack:
        x = stack.pop()
        if id(x) in seen or not isinstance(x, w.Widget):
            continue
        seen.add(id(x))
        out.append(x)
        stack.extend(getattr(x, "children", ()) or ())
        for v in vars(x).values():
            if isinstance(v, w.Widget):
                stack.append(v)
            elif isinstance(v, dict):
                stack.extend(u for u in v.values() if isinstance(u, w.Widget))
            elif isinstance(v, (list, tuple)):
                stack.extend(u for u in v if isinstance(u, w.Widget))
    return out


def shown_texts(root) -> list[str]:
    """The HTML/text values, titles and outputs a user can see under ``root``."""
    out = []
    for x in all_widgets(root):
        for name in ("value", "title", "description", "placeholder"):
            v = getattr(x, name, None)
            if isinstance(v, str) and v:
                out.append(v)
        if isinstance(x, w.Output):
            out.extend(str(o) for o in x.outputs)
    return out


def html_values(root) -> list[str]:
    """Values of the widgets whose value the browser renders as HTML."""
    return [x.value for x in all_widgets(root) if isinstance(x, (w.HTML, w.HTMLMath)) and x.value]


def words(html: str) -> str:
    """Visible words of an HTML value (tags dropped, entities of quotes undone)."""
    text = re.sub(r"<style>.*?</style>", "", html, flags=re.S)
    text = re.sub(r"<[^>]+>", " ", text)
    return re.sub(r"\s+", " ", text.replace("&#x27;", "'").replace("&quot;", '"').replace("&amp;", "&")).strip()


def assert_no_traceback(root) -> None:
    for text in shown_texts(root):
        assert "Traceback" not in text and 'File "' not in text, text[:500]
