"""Every server callback fed forged values of the wrong kind (issue 15): no response holds a
traceback, a path or an exception's text, and the server answers the next normal request.

Values come from hypothesis: any JSON (what a browser can send), and values shaped like the
page's stores with wrong or hostile insides (row -1, a huge row, strings, nulls).
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard import create_app
from dashboard.web.drive import Callback, CallbackDriver
from tests.conftest import digits_table

ROOT = Path(__file__).resolve().parents[1]

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
ROWS = st.lists(
    st.one_of(
        st.integers(min_value=-5, max_value=2**64),
        st.text(max_size=4),
        st.none(),
        st.floats(allow_nan=True),
    ),
    max_size=6,
)
#: Store-shaped values: the keys panels read, with forged insides.
STORE_LIKE = st.fixed_dictionaries(
    {},
    optional={
        "table": st.one_of(st.just("digits"), st.text(max_size=6), st.integers(), st.none()),
        "rows": st.one_of(ROWS, JSON),
        "row": st.one_of(st.integers(min_value=-5, max_value=2**64), JSON),
        "key": st.one_of(st.just("0" * 32), st.just("../../etc/passwd"), st.text(max_size=8)),
        "dims": st.one_of(st.just("three"), st.integers(), JSON),
        "params": st.one_of(st.lists(st.integers()), JSON),
        "filters": JSON,
        "reducer": st.one_of(st.sampled_from(["pca", "umap", "tsne", "nope"]), JSON),
        "query": st.one_of(st.just("(["), st.text(max_size=8), JSON),
    },
)
VALUES = st.one_of(JSON, STORE_LIKE)

#: What must never reach a browser: a traceback, a source line, a server path.
LEAKS = re.compile(r"Traceback|File \"|/work/|/tmp/|/root/|site-packages|\.py\b")


@pytest.fixture(scope="module")
def driver(tmp_path_factory, digits_path) -> CallbackDriver:
    import yaml

    folder = tmp_path_factory.mktemp("fuzz")
    config = {
        "tables": {"digits": digits_table(digits_path)},
        "cache_dir": str(folder / "cache"),
        "projection": {"reducer": "pca", "dims": 2},
        "panels": [
            {"type": "controls"},
            {"type": "scatter", "color": "target"},
            {"type": "search"},
            {"type": "filter"},
            {"type": "neighbors", "k": 5},
            {"type": "gallery", "limit": 5},
            {"type": "table", "limit": 5},
            {"type": "contrast"},
            {"type": "outliers", "top": 5},
        ],
    }
    (folder / "team.yaml").write_text(yaml.safe_dump(config))
    return CallbackDriver(create_app(folder / "team.yaml"))


def forged(body: dict, values: list) -> dict:
    """``body`` with its input and state values replaced, in order, by ``values``."""
    body = copy.deepcopy(body)
    slots = []
    for part in ("inputs", "state"):
        for entry in body[part]:
            slots.extend(entry if isinstance(entry, list) else [entry])
    for slot, value in zip(slots, values, strict=False):
        slot["value"] = value
    return body


def check_answer(response) -> None:
    text = response.get_data(as_text=True)
    assert response.status_code in (200, 204), (response.status_code, text[:300])
    leak = LEAKS.search(text)
    assert leak is None, f"the response shows {leak.group(0)!r}: {text[:400]}"


def server_callbacks(driver: CallbackDriver) -> list[Callback]:
    # Background callbacks start projection jobs: their inputs are the view's request,
    # fuzzed through the view callback that makes it.
    return driver.callbacks(lambda c: not c.background)


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_forged_callback_inputs_never_leak_or_break_the_server(driver, data):
    callbacks = server_callbacks(driver)
    callback = data.draw(st.sampled_from(callbacks), label="callback")
    body = driver.body(callback)
    count = sum(len(e) if isinstance(e, list) else 1 for e in body["inputs"] + body["state"])
    values = data.draw(st.lists(VALUES, min_size=count, max_size=count), label="values")
    check_answer(driver.client.post(driver.url, json=forged(body, values)))
    # The same callback with the page's own values still answers.
    check_answer(driver.call(callback))


@pytest.mark.parametrize(
    "payload",
    [
        [],
        [1, 2, 3],
        "a string",
        {"output": "nope.children", "inputs": [], "state": []},
        {"output": "contrast-7-body.children"},
        {"output": "contrast-7-body.children", "outputs": 3, "inputs": "x"},
    ],
    ids=["empty list", "list", "string", "unknown output", "no inputs", "wrong shapes"],
)
def test_requests_that_are_not_callback_requests_get_a_plain_refusal(driver, payload):
    response = driver.client.post(
        driver.url, data=json.dumps(payload), content_type="application/json"
    )
    if isinstance(payload, dict) and payload["output"] != "nope.children":
        assert payload["output"] in driver.app.callback_map  # a real callback, forged
    text = response.get_data(as_text=True)
    assert response.status_code < 500 or LEAKS.search(text) is None, text[:300]
    assert LEAKS.search(text) is None, text[:300]
    # Every callback still answers its normal request.
    for callback in server_callbacks(driver):
        check_answer(driver.call(callback))


def test_a_forged_selection_is_stopped_at_the_boundary_with_a_short_message(driver, caplog):
    (gallery,) = driver.callbacks(lambda c: c.outputs[0][0].startswith("gallery-"))
    body = forged(driver.body(gallery), [{"table": "digits", "rows": [3, "x", -1]}])
    response = driver.client.post(driver.url, json=body)
    check_answer(response)
    shown = json.dumps(response.json["sideUpdate"])
    assert (
        "the page sent a `selection` that does not fit (rows.1: Input should be a valid " in shown
    )
    assert "reload the page" in shown
    assert "'x'" not in shown  # what was sent stays out of the message
    code = re.search(r"error ([0-9a-f]{8})", shown).group(1)
    assert any(code in record.getMessage() for record in caplog.records)  # logged, same id
    check_answer(driver.call(gallery))  # the page's own value still answers
