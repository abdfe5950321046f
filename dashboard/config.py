"""Pydantic models of the YAML config; a loader whose errors name file, key and allowed values."""

from __future__ import annotations

import os
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ByteSize,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

from dashboard.errors import ConfigError, quote_list

CACHE_ENV = "EMBEDDING_DASHBOARD_CACHE"
NUMBA_CACHE_ENV = "NUMBA_CACHE_DIR"


def user_cache_dir() -> Path:
    """The per-user cache folder: ``$XDG_CACHE_HOME/embedding-dashboard`` (default
    ``~/.cache/embedding-dashboard``)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "embedding-dashboard"


def resolve_cache_dir(cache_dir: str | os.PathLike[str] | None) -> Path:
    """The cache directory for a `cache_dir` setting: it, else ``$EMBEDDING_DASHBOARD_CACHE``,
    else :func:`user_cache_dir`."""
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    return user_cache_dir()


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TableConfig(_Strict):
    """One table of embeddings plus metadata."""

    path: str = Field(
        description="File, glob, directory, or a plugin source such as `sklearn://digits`."
    )
    format: Literal["parquet", "csv", "ndjson", "ipc"] | None = Field(
        None, description="File format; guessed from the file extension when omitted."
    )
    embedding: str | list[str] | None = Field(
        None,
        description="One list/array column, a list of numeric columns, or a glob such as "
        "`dim_*`. Default: the only vector column, else all numeric columns.",
    )
    label: str | None = Field(None, description="Column shown on hover and used to colour.")
    text: str | None = Field(None, description="Column of longer text shown on hover.")
    image: str | None = Field(None, description="Column of PNG bytes, file paths or URLs.")
    id: str | None = Field(None, description="Column that identifies a row across tables.")
    color: str | None = Field(
        None,
        description="Column the map opens coloured by; a column of `#rrggbb` colours (an "
        "`Object3D`'s RGB) is drawn in those colours.",
    )
    storage_options: dict[str, str] | None = Field(
        None,
        description="For `s3://`, `gs://`, `az://` or `https://` paths: options for Polars' "
        "object-store reader (`aws_endpoint_url`, `aws_region`, ...); `${NAME}` reads the "
        "environment variable NAME.",
    )


class SampleConfig(_Strict):
    """When and how to fit a reducer on a sample of a big table."""

    max_rows: Annotated[int, Field(ge=100)] | Literal["auto"] | None = Field(
        "auto",
        description="Fit at most this many rows. `auto`: each reducer's own limit (UMAP and "
        "t-SNE 200,000; PCA none); a number: that limit for every reducer; null: never sample.",
    )
    stratify: str | None = Field(
        None,
        description="Column whose values keep their proportions in the sample (each value "
        "keeps at least one row); a table without it is sampled at random.",
    )
    seed: int = Field(0, ge=0, description="Seed of the sample: the same seed, the same rows.")
    place_rest: bool = Field(
        True,
        description="Place the rows left out on the fitted map with the reducer's `transform` "
        "(PCA, UMAP); false, or a reducer without it (t-SNE): only the sample is drawn.",
    )

    def limit(self, reducer_limit: int | None, asked: int | None = None) -> int | None:
        """Most rows to fit: ``asked`` (from the controls), else this config's, else the
        reducer's own ``reducer_limit`` (for `auto`); None for no limit."""
        if asked:
            return asked
        if self.max_rows == "auto":
            return reducer_limit
        return self.max_rows


class ProjectionConfig(_Strict):
    """The projection the dashboard opens with."""

    table: str | None = Field(None, description="Table to project first; default: the first.")
    reducer: str = Field("pca", description="Name of a registered reducer.")
    params: dict[str, Any] = Field(
        default_factory=dict, description="Reducer parameters, checked against its `Params`."
    )
    dims: Literal[2, 3] = Field(2, description="2 for a flat map, 3 for a rotatable cloud.")
    pca_dims: int | None = Field(
        50,
        ge=2,
        le=4096,
        description="Before UMAP and t-SNE, reduce wider embeddings to this many PCA "
        "dimensions (much faster, neighbourhoods kept); null to use the raw vectors.",
    )
    sample: SampleConfig = Field(
        default_factory=SampleConfig, description="Fitting big tables on a sample."
    )
    time_limit: float | None = Field(
        1800,
        gt=0,
        description="Seconds a reducer may run before the map reports it stuck and the page "
        "moves on (a plugin that hangs must not hold the map forever); null: no limit.",
    )
    workers: int = Field(
        1,
        ge=0,
        le=64,
        description="Worker processes that compute maps, each one map at a time (a reducer "
        "that crashes ends its worker, not the server; Cancel ends the work); 0: compute in "
        "the server's own threads.",
    )


