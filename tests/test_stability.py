"""Stability across seeds: alignment, spread, persisting neighbours and cluster Jaccard."""

from __future__ import annotations

import numpy as np
import pytest

from dashboard.analysis.stability import (
    aligned_runs,
    cluster_stability,
    neighbour_persistence,
    positional_spread,
)


def turned(Y: np.ndarray, angle: float, mirror: bool = False, scale: float = 1.0) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    R = np.array([[c, -s], [s, c]])
    out = Y @ R.T * scale + np.array([5.0, -3.0])
    if mirror:
        out[:, 0] *= -1
    return out


def runs_of(seed: int = 0, runs: int = 4) -> tuple[np.ndarray, list[np.ndarray], np.ndarray]:
    """A map of three clusters and 30 points between them; each run keeps the clusters'
    points where they were (turned, mirrored, rescaled, jittered a little) but puts the
    points between anywhere."""
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0], [10.0, 0.0], [5.0, 9.0]])
    codes = np.repeat([0, 1, 2, -1], [100, 100, 100, 30])
    base = centres[np.maximum(codes, 0)] + rng.normal(0, 0.8, (len(codes), 2))

    def layout() -> np.ndarray:
        Y = base + rng.normal(0, 0.02, base.shape)
        Y[codes < 0] = rng.uniform(-2, 12, (30, 2))  # between the clusters, anywhere
        return Y

    reference = layout()
    others = [
        turned(layout(), rng.uniform(0, 6.28), mirror=i % 2 == 1, scale=rng.uniform(0.5, 3))
        for i in range(runs)
    ]
    return reference, others, codes


def test_alignment_undoes_turns_mirrors_and_scales():
    reference, _, _ = runs_of()
    runs = [turned(reference, 1.0), turned(reference, 2.5, mirror=True, scale=4.0)]
    aligned = aligned_runs(reference, runs)
    assert aligned.shape == (3, len(reference), 2)
    np.testing.assert_allclose(aligned[1], aligned[0], atol=1e-9)
    np.testing.assert_allclose(aligned[2], aligned[0], atol=1e-9)
    assert positional_spread(aligned).max() < 1e-6


def test_points_between_clusters_are_less_stable_than_cluster_members():
    reference, runs, codes = runs_of()
    spread = positional_spread(aligned_runs(reference, runs))
    members, between = codes >= 0, codes < 0
    assert np.median(spread[between]) > 4 * np.median(spread[members])
    persisting = neighbour_persistence(reference, runs, k=10)
    assert persisting[members].mean() > persisting[between].mean() + 0.3


def test_rows_off_a_map_get_no_value():
    reference, runs, _ = runs_of()
    runs[0][7] = np.nan
    spread = positional_spread(aligned_runs(reference, runs))
    persisting = neighbour_persistence(reference, runs)
    assert np.isnan(spread[7])
    assert np.isnan(persisting[7])
    assert np.isfinite(np.delete(spread, 7)).all()
    with pytest.raises(ValueError, match=r"a run has shape \(3, 2\), the map \(330, 2\)"):
        aligned_runs(reference, [reference[:3]])


def test_a_cluster_found_whole_in_every_run_scores_one_and_a_split_one_less():
    reference = np.repeat([0, 1, 2, -1], [10, 10, 10, 5])
    same = reference.copy()
    renamed = np.where(reference >= 0, 2 - reference, -1)  # other numbers, same clusters
    split = reference.copy()
    split[20:25] = 3  # cluster 2 split in two
    lost = reference.copy()
    lost[0:10] = -1  # cluster 0 left as noise
    scores = cluster_stability(reference, [same, renamed, split, lost])
    assert scores[1] == pytest.approx(1.0)
    assert scores[2] == pytest.approx((1 + 1 + 0.5 + 1) / 4)
    assert scores[0] == pytest.approx(0.75)
