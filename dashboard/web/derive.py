"""The stores derived from the page's view: the projection request it asks for, and the
selection, highlight, focus, filters, search, maps and messages panels read. Each is a plain
function of the view and the app's context (:func:`derive`), called by the view callback in
:mod:`dashboard.web.state`."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from dashboard.data.filtering import filter_mask
from dashboard.errors import DashboardError
from dashboard.plugin.context import PanelContext
from dashboard.plugin.figures import categories as category_codes
from dashboard.plugin.figures import is_categorical
from dashboard.plugin.memo import Memo
from dashboard.plugin.panel import (
    FILTER_STORE,
    FOCUS_STORE,
    HIGHLIGHT_STORE,
    MAPS_STORE,
    MESSAGES_STORE,
    REQUEST_STORE,
    SEARCH_STORE,
    SELECTION_STORE,
)
from dashboard.projection.request import Projection, ProjectionRequest
from dashboard.web import view as views


def filter_specs(view: views.View) -> dict[str, Any]:
    """The view's filters that filter, as :func:`filter_mask` takes them."""
    return {column: spec for column, f in view.filters.items() if (spec := f.spec()) is not None}


def derive(
    view: views.View,
    context: PanelContext,
    refused: str | None = None,
    projection: Projection | None = None,
) -> dict[str, Any]:
    """The derived stores' values for ``view`` (``projection``: the map the page shows, for
    filters and legend toggles on colours computed from it)."""
    request, problem = derive_request(view, context)
    filters = filter_specs(view)
    return {
        REQUEST_STORE: request,
        SELECTION_STORE: visible_selection(view, filters, context, projection),
        HIGHLIGHT_STORE: view.highlight.model_dump(mode="json"),
        FOCUS_STORE: view.focus.model_dump(mode="json"),
        FILTER_STORE: {"table": view.dataset, "filters": filters},
        SEARCH_STORE: {"table": view.dataset, **view.search.model_dump(mode="json")},
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
    if dataset is None or not selection.rows or selection.table != view.dataset:
        return selection.model_dump(mode="json")
    hidden = sorted(
        (m.colour, tuple(m.hidden))
        for m in view.maps.values()
        if m.hidden and m.colour and m.table == view.dataset
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
    if context.dataset(view.dataset) is None:
        return None, f"unknown table {view.dataset!r}"
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
        view.dataset,
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