class PanelConfig(BaseModel):
    """A panel: `type` names a registered panel; other keys are that panel's options."""

    model_config = ConfigDict(extra="allow")
    type: str

    def options(self) -> dict[str, Any]:
        """Return the panel's own options (every key but `type`)."""
        return dict(self.model_extra or {})


class CeleryConfig(_Strict):
    """Run projections on Celery workers (other machines) instead of server threads."""

    broker: str = Field(description="Broker URL, e.g. `redis://127.0.0.1:6379/0`.")
    backend: str | None = Field(
        None, description="Result backend URL; default: the broker (Redis serves as both)."
    )


def _default_panels() -> list[PanelConfig]:
    return [PanelConfig(type="controls"), PanelConfig(type="scatter")]


class DaskConfig(_Strict):
    """A Dask cluster that reads big tables and places their rows on the fitted map."""

    address: str | None = Field(
        None,
        description="Scheduler address, e.g. `tcp://10.0.0.5:8786`; null: a cluster of "
        "`local_workers` processes on this machine (loopback), started when first needed.",
    )
    local_workers: int = Field(2, ge=1, le=256, description="Worker processes of a local cluster.")
    min_rows: int = Field(
        1_000_000,
        ge=0,
        description="Tables with fewer rows are mapped in the server's own worker, as without "
        "Dask.",
    )
    fit_rows: int = Field(
        200_000,
        ge=100,
        description="Rows each reducer fits (a seeded sample, `projection.sample.stratify` "
        "applies); the cluster places every other row with the reducer's `transform`.",
    )
    connect_timeout: float = Field(
        30, gt=0, description="Seconds to wait for the scheduler at `address`."
    )


class DashboardConfig(_Strict):
    """The whole dashboard, as written in one YAML file."""

    title: str = Field("Embedding projector", description="Shown in the page header and tab.")
    tables: dict[str, TableConfig] = Field(min_length=1, description="Tables by name.")
    projection: ProjectionConfig = Field(
        default_factory=ProjectionConfig, description="The map the page opens with."
    )
    panels: list[PanelConfig] = Field(
        default_factory=_default_panels,
        description="The page's panels, in order: `{type: <panel>, ...options}`.",
    )
    disable_plugins: list[str] = Field(
        default_factory=list,
        description="Plugins to leave out, by name (built-in or installed); "
        "`python -m dashboard plugins` lists them.",
    )
    cache_dir: Path | None = Field(
        None, description=f"Projection cache; default `${CACHE_ENV}` or the user cache dir."
    )
    numba_cache_dir: Path | None = Field(
        None,
        description="Where UMAP's compiled code is kept; default `$NUMBA_CACHE_DIR`, else "
        "`numba/` in the user cache dir, shared by every config, so it compiles once per "
        "machine.",
    )
    memory_budget: ByteSize | Literal["auto"] | None = Field(
        "auto",
        description="Bytes an embedding matrix may take in memory, e.g. `8GB`. A bigger one "
        "(a local parquet table) is decoded straight into a float32 file in the cache and "
        "read a block of rows at a time. `auto`: half of this machine's memory; null: no limit.",
    )
    approximate_neighbors_above: int | None = Field(
        1_000_000,
        ge=0,
        description="Tables with more rows find a row's neighbours in the original space "
        "with an approximate index (faiss, built once in the background and kept in the "
        "cache; exact re-ranking; its measured recall is shown); null: always exact.",
    )
    dask: DaskConfig | None = Field(
        None,
        description="Compute maps of big parquet tables on a Dask cluster: the workers read "
        "the table and place its rows, the server fits a sample. `{}` starts a local cluster.",
    )
    celery: CeleryConfig | None = Field(
        None,
        description="Background projections through Dash's Celery manager on these workers "
        "(start them with `celery -A dashboard.serve.worker:celery_app worker --pool threads`).",
    )
    source: str = Field("<config>", exclude=True, description="Where the config came from.")

    @field_validator("tables")
    @classmethod
    def _names_are_simple(cls, tables: dict[str, TableConfig]) -> dict[str, TableConfig]:
        for name in tables:
            if not name or name.strip() != name:
                raise ValueError(f"table name {name!r} must be non-empty, without outer spaces")
        return tables

    def resolved_cache_dir(self) -> Path:
        """Return the cache directory: config key, then environment, then the user cache."""
        return resolve_cache_dir(self.cache_dir)

    def writable_cache_dir(self) -> Path:
        """:meth:`resolved_cache_dir`, created if missing and checked to take files.

        Raises
        ------
        ConfigError
            When it is a file, lies under one, or cannot be created or written.
        """
        path = self.resolved_cache_dir()
        try:
            path.mkdir(parents=True, exist_ok=True)
            probe = path / f".write-test-{os.getpid()}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            if self.cache_dir is not None:
                where = "`cache_dir`"
            elif os.environ.get(CACHE_ENV):
                where = f"`${CACHE_ENV}`"
            else:
                where = "the default cache directory (set `cache_dir`)"
            raise ConfigError(
                f"{self.source}: {where}: cannot keep the cache in {str(path)!r}: "
                f"{exc.strerror or exc}\n"
                "give a directory this user can write (it is created if missing)"
            ) from None
        return path

    def resolved_memory_budget(self) -> int | None:
        """:attr:`memory_budget` in bytes (None: no limit)."""
        if self.memory_budget == "auto":
            from dashboard.data.matrix_file import physical_memory

            return physical_memory() // 2 or None
        return None if self.memory_budget is None else int(self.memory_budget)

    def resolved_numba_cache_dir(self) -> Path:
        """Where reducers keep compiled code: config key, then ``$NUMBA_CACHE_DIR``, then
        the user cache (one per machine, shared by every config)."""
        if self.numba_cache_dir is not None:
            return self.numba_cache_dir
        if os.environ.get(NUMBA_CACHE_ENV):
            return Path(os.environ[NUMBA_CACHE_ENV])
        return user_cache_dir() / "numba"

    def error(self, key: str, message: str, remedy: str) -> ConfigError:
        """Build a :class:`ConfigError` naming this config's file and ``key``."""
        return ConfigError(f"{self.source}: `{key}`: {message}\n{remedy}")


