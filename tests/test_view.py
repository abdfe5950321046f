"""The page's one view state: its model, the reducer's rules, the link, and the callback."""

from __future__ import annotations

import base64
import json
import zlib

import pytest
from pydantic import ValidationError

from dashboard.web import state
from dashboard.web import view as views
from dashboard.web.assemble import prepare
from dashboard.web.derive import derive_request


@pytest.fixture
def dashboard(demo_config):
    return prepare(demo_config)


@pytest.fixture
def start(dashboard):
    return state.initial_view(dashboard.context, dashboard.panels)


def update(dashboard, before, trigger, value=None, widgets=None, link=None, actions=None):
    return state.update(
        before,
        trigger,
        value,
        widgets or {},
        dashboard.context,
        dashboard.panels,
        link=link,
        actions=actions,
    )


def widget(key):
    return {"type": "dashboard-view", "panel": 0, "key": key}


def test_paths_escape_what_ids_cannot_hold():
    key = views.path("filters", "a.b/c", "in")
    assert "." not in key  # Dash escapes dots in pattern ids, which breaks their JSON
    assert views.split_path(key) == ["filters", "a.b/c", "in"]
    data = views.set_path({}, key, ["x"])
    assert data == {"filters": {"a.b/c": {"in": ["x"]}}}
    assert views.get_path(data, key) == ["x"]
    assert views.get_path(data, views.path("filters", "nope", "in")) is None


def test_the_first_view_is_the_configs(start):
    assert (start.table, start.reducer, start.dims) == ("digits", "pca", 2)
    assert start.maps["1"].colour == "target"  # the scatter's `color:` option
    assert start.maps["1"].table == "digits"
    assert start.selection.rows == []


def test_a_widget_sets_its_place_and_a_bad_value_is_put_back(dashboard, start):
    out = update(dashboard, start, widget("dims"), 3)
    assert out.view.dims == 3
    bad = update(dashboard, start, widget("dims"), "three")
    assert bad.view == start
    assert bad.widgets == {"dims": 2}  # the widget shows the view again
    small = update(dashboard, start, widget("max_rows"), 5)
    assert small.view.max_rows is None
    assert small.widgets == {"max_rows": None}
    assert small.refused == (
        "`max_rows`: input should be greater than or equal to 100\n"
        "the box shows the value in use again"
    )
    forged = update(dashboard, start, widget("no/such/place"), 1)
    assert forged.view == start


def test_actions_select_focus_ring_and_escape(dashboard, start):
    select = {"op": "select", "table": "digits", "rows": [5, 3, 3]}
    view = update(dashboard, start, state.PAGE_ACTIONS, select).view
    assert view.selection.rows == [3, 5]
    one = update(dashboard, view, state.PAGE_ACTIONS, {**select, "rows": [7]}).view
    assert one.selection.rows == [7]
    assert (one.focus.table, one.focus.row) == ("digits", 7)  # a clicked point is looked at
    ringed = update(
        dashboard,
        one,
        state.PAGE_ACTIONS,
        {"op": "highlight", "table": "digits", "rows": [1, 2], "label": "top outliers"},
    ).view
    assert ringed.highlight.rows == [1, 2]
    gone = update(dashboard, ringed, state.PAGE_ACTIONS, {"op": "escape"}).view
    assert gone.selection.rows == gone.highlight.rows == []
    assert gone.focus.row is None


@pytest.mark.parametrize(
    "action",
    [
        {"op": "nope"},
        {"op": "select", "rows": "all"},
        {"op": "select", "rows": [-1]},
        {"op": "focus", "row": "x"},
        {"op": "legend", "category": "3"},
        ["select"],
        "select",
        {"op": "select", "rows": [1], "extra": True},
    ],
)
def test_a_forged_action_changes_nothing(dashboard, start, action):
    assert update(dashboard, start, state.PAGE_ACTIONS, action).view == start


