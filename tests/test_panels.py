"""Panels and the projection callback, called as plain functions."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from dash import no_update

from dashboard.errors import ConfigError
from dashboard.plugin import LINK_ROWS
from dashboard.plugin.figures import categories, hover_texts, is_categorical
from dashboard.projection.request import Projection
from dashboard.web.assemble import prepare
from plugins.param_widgets import field_specs, param_widget
from plugins.scatter import NO_COLOUR
from plugins.scatter_figure import map_coords
from plugins.selection_table import HINT as HINT_TABLE
from plugins.selection_table import selection_info
from reducers.umap import UMAPParams
from tests.conftest import drawn_rows as drawn
from tests.conftest import project
from tests.figures import decode


@pytest.fixture
def dashboard(demo_config):
    return prepare(demo_config)


def scatter_of(dashboard):
    return next(p for p in dashboard.panels if p.name == "scatter")


def projected(dashboard, reducer="pca", dims=2, params=None):
    request = {"table": "digits", "reducer": reducer, "dims": dims, "params": params or {}}
    result, status = project(dashboard.context, request)
    return result, status


def maps(colour="target", size=None, hidden=()):
    """The view's maps store for the demo's scatter (panel 1)."""
    return {"1": {"colour": colour, "size": size, "hidden": list(hidden), "opacity": 0.85}}


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
    coords, colours, mask, legend, message = scatter_of(dashboard).render(result, maps(), None)
    assert len(drawn(coords, mask)) == 1797
    assert coords["key"] == colours["key"] == result.key
    assert coords["dims"] == 2
    assert colours["categories"] == [str(d) for d in range(10)]
    names = [item.children[1] for item in legend[1:]]
    assert names == [str(d) for d in range(10)]
    # Each point's colour is its category's code; the legend counts them.
    codes = decode(colours["marker"]["color"])
    target = dashboard.context.datasets["digits"].metadata()["target"].to_numpy()
    assert (codes == target).all()
    assert legend[4].children[2].children == f" {(target == 3).sum():,}"
    assert getattr(legend[4], "data-dashboard-category") == "3"  # a click toggles it on the map
    assert message is None
    # The browser has them already: they are not sent again; a new colour sends no
    # coordinates.
    again = scatter_of(dashboard).render(result, maps(), None, coords, colours)
    assert again[0] is no_update
    assert again[1] is no_update
    recoloured = scatter_of(dashboard).render(result, maps("ink"), None, coords, colours)
    assert recoloured[0] is no_update
    assert recoloured[1]["marker"]["color"]["dtype"] == "f4"


def test_scatter_continuous_colour_has_a_colour_bar(dashboard):
    result, _ = projected(dashboard)
    _, colours, _, legend, _ = scatter_of(dashboard).render(result, maps("ink"), None)
    marker = colours["marker"]
    assert marker["showscale"] is True
    assert marker["colorbar"]["title"]["text"] == "ink"
    ink = dashboard.context.datasets["digits"].metadata()["ink"].to_numpy()
    assert np.allclose(decode(marker["color"]), ink)
    assert legend == []  # the colour bar is the legend
    assert colours["categories"] is None


def test_scatter_3d_sends_coordinates_only(dashboard):
    result, _ = projected(dashboard, dims=3)
    coords, _, mask, _, _ = scatter_of(dashboard).render(result, maps(), None)
    assert coords["dims"] == 3
    assert len(drawn(coords, mask)) == 1797
    assert "hover" not in coords  # the page's card fetches the hovered row, as in 2D


def test_colour_choice_falls_back_when_the_column_is_unknown(dashboard):
    scatter = scatter_of(dashboard)
    options, colour = scatter.colour_choice("digits", "no-such-column")
    assert colour == "target"
    values = {o["value"] for o in options}
    assert {"ink", "target", "label"} <= values
    assert "pixels" not in values  # the embedding itself
    assert "text" not in values  # free text: a legend of sentences helps nobody
    assert scatter.colour_choice("digits", NO_COLOUR)[1] == NO_COLOUR
    result, _ = projected(dashboard)
    legend = scatter.render(result, maps("no-such-column"), None)[3]
    assert legend[0].children == "target"


def test_scatter_reports_a_missing_projection(dashboard):
    gone = Projection("0" * 32, "digits", "pca", 2, {}, 1797)
    coords, _, _, _, message = scatter_of(dashboard).render(gone, maps(), None)
    assert "the map is no longer in the projection cache" in message.children
    assert coords == {"message": "the map is no longer in the projection cache"}


def test_filters_mask_rows_and_legend_counts_what_is_left(dashboard):
    result, _ = projected(dashboard)
    scatter = scatter_of(dashboard)
    filters = {"table": "digits", "filters": {"target": {"in": ["3", "8"]}}}
    coords, _, mask, legend, message = scatter.render(result, maps(), filters)
    assert len(drawn(coords, mask)) == 183 + 174
    assert [item.children[1] for item in legend[1:]] == ["3", "8"]
    assert message.children[0].children == "showing 357 of 1,797 rows"
    # A category hidden in the legend is struck through and not counted as shown.
    _, _, _, legend, message = scatter.render(result, maps(hidden=["8"]), filters)
    assert "dashboard-hidden" in legend[2].className
    assert message.children[0].children == "showing 183 of 1,797 rows"
    other = {"table": "other", "filters": {"target": {"in": ["3"]}}}
    mask = scatter.render(result, maps(), other)[2]
    assert mask["shown"] is None  # filters of another table do not apply


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


def test_map_payload_is_float32():
    coords = np.random.default_rng(0).normal(size=(50, 2)).astype(np.float32)
    sent = map_coords(coords, key="k", table="t", row_route="/_dashboard/row/")
    # Sent as a base64 float32 typed array (4 bytes a value), not a list of numbers.
    payload = sent["x"]
    assert payload["dtype"] == "f4"
    assert isinstance(payload["bdata"], str)
    assert (decode(payload) == coords[:, 0]).all()
    assert "hover" not in sent  # the page's card fetches the hovered row


def test_param_specs_come_from_the_schema():
    specs = {s["name"]: s for s in field_specs(UMAPParams)}
    n_neighbors = specs["n_neighbors"]
    assert (n_neighbors["kind"], n_neighbors["min"], n_neighbors["max"]) == ("int", 2, 200)
    assert n_neighbors["default"] == 15
    assert specs["min_dist"]["kind"] == "float"
    assert specs["metric"]["kind"] == "choice"
    assert "cosine" in specs["metric"]["options"]
    assert specs["random_state"]["nullable"] is True
    widget = param_widget({"type": "x", "key": "n"}, specs["n_neighbors"], 15)
    control = widget.children[1]
    assert (control.min, control.max, control.step, control.value) == (2, 200, 1, 15)


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


def test_the_gallery_shows_the_selection_and_each_thumbnail_leads_back(dashboard):
    gallery = next(p for p in dashboard.panels if p.name == "gallery")
    meta = dashboard.context.datasets["digits"].metadata()
    threes = np.flatnonzero(meta["target"].to_numpy() == 3)[:8].tolist()
    selection = {"table": "digits", "rows": [*threes, 99999]}  # a stale row: dropped
    count, thumbs = gallery.render(selection)
    assert count.children == "8 selected, showing the first 5"  # limit: 5 in the config
    assert len(thumbs["items"]) == 5
    first = thumbs["items"][0]
    assert first["src"].startswith(f"/_dashboard/image/{threes[0]}?table=digits&v=")
    assert first["caption"] == "digit 3"
    # The page draws each as a figure a click focuses on the map.
    assert (first["table"], first["row"]) == ("digits", threes[0])
    hint, nothing = gallery.render({"table": None, "rows": []})
    assert hint.startswith("Select points")
    assert nothing is None
    assert gallery.render({"table": "digits", "rows": ["x", None, -1]})[0].startswith("Select")


def panel_of(dashboard, name):
    return next(p for p in dashboard.panels if p.name == name)


def test_neighbours_panel_lists_and_rings_the_focused_rows_neighbours(dashboard):
    panel = panel_of(dashboard, "neighbors")
    listing, rings = panel.render({"table": "digits", "row": 3}, 5, "euclidean")
    title, table = listing
    assert title.children.startswith("5 nearest to 'digit 3' (row 3) by euclidean distance")
    assert "original 64-dim space" in title.children
    body = table.children[1].children
    assert len(body) == 5
    assert len(rings["rows"]) == 5
    assert getattr(body[0], "data-dashboard-row") == rings["rows"][0]  # a click focuses it
    assert body[0].children[3].children == f"{rings['rows'][0]:,}"  # its row number shown
    meta = dashboard.context.datasets["digits"].metadata()
    assert (meta["target"].gather(rings["rows"]) == 3).sum() >= 4  # 3s sit by 3s


def test_neighbours_panel_hints_and_bad_k(dashboard):
    panel = panel_of(dashboard, "neighbors")
    hint, rings = panel.render({"table": "digits", "row": None}, 5, "cosine")
    assert hint.startswith("Click a point")
    assert rings == {"table": None, "rows": []}
    assert panel.render({"table": "digits", "row": 99999}, 5, "cosine")[0].startswith("Click")
    alert, _ = panel.render({"table": "digits", "row": 1}, None, "cosine")
    assert "`k`: enter a whole number from 1 to 1000" in alert.children
    alert, _ = panel.render({"table": "digits", "row": 1}, 5, "hamming")
    assert "`metric` must be one of" in alert.children


def test_search_panel_substring_regex_and_errors(dashboard):
    panel = panel_of(dashboard, "search")
    count, rings = panel.render("DIGIT 7", False, "digits")
    assert [getattr(c, "children", c) for c in count.children] == [
        "179 of 1,797 rows match in ",
        "label",
    ]
    assert len(rings["rows"]) == 179
    assert rings["label"] == "matches for 'DIGIT 7'"
    count, rings = panel.render(r"^digit [05]$", True, "digits")
    assert len(rings["rows"]) == 178 + 182
    alert, rings = panel.render("digit (", True, "digits")
    # What is wrong with the pattern, in words; the old rings go.
    assert alert.children.startswith(
        "invalid regular expression 'digit (': missing ), unterminated subpattern at character 7"
    )
    assert rings == {"table": None, "rows": []}
    assert panel.render("digit (", False, "digits")[1]["rows"] == []  # literal: no match
    assert panel.render("", False, "digits") == (None, {"table": None, "rows": []})


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
    assert table.render({"table": "digits", "rows": [7]}, result)[2] == "1 selected row of digits"
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
    # A selection the page's address cannot keep in full says so before a reload loses rows
    # (digits has fewer rows than that: the line itself is checked).
    assert selection_info("t", LINK_ROWS + 1, 3) == (
        f"{LINK_ROWS + 1:,} selected rows of t (grid shows the first 3; exports have all; "
        f"a link or a reload keeps the first {LINK_ROWS:,})"
    )
    assert selection_info("t", LINK_ROWS - 1, LINK_ROWS - 1) == "1,999 selected rows of t"
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
    coords, _, mask, _, _ = scatter_of(dashboard).render(result, {}, None)
    assert len(drawn(coords, mask)) == 40


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
    coords, _, mask, _, message = scatter_of(dashboard).render(result, maps(), None)
    assert drawn(coords, mask).tolist() == list(range(50))
    assert message.children[0].children == "showing 50 of 1,797 rows"


def test_size_by_a_column(dashboard):
    result, _ = projected(dashboard)
    scatter = scatter_of(dashboard)
    colours = scatter.render(result, maps(size="ink"), None)[1]
    sizes = decode(colours["size"])
    ink = dashboard.context.datasets["digits"].metadata()["ink"].to_numpy()
    assert sizes.min() == pytest.approx(3.5)  # 0.5x the 7 px of a small map
    assert sizes.max() == pytest.approx(17.5)  # 2.5x
    assert sizes[np.argmax(ink)] == pytest.approx(17.5)
    plain = scatter.render(result, maps(size="__none__"), None)[1]
    assert plain["size"] == 7.0
    options = [o["value"] for o in scatter.size_options("digits")]
    assert options == ["__none__", "id", "target", "ink"]


@pytest.mark.slow
def test_status_says_when_pca_ran_first(dashboard):
    _, status = projected(dashboard, reducer="tsne", params={"max_iter": 250})
    assert "· 1,797 points x 64 dims · PCA 50 first ·" in status
