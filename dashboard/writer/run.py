"""The writer API training scripts call: ``init``, ``log``, ``log_embedding``, ``finish``.

A run is a directory ``<dir>/<project>/<run name>/`` (see :mod:`dashboard.writer.fileformat`).
Every write goes to a temporary file first and is renamed into place
(:func:`dashboard.files.atomic_write`), so a crash never leaves half a table and the previous
version stays readable.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import secrets
import socket
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from dashboard.errors import DashboardError, DataError
from dashboard.files import atomic_write_bytes
from dashboard.writer.fileformat import RUN_FILE, TABLES_DIR, table_file_name, write_table_file
from dashboard.writer.image import RGB, thumbnail_tiles, tile_png
from dashboard.writer.table import Table, infer_roles

_active: Run | None = None


class Run:
    """One training run's log directory. Create it with :func:`init`.

    Attributes
    ----------
    dir : Path
        ``<dir>/<project>/<name>``: point a config table's `path:` here (or at the
        project directory to see every run).
    """

    def __init__(
        self,
        project: str,
        *,
        dir: str | os.PathLike[str] = ".",
        name: str | None = None,
        config: Mapping[str, Any] | None = None,
    ):
        self.project = _check_name("project", project)
        self.name = _check_name("name", name or _run_name())
        self.dir = Path(dir) / self.project / self.name
        self.config = dict(config or {})
        self.finished = False
        (self.dir / TABLES_DIR).mkdir(parents=True, exist_ok=True)
        self._write_run_file()

    def __repr__(self) -> str:
        return f"Run({self.project!r}, name={self.name!r}, dir={str(self.dir)!r})"

    def __enter__(self) -> Run:
        return self

    def __exit__(self, *exc: object) -> None:
        self.finish()

    def _write_run_file(self, **extra: Any) -> None:
        """Merge this writer's part into ``run.json``: several processes may log to one run
        (data-parallel ranks, a restarted job), and each keeps its config keys and its
        entry under ``writers``; the file is rewritten under a lock, atomically."""
        self._started = getattr(self, "_started", None) or _now()
        path = self.dir / RUN_FILE
        with _locked(self.dir / f".{RUN_FILE}.lock"):
            try:
                info = json.loads(path.read_text())
            except (OSError, ValueError):
                info = {}
            if not isinstance(info, dict):
                info = {}
            writers = [w for w in info.get("writers") or [] if isinstance(w, dict)]
            me = {"pid": os.getpid(), "host": socket.gethostname(), "started": self._started}
            mine = next(
                (
                    w
                    for w in writers
                    if w.get("started") == self._started and w.get("pid") == me["pid"]
                ),
                None,
            )
            if mine is None:
                writers.append(me)
                mine = me
            mine.update(extra)
            config = info.get("config") if isinstance(info.get("config"), dict) else {}
            info.update(
                {
                    "project": self.project,
                    "name": self.name,
                    "config": {**config, **self.config},
                    "started": min(str(info.get("started") or self._started), self._started),
                    "writers": writers,
                    **extra,
                }
            )
            atomic_write_bytes(path, json.dumps(info, indent=2, default=str).encode())

    def log(
        self, data: Mapping[str, Any], step: int | None = None, *, group: str | None = None
    ) -> None:
        """Log tables (and scalars) under their keys, like ``wandb.log``.

        Parameters
        ----------
        data
            ``{"name": Table | pandas.DataFrame | polars.DataFrame | number | str}``.
            Tables become embedding sets; numbers and strings go to ``metrics.ndjson``.
        step
            Training step or epoch; the dashboard orders a name's sets by it.
        group
            Groups sets in the dashboard's table list (e.g. a layer name).
        """
        self._check_open()
        if not isinstance(data, Mapping):
            raise DataError(
                f"`log` takes a dict of name -> table, got {type(data).__name__}\n"
                'e.g. run.log({"digits": table})'
            )
        if step is not None and (not isinstance(step, (int, np.integer)) or step < 0):
            raise DataError(f"`step` must be a non-negative integer, got {step!r}")
        scalars = {}
        for key, value in data.items():
            if isinstance(value, (int, float, str, bool, np.number)):
                scalars[str(key)] = value.item() if isinstance(value, np.number) else value
            else:
                table = value if isinstance(value, Table) else _as_table(str(key), value)
                self._write_table(str(key), table, step=step, group=group)
        if scalars:
            self._append_metrics(scalars, step)

    def log_embedding(
        self,
        vectors: Any,
        labels: Sequence[Any],
        image_data: Sequence[Any] | np.ndarray | None = None,
        image_size: tuple[int, int] | None = None,
        image_preprocess_function: Callable[[np.ndarray], Any] | None = None,
        image_transparent_color: RGB | None = None,
        image_background_color_function: Callable[[int], RGB] | None = None,
        *,
        title: str = "embedding",
        group: str | None = None,
        step: int | None = None,
    ) -> Table:
        """Log one embedding set, like Comet's ``experiment.log_embedding``.

        Parameters
        ----------
        vectors
            (n, d) array-like: one vector per row.
        labels
            n labels, or rows of several labels whose first row is the header
            (``[["digit", "split"], [3, "train"], ...]``).
        image_data, image_size, image_preprocess_function, image_transparent_color, \
