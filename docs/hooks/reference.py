"""mkdocs hook: the reference tables are generated from the code, never copied by hand.

A page line ``<!-- reference: NAME -->`` is replaced by the table NAME: the config's models
(``config``), the built-in reducers' parameters (``reducers``) or the built-in panels' options
(``panels``). Each row comes from a pydantic field: its key, type, default and description.
"""

from __future__ import annotations

import re
import types
import typing
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

MARKER = re.compile(r"^<!-- reference: (\w+) -->$", re.M)


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Literal:
        return " \\| ".join(f"`{a!r}`" for a in args)
    if origin in (typing.Union, types.UnionType):
        return " \\| ".join(_type_name(a) for a in args)
    if origin is typing.Annotated:
        return _type_name(args[0])
    if tp is type(None):
        return "null"
    if origin in (list, dict, tuple):
        return f"{origin.__name__}[{', '.join(_type_name(a) for a in args)}]"
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return f"[{tp.__name__}](#{tp.__name__.lower()})"
    return getattr(tp, "__name__", str(tp))


def _bounds(field: Any) -> str:
    """`` (2 to 200)`` from a field's ge/le/gt/lt constraints, or ``""``."""
    low = high = None
    for item in field.metadata:
        for name, attr in (("ge", "ge"), ("gt", "gt"), ("le", "le"), ("lt", "lt")):
            value = getattr(item, attr, None)
            if value is not None:
                if name in ("ge", "gt"):
                    low = f"{'>' if name == 'gt' else ''}{value:,}"
                else:
                    high = f"{'<' if name == 'lt' else ''}{value:,}"
    if low is None and high is None:
        return ""
    return f" ({low or '...'} to {high or '...'})"


def _default(field: Any) -> str:
    if field.default_factory is not None:
        value = field.default_factory()
        if isinstance(value, BaseModel):
            return "see below"
        return f"`{value!r}`"
    if field.default is PydanticUndefined:
        return "required"
    return f"`{field.default!r}`"


def fields_table(model: type[BaseModel], *, skip: set[str] = frozenset(), **defaults: Any) -> str:
    """A markdown table of ``model``'s fields; ``defaults`` override shown defaults."""
    rows = ["| key | type | default | meaning |", "| --- | --- | --- | --- |"]
    for name, field in model.model_fields.items():
        if name in skip or field.exclude:
            continue
        default = f"`{defaults[name]!r}`" if name in defaults else _default(field)
        text = (field.description or "").replace("\n", " ").replace("|", "\\|")
        kind = _type_name(field.annotation) + _bounds(field)
        rows.append(f"| `{name}` | {kind} | {default} | {text} |")
    return "\n".join(rows)


def config_reference() -> str:
    from dashboard.config import (
        CeleryConfig,
        DashboardConfig,
        ProjectionConfig,
        SampleConfig,
        TableConfig,
    )

    parts = []
    for model, title, intro in (
        (DashboardConfig, "Top level", "The whole YAML file."),
        (TableConfig, "tables.&lt;name&gt;", "One table of embeddings and metadata."),
        (ProjectionConfig, "projection", "The map the page opens with."),
        (SampleConfig, "projection.sample", "Fitting big tables on a sample."),
        (CeleryConfig, "celery", "Projections on Celery workers."),
    ):
        anchor = model.__name__.lower()
        parts.append(
            f"### `{title}` {{#{anchor}}}\n\n{intro}\n\n"
            + fields_table(model, skip={"panels", "source"} if model is DashboardConfig else set())
        )
    return "\n\n".join(parts)


def _registry() -> Any:
    from dashboard.plugin.manager import build_registry, get_plugin_manager

    return build_registry(get_plugin_manager(load_entry_points=False))


def reducer_reference() -> str:
    parts = []
    for name, cls in sorted(_registry().reducers.items()):
        doc = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
        facts = []
        if cls.supports_transform:
            facts.append("places new rows (`transform`)")
        if cls.pca_first:
            facts.append("runs on `pca_dims` PCA components of wide embeddings")
        if cls.sample_above:
            facts.append(f"fits a sample above {cls.sample_above:,} rows (`auto`)")
        if cls.supports_alignment:
            facts.append(f"aligns timeline steps (`aligned_{name}`)")
        facts.append(f"needs at least {cls.min_rows} rows")
        parts.append(
            f"### `{name}`: {cls.title}\n\n{doc} It {'; '.join(facts)}.\n\n"
            + fields_table(cls.Params)
        )
    return "\n\n".join(parts)


def panel_reference() -> str:
    parts = []
    for name, cls in sorted(_registry().panels.items()):
        doc = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
        parts.append(
            f"### `{name}`\n\n{doc}\n\n" + fields_table(cls.Options, width=cls.default_width)
        )
    return "\n\n".join(parts)


TABLES = {"config": config_reference, "reducers": reducer_reference, "panels": panel_reference}


def on_page_markdown(markdown: str, **kwargs: Any) -> str:
    return MARKER.sub(lambda m: TABLES[m.group(1)](), markdown)
