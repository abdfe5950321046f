"""The page's one view state, and the pure functions that change it.

Everything a person can change on the page is in one :class:`View`: what is projected (table,
reducer, its parameters, dims, sample, isolated rows), how each map is drawn (colour, size,
opacity, hidden legend categories, camera), the filters, the search, the selection, the
highlighted rows and the focused row. The page keeps it in the view store, written by one
callback only (:mod:`dashboard.web.state`); every restyle, ring, dim and panel content is
derived from it, and the ``?view=`` link is it, serialised.

It changes in two ways, both validated here:

- a view-bound widget's value: :func:`set_path` at the path its id names
  (``{"type": "dashboard-view", "panel": i, "key": "search/query"}``);
- an action a panel or the page's script sends: :func:`apply_action` (select, clear, focus,
  highlight, isolate, show all, legend, camera, escape).

After either, :func:`normalise` lets the core and each panel fix what the change made invalid
(a colour column the new table lacks, rows of another table).
"""

from __future__ import annotations

import base64
import copy
import json
import logging
import urllib.parse
import zlib
from collections.abc import Callable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from dashboard.data.dataset import variant_key
from dashboard.plugin.stores import LINK_ROWS, Focus, Highlight, Row, Rows

logger = logging.getLogger(__name__)

#: Most bytes of a link's decoded JSON, and of its compressed text.
LINK_BYTES = 200_000
#: Deepest nesting of a link's JSON.
LINK_DEPTH = 12


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FilterSpec(_Strict):
    """Keep rows whose value is one of ``in`` (as text), or from ``min`` to ``max``."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    in_: list[str] | None = Field(None, alias="in", max_length=10_000)
    min: float | None = None
    max: float | None = None

    def spec(self) -> dict[str, Any] | None:
        """The filter store's spec (``{"in": [...]}`` or ``{"range": [low, high]}``), or
        None when it leaves every row in."""
        if self.in_:
            return {"in": list(self.in_)}
        if self.min is not None or self.max is not None:
            return {"range": [self.min, self.max]}  # None: no bound on that side
        return None


class MapView(_Strict):
    """How one map (a scatter panel) is drawn."""

    #: The table the map shows (its own when pinned, else the view's).
    table: str | None = None
    colour: str | None = None
    size: str | None = None
    opacity: float = Field(0.85, ge=0.1, le=1.0)
    #: Legend categories hidden by a click on the legend.
    hidden: list[str] = Field(default_factory=list)
    #: Points drawn as their images (a table with an image column).
    images: bool = False
    #: The map's clusters named where they sit (2D maps).
    labels: bool = False
    #: The 2D axis ranges or 3D camera the person zoomed or turned to; None: fit the points.
    camera: dict[str, Any] | None = None


class Search(_Strict):
    query: str = Field("", max_length=1000)
    regex: bool = False

    @field_validator("query", mode="before")
    @classmethod
    def _emptied(cls, value: Any) -> Any:
        return "" if value is None else value


class Book(_Strict):
    """What the view callback keeps to apply each change once, in order, on the latest view
    (see :mod:`dashboard.web.state`)."""

    #: The page's own id (a new page, a new id).
    page: str = Field("", max_length=64)
    #: How many changes the view has had: of two views of one page, the later.
    rev: int = Field(0, ge=0)
    #: The number (``seq``) of the last action taken from each action store, by the store's
    #: panel: an action whose call Dash dropped is taken by the next call, and only once.
    applied: dict[str, str] = Field(default_factory=dict, max_length=1000)


class View(_Strict):
    """Everything a person can change on the page."""

    table: str
    #: The table's embedding picked in the "Embedding" select; None: the table's default.
    embedding: str | None = Field(None, max_length=500)
    reducer: str
    dims: Literal[2, 3] = 2
    #: The parameter widgets' values, per reducer (what the person typed; checked when a
    #: request is made from them).
    params: dict[str, dict[str, Any]] = Field(default_factory=dict)
    max_rows: int | None = Field(None, ge=100)
    #: Project only these rows ("isolate"); None: all.
    rows: list[Row] | None = None
    selection: Rows = Field(default_factory=Rows)
    highlight: Highlight = Field(default_factory=Highlight)
    focus: Focus = Field(default_factory=Focus)
    #: Metadata filters of ``table``, by column.
    filters: dict[str, FilterSpec] = Field(default_factory=dict)
    search: Search = Field(default_factory=Search)
    #: How each map is drawn, by its panel's index.
    maps: dict[str, MapView] = Field(default_factory=dict)
    #: Other panels' own widget values, by ``"<panel index>.<key>"``.
    panels: dict[str, Any] = Field(default_factory=dict)
    #: The page's own bookkeeping, not part of what a person sees or shares.
    book: Book = Field(default_factory=Book)

    @property
    def dataset(self) -> str:
        """The dataset the view projects: ``table`` with its picked embedding."""
        return variant_key(self.table, self.embedding)

    def data(self) -> dict[str, Any]:
        """The JSON-ready value of the view store."""
        return self.model_dump(mode="json", by_alias=True)


def parse(data: Any) -> View:
    """A view from a store or link value.

    Raises
    ------
    ValidationError
        When it is not one.
    """
    return View.model_validate(data, by_alias=True)


# -- widget values ------------------------------------------------------------------------


def path(*parts: str | int) -> str:
    """The path of ``parts`` in the view (``path("filters", "a/b.c", "in")`` is
    ``filters/a%2Fb%2Ec/in``): each part is escaped, so a column name may hold any character,
    and the path holds no dot (Dash escapes dots in pattern ids, which breaks their JSON)."""
    return "/".join(urllib.parse.quote(str(p), safe="").replace(".", "%2E") for p in parts)


def split_path(key: str) -> list[str]:
    """The parts of a :func:`path`."""
    return [urllib.parse.unquote(p) for p in key.split("/")]


def set_path(data: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    """A copy of view data ``data`` with ``dotted`` (a :func:`path`, e.g. ``maps/1/colour``)
    set to ``value``; intermediate mappings are made as needed. The caller validates the
    result."""
    out = copy.deepcopy(data)
    parts = split_path(dotted)
    node = out
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[parts[-1]] = value
    return out


def get_path(data: Mapping[str, Any], dotted: str) -> Any:
    """The value at ``dotted`` (a :func:`path`) in view data, or None."""
    node: Any = data
    for part in split_path(dotted):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


# -- actions ------------------------------------------------------------------------------


class Action(_Strict):
    """What a panel or the page's script asks of the view."""

    model_config = ConfigDict(extra="allow")
    op: Literal[
        "select",
        "clear",
        "focus",
        "highlight",
        "clear_highlight",
        "isolate",
        "show_all",
        "legend",
        "camera",
        "escape",
        "clear_filters",
        "colour",
    ]
    seq: float | int | str | None = None