class DuplicateKeyError(yaml.YAMLError):
    """A mapping in the YAML names one key twice."""


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key a mapping already has: plain YAML keeps the last
    one silently, so a second `tables:` would drop the first without a word."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                first = seen.get(key)
            except TypeError:  # an unhashable key: the base loader says what is wrong
                continue
            line = key_node.start_mark.line + 1
            if first is not None:
                raise DuplicateKeyError(f"`{key}` appears twice, at lines {first} and {line}")
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


def _load_yaml(text: str) -> Any:
    """``yaml.safe_load``, refusing twice-named keys."""
    loader = _UniqueKeyLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def load_config(path: str | os.PathLike[str]) -> DashboardConfig:
    """Read and validate a YAML config file.

    Relative table paths and `cache_dir` resolve against the file's directory.

    Raises
    ------
    ConfigError
        If the file is missing, is not valid YAML, or does not fit the models;
        the message names the file, the key path and the allowed values.
    """
    file = Path(path).expanduser()
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"cannot read config file {str(file)!r}: {exc.strerror or exc}\n"
            "pass an existing YAML file with `--config`"
        ) from exc
    except UnicodeDecodeError as exc:
        line = file.read_bytes()[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"{file}: not UTF-8 text: byte {exc.object[exc.start]:#04x} at line {line}\n"
            "save the config as UTF-8"
        ) from None
    try:
        data = _load_yaml(text)
    except DuplicateKeyError as exc:
        raise ConfigError(f"{file}: {exc}\nkeep one of them (YAML keeps only the last)") from None
    except yaml.YAMLError as exc:
        where = ""
        mark = getattr(exc, "problem_mark", None)
        if mark is not None:
            where = f" at line {mark.line + 1}, column {mark.column + 1}"
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(
            f"{file}: invalid YAML{where}: {problem}\nfix the syntax; keys and values as in "
            "configs/demo.yaml"
        ) from exc
    return parse_config(data, source=str(file), base_dir=file.parent)


