"""The one callback that writes the page's view state, and the stores derived from it.

:func:`register` adds the callback (``update_view``). It is the view store's only writer: every
view-bound widget and every action store is its input, and it writes back the widgets (when a
link or an action changed what they show) and the derived stores panels read (request,
selection, highlight, focus, filters, search, maps, messages), each only when it changed. Its
body is :func:`update`, a plain function of the view, the trigger and the app's context.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dash import ALL, Dash, Input, Output, State, ctx, dcc
from pydantic import ValidationError

from dashboard.data.dataset import variant_key
from dashboard.plugin.context import PanelContext
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
from dashboard.projection.request import Projection
from dashboard.web import view as views
from dashboard.web.assemble import AS_LOGGED, as_logged_dims
from dashboard.web.derive import derive, filter_specs, visible_selection
from dashboard.web.pages import PageMemory, PageViews

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
    return views.normalise(None, view, _hooks(context, panels))


def _hooks(context: PanelContext, panels: list[Panel]) -> list[views.Normaliser]:
    """The view's normalisers: the core's (the embedding), then each panel's."""

    def keep_embedding(before: views.View, data: dict[str, Any]) -> None:
        # An embedding the table does not offer (another table's, a forged link) is let go
        # of, and its default is named None: one name per dataset.
        table = context.dataset(data.get("table"))
        choice = data.get("embedding")
        if table is None or choice not in table.embedding_choices[1:]:
            data["embedding"] = None
        # Another embedding of the same rows: what is picked stays picked.
        old, new = before.dataset, variant_key(data["table"], data["embedding"])
        if old != new and before.table == data["table"]:
            for key in ("selection", "focus", "highlight"):
                if data[key].get("table") == old:
                    data[key]["table"] = new
        shown = context.dataset(new)
        if old != new:
            fit_reducer(context, data)
        elif data.get("dims") == 3 and shown is not None and shown.readable_dims == 2:
            data["dims"] = 2  # a 3D map of 2 numbers cannot be: the 3D choice is disabled
        if not _can_map(context, data.get("reducer"), shown):
            # A reducer too narrow for the embedding ("as logged" of 64 numbers) is disabled
            # in the list: a forced pick keeps the map that was shown.
            fallbacks = (before.reducer, context.config.projection.reducer, "pca")
            data["reducer"] = next((r for r in fallbacks if _can_map(context, r, shown)), "pca")

    return [keep_embedding, *(p.normalise_view for p in panels)]


def _can_map(context: PanelContext, reducer: Any, dataset: Any) -> bool:
    """Whether ``reducer`` can map ``dataset``'s embedding (its ``max_dims``); unknown
    reducers and unreadable tables are left to the request's own checks."""
    cls = context.registry.reducers.get(reducer) if isinstance(reducer, str) else None
    dims = dataset.readable_dims if dataset is not None else None
    return cls is None or cls.max_dims is None or dims is None or dims <= cls.max_dims


def fit_reducer(context: PanelContext, data: dict[str, Any]) -> None:
    """On opening a dataset: draw coordinates logged as 2 or 3 columns as they are, in 2D
    or 3D (:func:`as_logged_dims`), and leave "as logged" for a wider embedding (it cannot
    draw one) for the config's reducer."""
    dataset = context.dataset(variant_key(data["table"], data.get("embedding")))
    dims = as_logged_dims(dataset, context.registry)
    if dims is not None:
        data["reducer"] = AS_LOGGED
        data["dims"] = dims  # as logged: 3 columns are a 3D map (a point cloud)
    elif data.get("reducer") == AS_LOGGED and dataset is not None and dataset.readable_dims:
        # Back to the config's map (a point cloud's 3D is not the next table's choice).
        projection = context.config.projection
        data["reducer"] = "pca" if projection.reducer == AS_LOGGED else projection.reducer
        data["dims"] = projection.dims


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
    actions: Mapping[str, Any] | None = None,
    seen: Mapping[str, Any] | None = None,
    shown: Projection | None = None,
) -> Outcome:
    """The view after one call of the view callback.

    The view the page holds may be behind what the person did: Dash drops a call still
    running when the next one starts, and merges calls that start together, so a widget's
    change or an action may never have reached the view. So the call does not only apply
    its trigger: it takes every widget value that differs from the view, then every action
    not taken yet (each carries a number, ``seq``), the trigger's last.

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
    actions
        Every action store's value now, by the store's panel.
    seen
        The widget values the page's last call was sent: a widget showing the same value
        now was not changed since, and shows the view's value after this call (a value the
        view changed, e.g. by "Clear", whose answer Dash dropped). None: take every widget
        value the view does not hold.
    shown
        The map the page shows (filters on colours measured on it apply to what an action
        such as "Isolate selection" takes).
    """
    hooks = _hooks(context, panels)
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
    typed = None
    pending = dict(actions or {})
    last = None
    if isinstance(trigger, Mapping) and trigger.get("type") == VIEW_TYPE:
        typed = str(trigger.get("key"))
        widgets = {**widgets, typed: value}
    elif isinstance(trigger, Mapping) and trigger.get("type") == ACTION_TYPE:
        last = str(trigger.get("panel"))
        pending[last] = value
    view, refused_widgets = _take_widgets(before, widgets, hooks, seen, typed)

    def visible(view: views.View) -> list[int]:
        return visible_selection(view, filter_specs(view), context, shown)["rows"]

    view, refused = _take_actions(view, pending, last, hooks, visible)
    skip = typed if typed not in refused_widgets else None
    if refused is None and typed in refused_widgets:
        refused = f"`{typed}`: {refused_widgets[typed]}\nthe box shows the value in use again"
    return Outcome(view, _widget_values(view, widgets, skip=skip), refused)