def test_a_change_the_view_missed_is_taken_by_the_next_call(dashboard, start):
    # Dash drops a call still running when the next starts: the page's view never saw the
    # filter picked then, but the widget shows it, and the next call (an Escape) takes it.
    key = views.path("filters", "target", "in")
    escape = {"op": "escape", "seq": "e1"}
    out = update(dashboard, start, state.PAGE_ACTIONS, escape, widgets={key: ["3", "8"]})
    assert out.view.filters["target"].in_ == ["3", "8"]
    assert key not in out.widgets  # the widget already shows it
    assert state.derive(out.view, dashboard.context)[state.FILTER_STORE]["filters"] == {
        "target": {"in": ["3", "8"]}
    }
    # A value the view cannot hold is put back, whichever call meets it.
    bad = update(dashboard, start, state.PAGE_ACTIONS, escape, widgets={"dims": "three"})
    assert bad.view.dims == 2
    assert bad.widgets == {"dims": 2}


def test_an_overtaken_action_is_taken_once(dashboard, start):
    select = {"op": "select", "table": "digits", "rows": [4, 5], "seq": "s1"}
    clear = {"op": "clear_filters", "seq": "c1"}
    filtered = update(dashboard, start, widget(views.path("filters", "target", "in")), ["4"]).view
    # Two actions fired together (Dash merges them into one call, with one trigger).
    stores = {"4": select, "6": clear}
    gallery = {"type": "dashboard-action", "panel": "4"}
    both = update(dashboard, filtered, gallery, select, actions=stores).view
    assert both.selection.rows == [4, 5]
    assert both.filters == {}
    # Later calls see the same stores: neither action is taken again.
    escape = {"op": "escape", "seq": "e1"}
    page = {**stores, "page": escape}
    after = update(dashboard, both, state.PAGE_ACTIONS, escape, actions=page).view
    assert after.selection.rows == []
    refiltered = after.model_copy(update={"filters": filtered.filters})
    again = update(dashboard, refiltered, state.PAGE_ACTIONS, escape, actions=page).view
    assert again.selection.rows == []
    assert again.filters == filtered.filters
    assert "book" not in views.from_link(views.to_link(again))  # the page's bookkeeping


def test_isolating_needs_five_selected_rows(dashboard, start):
    two = update(
        dashboard, start, state.PAGE_ACTIONS, {"op": "select", "table": "digits", "rows": [1, 2]}
    ).view
    refused = update(dashboard, two, state.PAGE_ACTIONS, {"op": "isolate"})
    assert refused.view == two
    assert refused.refused.startswith("select at least 5 points of 'digits'")
    five = update(
        dashboard,
        two,
        state.PAGE_ACTIONS,
        {"op": "select", "table": "digits", "rows": [9, 3, 4, 5, 6]},
    ).view
    isolated = update(dashboard, five, state.PAGE_ACTIONS, {"op": "isolate"}).view
    assert isolated.rows == [3, 4, 5, 6, 9]
    assert update(dashboard, isolated, state.PAGE_ACTIONS, {"op": "show_all"}).view.rows is None


def test_legend_toggles_and_isolates_a_category(dashboard, start):
    act = {"op": "legend", "map": "1", "category": "3"}
    hidden = update(dashboard, start, state.PAGE_ACTIONS, act).view
    assert hidden.maps["1"].hidden == ["3"]
    shown = update(dashboard, hidden, state.PAGE_ACTIONS, act).view
    assert shown.maps["1"].hidden == []
    every = [str(d) for d in range(10)]
    alone = update(
        dashboard, start, state.PAGE_ACTIONS, {**act, "how": "only", "categories": every}
    ).view
    assert alone.maps["1"].hidden == sorted(set(every) - {"3"})
    again = update(
        dashboard, alone, state.PAGE_ACTIONS, {**act, "how": "only", "categories": every}
    ).view
    assert again.maps["1"].hidden == []  # on the one shown alone: all of them again
    # Another colouring has other categories: what was hidden shows again.
    recoloured = update(
        dashboard, hidden, {"type": "dashboard-view", "panel": 1, "key": "maps/1/colour"}, "ink"
    ).view
    assert (recoloured.maps["1"].colour, recoloured.maps["1"].hidden) == ("ink", [])


