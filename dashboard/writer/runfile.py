"""``run.json``: what a run is (names, config, W&B's informative ``init`` arguments) and who
wrote it, merged under a lock because several processes may log to one run."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from dashboard.files import atomic_write_bytes
from dashboard.writer.fileformat import RUN_FILE


def merge_run_file(
    run_dir: Path,
    started: str,
    fields: Mapping[str, Any],
    config: Mapping[str, Any],
    extra: Mapping[str, Any],
) -> None:
    """Merge one writer's part into ``run_dir/run.json``: several processes may log to one
    run (data-parallel ranks, a restarted job), and each keeps its config keys and its
    entry under ``writers`` (found by ``started`` and pid, updated with ``extra``); the file
    is rewritten under a lock, atomically."""
    path = run_dir / RUN_FILE
    with _locked(run_dir / f".{RUN_FILE}.lock"):
        try:
            info = json.loads(path.read_text())
        except (OSError, ValueError):
            info = {}
        if not isinstance(info, dict):
            info = {}
        writers = [w for w in info.get("writers") or [] if isinstance(w, dict)]
        me = {"pid": os.getpid(), "host": socket.gethostname(), "started": started}
        mine = next(
            (w for w in writers if w.get("started") == started and w.get("pid") == me["pid"]),
            None,
        )
        if mine is None:
            writers.append(me)
            mine = me
        mine.update(extra)
        old_config = info.get("config") if isinstance(info.get("config"), dict) else {}
        info.update(
            {
                **fields,
                "config": {**old_config, **config},
                "started": min(str(info.get("started") or started), started),
                "writers": writers,
                **extra,
            }
        )
        atomic_write_bytes(path, json.dumps(info, indent=2, default=str).encode())


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
