"""The panel contract: a named class with pydantic ``Options``, a layout and its callbacks."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from dashboard.errors import ConfigError, quote_list

if TYPE_CHECKING:
    import numpy as np
    from dash import Dash

    from dashboard.config import DashboardConfig
    from dashboard.data import Dataset
    from dashboard.plugin_manager import Registry
    from dashboard.projection import ProjectionRequest, ProjectionStore

#: ``dcc.Store`` holding the requested projection (table, reducer, params, dims).
REQUEST_STORE = "dashboard-request"
#: ``dcc.Store`` holding the computed projection's summary (its cache key, table, sizes).
PROJECTION_STORE = "dashboard-projection"
#: ``dcc.Store`` holding the selected rows: ``{"table": name, "rows": [row, ...]}``.
SELECTION_STORE = "dashboard-selection"
#: ``dcc.Store`` of rows to ring on the map: ``{"table", "rows", "label"}`` (search, neighbours).
HIGHLIGHT_STORE = "dashboard-highlight"
#: ``dcc.Store`` of metadata filters: ``{"table", "filters": {column: spec}}``.
FILTER_STORE = "dashboard-filter"


def resolve_table(datasets: Mapping[str, Dataset], name: str) -> str | None:
    """Return the dataset called ``name``, or the first one a config table ``name`` opened
    (a run directory opens one per logged table); None if there is neither."""
    if name in datasets:
        return name
    return next((key for key, ds in datasets.items() if ds.key == name), None)


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


class PanelOptions(BaseModel):
    """Options every panel accepts; subclasses add their own fields."""

    model_config = ConfigDict(extra="forbid")
    width: int = Field(12, ge=1, le=12, description="Bootstrap grid columns (1-12) to span.")
    title: str | None = Field(None, description="Heading shown above the panel.")


@dataclass(frozen=True)
class DerivedColumn:
    """A per-row number one panel offers the others as a colour, e.g. the compare panel's
    k-NN overlap. ``values()`` returns one float a table row (NaN: not measured); it is
    called when the colour is picked, so it may be slow the first time."""

    value: str  # the colour dropdown's value: ``__...__``, never a column name
    name: str  # shown as the legend's and tooltip's title
    values: Callable[[], np.ndarray]


@dataclass
class PanelContext:
    """What a panel may use: the config, tables, registry and projection cache of its app,
    and the colours panels derive for each table."""

    config: DashboardConfig
    datasets: dict[str, Dataset]
    registry: Registry
    store: ProjectionStore
    initial_request: ProjectionRequest
    derived: dict[str, dict[str, DerivedColumn]] = field(default_factory=dict)

    def add_derived(self, table: str, column: DerivedColumn) -> None:
        """Offer ``column`` as a colour of ``table``'s maps (panels call this in
        :meth:`Panel.validate`, before layouts are built)."""
        self.derived.setdefault(table, {})[column.value] = column


class Panel:
    """Base class of panels. Subclasses set :attr:`name` (the YAML `type:`) and :attr:`Options`.

    Parameters
    ----------
    options
        Validated options from the panel's YAML entry.
    context
        The app's shared objects.
    index
        Position in `panels:`; makes component ids unique when a type appears twice.
    """

    name: ClassVar[str] = ""
    Options: ClassVar[type[PanelOptions]] = PanelOptions

    def __init__(self, options: PanelOptions, context: PanelContext, index: int):
        self.options = options
        self.context = context
        self.index = index

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
        resolved = resolve_table(self.context.datasets, name)
        if resolved is None:
            allowed = {ds.key for ds in self.context.datasets.values()} | set(self.context.datasets)
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
        """Check options against the data (columns exist, ...); raise :meth:`error` if not."""

    def layout(self) -> Any:
        """Return the panel's Dash component tree."""
        raise NotImplementedError(f"panel {self.name!r} does not implement `layout`")

    def url_state(self) -> dict[str, tuple[Any, str]]:
        """The component properties this panel keeps in the shareable link, by name:
        ``{"color": (component id, "value")}``. Pattern ids (with ``ALL``) keep a list."""
        return {}

    def register_callbacks(self, app: Dash) -> None:
        """Attach callbacks with ``app.callback`` (never the process-global ``dash.callback``)."""
