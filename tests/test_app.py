"""The app through Flask's test client: pages, static CSS, callbacks over HTTP, mounting."""

from __future__ import annotations

import gzip
import json
import time
from typing import Any

import flask
import pytest

from dashboard import create_app
from dashboard.web.drive import CallbackDriver

REQUEST = {"table": "digits", "reducer": "pca", "dims": 2, "params": {}}


def callback_body(output: str, outputs: list[tuple[str, str]], inputs: list[tuple[str, str, Any]]):
    return {
        "output": output,
        "outputs": [{"id": i, "property": p} for i, p in outputs],
        "inputs": [{"id": i, "property": p, "value": v} for i, p, v in inputs],
        "changedPropIds": [f"{inputs[0][0]}.{inputs[0][1]}"],
        "state": [],
    }


#: The outputs of the callback that follows the page's projection job.
FOLLOW_OUTPUTS = [
    ("dashboard-projection-job", "data"),
    ("dashboard-status", "children"),
    ("dashboard-progress-wrap", "style"),
    ("dashboard-progress", "value"),
    ("dashboard-progress-text", "children"),
    ("dashboard-projection-retry", "style"),
]


def follow_body(trigger: str, request, job, page: str, cancelled=None) -> dict:
    """The body of one call of the follow callback, as the page sends it: ``trigger`` is
    the request, the poll, what Cancel cancelled (``cancelled``, or the request itself when
    the trigger is the cancel store) or Try again."""
    if "cancelled" in trigger and cancelled is None:
        cancelled = {"request": request, "at": 1}
    values = {
        "dashboard-request.data": request,
        "dashboard-projection-poll.data": 1,
        "dashboard-projection-cancelled.data": cancelled,
        "dashboard-projection-retry.n_clicks": 1 if "retry" in trigger else None,
    }
    return {
        "output": ".." + "...".join(f"{i}.{p}" for i, p in FOLLOW_OUTPUTS) + "..",
        "outputs": [{"id": i, "property": p} for i, p in FOLLOW_OUTPUTS],
        "inputs": [
            {"id": k.split(".")[0], "property": k.split(".")[1], "value": v}
            for k, v in values.items()
        ],
        "changedPropIds": [trigger],
        "state": [
            {"id": "dashboard-projection-job", "property": "data", "value": job},
            {"id": "dashboard-view", "property": "data", "value": {"book": {"page": page}}},
        ],
    }


def merged_answer(answer: dict) -> dict:
    """A callback's answer as ``{id: {property: value}}``: outputs and side updates."""
    merged = dict(answer.get("sideUpdate") or {})
    for component, props in answer["response"].items():
        merged.setdefault(component, {}).update(props)
    return merged


def polling(merged: dict) -> bool:
    """Whether the page polls again after this answer (its job still runs)."""
    job = merged["dashboard-projection-job"]["data"]
    return bool(isinstance(job, dict) and job.get("poll"))


def follow_call(client, prefix: str, trigger: str, request, job, page: str, cancelled=None):
    """One call of the follow callback as the page makes it, through the test client."""
    body = follow_body(trigger, request, job, page, cancelled)
    response = client.post(f"{prefix}_dash-update-component", json=body)
    assert response.status_code == 200, response.data[:300]
    return merged_answer(response.json)


def project_over_http(
    client, prefix: str = "/", request: dict | None = None, page: str = "page-1"
) -> dict:
    """Ask for a map as the page does, then poll its job until it ends: the outputs and
    side updates of every call merged into one ``{id: {property: value}}``."""
    request = request or REQUEST
    merged = follow_call(client, prefix, "dashboard-request.data", request, None, page)
    deadline = time.monotonic() + 120
    while polling(merged):
        assert time.monotonic() < deadline, "the projection did not finish in 120 s"
        time.sleep(0.1)
        job = merged["dashboard-projection-job"]["data"]
        polled = follow_call(client, prefix, "dashboard-projection-poll.data", request, job, page)
        for component, props in polled.items():
            merged.setdefault(component, {}).update(props)
    return merged


