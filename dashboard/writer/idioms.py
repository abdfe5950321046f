"""What W&B and Comet training scripts pass, turned into this writer's terms.

Scripts written for ``wandb`` or ``comet_ml`` should run with only their import changed, so
the writer takes their arguments as those libraries do: ``init``'s keyword arguments, labels
as one-hot rows, lists logged next to a table, ``config=argparse.Namespace``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl

from dashboard.errors import DashboardError, DataError
from dashboard.writer.fileformat import UNSAFE_NAME_CHARS
from dashboard.writer.table import Table, is_frame

logger = logging.getLogger(__name__)

#: ``wandb.init`` arguments recorded in ``run.json`` as they are.
RECORDED_OPTIONS = ("entity", "job_type", "tags", "notes", "group")
#: ``wandb.init`` arguments that change nothing here (no server, no code saving, no resume).
IGNORED_OPTIONS = frozenset(
    {
        "allow_val_change",
        "anonymous",
        "config_exclude_keys",
        "config_include_keys",
        "fork_from",
        "force",
        "magic",
        "mode",
        "monitor_gym",
        "reinit",
        "resume",
        "resume_from",
        "save_code",
        "settings",
        "sync_tensorboard",
        "tensorboard",
    }
)


def check_init_options(options: Mapping[str, Any]) -> None:
    """Accept ``wandb.init``'s other arguments with a debug message; refuse unknown ones
    (a misspelt ``projcet=`` must not pass silently)."""
    unknown = sorted(set(options) - IGNORED_OPTIONS)
    if unknown:
        known = ("project", "dir", "name", "id", "config", *RECORDED_OPTIONS)
        allowed = ", ".join(f"`{k}`" for k in (*known, *sorted(IGNORED_OPTIONS)))
        raise DashboardError(
            f"`init` got unknown arguments: {', '.join(repr(k) for k in unknown)}\n"
            f"allowed: {allowed}"
        )
    for key, value in options.items():
        logger.debug("`init`: ignoring %s=%r (W&B option with no effect here)", key, value)


def config_dict(config: Any) -> dict[str, Any]:
    """``config`` as a dict: a mapping, or an ``argparse.Namespace`` as W&B takes it."""
    if config is None:
        return {}
    if isinstance(config, Mapping):
        return dict(config)
    if hasattr(config, "__dict__"):
        return dict(vars(config))
    raise DataError(
        f"`config` must be a dict or an argparse.Namespace, got {type(config).__name__}\n"
        'e.g. config={"lr": 0.01}'
    )


def safe_name(name: str) -> str:
    """A display name made fit for a directory name: ``"lr=0.1 run"`` -> ``"lr-0.1-run"``."""
    safe = UNSAFE_NAME_CHARS.sub("-", str(name)).strip(".-")
    if not safe:
        raise DataError(
            f"`name` {name!r} has no letters or digits to name a directory with\n"
            "give a name such as 'baseline', or an `id`"
        )
    return safe


def as_table(key: str, value: Any) -> Table:
    """A logged value that is a table: a ``Table`` or a pandas or polars frame."""
    if isinstance(value, Table):
        return value
    if is_frame(value):
        return Table(dataframe=value)
    raise DataError(
        f"`log`: {key!r} is a {type(value).__name__}, not a table\n"
        "log a dashboard.Table, a pandas or polars data frame, a list or 1-D array "
        "(a column), a dashboard.Object3D, or a number"
    )


def is_column(value: Any) -> bool:
    """A list, tuple or 1-D array (or series): one value per row, logged as a column."""
    if isinstance(value, (list, tuple, pl.Series)):
        return True
    return getattr(value, "ndim", None) == 1 and hasattr(value, "__len__")


def column_values(value: Any) -> list[Any] | np.ndarray | pl.Series:
    """A column's values as the table module stores them (numeric arrays stay arrays)."""
    if isinstance(value, (pl.Series, np.ndarray)):
        return value
    if hasattr(value, "to_numpy"):  # a pandas Series
        values = value.to_numpy()
        return values if values.dtype.kind in "biuf" else list(values)
    return list(value)


def label_table(labels: Sequence[Any] | np.ndarray, n: int) -> tuple[Table, str]:
    """The label columns of ``log_embedding`` and the name of the one to colour by.

    ``labels`` is one label per vector, a header row followed by one row per vector, or
    one-hot rows (keras ``to_categorical``), which become class indices.
    """
    if isinstance(labels, np.ndarray) and labels.ndim == 1 and len(labels) == n:
        table = Table()
        table.add_col("label", labels if labels.dtype.kind in "biuf" else labels.tolist())
        return table, "label"
    rows = list(labels.tolist() if isinstance(labels, np.ndarray) else labels)
    tabular = bool(rows) and all(isinstance(r, (list, tuple, np.ndarray)) for r in rows)
    if tabular and len(rows) == n + 1:
        header = [str(h) for h in rows[0]]
        return Table(columns=header, data=[list(r) for r in rows[1:]]), header[0]
    if len(rows) != n:
        raise DataError(
            f"`labels` has {len(rows)} entries for {n} vectors\n"
            "give one label per vector, or a header row followed by one row per vector"
        )
    table = Table()
    indices = _one_hot_indices(rows) if tabular else None
    if indices is not None:
        logger.warning(
            "`log_embedding`: `labels` are one-hot rows (%d x %d, one 1 in each): logged as "
            "class indices 0..%d (their argmax)",
            n,
            len(rows[0]),
            len(rows[0]) - 1,
        )
        table.add_col("label", indices)
    else:
        table.add_col("label", rows)
    return table, "label"


def _one_hot_indices(rows: list[Any]) -> np.ndarray | None:
    """Class indices if every row is 0s and exactly one 1 (of at least two entries)."""
    try:
        matrix = np.asarray(rows)
    except ValueError:  # ragged rows
        return None
    if matrix.ndim != 2 or matrix.shape[1] < 2 or matrix.dtype.kind not in "biuf":
        return None
    if not np.isin(matrix, (0, 1)).all() or not (matrix.sum(axis=1) == 1).all():
        return None
    return matrix.argmax(axis=1).astype(np.int64)