class SelectAction(_Strict):
    op: Literal["select"]
    seq: float | int | str | None = None
    table: str | None = None
    rows: list[Row] = Field(default_factory=list, max_length=5_000_000)


class FocusAction(_Strict):
    op: Literal["focus"]
    seq: float | int | str | None = None
    table: str | None = None
    row: Row | None = None


class HighlightAction(_Strict):
    op: Literal["highlight"]
    seq: float | int | str | None = None
    table: str | None = None
    rows: list[Row] = Field(default_factory=list, max_length=5_000_000)
    label: str = Field("", max_length=300)


class LegendAction(_Strict):
    op: Literal["legend"]
    seq: float | int | str | None = None
    map: str
    category: str = Field(max_length=300)
    #: ``toggle`` hides or shows it; ``only`` shows it alone (or all again).
    how: Literal["toggle", "only"] = "toggle"
    categories: list[str] = Field(default_factory=list, max_length=1000)


class CameraAction(_Strict):
    op: Literal["camera"]
    seq: float | int | str | None = None
    map: str
    camera: dict[str, Any] | None = None


class ColourAction(_Strict):
    op: Literal["colour"]
    seq: float | int | str | None = None
    #: The colour dropdown's value; a map whose table cannot show it keeps its own.
    colour: str = Field(max_length=1000)


