"""Form controls generated from a reducer's pydantic ``Params`` (its JSON schema)."""

from __future__ import annotations

import json
from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html
from pydantic import BaseModel

from dashboard.plugin.components import rich_text


def dom_id(component_id: dict[str, Any]) -> str:
    """The DOM id Dash gives a dict id (sorted keys, no spaces), for ``<label for=...>``."""
    return json.dumps(component_id, sort_keys=True, separators=(",", ":"))


def field_specs(params: type[BaseModel]) -> list[dict[str, Any]]:
    """Flatten the JSON schema of ``params`` into one spec per field.

    Each spec has ``name``, ``kind`` (``bool``, ``choice``, ``int``, ``float`` or ``text``),
    ``default``, ``nullable``, ``description``, and for numbers ``min``/``max``, for
    choices ``options``.
    """
    schema = params.model_json_schema()
    specs = []
    for name, prop in schema.get("properties", {}).items():
        variants = prop.get("anyOf", [prop])
        nullable = any(v.get("type") == "null" for v in variants)
        main = next((v for v in variants if v.get("type") != "null"), prop)
        if "$ref" in main:  # an Enum/Literal moved to $defs
            main = schema.get("$defs", {}).get(main["$ref"].rsplit("/", 1)[-1], main)
        spec: dict[str, Any] = {
            "name": name,
            "label": prop.get("title", name),
            "default": prop.get("default"),
            "nullable": nullable,
            "description": prop.get("description", ""),
        }
        if "enum" in main:
            spec.update(kind="choice", options=list(main["enum"]))
        elif "const" in main:
            spec.update(kind="choice", options=[main["const"]])
        elif main.get("type") == "boolean":
            spec["kind"] = "bool"
        elif main.get("type") in ("integer", "number"):
            spec["kind"] = "int" if main["type"] == "integer" else "float"
            spec["min"] = main.get("minimum", main.get("exclusiveMinimum"))
            spec["max"] = main.get("maximum", main.get("exclusiveMaximum"))
        else:
            spec["kind"] = "text"
        specs.append(spec)
    return specs


def param_widget(wid: dict[str, Any], spec: dict[str, Any], value: Any) -> Any:
    """Return a labelled form control, with id ``wid``, for one parameter spec."""
    kind = spec["kind"]
    help_text = dbc.FormText(rich_text(spec["description"]))
    if kind == "bool":
        control = dbc.Switch(id=wid, value=bool(value), label=spec["label"])
        return html.Div([control, help_text], className="mb-2")
    if kind == "choice":
        control = dcc.Dropdown(
            id=wid,
            options=[{"label": str(o), "value": o} for o in spec["options"]],
            value=value,
            clearable=spec["nullable"],
        )
    elif kind in ("int", "float"):
        control = dbc.Input(
            id=wid,
            type="number",
            value=value,
            min=spec.get("min"),
            max=spec.get("max"),
            step=1 if kind == "int" else "any",
            placeholder="auto" if spec["nullable"] else None,
            debounce=True,
            size="sm",
        )
    else:
        control = dbc.Input(id=wid, type="text", value=value, debounce=True, size="sm")
    return html.Div(
        [
            dbc.Label(spec["label"], html_for=dom_id(wid), className="mb-0 small fw-semibold"),
            control,
            help_text,
        ],
        className="mb-2",
    )


def clean_value(value: Any) -> Any:
    """Map what a widget sends to what pydantic expects: empty inputs mean None."""
    if value == "" or value == []:
        return None
    return value
