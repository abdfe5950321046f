"""Call a Dash app's server callbacks over HTTP as the browser does, with the property values
of the page's layout (or values given instead): for conformance checks and tests.

The browser's request to ``_dash-update-component`` names the callback (its outputs), and
sends every input and state with its current value; a pattern id (``ALL``) sends one entry per
matching component. :class:`CallbackDriver` builds those requests from the layout Dash serves.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from dash import Dash


def _key(component_id: Any) -> str:
    """A component id as Dash writes it in callback specs: strings as they are, dict ids as
    sorted, compact JSON."""
    if isinstance(component_id, dict):
        return json.dumps(component_id, sort_keys=True, separators=(",", ":"))
    return str(component_id)


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    """Every component (``{"type", "namespace", "props"}``) in a layout's JSON."""
    if isinstance(node, list):
        for item in node:
            yield from _walk(item)
    elif isinstance(node, dict):
        if "props" in node and "type" in node:
            yield node
            for value in node["props"].values():
                yield from _walk(value)
        else:
            for value in node.values():
                yield from _walk(value)


def _matches(pattern: dict[str, Any], component_id: Any) -> bool:
    if not isinstance(component_id, dict) or component_id.keys() != pattern.keys():
        return False
    return all(
        value in (["ALL"], ["MATCH"], ["ALLSMALLER"]) or component_id[key] == value
        for key, value in pattern.items()
    )


def _is_wildcard(pattern: dict[str, Any]) -> bool:
    return any(value in (["ALL"], ["MATCH"], ["ALLSMALLER"]) for value in pattern.values())


@dataclass(frozen=True)
class Callback:
    """One server callback: the key Dash files it under, its outputs, inputs and state."""

    key: str
    outputs: list[tuple[str, str]]  # (id as written in the key, property)
    inputs: list[dict[str, str]]
    state: list[dict[str, str]]
    background: bool

    @property
    def multi(self) -> bool:
        return self.key.startswith("..")

    def ids(self) -> list[str]:
        """Every component id the callback names (outputs, inputs, state)."""
        return [o[0] for o in self.outputs] + [i["id"] for i in self.inputs + self.state]


class CallbackDriver:
    """Drive ``app``'s server callbacks through its Flask test client.

    Parameters
    ----------
    app
        A built Dash app.
    values
        Property values to send instead of the layout's: ``{(component id, property):
        value}`` (pattern components by their concrete dict id).
    """

    def __init__(self, app: Dash, values: Mapping[tuple[Any, str], Any] | None = None):
        self.app = app
        self.client = app.server.test_client()
        prefix = app.config.requests_pathname_prefix
        layout = self.client.get(f"{prefix}_dash-layout")
        if layout.status_code != 200:
            raise AssertionError(f"the page layout failed: HTTP {layout.status_code}")
        self.url = f"{prefix}_dash-update-component"
        self.components = [c for c in _walk(layout.json) if "id" in c["props"]]
        self.values = {(_key(i), p): v for (i, p), v in (values or {}).items()}

    def callbacks(self, wanted: Callable[[Callback], bool] = lambda c: True) -> list[Callback]:
        """The app's server-side callbacks that ``wanted`` keeps (clientside ones have no
        Python function and are never called here)."""
        found = []
        for key, spec in self.app.callback_map.items():
            if "callback" not in spec:
                continue
            parts = key[2:-2].split("...") if key.startswith("..") else [key]
            outputs = []
            for part in parts:
                component, prop = part.rsplit(".", 1)
                outputs.append((component, prop.split("@")[0]))
            callback = Callback(
                key, outputs, spec["inputs"], spec["state"], bool(spec.get("background"))
            )
            if wanted(callback):
                found.append(callback)
        return found

    def value(self, component_id: Any, prop: str) -> Any:
        """The value sent for ``component_id.prop``: given, else the layout's, else None."""
        key = (_key(component_id), prop)
        if key in self.values:
            return self.values[key]
        for component in self.components:
            if _key(component["props"]["id"]) == key[0]:
                return component["props"].get(prop)
        return None

    def _entries(self, spec: dict[str, str], with_value: bool) -> Any:
        raw = spec["id"]
        if raw.startswith("{") and _is_wildcard(json.loads(raw)):
            # A wildcard id: a list of every matching component, as the browser sends.
            pattern = json.loads(raw)
            entries = []
            for component in self.components:
                concrete = component["props"]["id"]
                if _matches(pattern, concrete):
                    entry = {"id": concrete, "property": spec["property"]}
                    if with_value:
                        entry["value"] = self.value(concrete, spec["property"])
                    entries.append(entry)
            return entries
        ident: Any = json.loads(raw) if raw.startswith("{") else raw
        entry: dict[str, Any] = {"id": ident, "property": spec["property"]}
        if with_value:
            entry["value"] = self.value(raw, spec["property"])
        return entry

    def body(self, callback: Callback) -> dict[str, Any]:
        """The request the browser sends to run ``callback``, triggered by its first input."""
        outputs = [
            self._entries({"id": component, "property": prop}, with_value=False)
            for component, prop in callback.outputs
        ]
        inputs = [self._entries(spec, with_value=True) for spec in callback.inputs]
        first = inputs[0][0] if isinstance(inputs[0], list) and inputs[0] else inputs[0]
        trigger = f"{_key(first['id'])}.{first['property']}" if isinstance(first, dict) else ""
        return {
            "output": callback.key,
            "outputs": outputs if callback.multi else outputs[0],
            "inputs": inputs,
            "state": [self._entries(spec, with_value=True) for spec in callback.state],
            "changedPropIds": [trigger] if trigger else [],
        }

    def call(self, callback: Callback) -> Any:
        """POST the callback's request; return the Flask response."""
        return self.client.post(self.url, json=self.body(callback))
