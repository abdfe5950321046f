"""Fault isolation: broken plugins show their error in place; the rest keeps working."""

from __future__ import annotations

import json
import re

import pytest
from dash import no_update

from dashboard.plugin.manager import get_plugin_manager
from dashboard.web.app import create_app
from dashboard.web.assemble import prepare
from dashboard.web.projecting import compute_projection
from tests import faulty_plugins


def faulty_manager():
    pm = get_plugin_manager(load_entry_points=False)
    pm.register(faulty_plugins, name="faulty")
    return pm


@pytest.fixture
def faulty_config(write_config, digits_path):
    return write_config(
        {
            "tables": {"digits": {"path": str(digits_path), "label": "label"}},
            "projection": {"time_limit": 1},
            "panels": [
                {"type": "scatter"},
                {"type": "crashing-callback"},
                {"type": "crashing-layout"},
                {"type": "gallery"},
            ],
        }
    )


@pytest.mark.parametrize(
    ("reducer", "message"),
    [
        (
            "explodes",
            r"reducer 'explodes' failed in `fit_transform`: RuntimeError: boom inside the "
            r"plugin\ntry other params",
        ),
        ("gives-nan", r"reducer 'gives-nan' returned NaN or infinite coordinates\ntry other"),
        (
            "wrong-shape",
            r"reducer 'wrong-shape' returned shape \(1796, 2\), expected \(1797, 2\)\nthis is a "
            r"bug in the reducer plugin",
        ),
        (
            "stalls",
            r"reducer 'stalls' did not finish within 1 s \(`projection.time_limit`\)\nfit a "
            r"sample",
        ),
    ],
)
def test_a_failing_reducer_is_reported_in_the_status_line(faulty_config, reducer, message):
    dashboard = prepare(faulty_config, plugin_manager=faulty_manager())
    request = {"table": "digits", "reducer": reducer, "dims": 2, "params": {}}
    stored, status = compute_projection(request, dashboard.context)
    assert stored is no_update  # the map keeps its last good projection
    assert status.color == "danger"
    assert status.id == "dashboard-error"
    assert re.search(message, status.children)
    # The next request works: nothing was left broken.
    fine, _ = compute_projection({**request, "reducer": "pca"}, dashboard.context)
    assert fine["n"] == 1797


def test_a_stalled_reducer_stops_at_its_next_progress_report(faulty_config):
    faulty_plugins.STALL_STOPPED.clear()
    dashboard = prepare(faulty_config, plugin_manager=faulty_manager())
    request = {"table": "digits", "reducer": "stalls", "dims": 2, "params": {}}
    compute_projection(request, dashboard.context, progress=lambda *a: None)
    assert faulty_plugins.STALL_STOPPED.wait(5)


def update(client, output: str | list[str], trigger: str, value) -> dict:
    """Call the callback of ``output`` (a list for several outputs) as the page would."""
    outputs = [
        {"id": o.split(".")[0], "property": o.split(".")[1]}
        for o in ([output] if isinstance(output, str) else output)
    ]
    body = {
        "output": output if isinstance(output, str) else ".." + "...".join(output) + "..",
        "outputs": outputs[0] if isinstance(output, str) else outputs,
        "inputs": [
            {"id": trigger.split(".")[0], "property": trigger.split(".")[1], "value": value}
        ],
        "changedPropIds": [trigger],
        "state": [],
    }
    response = client.post("/_dash-update-component", json=body)
    assert response.status_code in (200, 204), response.data[:500]
    return json.loads(response.data) if response.status_code == 200 else {}


def test_a_broken_panel_shows_its_error_and_the_others_work(faulty_config):
    app = create_app(faulty_config, plugin_manager=faulty_manager())
    client = app.server.test_client()
    layout = json.dumps(client.get("/_dash-layout").get_json())
    assert "panel 'crashing-layout' (layout) failed: KeyError" in layout
    assert "crashing-panel" in layout  # the other plugin panel is there
    assert "gallery-3-items" in layout  # and the built-in ones
    assert not [k for k in app.callback_map if "crashing-layout-2" in k]
    reply = update(client, "crashing-callback-1-out.children", "crashing-callback-1-go.n_clicks", 1)
    shown = json.dumps(reply["sideUpdate"])
    assert "panel-1-error" in shown
    assert "panel 'crashing-callback' (callback) failed: ValueError (error " in shown
    assert "this panel" not in shown  # the exception's text stays in the server log
    # The server keeps serving, and other panels' callbacks answer.
    selection = {"table": "digits", "rows": [0, 1, 2]}
    gallery = ["gallery-3-count.children", "gallery-3-thumbs.data"]
    reply = update(client, gallery, "dashboard-selection.data", selection)
    assert "gallery-3-count" in json.dumps(reply["response"])
