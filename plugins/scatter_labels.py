"""The map's Labels switch (a mixin of the scatter panel): its clusters named where they sit.

The names come from :meth:`dashboard.plugin.PanelContext.cluster_labels` (a plugin's, else
keywords of the text column, else the most common label), computed once per map and cached
with it. The page draws them (``assets/dashboard.js``, ``labelAnnotations``): biggest clusters
first, a label left out where it would overlap one already placed, chosen again at each zoom
or pan, so zooming in names smaller clusters.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from dash import Dash, Input, Output, State, no_update

from dashboard.plugin import (
    FILTER_STORE,
    MAPS_STORE,
    MEASURES_STORE,
    DashboardError,
    Projection,
)

#: Least share of a cluster's rows the map must show for its label to stay (a filter or a
#: hidden legend category leaving a few strays of a cluster does not keep its name there).
SHOWN_SHARE = 0.25
#: The page's gate: asks the server only when the map, the switch, or what the map shows
#: changed (the view's maps change at every zoom, which needs no new labels).
LABELS_ASK_JS = """function(projection, maps, filters, before) {{
    const view = (maps || {{}})[{map_key}] || {{}};
    const ask = {{key: projection && projection.key ? projection.key : null,
                 on: Boolean(view.labels), colour: view.colour || null,
                 hidden: view.hidden || [], filters: filters || null}};
    // Off, and off before: nothing to ask (a map's every change would otherwise cost a
    // request, and on a busy server those held up the map the page waited for).
    if ((!ask.on && !(before && before.on)) ||
        (before && JSON.stringify(before) === JSON.stringify(ask))) {{
        return window.dash_clientside.no_update;
    }}
    return ask;
}}"""


class ClusterNames:
    """What the scatter panel adds for its Labels switch."""

    context: Any
    map_key: str
    projection_store: Any
    id: Any  # the panel's: a component id of its own
    shown_rows: Any  # the density part's: the rows the map shows

    def labels_of(self, ask: Any, projection: Projection | None) -> dict[str, Any] | None:
        """The map's cluster labels for the page, when the switch is on (``ask``); a map in
        3D, or one whose clusters cannot be found, gets a notice why it has none."""
        if not isinstance(ask, dict) or not ask.get("on") or projection is None:
            return None
        if ask.get("key") != projection.key:
            return None  # the page moved on to another map
        if projection.dims != 2:
            notice = "Labels are drawn on 2D maps."
            return {"key": projection.key, "labels": [], "notice": notice}
        try:
            named = self.context.cluster_labels(projection)
            state = {"colour": ask.get("colour"), "hidden": ask.get("hidden") or []}
            shown = self.shown_rows(projection, {self.map_key: state}, ask.get("filters"))
            if shown is None:
                return named
            codes = self.context.cluster_codes(projection)
        except DashboardError as exc:
            notice = "Labels: " + str(exc).split("\n")[0]
            return {"key": projection.key, "labels": [], "notice": notice}
        # Only the clusters the map still shows keep their names, ordered by what shows.
        counts = np.bincount(codes[shown & (codes >= 0)], minlength=int(codes.max()) + 1)
        kept = []
        for label in named["labels"]:
            showing = int(counts[label["cluster"]]) if label["cluster"] < len(counts) else 0
            if showing and showing >= SHOWN_SHARE * label["rows"]:
                kept.append({**label, "rows": showing})
        return {**named, "labels": kept}

    def register_label_callbacks(self, app: Dash) -> None:
        """The gate and the server's answer."""
        app.clientside_callback(
            LABELS_ASK_JS.format(map_key=repr(str(self.map_key))),
            Output(self.id("labels-ask"), "data"),
            Input(self.projection_store, "data"),
            Input(MAPS_STORE, "data"),
            Input(FILTER_STORE, "data"),
            State(self.id("labels-ask"), "data"),
        )

        @app.callback(
            Output(self.id("labels"), "data"),
            # The first naming of a map's clusters is news to other panels (the filter's
            # cluster list shows the names).
            Output(MEASURES_STORE, "data", allow_duplicate=True),
            Input(self.id("labels-ask"), "data"),
            State(self.projection_store, "data"),
            prevent_initial_call=True,
        )
        def on_labels(ask: Any, projection: Any) -> Any:
            return self.answer_labels(ask, Projection.from_store(projection))

    def answer_labels(self, ask: Any, projection: Projection | None) -> tuple[Any, Any]:
        """(:meth:`labels_of`, the measures store's news when this named the map's
        clusters for the first time, else no update)."""
        known = projection is None or self.context.known_cluster_labels(projection) is not None
        labels = self.labels_of(ask, projection)
        if known or not labels or not labels.get("labels"):
            return labels, no_update
        return labels, {"key": projection.key, "measure": "labels", "seq": time.time_ns()}