image_background_color_function
            Optional images per row; see :func:`dashboard.create_embedding_image`.
        title, group, step
            Name of the set, its group (e.g. ``"hidden-layer-1"``) and step.

        Returns
        -------
        Table
            What was written.
        """
        matrix = np.asarray(vectors)
        if matrix.ndim != 2:
            raise DataError(
                f"`vectors` must be 2-D (rows x dims), got shape {matrix.shape}\n"
                "pass one vector per row"
            )
        n = matrix.shape[0]
        columns, rows = _label_columns(labels, n)
        table = Table(columns=columns, data=rows)
        table.add_col("embedding", matrix)
        if image_data is not None:
            if image_size is None:
                raise DataError("`image_data` needs `image_size` (width, height)")
            if len(image_data) != n:
                raise DataError(f"`image_data` has {len(image_data)} images for {n} vectors")
            # Per-row thumbnails only: a sprite of 100k rows would cost gigabytes for nothing.
            tiles = thumbnail_tiles(
                image_data,
                image_size,
                image_preprocess_function,
                image_transparent_color,
                image_background_color_function,
            )
            table.add_col("image", [tile_png(tile) for tile in tiles])
        roles = {"embedding": "embedding", "label": columns[0]}
        if image_data is not None:
            roles["image"] = "image"
        self._write_table(title, table, step=step, group=group, roles=roles)
        return table

    def finish(self) -> None:
        """Mark the run finished; later `log` calls fail."""
        global _active
        if not self.finished:
            self._write_run_file(finished=_now())
            self.finished = True
        if _active is self:
            _active = None

    def _check_open(self) -> None:
        if self.finished:
            raise DashboardError(
                f"run {self.name!r} is finished\nstart a new one with dashboard.init(...)"
            )

    def _write_table(
        self,
        name: str,
        table: Table,
        *,
        step: int | None,
        group: str | None,
        roles: Mapping[str, str] | None = None,
    ) -> Path:
        frame = table.to_polars()
        if frame.height == 0:
            raise DataError(f"table {name!r} has no rows\nadd rows before logging it")
        info = {
            "name": name,
            "group": group,
            "step": None if step is None else int(step),
            "roles": {**infer_roles(frame.schema), **(roles or {})},
            "rows": frame.height,
            "logged": _now(),
            "run": self.name,
            "project": self.project,
        }
        path = self.dir / TABLES_DIR / table_file_name(name, group, step)
        return write_table_file(frame, path, info)

    def _append_metrics(self, scalars: dict[str, Any], step: int | None) -> None:
        line = json.dumps({"step": step, "time": _now(), **scalars}) + "\n"
        with open(self.dir / "metrics.ndjson", "a", encoding="utf-8") as fh:
            fh.write(line)


def _as_table(key: str, value: Any) -> Table:
    if isinstance(value, (pl.DataFrame, pl.LazyFrame)) or (
        hasattr(value, "columns") and hasattr(value, "to_numpy")
    ):
        return Table(dataframe=value)
    raise DataError(
        f"`log`: {key!r} is a {type(value).__name__}, not a table\n"
        "log a dashboard.Table, a pandas or polars data frame, or a number"
    )


def _label_columns(labels: Sequence[Any], n: int) -> tuple[list[str], list[list[Any]]]:
    labels = list(labels.tolist() if isinstance(labels, np.ndarray) else labels)
    tabular = labels and all(isinstance(r, (list, tuple)) for r in labels)
    if tabular and len(labels) == n + 1:
        header = [str(h) for h in labels[0]]
        return header, [list(r) for r in labels[1:]]
    if len(labels) != n:
        raise DataError(
            f"`labels` has {len(labels)} entries for {n} vectors\n"
            "give one label per vector, or a header row followed by one row per vector"
        )
    return ["label"], [[label] for label in labels]


def _check_name(what: str, value: str) -> str:
    value = str(value)
    if not value or value in (".", "..") or "/" in value or "\\" in value:
        raise DataError(f"`{what}` must be a plain name without slashes, got {value!r}")
    return value


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _run_name() -> str:
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d-%H%M%S")
    return f"run-{stamp}-{secrets.token_hex(2)}"


# -- module-level API on the active run (W&B and Comet style) ----------------------------------


def init(
    project: str = "default",
    *,
    dir: str | os.PathLike[str] = ".",
    name: str | None = None,
    config: Mapping[str, Any] | None = None,
) -> Run:
    """Start a run and make it the active one for :func:`log` and :func:`log_embedding`.

    Examples
    --------
    >>> run = init(project="embedding_tutorial", dir="runs")  # doctest: +SKIP
    >>> run.log({"digits": table})  # doctest: +SKIP
    >>> run.finish()  # doctest: +SKIP
    """
    global _active
    _active = Run(project, dir=dir, name=name, config=config)
    return _active


def _active_run(call: str) -> Run:
    if _active is None:
        raise DashboardError(
            f"`dashboard.{call}` needs an active run\n"
            'start one with run = dashboard.init(project="...", dir="...")'
        )
    return _active


def log(data: Mapping[str, Any], step: int | None = None, *, group: str | None = None) -> None:
    """Log to the active run; see :meth:`Run.log`."""
    _active_run("log").log(data, step=step, group=group)


def log_embedding(*args: Any, **kwargs: Any) -> Table:
    """Log an embedding set to the active run; see :meth:`Run.log_embedding`."""
    return _active_run("log_embedding").log_embedding(*args, **kwargs)


def finish() -> None:
    """Finish the active run, if any."""
    if _active is not None:
        _active.finish()


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if missing) across processes; where the
    system has no ``fcntl`` (Windows), only this process's threads are kept apart."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        with _RUN_FILE_LOCK:
            yield
        return
    with _RUN_FILE_LOCK, open(path, "a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


_RUN_FILE_LOCK = threading.Lock()
