"""The YAML text of a DKIST ASDF, cut so the slow parts are never parsed as YAML.

Two parts of a level 1 ASDF make ``asdf.open`` slow on big datasets: the list of
file names (``dataset.data.fileuris``, ~57 MB of YAML at a million frames) and the
header table (``dataset.meta.headers``, whose column blocks asdf reads and inflates
at once). :func:`split_tree` reads the text of the tree and returns

* the file names as a numpy array of the grid's shape, read by a scanner that knows
  the layout PyYAML writes (block sequences ``- `` around flow sequences ``[a, b]``),
* the text of the tree with that list replaced by ``[]`` and the dataset, file
  manager, table, column and ndarray tags of the header table removed, so asdf
  yields plain dicts for them (and converts the WCS, units and inventory as usual).

Anything the scanner does not recognise (quoting it cannot undo, ragged lists, a
tag other than the dkist 1.2/1.3 dataset)
raises :class:`UnusualLayout`: the caller then uses ``dkist.load_dataset``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

import numpy as np

__all__ = ["SplitTree", "UnusualLayout", "split_tree", "parse_fileuris"]

_END = b"\n...\n"
_DATASET_TAG = re.compile(rb"(?m)^dataset: !<asdf://dkist\.nso\.edu/tags/dataset-(1\.[23])\.0>[ \t]*$")
_FILE_MANAGER_TAG = re.compile(rb"(?m)^(  data:) !<asdf://dkist\.nso\.edu/tags/file_manager-1\.[01]\.0>[ \t]*$")
_HEADERS_TAG = re.compile(rb"(?m)^(    headers:) !<tag:astropy\.org:astropy/table/table-1\.\d+\.\d+>[ \t]*$")
#: astropy columns (``!table/column``; ``!core/column`` in older files) and their arrays
_UNTAG_IN_TABLE = re.compile(rb"!(?:table|core)/column-1\.\d+\.\d+|!core/ndarray-1\.\d+\.\d+")
_FILEURIS_KEY = re.compile(rb"(?m)^(    )fileuris:")
_TOP_LEVEL_LINE = re.compile(rb"\n[^ \n]")
#: A plain scalar starting with one of these is not read here.
_INDICATORS = "&*!|>%@`?:{}#-"
_PLAIN_ITEM = re.compile(r"[^\s,\[\]'\"#{}&*!|>%@`][^\s,\[\]{}]*")


class UnusualLayout(ValueError):
    """The ASDF is not laid out as the lazy reader expects; use ``dkist.load_dataset``."""


@dataclass
class SplitTree:
    """What :func:`split_tree` found; ``yaml`` is the cut tree (the file's blocks follow it)."""

    yaml: bytes
    fileuris: np.ndarray
    first_block: int  # byte offset of the first block (just after the tree)
    dataset_tag_version: str


def read_tree_text(path: os.PathLike) -> tuple[bytes, int]:
    """The YAML tree's bytes (up to and including the ``...`` line) and where blocks start."""
    chunks: list[bytes] = []
    size = 0
    tail = b""
    with open(path, "rb") as f:
        while True:
            chunk = f.read(1 << 23)
            if not chunks and not chunk.startswith(b"#ASDF"):
                raise UnusualLayout("not an ASDF file")
            if not chunk:
                raise UnusualLayout("no end of the YAML tree")
            found = (tail + chunk).find(_END)  # the marker may straddle two chunks
            if found >= 0:
                stop = size - len(tail) + found + len(_END)
                chunks.append(chunk)
                return b"".join(chunks)[:stop], stop  # joined once
            chunks.append(chunk)
            size += len(chunk)
            tail = chunk[-len(_END) :]


def _block_end(text: bytes, start: int, indent: int) -> int:
    """End of the YAML value that starts at line ``start``: the next line indented <= ``indent``."""
    # a "- " at the key's own indentation continues an indentless block sequence
    pattern = re.compile(rb"\n(?= {0,%d}(?!- )[^ \n])" % indent)
    m = pattern.search(text, start)
    return m.start() + 1 if m else len(text)


def split_tree(path: os.PathLike) -> SplitTree:
    """Read the tree of the ASDF at ``path`` and cut out its file list (see the module doc)."""
    text, first_block = read_tree_text(path)
    tag = _DATASET_TAG.search(text)
    if tag is None:
        raise UnusualLayout("no level 1 dataset of a dkist 1.2/1.3 tag at the top of the tree")
    version = tag.group(1).decode()
    # Each search starts where the previous part ended, so the file list is scanned once.
    fm = _FILE_MANAGER_TAG.search(text, tag.end())
    key = _FILEURIS_KEY.search(text, fm.end()) if fm else None
    if fm is None or key is None:
        raise UnusualLayout("the dataset has no file manager or file list where expected")
    uris_end = _block_end(text, key.end(), 4)
    headers = _HEADERS_TAG.search(text, uris_end) or _HEADERS_TAG.search(text, tag.end(), fm.start())
    if headers is None:
        raise UnusualLayout("the dataset has no astropy header table where expected")
    headers_end = _block_end(text, headers.end(), 4)
    dataset_end = _block_end(text, max(uris_end, headers_end), 0)
    # nothing at the top level between the dataset tag and its two parts (small ranges only)
    first, second = sorted([(fm.start(), uris_end), (headers.start(), headers_end)])
    if _TOP_LEVEL_LINE.search(text, tag.end(), first[0]) or _TOP_LEVEL_LINE.search(text, first[1] - 1, second[0]):
        raise UnusualLayout("the file list or header table is not inside the dataset")
    base = tag.end()
    section = text[base:dataset_end]
    fm, key, headers = (_Shifted(m, base) for m in (fm, key, headers))
    uris_end, headers_end = uris_end - base, headers_end - base
    fileuris = parse_fileuris(section[key.end() : uris_end].decode("utf-8"))
    if headers.start() < key.start() < headers_end:
        raise UnusualLayout("the file list sits inside the header table")

    # Rebuild the dataset section: untagged dataset and file manager, empty file list,
    # header table with its table/column/ndarray tags removed (plain dicts, no block reads).
    pieces = []
    cuts = sorted(
        [
            (fm.start(), fm.end(), fm.group(1)),
            (key.start(), uris_end, b"    fileuris: []\n"),
            (
                headers.start(),
                headers_end,
                headers.group(1) + _UNTAG_IN_TABLE.sub(b"", section[headers.end() : headers_end]),
            ),
        ]
    )
    at = 0
    for start, stop, replacement in cuts:
        pieces.append(section[at:start])
        pieces.append(replacement)
        at = stop
    pieces.append(section[at:])
    new_section = b"".join(pieces)
    yaml = text[: tag.start()] + b"dataset:" + new_section + text[dataset_end:]
    return SplitTree(yaml=yaml, fileuris=fileuris, first_block=first_block, dataset_tag_version=version)


class _Shifted:
    """A regex match's ``start``/``end``/``group`` moved by ``-base`` (positions in a section)."""

    def __init__(self, match, base: int):
        self._match, self._base = match, base

    def start(self) -> int:
        return self._match.start() - self._base

    def end(self) -> int:
        return self._match.end() - self._base

    def group(self, n: int = 0):
        return self._match.group(n)


def parse_fileuris(value: str) -> np.ndarray:
    """The file names of a ``fileuris`` YAML value (text after the key) as an array of the grid's shape.

    Layout (what PyYAML writes for nested lists of strings): the innermost lists are flow
    sequences ``[a, b, ...]`` (possibly over several lines), the outer levels block
    sequences whose ``-`` markers precede each inner list. The grid shape follows from
    how many markers open each inner list.
    """
    flows = list(_flow_sequences(value))
    if not flows:
        raise UnusualLayout("the file list is not written as flow sequences")
    depth = None
    counts: list[int] = []
    index: list[int] = []
    rows: list[list[str]] = []
    prev_end = 0
    for m in flows:
        between = value[prev_end : m.start()]
        if between.strip(" \n-,") or (prev_end and "\n" not in between and "-" in between):
            raise UnusualLayout("unexpected text between the file list's sequences")
        line_prefix = value[value.rfind("\n", 0, m.start()) + 1 : m.start()]
        markers = line_prefix.count("-")
        if line_prefix.replace("-", "").strip():
            raise UnusualLayout("unexpected text before a sequence of the file list")
        if depth is None:
            depth = markers
            counts = [0] * depth
            index = [0] * depth
        if markers == 0 and depth:
            raise UnusualLayout("a flow sequence without its block marker")
        if markers > depth:
            raise UnusualLayout("ragged nesting in the file list")
        if depth:
            level = depth - markers
            if prev_end:
                index[level] += 1
                for deeper in range(level + 1, depth):
                    index[deeper] = 0
            for lv in range(depth):
                counts[lv] = max(counts[lv], index[lv] + 1)
        elif prev_end:
            raise UnusualLayout("more than one flow sequence at the top of the file list")
        rows.append(_flow_items(m.group(1)))
        prev_end = m.end()
    if value[prev_end:].strip():
        raise UnusualLayout("unexpected text after the file list")
    width = len(rows[0])
    if any(len(r) != width for r in rows) or width == 0:
        raise UnusualLayout("the file list's inner sequences differ in length")
    shape = tuple(counts) + (width,)
    if int(np.prod(shape[:-1])) != len(rows):
        raise UnusualLayout("the file list's nesting is ragged")
    flat = np.concatenate(rows) if len(rows) > 1 else rows[0]
    if flat.dtype.kind == "S":  # fast path: ASCII -> the str array dkist has (code points widened)
        width_chars = flat.dtype.itemsize
        flat = flat.view(np.uint8).reshape(flat.size, width_chars).astype(np.uint32).view(f"U{width_chars}").ravel()
    return flat.reshape(shape)


class _Flow:
    """One innermost ``[...]`` of the file list: ``start``/``end`` in the text, ``group(1)`` its content."""

    __slots__ = ("_start", "_end", "_content")

    def __init__(self, start: int, end: int, content: str):
        self._start, self._end, self._content = start, end, content

    def start(self) -> int:
        return self._start

    def end(self) -> int:
        return self._end

    def group(self, _n: int = 1) -> str:
        return self._content


def _flow_sequences(value: str):
    """The innermost flow sequences of ``value`` in order (``str.find``, not a regex: 57 MB at 1M frames)."""
    at = 0
    while True:
        start = value.find("[", at)
        if start < 0:
            return
        stop = value.find("]", start)
        if stop < 0:
            raise UnusualLayout("an unclosed sequence in the file list")
        nested = value.find("[", start + 1, stop)
        if nested >= 0:
            raise UnusualLayout("nested flow sequences in the file list")
        yield _Flow(start, stop + 1, value[start + 1 : stop])
        at = stop + 1


def _flow_items(content: str) -> np.ndarray:
    """The scalars of one flow sequence's content (plain or single-quoted names), as an array."""
    if '"' in content:
        raise UnusualLayout("double-quoted file names")
    if "'" not in content:
        fixed = _fixed_width_items(content)
        if fixed is not None:
            return fixed
        return np.array(_plain_items(content))
    return np.array(_quoted_items(content))


def _fixed_width_items(content: str) -> np.ndarray | None:
    """Plain ASCII names all of one length (the data centre's), split without a Python string
    per name: whitespace removed in one pass, then the text viewed as ``(n, width + 1)``
    bytes whose last column must be the commas. ``None`` when the layout is anything else."""
    if "#" in content or "\t" in content or not content.isascii():
        return None
    # str methods only (a regex over 14 MB per Stokes state takes seconds)
    packed = "".join([line.strip() for line in content.split("\n")]).replace(", ", ",").rstrip(",")
    if not packed or " " in packed:  # other spacing, or a space inside a name: the general path
        return None
    width = packed.find(",")
    width = len(packed) if width < 0 else width
    raw = np.frombuffer((packed + ",").encode("ascii"), dtype=np.uint8)
    if width == 0 or raw.size % (width + 1):
        return None
    table = raw.reshape(-1, width + 1)
    if not (table[:, width] == ord(",")).all() or (table[:, :width] == ord(",")).any():
        return None
    if np.isin(table[:, 0], np.frombuffer(_INDICATORS.encode(), dtype=np.uint8)).any():
        raise UnusualLayout("a file name starting with a YAML indicator: not read here")
    return np.ascontiguousarray(table[:, :width]).view(f"S{width}").ravel()


def _plain_items(content: str) -> list[str]:
    out = [item.strip() for item in content.split(",")]
    if out and not out[-1]:
        out.pop()  # a trailing comma
    joined = "".join(out)
    if not all(out) or " " in joined or "\t" in joined or "\n" in joined or "#" in content:
        raise UnusualLayout("file names with spaces, comments or empty entries in the file list")
    if set(_INDICATORS).intersection({item[0] for item in out}):
        raise UnusualLayout("a file name starting with a YAML indicator: not read here")
    return out


def _quoted_items(content: str) -> list[str]:
    out = []
    for m in re.finditer(r"\s*(?:'((?:[^']|'')*)'|([^,]*?))\s*(?:,|$)", content):
        if m.end() == m.start():
            break
        if m.group(1) is not None:
            out.append(m.group(1).replace("''", "'"))
        else:
            s = m.group(2).strip()
            if not s:
                continue
            if not _PLAIN_ITEM.fullmatch(s):
                raise UnusualLayout(f"a file name the scanner does not read: {s[:80]!r}")
            out.append(s)
    return out
