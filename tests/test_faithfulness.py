"""Faithfulness measures on data whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from dashboard.analysis.knn import nearest
from dashboard.analysis.quality import measure, neighbour_recall
from dashboard.projection.request import Projection


def flat_data(n: int = 400, seed: int = 0) -> np.ndarray:
    """Points on a 2D plane inside 10 dims, with a little noise off the plane."""
    rng = np.random.default_rng(seed)
    X = np.zeros((n, 10))
    X[:, :2] = rng.uniform(0, 10, (n, 2))
    X[:, 2:] = rng.normal(0, 0.01, (n, 8))
    return X


def test_nearest_is_exact_and_excludes_the_row_itself():
    X = np.array([[0.0], [1.0], [3.0], [7.0]])
    found = nearest(X, 2)
    assert [sorted(r) for r in found.tolist()] == [[1, 2], [0, 2], [0, 1], [1, 2]]


def test_a_faithful_map_scores_one_and_a_shuffled_map_scores_chance():
    X = flat_data()
    faithful = measure(X, X[:, :2].astype(np.float32), k=10)
    assert faithful.trustworthiness > 0.99
    assert faithful.continuity > 0.99
    assert faithful.recall > 0.9
    shuffled = np.random.default_rng(1).permutation(X[:, :2])
    lying = measure(X, shuffled, k=10)
    assert lying.trustworthiness < 0.6
    assert lying.continuity < 0.6
    assert lying.recall < 0.1  # about k / n by chance


def test_recall_per_point_finds_the_torn_point():
    X = flat_data(100)
    Y = X[:, :2].copy()
    Y[7] = [100.0, 100.0]  # moved far from its neighbours on the map
    recall = neighbour_recall(X, Y, 5)
    assert recall[7] == 0.0
    assert np.median(recall) == 1.0


def test_rows_off_the_map_are_left_out_and_big_maps_are_sampled():
    X = flat_data(600)
    Y = X[:, :2].copy()
    Y[:100] = np.nan  # outside an isolated subset
    result = measure(X, Y, k=10, max_rows=300)
    assert (result.rows, result.of) == (300, 500)
    assert result.trustworthiness > 0.99
    with pytest.raises(ValueError, match=r"needs at least 22 rows on the map, got 5"):
        measure(X[:5], Y[100:105], k=10)


def test_the_panel_measures_the_current_projection(write_config, digits_path):
    from dashboard.web.assemble import prepare
    from plugins.faithfulness import HINT
    from tests.conftest import project

    path = write_config(
        {
            "tables": {"digits": {"path": str(digits_path), "embedding": "pixels"}},
            "panels": [{"type": "faithfulness", "k": 5, "rows": 500}],
        }
    )
    dashboard = prepare(path)
    panel = dashboard.panels[0]
    assert panel.render(None) == HINT
    request = {"table": "digits", "reducer": "pca", "dims": 2, "params": {}}
    result, _ = project(dashboard.context, request)
    items = panel.render(result)
    names = [item.children[0].children for item in items[:3]]
    assert names == ["trustworthiness", "continuity", "neighbour recall"]
    assert 0.7 < float(items[0].children[1].children) < 0.95
    assert items[3].children == "k = 5 · 500 of 1,797 rows"
    few = project(dashboard.context, {**request, "rows": list(range(8))})[0]
    assert "needs at least 12 rows on the map, got 8" in panel.render(few).children


def test_map_neighbours_are_nearest_first_and_skip_rows_off_the_map():
    from dashboard.analysis.knn import map_neighbours

    coords = np.array([[0.0, 0.0], [3.0, 0.0], [1.0, 0.0], [np.nan, np.nan], [2.0, 0.0]])
    assert map_neighbours(coords, 0, 3).tolist() == [2, 4, 1]
    assert map_neighbours(coords, 0, 10).tolist() == [2, 4, 1]  # only 3 others on the map


def test_neighbours_panel_flags_what_the_map_tears_and_fakes(write_config, tmp_path):
    import polars as pl

    from dashboard.web.assemble import prepare

    X = flat_data(200)[:, :2]
    pl.DataFrame({"x": X[:, 0], "y": X[:, 1], "name": [f"p{i}" for i in range(200)]}).write_parquet(
        tmp_path / "plane.parquet"
    )
    path = write_config(
        {
            "tables": {"plane": {"path": str(tmp_path / "plane.parquet"), "label": "name"}},
            "panels": [{"type": "neighbors"}],
        }
    )
    dashboard = prepare(path)
    panel = dashboard.panels[0]
    store = dashboard.context.store
    store.save("faithful", X.astype(np.float32))  # the map is the plane itself
    store.save("shuffled", np.random.default_rng(0).permutation(X).astype(np.float32))
    focus = {"table": "plane", "row": 0}

    def render(key):
        projection = Projection(key, "plane", "pca", 2, {}, len(X))
        listing, _ = panel.render(focus, 5, "euclidean", projection)
        badges = [row.children[5].children.children for row in listing[1].children[1].children]
        return badges, listing[2].children

    badges, note = render("faithful")
    assert badges == ["on map"] * 5
    assert note.startswith("No false neighbours")
    badges, note = render("shuffled")
    assert badges.count("far on map") >= 4
    assert note.startswith("False neighbours: ")
    assert "of its 5 nearest on the map are not among its nearest in the original space" in note
    listing, _ = panel.render(focus, 5, "euclidean", None)  # no map: no flags
    assert len(listing) == 2


def test_recall_per_row_agrees_with_the_direct_count_and_samples_big_maps():
    from dashboard.analysis.knn import nearest as nearest_blocked
    from dashboard.analysis.quality import recall_per_row

    X = flat_data(300)
    Y = X[:, :2].copy()
    Y[7] = [100.0, 100.0]
    Y[9] = np.nan
    assert (np.sort(nearest_blocked(X, 4, block=64)) == np.sort(nearest(X, 4))).all()
    recall, measured = recall_per_row(X, Y, 5)
    assert measured == 299
    assert np.isnan(recall[9])
    assert recall[7] == 0.0
    on_map = np.flatnonzero(np.isfinite(Y).all(axis=1))
    expected = neighbour_recall(X[on_map], Y[on_map], 5)
    np.testing.assert_allclose(recall[on_map], expected)
    sampled, measured = recall_per_row(X, Y, 5, max_rows=100)
    assert measured == 100
    assert np.isfinite(sampled).sum() == 100


def test_the_map_can_be_coloured_by_its_own_neighbour_recall(demo_config):

    from dashboard.analysis.map_measures import MAP_MEASURES as COMPUTED
    from dashboard.analysis.quality import RECALL_K, recall_per_row
    from dashboard.web.app import create_app
    from dashboard.web.assemble import prepare
    from tests.conftest import project, render_map

    RECALL = "__recall__"
    RECALL_NAME = COMPUTED[RECALL].name
    from tests.figures import decode

    dashboard = prepare(demo_config)
    scatter = next(p for p in dashboard.panels if p.name == "scatter")
    assert {"label": COMPUTED[RECALL].label, "value": RECALL} in scatter.colour_options("digits")
    request = {"table": "digits", "reducer": "pca", "dims": 2, "params": {}}
    result, _ = project(dashboard.context, request)
    marker = render_map(scatter, result, RECALL)["colours"]["marker"]
    assert marker["colorbar"]["title"]["text"] == RECALL_NAME
    dataset = dashboard.context.datasets["digits"]
    expected, measured = recall_per_row(
        dataset.matrix(), dashboard.context.store.load(result.key), RECALL_K
    )
    assert measured == 1797
    np.testing.assert_allclose(decode(marker["color"]), expected)
    assert 0.1 < expected.mean() < 0.9  # PCA keeps some neighbourhoods, not all
    # Kept beside the coordinates: the next render reads it back.
    assert dashboard.context.store.load(f"{result.key}recall") is not None
    client = create_app(demo_config).server.test_client()
    tooltip = client.get(f"/_dashboard/row/3?table=digits&colour={RECALL}&key={result.key}").json
    assert tooltip["lines"] == [f"{RECALL_NAME}: {expected[3]:.3g}"]
    assert tooltip["caption"] == "digit 3"
