"""The run directory's file format, shared by the writer (which writes it) and the dashboard
(which reads it).

A run is ``<dir>/<project>/<run name>/`` holding ``run.json`` and one parquet file per logged
table under ``tables/``. Each table file carries what was logged about it (name, group, step,
roles of its columns) as JSON under the parquet key-value metadata key :data:`METADATA_KEY`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from pathlib import Path
from typing import Any

import polars as pl

from dashboard.files import atomic_write

logger = logging.getLogger(__name__)

METADATA_KEY = "embedding_dashboard"
RUN_FILE = "run.json"
TABLES_DIR = "tables"
#: Rows per parquet row group: small groups keep one row's image cheap to read.
ROW_GROUP_ROWS = 4096

#: Characters a file or folder name made from a user's name leaves out.
UNSAFE_NAME_CHARS = re.compile(r"[^A-Za-z0-9._-]+")


def table_file_name(name: str, group: str | None, step: int | None) -> str:
    """A file name unique to (group, name, step): logging the same again replaces it."""
    slug = UNSAFE_NAME_CHARS.sub("_", f"{group}--{name}" if group else name).strip("._") or "table"
    key = json.dumps([group, name, step])
    digest = hashlib.blake2b(key.encode(), digest_size=4).hexdigest()
    suffix = "" if step is None else f"-step{int(step):08d}"
    return f"{slug[:80]}{suffix}-{digest}.parquet"


def write_table_file(frame: pl.DataFrame, path: Path, info: dict[str, Any]) -> Path:
    """Write a logged table atomically, with ``info`` in its parquet metadata."""
    metadata = {METADATA_KEY: json.dumps(info)}
    return atomic_write(
        path,
        lambda tmp: frame.write_parquet(tmp, metadata=metadata, row_group_size=ROW_GROUP_ROWS),
    )


def read_logged_info(path: Path) -> dict[str, Any] | None:
    """Return what the writer recorded about a parquet file, or None if it recorded nothing."""
    try:
        raw = pl.read_parquet_metadata(path).get(METADATA_KEY)
    except Exception as exc:  # an unreadable file is reported when it is opened
        logger.warning("cannot read parquet metadata of %s: %s", path, exc)
        return None
    try:
        info = json.loads(raw) if raw else None
    except json.JSONDecodeError:
        return None
    return info if isinstance(info, dict) else None
