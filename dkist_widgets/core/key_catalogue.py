"""What SPEC-0214 says about each header key: meaning, unit, section.

The header explorer shows these next to keys. They come from
``dkist-fits-specifications`` (``load_raw_spec214``; templated keys such as
``DINDEX<k>`` match by pattern). Reading its YAML takes ~1.3 s, once per kernel, so
the entries are also cached as JSON per version of the package (in the user cache
folder, or ``$DKIST_WIDGETS_CACHE_DIR``): a new kernel reads them in milliseconds. If
the package is missing or changes shape the catalogue is empty and
:func:`catalogue_problem` says why; nothing else breaks.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

__all__ = ["KeyInfo", "key_catalogue", "describe_key", "catalogue_problem"]

#: Bump when the cached entries' layout changes.
_CACHE_FORMAT = 1


@dataclass(frozen=True)
class KeyInfo:
    """What SPEC-0214 says about a header key."""

    key: str
    description: str = ""
    units: str = ""
    section: str = ""
    section_title: str = ""
    pattern: str = ""  # the templated spec name (e.g. "DINDEX<k>") when matched by pattern

    def summary(self) -> str:
        unit = f" [{self.units}]" if self.units else ""
        return f"{self.key}{unit}: {self.description}" if self.description else f"{self.key}{unit}"


_CATALOGUE_PROBLEM: list[str] = []


@lru_cache(maxsize=1)
def key_catalogue() -> dict[str, Any]:
    """``{"exact": {key: KeyInfo}, "patterns": [(regex, KeyInfo)]}`` from dkist-fits-specifications.

    Loaded once per process: from the JSON cache when it is there for this version of
    dkist-fits-specifications (~20 ms), else from its YAML (~1.3 s here), then cached.
    Empty, with :func:`catalogue_problem` set, when the package cannot be read.
    """
    try:
        from dkist_fits_specifications import __version__ as spec_version
    except Exception:  # noqa: BLE001 - no version: no cache, the YAML is read
        spec_version = None
    entries = _read_cache(spec_version)
    if entries is None:
        try:
            entries = _entries_from_spec214()
        except Exception as error:  # noqa: BLE001 - any failure only loses the descriptions
            _CATALOGUE_PROBLEM.append(
                f"key descriptions unavailable: dkist-fits-specifications could not be read ({error})"
            )
            return {"exact": {}, "patterns": []}
        _write_cache(spec_version, entries)
    exact: dict[str, KeyInfo] = {}
    patterns: list[tuple[re.Pattern, KeyInfo]] = []
    for fields in entries:
        info = KeyInfo(**fields)
        if info.pattern:
            regex = re.compile("^" + re.sub(r"<[a-z]+>", r"\\d+", re.escape(info.pattern)) + "$")
            patterns.append((regex, info))
        else:
            exact.setdefault(info.key, info)
    return {"exact": exact, "patterns": patterns}


def _entries_from_spec214() -> list[dict]:
    """Every key of SPEC-0214 as ``KeyInfo`` fields, in the specification's order."""
    from dkist_fits_specifications import spec214

    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        raw = spec214.load_raw_spec214()
    entries = []
    for section, content in raw.items():
        header, body = content if isinstance(content, tuple) else ({}, content)
        meta = (header or {}).get("spec214", {}) if hasattr(header, "get") else {}
        title = str(meta.get("title", "") or "")
        for name, entry in body.items():
            entry = entry if hasattr(entry, "get") else {}
            entries.append(
                dict(
                    key=str(name),
                    description=" ".join(str(entry.get("description", "") or entry.get("comment", "") or "").split()),
                    units=str(entry.get("units", "") or ""),
                    section=str(section),
                    section_title=title,
                    pattern=str(name) if "<" in str(name) else "",
                )
            )
    return entries


def _cache_path(spec_version) -> Path | None:
    if not spec_version:
        return None
    base = os.environ.get("DKIST_WIDGETS_CACHE_DIR")
    if not base:
        import platformdirs

        base = platformdirs.user_cache_dir("dkist-widgets")
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", str(spec_version))
    return Path(base) / f"spec214-keys-{safe}-v{_CACHE_FORMAT}.json"


def _read_cache(spec_version) -> list[dict] | None:
    path = _cache_path(spec_version)
    try:
        entries = json.loads(path.read_text(encoding="utf-8")) if path else None
    except (OSError, ValueError):
        return None
    fields = set(KeyInfo.__dataclass_fields__)
    if not isinstance(entries, list) or not all(isinstance(e, dict) and set(e) == fields for e in entries):
        return None
    return entries


def _write_cache(spec_version, entries: list[dict]) -> None:
    path = _cache_path(spec_version)
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(entries), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:  # a read-only cache only costs the next kernel the YAML read
        pass


def describe_key(key: str) -> KeyInfo | None:
    """The SPEC-0214 entry of ``key`` (exact name, else a templated one), or None."""
    catalogue = key_catalogue()
    info = catalogue["exact"].get(key)
    if info is not None:
        return info
    for regex, template in catalogue["patterns"]:
        if regex.match(key):
            return KeyInfo(**{**template.__dict__, "key": key})
    return None


def catalogue_problem() -> str:
    """Why the key catalogue is empty ("" when it loaded)."""
    key_catalogue()
    return _CATALOGUE_PROBLEM[-1] if _CATALOGUE_PROBLEM else ""
