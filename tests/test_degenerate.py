"""Degenerate vectors get a message, never a crash (t-SNE segfaulted on them, issue 15).

If a guard here regresses, the reducer's native code ends this test process: the run fails
loudly either way.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from dashboard.errors import ReducerError
from dashboard.projection.guards import checked_for_fit
from dashboard.projection.request import ProjectionRequest
from dashboard.projection.runner import run_projection
from tests.conftest import blobs
from tests.conftest import open_table as open_test_table

#: Every built-in reducer and way of running it.
REDUCERS = [
    ("pca", {}),
    ("umap", {}),
    ("tsne", {"method": "sklearn"}),
    ("tsne", {"method": "opentsne"}),
]


def open_table(tmp_path, vectors: np.ndarray):
    frame = pl.DataFrame({"vec": vectors.astype(np.float32)})
    return open_test_table(tmp_path, frame, embedding="vec")


@pytest.mark.parametrize(("reducer", "params"), REDUCERS)
@pytest.mark.parametrize("dims", [2, 3])
@pytest.mark.parametrize("value", [0.0, 1.0])
def test_identical_vectors_are_refused_by_every_reducer(tmp_path, reducer, params, dims, value):
    datasets, registry, store = open_table(tmp_path, np.full((120, 8), value))
    request = ProjectionRequest("t", reducer, dims, params)
    with pytest.raises(ReducerError, match=r"table 't': the rows: all 120 vectors are the same"):
        run_projection(request, datasets, registry, store)


def test_isolating_identical_rows_of_a_normal_table_is_refused(tmp_path):
    vectors = np.random.default_rng(0).normal(size=(200, 8))
    vectors[:20] = 0
    datasets, registry, store = open_table(tmp_path, vectors)
    request = ProjectionRequest("t", "tsne", 2, {}, rows=tuple(range(20)))
    with pytest.raises(ReducerError, match="the isolated rows: all 20 vectors are the same"):
        run_projection(request, datasets, registry, store)


def test_too_few_different_vectors_are_refused(tmp_path):
    base = np.random.default_rng(1).normal(size=(4, 8))
    datasets, registry, store = open_table(tmp_path, np.repeat(base, 30, axis=0))
    request = ProjectionRequest("t", "tsne", 3, {})
    with pytest.raises(ReducerError, match=r"only 4 different vectors among 120 rows: .* least 5"):
        run_projection(request, datasets, registry, store)
    # Four different vectors are enough for a 2D map.
    assert run_projection(ProjectionRequest("t", "pca", 2, {}), datasets, registry, store).n == 120


@pytest.mark.parametrize(("reducer", "params"), REDUCERS)
@pytest.mark.parametrize("scale", [1e-30, 1e30])
def test_tiny_and_huge_scales_map_like_a_normal_one(tmp_path, reducer, params, scale):
    """Rows on a scale native code cannot compute distances at are rescaled: the map keeps
    the table's clusters apart."""
    table = blobs(150, d=6)
    vectors = np.asarray(table["vec"].to_list(), dtype=np.float64) * scale
    datasets, registry, store = open_table(tmp_path, vectors)
    # The fewest iterations: the map only has to keep three blobs apart.
    params = {**params, "max_iter": 250} if reducer == "tsne" else params
    projection = run_projection(
        ProjectionRequest("t", reducer, 2, params), datasets, registry, store
    )
    coords = store.load(projection.key)
    assert np.isfinite(coords).all()
    group = np.arange(150) % 3
    centres = np.array([coords[group == g].mean(axis=0) for g in range(3)])
    within = np.mean([coords[group == g].std(axis=0).mean() for g in range(3)])
    apart = min(np.linalg.norm(centres[i] - centres[j]) for i in range(3) for j in range(i))
    assert apart > 2 * within


def test_normal_rows_are_passed_through_untouched():
    X = np.random.default_rng(2).normal(size=(50, 4)).astype(np.float32)
    prepared = checked_for_fit(X, 2, "the rows")
    assert prepared.X is X
    assert prepared.scale == 1.0


def test_rows_differing_only_beyond_a_random_projection_are_told_apart():
    # Rows that agree on most columns still count as different when they differ anywhere.
    X = np.zeros((6, 3), np.float32)
    X[np.arange(6), np.arange(6) % 3] = np.arange(1, 7)
    assert checked_for_fit(X, 2, "the rows").scale == 1.0


@pytest.mark.parametrize("rows", [6, 20])
def test_a_few_isolated_rows_of_a_wide_table_map_with_umap(tmp_path, rows):
    # UMAP takes the first `pca_dims` principal components of a wide table; a handful of
    # isolated rows has fewer (a ValueError from PCA reached the page as an opaque error).
    vectors = np.random.default_rng(2).normal(size=(300, 64))
    datasets, registry, store = open_table(tmp_path, vectors)
    request = ProjectionRequest("t", "umap", 2, {}, rows=tuple(range(rows)))
    projection = run_projection(request, datasets, registry, store, pca_dims=50)
    coords = store.load(projection.key)
    assert np.isfinite(coords[:rows]).all()
    assert np.isnan(coords[rows:]).all()
    assert projection.pca_dims is None  # nothing to narrow


def test_a_reducer_that_fails_is_named_with_the_rows_it_failed_on(tmp_path, monkeypatch):
    from reducers.pca import PCA

    def broken(self, X, progress=None):
        raise RuntimeError("the plugin's own bug")

    monkeypatch.setattr(PCA, "fit_transform", broken)
    datasets, registry, store = open_table(tmp_path, np.random.default_rng(3).normal(size=(50, 8)))
    with pytest.raises(
        ReducerError,
        match=r"table 't': reducer 'pca' failed on 50 rows: RuntimeError: the plugin's own bug\n",
    ):
        run_projection(ProjectionRequest("t", "pca", 2, {}), datasets, registry, store)


def test_large_tables_are_checked_on_a_sample_without_missing_a_spread(monkeypatch):
    """The spread is measured on a sample of rows (a float64 copy of a 1M x 768 table took
    seconds and 6 GB); a sample whose rows are all the same asks every row."""
    from dashboard.projection import guards

    monkeypatch.setattr(guards, "SAMPLE_ROWS", 50)
    monkeypatch.setattr(guards, "BLOCK_ROWS", 64)
    X = np.zeros((1_000, 4), np.float32)
    with pytest.raises(ReducerError, match=r"all 1,000 vectors are the same"):
        guards.checked_for_fit(X, 2, "t")
    outside = sorted(set(range(1_000)) - set(np.asarray(guards._sample(1_000)).tolist()))
    X[outside[:5]] = np.arange(5)[:, None] + 1  # five rows the sample does not hold
    assert guards.checked_for_fit(X, 2, "t").scale == 1.0
    tiny = np.random.default_rng(0).normal(size=(1_000, 4)).astype(np.float32) * 1e-12
    assert guards.checked_for_fit(tiny, 2, "t").scale == pytest.approx(1e12, rel=0.1)
