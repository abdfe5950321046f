"""Choose which rows a reducer fits when a table is too big for it: a seeded sample that
keeps the proportions of a column's values (stratified), so rare classes stay on the map."""

from __future__ import annotations

import numpy as np
import polars as pl


def strata_codes(series: pl.Series) -> np.ndarray:
    """One integer per row naming its value of ``series`` (nulls are a value of their own)."""
    text = series.cast(pl.String).fill_null("\0null")
    _, codes = np.unique(text.to_numpy(), return_inverse=True)
    return codes.astype(np.int64)


def sample_rows(
    pool: np.ndarray, k: int, *, strata: np.ndarray | None = None, seed: int = 0
) -> np.ndarray:
    """Return ``k`` of the row numbers in ``pool``, sorted, drawn without replacement.

    Parameters
    ----------
    pool
        Row numbers to draw from.
    k
        How many to draw; all of ``pool`` when it has no more.
    strata
        One code per row of the *table* (indexed by row number): each value gets its share
        of ``k`` (largest remainders round), and at least one row while ``k`` allows.
    seed
        The same seed draws the same rows, so a map is reproducible and cacheable.
    """
    pool = np.asarray(pool, dtype=np.int64)
    if k >= len(pool):
        return np.sort(pool)
    rng = np.random.default_rng(seed)
    if strata is None:
        return np.sort(rng.choice(pool, size=k, replace=False))
    codes = strata[pool]
    _, sizes = np.unique(codes, return_counts=True)
    quota = _allocate(sizes, k)
    order = np.argsort(codes, kind="stable")
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    picked = [
        rng.choice(pool[order[start : start + size]], size=q, replace=False)
        for start, size, q in zip(starts, sizes, quota, strict=True)
        if q
    ]
    return np.sort(np.concatenate(picked))


def _allocate(sizes: np.ndarray, k: int) -> np.ndarray:
    # Proportional shares, at least one per stratum while k allows, never above its size;
    # the rows left by rounding go to the largest remainders.
    share = sizes * (k / sizes.sum())
    quota = np.minimum(np.maximum(np.floor(share), 1 if k >= len(sizes) else 0), sizes)
    quota = quota.astype(np.int64)
    while quota.sum() > k:  # the minimum of one overshot: trim the biggest
        quota[np.argmax(quota)] -= 1
    remainder = share - quota
    while quota.sum() < k:
        room = np.where(quota < sizes, remainder, -np.inf)
        top = np.argsort(-room)[: k - quota.sum()]
        top = top[np.isfinite(room[top])]
        quota[top] += 1
        remainder[top] -= 1
    return quota
