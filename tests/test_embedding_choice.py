"""Tables with several embeddings (W&B's "pick the embedding column") and tables logged
already projected ("as logged"): the app starts, the view switches, the map follows."""

from __future__ import annotations

import logging

import numpy as np
import polars as pl
import pytest

from dashboard.errors import ReducerError
from dashboard.web import state
from dashboard.web.assemble import prepare
from dashboard.web.derive import derive_request
from reducers.as_logged import AsLogged
from tests.conftest import blobs


def widget(key):
    return {"type": "dashboard-view", "panel": 0, "key": key}


def update(dashboard, before, trigger, value=None, widgets=None):
    return state.update(before, trigger, value, widgets or {}, dashboard.context, dashboard.panels)


@pytest.fixture
def two_vectors(tmp_path, write_config):
    frame = blobs().with_columns(
        other=pl.col("vec") * -1.0, xy=pl.col("vec").arr.head(2), xyz=pl.col("vec").arr.head(3)
    )
    frame.write_parquet(tmp_path / "t.parquet")
    wide = blobs(d=8, seed=1).drop("vec")
    wide.write_parquet(tmp_path / "wide.parquet")
    config = write_config(
        {
            "tables": {
                "t": {"path": str(tmp_path / "t.parquet"), "label": "cluster", "id": "id"},
                "wide": {"path": str(tmp_path / "wide.parquet"), "label": "cluster"},
            },
            "projection": {"reducer": "pca"},
            "panels": [{"type": "controls"}, {"type": "scatter"}, {"type": "filter"}],
        }
    )
    return prepare(config)


def test_a_table_with_several_vector_columns_starts_and_offers_each(two_vectors):
    datasets = two_vectors.context.datasets
    assert list(datasets) == ["t", "wide"]  # each table once: the variants are not listed
    assert datasets["t"].embedding_choices == ["vec", "other", "xy", "xyz", "numeric columns"]
    assert "t [other]" in datasets
    assert datasets["t [other]"].embedding_columns == ["other"]
    controls = two_vectors.panels[0]
    assert [o["value"] for o in controls.embedding_options("t")] == datasets["t"].embedding_choices
    assert controls.embedding_default("t") == "vec"
    assert controls.embedding_style("t") is None
    assert controls.embedding_style("wide") == {"display": "none"}  # nothing to choose


def test_picking_an_embedding_projects_it_and_keeps_the_selection(two_vectors):
    start = state.initial_view(two_vectors.context, two_vectors.panels)
    assert start.dataset == "t"
    select = {"op": "select", "table": "t", "rows": [1, 2, 3], "seq": "1"}
    chosen = update(two_vectors, start, {"type": "dashboard-action", "panel": "1"}, select).view
    assert chosen.selection.rows == [1, 2, 3]
    out = update(two_vectors, chosen, widget("embedding"), "other").view
    assert (out.table, out.embedding, out.dataset) == ("t", "other", "t [other]")
    request, problem = derive_request(out, two_vectors.context)
    assert problem is None
    assert request["table"] == "t [other]"
    # The same rows: what was picked stays picked, under the map's new name.
    assert (out.selection.table, out.selection.rows) == ("t [other]", [1, 2, 3])
    assert out.maps["1"].table == "t [other]"
    # The default again is named None (one name per dataset); the box keeps showing it.
    back = update(two_vectors, out, widget("embedding"), "vec", {"embedding": "vec"})
    assert back.view.embedding is None
    assert back.view.selection.table == "t"
    assert "embedding" not in back.widgets
    again = update(two_vectors, back.view, None, None, {"embedding": "vec"})
    assert again.view.embedding is None


def test_an_embedding_the_table_does_not_offer_is_let_go_of(two_vectors):
    start = state.initial_view(two_vectors.context, two_vectors.panels)
    forged = update(two_vectors, start, widget("embedding"), "../../etc/passwd").view
    assert forged.embedding is None
    assert forged.dataset == "t"
    other = update(two_vectors, start, widget("embedding"), "other").view
    moved = update(two_vectors, other, widget("table"), "wide").view
    assert (moved.table, moved.embedding) == ("wide", None)  # another table's choice


def test_two_columns_are_drawn_as_logged_and_a_wide_table_leaves_it(two_vectors):
    start = state.initial_view(two_vectors.context, two_vectors.panels)
    xy = update(two_vectors, start, widget("embedding"), "xy").view
    assert (xy.reducer, xy.dims) == ("as_logged", 2)
    context = two_vectors.context
    projection = context.project_here(derive_request(xy, context)[0])
    matrix = context.datasets["t [xy]"].matrix()
    # The logged values themselves.
    np.testing.assert_allclose(context.coordinates(projection), matrix)
    wide = update(two_vectors, xy, widget("table"), "wide").view
    assert wide.reducer == "pca"  # as logged cannot draw 8 dims: the config's reducer


def test_3d_is_not_offered_for_two_numbers_and_a_point_cloud_does_not_stick(two_vectors):
    controls = two_vectors.panels[0]
    assert controls.dims_options("t [xy]")[1] == {"label": "3D", "value": 3, "disabled": True}
    assert controls.dims_options("t")[1]["disabled"] is False
    start = state.initial_view(two_vectors.context, two_vectors.panels)
    xy = update(two_vectors, start, widget("embedding"), "xy").view
    forced = update(two_vectors, xy, widget("dims"), 3).view
    assert forced.dims == 2  # the disabled choice, forced: put back
    # A 3-number embedding is drawn as logged in 3D; the next wide table gets the config's.
    three = update(two_vectors, start, widget("embedding"), "xyz").view
    assert (three.reducer, three.dims) == ("as_logged", 3)
    wide = update(two_vectors, three, widget("table"), "wide").view
    assert (wide.reducer, wide.dims) == ("pca", 2)