def test_a_continuous_colour_hides_no_selected_rows(dashboard, start):
    # As on the map: a forged link's legend toggles on `ink` (no legend) keep every row.
    data = start.data()
    data["selection"] = {"table": "digits", "rows": list(range(40))}
    data["maps"]["1"].update(colour="ink", hidden=["294.0", "313.0"])  # rows 0 and 1
    rows = state.derive(views.parse(data), dashboard.context)[state.SELECTION_STORE]["rows"]
    assert rows == list(range(40))


def test_a_new_table_drops_what_belonged_to_the_old(dashboard, start, write_config, tmp_path):
    from tests.conftest import blobs

    blobs(60).write_parquet(tmp_path / "b.parquet")
    config = write_config(
        {
            "tables": {
                "plain": {"path": str(tmp_path / "b.parquet")},  # no label: no default colour
                "labelled": {"path": str(tmp_path / "b.parquet"), "label": "cluster"},
            },
            "panels": [{"type": "controls"}, {"type": "scatter"}, {"type": "filter"}],
        }
    )
    two = prepare(config)
    view = state.initial_view(two.context, two.panels)
    assert view.maps["1"].colour == "__none__"
    data = views.set_path(view.data(), views.path("filters", "cluster", "in"), ["c1"])
    data["highlight"] = {"table": "plain", "rows": [1], "label": "x"}
    data["selection"] = {"table": "plain", "rows": [1, 2]}
    data["focus"] = {"table": "plain", "row": 2}
    view = views.parse(data)
    out = state.update(view, widget("table"), "labelled", {}, two.context, two.panels).view
    # The old table's "(none)" was its default: the new table gets its own (its label).
    assert out.maps["1"].colour == "cluster"
    assert out.filters == {}
    assert out.highlight.rows == []
    # No map shows the old table: what was picked on it is let go of.
    assert (out.selection.rows, out.focus.row) == ([], None)
    # A colour chosen by hand that the new table also has is kept.
    hand = views.set_path(out.data(), views.path("maps", "1", "colour"), "score")
    back = state.update(views.parse(hand), widget("table"), "plain", {}, two.context, two.panels)
    assert back.view.maps["1"].colour == "score"


def test_a_link_restores_the_view_and_a_damaged_one_is_ignored(dashboard, start):
    data = start.data()
    data.update(dims=3, reducer="umap", search={"query": "digit 7", "regex": False})
    data["selection"] = {"table": "digits", "rows": list(range(3000))}
    link = views.to_link(views.parse(data))
    restored = update(dashboard, start, None, link=link).view
    assert (restored.dims, restored.reducer, restored.search.query) == (3, "umap", "digit 7")
    assert len(restored.selection.rows) == views.LINK_ROWS  # a link keeps the first 2,000
    assert update(dashboard, start, None, link="not-a-link").view == start


def test_a_link_to_another_table_keeps_its_filters(write_config, tmp_path):
    from tests.conftest import blobs

    blobs(60).write_parquet(tmp_path / "b.parquet")
    config = write_config(
        {
            "tables": {
                "first": {"path": str(tmp_path / "b.parquet")},
                "second": {"path": str(tmp_path / "b.parquet"), "label": "cluster"},
            },
            "panels": [{"type": "controls"}, {"type": "scatter"}, {"type": "filter"}],
        }
    )
    two = prepare(config)
    start = state.initial_view(two.context, two.panels)
    data = start.data()
    data.update(table="second", rows=[1, 2, 3, 4, 5])
    data["filters"] = {"cluster": {"in": ["c1"]}}
    data["selection"] = {"table": "second", "rows": [2, 3]}
    link = views.to_link(views.parse(data))
    restored = state.update(start, None, None, {}, two.context, two.panels, link=link).view
    assert restored.table == "second"
    assert restored.filters["cluster"].in_ == ["c1"]
    assert (restored.rows, restored.selection.rows) == ([1, 2, 3, 4, 5], [2, 3])
    assert restored.maps["1"].colour == "__none__"  # as the link says, not a default


