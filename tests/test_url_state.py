"""The shareable link: encoding, damaged links, and what the restore callback sends."""

from __future__ import annotations

from dash import no_update

from dashboard.web.assemble import prepare
from dashboard.web.url_state import (
    MAX_ROWS,
    decode,
    encode,
    from_search,
    restored_values,
)


def test_state_round_trips_through_a_url_safe_string():
    state = {"0.table": "digits", "0.params": [False, "auto", 0], "selection": {"rows": [1, 2]}}
    text = encode(state)
    assert set(text) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert decode(text) == state
    assert from_search(f"?view={text}&other=1") == state
    assert from_search("") == {}
    assert from_search(None) == {}


def test_damaged_links_are_ignored(caplog):
    assert decode("not-a-real-state") == {}
    assert decode(encode(["a", "list"])) == {}
    assert "ignoring a damaged view link" in caplog.text


def test_restore_sends_values_and_leaves_the_rest():
    keys = ["selection", "0.table", "0.params", "3.in"]
    outputs = [{"id": "s"}, {"id": "t"}, [{"id": {}}] * 3, [{"id": {}}] * 2]
    state = {"0.table": "digits", "0.params": [1, 2, 3], "3.in": [["a"]]}  # wrong length
    values = restored_values(state, keys, outputs)
    assert values[0] is no_update
    assert values[1] == "digits"
    assert values[2] == [1, 2, 3]
    assert values[3] == [no_update, no_update]


def test_panels_declare_their_link_state(demo_config):
    dashboard = prepare(demo_config)
    declared = {p.name: sorted(p.url_state()) for p in dashboard.panels}
    assert declared["controls"] == ["dims", "params", "reducer", "sample", "table"]
    assert declared["scatter"] == ["color", "opacity", "size"]
    assert declared["search"] == ["query", "regex"]
    assert declared["filter"] == ["in", "range"]
    assert declared["gallery"] == []
    assert MAX_ROWS >= 1000
