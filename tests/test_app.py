"""The app through Flask's test client: pages, static CSS, callbacks over HTTP, mounting."""

from __future__ import annotations

import gzip
import json
import time
from typing import Any

import flask
import pytest

from dashboard import create_app

REQUEST = {"table": "digits", "reducer": "pca", "dims": 2, "params": {}}


def callback_body(output: str, outputs: list[tuple[str, str]], inputs: list[tuple[str, str, Any]]):
    return {
        "output": output,
        "outputs": [{"id": i, "property": p} for i, p in outputs],
        "inputs": [{"id": i, "property": p, "value": v} for i, p, v in inputs],
        "changedPropIds": [f"{inputs[0][0]}.{inputs[0][1]}"],
        "state": [],
    }


def project_over_http(client, prefix: str = "/", request: dict | None = None) -> dict:
    """Drive the background projection callback as the browser does: start, then poll."""
    body = callback_body(
        "..dashboard-projection.data...dashboard-status.children..",
        [("dashboard-projection", "data"), ("dashboard-status", "children")],
        [("dashboard-request", "data", request or REQUEST)],
    )
    url = f"{prefix}_dash-update-component"
    started = client.post(url, json=body)
    assert started.status_code == 200
    job = started.json
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        polled = client.post(f"{url}?cacheKey={job['cacheKey']}&job={job['job']}", json=body)
        assert polled.status_code == 200
        if "response" in polled.json:
            return polled.json["response"]
        time.sleep(0.1)
    raise AssertionError("the projection did not finish in 60 s")


SCATTER_OUTPUTS = [
    ("scatter-1-graph", "figure"),
    ("scatter-1-legend", "children"),
    ("scatter-1-message", "children"),
    ("scatter-1-drawn", "data"),
]
VIEW_STATE = [
    ("dashboard-highlight", "data", {"table": None, "rows": []}),
    ("dashboard-filter", "data", {"table": None, "filters": {}}),
    ("scatter-1-size", "value", "__none__"),
    ("scatter-1-opacity", "value", 0.85),
]


def scatter_body(inputs: list, state: list, key: str | None = None) -> dict:
    """A scatter callback's request; ``key`` names the callback (default: on_projection)."""
    key = key or ".." + "...".join(f"{i}.{p}" for i, p in SCATTER_OUTPUTS) + ".."
    outputs = [tuple(part.rsplit(".", 1)) for part in key[2:-2].split("...")]
    body = callback_body(key, outputs, inputs)
    body["state"] = [{"id": i, "property": p, "value": v} for i, p, v in state]
    return body


def render_over_http(client, projection: dict, colour: str, prefix: str = "/") -> dict:
    body = scatter_body(
        [("dashboard-projection", "data", projection)],
        [
            ("scatter-1-color", "value", colour),
            *VIEW_STATE,
            ("dashboard-selection", "data", {"table": None, "rows": []}),
        ],
    )
    response = client.post(f"{prefix}_dash-update-component", json=body)
    assert response.status_code == 200
    return response.json["response"]


@pytest.fixture
def app(demo_config):
    return create_app(demo_config)


def test_page_and_layout_are_served(app):
    client = app.server.test_client()
    page = client.get("/")
    assert page.status_code == 200
    assert b"<title>Digits test</title>" in page.data
    assert b"/_dashboard/static/css/bootstrap.min.css" in page.data
    layout = client.get("/_dash-layout").get_data(as_text=True)
    for component in ("controls-0-reducer", "scatter-1-graph", "dashboard-request"):
        assert component in layout


def test_bootstrap_css_is_served_locally(app):
    client = app.server.test_client()
    css = client.get("/_dashboard/static/css/bootstrap.min.css")
    assert css.status_code == 200
    assert css.mimetype == "text/css"
    assert b"Bootstrap" in css.data[:200]
    assert "max-age=86400" in css.headers["Cache-Control"]


@pytest.mark.parametrize(
    "path",
    ["js/bootstrap.min.js", "../../../../etc/passwd", "css/../../../../../../etc/hosts.css"],
)
def test_static_route_serves_only_css_inside_the_package(app, path):
    assert app.server.test_client().get(f"/_dashboard/static/{path}").status_code == 404