def map_over_http(app, projection: dict, colour: str, drawn: tuple = (None, None)) -> Any:
    """The scatter's data callback over HTTP: (response, its decoded JSON outputs)."""
    driver = CallbackDriver(
        app,
        {
            ("dashboard-projection", "data"): projection,
            ("dashboard-maps", "data"): {"1": {"colour": colour}},
            ("scatter-1-coords", "data"): drawn[0],
            ("scatter-1-colours", "data"): drawn[1],
        },
    )
    (callback,) = driver.callbacks(lambda c: c.outputs[0] == ("scatter-1-coords", "data"))
    response = driver.client.post(
        driver.url, json=driver.body(callback), headers={"Accept-Encoding": "gzip"}
    )
    assert response.status_code == 200
    body = response.data
    if response.headers.get("Content-Encoding") == "gzip":
        body = gzip.decompress(body)
    return response, json.loads(body)["response"]


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
    for component in ('"key":"reducer"', "scatter-1-graph", "dashboard-request", "dashboard-view"):
        assert component in layout
    # The page's own script and styles are served with it.
    assert client.get("/assets/dashboard.js").status_code == 200
    assert b"dashboard.js" in page.data


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
    projection = response["dashboard-projection-answer"]["data"]
    assert projection["n"] == 1797
    assert response["dashboard-status"]["children"].startswith("PCA 2D · digits · 1,797 points")
    _, rendered = map_over_http(app, projection, "target")
    coords = rendered["scatter-1-coords"]["data"]
    colours = rendered["scatter-1-colours"]["data"]
    assert coords["x"]["dtype"] == "f4"  # a typed array, not a JSON list
    assert colours["marker"]["color"]["dtype"] == "u1"  # a category code a point
    legend = rendered["scatter-1-legend"]["children"]
    assert [item["props"]["children"][1] for item in legend[1:]] == [str(d) for d in range(10)]
    assert rendered["scatter-1-message"]["children"] is None


def test_recolouring_sends_no_coordinates(app):
    client = app.server.test_client()
    projection = project_over_http(client)["dashboard-projection-answer"]["data"]
    _, first = map_over_http(app, projection, "target")
    drawn = (first["scatter-1-coords"]["data"], first["scatter-1-colours"]["data"])
    response, rendered = map_over_http(app, projection, "ink", drawn)
    assert response.headers["Content-Encoding"] == "gzip"
    assert len(response.data) < 1797 * 5  # colours as float32, gzipped: no coordinates
    assert "scatter-1-coords" not in rendered  # the browser has them
    assert rendered["scatter-1-colours"]["data"]["marker"]["color"]["dtype"] == "f4"
    _, unchanged = map_over_http(
        app, projection, "ink", (drawn[0], rendered["scatter-1-colours"]["data"])
    )
    assert "scatter-1-colours" not in unchanged


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
    assert response["dashboard-projection-answer"]["data"]["n"] == 1797


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
    assert iris["dashboard-projection-answer"]["data"]["n"] == 150


def _outputs(spec: str) -> list[str]:
    """``id.prop`` of each output in a callback's output spec (``..a.b...c.d..`` when many)."""
    if spec.startswith(".."):
        return [part for part in spec.strip(".").split("...") if part]
    return [spec]


def test_the_pages_callbacks_form_no_loop(app):
    # Dash refuses a loop (an output that feeds, through other callbacks, its own input) in
    # debug mode, and without it may call the callbacks round and round.
    edges: dict[str, set[str]] = {}
    for callback in app._callback_list:
        outputs = [o.split("@")[0] for o in _outputs(callback["output"])]
        for source in callback["inputs"]:
            node = f"{source['id']}.{source['property']}"
            edges.setdefault(node, set()).update(outputs)
    visiting: list[str] = []
    done: set[str] = set()

    def visit(node: str) -> None:
        if node in done:
            return
        assert node not in visiting, " -> ".join([*visiting[visiting.index(node) :], node])
        visiting.append(node)
        for following in edges.get(node, ()):
            visit(following)
        visiting.pop()
        done.add(node)

    for node in list(edges):
        visit(node)
    assert "dashboard-projection-job.data" in edges  # the graph is the page's