def link_of(raw: bytes) -> str:
    return base64.urlsafe_b64encode(zlib.compress(raw, 9)).decode().rstrip("=")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"0" * (views.LINK_BYTES + 10), r"holds more than 200,000 bytes"),  # a zip bomb
        (b"[" * 5000 + b"]" * 5000, r"nests deeper than 12 levels"),
        (b'"a string"', r"holds a str, not a view"),
        (b"{not json", r"not a view link"),
    ],
)
def test_a_link_is_bounded_before_it_is_read(raw, message):
    with pytest.raises(views.DamagedLinkError, match=message):
        views.from_link(link_of(raw))


def test_a_link_with_wrong_types_keeps_what_fits(dashboard, start):
    link = link_of(
        json.dumps(
            {
                "dims": "three",
                "reducer": "umap",
                "selection": {"table": "digits", "rows": ["x"]},
                "maps": [1, 2],
                "unknown": 1,
            }
        ).encode()
    )
    restored = update(dashboard, start, None, link=link).view
    assert restored.reducer == "umap"  # the part that fits
    assert restored.dims == 2
    assert restored.selection.rows == []


def test_derived_stores_and_a_request_with_a_bad_parameter(dashboard, start):
    derived = state.derive(start, dashboard.context)
    assert derived[state.REQUEST_STORE]["reducer"] == "pca"
    assert derived[state.FILTER_STORE] == {"table": "digits", "filters": {}}
    bad = views.set_path(start.data(), views.path("params", "pca", "whiten"), "maybe")
    request, problem = derive_request(views.parse(bad), dashboard.context)
    assert request is None
    assert "`whiten`" in problem
    empty = views.set_path(start.data(), views.path("reducer"), "tsne")
    empty = views.set_path(empty, views.path("params", "tsne", "perplexity"), None)
    request, problem = derive_request(views.parse(empty), dashboard.context)
    assert request is None
    assert problem.startswith("tsne: `perplexity`: enter a value from 2.0 to 100.0\n")


def test_the_selection_panels_see_is_the_part_the_filters_keep(dashboard, start):
    meta = dashboard.context.datasets["digits"].metadata()
    target = meta["target"].to_list()
    data = start.data()
    data["selection"] = {"table": "digits", "rows": list(range(40))}
    data["filters"] = {"target": {"in": ["3"]}}
    derived = state.derive(views.parse(data), dashboard.context)
    rows = derived[state.SELECTION_STORE]["rows"]
    assert rows == [r for r in range(40) if target[r] == 3]
    data["filters"] = {}
    data["maps"]["1"]["hidden"] = ["3"]  # hidden in the legend: out of the selection too
    rows = state.derive(views.parse(data), dashboard.context)[state.SELECTION_STORE]["rows"]
    assert rows == [r for r in range(40) if target[r] != 3]


def test_isolating_takes_only_the_selected_rows_the_map_shows(dashboard, start):
    # A box drawn before a filter holds rows the filter then took off the map: isolating
    # re-projects what the person sees selected, not those.
    target = dashboard.context.datasets["digits"].metadata()["target"].to_list()
    data = start.data()
    data["selection"] = {"table": "digits", "rows": list(range(60))}
    data["filters"] = {"target": {"in": ["3", "5"]}}
    filtered = views.parse(data)
    isolated = update(dashboard, filtered, state.PAGE_ACTIONS, {"op": "isolate"}).view
    assert isolated.rows == [r for r in range(60) if target[r] in (3, 5)]
    assert isolated.selection.rows == list(range(60))  # the selection itself is kept
    # A hidden legend entry too; and too few shown rows is refused, naming the rule.
    data["filters"] = {}
    data["maps"]["1"]["hidden"] = [str(d) for d in range(10) if d != 7]
    data["selection"]["rows"] = [*[r for r in range(60) if target[r] != 7][:20], 7, 17]
    refused = update(dashboard, views.parse(data), state.PAGE_ACTIONS, {"op": "isolate"})
    assert refused.refused.startswith("select at least 5 points of 'digits'")


def test_the_view_model_refuses_what_it_cannot_hold():
    with pytest.raises(ValidationError):
        views.parse({"table": "t", "reducer": "pca", "dims": 4})
    with pytest.raises(ValidationError):
        views.parse({"table": "t", "reducer": "pca", "maps": {"1": {"opacity": 7}}})


