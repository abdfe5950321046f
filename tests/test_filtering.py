"""Metadata filters, the filter panel's store value, and the map under filters."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from dashboard.data.filtering import filter_mask
from dashboard.errors import DataError
from dashboard.web.assemble import prepare
from tests.conftest import drawn_rows, project, render_map

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


def test_filter_panel_builds_controls_bound_to_the_view(dashboard):
    filters = panel(dashboard, "filter")
    dataset = dashboard.context.datasets["digits"]
    widgets = filters.controls(dataset)
    kinds = {w.children[0].children: type(w.children[1]).__name__ for w in widgets}
    assert kinds == {"target": "Dropdown", "label": "Dropdown", "ink": "InputGroup"}
    target = widgets[0].children[1]
    assert target.id == {"type": "dashboard-view", "panel": 6, "key": "filters/target/in"}
    low, high = widgets[2].children[1].children
    assert low.id["key"] == "filters/ink/min"
    assert (low.placeholder, high.placeholder) == ("from 185", "to 433")
    # Rebuilt (a table switched back, a link), they show the view's filters.
    current = {
        "table": "digits",
        "filters": {"target": {"in": ["3"]}, "ink": {"range": [200, None]}},
    }
    widgets = filters.controls(dataset, current)
    assert widgets[0].children[1].value == ["3"]
    assert widgets[2].children[1].children[0].value == 200


def test_the_map_shows_only_filtered_rows(dashboard):
    result, _ = project(
        dashboard.context, {"table": "digits", "reducer": "pca", "dims": 2, "params": {}}
    )
    scatter = panel(dashboard, "scatter")
    filters = {"table": "digits", "filters": {"target": {"in": ["3", "8"]}}}
    out = render_map(scatter, result, "target", filters=filters)
    target = dashboard.context.datasets["digits"].metadata()["target"].to_numpy()
    rows = drawn_rows(out["coords"], out["mask"])
    assert rows.tolist() == np.flatnonzero(np.isin(target, [3, 8])).tolist()
    assert out["message"].children[0].children == "showing 357 of 1,797 rows"
    # Colours come from the whole column; the legend counts what the filter leaves.
    full = render_map(scatter, result, "target")
    assert out["colours"]["marker"]["colorscale"] == full["colours"]["marker"]["colorscale"]
    counts = [(item.children[1], item.children[2].children) for item in out["legend"][1:]]
    assert counts == [("3", " 183"), ("8", " 174")]
    bad = {"table": "digits", "filters": {"nope": {"in": ["x"]}}}
    alert = render_map(scatter, result, "target", filters=bad)["message"]
    assert "cannot filter on unknown column 'nope'" in alert.children
    other_table = {"table": "elsewhere", "filters": {"target": {"in": ["3"]}}}
    assert render_map(scatter, result, "target", filters=other_table)["mask"]["shown"] is None
