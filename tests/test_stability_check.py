"""The stability check end to end: a reducer's runs of other seeds, the runs as a projection
job, the measures kept beside the map, the panel, the filter's scores and the colours."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from pydantic import Field
from sklearn.manifold import trustworthiness

from dashboard.errors import DashboardError, ReducerError
from dashboard.plugin import Params, Reducer
from dashboard.plugin.analysis import PERSISTENCE, SPREAD, STABLE
from dashboard.projection.request import ProjectionRequest
from reducers.pca import PCA
from reducers.umap import UMAP


class SeededParams(Params):
    random_state: int = Field(0, ge=0)


class Seeded(Reducer):
    """A random projection whose seed is its only parameter: each run is another map."""

    name = "seeded"
    Params = SeededParams
    seed_param = "random_state"

    def _fit_transform(self, X, progress):
        progress(0.5, "projecting")
        rng = np.random.default_rng(self.params.random_state)
        return X @ rng.normal(size=(X.shape[1], self.n_components))


def test_a_reducer_fits_one_map_per_seed_and_says_which_run_it_is_on():
    X = np.random.default_rng(0).normal(size=(40, 6)).astype(np.float32)
    said = []
    runs = Seeded({"random_state": 3}).fit_runs(
        X, [1, 2], progress=lambda f, m: said.append((f, m))
    )
    assert runs.shape == (2, 40, 2)
    assert runs.dtype == np.float32
    np.testing.assert_allclose(runs[1], Seeded({"random_state": 2}).fit_transform(X), rtol=1e-5)
    assert not np.allclose(runs[0], runs[1])
    assert (0.25, "run 1 of 2: projecting") in said
    assert (0.75, "run 2 of 2: projecting") in said
    assert [f for f, _ in said] == sorted(f for f, _ in said)
    with pytest.raises(ReducerError, match=r"PCA: draws the same map on every run"):
        PCA().fit_runs(X, [1, 2])


def test_umap_runs_share_one_graph_yet_differ_and_stay_faithful(digits):
    X, _ = digits
    runs = UMAP({"n_epochs": 200}).fit_runs(X, [1, 2])
    assert runs.shape == (2, len(X), 2)
    assert not np.allclose(runs[0], runs[1])
    for run in runs:
        assert trustworthiness(X, run, n_neighbors=10) > 0.97
    three = UMAP({"n_epochs": 50}, n_components=3).fit_runs(X[:300], [5])
    assert three.shape == (1, 300, 3)


def blobs_with_a_bridge(path: Path) -> Path:
    """Four well-separated clusters of 150 rows in 10 dims, and 40 rows spread along the
    segment between the first two (between clusters: no run puts them in the same place)."""
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 1, (4, 10))
    centres *= 12 / np.linalg.norm(centres, axis=1, keepdims=True)
    groups = np.repeat(np.arange(4), 150)
    X = centres[groups] + rng.normal(0, 1, (600, 10))
    t = rng.uniform(0.2, 0.8, 40)[:, None]
    bridge = centres[0] * (1 - t) + centres[1] * t + rng.normal(0, 0.5, (40, 10))
    frame = pl.DataFrame(
        {
            "vec": np.vstack([X, bridge]).astype(np.float32).tolist(),
            "group": [f"blob {g}" for g in groups] + ["between"] * 40,
        }
    )
    frame.write_parquet(path)
    return path


def check_dashboard(write_config, table: dict, tmp_path: Path):
    from dashboard.plugin.manager import get_plugin_manager
    from dashboard.web.assemble import prepare

    config = {
        "tables": {"t": table},
        "cache_dir": str(tmp_path / "cache"),
        "panels": [{"type": "scatter"}, {"type": "filter"}, {"type": "stability"}],
    }
    return prepare(write_config(config), plugin_manager=get_plugin_manager(load_entry_points=False))


def test_separated_clusters_score_as_stable_on_real_umap_runs(write_config, tmp_path):
    # (That points between clusters rank below members is checked on controlled runs in
    # test_stability.py: with UMAP on these blobs the bridge is drawn the same way in every
    # run, so it is not less stable; see docs/panels.md.)
    path = blobs_with_a_bridge(tmp_path / "blobs.parquet")
    dashboard = check_dashboard(write_config, {"path": str(path), "label": "group"}, tmp_path)
    context = dashboard.context
    request = {"table": "t", "reducer": "umap", "params": {"n_epochs": 200}}
    projection = context.project(request)
    measured = context.stability(request, runs=4)
    assert measured.runs == 4
    spread, persistence = measured.spread, measured.persistence
    assert np.isfinite(spread).all()
    assert (spread >= 0).all()
    assert ((persistence >= 0) & (persistence <= 1)).all()
    codes = context.cluster_codes(projection)
    blobs = {int(np.bincount(codes[g * 150 : (g + 1) * 150] + 2).argmax()) - 2 for g in range(4)}
    assert blobs
    assert all(code >= 0 and measured.clusters[code] >= STABLE for code in blobs)
    # The colours are the measures, named for the legend.
    assert context.computed(projection, SPREAD).name == "spread across seeds"
    np.testing.assert_array_equal(context.computed(projection, PERSISTENCE).to_numpy(), persistence)


def test_a_check_is_kept_beside_the_map_and_read_back_by_another_server(
    write_config, digits_path, tmp_path, monkeypatch
):
    table = {"path": str(digits_path), "embedding": "pixels", "label": "label"}
    dashboard = check_dashboard(write_config, table, tmp_path)
    context = dashboard.context
    request = {"table": "t", "reducer": "umap", "params": {"n_epochs": 100}}
    projection = context.project(request)
    assert context.known_stability(projection) is None
    assert context.colour_revision(projection, SPREAD) == "unmeasured"
    with pytest.raises(DashboardError, match=r"is not measured for this map yet\npress"):
        context.computed(projection, SPREAD)
    measured = context.stability(request, runs=2)
    assert context.colour_revision(projection, SPREAD) == "runs2"
    # The runs are a cached projection of their own: a request with `runs`.
    runs = context.store.load(
        context.cached_projection(ProjectionRequest.parse({**request, "runs": 2}))[0]
    )
    assert runs.shape == (2, 1797, 2)

    again = check_dashboard(write_config, table, tmp_path)
    monkeypatch.setattr(
        "dashboard.plugin.map_findings.measure_stability",
        lambda *a, **k: pytest.fail("measured again"),
    )
    kept = again.context.known_stability(projection)
    assert kept is not None
    assert kept.runs == 2
    np.testing.assert_array_equal(kept.spread, measured.spread)
    assert kept.clusters == measured.clusters
    assert again.context.stability(request, runs=2).clusters == measured.clusters

    # The filter lists each cluster with its score.
    panel = next(p for p in again.panels if p.name == "filter")
    listed = panel.cluster_control(projection, None, compute=True).children[2].options
    scored = [o["label"] for o in listed if o["value"].startswith("cluster")]
    assert scored
    assert all(" · stability " in label for label in scored)
    # Noise (when HDBSCAN leaves any on this unseeded map) has no score.
    assert all(o["label"].endswith(")") for o in listed if o["value"] == "noise")


def test_the_panel_checks_only_the_drawn_map_and_says_why_not(write_config, digits_path, tmp_path):
    table = {"path": str(digits_path), "embedding": "pixels", "label": "label"}
    dashboard = check_dashboard(write_config, table, tmp_path)
    context = dashboard.context
    panel = next(p for p in dashboard.panels if p.name == "stability")
    assert "Check stability" in str(panel.layout())
    pca = context.project({"table": "t", "reducer": "pca"})
    body, buttons, disabled = panel.render(pca)
    assert "PCA draws the same map on every run" in body
    assert disabled
    with pytest.raises(DashboardError, match=r"PCA draws the same map on every run, so every"):
        context.computed(pca, SPREAD)
    _, error = panel.check({"table": "t", "reducer": "pca"}, pca.to_store(), 5)
    assert "PCA draws the same map on every run (it has no seed)" in error.children

    request = {"table": "t", "reducer": "umap", "params": {"n_epochs": 50}}
    umap = context.project(request)
    assert panel.render(umap)[2] is False
    # The controls ask for another map than the one drawn: nothing is fitted.
    _, error = panel.check(request, pca.to_store(), 5)
    assert error.children.startswith("the map on the page is not the one the controls ask for")
    _, error = panel.check(request, umap.to_store(), 1)
    assert error.children.startswith("`runs` must be a whole number from 2 to 20, got 1")
    _, error = panel.check(request, None, 5)
    assert error.children.startswith("draw a map first")
    stored, error = panel.check(request, umap.to_store(), 2)
    assert error is None
    assert stored["key"] == umap.key
    # The box says None when it is empty and when its number is out of range (the browser's
    # own check of min and max): the panel cannot tell them apart, so it runs nothing.
    _, error = panel.check(request, umap.to_store(), None)
    assert error.children.startswith("`runs` must be a whole number from 2 to 20\n")
    body, buttons, _ = panel.render(umap)
    assert buttons is None  # the colour buttons show
    text = str(body)
    assert "Compared with 2 maps of other seeds" in text
    assert "clusters are stable" in text


def test_runs_of_a_seedless_reducer_or_too_many_are_refused(write_config, digits_path, tmp_path):
    table = {"path": str(digits_path), "embedding": "pixels"}
    context = check_dashboard(write_config, table, tmp_path).context
    with pytest.raises(ReducerError, match=r"PCA draws the same map on every run \(it has no"):
        context.project({"table": "t", "reducer": "pca", "runs": 3})
    with pytest.raises(DashboardError, match=r"`runs`: Input should be less than or equal to 20"):
        context.project({"table": "t", "reducer": "umap", "runs": 21})
    # A map's request keeps its value as before: no `runs` unless asked.
    assert "runs" not in ProjectionRequest.parse({"table": "t", "reducer": "umap"}).to_dict()


def test_the_colour_action_colours_every_map_of_the_table():
    from dashboard.web.view import apply_action, parse

    view = parse(
        {
            "table": "t",
            "reducer": "umap",
            "maps": {
                "1": {"table": "t", "colour": "label", "hidden": ["a"]},
                "2": {"table": "other", "colour": "label"},
            },
        }
    )
    after = apply_action(view, {"op": "colour", "colour": SPREAD})
    assert after.maps["1"].colour == SPREAD
    assert after.maps["1"].hidden == []
    assert after.maps["2"].colour == "label"


def test_the_summary_says_what_the_numbers_mean_for_reading_the_map():
    from plugins.stability import readings

    traded = {"moved": 0.95, "median_persistence": 0.0, "clusters": 20, "stable": 20}
    first, second = readings(traded)
    assert first.startswith("The clusters hold, but most points move")
    assert second.startswith("Points keep their cluster but not their nearest neighbours")
    assert readings({"moved": 0.9, "median_persistence": 0.1, "clusters": 10, "stable": 5}) == []
    assert readings({"moved": 0.1, "median_persistence": 0.8, "clusters": 10, "stable": 10}) == []
    nothing = float("nan")
    assert readings({"moved": nothing, "median_persistence": nothing, "clusters": 0}) == []


def test_a_stability_colour_not_measured_yet_leaves_the_points_uncoloured(
    write_config, digits_path, tmp_path
):
    from tests.conftest import render_map

    table = {"path": str(digits_path), "embedding": "pixels", "label": "label"}
    dashboard = check_dashboard(write_config, table, tmp_path)
    scatter = next(p for p in dashboard.panels if p.name == "scatter")
    projection = dashboard.context.project(
        {"table": "t", "reducer": "umap", "params": {"n_epochs": 50}}
    )
    out = render_map(scatter, projection, SPREAD)
    assert out["coords"]["key"] == projection.key  # the points are drawn
    assert out["colours"]["colour"] is None  # uncoloured
    assert "is not measured for this map yet" in str(out["message"])
    # The map's labels do not depend on its colour: they stay.
    ask = {"key": projection.key, "on": True, "colour": SPREAD, "hidden": ["digit 1"]}
    named = scatter.labels_of(ask, projection)
    assert named["labels"]
    assert "notice" not in named


def test_background_progress_shows_each_report_and_stops_at_a_cancel(
    write_config, digits_path, tmp_path
):
    from dashboard.errors import JobCancelledError

    table = {"path": str(digits_path), "embedding": "pixels"}
    context = check_dashboard(write_config, table, tmp_path).context
    shown = []
    progress = context.background_progress(shown.append)
    progress(0.424, "run 2 of 5: UMAP: layout")
    assert shown == [("run 2 of 5: UMAP: layout (42%)",)]

    def cancelled():
        raise JobCancelledError("cancelled")

    context.raise_if_cancelled = cancelled
    with pytest.raises(JobCancelledError, match="cancelled"):
        progress(0.5, "run 3 of 5")
    assert len(shown) == 1
