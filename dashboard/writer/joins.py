"""Lists logged next to a table (``run.log({"emb": table, "texts": texts})``, or ``texts`` in a
later call at the same step) join that table as a column, as W&B users expect."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from dashboard.errors import DataError
from dashboard.writer.fileformat import read_logged_info, write_table_file
from dashboard.writer.table import infer_roles


@dataclass
class LoggedFile:
    """A table a run wrote, remembered so a list logged later at its step can join it."""

    name: str
    path: Path
    rows: int
    columns: set[str]
    added: set[str] = field(default_factory=set)  # columns that joined it from lists
    joinable: bool = True  # False for a table made from a list


class JoinIndex:
    """The tables a run logged, per step."""

    def __init__(self) -> None:
        self._by_step: dict[int | None, list[LoggedFile]] = {}

    def remember(
        self, step: int | None, name: str, path: Path, frame: pl.DataFrame, *, joinable: bool
    ) -> None:
        """Record a written table (replacing the record of the file it overwrote)."""
        records = [r for r in self._by_step.get(step, []) if r.path != path]
        records.append(LoggedFile(name, path, frame.height, set(frame.columns), joinable=joinable))
        self._by_step[step] = records

    def find(self, key: str, rows: int, step: int | None) -> LoggedFile | None:
        """The latest table of ``rows`` rows logged at ``step`` that list ``key`` may join: it
        has no column ``key``, or one an earlier list put there (which it then replaces)."""
        for record in reversed(self._by_step.get(step, [])):
            fits = key not in record.columns or key in record.added
            if record.joinable and record.rows == rows and fits:
                record.added.add(key)
                record.columns.add(key)
                return record
        return None


def add_columns(path: Path, columns: list[pl.Series]) -> None:
    """Add (or replace) columns of a logged table file, rewritten atomically; roles it had
    none for (e.g. a label) are taken from the new columns."""
    frame = pl.read_parquet(path)
    if frame.height != len(columns[0]):  # another writer replaced it meanwhile
        raise DataError(
            f"cannot add {columns[0].name!r} to {str(path)!r}: it now has {frame.height} rows, "
            f"not {len(columns[0])}\nlog the list in the same call as its table"
        )
    frame = frame.with_columns(columns)
    info = read_logged_info(path) or {}
    roles = dict(info.get("roles") or {})
    for role, column in infer_roles(frame.schema).items():
        if roles.get(role) is None and column is not None:
            roles[role] = column
    write_table_file(frame, path, {**info, "roles": roles})