def _shows(current: Any, wanted: Any) -> bool:
    """Whether a widget showing ``current`` shows the view's ``wanted`` (an emptied box or
    list shows "nothing", the view's None)."""
    return current == wanted or (wanted is None and current in ([], ""))


def _take_widgets(
    before: views.View,
    widgets: Mapping[str, Any],
    hooks: list[views.Normaliser],
    seen: Mapping[str, Any] | None,
    typed: str | None,
) -> tuple[views.View, dict[str, str]]:
    """``before`` with the widget values a person changed that it does not hold yet
    (normalised), and why it cannot hold the others, by widget (a value out of bounds, a
    forged one: they are put back)."""
    data = before.data()
    refused: dict[str, str] = {}
    taken = False
    for key, current in widgets.items():
        unchanged = seen is not None and key in seen and seen[key] == current
        if (unchanged and key != typed) or _shows(current, views.get_path(data, key)):
            continue
        try:
            trial = views.parse(views.set_path(data, key, current))
        except ValidationError as exc:
            message = str(exc.errors()[0]["msg"])
            logger.warning("ignoring %r for %r: %s", current, key, message)
            refused[key] = message[:1].lower() + message[1:]
            continue
        data, taken = trial.data(), True
    if not taken:
        return before, refused
    return views.normalise(before, views.parse(data), hooks), refused


def _take_actions(
    view: views.View,
    actions: Mapping[str, Any],
    last: str | None,
    hooks: list[views.Normaliser],
    visible: Callable[[views.View], list[int]] | None = None,
) -> tuple[views.View, str | None]:
    """``view`` after every action not taken yet (``last``'s last), and why one was
    refused, if one was. An action without a number is taken only when it is ``last``.
    "Isolate selection" takes the selected rows the page shows (``visible``): not those a
    filter or a hidden legend entry keeps off the map."""
    applied = dict(view.book.applied)
    refused = None
    for key in sorted(actions, key=lambda k: k == last):
        action = actions[key]
        seq = action.get("seq") if isinstance(action, Mapping) else None
        if not action or (seq is None and key != last):
            continue
        if seq is not None and applied.get(key) == str(seq):
            continue  # taken already
        if seq is not None:
            applied[key] = str(seq)
        try:
            view = views.normalise(view, _apply(view, action, visible), hooks)
        except ValidationError as exc:
            logger.warning("ignoring an action that is not one: %s", exc.errors()[0]["msg"])
        except views.RefusedError as exc:
            refused = str(exc)
    if applied != view.book.applied:
        book = view.book.model_copy(update={"applied": applied})
        view = view.model_copy(update={"book": book})
    return view, refused


def _apply(
    view: views.View, action: Any, visible: Callable[[views.View], list[int]] | None
) -> views.View:
    if visible is None or not isinstance(action, Mapping) or action.get("op") != "isolate":
        return views.apply_action(view, action)
    shown = view.selection.model_copy(update={"rows": visible(view)})
    isolated = views.apply_action(view.model_copy(update={"selection": shown}), action)
    return isolated.model_copy(update={"selection": view.selection})


def _parsed(data: dict[str, Any]) -> views.View | None:
    try:
        return views.parse(data)
    except ValidationError as exc:
        logger.warning("ignoring a view change that does not fit: %s", exc.errors()[0])
        return None


