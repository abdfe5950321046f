"""t-SNE's forces for openTSNE's optimiser on small tables: repulsion summed exactly.

openTSNE approximates the repulsion between every pair of points: Barnes-Hut (a quad tree a
step) or FFT interpolation on a grid. Both have a fixed cost that dominates below about ten
thousand points: on the 1,797 demo digits Barnes-Hut took 7.5 s for 750 steps and FFT 29 s
(its grid grows with the map's extent, not with the points). The exact sum over all pairs is
3.2 million terms a step there, which numba vectorises in float32 and splits over the cores:
0.6 ms a step (19 ms at 10,000 points). The attractive forces (a sum over each point's
neighbours) are here too: openTSNE's own run on OpenMP threads whose idle spinning slowed
numba's threads by half when the two alternated each step.

:func:`kl_divergence_exact` has the signature of openTSNE's own objective functions
(``openTSNE.tsne.kl_divergence_bh``), which openTSNE accepts as ``negative_gradient_method``.
Imported lazily (numba) by the t-SNE reducer; compiled code is cached like UMAP's.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

#: Keeps a logarithm or a normalisation finite (openTSNE uses the same).
EPSILON = float(np.finfo(np.float64).eps)


@numba.njit(parallel=True, fastmath=True, cache=True)
def _repulsion(coords: np.ndarray, forces: np.ndarray) -> float:  # pragma: no cover - numba
    """Sum over all pairs: ``forces[:, i] = sum_j q_ij^2 (y_i - y_j)``, returns
    ``sum_{i != j} q_ij`` with ``q_ij = 1 / (1 + |y_i - y_j|^2)``. ``coords`` is (dims, n)
    float32 so the inner loop reads each dimension contiguously."""
    dims, n = coords.shape
    sums = np.zeros(n)
    one = np.float32(1.0)
    for i in numba.prange(n):
        total = np.float32(0.0)
        if dims == 2:
            xi, yi = coords[0, i], coords[1, i]
            fx = np.float32(0.0)
            fy = np.float32(0.0)
            for j in range(n):
                dx = xi - coords[0, j]
                dy = yi - coords[1, j]
                q = one / (one + dx * dx + dy * dy)
                total += q
                fx += q * q * dx
                fy += q * q * dy
            forces[0, i] = fx
            forces[1, i] = fy
        else:
            xi, yi, zi = coords[0, i], coords[1, i], coords[2, i]
            fx = np.float32(0.0)
            fy = np.float32(0.0)
            fz = np.float32(0.0)
            for j in range(n):
                dx = xi - coords[0, j]
                dy = yi - coords[1, j]
                dz = zi - coords[2, j]
                q = one / (one + dx * dx + dy * dy + dz * dz)
                total += q
                fx += q * q * dx
                fy += q * q * dy
                fz += q * q * dz
            forces[0, i] = fx
            forces[1, i] = fy
            forces[2, i] = fz
        sums[i] = total - 1.0  # the pair (i, i) added q = 1 and no force
    return sums.sum()


@numba.njit(parallel=True, fastmath=True, cache=True)
def _attraction(
    Y: np.ndarray,
    indptr: np.ndarray,
    indices: np.ndarray,
    P: np.ndarray,
    gradient: np.ndarray,
    with_error: bool,
) -> tuple[float, float]:  # pragma: no cover - numba
    """Adds ``sum_j p_ij q_ij (y_i - y_j)`` over each row's neighbours to ``gradient``;
    returns (sum of p, KL divergence before normalisation) when ``with_error``."""
    n, dims = Y.shape
    sum_p = np.zeros(n)
    kl = np.zeros(n)
    for i in numba.prange(n):
        for at in range(indptr[i], indptr[i + 1]):
            j = indices[at]
            d = 1.0
            for k in range(dims):
                diff = Y[i, k] - Y[j, k]
                d += diff * diff
            q = 1.0 / d
            p = P[at]
            for k in range(dims):
                gradient[i, k] += p * q * (Y[i, k] - Y[j, k])
            if with_error:
                sum_p[i] += p
                kl[i] += p * np.log(max(p, EPSILON) / max(q, EPSILON))
    return sum_p.sum(), kl.sum()


def negative_gradient(embedding: np.ndarray) -> tuple[np.ndarray, float]:
    """The exact repulsive part of t-SNE's gradient (one degree of freedom) and the sum of
    all pairs' similarities, as openTSNE's Barnes-Hut with ``theta=0`` gives them.

    Parameters
    ----------
    embedding
        (n, 2) or (n, 3) positions.

    Returns
    -------
    gradient, sum_q
        ``-sum_j q_ij^2 (y_i - y_j) / Z`` per point (float64, (n, dims)), and
        ``Z = sum_{i != j} q_ij``.

    Raises
    ------
    ValueError
        For other than 2 or 3 dimensions.
    """
    if embedding.ndim != 2 or embedding.shape[1] not in (2, 3):
        raise ValueError(f"exact t-SNE forces need 2 or 3 dimensions, got {embedding.shape}")
    coords = np.ascontiguousarray(np.asarray(embedding).T, dtype=np.float32)
    forces = np.empty_like(coords)
    sum_q = float(_repulsion(coords, forces))
    gradient = forces.T.astype(np.float64, order="C")
    gradient /= -max(sum_q, EPSILON)
    return gradient, sum_q


def kl_divergence_exact(
    embedding: np.ndarray,
    P: Any,
    dof: float,
    reference_embedding: np.ndarray | None = None,
    should_eval_error: bool = False,
    **_: Any,
) -> tuple[float | None, np.ndarray]:
    """openTSNE's objective (``kl_divergence_bh``'s signature and result) with the
    repulsive forces summed exactly and the attractive ones computed here.

    Raises
    ------
    ValueError
        For ``dof`` other than 1 or a reference embedding (adding points to a map): those
        stay with openTSNE's own methods.
    """
    if dof != 1 or reference_embedding is not None:
        raise ValueError("exact t-SNE forces support dof=1 on the whole embedding only")
    Y = np.ascontiguousarray(embedding, dtype=np.float64)
    gradient, sum_q = negative_gradient(Y)
    sum_p, kl = _attraction(
        Y,
        P.indptr.astype(np.int64),
        P.indices.astype(np.int64),
        np.asarray(P.data, dtype=np.float64),
        gradient,
        bool(should_eval_error),
    )
    if not should_eval_error:
        return None, gradient
    return float(kl + sum_p * np.log(sum_q + EPSILON)), gradient
