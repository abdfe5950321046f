"""The values of the page's stores that panels read, as schemas, and :func:`checked`, which
holds a callback's arguments to them at the boundary.

Anyone who can reach the page can send any JSON as any callback input. A panel callback
annotated with these types (``selection: Rows | None``) and wrapped in :func:`checked` runs
only on values that fit; anything else fails with a short :class:`BadInputError` naming the
argument and what did not fit (the app shows it above the panel with an error id and logs
it), never with a traceback from deep inside the panel.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from dashboard.errors import BadInputError
from dashboard.projection.request import RequestValue

__all__ = ["Focus", "Highlight", "RequestValue", "Row", "Rows", "checked"]

F = TypeVar("F", bound=Callable[..., Any])

#: A row index (a table has fewer rows than this).
Row = Annotated[int, Field(ge=0, le=2**40)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


#: Most selected rows the page's address (the view's link) keeps: a link must stay short
#: enough to share, so a reload or a shared link of a bigger selection has its first rows.
LINK_ROWS = 2000


class Rows(_Strict):
    """Rows of one table (the selection store's value)."""

    table: str | None = None
    rows: list[Row] = Field(default_factory=list)


class Highlight(Rows):
    """Rows to ring on the map, with what the ring means (the highlight store's value)."""

    label: str = Field("", max_length=300)


class Focus(_Strict):
    """The one row a person is looking at, clicked on the map or in a list (the focus
    store's value)."""

    table: str | None = None
    row: Row | None = None


def checked(fn: F) -> F:
    """Check ``fn``'s arguments against its type annotations before it runs.

    Arguments annotated ``Any`` (or not at all) pass as they are; the others must fit their
    type (pydantic's lax mode: ``"3"`` fits ``int``). The function gets the values as sent.

    Raises
    ------
    BadInputError
        Naming the first argument that does not fit, where, and why (never its value).
    """
    hints = typing.get_type_hints(fn, include_extras=True)
    signature = inspect.signature(fn)
    adapters = {
        name: TypeAdapter(hint)
        for name, hint in hints.items()
        if name != "return" and hint is not Any and name in signature.parameters
    }

    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(*args, **kwargs)
        for name, value in bound.arguments.items():
            adapter = adapters.get(name)
            if adapter is None:
                continue
            try:
                adapter.validate_python(value)
            except ValidationError as exc:
                first = exc.errors(include_input=False, include_url=False)[0]
                where = ".".join(str(part) for part in first["loc"])
                detail = f"{where}: {first['msg']}" if where else first["msg"]
                raise BadInputError(
                    f"the page sent a `{name}` that does not fit ({detail})\nreload the page"
                ) from None
        return fn(*args, **kwargs)

    return call  # type: ignore[return-value]
