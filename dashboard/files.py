"""Atomic file writes: the one way the dashboard and the writer API put a file in place.

A file is written under a temporary name in its own folder, flushed to disk (``fsync``), then
renamed over the target, and the folder is synced so the rename survives a power cut. A reader
sees the old file or the new one, never half of one; a writer killed mid-write leaves only a
hidden ``.<name>.*.tmp`` file behind, which readers skip.

Caches that are rebuilt when unreadable may skip the syncs (``durable=False``): the rename is
still atomic for readers, but a power cut may leave an empty or short file, which the cache
reads as a miss. Syncing a 3 GB matrix took 2.5-6 s of a first map here, and stalled the
small writes behind it.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

#: Suffix of the temporary files :func:`atomic_write` makes (readers skip them).
TMP_SUFFIX = ".tmp"


def atomic_write(
    path: str | os.PathLike[str], write: Callable[[Path], None], *, durable: bool = True
) -> Path:
    """Fill ``path`` atomically: ``write(tmp)`` writes a temporary file next to it, which is
    synced (unless ``durable`` is False) and renamed into place. Returns ``path``.

    ``write`` gets a path (for writers that open files themselves, such as Polars'
    ``write_parquet``); the temporary file is removed if it raises.
    """
    target = Path(path)
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=TMP_SUFFIX)
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        if durable:
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    if durable:
        _sync_folder(target.parent)
    return target


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_write`)."""
    return atomic_write(path, lambda tmp: tmp.write_bytes(data))


def _sync_folder(folder: Path) -> None:
    # The rename is an entry in the folder: sync it too. Some file systems cannot (EINVAL).
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


#: A temporary file older than this is a killed writer's: no write takes an hour.
STALE_SECONDS = 3600.0


def remove_stale_temp_files(
    folder: str | os.PathLike[str], older_than: float = STALE_SECONDS
) -> int:
    """Remove :func:`atomic_write`'s temporary files left in ``folder`` by writers that were
    killed (older than ``older_than`` seconds); return how many went."""
    import time

    now = time.time()
    removed = 0
    try:
        entries = list(Path(folder).glob(f".*{TMP_SUFFIX}"))
    except OSError:
        return 0
    for entry in entries:
        try:
            if now - entry.stat().st_mtime > older_than:
                entry.unlink()
                removed += 1
        except OSError:
            continue  # gone already, or another process's: leave it
    return removed
