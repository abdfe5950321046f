"""Panels and the projection callback, called as plain functions."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from dash import no_update

from dashboard.errors import ConfigError
from dashboard.plugin.figures import categories, hover_texts, is_categorical
from dashboard.projection.request import Projection
from dashboard.web.assemble import prepare
from plugins.controls import build_request
from plugins.param_widgets import field_specs, param_widget
from plugins.scatter import NO_COLOUR
from plugins.scatter_figure import build_figure
from plugins.selection_table import HINT as HINT_TABLE
from reducers.tsne import TSNEParams
from reducers.umap import UMAPParams
from tests.conftest import project
from tests.figures import decode, shown, shown_rows


@pytest.fixture
def dashboard(demo_config):
    return prepare(demo_config)


def scatter_of(dashboard):
    return next(p for p in dashboard.panels if p.name == "scatter")


def projected(dashboard, reducer="pca", dims=2, params=None):
    request = {"table": "digits", "reducer": reducer, "dims": dims, "params": params or {}}
    result, status = project(dashboard.context, request)
    return result, status


def render(scatter, *args, **kwargs):
    """(figure, message) of a full render."""
    figure, _legend, message, _drawn = scatter.render(*args, **kwargs)
    return figure, message


def test_projection_callback_reports_status(dashboard):
    result, status = projected(dashboard)
    assert result.n == 1797
    assert status.startswith("PCA 2D · digits · 1,797 points x 64 dims · ")
    again, status = projected(dashboard)
    assert status.endswith("from cache")
    assert again.key == result.key


def test_projection_callback_shows_errors_in_an_alert(dashboard):
    result, alert = projected(dashboard, reducer="nope")
    assert result is None  # nothing stored
    assert "unknown reducer 'nope'" in alert.children
    assert alert.color == "danger"


def test_scatter_has_one_point_per_row_coloured_by_category(dashboard):
    result, _ = projected(dashboard)
    figure, legend, message, drawn = scatter_of(dashboard).render(result, "target")
    assert shown(figure) == 1797
    assert [t["type"] for t in figure["data"]] == ["scattergl"] * 3  # points, two ring slots
    names = [item.children[1] for item in legend[1:]]
    assert names == [str(d) for d in range(10)]
    # Each point's colour is its category's code; the legend counts them.
    codes = decode(figure["data"][0]["marker"]["color"])
    target = dashboard.context.datasets["digits"].metadata()["target"].to_numpy()
    assert (codes == target).all()
    assert legend[4].children[2].children == f" {(target == 3).sum():,}"
    assert message is None
    assert figure["layout"]["uirevision"] == drawn == result.key


def test_scatter_continuous_colour_has_a_colour_bar(dashboard):
    result, _ = projected(dashboard)
    figure, legend, _, _ = scatter_of(dashboard).render(result, "ink")
    marker = figure["data"][0]["marker"]
    assert marker["showscale"] is True
    assert marker["colorbar"]["title"]["text"] == "ink"
    ink = dashboard.context.datasets["digits"].metadata()["ink"].to_numpy()
    assert np.allclose(decode(marker["color"]), ink)
    assert legend == []  # the colour bar is the legend


def test_scatter_3d_uses_scatter3d(dashboard):
    result, _ = projected(dashboard, dims=3)
    figure, _ = render(scatter_of(dashboard), result, "target")
    assert {t["type"] for t in figure["data"]} == {"scatter3d"}
    assert shown(figure) == 1797
    # 3D hovers have no tooltip position: each point carries its label.
    assert figure["data"][0]["hovertext"][0].startswith("<b>digit ")


def test_colour_choice_falls_back_when_the_column_is_unknown(dashboard):
    scatter = scatter_of(dashboard)
    options, colour = scatter.colour_choice("digits", "no-such-column")
    assert colour == "target"
    assert {"label": "ink", "value": "ink"} in options
    assert {"label": "pixels", "value": "pixels"} not in options  # the embedding itself
    assert scatter.colour_choice("digits", NO_COLOUR)[1] == NO_COLOUR
    result, _ = projected(dashboard)
    _, legend, _, _ = scatter.render(result, "no-such-column")
    assert legend[0].children == "target"


def test_scatter_reports_a_missing_projection(dashboard):
    gone = Projection("0" * 32, "digits", "pca", 2, {}, 1797)
    figure, _, message, drawn = scatter_of(dashboard).render(gone, "target")
    assert "the map is no longer in the projection cache" in message.children
    assert figure.layout.annotations[0].text.startswith("the map is no longer")
    assert drawn is None  # the next restyle sends a whole figure


def test_hover_shows_label_then_colour_and_escapes_html():
    meta = pl.DataFrame({"label": ["<script>x</script>", "b"], "n": [1, 2], "t": ["long", None]})
    texts = hover_texts(meta, "label", "t", "n")
    assert texts[0] == "<b>&lt;script&gt;x&lt;/script&gt;</b><br>n: 1<br>long"
    assert texts[1] == "<b>b</b><br>n: 2<br>"


def test_hover_without_label_names_the_row():
    meta = pl.DataFrame({"n": [1, 2]})
    assert hover_texts(meta, None, None, None) == ["<b>row 0</b>", "<b>row 1</b>"]


def test_categorical_rules():
    assert is_categorical(pl.Series(["a", "b"]))
    assert is_categorical(pl.Series([True, False]))
    assert is_categorical(pl.Series(np.arange(100) % 10))
    assert not is_categorical(pl.Series(np.arange(100)))
    assert not is_categorical(pl.Series([0.5, 1.5]))


def test_many_categories_fold_into_other_and_missing():
    values = [f"c{i:02d}" for i in range(40)] * 2 + [None]
    names, codes = categories(pl.Series("c", values))
    assert len(names) == 31
    assert names[-2:] == ["(other)", "(missing)"]
    assert codes[-1] == 30
    assert (codes >= 0).all()


def test_figure_payload_is_float32():
    coords = np.random.default_rng(0).normal(size=(50, 2)).astype(np.float32)
    fig, _ = build_figure(
        coords, pl.DataFrame({"c": ["a"] * 50}), color="c", label=None, text=None, uirevision="k"
    )
    # Sent as a base64 float32 typed array (4 bytes a value), not a list of numbers.
    payload = fig["data"][0]["x"]
    assert payload["dtype"] == "f4"
    assert isinstance(payload["bdata"], str)
    assert (decode(payload) == coords[:, 0]).all()
    assert "hovertext" not in fig["data"][0]  # the 2D tooltip fetches the row


def test_param_specs_come_from_the_schema():
    specs = {s["name"]: s for s in field_specs(UMAPParams)}
    n_neighbors = specs["n_neighbors"]
    assert (n_neighbors["kind"], n_neighbors["min"], n_neighbors["max"]) == ("int", 2, 200)
    assert n_neighbors["default"] == 15
    assert specs["min_dist"]["kind"] == "float"
    assert specs["metric"]["kind"] == "choice"
    assert "cosine" in specs["metric"]["options"]
    assert specs["random_state"]["nullable"] is True
    widget = param_widget("umap", specs["n_neighbors"], 15)
    control = widget.children[1]
    assert (control.min, control.max, control.step, control.value) == (2, 200, 1, 15)


def test_controls_build_a_request():
    from dashboard.plugin.manager import build_registry, get_plugin_manager

    registry = build_registry(get_plugin_manager(load_entry_points=False))
    ids = [
        {"type": "controls-param", "reducer": "tsne", "param": s["name"]}
        for s in field_specs(TSNEParams)
    ] + [{"type": "controls-param", "reducer": "pca", "param": "whiten"}]
    values = [5, 12.0, 500, "cosine", 1, "sklearn", True]
    request, message = build_request(registry, "digits", "tsne", 3, values, ids, None)
    assert request == {
        "table": "digits",
        "reducer": "tsne",
        "dims": 3,
        "params": {
            "perplexity": 5.0,
            "early_exaggeration": 12.0,
            "max_iter": 500,
            "metric": "cosine",
            "random_state": 1,
            "method": "sklearn",
        },
        "rows": None,
        "max_rows": None,
    }
    assert message is None
    same, _ = build_request(registry, "digits", "tsne", 3, values, ids, request)
    assert same is no_update
    sampled, _ = build_request(registry, "digits", "tsne", 3, values, ids, request, None, 500)
    assert sampled["max_rows"] == 500
    auto, _ = build_request(registry, "digits", "tsne", 3, values, ids, sampled, None, None)
    assert auto == request
    bad, alert = build_request(registry, "digits", "tsne", 3, [500, *values[1:]], ids, None)
    assert bad is no_update
    assert "`perplexity`: input should be less than or equal to 100, got 500" in alert.children
    cleared, alert = build_request(registry, "digits", "tsne", 3, [None, *values[1:]], ids, None)
    assert cleared is no_update
    assert alert.children.startswith("tsne: `perplexity`: enter a value from 2.0 to 100.0\n")


def test_empty_number_input_means_default_none():
    from dashboard.plugin.manager import build_registry, get_plugin_manager

    registry = build_registry(get_plugin_manager(load_entry_points=False))
    ids = [{"type": "controls-param", "reducer": "umap", "param": "random_state"}]
    request, _ = build_request(registry, "digits", "umap", 2, [""], ids, None)
    assert request["params"]["random_state"] is None


def test_scatter_colour_option_is_checked(write_config, digits_path):
    path = write_config(
        {
            "tables": {"digits": {"path": str(digits_path), "embedding": "pixels"}},
            "panels": [{"type": "scatter", "color": "colour"}],
        }
    )
    with pytest.raises(
        ConfigError,
        match=r"team\.yaml: `panels\[0\]\.color`: column 'colour' not found in table 'digits'\n"
        r"allowed values: .*'target'",
    ):
        prepare(path)


def test_unknown_panel_type_lists_types(write_config, digits_path):
    path = write_config(
        {"tables": {"d": {"path": str(digits_path)}}, "panels": [{"type": "scater"}]}
    )
    with pytest.raises(
        ConfigError, match=r"`panels\[0\]\.type`: unknown panel type 'scater'\nallowed values: "
    ):
        prepare(path)


def test_unknown_panel_option_lists_options(write_config, digits_path):
    path = write_config(
        {"tables": {"d": {"path": str(digits_path)}}, "panels": [{"type": "scatter", "hight": 3}]}
    )
    with pytest.raises(
        ConfigError, match=r"`panels\[0\]\.hight`: unknown key\nallowed keys: .*'height'"
    ):
        prepare(path)


def test_unknown_reducer_and_bad_params_in_config(write_config, digits_path):
    tables = {"d": {"path": str(digits_path)}}
    path = write_config({"tables": tables, "projection": {"reducer": "umpa"}})
    with pytest.raises(
        ConfigError,
        match=r"`projection\.reducer`: unknown reducer 'umpa'\nallowed values: .*'umap'",
    ):
        prepare(path)
    path = write_config(
        {"tables": tables, "projection": {"reducer": "umap", "params": {"n_neighbors": 1}}}
    )
    with pytest.raises(
        ConfigError,
        match=r"`projection\.params\.n_neighbors`: input should be greater than or equal to 2",
    ):
        prepare(path)


def test_unknown_projection_table(write_config, digits_path):
    path = write_config({"tables": {"d": {"path": str(digits_path)}}, "projection": {"table": "x"}})
    with pytest.raises(ConfigError, match=r"`projection\.table`: unknown table 'x'"):
        prepare(path)


def test_selection_maps_points_to_rows_and_the_gallery_shows_them(dashboard):

    result, _ = projected(dashboard)
    scatter = scatter_of(dashboard)
    gallery = next(p for p in dashboard.panels if p.name == "gallery")
    meta = dashboard.context.datasets["digits"].metadata()
    threes = np.flatnonzero(meta["target"].to_numpy() == 3)[:8]
    points = [{"curveNumber": 0, "pointNumber": int(i)} for i in threes]
    points.append({"curveNumber": 1, "pointNumber": 0})  # a ring: dropped
    points.append({"curveNumber": 0, "pointNumber": 99999})  # stale: dropped
    selection = scatter.selection({"points": points}, result, "target")
    assert selection == {"table": "digits", "rows": threes.tolist()}
    count, grid = gallery.render(selection)
    assert count.children == "8 selected, showing the first 5"  # limit: 5 in the config
    assert len(grid.children) == 5
    image, caption = grid.children[0].children
    assert image.src.startswith(f"/_dashboard/image/{selection['rows'][0]}?table=digits&v=")
    assert caption.children == "digit 3"
    assert gallery.render({"table": None, "rows": []}).startswith("Select points")
    assert scatter.selection(None, result, "target") == {"table": "digits", "rows": []}


def panel_of(dashboard, name):
    return next(p for p in dashboard.panels if p.name == name)


def test_highlight_rings_rows_in_a_last_trace_without_hover(dashboard):
    result, _ = projected(dashboard)
    highlight = {"table": "digits", "rows": [0, 5, 9999], "label": "matches for 'x'"}
    figure, _ = render(scatter_of(dashboard), result, "target", highlight)
    ring = figure["data"][1]
    assert ring["name"] == "matches for 'x'"
    assert len(decode(ring["x"])) == 2  # the row past the end is dropped
    assert ring["hoverinfo"] == "skip"
    assert ring["showlegend"] is True
    assert shown(figure) == 1797
    other = {"table": "other", "rows": [0], "label": "x"}
    figure, _ = render(scatter_of(dashboard), result, "target", other)
    assert len(decode(figure["data"][1]["x"])) == 0
    assert figure["data"][1]["showlegend"] is False


def test_neighbours_panel_lists_and_highlights(dashboard):

    panel = panel_of(dashboard, "neighbors")
    listing, highlight = panel.render({"table": "digits", "rows": [3]}, 5, "euclidean")
    title, table = listing
    assert title.children.startswith("5 nearest to 'digit 3' by euclidean distance")
    assert "original 64-dim space" in title.children
    body = table.children[1].children
    assert len(body) == 5
    assert highlight["rows"][0] == 3
    assert len(highlight["rows"]) == 6
    meta = dashboard.context.datasets["digits"].metadata()
    assert (meta["target"].gather(highlight["rows"][1:]) == 3).sum() >= 4  # 3s sit by 3s


def test_neighbours_panel_hints_and_bad_k(dashboard):

    panel = panel_of(dashboard, "neighbors")
    hint, highlight = panel.render({"table": "digits", "rows": [1, 2]}, 5, "cosine")
    assert hint.startswith("Click a point")
    assert highlight is no_update
    alert, _ = panel.render({"table": "digits", "rows": [1]}, None, "cosine")
    assert "`k`: enter a whole number from 1 to 1000" in alert.children
    alert, _ = panel.render({"table": "digits", "rows": [1]}, 5, "hamming")
    assert "`metric` must be one of" in alert.children


def test_search_panel_substring_regex_and_errors(dashboard):
    panel = panel_of(dashboard, "search")
    projection = Projection("0" * 32, "digits", "pca", 2, {}, 1797)
    count, highlight = panel.render("DIGIT 7", False, projection)
    assert count.children == "179 of 1,797 rows match in `label`"
    assert len(highlight["rows"]) == 179
    assert highlight["label"] == "matches for 'DIGIT 7'"
    count, highlight = panel.render(r"^digit [05]$", True, projection)
    assert len(highlight["rows"]) == 178 + 182
    alert, highlight = panel.render("digit (", True, projection)
    assert alert.children.startswith("invalid regular expression 'digit (':")
    assert highlight is no_update
    assert panel.render("digit (", False, projection)[1]["rows"] == []  # literal: no match
    cleared = panel.render("", False, projection)
    assert cleared == (None, {"table": "digits", "rows": []})


def test_search_columns_are_checked(write_config, digits_path):
    path = write_config(
        {
            "tables": {"d": {"path": str(digits_path)}},
            "panels": [{"type": "search", "columns": ["label", "nope"]}],
        }
    )
    with pytest.raises(
        ConfigError, match=r"`panels\[0\]\.columns`: column 'nope' not found in table 'd'"
    ):
        prepare(path)


def test_table_panel_lists_the_selection_with_coordinates(dashboard):

    result, _ = projected(dashboard)
    table = panel_of(dashboard, "table")
    selection = {"table": "digits", "rows": [5, 3, 8, 9999]}  # a row past the end is dropped
    records, columns, info = table.render(selection, result)
    assert info == "3 selected rows of digits"
    assert [r["row"] for r in records] == [5, 3, 8]
    assert records[1]["label"] == "digit 3"
    assert records[0]["image"].startswith("![digit 5](/_dashboard/image/5?table=digits")
    fields = [c["field"] for c in columns]
    assert fields[:2] == ["row", "image"]
    assert {"x", "y", "target", "ink"} <= set(fields)
    coords = dashboard.context.store.load(result.key)
    assert records[2]["x"] == pytest.approx(float(coords[8, 0]))
    assert table.render({"table": None, "rows": []}, result) == ([], [], HINT_TABLE)


def test_table_panel_limits_the_grid_not_the_export(dashboard):
    import base64
    import io

    result, _ = projected(dashboard)
    table = panel_of(dashboard, "table")  # limit: 3 in the test config
    selection = {"table": "digits", "rows": list(range(10))}
    records, _, info = table.render(selection, result)
    assert len(records) == 3
    assert info == "10 selected rows of digits (grid shows the first 3; exports have all)"
    download, _ = table.export("parquet", selection, result)
    assert download["filename"] == "digits-selection.parquet"
    frame = pl.read_parquet(io.BytesIO(base64.b64decode(download["content"])))
    assert frame.height == 10
    assert frame.columns[:2] == ["row", "id"]
    assert {"x", "y"} <= set(frame.columns)
    csv, _ = table.export("csv", selection, result)
    text = base64.b64decode(csv["content"]).decode()
    assert text.splitlines()[0].startswith("row,id,target,label")
    assert len(text.splitlines()) == 11
    nothing, message = table.export("csv", {"table": None, "rows": []}, result)
    assert nothing is no_update
    assert message.startswith("Select points first")


def test_a_table_with_only_an_embedding_still_draws_every_row(write_config, tmp_path):
    X = np.random.default_rng(0).normal(size=(40, 5)).astype(np.float32)
    pl.DataFrame({"vec": X}).write_parquet(tmp_path / "only.parquet")
    path = write_config({"tables": {"t": {"path": str(tmp_path / "only.parquet")}}})
    dashboard = prepare(path)
    result, status = project(
        dashboard.context, {"table": "t", "reducer": "pca", "dims": 2, "params": {}}
    )
    assert status.startswith("PCA 2D · t · 40 points x 5 dims")
    figure, _ = render(scatter_of(dashboard), result, None)
    assert shown(figure) == 40


def test_isolate_uses_the_selection_and_show_all_resets():
    from plugins.controls import subset_rows

    selection = {"table": "digits", "rows": [9, 3, 4, 5, 6, 7]}
    assert subset_rows(True, False, "digits", None, selection) == [3, 4, 5, 6, 7, 9]
    refused = subset_rows(True, False, "digits", None, {"table": "digits", "rows": [1, 2]})
    assert refused.startswith("select at least 5 points of 'digits'")
    current = {"table": "digits", "rows": [1, 2, 3]}
    assert subset_rows(False, False, "digits", current, selection) == [1, 2, 3]  # kept
    assert subset_rows(False, False, "other", current, selection) is None  # new table
    assert subset_rows(False, True, "digits", current, selection) is None


def test_an_isolated_map_shows_only_its_rows(dashboard):
    request = {
        "table": "digits",
        "reducer": "pca",
        "dims": 2,
        "params": {},
        "rows": list(range(50)),
    }
    result, status = project(dashboard.context, request)
    assert "· 50 of 1,797 points (isolated) x 64 dims ·" in status
    figure, message = render(scatter_of(dashboard), result, "target")
    assert shown_rows(figure).tolist() == list(range(50))
    assert message.children[0].children == "showing 50 of 1,797 rows"


def test_size_by_and_opacity(dashboard):
    result, _ = projected(dashboard)
    scatter = scatter_of(dashboard)
    figure, _ = render(scatter, result, "target", None, None, "ink", "0.4")
    marker = figure["data"][0]["marker"]
    sizes = decode(marker["size"])
    ink = dashboard.context.datasets["digits"].metadata()["ink"].to_numpy()
    assert sizes.min() == pytest.approx(3.5)  # 0.5x the 7 px of a small map
    assert sizes.max() == pytest.approx(17.5)  # 2.5x
    assert sizes[np.argmax(ink)] == pytest.approx(17.5)
    assert marker["opacity"] == 0.4
    plain, _ = render(scatter, result, "target", None, None, "__none__", "not a number")
    assert plain["data"][0]["marker"]["size"] == 7.0
    assert plain["data"][0]["marker"]["opacity"] == 0.85
    options = [o["value"] for o in scatter.size_options("digits")]
    assert options == ["__none__", "id", "target", "ink"]


@pytest.mark.slow
def test_status_says_when_pca_ran_first(dashboard):
    _, status = projected(dashboard, reducer="tsne", params={"max_iter": 250})
    assert "· 1,797 points x 64 dims · PCA 50 first ·" in status


def test_a_selection_of_this_table_is_drawn_selected(dashboard):
    result, _ = projected(dashboard)
    scatter = scatter_of(dashboard)
    meta = dashboard.context.datasets["digits"].metadata()
    rows = np.flatnonzero(meta["target"].to_numpy() == 3)[:6].tolist()
    figure, _ = render(
        scatter, result, "target", None, None, None, 0.85, {"table": "digits", "rows": rows}
    )
    assert figure["data"][0]["selectedpoints"] == rows
    plain, _ = render(scatter, result, "target")
    assert "selectedpoints" not in plain["data"][0]


def test_a_selection_in_3d_draws_without_selection_marks(dashboard):
    result, _ = projected(dashboard, dims=3)
    selection = {"table": "digits", "rows": [1, 2, 3]}
    figure, message = render(
        scatter_of(dashboard), result, "target", None, None, None, 1, selection
    )
    assert message is None
    assert shown(figure) == 1797
    assert "selectedpoints" not in figure["data"][0]


def test_restyling_patches_2d_and_redraws_3d(dashboard):
    scatter = scatter_of(dashboard)
    flat, _ = projected(dashboard)
    patch, legend, _, drawn = scatter.render(flat, "ink", None, None, "ink", 0.5, patch=True)
    operations = patch.to_plotly_json()["operations"]
    assigned = {tuple(op["location"]) for op in operations}
    assert ("data", 0, "marker", "color") in assigned
    assert ("data", 0, "marker", "size") in assigned
    assert not any(loc[:2] == ("data", 0) and loc[2] in "xyz" for loc in assigned)
    assert legend == []
    assert drawn == flat.key
    deep, _ = projected(dashboard, dims=3)
    figure, *_ = scatter.render(deep, "ink", patch=True)  # Scatter3d has no opacity array
    assert figure["data"][0]["type"] == "scatter3d"


def test_a_replaced_figure_does_not_clear_the_selection():
    from plugins.scatter import is_dropped_selection

    assert is_dropped_selection(None)
    assert is_dropped_selection({"points": []})
    assert not is_dropped_selection({"points": [], "range": {"x": [0, 1], "y": [0, 1]}})
    assert not is_dropped_selection({"points": [{"curveNumber": 0, "pointNumber": 1}]})
