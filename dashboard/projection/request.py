"""What a page asks to see (:class:`ProjectionRequest`) and what it gets back
(:class:`Projection`): both travel through the page's stores as JSON."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from dashboard.errors import BadInputError

logger = logging.getLogger(__name__)


#: Most maps of other seeds one stability check fits.
MAX_RUNS = 20


class RequestValue(BaseModel):
    """A request as a page's store holds it (the request store's value): the schema a
    page's value is checked against."""

    model_config = ConfigDict(extra="ignore")

    table: str = Field(max_length=1000)
    reducer: str = Field(max_length=1000)
    dims: Literal[2, 3] = 2
    params: dict[str, Any] | None = None
    rows: list[Annotated[int, Field(ge=0, le=2**40)]] | None = None
    max_rows: Annotated[int, Field(ge=0)] | None = None
    runs: int = Field(0, ge=0, le=MAX_RUNS)


@dataclass(frozen=True)
class ProjectionRequest:
    """What the user asked to see."""

    table: str
    reducer: str
    dims: int = 2
    params: dict[str, Any] = field(default_factory=dict)
    #: Project only these rows ("isolate"); the others get no coordinates (NaN).
    rows: tuple[int, ...] | None = None
    #: Fit at most this many rows (a sample); None: as the config says.
    max_rows: int | None = None
    #: Fit this many maps of other seeds instead, stacked (runs, rows, dims): the maps a
    #: stability check compares with the map of the other fields; 0: the map itself.
    runs: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (what the browser stores)."""
        data = asdict(self)
        data["rows"] = None if self.rows is None else list(self.rows)
        if not self.runs:
            del data["runs"]
        return data

    @classmethod
    def from_dict(cls, data: Any) -> ProjectionRequest:
        """Build from :meth:`to_dict` output (see :meth:`parse` for a page's value)."""
        checked = RequestValue.model_validate(data)
        return cls(
            table=checked.table,
            reducer=checked.reducer,
            dims=checked.dims,
            params=dict(checked.params or {}),
            rows=None if checked.rows is None else tuple(checked.rows),
            max_rows=checked.max_rows or None,
            runs=checked.runs,
        )

    @classmethod
    def parse(cls, data: Any) -> ProjectionRequest:
        """A request from a page's store value (or a request, as is).

        Raises
        ------
        DashboardError
            When ``data`` is not one (a forged or damaged store value).
        """
        if isinstance(data, ProjectionRequest):
            return data
        try:
            return cls.from_dict(data)
        except ValidationError as exc:
            first = exc.errors(include_input=False, include_url=False)[0]
            where = ".".join(str(part) for part in first["loc"])
            detail = f"`{where}`: {first['msg']}" if where else first["msg"]
            raise BadInputError(f"not a projection request: {detail}\nreload the page") from None


@dataclass(frozen=True)
class SampleSummary:
    """How a map of a big table was sampled: rows ``fitted`` of ``of``, stratified ``by`` a
    column (None: at random), and ``placed`` rows put on the map with ``transform``."""

    fitted: int
    of: int
    by: str | None
    placed: int


@dataclass(frozen=True)
class Projection:
    """A computed map: what it shows and the cache key of its coordinates.

    Panels get it from the projection store with :meth:`from_store` and its coordinates
    with :meth:`dashboard.plugin.PanelContext.coordinates`.
    """

    key: str
    table: str
    reducer: str
    dims: int
    params: dict[str, Any]
    n: int
    seconds: float = 0.0
    cached: bool = False
    #: Rows projected when the map is of an isolated subset, else None.
    isolated: int | None = None
    #: The PCA width the reducer ran on first, or None.
    pca_dims: int | None = None
    sample: SampleSummary | None = None

    def to_store(self) -> dict[str, Any]:
        """The JSON-ready value of the projection store."""
        return asdict(self)

    @classmethod
    def from_store(cls, data: Any) -> Projection | None:
        """The projection a store value describes; None when there is none yet, or when the
        value is not one (a damaged or forged value is logged and ignored)."""
        if not data:
            return None
        if isinstance(data, Projection):
            return data
        try:
            projection = _ADAPTER.validate_python(data)
        except ValidationError as exc:
            logger.warning("ignoring a projection store value that is not one: %s", exc)
            return None
        if not projection.key.isalnum():  # keys name cache files
            logger.warning("ignoring a projection with key %r", projection.key)
            return None
        return projection

    def notice(self) -> str | None:
        """What a map fitted on a sample says about it, e.g. ``fitted on 200,000 of
        1,000,000 rows, sampled by `label`; ...``; None for a map of every row."""
        sample = self.sample
        if sample is None:
            return None
        by = f"sampled by `{sample.by}`" if sample.by else "sampled at random"
        if sample.placed:
            return (
                f"fitted on {sample.fitted:,} of {sample.of:,} rows, {by}; "
                f"the other {sample.placed:,} placed on the map with `transform`"
            )
        return f"showing {sample.fitted:,} of {sample.of:,} rows, {by}"


_ADAPTER = TypeAdapter(Projection)
