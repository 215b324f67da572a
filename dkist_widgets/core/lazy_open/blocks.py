"""Binary blocks of an ASDF file, read one at a time and only when asked for.

An ASDF file is a YAML tree followed by binary blocks; the header table of a DKIST
ASDF keeps every column in its own block (zlib-compressed by the data centre).
``asdf`` reads every block when the table is built; :class:`BlockFile` finds the
blocks once (offsets from the block index at the end of the file, else by walking
the block headers) and reads a block's bytes when a column is first asked for.

Choices
-------
* The block format is the ASDF standard's (magic ``\\xd3BLK``, a big-endian header
  of flags, compression, allocated/used/data sizes, checksum). Compression ``zlib``
  and ``bzp2`` are read with the standard library; any other (``lz4``) or a streamed
  block raises :class:`UnsupportedBlocks` when the file is opened, so the caller can
  fall back to ``dkist.load_dataset`` before anything else is built.
* Index offsets are trusted only if every indexed offset starts with the block
  magic; otherwise the blocks are found by walking their headers (one seek each).
* The file is opened for each read (no handle is kept open), so a dataset held for
  hours does not pin an open file.
"""

from __future__ import annotations

import bz2
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

__all__ = ["BlockFile", "BlockInfo", "UnsupportedBlocks"]

MAGIC = b"\xd3BLK"
_HEADER = struct.Struct(">IIQQQ16s")  # flags, compression, allocated, used, data size, checksum
_INDEX_MARKER = b"#ASDF BLOCK INDEX"
_STREAMED = 0x1
_READ_BYTES = 1 << 18  # compressed bytes read at a time when inflating piece by piece
_DECOMPRESS = {b"\0\0\0\0": None, b"zlib": zlib.decompress, b"bzp2": bz2.decompress}


class UnsupportedBlocks(ValueError):
    """The blocks use a compression or layout this reader does not handle."""


@dataclass(frozen=True)
class BlockInfo:
    """Where one block's bytes are and how they are stored."""

    data_offset: int
    used_size: int
    data_size: int
    compression: bytes


