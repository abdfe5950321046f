"""Where tables come from: local files (file, glob or directory), object-store URLs, run
directories written by the writer API, and plugin sources (``dashboard_scan_table``)."""

from __future__ import annotations

import fnmatch
import glob
import logging
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

import polars as pl

from dashboard.config import TableConfig
from dashboard.data.cloud import SCHEMES, expand_options, is_cloud, list_parquet_objects
from dashboard.data.dataset import ROLES, Dataset, variant_key
from dashboard.data.runs import find_logged_tables
from dashboard.errors import DataError, quote_list

logger = logging.getLogger(__name__)

SCANNERS: dict[str, Callable[..., pl.LazyFrame]] = {
    "parquet": pl.scan_parquet,
    "csv": pl.scan_csv,
    "ndjson": pl.scan_ndjson,
    "ipc": pl.scan_ipc,
}
EXTENSIONS = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
    ".ndjson": "ndjson",
    ".jsonl": "ndjson",
    ".ipc": "ipc",
    ".arrow": "ipc",
    ".feather": "ipc",
}


def resolve_table(datasets: Mapping[str, Dataset], name: str) -> str | None:
    """The dataset called ``name``, or the first one that config table ``name`` opened (a run
    directory opens one per logged set); None if there is neither."""
    if name in datasets:
        return name
    return next((key for key, ds in datasets.items() if ds.key == name), None)


class Datasets(Mapping[str, Dataset]):
    """The app's datasets by name.

    Iterating lists each table once, with its default embedding; looking a name up also
    finds a table with another of its embeddings (named by :func:`variant_key`), made when
    first asked for. So every list of tables (the table select, precompute, a run's steps)
    shows tables, and every store value naming a map's table finds its dataset.
    """

    def __init__(self, tables: Mapping[str, Dataset]):
        self._tables = dict(tables)
        self._variants = {
            variant_key(name, choice): (dataset, choice)
            for name, dataset in self._tables.items()
            for choice in dataset.embedding_choices[1:]
        }

    def __getitem__(self, name: str) -> Dataset:
        if name in self._tables:
            return self._tables[name]
        base, choice = self._variants[name]
        return base.variant(choice)

    def __contains__(self, name: object) -> bool:
        return name in self._tables or name in self._variants

    def __iter__(self) -> Iterator[str]:
        return iter(self._tables)

    def __len__(self) -> int:
        return len(self._tables)


def format_from_extension(path: str, *, where: str) -> str:
    """The table format that ``path``'s extension names (a URL's query is ignored).

    Raises
    ------
    DataError
        When the extension names none.
    """
    fmt = EXTENSIONS.get(PurePosixPath(path.split("?")[0]).suffix.lower())
    if fmt is None:
        raise DataError(
            f"{where}: cannot tell the format of {path!r} from its extension\n"
            f"set `format:` to one of {quote_list(SCANNERS)}"
        )
    return fmt


def resolve_files(path: str, fmt: str | None, *, where: str) -> tuple[list[Path], str]:
    """Expand a file, glob or directory into files of one format.

    Raises
    ------
    DataError
        If nothing matches, or the format is unknown or mixed.
    """
    if glob.has_magic(path):
        files = sorted(Path(p) for p in glob.glob(path, recursive=True) if Path(p).is_file())
    elif Path(path).is_dir():
        files = sorted(p for p in Path(path).iterdir() if p.is_file() and p.suffix in EXTENSIONS)
    elif Path(path).is_file():
        files = [Path(path)]
    else:
        raise DataError(
            f"{where}: file not found: {path!r}\n"
            "give an existing file, glob or directory (relative paths start at the config file)"
        )
    if not files:
        raise DataError(
            f"{where}: no table files match {path!r}\nallowed extensions: {quote_list(EXTENSIONS)}"
        )
    if fmt is None:
        formats = {format_from_extension(str(f), where=where) for f in files}
        if len(formats) > 1:
            raise DataError(
                f"{where}: {path!r} mixes formats {quote_list(formats)}\n"
                "point `path:` at files of one format, or set `format:`"
            )
        fmt = formats.pop()
    return files, fmt  # type: ignore[return-value]


