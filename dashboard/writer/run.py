"""The writer API training scripts call: ``init``, ``log``, ``log_embedding``, ``finish``.

A run is a directory ``<dir>/<project>/<run id>/`` (see :mod:`dashboard.writer.fileformat`).
Every write goes to a temporary file first and is renamed into place
(:func:`dashboard.files.atomic_write`), so a crash never leaves half a table and the previous
version stays readable.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import secrets
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from dashboard.errors import DashboardError, DataError
from dashboard.writer.fileformat import TABLES_DIR, table_file_name, write_table_file
from dashboard.writer.idioms import (
    RECORDED_OPTIONS,
    as_table,
    check_init_options,
    column_values,
    config_dict,
    is_column,
    label_table,
    safe_name,
)
from dashboard.writer.image import RGB, create_embedding_image, thumbnail_tiles, tile_png
from dashboard.writer.joins import JoinIndex, add_columns
from dashboard.writer.object3d import Object3D
from dashboard.writer.runfile import merge_run_file
from dashboard.writer.sprites import load_sprite, store_sprite
from dashboard.writer.table import Table, infer_roles, to_series

logger = logging.getLogger(__name__)

#: ``log_embedding``'s title when none is given (Comet's default is "Comet Embedding").
DEFAULT_TITLE = "embedding"

_active: Run | None = None


class Run:
    """One training run's log directory. Create it with :func:`init`.

    Attributes
    ----------
    dir : Path
        ``<dir>/<project>/<id>``: point a config table's `path:` here (or at the
        project directory to see every run).
    id : str
        The run directory's name: ``id`` if given, else ``name`` made safe for a file name,
        else ``run-<date>-<time>-<4 hex>``.
    name : str
        The display name (W&B's ``run.name``): ``name``, else ``id``, else ``run-<4 hex>``;
        recorded in ``run.json`` as ``display_name``.
    """

    def __init__(
        self,
        project: str,
        *,
        dir: str | os.PathLike[str] | None = ".",
        name: str | None = None,
        id: str | None = None,
        config: Mapping[str, Any] | Any = None,
        entity: str | None = None,
        job_type: str | None = None,
        tags: Sequence[str] | None = None,
        notes: str | None = None,
        group: str | None = None,
    ):
        self.project = _check_name("project", project)
        token = secrets.token_hex(2)
        if id is not None:
            self.id = _check_name("id", id)
        elif name is not None:
            self.id = safe_name(name)
        else:
            self.id = _run_name(token)
        self.name = str(name) if name is not None else (self.id if id else f"run-{token}")
        # Absolute: a script that changes directory later still writes to this run.
        self.dir = Path("." if dir is None else dir).absolute() / self.project / self.id
        self.config = config_dict(config)
        given = dict(zip(RECORDED_OPTIONS, (entity, job_type, tags, notes, group), strict=True))
        self._info: dict[str, Any] = {
            "id": self.id,
            "display_name": self.name,
            **({"name": str(name)} if name is not None else {}),
            **{k: list(v) if k == "tags" else v for k, v in given.items() if v is not None},
        }
        self.finished = False
        self._joins = JoinIndex()
        self._default_steps: dict[str | None, int] = {}
        (self.dir / TABLES_DIR).mkdir(parents=True, exist_ok=True)
        self._write_run_file()

    def __repr__(self) -> str:
        return f"Run({self.project!r}, id={self.id!r}, name={self.name!r}, dir={str(self.dir)!r})"

    def __enter__(self) -> Run:
        return self

    def __exit__(self, *exc: object) -> None:
        self.finish()

    def _write_run_file(self, **extra: Any) -> None:
        """Merge this writer's part into ``run.json`` (see :func:`merge_run_file`)."""
        self._started = getattr(self, "_started", None) or _now()
        fields = {"project": self.project, **self._info}
        merge_run_file(self.dir, self._started, fields, self.config, extra)

    def log(
        self, data: Mapping[str, Any], step: int | None = None, *, group: str | None = None
    ) -> None:
        """Log tables (and scalars) under their keys, like ``wandb.log``.

        Parameters
        ----------
        data
            ``{"name": Table | pandas.DataFrame | polars.DataFrame | Object3D | list |
            number | str}``. Tables become embedding sets; an :class:`Object3D` a set drawn
            as logged; numbers and strings go to ``metrics.ndjson``. A list (or 1-D array)
            joins, as a column named by its key, the table of as many rows logged in this
            call or earlier at this step (the file is rewritten); else it is a table alone.
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
        step = None if step is None else int(step)
        scalars: dict[str, Any] = {}
        frames: dict[str, tuple[pl.DataFrame, dict[str, Any], dict[str, Any]]] = {}
        columns: dict[str, pl.Series] = {}
        for key, value in data.items():
            key = str(key)
            if isinstance(value, (int, float, str, bool, np.number)):
                scalars[key] = value.item() if isinstance(value, np.number) else value
            elif isinstance(value, Object3D):
                frames[key] = (value.to_polars(), value.roles(), {"as_logged": True})
            elif isinstance(value, Table) or not is_column(value):
                frames[key] = (as_table(key, value).to_polars(), {}, {})
            else:
                columns[key] = to_series(key, column_values(value))
        earlier = self._join_columns(columns, frames, step=step, group=group)
        for path, added in earlier.items():  # before `frames`, which may replace one
            add_columns(path, added)
        for key, (frame, roles, extra) in frames.items():
            self._write_frame(key, frame, step=step, group=group, roles=roles, extra=extra)
        if scalars:
            self._append_metrics(scalars, step)

    def _join_columns(
        self,
        columns: Mapping[str, pl.Series],
        frames: dict[str, tuple[pl.DataFrame, dict[str, Any], dict[str, Any]]],
        *,
        step: int | None,
        group: str | None,
    ) -> dict[Path, list[pl.Series]]:
        """Put each list logged by `log` where W&B users expect it: into a table of as many
        rows in ``frames`` (this call), else into the file of such a table logged earlier at
        ``step`` (returned: path -> columns to add), else into a table of its own."""
        earlier: dict[Path, list[pl.Series]] = {}
        for key, series in columns.items():
            target = next(
                (
                    name
                    for name in reversed(frames)
                    if frames[name][0].height == len(series) and key not in frames[name][0]
                ),
                None,
            )
            if target is not None:
                frame, roles, extra = frames[target]
                frames[target] = (frame.with_columns(series), roles, extra)
                logger.info("`log`: %r became a column of table %r", key, target)
                continue
            record = self._joins.find(key, len(series), step)
            if record is not None:
                earlier.setdefault(record.path, []).append(series)
                logger.info(
                    "`log`: %r became a column of table %r (logged earlier at step %s)",
                    key,
                    record.name,
                    step,
                )
                continue
            logger.info(
                "`log`: %r became its own table %r (no table of %d rows at step %s)",
                key,
                key,
                len(series),
                step,
            )
            self._write_frame(key, pl.DataFrame([series]), step=step, group=group, joinable=False)
        return earlier

    def log_embedding(
        self,
        vectors: Any,
        labels: Sequence[Any],
        image_data: Sequence[Any] | np.ndarray | str | None = None,
        image_size: tuple[int, int] | None = None,
        image_preprocess_function: Callable[[np.ndarray], Any] | None = None,
        image_transparent_color: RGB | None = None,
        image_background_color_function: Callable[[int], RGB] | None = None,
        title: str | None = None,
        template_filename: str | None = None,
        group: str | None = None,
        *,
        step: int | None = None,
    ) -> Table:
        """Log one embedding set, like Comet's ``experiment.log_embedding``.

        Parameters
        ----------
        vectors
            (n, d) array-like: one vector per row.
        labels
            n labels, rows of several labels whose first row is the header
            (``[["digit", "split"], [3, "train"], ...]``), or one-hot rows (keras
            ``to_categorical``), which are logged as class indices with a warning.
        image_data
            Optional images per row, or the reference :meth:`create_embedding_image`
            returned (its thumbnails are reused; the row count must match).
        image_size, image_preprocess_function, image_transparent_color, \
image_background_color_function
            See :func:`dashboard.create_embedding_image`.
        title
            Name of the set. Left out, sets are titled ``embedding`` and numbered by step
            (0, 1, ...) when no ``step`` is given, so a second call keeps the first; a title
            given again at the same step replaces that set.
        template_filename
            Comet's projector template: not used here.
        group, step
            The set's group (e.g. ``"hidden-layer-1"``) and step.

        Returns
        -------
        Table
            What was written.
        """
        self._check_open()
        matrix = np.asarray(vectors)
        if matrix.ndim != 2:
            raise DataError(
                f"`vectors` must be 2-D (rows x dims), got shape {matrix.shape}\n"
                "pass one vector per row"
            )
        n = matrix.shape[0]
        table, label = label_table(labels, n)
        table.add_col("embedding", matrix)
        if isinstance(image_data, str):
            table.add_col("image", load_sprite(self.dir, image_data, n, image_size))
        elif image_data is not None:
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
        if template_filename is not None:
            logger.debug("`log_embedding`: ignoring template_filename=%r", template_filename)
        roles = {"embedding": "embedding", "label": label}
        if image_data is not None:
            roles["image"] = "image"
        if title is None:
            title = DEFAULT_TITLE
            if step is None:
                step = self._next_default_step(group)
        self._write_frame(title, table.to_polars(), step=step, group=group, roles=roles)
        return table

    def create_embedding_image(
        self,
        image_data: Sequence[Any] | np.ndarray,
        image_size: tuple[int, int],
        image_preprocess_function: Callable[[np.ndarray], Any] | None = None,
        image_transparent_color: RGB | None = None,
        image_background_color_function: Callable[[int], RGB] | None = None,
    ) -> tuple[Any, str]:
        """Make the sprite and thumbnails once, as Comet's ``experiment.create_embedding_image``.

        The arguments are those of :func:`dashboard.create_embedding_image`.

        Returns
        -------
        sprite, reference
            The sprite as an RGBA PIL image, and ``"sprite:<hash>"``: pass it as
            ``image_data`` to every later :meth:`log_embedding` of the same rows.

        Examples
        --------
        >>> image, image_url = run.create_embedding_image(x_test, (8, 8))  # doctest: +SKIP
        >>> run.log_embedding(h, y_test, image_data=image_url, image_size=(8, 8))  # doctest: +SKIP
        """
        self._check_open()
        sprite, thumbnails = create_embedding_image(
            image_data,
            image_size,
            image_preprocess_function,
            image_transparent_color,
            image_background_color_function,
        )
        return sprite, store_sprite(self.dir, thumbnails, image_size)

    def finish(self, exit_code: int | None = None, quiet: bool | None = None) -> None:
        """Mark the run finished (W&B's ``run.finish``); later `log` calls fail.

        ``exit_code`` is recorded in ``run.json`` when given; ``quiet`` changes nothing.
        """
        global _active
        if not self.finished:
            extra = {} if exit_code is None else {"exit_code": int(exit_code)}
            self._write_run_file(finished=_now(), **extra)
            self.finished = True
        if _active is self:
            _active = None

    def end(self) -> None:
        """Comet's ``experiment.end()``: the same as :meth:`finish`."""
        self.finish()

    def how_to_open(self) -> str:
        """Where the run went and how to open it in the dashboard: a config to save and the
        command that serves it (what a script prints when it is done)."""
        config = f"{self.project}.yaml"
        return (
            f"Logged run: {self.dir}\n"
            f"To open it, save this config as {config}:\n\n"
            f"tables:\n  {self.project}:\n    path: {json.dumps(str(self.dir))}\n\n"
            f"then run:\npython -m dashboard --config {config}\n\n"
            f"or, in a notebook:\nimport dashboard; dashboard.show({json.dumps(str(self.dir))})"
        )

    def _check_open(self) -> None:
        if self.finished:
            raise DashboardError(
                f"run {self.name!r} is finished\nstart a new one with dashboard.init(...)"
            )

    def _next_default_step(self, group: str | None) -> int:
        """The next free step of the untitled sets of ``group``: files already there (a
        restarted script, another writer) are skipped, never replaced."""
        step = self._default_steps.get(group, 0)
        while (self.dir / TABLES_DIR / table_file_name(DEFAULT_TITLE, group, step)).exists():
            step += 1
        self._default_steps[group] = step + 1
        return step

    def _write_frame(
        self,
        name: str,
        frame: pl.DataFrame,
        *,
        step: int | None,
        group: str | None,
        roles: Mapping[str, Any] | None = None,
        extra: Mapping[str, Any] | None = None,
        joinable: bool = True,
    ) -> Path:
        if frame.height == 0:
            raise DataError(f"table {name!r} has no rows\nadd rows before logging it")
        info = {
            "name": name,
            "group": group,
            "step": step,
            "roles": {**infer_roles(frame.schema), **(roles or {})},
            "rows": frame.height,
            "logged": _now(),
            "run": self.id,
            "project": self.project,
            **(extra or {}),
        }
        path = self.dir / TABLES_DIR / table_file_name(name, group, step)
        write_table_file(frame, path, info)
        self._joins.remember(step, name, path, frame, joinable=joinable)
        return path

    def _append_metrics(self, scalars: dict[str, Any], step: int | None) -> None:
        line = json.dumps({"step": step, "time": _now(), **scalars}) + "\n"
        with open(self.dir / "metrics.ndjson", "a", encoding="utf-8") as fh:
            fh.write(line)


def _check_name(what: str, value: str) -> str:
    value = str(value)
    if not value or value in (".", "..") or "/" in value or "\\" in value:
        raise DataError(f"`{what}` must be a plain name without slashes, got {value!r}")
    return value


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _run_name(token: str) -> str:
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d-%H%M%S")
    return f"run-{stamp}-{token}"


# -- module-level API on the active run (W&B and Comet style) ----------------------------------


def init(
    project: str = "default",
    *,
    dir: str | os.PathLike[str] | None = ".",
    name: str | None = None,
    id: str | None = None,
    config: Mapping[str, Any] | Any = None,
    entity: str | None = None,
    job_type: str | None = None,
    tags: Sequence[str] | None = None,
    notes: str | None = None,
    group: str | None = None,
    **wandb_options: Any,
) -> Run:
    """Start a run and make it the active one for :func:`log` and :func:`log_embedding`.

    Takes ``wandb.init``'s arguments: ``id`` names the run directory, ``name`` is the
    display name (and, without ``id``, the directory name made safe); ``entity``,
    ``job_type``, ``tags``, ``notes`` and ``group`` are recorded in ``run.json``; ``reinit``,
    ``mode``, ``settings``, ``resume`` and W&B's other options are accepted and ignored (a
    debug message says so). ``dir=None`` is the current directory.

    Raises
    ------
    DashboardError
        For an argument ``wandb.init`` does not take either (e.g. a misspelt one).

    Examples
    --------
    >>> run = init(project="embedding_tutorial", dir="runs")  # doctest: +SKIP
    >>> run.log({"digits": table})  # doctest: +SKIP
    >>> run.finish()  # doctest: +SKIP
    """
    global _active
    check_init_options(wandb_options)
    recorded = {"entity": entity, "job_type": job_type, "tags": tags, "notes": notes}
    _active = Run(project, dir=dir, name=name, id=id, config=config, group=group, **recorded)
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


def finish(exit_code: int | None = None, quiet: bool | None = None) -> None:
    """Finish the active run, if any (``wandb.finish``)."""
    if _active is not None:
        _active.finish(exit_code, quiet)