def _widget_values(
    view: views.View, widgets: Mapping[str, Any], skip: str | None = None
) -> dict[str, Any]:
    """The widgets that do not show the view's value (:func:`_shows`), with that value; a
    widget whose place in the view is gone (cleared filters) is emptied."""
    data = view.data()
    out = {}
    for key, current in widgets.items():
        wanted = views.get_path(data, key)
        if key == skip or _shows(current, wanted):
            continue
        out[key] = [] if wanted is None and isinstance(current, list) else wanted
    return out


ANSWER = "dashboard-view-answer"


def register(app: Dash, context: PanelContext, panels: list[Panel], pages: PageViews) -> list[Any]:
    """Add the view callback and the link's; return the components the layout needs.

    ``pages`` keeps each page's latest view (the dashboard's, which a notebook reads)."""
    start = initial_view(context, panels)
    widgets_pattern = {"type": VIEW_TYPE, "panel": ALL, "key": ALL}

    @app.callback(
        Output(ANSWER, "data"),
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
    ) -> dict[str, Any]:
        widget_ids = [spec["id"] for spec in ctx.inputs_list[0]]
        current = {str(i["key"]): v for i, v in zip(widget_ids, values, strict=True)}
        action_ids = [spec["id"] for spec in ctx.inputs_list[1]]
        pending = {str(i["panel"]): a for i, a in zip(action_ids, actions, strict=True)}
        out = answer(
            _stored_view(stored),
            ctx.triggered_id,
            ctx.triggered[0].get("value") if ctx.triggered else None,
            current,
            pending,
            search,
            Projection.from_store(shown),
        )
        # The page sets widgets by their full ids (see `take`).
        by_key = {str(i["key"]): i for i in widget_ids}
        out["widgets"] = [{"id": by_key[k], "value": v} for k, v in out["widgets"].items()]
        return out

    def answer(
        on_page: views.View | None,
        trigger: Any,
        value: Any,
        current: dict[str, Any],
        pending: dict[str, Any],
        search: str | None,
        shown: Projection | None,
    ) -> dict[str, Any]:
        """The view callback's answer: the new view (with its link and derived stores)
        when it differs from the page's, and the widgets to set."""
        page = on_page.book.page if on_page is not None else uuid.uuid4().hex
        with pages.lock(page):
            base, seen = on_page or start, None
            memory = pages.get(page) if on_page is not None else None
            if memory is not None and memory.view.book.rev >= base.book.rev:
                base, seen = memory.view, memory.seen
            outcome = update(
                base,
                trigger if on_page is not None else None,
                value,
                current,
                context,
                panels,
                link=_link_text(search) if on_page is None else None,
                actions=pending,
                seen=seen,
                shown=shown,
            )
            view = outcome.view
            if on_page is None or view != base:
                book = view.book.model_copy(update={"page": page, "rev": base.book.rev + 1})
                view = view.model_copy(update={"book": book})
            pages.put(page, PageMemory(view, current))
        out: dict[str, Any] = {"rev": view.book.rev, "widgets": outcome.widgets}
        if view != on_page or outcome.refused is not None:
            # Every derived store, whole: the page sets those that changed.
            derived = derive(view, context, outcome.refused, shown)
            out.update(
                view=view.data(),
                link=views.to_link(view),
                stores=[derived[store] for store in DERIVED],
            )
        return out

    # The answer reaches the page through the page's own script (dashboard.js, `take`):
    # Dash may apply the answers of two calls in the order they arrive, and an answer made
    # before the page's view changed again is dropped there, whole (view, widgets, stores).
    # Widgets are set with `set_props`, not as outputs: an output would make the widgets
    # wait for this callback and this callback for the view callback, which waits for the
    # widgets.
    app.clientside_callback(
        "function(answer, view, ...held) {"
        " return window.dashboardClient.take(answer, view, held); }",
        Output(VIEW_STORE, "data"),
        Output(LINK, "data"),
        *[Output(store, "data") for store in DERIVED],
        Input(ANSWER, "data"),
        State(VIEW_STORE, "data"),
        *[State(store, "data") for store in DERIVED],
        prevent_initial_call=True,
    )

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
        dcc.Store(id=ANSWER),
        dcc.Store(id=PAGE_ACTIONS),
        *[dcc.Store(id=store) for store in DERIVED],
    ]


def _stored_view(stored: Any) -> views.View | None:
    """The page's view store's view, or None (the first call, or something else there)."""
    if not stored:
        return None
    try:
        return views.parse(stored)
    except ValidationError:
        logger.warning("the page's view store held something else: starting afresh")
        return None


def _link_text(search: str | None) -> str | None:
    import urllib.parse

    values = urllib.parse.parse_qs((search or "").lstrip("?")).get(PARAM)
    return values[0] if values else None


def new_seq() -> str:
    """A fresh action sequence number: two identical actions are still two changes."""
    return uuid.uuid4().hex