class BlockFile:
    """The blocks of the ASDF at ``path``; ``first_block`` is the offset just after the YAML tree."""

    def __init__(self, path: os.PathLike, first_block: int):
        self.path = Path(path)
        with self.path.open("rb") as f:
            size = f.seek(0, os.SEEK_END)
            offsets = self._indexed_offsets(f, size, first_block)
            self.blocks = (
                [self._read_header(f, off) for off in offsets]
                if offsets is not None
                else self._walk(f, first_block, size)
            )

    def __len__(self) -> int:
        return len(self.blocks)

    def read(self, index: int) -> bytes:
        """The (decompressed) bytes of block ``index``."""
        info = self.blocks[index]
        with self.path.open("rb") as f:
            f.seek(info.data_offset)
            raw = f.read(info.used_size)
        if len(raw) != info.used_size:
            raise UnsupportedBlocks(f"block {index} is cut short ({len(raw)} of {info.used_size} bytes)")
        decompress = _DECOMPRESS[info.compression]
        data = raw if decompress is None else decompress(raw)
        if len(data) != info.data_size:
            raise UnsupportedBlocks(f"block {index} holds {len(data)} bytes, its header says {info.data_size}")
        return data

    def read_prefix(self, index: int, n_bytes: int) -> bytes:
        """The first ``n_bytes`` (decompressed) bytes of block ``index``, inflating no more
        of it than that (a header table's first rows cost what those rows hold)."""
        info = self.blocks[index]
        n_bytes = max(0, min(int(n_bytes), info.data_size))
        out = bytearray()
        for chunk in self.iter_read(index, n_bytes, stop=n_bytes):
            out += chunk
        return bytes(out)

    def iter_read(self, index: int, chunk_bytes: int, *, stop: int | None = None):
        """The (decompressed) bytes of block ``index`` in pieces of ``chunk_bytes`` (the last
        may be shorter), up to ``stop`` bytes (default: all).

        zlib blocks are inflated piece by piece: a caller converting each piece as it comes
        keeps the work in cache, where one ``zlib.decompress`` of a 180 MB text column
        spends most of its time growing its output buffer.
        """
        info = self.blocks[index]
        chunk_bytes = max(1, int(chunk_bytes))
        total = info.data_size if stop is None else max(0, min(int(stop), info.data_size))
        if info.compression != b"zlib":
            data = self.read(index) if stop is None or info.compression != b"\0\0\0\0" else self._raw(index, total)
            for start in range(0, total, chunk_bytes):
                yield data[start : min(start + chunk_bytes, total)]
            return
        inflate = zlib.decompressobj()
        done = 0
        parts: list[bytes] = []  # inflated pieces of the chunk being filled
        filled = 0
        with self.path.open("rb") as f:
            f.seek(info.data_offset)
            left = info.used_size
            pending = b""
            while done < total:
                if not pending:
                    if left <= 0 or inflate.eof:
                        break
                    pending = f.read(min(_READ_BYTES, left))
                    if not pending:
                        break
                    left -= len(pending)
                size = min(chunk_bytes, total - done)
                piece = inflate.decompress(pending, size - filled)
                pending = inflate.unconsumed_tail
                if piece:
                    parts.append(piece)
                    filled += len(piece)
                if filled == size:
                    done += filled
                    yield parts[0] if len(parts) == 1 else b"".join(parts)
                    parts, filled = [], 0
        if done < total:
            raise UnsupportedBlocks(f"block {index} holds fewer bytes than its header says ({info.data_size})")

    def _raw(self, index: int, n_bytes: int) -> bytes:
        info = self.blocks[index]
        with self.path.open("rb") as f:
            f.seek(info.data_offset)
            return f.read(n_bytes)

    # ---------------------------------------------------------------- finding blocks

    @staticmethod
    def _read_header(f, offset: int) -> BlockInfo:
        f.seek(offset)
        head = f.read(6)
        if len(head) < 6 or head[:4] != MAGIC:
            raise UnsupportedBlocks(f"no block at offset {offset}")
        (header_size,) = struct.unpack(">H", head[4:6])
        if header_size < _HEADER.size:
            raise UnsupportedBlocks(f"block header at {offset} is {header_size} bytes, too short")
        flags, compression, _allocated, used, data_size, _checksum = _HEADER.unpack(f.read(_HEADER.size))
        compression = struct.pack(">I", compression)
        if flags & _STREAMED:
            raise UnsupportedBlocks("a streamed block")
        if compression not in _DECOMPRESS:
            raise UnsupportedBlocks(f"block compression {compression!r} is not read here")
        return BlockInfo(offset + 6 + header_size, used, data_size, compression)

    def _indexed_offsets(self, f, size: int, first_block: int):
        tail_size = min(size, 1 << 20)
        f.seek(size - tail_size)
        tail = f.read(tail_size)
        at = tail.rfind(_INDEX_MARKER)
        if at < 0:
            return None
        offsets = []
        for line in tail[at:].splitlines():
            line = line.strip()
            if line.startswith(b"- "):
                try:
                    offsets.append(int(line[2:]))
                except ValueError:
                    return None
        if not offsets or offsets[0] != first_block:
            return None
        for off in offsets:
            f.seek(off)
            if f.read(4) != MAGIC:
                return None
        return offsets

    def _walk(self, f, offset: int, size: int) -> list[BlockInfo]:
        blocks = []
        while offset + 4 <= size:
            f.seek(offset)
            if f.read(4) != MAGIC:
                break
            info = self._read_header(f, offset)
            f.seek(offset + 4)
            (header_size,) = struct.unpack(">H", f.read(2))
            f.seek(offset + 6 + 8)  # allocated size: after flags and compression
            (allocated,) = struct.unpack(">Q", f.read(8))
            blocks.append(info)
            offset = offset + 6 + header_size + allocated
        return blocks
