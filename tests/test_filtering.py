"""Metadata filters, the filter panel's store value, and the map under filters."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from dashboard.data.filtering import filter_mask
from dashboard.errors import DataError
from dashboard.web.assemble import prepare
from tests.conftest import project
from tests.figures import decode, shown, shown_rows

META = pl.DataFrame(
    {
        "kind": ["a", "b", None, "a", "c"],
        "score": [0.1, 0.5, 0.9, None, 0.3],
        "n": [1, 2, 3, 4, 5],
    }
)


def test_category_and_range_filters_combine():
    assert filter_mask(META, None).all()
    assert filter_mask(META, {"kind": {"in": ["a"]}}).tolist() == [True, False, False, True, False]
    assert filter_mask(META, {"kind": {"in": ["(missing)", "c"]}}).tolist() == [
        False,
        False,
        True,
        False,
        True,
    ]
    both = {"kind": {"in": ["a", "b"]}, "score": {"range": [0.0, 0.4]}}
    assert filter_mask(META, both).tolist() == [True, False, False, False, False]  # null: out
    assert filter_mask(META, {"n": {"in": [2, "5"]}}).tolist() == [False, True, False, False, True]


def test_bad_filters_are_explained():
    with pytest.raises(DataError, match=r"cannot filter on unknown column 'kinds'\nallowed values"):
        filter_mask(META, {"kinds": {"in": ["a"]}})
    with pytest.raises(
        DataError, match=r"column 'kind' holds String, not numbers: it has no range"
    ):
        filter_mask(META, {"kind": {"range": [0, 1]}})
    with pytest.raises(DataError, match=r"filter on 'n' must have `in` or `range`"):
        filter_mask(META, {"n": {"equals": 3}})


@pytest.fixture
def dashboard(demo_config):
    return prepare(demo_config)


def panel(dashboard, name):
    return next(p for p in dashboard.panels if p.name == name)


def test_filter_panel_builds_controls_and_keeps_only_active_filters(dashboard):
    filters = panel(dashboard, "filter")
    dataset = dashboard.context.datasets["digits"]
    widgets = filters.controls(dataset)
    kinds = {w.children[1].id["column"]: type(w.children[1]).__name__ for w in widgets}
    assert kinds == {"target": "Dropdown", "label": "Dropdown", "ink": "RangeSlider"}
    value = filters.filters(
        [["3"], []],
        [[0.0, 500.0], [200.0, 300.0]],
        [{"column": "target"}, {"column": "label"}],
        [{"column": "ink"}, {"column": "other"}],
        [0.0, 100.0],
        [500.0, 400.0],
        {"table": "digits"},
    )
    assert value == {
        "table": "digits",
        "filters": {"target": {"in": ["3"]}, "other": {"range": [200.0, 300.0]}},
    }


def test_the_map_shows_only_filtered_rows_and_maps_points_back(dashboard):
    result, _ = project(
        dashboard.context, {"table": "digits", "reducer": "pca", "dims": 2, "params": {}}
    )
    scatter = panel(dashboard, "scatter")
    filters = {"table": "digits", "filters": {"target": {"in": ["3", "8"]}}}
    figure, legend, message, _ = scatter.render(result, "target", None, filters)
    target = dashboard.context.datasets["digits"].metadata()["target"].to_numpy()
    assert shown_rows(figure).tolist() == np.flatnonzero(np.isin(target, [3, 8])).tolist()
    assert message.children[0].children == "showing 357 of 1,797 rows"
    # Colours come from the whole column; the legend counts what the filter leaves.
    full, *_ = scatter.render(result, "target")
    assert figure["data"][0]["marker"]["colorscale"] == full["data"][0]["marker"]["colorscale"]
    counts = [(item.children[1], item.children[2].children) for item in legend[1:]]
    assert counts == [("3", " 183"), ("8", " 174")]
    # A box over hidden rows selects only the visible ones.
    points = [{"curveNumber": 0, "pointNumber": i} for i in range(40)]
    _, rows = scatter.rows_of(points, result, "target", filters)
    assert rows == [i for i in range(40) if target[i] in (3, 8)]
    bad = {"table": "digits", "filters": {"nope": {"in": ["x"]}}}
    figure, _, alert, _ = scatter.render(result, "target", None, bad)
    assert "cannot filter on unknown column 'nope'" in alert.children
    other_table = {"table": "elsewhere", "filters": {"target": {"in": ["3"]}}}
    assert shown(scatter.render(result, "target", None, other_table)[0]) == 1797


def test_highlight_skips_filtered_rows(dashboard):
    result, _ = project(
        dashboard.context, {"table": "digits", "reducer": "pca", "dims": 2, "params": {}}
    )
    scatter = panel(dashboard, "scatter")
    meta = dashboard.context.datasets["digits"].metadata()
    threes = np.flatnonzero(meta["target"].to_numpy() == 3)[:4].tolist()
    ones = np.flatnonzero(meta["target"].to_numpy() == 1)[:4].tolist()
    highlight = {"table": "digits", "rows": threes + ones, "label": "h"}
    filters = {"table": "digits", "filters": {"target": {"in": ["3"]}}}
    figure, *_ = scatter.render(result, "target", highlight, filters)
    assert len(decode(figure["data"][1]["x"])) == 4
