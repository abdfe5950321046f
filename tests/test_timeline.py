"""Aligned timelines of items logged at several steps, on steps whose answer is known."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from sklearn.manifold import trustworthiness

from dashboard.analysis.alignment import (
    aligned_layouts,
    match_steps,
    movement,
    procrustes_layouts,
)
from reducers.umap import UMAP
from tests.conftest import run_writer_examples


def clusters(n: int = 240, d: int = 20, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    group = np.arange(n) % 4
    centres = rng.normal(0, 6, (4, d))
    return centres[group] + rng.normal(0, 1, (n, d)), group


def rotation(d: int, seed: int) -> np.ndarray:
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(d, d)))
    return q


def test_items_match_by_id_in_any_order_and_only_ids_in_every_step_count():
    ids = [pl.Series([1, 2, 3, 4]), pl.Series([4, 3, 2, 1, 9]), pl.Series([2, 4, 1])]
    items = match_steps(ids, [4, 5, 3], ["s0", "s1", "s2"])
    assert items.count == 3  # id 3 is missing from the last step
    for step, series in enumerate(ids):
        assert series.gather(items.rows[step]).to_list() == [1, 2, 4]


def test_without_ids_rows_match_by_number_and_must_be_as_many():
    items = match_steps([None, None], [5, 5], ["a", "b"])
    assert items.rows.tolist() == [[0, 1, 2, 3, 4]] * 2
    with pytest.raises(
        ValueError,
        match=r"steps without an `id` column must have the same rows; they have "
        r"'a': 5, 'b': 6\nset `id:`",
    ):
        match_steps([None, None], [5, 6], ["a", "b"])
    with pytest.raises(ValueError, match=r"no id is in every step of \['a', 'b'\]"):
        match_steps([pl.Series([1]), pl.Series([2])], [1, 1], ["a", "b"])


def test_procrustes_holds_a_space_that_only_turns_still_on_screen():
    X, _ = clusters()
    steps = [X, X @ rotation(20, 1), -X @ rotation(20, 2)]  # rotations and a reflection
    layouts = procrustes_layouts(steps)
    assert layouts.shape == (3, 240, 2)
    assert np.abs(layouts[1] - layouts[0]).max() < 1e-4
    assert np.abs(layouts[2] - layouts[0]).max() < 1e-4
    assert np.allclose(np.sqrt((layouts[0] ** 2).sum(axis=1).mean()), 1.0, atol=1e-5)
    assert movement(layouts).max() < 1e-4


def test_procrustes_shows_movement_where_the_space_really_changed():
    X, group = clusters()
    merged = X.copy()
    merged[group == 1] = X[group == 0] + 0.01  # cluster 1 collapses onto cluster 0
    layouts = procrustes_layouts([X, X * 2.0, merged])
    moved = np.median(movement(layouts), axis=1)
    assert moved[1] < 1e-4  # a uniform scale is no movement on a unit-radius map
    assert moved[2] > 0.1
    # Cluster 1's items now sit where cluster 0's do.
    gap = np.linalg.norm(layouts[2][group == 1] - layouts[2][group == 0], axis=1)
    assert np.median(gap) < 0.05


@pytest.mark.slow
def test_aligned_umap_keeps_clusters_and_holds_a_steady_space_steady():
    X, _ = clusters(n=300)
    rng = np.random.default_rng(3)
    steps = [X + rng.normal(0, 0.05, X.shape) for _ in range(3)]  # the same items, a jitter
    layouts = aligned_layouts(steps, UMAP().fit_aligned)
    assert layouts.shape == (3, 300, 2)
    for s in range(3):
        assert trustworthiness(steps[s], layouts[s], n_neighbors=10) > 0.85
    # Aligned: an item stays close to where it was (independent UMAPs would land anywhere).
    assert np.median(movement(layouts)[1:]) < 0.25


def test_a_timeline_needs_two_steps_and_an_aligner_of_the_right_shape():
    X, _ = clusters(n=30)
    with pytest.raises(ValueError, match=r"a timeline needs at least 2 steps, got 1"):
        aligned_layouts([X])
    with pytest.raises(ValueError, match=r"the alignment returned shape \(2, 30, 3\)"):
        aligned_layouts([X, X], lambda matrices, progress: np.zeros((2, 30, 3)))


@pytest.fixture(scope="module")
def runs_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("timeline-runs")
    run_writer_examples(folder)
    return folder


@pytest.mark.slow
def test_the_panel_over_the_comet_epochs(runs_folder, write_config):
    from dash import Patch, no_update

    from dashboard.errors import ConfigError
    from dashboard.web.assemble import prepare

    tables = {"comet": {"path": str(runs_folder / "runs" / "comet_style")}}
    panels = [{"type": "timeline", "run": "comet", "trails": True}]
    dashboard = prepare(write_config({"tables": tables, "panels": panels}))
    (panel,) = dashboard.panels
    assert panel.step_labels() == [f"epoch-{i}" for i in range(5)]
    key, error = panel.compute("procrustes")
    assert error is None
    layouts = dashboard.context.store.load(key)
    assert layouts.shape == (5, 300, 2)
    assert panel.compute("procrustes")[0] == key  # cached: same key, no recompute
    figure, legend, summary = panel.draw({"key": key}, 2, True, None)
    _, points = figure["data"]
    assert points["type"] == "scatter"
    assert len(points["hovertext"]) == 300
    assert points["hovertext"][0].startswith("<b>")  # escaped labels, as on the scatter
    assert figure["layout"]["transition"]["duration"] > 0  # points glide between steps
    assert summary.startswith("epoch-2: items moved")
    assert len(legend) == 11  # the column name and ten digits
    patch, legend_update, _ = panel.draw({"key": key}, 3, True, "timeline-0-step")
    assert legend_update is no_update  # the colours do not change with the step
    assert isinstance(patch, Patch)
    operations = patch.to_plotly_json()["operations"]
    assert {tuple(op["location"]) for op in operations} == {
        ("data", 1, "x"),
        ("data", 1, "y"),
        ("data", 0, "x"),
        ("data", 0, "y"),
    }
    assert panel.compute("nope") == (
        None,
        "unknown timeline method 'nope'\nallowed values: 'procrustes', 'aligned_umap'",
    )
    tables["one"] = {"path": str(runs_folder / "runs" / "embedding_tutorial")}
    with pytest.raises(ConfigError, match=r"`panels\[0\]\.run`: table 'one' has 1 logged set"):
        prepare(write_config({"tables": tables, "panels": [{"type": "timeline", "run": "one"}]}))
    bad = [{"type": "timeline", "run": "comet", "color": "colour"}]
    with pytest.raises(ConfigError, match=r"`panels\[0\]\.color`: column 'colour' not found"):
        prepare(write_config({"tables": tables, "panels": bad}))


@pytest.mark.slow
def test_aligned_umap_goes_through_the_registry(runs_folder, write_config):
    from dashboard.errors import ConfigError
    from dashboard.web.assemble import prepare

    tables = {"comet": {"path": str(runs_folder / "runs" / "comet_style")}}
    panels = [{"type": "timeline", "run": "comet", "method": "aligned_umap"}]
    (panel,) = prepare(write_config({"tables": tables, "panels": panels})).panels
    assert panel.methods() == {
        "procrustes": "PCA, Procrustes-aligned",
        "aligned_umap": "Aligned UMAP",
    }
    disabled = {"tables": tables, "panels": panels, "disable_plugins": ["umap"]}
    with pytest.raises(
        ConfigError,
        match=r"`panels\[0\]\.method`: unknown timeline method 'aligned_umap'\n"
        r"allowed values: 'procrustes'",
    ):
        prepare(write_config(disabled))
