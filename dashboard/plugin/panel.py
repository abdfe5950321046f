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
- **Shared state.** Panels talk through the page's stores (the ``*_STORE`` ids here) and the
  context's services; they never import the host app. Caches a panel keeps must be safe under
  threads (several requests run at once): use :class:`dashboard.plugin.Memo` or a lock.
- **Isolation.** A panel whose ``layout()`` raises is replaced by the error; one whose callback
  raises shows the error above itself and keeps its last output; the page and other panels
  carry on. :func:`dashboard.testing.check_panel` runs without that net, so a broken panel
  fails its conformance check.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from dashboard.errors import ConfigError, quote_list

if TYPE_CHECKING:
    import numpy as np
    from dash import Dash

    from dashboard.plugin.context import PanelContext

#: ``dcc.Store`` holding the requested projection (table, reducer, params, dims).
REQUEST_STORE = "dashboard-request"
#: ``dcc.Store`` holding the computed projection (:meth:`Projection.to_store`).
PROJECTION_STORE = "dashboard-projection"
#: ``dcc.Store`` holding the selected rows: ``{"table": name, "rows": [row, ...]}``.
SELECTION_STORE = "dashboard-selection"
#: ``dcc.Store`` of rows to ring on the map: ``{"table", "rows", "label"}`` (search, neighbours).
HIGHLIGHT_STORE = "dashboard-highlight"
#: ``dcc.Store`` of metadata filters: ``{"table", "filters": {column: spec}}``.
FILTER_STORE = "dashboard-filter"


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

    def url_state(self) -> dict[str, tuple[Any, str]]:
        """The component properties this panel keeps in the shareable link, by name:
        ``{"color": (component id, "value")}``. Pattern ids (with ``ALL``) keep a list."""
        return {}

    def register_callbacks(self, app: Dash) -> None:
        """Attach callbacks with ``app.callback`` (never the process-global ``dash.callback``)."""
