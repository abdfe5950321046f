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
  (Hennig's cluster-wise stability; 1: every run finds it whole);
- :func:`measure_stability` takes all three for a map and its runs (:class:`Stability`).

A point between two clusters is placed differently by each run, so its spread is high and
its neighbours change; a well-separated cluster keeps its rows together in every run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from dashboard.analysis.alignment import normalised, procrustes_turn
from dashboard.analysis.knn import nearest
from dashboard.analysis.quality import overlap
from dashboard.analysis.structure import map_clusters

#: The colours a stability check gives a map (dropdown value: label, column name).
SPREAD, PERSISTENCE = "__spread__", "__persistence__"
STABILITY_COLOURS = {
    SPREAD: ("layout stability: spread across seeds", "spread across seeds"),
    PERSISTENCE: ("neighbour persistence across seeds", "neighbour persistence"),
}
#: Map neighbours whose persistence is measured.
PERSISTENCE_K = 10
#: A cluster at least this Jaccard-stable is called stable (Hennig: 0.75 and above, a
#: valid, stable cluster; 0.5 and below, a dissolved one).
STABLE = 0.75


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
    """Each cluster of ``reference`` (codes: 0, 1, ... clusters, -1 noise, -2 not measured)'s
    mean over ``runs`` (codes of the same rows) of its best Jaccard overlap with a cluster of
    the run, counting only rows measured in both; 0 in a run that puts its rows in no
    cluster."""
    codes = np.unique(reference[reference >= 0])
    scores: dict[int, list[float]] = {int(code): [] for code in codes}
    for run in runs:
        measured = (reference != -2) & (run != -2)
        theirs = {int(o): (run == o) & measured for o in np.unique(run[measured & (run >= 0)])}
        for code in codes:
            members = (reference == code) & measured
            best = 0.0
            for other in np.unique(run[members & (run >= 0)]):
                mine = theirs[int(other)]
                union = np.count_nonzero(members | mine)
                best = max(best, np.count_nonzero(members & mine) / union)
            scores[int(code)].append(best)
    return {code: float(np.mean(s)) if s else float("nan") for code, s in scores.items()}


@dataclass(frozen=True)
class Stability:
    """What a stability check found for one map, compared with ``runs`` maps of other
    seeds: per row, its ``spread`` (:func:`positional_spread`) and its ``persistence``
    (:func:`neighbour_persistence`, ``neighbours`` of them); per map cluster (code), its
    Jaccard stability (:func:`cluster_stability`)."""

    runs: int
    spread: np.ndarray
    persistence: np.ndarray
    clusters: dict[int, float]
    neighbours: int = PERSISTENCE_K

    def colour(self, choice: str) -> np.ndarray:
        """The values of stability colour ``choice`` (:data:`SPREAD`, :data:`PERSISTENCE`)."""
        return self.spread if choice == SPREAD else self.persistence

    def summary(self) -> dict[str, float | int]:
        """Medians and counts a person reads first: median spread and persistence, the
        share of rows that move more than a quarter of the map's radius, the clusters
        found and the stable ones."""
        spread = self.spread[np.isfinite(self.spread)]
        persistence = self.persistence[np.isfinite(self.persistence)]
        scores = list(self.clusters.values())
        return {
            "median_spread": float(np.median(spread)) if spread.size else float("nan"),
            "moved": float(np.mean(spread > 0.25)) if spread.size else float("nan"),
            "median_persistence": (
                float(np.median(persistence)) if persistence.size else float("nan")
            ),
            "clusters": len(scores),
            "stable": sum(score >= STABLE for score in scores),
        }


def measure_stability(
    reference: np.ndarray,
    runs: np.ndarray,
    codes: np.ndarray,
    *,
    neighbours: int = PERSISTENCE_K,
    progress: Callable[[float, str], None] | None = None,
) -> Stability:
    """Compare map ``reference`` (rows x dims) and its HDBSCAN ``codes`` with ``runs``
    (runs x rows x dims) of other seeds: each run is aligned onto the map, clustered the
    same way, and the three measures taken."""
    report = progress or (lambda fraction, message: None)
    report(0.0, "aligning the runs onto the map")
    spread = positional_spread(aligned_runs(reference, list(runs)))
    report(0.2, f"comparing each point's {neighbours} map neighbours across runs")
    persistence = neighbour_persistence(reference, list(runs), neighbours)
    found = []
    for i, run in enumerate(runs):
        report(0.4 + 0.6 * i / len(runs), f"finding the clusters of run {i + 1} of {len(runs)}")
        found.append(map_clusters(run))
    return Stability(len(runs), spread, persistence, cluster_stability(codes, found), neighbours)
