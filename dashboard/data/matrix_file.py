"""Embedding matrices bigger than memory: written to a float32 ``.npy`` file a block at a
time, mapped, and read a block of rows at a time with the pages let go behind the reader.

A mapped file's pages count in a process's resident memory once touched, and Linux keeps
them mapped while it has free memory: one pass over a mapped 15 GB matrix (10M x 384) left
the process at 15 GB resident. :func:`row_blocks` and :func:`gather_rows` hand the pages of
each block back (``madvise(MADV_DONTNEED)``) once the caller is done with it, so a pass holds
one block; the file's pages stay in the page cache for the next pass, as memory the kernel
may reclaim, not the process's.
"""

from __future__ import annotations

import itertools
import mmap
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from dashboard.files import atomic_write

#: Bytes of rows per block of :func:`row_blocks` (32 MB: 21,845 rows of 384 float32s).
BLOCK_BYTES = 2**25
PAGE = mmap.PAGESIZE


def physical_memory() -> int:
    """This machine's memory in bytes (0 when the system does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 0


def write_matrix_file(
    path: Path,
    shape: tuple[int, int],
    fill: Callable[[Callable[[int, np.ndarray], None]], bool],
) -> bool:
    """Write a (rows, width) float32 ``.npy`` file at ``path`` without holding it in memory.

    ``fill(put)`` calls ``put(first_row, block)`` for blocks of rows, in any order and from
    any thread, and returns whether every row was written. The file appears (atomically,
    unsynced: it is a cache rebuilt when lost) only when ``fill`` returns True.
    """
    header = _npy_header(shape)

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as fh:
            fh.write(header)
            fh.truncate(len(header) + shape[0] * shape[1] * 4)
            fd = fh.fileno()

            def put(row: int, block: np.ndarray) -> None:
                with np.errstate(over="ignore"):  # beyond float32: inf, named by the fit
                    data = np.ascontiguousarray(block, dtype=np.float32)
                os.pwrite(fd, memoryview(data).cast("B"), len(header) + row * shape[1] * 4)

            if not fill(put):
                raise _IncompleteError

    try:
        atomic_write(path, write, durable=False)
    except _IncompleteError:
        return False
    return True


class _IncompleteError(Exception):
    """``fill`` could not write every row: no file is made."""


def _npy_header(shape: tuple[int, int]) -> bytes:
    # The same bytes np.save writes before a C-ordered float32 array of this shape.
    import io

    buffer = io.BytesIO()
    header = {"descr": "<f4", "fortran_order": False, "shape": shape}
    np.lib.format.write_array_header_1_0(buffer, header)
    return buffer.getvalue()


def row_blocks(X: np.ndarray, rows: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
    """``(first_row, block)`` for consecutive blocks of rows of ``X``; a mapped ``X`` lets
    each block's pages go once the caller asks for the next."""
    n = X.shape[0]
    step = rows or block_rows(X)
    for start in range(0, n, step):
        yield start, X[start : start + step]
        release(X, start, min(n, start + step))


def block_rows(X: np.ndarray) -> int:
    """Rows of ``X`` in one block of :data:`BLOCK_BYTES`."""
    width = int(np.prod(X.shape[1:])) if X.ndim > 1 else 1
    return max(1, BLOCK_BYTES // max(1, width * X.itemsize))


def gather_rows(X: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``X[rows]`` (a copy), read a block of sorted rows at a time from a mapped ``X``."""
    rows = np.asarray(rows)
    if _mapping(X) is None:
        return X[rows]
    out = np.empty((len(rows), *X.shape[1:]), dtype=X.dtype)
    order = np.argsort(rows, kind="stable")
    ordered = rows[order]
    # By stretches of the file, not by counts of rows: each row read maps the pages around
    # it too (the kernel's fault-around), so 20,000 rows spread over a 1.5 GB file made the
    # process 1.2 GB bigger before any release.
    step = block_rows(X)
    bounds = np.searchsorted(ordered, np.arange(0, X.shape[0] + step, step))
    for lo, hi in itertools.pairwise(bounds):
        if hi > lo:
            wanted = ordered[lo:hi]
            out[order[lo:hi]] = X[wanted]
            release(X, int(wanted[0]), int(wanted[-1]) + 1)
    return out


def release(X: np.ndarray, start: int, stop: int) -> None:
    """Let go of the pages of rows ``start:stop`` of a file-mapped, C-ordered ``X`` (no-op
    for arrays in memory): they leave this process's resident memory, and are read again
    from the page cache or the file if touched later."""
    found = _mapping(X)
    if found is None or stop <= start:
        return
    mapped, base = found
    row_bytes = X.strides[0]
    first = X.ctypes.data - base + start * row_bytes
    last = X.ctypes.data - base + stop * row_bytes
    first = -(-first // PAGE) * PAGE  # whole pages inside the rows only
    last = last // PAGE * PAGE
    if last > first:
        mapped.madvise(mmap.MADV_DONTNEED, first, last - first)


def _mapping(X: np.ndarray) -> tuple[mmap.mmap, int] | None:
    # The mmap behind X (through views) and its start address, when X is C-ordered rows.
    if not isinstance(X, np.ndarray) or X.ndim < 1 or not X.flags.c_contiguous:
        return None
    base = X
    while isinstance(base, np.ndarray):
        base = base.base
    if not isinstance(base, mmap.mmap) or base.closed:
        return None
    return base, np.frombuffer(base, dtype=np.uint8, count=1).ctypes.data
