"""The panel contract: a named class with pydantic ``Options``, a layout and its callbacks.

The whole contract, for built-in and third-party panels alike:

- **Name and options.** :attr:`Panel.name` is the YAML ``type:``; :attr:`Panel.Options` (a
  :class:`PanelOptions` subclass) validates the panel's YAML keys. Every panel accepts
  ``width`` (its default is :attr:`Panel.default_width`) and ``title``.
- **Lifecycle.** The app builds every panel with its options and the shared
  :class:`~dashboard.plugin.PanelContext`, then calls :meth:`Panel.validate` (check the
  options against the data: read the context, raise :meth:`Panel.error`; never change the
  context), then :meth:`Panel.derived_columns`, then :meth:`Panel.layout` and
  :meth:`Panel.register_callbacks` once each.
- **Ids.** Components use :meth:`Panel.id` (``<name>-<index>-<part>``), or pattern ids with a
  ``"panel": index`` key, so two panels of one type never clash and a failing callback is
  shown above the panel that owns it.
- **One view state.** Everything a person can change lives in the page's view
  (:mod:`dashboard.web.view`), written by one callback. A panel changes it in two ways:
  a widget whose id is :meth:`Panel.view_id` is bound to a place in the view (its value *is*
  that part of the view: it is in the link, and restored from it), and
  :meth:`Panel.action` values written to the panel's :meth:`Panel.action_id` store ask for
  a change (select rows, focus a row, ring rows, ...). Panels read the view through the
  derived stores (``*_STORE`` ids here), never write them, and never feed what they read
  back into an action (Dash forbids such loops): derived things (search matches, a row's
  neighbours) go to the panel's own :meth:`Panel.rings_id` store, which the maps draw.
- **Shared state.** Panels use the context's services; they never import the host app.
  Caches a panel keeps must be safe under threads (several requests run at once): use
  :class:`dashboard.plugin.Memo` or a lock.
- **Isolation.** A panel whose ``layout()`` raises is replaced by the error; one whose callback
  raises shows the error above itself and keeps its last output; the page and other panels
  carry on. :func:`dashboard.testing.check_panel` runs without that net, so a broken panel
  fails its conformance check.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import count
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from dashboard.errors import ConfigError, quote_list

if TYPE_CHECKING:
    import numpy as np
    from dash import Dash

    from dashboard.plugin.context import PanelContext

#: ``dcc.Store`` of the whole view (:class:`dashboard.web.view.View` as JSON).
VIEW_STORE = "dashboard-view"
#: ``dcc.Store`` holding the requested projection (table, reducer, params, dims, rows,
#: max_rows); None while the controls hold an invalid value.
REQUEST_STORE = "dashboard-request"
#: ``dcc.Store`` holding the computed projection (:meth:`Projection.to_store`).
PROJECTION_STORE = "dashboard-projection"
#: ``dcc.Store`` holding the selected rows: ``{"table": name, "rows": [row, ...]}``.
SELECTION_STORE = "dashboard-selection"
#: ``dcc.Store`` of rows a panel asked to ring (a "Ring on map" button): ``{"table",
#: "rows", "label"}``.
HIGHLIGHT_STORE = "dashboard-highlight"
#: ``dcc.Store`` of the row a person looks at: ``{"table", "row"}`` (clicked on the map, in
#: a list, in the gallery).
FOCUS_STORE = "dashboard-focus"
#: ``dcc.Store`` of metadata filters: ``{"table", "filters": {column: spec}}``.
FILTER_STORE = "dashboard-filter"
#: ``dcc.Store`` of the search: ``{"table", "query", "regex"}``.
SEARCH_STORE = "dashboard-search"
#: ``dcc.Store`` of how each map is drawn, by its panel index: ``{"colour", "size",
#: "opacity", "hidden", "camera"}``.
MAPS_STORE = "dashboard-maps"
#: ``dcc.Store`` of what the view refused: ``{"request": why no projection can be asked
#: for (a bad parameter), "refused": why the last action was not taken}``.
MESSAGES_STORE = "dashboard-messages"
#: ``dcc.Store`` a panel writes when it measured something new about a map (a stability
#: check): ``{"key": the map's projection key, "measure": what, "seq": a new number}``;
#: panels showing such measures (the scatter's colours, the filter's clusters) listen.
MEASURES_STORE = "dashboard-measures"
#: The ``type`` of a view-bound widget's id (see :meth:`Panel.view_id`).
VIEW_TYPE = "dashboard-view"
#: The ``type`` of action stores' ids (see :meth:`Panel.action_id`).
ACTION_TYPE = "dashboard-action"
#: The ``type`` of rings stores' ids (see :meth:`Panel.rings_id`).
RINGS_TYPE = "dashboard-rings"
#: The action store of the page's own script (map selections, Escape, legend, camera).
PAGE_ACTIONS = {"type": ACTION_TYPE, "panel": "page"}

_seq = count()


def action(op: str, **payload: Any) -> dict[str, Any]:
    """An action for a panel's action store: ``op`` (``select``, ``clear``, ``focus``,
    ``highlight``, ``clear_highlight``, ``isolate``, ``show_all``, ``clear_filters``,
    ``escape``, ``colour``) and its payload (``table`` and ``rows`` or ``row``, ``label``;
    ``colour``: a colour dropdown value for every map of the table). Each call
    makes a new value, so asking twice is two changes."""
    return {"op": op, "seq": f"{time.time_ns()}-{next(_seq)}", **payload}


def focus_attributes(table: str, row: int) -> dict[str, Any]:
    """HTML attributes that make an element a way back to the map: a click on it focuses
    row ``row`` of ``table`` (the map rings it, centres it if off-screen, shows its
    tooltip). Pass them to any ``html`` component: ``html.Tr(..., **focus_attributes(...))``.
    """
    return {"data-dashboard-table": table, "data-dashboard-row": int(row)}


class PanelOptions(BaseModel):
    """Options every panel accepts; subclasses add their own fields."""

    model_config = ConfigDict(extra="forbid")
    width: int | None = Field(
        None,
        ge=1,
        le=12,
        description="Bootstrap grid columns (1-12) to span; default: the panel's own.",
    )
    title: str | None = Field(None, description="Heading shown above the panel.")


@dataclass(frozen=True)
class DerivedColumn:
    """A per-row number one panel offers the others as a colour, e.g. the compare panel's
    k-NN overlap. ``values()`` returns one float a table row (NaN: not measured); it is
    called when the colour is picked, so it may be slow the first time."""

    table: str  # the table whose rows it measures
    value: str  # the colour dropdown's value: ``__...__``, never a column name
    name: str  # shown as the legend's and tooltip's title
    values: Callable[[], np.ndarray]


class Panel:
    """Base class of panels. Subclasses set :attr:`name` (the YAML `type:`) and :attr:`Options`.

    Parameters
    ----------
    options
        Validated options from the panel's YAML entry.
    context
        The app's shared objects and services (read-only for panels).
    index
        Position in `panels:`; makes component ids unique when a type appears twice.
    """

    name: ClassVar[str] = ""
    Options: ClassVar[type[PanelOptions]] = PanelOptions
    #: Grid columns the panel spans when its YAML sets no `width`.
    default_width: ClassVar[int] = 12
    #: Where the page places it: ``sidebar`` (the collapsible column of controls), ``main``
    #: (beside the other maps, filling the window's height) or ``below`` (the grid under
    #: the maps).
    region: ClassVar[Literal["sidebar", "main", "below"]] = "below"

    def __init__(self, options: PanelOptions, context: PanelContext, index: int):
        self.options = options
        self.context = context
        self.index = index

    @property
    def width(self) -> int:
        """Grid columns to span: the option, else :attr:`default_width`."""
        return self.options.width or self.default_width

    def id(self, part: str) -> str:
        """Return a page-unique component id for ``part`` of this panel."""
        return f"{self.name}-{self.index}-{part}"

    def error(self, key: str, message: str, remedy: str) -> ConfigError:
        """Build a :class:`ConfigError` that points at this panel's `key` in the config."""
        return ConfigError(
            f"{self.context.config.source}: `panels[{self.index}].{key}`: {message}\n{remedy}"
        )

    def check_table(self, table: str | None) -> str:
        """Return ``table`` (default: the initial projection's) after checking it exists."""
        name = table or self.context.initial_request.table
        resolved = self.context.resolve_table(name)
        if resolved is None:
            datasets = self.context.datasets
            allowed = {ds.key for ds in datasets.values()} | set(datasets)
            raise self.error(
                "table", f"unknown table {name!r}", f"allowed values: {quote_list(allowed)}"
            )
        return resolved

    def check_columns(self, key: str, columns: Iterable[str], table: str) -> None:
        """Raise :meth:`error` at option ``key`` for the first of ``columns`` that ``table``
        lacks among its metadata columns, listing the ones it has."""
        available = self.context.datasets[table].metadata_columns
        for column in columns:
            if column not in available:
                raise self.error(
                    key,
                    f"column {column!r} not found in table {table!r}",
                    f"allowed values: {quote_list(available)}",
                )

    def validate(self) -> None:
        """Check options against the data (columns exist, ...); raise :meth:`error` if not.

        Read the context; do not change it (other panels share it)."""

    def derived_columns(self) -> list[DerivedColumn]:
        """Per-row values this panel offers every map of a table as a colour (called once,
        after :meth:`validate`)."""
        return []

    def layout(self) -> Any:
        """Return the panel's Dash component tree."""
        raise NotImplementedError(f"panel {self.name!r} does not implement `layout`")

    def card(
        self, default_title: str, body: Any, *, controls: Any = None, body_style: Any = None
    ) -> Any:
        """The panel framed as the built-ins are: a card titled with the `title` option (else
        ``default_title``), ``controls`` on the header's right, ``body`` inside."""
        import dash_bootstrap_components as dbc

        from dashboard.plugin.components import card_header

        title = self.options.title or default_title
        header = card_header(title, controls) if controls is not None else dbc.CardHeader(title)
        return dbc.Card([header, dbc.CardBody(body, style=body_style)], className="shadow-sm")

    def view_id(self, *path: str | int) -> dict[str, Any]:
        """The id of a widget bound to the view at ``path`` (its ``value`` is that part of
        the view: it goes in the link and is restored from it). Built-ins use core paths
        (``search``, ``query``); a plugin's own state goes under ``panels``: use
        :meth:`own_view_id`."""
        from dashboard.web.view import path as view_path

        return {"type": VIEW_TYPE, "panel": self.index, "key": view_path(*path)}

    def own_view_id(self, key: str) -> dict[str, Any]:
        """The id of a widget whose value is this panel's own part of the view (kept in
        the link), at ``panels.<index>.<key>``."""
        return self.view_id("panels", f"{self.index}.{key}")

    def action_id(self) -> dict[str, Any]:
        """The id of this panel's action store: write :func:`action` values to its
        ``data`` to change the view."""
        return {"type": ACTION_TYPE, "panel": self.index}

    def rings_id(self) -> dict[str, Any]:
        """The id of this panel's rings store: ``{"table", "rows", "label"}`` it writes are
        ringed on the maps of that table (search matches, a row's neighbours)."""
        return {"type": RINGS_TYPE, "panel": self.index}

    def normalise_view(self, before: Any, data: dict[str, Any]) -> None:
        """Put this panel's part of view data ``data`` right after a change (``before`` is
        the view before it), e.g. a colour the new table lacks; called on every change."""

    def register_callbacks(self, app: Dash) -> None:
        """Attach callbacks with ``app.callback`` (never the process-global ``dash.callback``)."""
