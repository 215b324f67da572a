"""The cut YAML tree followed by the file's own blocks, read by ``asdf`` as one file.

The WCS of a DKIST ASDF keeps small arrays (affine matrices, the Stokes lookup table)
in binary blocks, so asdf needs the blocks to convert it. :class:`JoinedFile` is a
read-only, seekable file whose bytes are the cut tree (from
:func:`~.asdf_text.split_tree`) and then the original file from its first block on.
The block index at the end of the file then points at the wrong offsets; asdf sees
that and finds the blocks by walking their headers (a few hundred small reads), and
with ``lazy_load=True`` it reads only the blocks the WCS uses.

:func:`read_tree` opens it with asdf's own extensions (dkist's converters included),
converts the tree, and closes the file before returning: nothing is left open and no
asdf or dkist setting is changed.
"""

from __future__ import annotations

import io
import os
import warnings

__all__ = ["JoinedFile", "read_tree"]


class JoinedFile(io.RawIOBase):
    """``head`` (bytes) followed by the file at ``path`` from byte ``tail_start`` on."""

    def __init__(self, head: bytes, path: os.PathLike, tail_start: int):
        super().__init__()
        self._head = head
        self._file = open(path, "rb")
        self._tail_start = tail_start
        self._size = len(head) + os.fstat(self._file.fileno()).st_size - tail_start
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer) -> int:
        view = memoryview(buffer).cast("B")
        wanted = min(len(view), max(0, self._size - self._pos))
        done = 0
        head_len = len(self._head)
        if self._pos < head_len and wanted:
            n = min(wanted, head_len - self._pos)
            view[:n] = self._head[self._pos : self._pos + n]
            done = n
        if done < wanted:
            self._file.seek(self._tail_start + self._pos + done - head_len)
            done += self._file.readinto(view[done:wanted])
        self._pos += done
        return done

    def close(self) -> None:
        if not self.closed:
            self._file.close()
        super().close()


def read_tree(head: bytes, path: os.PathLike, tail_start: int, check_version=None) -> dict:
    """The converted tree of ``head`` + the blocks of ``path`` (a plain dict of its top-level entries).

    ``check_version(path, asdf_file)`` runs while the file is open (dkist's extension
    version check).
    """
    import asdf

    raw = JoinedFile(head, path, tail_start)
    with raw, io.BufferedReader(raw, buffer_size=1 << 16) as fd, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with asdf.open(fd, lazy_load=True, memmap=False) as af:
            if check_version is not None:
                check_version(path, af)
            return {key: af.tree[key] for key in af.tree}
