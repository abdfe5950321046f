"""What :func:`dashboard.show` takes, as a config: a frame, a Table or an array written once as
parquet named by its content (showing the same data again reuses its cached maps), or a run
directory, a table file or a YAML config read where they are."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from dashboard.config import load_config
from dashboard.errors import ConfigError, DataError
from dashboard.files import atomic_write

#: The table's name when ``data`` is a frame, a Table or an array.
TABLE = "data"
#: Where frames given to :func:`dashboard.show` are written (under the cache folder).
FRAMES_DIR = "notebook"


def show_config(
    data: Any,
    labels: Any,
    options: dict[str, Any],
    folder: Path,
    cache_dir: str | os.PathLike[str] | None,
) -> tuple[dict[str, Any], bool]:
    """The config mapping for ``data`` (frames written under ``folder``), and whether the
    data came as pandas.

    Raises
    ------
    DashboardError
        Data that cannot be shown, or options a YAML config cannot take.
    """
    roles = {k: v for k, v in options.items() if v is not None}
    if isinstance(data, (str, os.PathLike)):
        path = Path(data).expanduser()
        if path.suffix.lower() in (".yaml", ".yml"):
            if roles:
                raise ConfigError(
                    f"`{next(iter(roles))}`: a YAML config names its tables' columns itself\n"
                    f"set it in {str(path)!r}, or pass a table instead of the config"
                )
            config = load_config(path).model_dump(mode="json", exclude_none=True)
            return _with_cache(config, cache_dir), False
        if not path.exists():
            raise DataError(
                f"`data`: {str(path)!r} does not exist\n"
                "pass a frame, an array, a run directory, a table file or a YAML config"
            )
        table = {"path": str(path.resolve()), **roles}
        return _with_cache({"tables": {path.stem or TABLE: table}}, cache_dir), False
    if labels is not None and not isinstance(data, np.ndarray):
        raise DataError(
            "`labels` goes with an array of vectors only\n"
            "a frame or a Table names its label column: `label=`"
        )
    frame, guessed, as_pandas = _frame(data, labels)
    table = {**{k: v for k, v in guessed.items() if v}, **roles}
    table["path"] = str(_write_frame(frame, folder / FRAMES_DIR))
    return _with_cache({"tables": {TABLE: table}}, cache_dir), as_pandas


def _with_cache(config: dict[str, Any], cache_dir: Any) -> dict[str, Any]:
    if cache_dir is not None:
        config["cache_dir"] = str(Path(cache_dir).expanduser())
    return config


def _frame(data: Any, labels: Any) -> tuple[pl.DataFrame, dict[str, str | None], bool]:
    """``data`` as a polars frame, the roles guessed from its types, and whether it was a
    pandas frame."""
    from dashboard.writer.table import Table, infer_roles, is_frame

    if isinstance(data, np.ndarray):
        if data.ndim != 2 or data.dtype.kind not in "biuf":
            raise DataError(
                f"`data`: an array must be numeric rows x dims, got {data.dtype} with shape "
                f"{data.shape}\nreshape it to one vector per row"
            )
        columns = {"embedding": pl.Series(np.ascontiguousarray(data, dtype=np.float32))}
        if labels is not None:
            values = list(labels)
            if len(values) != len(data):
                raise DataError(
                    f"`labels` has {len(values)} values for {len(data)} rows\n"
                    "give one label per row"
                )
            columns["label"] = pl.Series([None if v is None else str(v) for v in values])
        frame = pl.DataFrame(columns)
        return frame, infer_roles(frame.schema), False
    if isinstance(data, Table):
        frame = data.to_polars()  # once: `Table.roles` would encode every image again
        return frame, infer_roles(frame.schema), False
    if is_frame(data):
        as_pandas = not isinstance(data, (pl.DataFrame, pl.LazyFrame))
        table = Table(dataframe=data)
        frame = table.to_polars()
        return frame, infer_roles(frame.schema), as_pandas
    raise DataError(
        f"`data`: cannot show a {type(data).__name__}\n"
        "pass a pandas or polars frame, a dashboard.Table, a numpy array (with `labels=`), "
        "a run directory, a table file or a YAML config"
    )


def _write_frame(frame: pl.DataFrame, folder: Path) -> Path:
    """Write ``frame`` as parquet named by its content: showing the same data again reuses
    the file, and with it every map cached for it."""
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    for name, dtype in frame.schema.items():
        digest.update(f"{name}:{dtype};".encode())
    digest.update(frame.hash_rows(seed=0).to_numpy().tobytes())
    path = folder / f"{digest.hexdigest()[:24]}.parquet"
    if not path.exists():
        atomic_write(path, frame.write_parquet, durable=False)
    return path
