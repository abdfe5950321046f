"""Fault isolation: a panel whose layout, callback registration or callback raises shows the
error in its own place; the other panels and the server carry on.

Reducers are isolated in :mod:`dashboard.plugin.reducer` (exceptions become ``ReducerError``)
and in :mod:`dashboard.projection.runner` (a time limit); this module does the same for panels.
"""

from __future__ import annotations

import logging
import uuid
from typing import TYPE_CHECKING, Any

from dash import ctx, html, no_update, set_props

from dashboard.errors import DashboardError
from dashboard.plugin.components import alert
from dashboard.plugin.panel import VIEW_TYPE
from dashboard.web.page import STATUS

if TYPE_CHECKING:
    from collections.abc import Callable

    from dash import Dash

    from dashboard.plugin.panel import Panel

logger = logging.getLogger(__name__)


def error_id(panel: Panel) -> str:
    """The id of the element above ``panel`` that shows its errors."""
    return f"panel-{panel.index}-error"


def incident(exc: BaseException, what: str) -> str:
    """Log ``exc`` in full under a fresh id and return what the page may show of it: our
    own errors' messages (written for users), else only the exception's type and the id.
    Exception texts can hold paths, expressions and data, so they stay in the log."""
    code = uuid.uuid4().hex[:8]
    logger.error("%s failed (error %s)", what, code, exc_info=exc)
    if isinstance(exc, DashboardError):
        return f"{exc}\n(error {code})"
    return f"{type(exc).__name__} (error {code}; the server log has the details)"


def failure_message(panel: Panel, step: str, exc: BaseException) -> str:
    shown = incident(exc, f"panel {panel.name!r} ({panel.index}) {step}")
    return (
        f"panel {panel.name!r} ({step}) failed: {shown}\n"
        "the other panels keep working; if this persists, report it to the panel's authors"
    )


def build_panel_layout(panel: Panel, *, isolate: bool = True) -> tuple[Any, bool]:
    """``panel``'s layout (with its error slot above), or an error in its place: (component,
    whether it built). Without ``isolate``, an exception is raised (conformance checks)."""
    if not isolate:
        return html.Div([html.Div(id=error_id(panel)), panel.layout()]), True
    try:
        content = panel.layout()
        built = True
    except Exception as exc:  # a broken plugin must not take the page down
        content = alert(failure_message(panel, "layout", exc), color="danger")
        built = False
    return html.Div([html.Div(id=error_id(panel)), content]), built


def register_panel_callbacks(app: Dash, panel: Panel, *, isolate: bool = True) -> bool:
    """Register ``panel``'s callbacks; False (logged) when that raised (raised without
    ``isolate``)."""
    if not isolate:
        panel.register_callbacks(app)
        return True
    try:
        panel.register_callbacks(app)
    except Exception:  # e.g. a duplicate output: the panel is left without callbacks
        logger.exception("panel %r (%d) failed to register its callbacks", panel.name, panel.index)
        return False
    return True


def owner(output_ids: list[Any], panels: list[Panel]) -> Panel | None:
    """The panel a callback belongs to, from its output ids (``<name>-<index>-<part>`` or a
    pattern id with ``panel``: index); None for the app's own callbacks."""
    by_prefix = {f"{p.name}-{p.index}-": p for p in panels}
    by_index = {p.index: p for p in panels}
    for output in output_ids:
        if isinstance(output, dict):
            if output.get("type") == VIEW_TYPE:
                continue  # the view's widgets are written by the page's own callback
            found = by_index.get(output.get("panel"))  # type: ignore[arg-type]
            if found is not None:
                return found
            continue
        for prefix, panel in by_prefix.items():
            if str(output).startswith(prefix):
                return panel
    return None


def _flat_output_ids() -> list[Any]:
    outputs = ctx.outputs_list
    flat: list[Any] = []
    for item in outputs if isinstance(outputs, list) else [outputs]:
        for entry in item if isinstance(item, list) else [item]:
            if isinstance(entry, dict) and "id" in entry:
                flat.append(entry["id"])
    return flat


def _unchanged_outputs() -> Any:
    """``no_update`` in the shape of the running callback's outputs: Dash refuses a bare
    ``no_update`` (or None) for a pattern output, which wants one value per component."""
    outputs = ctx.outputs_list
    if not isinstance(outputs, list):
        return no_update
    return [[no_update] * len(o) if isinstance(o, list) else no_update for o in outputs]


def callback_error_handler(panels: list[Panel]) -> Callable[[Exception], Any]:
    """Dash's ``on_error``: log the exception and show it above the panel whose callback
    raised (shared callbacks: in the status line). The outputs are left as they were."""

    def on_error(exc: Exception) -> Any:
        ids = _flat_output_ids()
        panel = owner(ids, panels)
        if panel is None:
            shown = incident(exc, f"the callback for {ids}")
            message = f"a callback failed: {shown}\nreload the page to retry"
            set_props(STATUS, {"children": alert(message, color="danger")})
        else:
            message = failure_message(panel, "callback", exc)
            set_props(error_id(panel), {"children": alert(message, color="danger")})
        return _unchanged_outputs()

    return on_error
