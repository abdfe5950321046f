"""Read an embedding column of parquet files straight into one float32 matrix.

Polars reads a 1M x 768 list column in about 10 s and then copies it again to make one
numpy array (3.6 s, twice the memory). Reading row group by row group with pyarrow into a
preallocated matrix takes about 6 s and holds one row group at a time beside it
(``benchmarks/scale.py``). Anything unusual (nulls, ragged vectors) returns None so the
caller's checked Polars path explains the problem.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


def read_parquet_vectors(files: list[Path], column: str, n_rows: int) -> np.ndarray | None:
    """Return ``column`` (one vector a row) of the parquet ``files`` as a C-contiguous
    (``n_rows``, width) float32 matrix, or None when the fast path does not apply."""
    out: np.ndarray | None = None
    position = 0
    for path in files:
        parquet = pq.ParquetFile(path)
        for group in range(parquet.num_row_groups):
            chunks = parquet.read_row_group(group, columns=[column]).column(0).chunks
            for chunk in chunks:
                block = _block(chunk)
                if block is None:
                    return None
                if out is None:
                    out = np.empty((n_rows, block.shape[1]), dtype=np.float32)
                end = position + len(block)
                if block.shape[1] != out.shape[1] or end > n_rows:
                    return None
                out[position:end] = block
                position = end
    if out is None or position != n_rows:
        return None
    return out


def _block(chunk: pa.Array) -> np.ndarray | None:
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