ACTIONS: dict[str, type[BaseModel]] = {
    "select": SelectAction,
    "focus": FocusAction,
    "highlight": HighlightAction,
    "legend": LegendAction,
    "camera": CameraAction,
    "colour": ColourAction,
}


class RefusedError(ValueError):
    """An action the view cannot take, with the reason a person can read."""


def apply_action(view: View, action: Mapping[str, Any]) -> View:
    """The view after ``action``.

    Raises
    ------
    ValidationError
        When the action is not one (a forged or damaged value).
    RefusedError
        When it cannot be taken now (isolating fewer than 5 selected rows).
    """
    op = Action.model_validate(action).op
    typed = ACTIONS[op].model_validate(action) if op in ACTIONS else None
    data = view.data()
    if isinstance(typed, SelectAction):
        data["selection"] = {"table": typed.table, "rows": sorted(set(typed.rows))}
        if len(typed.rows) == 1:  # one clicked point is also the one looked at
            data["focus"] = {"table": typed.table, "row": typed.rows[0]}
    elif op == "clear":
        data["selection"] = Rows().model_dump()
    elif isinstance(typed, FocusAction):
        data["focus"] = {"table": typed.table, "row": typed.row}
    elif isinstance(typed, HighlightAction):
        data["highlight"] = {"table": typed.table, "rows": typed.rows, "label": typed.label}
    elif op == "clear_highlight":
        data["highlight"] = Highlight().model_dump()
    elif op == "escape":
        # Escape lets go of what a person picked: the selection, the focus, the rings.
        for key, empty in (("selection", Rows()), ("focus", Focus()), ("highlight", Highlight())):
            data[key] = empty.model_dump()
    elif op == "isolate":
        rows = view.selection.rows if view.selection.table == view.dataset else []
        if len(rows) < MIN_ISOLATE:
            raise RefusedError(
                f"select at least {MIN_ISOLATE} points of {view.table!r} on the map to isolate "
                "them\nuse the box or lasso tool"
            )
        data["rows"] = sorted(rows)
    elif op == "show_all":
        data["rows"] = None
    elif op == "clear_filters":
        data["filters"] = {}
    elif isinstance(typed, LegendAction):
        _legend(data, typed)
    elif isinstance(typed, CameraAction):
        data.setdefault("maps", {}).setdefault(typed.map, {})["camera"] = typed.camera
    elif isinstance(typed, ColourAction):
        # Every map of the view's table: the scatter panels' own check (`normalise_view`)
        # keeps a map's colour where the new one is not among its choices.
        for state in data.get("maps", {}).values():
            if state.get("table") == view.dataset:
                state["colour"], state["hidden"] = typed.colour, []
    return parse(data)


#: Fewest selected points "Isolate selection" re-projects.
MIN_ISOLATE = 5


def _legend(data: dict[str, Any], action: LegendAction) -> None:
    state = data.setdefault("maps", {}).setdefault(action.map, {})
    hidden = set(state.get("hidden") or [])
    if action.how == "toggle":
        hidden ^= {action.category}
    else:
        others = set(action.categories) - {action.category}
        # Double-click: show it alone; on the one shown alone: show them all again.
        hidden = set() if hidden == others else others
    state["hidden"] = sorted(hidden)


# -- keeping the view whole ---------------------------------------------------------------

#: ``normalise(before, after_data)`` hooks of the panels: fix their own part of the view.
Normaliser = Callable[[View, dict[str, Any]], None]


