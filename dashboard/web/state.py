"""The one callback that writes the page's view state, and the stores derived from it.

:func:`register` adds the callback (``update_view``). It is the view store's only writer: every
view-bound widget and every action store is its input, and it writes back the widgets (when a
link or an action changed what they show) and the derived stores panels read (request,
selection, highlight, focus, filters, search, maps, messages), each only when it changed. Its
body is :func:`update`, a plain function of the view, the trigger and the app's context.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from dash import ALL, Dash, Input, Output, State, ctx, dcc, no_update
from pydantic import ValidationError

from dashboard.data.filtering import filter_mask
from dashboard.errors import DashboardError
from dashboard.plugin.context import PanelContext
from dashboard.plugin.figures import categories as category_codes
from dashboard.plugin.figures import is_categorical
from dashboard.plugin.memo import Memo
from dashboard.plugin.panel import (
    ACTION_TYPE,
    FILTER_STORE,
    FOCUS_STORE,
    HIGHLIGHT_STORE,
    MAPS_STORE,
    MESSAGES_STORE,
    PAGE_ACTIONS,
    PROJECTION_STORE,
    REQUEST_STORE,
    SEARCH_STORE,
    SELECTION_STORE,
    VIEW_STORE,
    VIEW_TYPE,
    Panel,
)
from dashboard.projection.request import Projection, ProjectionRequest
from dashboard.web import view as views

logger = logging.getLogger(__name__)

URL = "dashboard-url"
LINK = "dashboard-link"
PARAM = "view"

#: The derived stores, in the callback's output order.
DERIVED = (
    REQUEST_STORE,
    SELECTION_STORE,
    HIGHLIGHT_STORE,
    FOCUS_STORE,
    FILTER_STORE,
    SEARCH_STORE,
    MAPS_STORE,
    MESSAGES_STORE,
)


def initial_view(context: PanelContext, panels: list[Panel]) -> views.View:
    """The view the page opens with: the config's projection, each panel's own defaults."""
    request = context.initial_request
    view = views.View(
        table=request.table,
        reducer=request.reducer,
        dims=request.dims,  # type: ignore[arg-type]
        params={request.reducer: dict(request.params)},
    )
    return views.normalise(None, view, [p.normalise_view for p in panels])


@dataclass
class Outcome:
    """What :func:`update` made of a trigger: the new view, the widgets to set, and a
    message for the person when something was refused."""

    view: views.View
    widgets: dict[str, Any] = field(default_factory=dict)
    refused: str | None = None


def update(
    before: views.View,
    trigger: Any,
    value: Any,
    widgets: Mapping[str, Any],
    context: PanelContext,
    panels: list[Panel],
    *,
    link: str | None = None,
) -> Outcome:
    """The view after one trigger.

    Parameters
    ----------
    before
        The view store's value.
    trigger
        What fired: a view-bound widget's id (``{"type": VIEW_TYPE, "key": path}``), an
        action store's id, the URL (``"dashboard-url"``), or None for the page's first call.
    value
        The trigger's new value (the widget's value, or the action).
    widgets
        Every view-bound widget's value now, by path.
    link
        The ``?view=`` text to restore (the first call).
    """
    hooks = [p.normalise_view for p in panels]
    if trigger is None or trigger == URL:
        data = before.data()
        for key, current in widgets.items():  # widgets the view has no value for yet
            if views.get_path(data, key) is None and current is not None:
                data = views.set_path(data, key, current)
        view = _parsed(data) or before
        if link:
            try:
                view = views.restore(view, views.from_link(link))
            except views.DamagedLinkError as exc:
                logger.warning("ignoring a damaged view link: %s", exc)
        # Normalised as a whole, not as a change from ``before``: a link to another table
        # than the config's keeps its filters and rows.
        view = views.normalise(view, view, hooks)
        return Outcome(view, _widget_values(view, widgets))
    if isinstance(trigger, Mapping) and trigger.get("type") == VIEW_TYPE:
        key = str(trigger.get("key"))
        changed = _parsed(views.set_path(before.data(), key, value))
        if changed is None:
            # A value the view cannot hold (forged, or a widget gone wrong): put it back.
            return Outcome(before, {key: views.get_path(before.data(), key)})
        view = views.normalise(before, changed, hooks)
        return Outcome(view, _widget_values(view, widgets, skip=key))
    if isinstance(trigger, Mapping) and trigger.get("type") == ACTION_TYPE:
        if not value:
            return Outcome(before)
        try:
            view = views.apply_action(before, value)
        except ValidationError as exc:
            logger.warning("ignoring an action that is not one: %s", exc.errors()[0]["msg"])
            return Outcome(before)
        except views.RefusedError as exc:
            return Outcome(before, refused=str(exc))
        view = views.normalise(before, view, hooks)
        return Outcome(view, _widget_values(view, widgets))
    return Outcome(before)


def _parsed(data: dict[str, Any]) -> views.View | None:
    try:
        return views.parse(data)
    except ValidationError as exc:
        logger.warning("ignoring a view change that does not fit: %s", exc.errors()[0])
        return None


def _widget_values(
    view: views.View, widgets: Mapping[str, Any], skip: str | None = None
) -> dict[str, Any]:
    """The widgets whose value differs from the view's, with the view's value; a widget
    whose place in the view is gone (cleared filters) is emptied."""
    data = view.data()
    out = {}
    for key, current in widgets.items():
        if key == skip:
            continue
        wanted = views.get_path(data, key)
        if wanted is None:
            wanted = [] if isinstance(current, list) else None
        if wanted != current:
            out[key] = wanted
    return out


def derive(
    view: views.View,
    context: PanelContext,
    refused: str | None = None,
    projection: Projection | None = None,
) -> dict[str, Any]:
    """The derived stores' values for ``view`` (``projection``: the map the page shows, for
    filters and legend toggles on colours computed from it)."""
    request, problem = derive_request(view, context)
    filters = {column: spec for column, f in view.filters.items() if (spec := f.spec()) is not None}
    return {
        REQUEST_STORE: request,
        SELECTION_STORE: visible_selection(view, filters, context, projection),
        HIGHLIGHT_STORE: view.highlight.model_dump(mode="json"),
        FOCUS_STORE: view.focus.model_dump(mode="json"),
        FILTER_STORE: {"table": view.table, "filters": filters},
        SEARCH_STORE: {"table": view.table, **view.search.model_dump(mode="json")},
        MAPS_STORE: {k: m.model_dump(mode="json") for k, m in view.maps.items()},
        MESSAGES_STORE: {"request": problem, "refused": refused},
    }


_MASKS: Memo[str, np.ndarray | None] = Memo(16)


def visible_selection(
    view: views.View,
    filters: dict[str, Any],
    context: PanelContext,
    projection: Projection | None,
) -> dict[str, Any]:
    """The selection store's value: the selected rows the page shows, i.e. that pass the
    filters and whose category no map of the table hides in its legend. A filter takes rows
    out of the selection the panels see; taking the filter off brings them back."""
    selection = view.selection
    dataset = context.dataset(selection.table)
    if dataset is None or not selection.rows or selection.table != view.table:
        return selection.model_dump(mode="json")
    hidden = sorted(
        (m.colour, tuple(m.hidden))
        for m in view.maps.values()
        if m.hidden and m.colour and m.table == view.table
    )
    key = json.dumps(
        [dataset.name, filters, hidden, getattr(projection, "key", None)],
        sort_keys=True,
        default=str,
    )
    keep = _MASKS.get(key, lambda: _visible(dataset, filters, hidden, context, projection))
    rows = [r for r in selection.rows if r < dataset.n_rows and (keep is None or keep[r])]
    return {"table": selection.table, "rows": rows}


def _visible(
    dataset: Any,
    filters: dict[str, Any],
    hidden: list[tuple[str, tuple[str, ...]]],
    context: PanelContext,
    projection: Projection | None,
) -> np.ndarray | None:
    """Rows of ``dataset`` the filters keep and no legend hides (None: every row)."""
    if not filters and not hidden:
        return None
    meta = dataset.metadata()
    on_map = projection is not None and projection.table == dataset.name
    needed = set(filters) | {colour for colour, _ in hidden}
    for name in needed:
        if context.is_computed_colour(dataset.name, name):
            if not on_map:
                return None  # measured on a map not shown yet: nothing to hold them to
            try:
                values = context.computed(projection, name)  # type: ignore[arg-type]
            except DashboardError:
                return None
            meta = meta.with_columns(values.alias(name))
    try:
        keep = filter_mask(meta, filters)
    except DashboardError:
        return None
    for colour, names in hidden:
        # As the map does: only a categorical colouring has a legend to hide rows with.
        if colour in meta.columns and is_categorical(meta.get_column(colour)):
            categories, codes = category_codes(meta.get_column(colour))
            out = [i for i, c in enumerate(categories) if c in names]
            keep &= ~np.isin(codes, out)
    return keep


def derive_request(
    view: views.View, context: PanelContext
) -> tuple[dict[str, Any] | None, str | None]:
    """The projection request ``view`` asks for, or None and why it cannot be made."""
    if context.dataset(view.table) is None:
        return None, f"unknown table {view.table!r}"
    try:
        cls = context.registry.reducer(view.reducer)
        raw = dict(view.params.get(view.reducer) or {})
        for name, info in cls.Params.model_fields.items():
            # An empty number box (or one outside its bounds: the browser sends None).
            if name in raw and raw[name] is None and not _nullable(info.annotation):
                raw.pop(name)
                bounds = _bounds(info)
                raise DashboardError(
                    f"{view.reducer}: `{name}`: enter a value{bounds}\n"
                    f"{info.description or 'see the reducer docs'}"
                )
        params = cls.validate_params(raw).model_dump(mode="json")
    except DashboardError as exc:
        return None, str(exc)
    request = ProjectionRequest(
        view.table,
        view.reducer,
        view.dims,
        params,
        None if view.rows is None else tuple(view.rows),
        view.max_rows,
    )
    return request.to_dict(), None


def _nullable(annotation: Any) -> bool:
    import types
    import typing

    return typing.get_origin(annotation) in (typing.Union, types.UnionType) and type(
        None
    ) in typing.get_args(annotation)


def _bounds(info: Any) -> str:
    low = next((getattr(m, "ge", None) for m in info.metadata if hasattr(m, "ge")), None)
    high = next((getattr(m, "le", None) for m in info.metadata if hasattr(m, "le")), None)
    return f" from {low} to {high}" if low is not None and high is not None else ""


def register(app: Dash, context: PanelContext, panels: list[Panel]) -> list[Any]:
    """Add the view callback and the link's; return the components the layout needs."""
    start = initial_view(context, panels)
    widgets_pattern = {"type": VIEW_TYPE, "panel": ALL, "key": ALL}

    @app.callback(
        Output(VIEW_STORE, "data"),
        Output(LINK, "data"),
        Output(widgets_pattern, "value"),
        *[Output(store, "data") for store in DERIVED],
        Input(widgets_pattern, "value"),
        Input({"type": ACTION_TYPE, "panel": ALL}, "data"),
        Input(URL, "search"),
        # A State: the projection is computed from this callback's request (an Input would
        # make a loop), and it only lets filters on colours measured on the map apply.
        State(PROJECTION_STORE, "data"),
        State(VIEW_STORE, "data"),
    )
    def update_view(
        values: list[Any], actions: list[Any], search: str | None, shown: Any, stored: Any
    ) -> tuple:
        try:
            before = views.parse(stored) if stored else start
        except ValidationError:
            logger.warning("the page's view store held something else: starting afresh")
            before = start
        widget_ids = [spec["id"] for spec in ctx.inputs_list[0]]
        current = {str(i["key"]): v for i, v in zip(widget_ids, values, strict=True)}
        trigger = ctx.triggered_id
        value = ctx.triggered[0].get("value") if ctx.triggered else None
        first = not stored
        outcome = update(
            before,
            None if first else trigger,
            value,
            current,
            context,
            panels,
            link=_link_text(search) if first else None,
        )
        widget_out = [
            outcome.widgets.get(str(spec["id"]["key"]), no_update) for spec in ctx.outputs_list[2]
        ]
        projection = Projection.from_store(shown)
        new = derive(outcome.view, context, outcome.refused, projection)
        old = {} if first else derive(before, context, None, projection)
        derived = [
            new[store] if first or new[store] != old.get(store) else no_update for store in DERIVED
        ]
        changed = first or outcome.view != before
        view_out = outcome.view.data() if changed else no_update
        link_out = views.to_link(outcome.view) if changed else no_update
        return (view_out, link_out, widget_out, *derived)

    # The address bar follows the view (replaceState: no history entry, no reload).
    app.clientside_callback(
        "function(link) { return window.dashboardClient.writeLink(link); }",
        Output(LINK, "id"),
        Input(LINK, "data"),
        prevent_initial_call=True,
    )

    return [
        dcc.Location(id=URL, refresh=False),
        dcc.Store(id=VIEW_STORE),
        dcc.Store(id=LINK),
        dcc.Store(id=PAGE_ACTIONS),
        *[dcc.Store(id=store) for store in DERIVED],
    ]


def _link_text(search: str | None) -> str | None:
    import urllib.parse

    values = urllib.parse.parse_qs((search or "").lstrip("?")).get(PARAM)
    return values[0] if values else None


def new_seq() -> str:
    """A fresh action sequence number: two identical actions are still two changes."""
    return uuid.uuid4().hex