def test_a_table_logged_as_two_columns_opens_as_logged(tmp_path, write_config):
    frame = pl.DataFrame({"PCA1": np.arange(10.0), "PCA2": np.arange(10.0) ** 2})
    frame.write_parquet(tmp_path / "pca.parquet")
    config = write_config(
        {
            "tables": {"pca": {"path": str(tmp_path / "pca.parquet")}},
            "projection": {"reducer": "umap", "dims": 3},
            "panels": [{"type": "scatter"}],
        }
    )
    request = prepare(config).context.initial_request
    assert (request.reducer, request.dims) == ("as_logged", 2)


def test_as_logged_is_the_identity_and_refuses_wide_tables():
    X = np.random.default_rng(0).normal(size=(20, 3)).astype(np.float32)
    np.testing.assert_array_equal(AsLogged(n_components=3).fit_transform(X), X)
    flat = AsLogged(n_components=2)
    np.testing.assert_array_equal(flat.fit_transform(X), X[:, :2])
    np.testing.assert_array_equal(flat.transform(X[:4]), X[:4, :2])
    with pytest.raises(ReducerError, match=r"2 or 3 dimensions as they are; this embedding has 5"):
        AsLogged().fit_transform(np.zeros((4, 5)))
    with pytest.raises(ReducerError, match=r"a 3D map needs at least 3 embedding dimensions"):
        AsLogged(n_components=3).fit_transform(X[:, :2])


def test_a_run_level_embedding_applies_to_the_sets_that_have_it(tmp_path, write_config, caplog):
    import dashboard

    run = dashboard.init(project="p", dir=tmp_path / "runs", name="r")
    with_emb = blobs().rename({"vec": "emb"}).with_columns(more=pl.col("emb") * 2)
    run.log({"images": with_emb})
    run.log({"texts": blobs().rename({"vec": "text_vec"})})
    run.finish()
    config = write_config(
        {
            "tables": {"runs": {"path": str(run.dir), "embedding": "emb", "label": "cluster"}},
            "projection": {"reducer": "pca"},
            "panels": [{"type": "scatter"}],
        }
    )
    with caplog.at_level(logging.WARNING):
        datasets = prepare(config).context.datasets
    assert datasets["runs / images"].embedding_columns == ["emb"]
    assert datasets["runs / texts"].embedding_columns == ["text_vec"]
    assert "applies to the sets that have it" in caplog.text
    missing = write_config(
        {
            "tables": {"runs": {"path": str(run.dir), "embedding": "nope"}},
            "panels": [{"type": "scatter"}],
        },
        name="bad.yaml",
    )
    with pytest.raises(Exception, match=r"column 'nope' not found"):
        prepare(missing)


def test_a_logged_point_cloud_opens_in_3d_in_its_own_colours(tmp_path, write_config):
    import dashboard
    from dashboard.plugin.figures import colour_marker

    rng = np.random.default_rng(0)
    points = np.hstack([rng.normal(size=(50, 3)), rng.integers(0, 256, (50, 3))])
    run = dashboard.init(project="p", dir=tmp_path / "runs", name="cloud")
    run.log({"cloud": dashboard.Object3D(points)})
    run.finish()
    config = write_config(
        {"tables": {"cloud": {"path": str(run.dir)}}, "panels": [{"type": "scatter"}]}
    )
    built = prepare(config)
    request = built.context.initial_request
    assert (request.reducer, request.dims) == ("as_logged", 3)
    projection = built.context.project_here(request)
    np.testing.assert_allclose(built.context.coordinates(projection), points[:, :3], rtol=1e-6)
    scatter = built.panels[0]
    assert scatter.default_color("cloud") == "color"
    meta = built.context.datasets["cloud"].metadata()
    marker, legend = colour_marker(meta, "color")
    r, g, b = (int(v) for v in points[7, 3:])
    assert marker["color"][7] == f"#{r:02x}{g:02x}{b:02x}"
    assert legend == []  # a colour a point, no legend of thousands


def test_as_logged_is_disabled_for_a_wide_embedding_and_a_forced_pick_is_put_back(two_vectors):
    """An exploratory pass: "As logged" was offered for 64 numbers, and picking it left a
    map that could only fail. It is disabled there, saying why; forced, the map stays."""
    controls = two_vectors.panels[0]
    wide = {o["value"]: o for o in controls.reducer_options("wide")}
    assert wide["as_logged"]["disabled"] is True
    assert wide["as_logged"]["label"] == "As logged (at most 3 dimensions)"
    assert not any(o.get("disabled") for o in controls.reducer_options("t [xy]"))
    start = state.initial_view(two_vectors.context, two_vectors.panels)
    on_wide = update(two_vectors, start, widget("table"), "wide").view
    umap = update(two_vectors, on_wide, widget("reducer"), "umap").view
    forced = update(two_vectors, umap, widget("reducer"), "as_logged").view
    assert forced.reducer == "umap"  # the map that was shown
    request, problem = derive_request(forced, two_vectors.context)
    assert problem is None
    assert request["reducer"] == "umap"
