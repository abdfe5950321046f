"""Outliers and clusters on data with planted answers."""

from __future__ import annotations

import numpy as np

from dashboard.analysis.structure import (
    NOISE,
    NOT_MEASURED,
    cluster_names,
    map_clusters,
    outlier_scores,
)
from dashboard.projection.request import Projection


def planted(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three tight blobs in 20 dims (and their first two dims as the map), plus 3 far rows."""
    rng = np.random.default_rng(seed)
    centres = np.zeros((3, 20))
    centres[:, :2] = [[0, 0], [20, 0], [0, 20]]
    X = np.concatenate([centres[i] + rng.normal(0, 1, (100, 20)) for i in range(3)])
    far = rng.normal(0, 1, (3, 20))
    far[:, :2] += [[60, 60], [-60, 60], [60, -60]]
    X = np.concatenate([X, far])
    return X, X[:, :2].astype(np.float32)


def test_the_planted_far_rows_score_highest():
    X, Y = planted()
    scores = outlier_scores(X, Y, k=5)
    assert sorted(np.argsort(scores)[-3:].tolist()) == [300, 301, 302]
    Y[0] = np.nan
    assert np.isnan(outlier_scores(X, Y, k=5)[0])
    sampled = outlier_scores(X, Y, k=5, max_rows=50)
    assert np.isfinite(sampled).sum() == 50


def test_hdbscan_finds_the_three_blobs_and_leaves_the_far_rows_as_noise():
    _, Y = planted()
    labels = np.array(cluster_names(map_clusters(Y)))
    for blob in range(3):
        found = set(labels[blob * 100 : (blob + 1) * 100])
        assert len(found - {NOISE}) == 1  # one cluster a blob
    assert len(set(labels[:300]) - {NOISE}) == 3
    assert set(labels[300:]) == {NOISE}
    Y[5] = np.nan
    assert cluster_names(map_clusters(Y))[5] == NOT_MEASURED


def test_the_map_can_be_coloured_by_clusters_and_outlier_scores(demo_config):
    from dashboard.web.assemble import prepare
    from tests.conftest import project, render_map
    from tests.figures import decode

    dashboard = prepare(demo_config)
    scatter = next(p for p in dashboard.panels if p.name == "scatter")
    values = [o["value"] for o in scatter.colour_options("digits")]
    assert values[-5:] == [
        "__recall__",
        "__outlier__",
        "__cluster__",
        "__spread__",
        "__persistence__",
    ]
    request = {"table": "digits", "reducer": "pca", "dims": 2, "params": {}}
    result, _ = project(dashboard.context, request)
    out = render_map(scatter, result, "__cluster__")
    legend = out["legend"]
    assert legend[0].children == "cluster (HDBSCAN)"
    names = [item.children[1] for item in legend[1:]]
    assert names[0] == "cluster 01"
    counts = [int(item.children[2].children.replace(",", "")) for item in legend[1:]]
    assert sum(counts) == 1797  # every row is in a cluster or noise: sizes add up
    assert out["colours"]["marker"]["color"]["dtype"] == "u1"
    # Noise is grey, not one more colour among the clusters.
    names = out["colours"]["categories"]
    steps = out["colours"]["marker"]["colorscale"]
    assert steps[2 * names.index(NOISE)][1] == "#a6a6a6"
    marker = render_map(scatter, result, "__outlier__")["colours"]["marker"]
    assert marker["colorbar"]["title"]["text"] == "outlier score (k=10)"
    scores = decode(marker["color"])
    assert np.isfinite(scores).all()
    assert scores.min() >= 0


def test_the_outliers_panel_lists_the_planted_far_rows(write_config, tmp_path):
    import polars as pl

    from dashboard.web.assemble import prepare
    from tests.conftest import project

    X, _ = planted()
    names = [f"row {i}" for i in range(len(X))]
    pl.DataFrame({"vec": X.astype(np.float32), "name": names}).write_parquet(tmp_path / "p.parquet")
    path = write_config(
        {
            "tables": {"p": {"path": str(tmp_path / "p.parquet"), "label": "name"}},
            "panels": [{"type": "outliers", "top": 3}],
        }
    )
    dashboard = prepare(path)
    panel = dashboard.panels[0]
    request = {"table": "p", "reducer": "pca", "dims": 2, "params": {}}
    result, _ = project(dashboard.context, request)
    rows, scores = panel.top_rows(result)
    assert sorted(rows.tolist()) == [300, 301, 302]
    assert (np.diff(scores) <= 0).all()  # highest first
    _, table = panel.render(result)
    listed = [tr.children[2].children for tr in table.children[1].children]
    assert sorted(listed) == ["row 300", "row 301", "row 302"]
    gone = Projection("0" * 32, "p", "pca", 2, {}, result.n)
    assert panel.render(gone).color == "warning"


def test_the_filter_panel_keeps_the_rows_of_picked_clusters(write_config, tmp_path):
    import polars as pl

    from dashboard.web.assemble import prepare
    from tests.conftest import project, render_map
    from tests.figures import decode

    X, _ = planted()
    path = tmp_path / "planted.parquet"
    pl.DataFrame({"vec": X.astype(np.float32), "n": np.arange(len(X))}).write_parquet(path)
    config = {
        "tables": {"p": {"path": str(path)}},
        "panels": [{"type": "scatter"}, {"type": "filter"}],
    }
    dashboard = prepare(write_config(config))
    scatter, panel = dashboard.panels
    request = {"table": "p", "reducer": "pca", "dims": 2, "params": {}}
    result, _ = project(dashboard.context, request)
    _, button, dropdown, hint = panel.cluster_control(result, None, compute=False).children
    assert button.children.style is None  # "Find clusters" asks before HDBSCAN runs
    assert dropdown.style == {"display": "none"}
    _, button, dropdown, hint = panel.cluster_control(result, None, compute=True).children
    assert button.children.style == {"display": "none"}
    assert dropdown.id["key"] == "filters/__cluster__/in"  # bound to the view's filters
    sizes = {o["value"]: int(o["label"].split("(")[1].rstrip(")")) for o in dropdown.options}
    assert sum(sizes.values()) == 303
    assert [v for v in sizes if v != NOISE] == ["cluster 01", "cluster 02", "cluster 03"]
    # Known now: the next time the panel is built for this map it shows the dropdown at once,
    # with the clusters the view's filters pick.
    picked = {"table": "p", "filters": {"__cluster__": {"in": ["cluster 02"]}}}
    assert hint.style == {"display": "none"}
    _, _, again, hint = panel.cluster_control(result, picked, compute=False).children
    assert again.options == dropdown.options
    assert again.value == ["cluster 02"]
    assert hint.style is None  # the same number on another map is another group
    assert hint.children.startswith("Clusters are found on each map")
    shown = render_map(scatter, result, filters=picked)["mask"]
    assert decode(shown["shown"]).sum() == sizes["cluster 02"]
    both = {"table": "p", "filters": {"__cluster__": {"in": ["cluster 02", NOISE]}}}
    shown = render_map(scatter, result, filters=both)["mask"]
    assert decode(shown["shown"]).sum() == sizes["cluster 02"] + sizes[NOISE]


def test_a_big_map_clusters_a_sample_and_the_other_rows_join_their_nearest():
    rng = np.random.default_rng(1)
    centres = np.array([[0.0, 0.0], [20.0, 0.0], [0.0, 20.0]])
    blob = np.repeat([0, 1, 2], 2000)
    Y = (centres[blob] + rng.normal(0, 1, (6000, 2))).astype(np.float32)
    Y[7] = np.nan
    codes = map_clusters(Y, max_rows=600)
    assert codes[7] == -2  # not on the map
    on_map = np.delete(np.arange(6000), 7)
    assert (codes[on_map] >= -1).all()  # every other row has a cluster or is noise
    for b in range(3):
        members = codes[on_map][blob[on_map] == b]
        found, counts = np.unique(members[members >= 0], return_counts=True)
        assert len(found) == 1
        assert counts[0] > 0.95 * len(members)