def parse_config(
    data: Any, *, source: str = "<config>", base_dir: str | os.PathLike[str] | None = None
) -> DashboardConfig:
    """Validate an already-parsed mapping (e.g. from YAML) into a :class:`DashboardConfig`."""
    if data is None:
        raise ConfigError(
            f"{source}: the config is empty\n"
            "it needs at least `tables:`; see configs/demo.yaml for a complete example"
        )
    if not isinstance(data, Mapping):
        raise ConfigError(
            f"{source}: the config must be a mapping of keys, got {type(data).__name__}\n"
            f"allowed keys: {quote_list(DashboardConfig.model_fields.keys() - {'source'})}"
        )
    if "source" in data:
        raise ConfigError(
            f"{source}: `source`: unknown key\n"
            f"allowed keys: {quote_list(DashboardConfig.model_fields.keys() - {'source'})}"
        )
    try:
        config = DashboardConfig.model_validate({**data, "source": source})
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, DashboardConfig, source)) from None
    if base_dir is not None:
        base = Path(base_dir)
        for table in config.tables.values():
            if "://" not in table.path:
                table.path = str(base / Path(table.path).expanduser())
        for key in ("cache_dir", "numba_cache_dir"):
            value = getattr(config, key)
            if value is not None:
                setattr(config, key, base / value.expanduser())
    return config


def key_path(loc: tuple[int | str, ...], prefix: str = "") -> str:
    """Render a pydantic error location as a YAML key path, e.g. ``panels[1].color``."""
    out = prefix
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def format_validation_error(
    exc: ValidationError, model: type[BaseModel], source: str, prefix: str = ""
) -> str:
    """Turn a pydantic error into our message shape: where, what, then the allowed values."""
    lines = []
    seen = set()
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        # Union members add their type name to the location; it means nothing in YAML.
        loc = tuple(p for p in loc if not (isinstance(p, str) and _is_type_tag(p)))
        where = key_path(loc, prefix)
        if where in seen:  # one message per key, not one per member of a union
            continue
        seen.add(where)
        if err["type"] == "extra_forbidden":
            parent = _model_at(model, loc[:-1])
            allowed = sorted(parent.model_fields.keys() - {"source"}) if parent else []
            lines.append(f"{source}: `{where}`: unknown key\nallowed keys: {quote_list(allowed)}")
        elif err["type"] == "missing":
            lines.append(f"{source}: `{where}`: required key is missing\nadd `{loc[-1]}:`")
        else:
            msg = err["msg"][0].lower() + err["msg"][1:]
            value = err.get("input")
            got = f", got {value!r}" if not isinstance(value, (dict, list)) else ""
            lines.append(f"{source}: `{where}`: {msg}{got}\n{_allowed_hint(model, loc)}")
    return "\n".join(lines)


def _is_type_tag(part: str) -> bool:
    return part in {"str", "int", "float", "bool", "list[str]", "literal[2,3]"} or part.startswith(
        ("literal[", "list[", "function-")
    )


def _model_at(model: type[BaseModel] | None, loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """Walk a model's field annotations along ``loc``; return the model found there, if any."""
    current: Any = model
    for part in loc:
        current = _unwrap(current)
        if isinstance(part, int) or (
            typing.get_origin(current) in (dict, list) and not _is_model(current)
        ):
            args = typing.get_args(current)
            current = args[-1] if args else None
            continue
        if not _is_model(current) or part not in current.model_fields:
            return None
        current = current.model_fields[part].annotation
    current = _unwrap(current)
    return current if _is_model(current) else None


def _unwrap(tp: Any) -> Any:
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return args[0] if len(args) == 1 else tp
    return tp


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _allowed_hint(model: type[BaseModel], loc: tuple[int | str, ...]) -> str:
    parent = _model_at(model, loc[:-1])
    if parent is None or not isinstance(loc[-1], str) or loc[-1] not in parent.model_fields:
        return "see the config reference (docs/config.md)"
    field = parent.model_fields[loc[-1]]
    schema = field.description or ""
    literal = _literal_values(field.annotation)
    if literal:
        return f"allowed values: {', '.join(repr(v) for v in literal)}"
    return f"expected: {schema}" if schema else "see the config reference (docs/config.md)"


def _literal_values(tp: Any) -> list[Any]:
    if typing.get_origin(tp) is Literal:
        return list(typing.get_args(tp))
    for arg in typing.get_args(tp):
        found = _literal_values(arg)
        if found:
            return found
    return []