def open_datasets(
    name: str, config: TableConfig, *, scan_hook: Any, cache_dir: Path, where: str
) -> dict[str, Dataset]:
    """Open config table ``name``: one dataset, or one per table logged in a run directory.

    A run directory's tables are named ``<name> / <group> / <title> · step <k>`` (just
    ``<name>`` when the run logged a single table), in group, title and step order. Roles
    set in the config override the roles the writer recorded.
    """
    logged = find_logged_tables(config.path) if "://" not in config.path else []
    if not logged:
        return {
            name: open_dataset(name, config, scan_hook=scan_hook, cache_dir=cache_dir, where=where)
        }
    with_run = len({t.run for t in logged}) > 1
    explicit = config.model_dump(exclude_none=True, exclude={"path", "format"})
    spec = explicit.get("embedding")
    fits = {t.path: spec is None or _has_columns(t.path, spec) for t in logged}
    if spec is not None and any(fits.values()) and not all(fits.values()):
        # A run logs sets of different shapes (a text set next to an image set): the
        # config's `embedding:` applies to the sets that have it, not to every set.
        lacking = [t for t in logged if not fits[t.path]]
        logger.warning(
            "%s: `tables.%s.embedding` %r applies to the sets that have it; %d set(s) "
            "without it (first: %r) keep their own",
            where,
            name,
            spec,
            len(lacking),
            lacking[0].title(with_run=with_run),
        )
    datasets = {}
    for table in logged:
        title = name if len(logged) == 1 else f"{name} / {table.title(with_run=with_run)}"
        roles = {k: v for k, v in table.roles.items() if k in (*ROLES, "embedding") and v}
        own = dict(explicit)
        if not fits[table.path] and any(fits.values()):
            own.pop("embedding")  # a set without it keeps its own; no set: the error says so
        entry = config.model_copy(
            update={**roles, **own, "path": str(table.path), "format": "parquet"}
        )
        frame = pl.scan_parquet(table.path)
        datasets[title] = Dataset(title, entry, frame, files=[table.path], where=where, key=name)
    return datasets


def _has_columns(path: Path, spec: str | list[str]) -> bool:
    """Whether the parquet file ``path`` has the embedding ``spec`` names (a column, a glob
    or a list of columns); an unreadable file has none (opening it says what is wrong)."""
    try:
        schema = pl.read_parquet_schema(path)
    except Exception:  # polars and pyarrow raise many kinds for broken files
        return False
    if isinstance(spec, str) and glob.has_magic(spec):
        return any(fnmatch.fnmatchcase(c, spec) for c in schema)
    return all(c in schema for c in ([spec] if isinstance(spec, str) else spec))


def open_dataset(
    name: str, config: TableConfig, *, scan_hook: Any, cache_dir: Path, where: str
) -> Dataset:
    """Open table ``name``: a plugin source first, else the built-in file readers.

    Parameters
    ----------
    scan_hook
        ``pm.hook.dashboard_scan_table`` of the app's plugin manager.
    """
    frame = scan_hook(source=config.path, cache_dir=cache_dir)
    if frame is not None:
        if isinstance(frame, pl.DataFrame):
            frame = frame.lazy()
        return Dataset(name, config, frame, where=where)
    if is_cloud(config.path):
        path_key = f"{where}: `tables.{name}.path`"
        fmt = config.format or format_from_extension(config.path, where=path_key)
        options = expand_options(
            config.storage_options or {}, where=f"{where}: `tables.{name}.storage_options"
        )
        frame = SCANNERS[fmt](config.path, storage_options=options or None)
        objects = list_parquet_objects(config.path, options) if fmt == "parquet" else None
        return Dataset(name, config, frame, objects=objects, where=where)
    if "://" in config.path:
        raise DataError(
            f"{where}: `tables.{name}.path`: no plugin reads {config.path!r}\n"
            "use a local file, glob or directory, an object-store URL ("
            f"{quote_list(f'{s}://' for s in SCHEMES)}), or install a plugin for that source"
        )
    files, fmt = resolve_files(config.path, config.format, where=f"{where}: `tables.{name}.path`")
    frame = SCANNERS[fmt]([str(f) for f in files]) if len(files) > 1 else SCANNERS[fmt](files[0])
    return Dataset(name, config, frame, files=files, where=where)