def test_background_projection_then_scatter_over_http(app):
    client = app.server.test_client()
    response = project_over_http(client)
    projection = response["dashboard-projection"]["data"]
    assert projection["n"] == 1797
    assert response["dashboard-status"]["children"].startswith("PCA 2D · digits · 1,797 points")
    rendered = render_over_http(client, projection, "target")
    traces = rendered["scatter-1-graph"]["figure"]["data"]
    assert len(traces) == 3  # the points, then the highlight and linked-selection rings
    assert {t["type"] for t in traces} == {"scattergl"}
    assert traces[0]["x"]["dtype"] == "f4"  # a typed array, not a JSON list
    assert traces[0]["marker"]["color"]["dtype"] == "u1"  # a category code a point
    legend = rendered["scatter-1-legend"]["children"]
    assert [item["props"]["children"][1] for item in legend[1:]] == [str(d) for d in range(10)]
    assert rendered["scatter-1-message"]["children"] is None


def recolour_body(app, projection: dict, drawn: str | None) -> dict:
    """The restyle callback's request (outputs with ids ending in @<hash>): colour by ink,
    with the browser holding the figure of ``drawn``."""
    key = next(k for k in app.callback_map if "scatter-1-graph.figure@" in k)
    return scatter_body(
        [
            ("scatter-1-color", "value", "ink"),
            *VIEW_STATE,
            ("dashboard-selection", "data", {"table": None, "rows": []}),
        ],
        [("dashboard-projection", "data", projection), ("scatter-1-drawn", "data", drawn)],
        key,
    )


def test_recolouring_patches_the_marker_and_sends_no_coordinates(app):
    client = app.server.test_client()
    projection = project_over_http(client)["dashboard-projection"]["data"]
    body = recolour_body(app, projection, projection["key"])
    response = client.post(
        "/_dash-update-component", json=body, headers={"Accept-Encoding": "gzip"}
    )
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "gzip"
    assert len(response.data) < 1797 * 3  # under 3 bytes a point on the wire
    rendered = json.loads(gzip.decompress(response.data))["response"]
    patch = rendered["scatter-1-graph"]["figure"]
    assert patch["__dash_patch_update"] == "__dash_patch_update"
    locations = [op["location"] for op in patch["operations"]]
    assert ["data", 0, "marker", "color"] in locations
    assert not [loc for loc in locations if loc[:2] == ["data", 0] and loc[2] in ("x", "y")]
    colour = next(op for op in patch["operations"] if op["location"][-1] == "color")
    assert colour["params"]["value"]["dtype"] == "f4"  # ink is continuous: float32 values
    assert rendered["scatter-1-drawn"]["data"] == projection["key"]


def test_a_figure_the_browser_does_not_have_is_sent_whole(app):
    client = app.server.test_client()
    projection = project_over_http(client)["dashboard-projection"]["data"]
    body = recolour_body(app, projection, None)
    rendered = client.post("/_dash-update-component", json=body).json["response"]
    figure = rendered["scatter-1-graph"]["figure"]
    assert figure["data"][0]["x"]["dtype"] == "f4"


def test_projection_error_is_shown_not_raised(app):
    client = app.server.test_client()
    response = project_over_http(client, request={**REQUEST, "params": {"whiten": "maybe"}})
    alert = response["dashboard-status"]["children"]
    assert alert["type"] == "Alert"
    assert "`whiten`" in alert["props"]["children"]
    assert client.get("/").status_code == 200  # still serving


def test_mounts_in_an_existing_flask_app(demo_config):
    server = flask.Flask("host")

    @server.route("/")
    def home():
        return "host home"

    create_app(demo_config, server=server, url_base_pathname="/projector/")
    client = server.test_client()
    assert client.get("/").get_data(as_text=True) == "host home"
    page = client.get("/projector/")
    assert page.status_code == 200
    assert b"/projector/_dashboard/static/css/bootstrap.min.css" in page.data
    assert client.get("/projector/_dashboard/static/css/bootstrap.min.css").status_code == 200
    response = project_over_http(client, "/projector/")
    assert response["dashboard-projection"]["data"]["n"] == 1797


def test_two_dashboards_in_one_flask_app(demo_config, write_config, digits_path):
    other = write_config(
        {"title": "Iris", "tables": {"iris": {"path": "sklearn://iris", "label": "species"}}},
        name="iris.yaml",
    )
    server = flask.Flask("host")
    create_app(demo_config, server=server, url_base_pathname="/digits/")
    create_app(other, server=server, url_base_pathname="/iris")
    client = server.test_client()
    assert b"<title>Digits test</title>" in client.get("/digits/").data
    assert b"<title>Iris</title>" in client.get("/iris/").data
    iris = project_over_http(
        client, "/iris/", {"table": "iris", "reducer": "pca", "dims": 2, "params": {}}
    )
    assert iris["dashboard-projection"]["data"]["n"] == 150
