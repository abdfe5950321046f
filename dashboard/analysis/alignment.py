"""Aligned layouts of one set of items logged at several steps (epochs, checkpoints).

Each step gets its own 2D map, and the maps are aligned so that an item that did not move in
the embedding space does not move on screen either:

- ``procrustes``: PCA of each step, centred, scaled to unit RMS radius and turned (rotation
  or reflection) onto the previous step's map with the orthogonal Procrustes solution over the
  shared items. Fast, exact for a step that only rotates the space.
- ``aligned_<reducer>``: a reducer plugin that can lay out the steps together
  (``Reducer.supports_alignment``, e.g. UMAP through umap-learn's AlignedUMAP, one UMAP per
  step tied to its neighbours in time by the items they share); offered only while that
  reducer is registered, so ``disable_plugins: [umap]`` removes ``aligned_umap``.

Items are matched across steps by an id column when the tables have one, else by row number
(which then needs the same row count at every step). Only items present at every step are
drawn, so item ``i`` is the same thing in every frame.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from dashboard.analysis.comparison import match_ids

if TYPE_CHECKING:
    from dashboard.plugin.reducer import Progress

PROCRUSTES = "procrustes"
#: The method that needs no reducer plugin, and its title.
BUILT_IN_METHODS: dict[str, str] = {PROCRUSTES: "PCA, Procrustes-aligned"}
#: A reducer's alignment: ``align(matrices, progress) -> (steps, items, 2)``.
Aligner = Callable[..., np.ndarray]


@dataclass(frozen=True)
class Items:
    """The items every step has: ``rows[s, i]`` is item ``i``'s row in step ``s``."""

    rows: np.ndarray  # (steps, items) int64

    @property
    def count(self) -> int:
        return int(self.rows.shape[1])


def match_steps(ids: list[pl.Series | None], lengths: list[int], names: list[str]) -> Items:
    """Match items across steps: by id when every step has ids, else by row number.

    Raises
    ------
    ValueError
        Without ids and with different row counts, or when no id is in every step.
    """
    if any(i is None for i in ids):
        if len(set(lengths)) > 1:
            counts = ", ".join(f"{n!r}: {k:,}" for n, k in zip(names, lengths, strict=True))
            raise ValueError(
                f"steps without an `id` column must have the same rows; they have {counts}\n"
                "set `id:` on the table so items can be matched across steps"
            )
        return Items(np.tile(np.arange(lengths[0], dtype=np.int64), (len(lengths), 1)))
    first = ids[0]
    assert first is not None
    kept = np.arange(len(first), dtype=np.int64)  # rows of step 0 still matched
    later: list[np.ndarray] = []
    for other in ids[1:]:
        assert other is not None
        rows_first, rows_other = match_ids(first, other)
        mapping = np.full(len(first), -1, dtype=np.int64)  # step-0 row -> row here, or -1
        mapping[rows_first] = rows_other
        kept = kept[mapping[kept] >= 0]
        later.append(mapping)
    if not kept.size:
        raise ValueError(
            f"no id is in every step of {names!r}\ncheck that the steps' `id` columns share ids"
        )
    rows = np.vstack([kept] + [m[kept] for m in later])
    return Items(rows)


def normalised(Y: np.ndarray) -> np.ndarray:
    """``Y`` centred and scaled to unit root-mean-square radius (zero stays zero)."""
    Y = Y - Y.mean(axis=0)
    radius = float(np.sqrt((Y**2).sum(axis=1).mean()))
    return Y / radius if radius > 0 else Y


def procrustes_turn(Y: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """``Y`` rotated or reflected to best match ``reference`` (both centred, same rows)."""
    from scipy.linalg import orthogonal_procrustes

    turn, _ = orthogonal_procrustes(Y, reference)
    return Y @ turn


def procrustes_layouts(matrices: list[np.ndarray], progress: Progress | None = None) -> np.ndarray:
    """PCA maps of each step, each aligned to the one before. Returns (steps, items, 2)."""
    from sklearn.decomposition import PCA

    layouts = []
    for s, X in enumerate(matrices):
        if progress:
            progress(s / len(matrices), f"PCA of step {s + 1} of {len(matrices)}")
        n_components = min(2, *X.shape)
        Y = PCA(n_components=n_components, svd_solver="auto").fit_transform(X)
        if n_components < 2:  # one column or one row: a flat line is still a map
            Y = np.hstack([Y, np.zeros((len(Y), 2 - n_components))])
        Y = normalised(Y)
        if layouts:
            Y = procrustes_turn(Y, layouts[-1])
        layouts.append(Y)
    return np.stack(layouts).astype(np.float32)


def aligned_layouts(
    matrices: list[np.ndarray],
    aligner: Aligner | None = None,
    progress: Progress | None = None,
) -> np.ndarray:
    """Aligned 2D layouts of row-matched ``matrices``: (steps, items, 2), each step centred
    and scaled to unit radius. Procrustes without ``aligner``, else a reducer's alignment
    (``Reducer.fit_aligned``)."""
    if len(matrices) < 2:
        raise ValueError(f"a timeline needs at least 2 steps, got {len(matrices)}")
    if aligner is None:
        return procrustes_layouts(matrices, progress)
    layouts = np.asarray(aligner(matrices, progress=progress), dtype=np.float64)
    expected = (len(matrices), matrices[0].shape[0], 2)
    if layouts.shape != expected:
        raise ValueError(f"the alignment returned shape {layouts.shape}, expected {expected}")
    return np.stack([normalised(layout) for layout in layouts]).astype(np.float32)


def movement(layouts: np.ndarray) -> np.ndarray:
    """How far each item moved on the map since the step before: (steps, items), 0 at step 0."""
    moved = np.zeros(layouts.shape[:2], dtype=np.float32)
    moved[1:] = np.linalg.norm(np.diff(layouts, axis=0), axis=2)
    return moved