def normalise(before: View | None, view: View, hooks: list[Normaliser]) -> View:
    """``view`` with what its change made invalid put right: rows, filters and rings of a
    table no longer shown are dropped when the table changes, then each panel's hook fixes
    its own part (e.g. a colour column the new table lacks), then the selection, focus and
    rings of a table no map shows are let go of."""
    data = view.data()
    if before is not None and before.table != view.table:
        data["filters"] = {}
        data["rows"] = None
        data["highlight"] = Highlight().model_dump()
        for state in data.get("maps", {}).values():
            state["hidden"] = []
            state["camera"] = None
    if before is not None and (before.reducer, before.dims, before.dataset) != (
        view.reducer,
        view.dims,
        view.dataset,
    ):
        for state in data.get("maps", {}).values():
            state["camera"] = None  # another map: its own fit
    for hook in hooks:
        hook(before or view, data)
    shown = {state.get("table") for state in data.get("maps", {}).values()} - {None}
    if shown:
        # What was picked on a table no map shows any more cannot be seen or let go of.
        for key, empty in (("selection", Rows()), ("focus", Focus()), ("highlight", Highlight())):
            if data[key].get("table") not in shown | {None}:
                data[key] = empty.model_dump()
    return parse(data)


# -- the link -----------------------------------------------------------------------------


def to_link(view: View) -> str:
    """Compact, URL-safe text for ``view`` (JSON, deflated, base64url); the selection keeps
    its first :data:`LINK_ROWS` rows, and the rings and focus (derived or passing) are left
    out."""
    data = view.data()
    data["selection"]["rows"] = data["selection"]["rows"][:LINK_ROWS]
    data.pop("highlight", None)
    data.pop("focus", None)
    data.pop("book", None)  # the page's own: a link opens a new page
    raw = json.dumps(data, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(zlib.compress(raw, 9)).decode().rstrip("=")


class DamagedLinkError(ValueError):
    """A ``?view=`` link that cannot be read; the message says why."""


def from_link(text: str) -> dict[str, Any]:
    """The view data in a link, checked for size and depth (a small link must not become
    a big job), not yet validated as a :class:`View`.

    Raises
    ------
    DamagedLinkError
        When it is not a link this page made.
    """
    if len(text) > LINK_BYTES:
        raise DamagedLinkError(f"the link is {len(text):,} characters, more than {LINK_BYTES:,}")
    try:
        padded = text + "=" * (-len(text) % 4)
        inflater = zlib.decompressobj()
        raw = inflater.decompress(base64.urlsafe_b64decode(padded.encode()), LINK_BYTES + 1)
    except (ValueError, zlib.error) as exc:
        raise DamagedLinkError(f"not a view link: {exc}") from None
    if len(raw) > LINK_BYTES or inflater.unconsumed_tail:
        raise DamagedLinkError(f"the link holds more than {LINK_BYTES:,} bytes")
    if _depth(raw) > LINK_DEPTH:
        raise DamagedLinkError(f"the link nests deeper than {LINK_DEPTH} levels")
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise DamagedLinkError(f"not a view link: {exc}") from None
    if not isinstance(data, dict):
        raise DamagedLinkError(f"the link holds a {type(data).__name__}, not a view")
    return data


def _depth(raw: bytes) -> int:
    # Bracket depth, counted before parsing: json.loads of deep nesting is a RecursionError.
    depth = deepest = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return deepest


def restore(base: View, data: Mapping[str, Any]) -> View:
    """``base`` with the parts of link data ``data`` that are valid (a part that is not is
    dropped, with a warning in the log), so a damaged link still opens the page."""
    merged = base.data()
    for key, value in data.items():
        if key not in View.model_fields or key == "book":
            logger.warning("ignoring unknown key %r in a view link", key)
            continue
        trial = {**merged, key: value}
        try:
            parse(trial)
        except ValidationError as exc:
            logger.warning("ignoring %r of a view link: %s", key, exc.errors()[0]["msg"])
            continue
        merged = trial
    return parse(merged)


def mapping_only(value: Any) -> dict[str, Any]:
    """``value`` if it is a mapping (a store value from the browser), else ``{}``."""
    return dict(value) if isinstance(value, Mapping) else {}


__all__ = [
    "LINK_ROWS",
    "MIN_ISOLATE",
    "Book",
    "DamagedLinkError",
    "FilterSpec",
    "Focus",
    "Highlight",
    "MapView",
    "RefusedError",
    "Rows",
    "Search",
    "View",
    "apply_action",
    "from_link",
    "get_path",
    "normalise",
    "parse",
    "path",
    "restore",
    "set_path",
    "to_link",
]
