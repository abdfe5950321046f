"""Find the tables a run (or a project of runs) logged, in the order the dashboard lists them."""

from __future__ import annotations

import collections
import dataclasses
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dashboard.writer.fileformat import RUN_FILE, TABLES_DIR, read_logged_info


@dataclass(frozen=True)
class LoggedTable:
    """One parquet file written by :mod:`dashboard.writer`, with what was logged about it."""

    path: Path
    name: str
    group: str | None = None
    step: int | None = None
    run: str = ""
    roles: dict[str, Any] = field(default_factory=dict)

    def sort_key(self) -> tuple[Any, ...]:
        """Runs, then groups, then names (``epoch-2`` before ``epoch-10``), then steps."""
        step = -1 if self.step is None else self.step
        return (natural(self.run), natural(self.group or ""), natural(self.name), step)

    def title(self, *, with_run: bool) -> str:
        """Display name, e.g. ``hidden-layer-1 / epoch-3`` or ``digits · step 2``."""
        parts = [self.run] if with_run else []
        parts += [p for p in (self.group, self.name) if p]
        text = " / ".join(parts)
        return text if self.step is None else f"{text} · step {self.step}"


def natural(text: str) -> tuple[Any, ...]:
    """Sort key that orders embedded numbers by value: ``epoch-2`` < ``epoch-10``."""
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", text))


def find_logged_tables(root: str | Path) -> list[LoggedTable]:
    """All tables logged under ``root`` (a run directory, or a project holding runs), sorted.

    Files being written (hidden temporary files) are skipped.
    """
    root = Path(root)
    if not root.is_dir():
        return []
    found = []
    names: dict[Path, str | None] = {}
    for path in sorted(root.rglob(f"{TABLES_DIR}/*.parquet")):
        if path.name.startswith("."):
            continue
        info = read_logged_info(path)
        if info is None:
            continue
        run_dir = path.parent.parent
        if run_dir not in names:
            names[run_dir] = display_name(run_dir)
        found.append(
            LoggedTable(
                path=path,
                name=str(info.get("name") or path.stem),
                group=info.get("group"),
                step=info.get("step"),
                run=str(run_dir),  # named below, once every run's name is known
                roles=dict(info.get("roles") or {}),
            )
        )
    # A short name shared by two runs would merge their tables: those keep their folders'.
    counts = collections.Counter(names.values())
    shared = {n for n, k in counts.items() if n and k > 1}
    titles = {str(d): n if n and n not in shared else d.name for d, n in names.items()}
    named = [dataclasses.replace(t, run=titles[t.run]) for t in found]
    return sorted(named, key=LoggedTable.sort_key)


def display_name(run_dir: Path) -> str | None:
    """The run's short name (W&B's ``name=``, or ``run-7b54`` for ``run-20261127-091113-7b54``)
    from its ``run.json``; None when it records none."""
    try:
        info = json.loads((run_dir / RUN_FILE).read_text())
    except (OSError, ValueError):
        return None
    name = info.get("display_name") if isinstance(info, dict) else None
    return name if isinstance(name, str) and name.strip() else None
