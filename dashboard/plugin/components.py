"""Small Dash components the built-in panels share; plugins may use them too."""

from __future__ import annotations

from typing import Any


def alert(message: str, *, color: str = "warning", **kwargs: Any) -> Any:
    """A compact Bootstrap alert that keeps a message's line breaks (the remedy line)."""
    import dash_bootstrap_components as dbc

    return dbc.Alert(
        message,
        color=color,
        className="py-1 px-2 mb-0 small",
        style={"whiteSpace": "pre-wrap"},
        **kwargs,
    )


#: The style that hides a component (a Cancel button while nothing runs).
HIDDEN = {"display": "none"}
#: The style that shows a Cancel button while its work runs (a background callback's
#: ``running=[(Output(id, "style"), SHOWN_INLINE, HIDDEN)]``).
SHOWN_INLINE = {"display": "inline"}


def cancel_button(component_id: Any, title: str) -> Any:
    """A small Cancel button, hidden until its work runs; ``title`` says what it stops."""
    from dash import html

    return html.Button(
        "Cancel",
        id=component_id,
        className="btn btn-sm btn-link py-0",
        style=HIDDEN,
        title=title,
    )


def card_header(title: str, controls: Any) -> Any:
    """A card header with ``title`` on the left and ``controls`` on the right."""
    import dash_bootstrap_components as dbc
    from dash import html

    return dbc.CardHeader(
        html.Div(
            [html.Span(title), controls],
            className="d-flex justify-content-between align-items-center gap-2",
        )
    )


def rich_text(text: str) -> list[Any]:
    """``text`` for the page: ```code``` spans become ``<code>``, the rest stays plain text
    (parameter and option descriptions are written for the docs and the page alike)."""
    from dash import html

    parts: list[Any] = []
    for i, piece in enumerate(text.split("`")):
        if piece:
            parts.append(html.Code(piece) if i % 2 else piece)
    return parts
