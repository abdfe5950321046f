"""The shareable link: the view's state (table, reducer, params, dims, colour, filters, search,
selection) encoded in the page URL as ``?view=...``, and restored when the link is opened.

Panels declare what they contribute with :meth:`dashboard.plugin.Panel.url_state`; the selection
store is kept by the core. The browser's address is rewritten with ``history.replaceState``,
which adds no history entry and does not reload or re-trigger the page.
"""

from __future__ import annotations

import base64
import json
import logging
import urllib.parse
import zlib
from typing import Any

from dash import Dash, Input, Output, ctx, dcc, no_update

from dashboard.plugin.panel import SELECTION_STORE, Panel

logger = logging.getLogger(__name__)

URL = "dashboard-url"
STATE = "dashboard-view-state"
PARAM = "view"
#: Most selected rows kept in a link (a link must stay short enough to share).
MAX_ROWS = 2000


def encode(state: dict[str, Any]) -> str:
    """Compact, URL-safe text for ``state`` (JSON, deflated, base64url)."""
    raw = json.dumps(state, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(zlib.compress(raw, 9)).decode().rstrip("=")


def decode(text: str) -> dict[str, Any]:
    """The state in an encoded link; ``{}`` (with a warning in the log) if it is damaged."""
    try:
        padded = text + "=" * (-len(text) % 4)
        state = json.loads(zlib.decompress(base64.urlsafe_b64decode(padded.encode())))
    except (ValueError, zlib.error) as exc:
        logger.warning("ignoring a damaged view link: %s", exc)
        return {}
    return state if isinstance(state, dict) else {}


def from_search(search: str | None) -> dict[str, Any]:
    """The state in a URL's query string (``?view=...``), or ``{}``."""
    values = urllib.parse.parse_qs((search or "").lstrip("?")).get(PARAM)
    return decode(values[0]) if values else {}


def _targets(panels: list[Panel]) -> list[tuple[str, Any, str]]:
    targets = [("selection", SELECTION_STORE, "data")]
    for panel in panels:
        for key, (component, prop) in panel.url_state().items():
            targets.append((f"{panel.index}.{key}", component, prop))
    return targets


def register(app: Dash, panels: list[Panel]) -> list[Any]:
    """Add the callbacks that keep the URL in step with the view and restore it on load.

    Returns the components the layout must include.
    """
    targets = _targets(panels)

    @app.callback(
        Output(STATE, "data"),
        [Input(component, prop) for _, component, prop in targets],
        prevent_initial_call=True,
    )
    def remember(*values: Any) -> str:
        state = {}
        for (key, _, _), value in zip(targets, values, strict=True):
            if key == "selection" and value:
                value = {**value, "rows": list(value.get("rows") or [])[:MAX_ROWS]}
            state[key] = value
        return encode(state)

    app.clientside_callback(
        f"""function(state) {{
            if (!state) {{ return window.dash_clientside.no_update; }}
            const url = new URL(window.location.href);
            url.searchParams.set("{PARAM}", state);
            window.history.replaceState(window.history.state, "", url.toString());
            return window.dash_clientside.no_update;
        }}""",
        Output(STATE, "id"),
        Input(STATE, "data"),
        prevent_initial_call=True,
    )

    @app.callback(
        [Output(component, prop, allow_duplicate=True) for _, component, prop in targets],
        Input(URL, "search"),
        prevent_initial_call="initial_duplicate",
    )
    def restore(search: str | None) -> list[Any]:
        return restored_values(
            from_search(search), [key for key, _, _ in targets], ctx.outputs_list
        )

    return [dcc.Location(id=URL, refresh=False), dcc.Store(id=STATE)]


def restored_values(state: dict[str, Any], keys: list[str], outputs: list[Any]) -> list[Any]:
    """What the restore callback sends to each output: the state's value, or no_update.

    ``outputs`` is Dash's ``ctx.outputs_list``: a list (one entry per matched component) for
    a pattern output, whose restored value must be a list of the same length.
    """
    values = []
    for key, spec in zip(keys, outputs, strict=True):
        if isinstance(spec, list):
            value = state.get(key)
            ok = isinstance(value, list) and len(value) == len(spec)
            values.append(value if ok else [no_update] * len(spec))
        else:
            values.append(state.get(key, no_update))
    return values