def test_the_view_callback_over_http(demo_config):
    from dashboard.web.app import create_app
    from dashboard.web.drive import CallbackDriver

    app = create_app(demo_config)
    driver = CallbackDriver(app)
    (callback,) = driver.callbacks(lambda c: c.outputs[0] == (state.ANSWER, "data"))
    answer = driver.call(callback).json["response"][state.ANSWER]["data"]
    stores = dict(zip(state.DERIVED, answer["stores"], strict=True))
    assert stores[state.REQUEST_STORE]["table"] == "digits"
    assert answer["view"]["maps"]["1"]["colour"] == "target"
    assert answer["link"]  # the address bar's ?view=
    assert answer["rev"] == answer["view"]["book"]["rev"] == 1


def _view_call(driver, callback, stored, *, widgets=None, actions=None, trigger=None):
    """The view callback's answer to a call the browser would send with view store
    ``stored``, widget values ``widgets`` and action store values ``actions`` (by path and
    panel); ``trigger``: the fired input's id."""
    body = driver.body(callback)
    for entry in body["inputs"][0]:
        entry["value"] = (widgets or {}).get(entry["id"]["key"], entry["value"])
    for entry in body["inputs"][1]:
        entry["value"] = (actions or {}).get(str(entry["id"]["panel"]))
    body["state"][-1]["value"] = stored
    fired = json.dumps(trigger, sort_keys=True, separators=(",", ":"))
    body["changedPropIds"] = [f"{fired}.{'value' if 'key' in trigger else 'data'}"]
    response = driver.client.post(driver.url, json=body)
    assert response.status_code in (200, 204), response.data
    return response.json["response"][state.ANSWER]["data"]


def test_a_call_that_read_an_old_view_starts_from_the_latest(demo_config):
    # Dash reads a callback's State when the call starts: a quick second change can read
    # the view before the first change's answer is on the page, or after Dash dropped it.
    from dashboard.web.app import create_app
    from dashboard.web.drive import CallbackDriver

    app = create_app(demo_config)
    driver = CallbackDriver(app)
    (callback,) = driver.callbacks(lambda c: c.outputs[0] == (state.ANSWER, "data"))
    first = driver.call(callback).json["response"][state.ANSWER]["data"]["view"]
    page = {"type": "dashboard-action", "panel": "page"}
    legend = {"op": "legend", "map": "1", "category": "3", "seq": "l1"}
    hidden = _view_call(driver, callback, first, actions={"page": legend}, trigger=page)
    assert hidden["view"]["maps"]["1"]["hidden"] == ["3"]
    # That answer never reached the page: the next call reads the first view, and its
    # action store still holds the legend click. The click is not taken a second time (a
    # second toggle would show the category again).
    key = views.path("filters", "target", "in")
    filter_id = {"type": "dashboard-view", "panel": 6, "key": key}
    out = _view_call(
        driver, callback, first, widgets={key: ["5"]}, actions={"page": legend}, trigger=filter_id
    )
    view = out["view"]
    assert view["maps"]["1"]["hidden"] == ["3"]
    assert view["filters"]["target"]["in"] == ["5"]
    stores = dict(zip(state.DERIVED, out["stores"], strict=True))
    assert stores[state.FILTER_STORE]["filters"] == {"target": {"in": ["5"]}}
    assert stores[state.MAPS_STORE]["1"]["hidden"] == ["3"]
    # "Clear" empties the filter; Dash drops its answer, so the box still shows 5. The next
    # call (an Escape) does not take the 5 back: the box is set to the cleared view.
    clear = {"op": "clear_filters", "seq": "c1"}
    filter_panel = {"type": "dashboard-action", "panel": 6}
    _view_call(
        driver,
        callback,
        view,
        widgets={key: ["5"]},
        actions={"page": legend, "6": clear},
        trigger=filter_panel,
    )
    escape = {"op": "escape", "seq": "e1"}
    out = _view_call(
        driver,
        callback,
        view,
        widgets={key: ["5"]},
        actions={"page": escape, "6": clear},
        trigger=page,
    )
    assert out["view"]["filters"] == {}
    assert {"id": filter_id, "value": []} in out["widgets"]
    assert out["rev"] > view["book"]["rev"]  # the page takes it over the view it holds
