"""Read an embedding column of parquet files straight into one float32 matrix.

Polars reads a 1M x 768 list column in about 10 s and then copies it again to make one
numpy array (3.6 s, twice the memory). Decoding row groups with pyarrow, in parallel, straight
into a preallocated matrix is faster and holds only the batches in flight beside it: a batch
of a few thousand rows, not a whole row group (arrow's decode of a 100k-row group of a list
column needs about 1 GB of buffers and levels: 2.2 GB beside the matrix with two threads).
Anything unusual (nulls, ragged vectors) returns None so the caller's checked Polars path
explains the problem.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from dashboard.data.matrix_file import write_matrix_file

#: Vector bytes decoded at a time by each thread (8,192 rows of 768 float32s). Whole row
#: groups: 1M x 768 in 6.5-8.3 s, peak 6.0-6.2 GB; these batches: 4.3-5.8 s, 3.7-4.0 GB.
BATCH_BYTES = 2**25


def read_parquet_vectors(
    files: Sequence[str | Path],
    column: str,
    n_rows: int,
    *,
    filesystem: Any = None,
    to_file: Path | None = None,
) -> np.ndarray | None:
    """Return ``column`` (one vector a row) of the parquet ``files`` as a C-contiguous
    (``n_rows``, width) float32 matrix, or None when the fast path does not apply.

    Row groups are decoded in parallel, one thread a core, each straight into its rows of
    the matrix, a batch at a time (:data:`BATCH_BYTES`). With ``to_file``, the rows go to
    that ``.npy`` file instead of memory, and the matrix returned is mapped from it: memory
    then holds the batches in flight, whatever the table's size. ``filesystem`` (a pyarrow
    filesystem, e.g. S3) reads ``files`` from object storage, a row group at a time.
    """
    groups = []  # (file, row group, first row)
    start = 0
    for path in files:
        metadata = open_parquet(path, filesystem).metadata
        for group in range(metadata.num_row_groups):
            groups.append((path, group, start))
            start += metadata.row_group(group).num_rows
    if start != n_rows or not n_rows:
        return None
    width = _width(open_parquet(files[0], filesystem), column)
    if not width:  # unknown, or empty vectors: the Polars path says what is wrong
        return None
    if to_file is not None:
        decode = lambda put: _decode(groups, column, width, put, filesystem)  # noqa: E731
        if not write_matrix_file(to_file, (n_rows, width), decode):
            return None
        return np.load(to_file, mmap_mode="r", allow_pickle=False)
    out = np.empty((n_rows, width), dtype=np.float32)

    def put(row: int, block: np.ndarray) -> None:
        # Values beyond float32 become infinite; the reducers' input check names the rows.
        with np.errstate(over="ignore"):
            out[row : row + len(block)] = block

    return out if _decode(groups, column, width, put, filesystem) else None


def open_parquet(path: str | Path, filesystem: Any = None) -> pq.ParquetFile:
    """The parquet file at ``path``: mapped when local, else read through ``filesystem``
    (a pyarrow filesystem) in ranges, with the column chunks a read needs fetched together."""
    if filesystem is None:
        return pq.ParquetFile(path, memory_map=True)
    return pq.ParquetFile(filesystem.open_input_file(str(path)), pre_buffer=True)


def _decode(
    groups: list[tuple[str | Path, int, int]],
    column: str,
    width: int,
    put: Callable[[int, np.ndarray], None],
    filesystem: Any = None,
) -> bool:
    """Decode ``groups`` (file, row group, first row), calling ``put(first_row, block)``
    for each batch; False when a batch is not plain vectors of ``width``."""
    batch_rows = max(1, BATCH_BYTES // (4 * width))

    def load(task: tuple[str | Path, int, int]) -> bool:
        path, group, row = task
        # Threads decode separate row groups; arrow's own threads would only contend.
        parquet = open_parquet(path, filesystem)
        batches = parquet.iter_batches(
            batch_size=batch_rows, row_groups=[group], columns=[column], use_threads=False
        )
        for batch in batches:
            block = vector_block(batch.column(0))
            if block is None or block.shape[1] != width:
                return False
            put(row, block)
            row += len(block)
        return True

    with ThreadPoolExecutor(max_workers=min(os.cpu_count() or 1, 4)) as pool:
        return all(pool.map(load, groups))


def _width(parquet: pq.ParquetFile, column: str) -> int | None:
    # The vector width: the fixed size of an Array column, else the first row's length.
    field = parquet.schema_arrow.field(column)
    if pa.types.is_fixed_size_list(field.type):
        return field.type.list_size
    # One row, not a whole row group (hundreds of MB at 100k x 768).
    first = next(parquet.iter_batches(batch_size=1, columns=[column]), None)
    if first is None or not len(first) or not first.column(0)[0].is_valid:
        return None
    return len(first.column(0)[0])


def vector_block(chunk: pa.Array) -> np.ndarray | None:
    # A chunk's vectors as a (rows, width) array (a view where arrow allows), or None.
    kind = chunk.type
    if chunk.null_count or not (
        pa.types.is_fixed_size_list(kind) or pa.types.is_list(kind) or pa.types.is_large_list(kind)
    ):
        return None
    if not (pa.types.is_floating(kind.value_type) or pa.types.is_integer(kind.value_type)):
        return None
    if pa.types.is_fixed_size_list(kind):
        width = kind.list_size
    else:
        lengths = np.diff(np.asarray(chunk.offsets))
        if not len(lengths) or (lengths != lengths[0]).any():
            return None
        width = int(lengths[0])
    values = chunk.flatten()
    if values.null_count or len(values) != len(chunk) * width:
        return None
    return values.to_numpy(zero_copy_only=False).reshape(len(chunk), width)
