"""How much of a map survives a change of seed: UMAP and t-SNE maps differ run to run, and a
person cannot tell a stable cluster from an accident of one run by looking at one map.

Given the map on screen and ``k`` more maps of the same rows fitted with other seeds:

- :func:`aligned_runs` puts each run on the map's frame: centred, scaled to unit RMS radius
  and turned (rotation or reflection) onto the map by the orthogonal Procrustes solution;
- :func:`positional_spread` is each point's spread over the runs (the RMS distance of its
  places from their mean, in units of the map's radius): 0 for a point every run puts in the
  same place;
- :func:`neighbour_persistence` is the share of each point's ``k`` map neighbours that stay
  its neighbours in the other runs (alignment-free);
- :func:`cluster_stability` is each cluster's Jaccard stability: for each run, the overlap
  (intersection over union) of its rows with the run's best-matching cluster, averaged
  (Hennig's cluster-wise stability; 1: every run finds it whole).

A point between two clusters is placed differently by each run, so its spread is high and
its neighbours change; a well-separated cluster keeps its rows together in every run.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from dashboard.analysis.alignment import normalised, procrustes_turn
from dashboard.analysis.knn import nearest
from dashboard.analysis.quality import overlap


def aligned_runs(reference: np.ndarray, runs: Sequence[np.ndarray]) -> np.ndarray:
    """``reference`` and every run, normalised and turned onto the reference: (1 + runs,
    rows, dims) float64; rows with NaN anywhere are left out of the fit and stay NaN."""
    reference = np.asarray(reference, dtype=np.float64)
    layouts = [np.asarray(run, dtype=np.float64) for run in runs]
    finite = np.isfinite(reference).all(axis=1)
    for run in layouts:
        if run.shape != reference.shape:
            raise ValueError(f"a run has shape {run.shape}, the map {reference.shape}")
        finite &= np.isfinite(run).all(axis=1)
    out = np.full((1 + len(layouts), *reference.shape), np.nan)
    base = normalised(reference[finite])
    out[0, finite] = base
    for i, run in enumerate(layouts, start=1):
        out[i, finite] = procrustes_turn(normalised(run[finite]), base)
    return out


def positional_spread(aligned: np.ndarray) -> np.ndarray:
    """Each point's RMS distance from its mean place over the aligned maps (rows x 1),
    float32, NaN for rows not on every map."""
    centre = aligned.mean(axis=0)
    spread = np.sqrt(((aligned - centre) ** 2).sum(axis=2).mean(axis=0))
    return spread.astype(np.float32)


def neighbour_persistence(
    reference: np.ndarray, runs: Sequence[np.ndarray], k: int = 10
) -> np.ndarray:
    """Each point's share of its ``k`` nearest points on ``reference`` that are among its
    ``k`` nearest on each run, averaged over the runs (float32; NaN for rows off a map)."""
    finite = np.isfinite(reference).all(axis=1)
    for run in runs:
        finite &= np.isfinite(run).all(axis=1)
    rows = np.flatnonzero(finite)
    out = np.full(len(reference), np.nan, dtype=np.float32)
    if len(rows) <= k or not runs:
        return out
    base = nearest(np.asarray(reference[rows], dtype=np.float32), k)
    kept = [overlap(base, nearest(np.asarray(run[rows], dtype=np.float32), k)) for run in runs]
    out[rows] = np.mean(kept, axis=0)
    return out


def cluster_stability(reference: np.ndarray, runs: Sequence[np.ndarray]) -> dict[int, float]:
    """Each cluster of ``reference`` (codes: 0, 1, ... clusters, negative: none)'s mean over
    ``runs`` (codes of the same rows) of its best Jaccard overlap with a cluster of the run;
    0 in a run that puts its rows in no cluster."""
    out = {}
    for code in np.unique(reference[reference >= 0]):
        members = reference == code
        scores = []
        for run in runs:
            found = run[members]
            candidates = np.unique(found[found >= 0])
            best = 0.0
            for other in candidates:
                theirs = run == other
                union = np.count_nonzero(members | theirs)
                best = max(best, np.count_nonzero(members & theirs) / union)
            scores.append(best)
        out[int(code)] = float(np.mean(scores)) if scores else float("nan")
    return out
