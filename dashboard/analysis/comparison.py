"""Compare two embeddings of the same items (model A against B, checkpoint t against t+1) in
their original spaces, rows matched by an id column.

- k-NN overlap, per item: the share of its k nearest items under A that are also among its
  k nearest under B (1: the two models agree on its neighbourhood).
- linear CKA: one number for the whole pair, the similarity of the two representations up to
  rotation and isotropic scaling (1: the same geometry; it allows different widths).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from dashboard.analysis.knn import nearest
from dashboard.analysis.quality import overlap
from dashboard.data.matrix_file import gather_rows
from dashboard.data.sampling import sample_rows


@dataclass(frozen=True)
class Comparison:
    """Two tables' embeddings compared on their shared ids."""

    ids: pl.Series  # the shared ids, in the order of the arrays below
    rows_a: np.ndarray  # their rows in table A
    rows_b: np.ndarray  # and in table B
    overlap: np.ndarray  # per shared id (NaN when not measured)
    cka: float
    k: int


def match_ids(ids_a: pl.Series, ids_b: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """Row numbers in A and in B of the ids both have (each id's first row), in A's order."""
    a = pl.DataFrame({"id": ids_a, "row_a": np.arange(len(ids_a))}).unique("id", keep="first")
    b = pl.DataFrame({"id": ids_b.cast(ids_a.dtype, strict=False), "row_b": np.arange(len(ids_b))})
    joined = a.join(b.unique("id", keep="first"), on="id").sort("row_a")
    return joined["row_a"].to_numpy(), joined["row_b"].to_numpy()


def linear_cka(A: np.ndarray, B: np.ndarray) -> float:
    """Linear centred kernel alignment of two row-matched matrices (widths may differ)."""
    A = np.asarray(A, dtype=np.float64)
    B = np.asarray(B, dtype=np.float64)
    A = A - A.mean(axis=0)
    B = B - B.mean(axis=0)
    cross = np.linalg.norm(A.T @ B) ** 2
    return float(cross / (np.linalg.norm(A.T @ A) * np.linalg.norm(B.T @ B)))


def compare(
    X_a: np.ndarray,
    ids_a: pl.Series,
    X_b: np.ndarray,
    ids_b: pl.Series,
    k: int = 10,
    *,
    max_rows: int = 20_000,
    seed: int = 0,
) -> Comparison:
    """Match rows by id and compare the two embeddings (see the module's description).

    At most ``max_rows`` shared ids (a seeded sample) are measured; neighbours are sought
    among them.

    Raises
    ------
    ValueError
        When the tables share fewer than ``k + 2`` ids.
    """
    rows_a, rows_b = match_ids(ids_a, ids_b)
    if len(rows_a) < k + 2:
        raise ValueError(f"the tables share {len(rows_a)} ids; comparing needs {k + 2} or more")
    measured = sample_rows(np.arange(len(rows_a)), max_rows, seed=seed)
    A, B = gather_rows(X_a, rows_a[measured]), gather_rows(X_b, rows_b[measured])
    per_item = np.full(len(rows_a), np.nan, dtype=np.float32)
    per_item[measured] = overlap(nearest(A, k), nearest(B, k))
    return Comparison(ids_a.gather(rows_a), rows_a, rows_b, per_item, linear_cka(A, B), k)
