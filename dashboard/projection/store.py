"""The projection cache: float32 arrays on disk under content-hash keys.

Plain ``.npy`` files, written atomically, so a reopen is instant and separate processes
(background callbacks, several workers) share results.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from dashboard.files import atomic_write, remove_stale_temp_files

logger = logging.getLogger(__name__)

_NPY_HEADER_LOCK = threading.Lock()

#: Bump when the meaning of cached coordinates changes.
CACHE_VERSION = 1


class ProjectionStore:
    """Arrays on disk, one ``<key>.npy`` file each: a projection's coordinates, and what is
    measured on a map (its computed colours) or computed from tables (timeline layouts)."""

    def __init__(self, cache_dir: str | os.PathLike[str]):
        self.root = Path(cache_dir) / "projections"
        removed = remove_stale_temp_files(self.root)
        if removed:
            logger.info("removed %d temporary files of killed cache writers", removed)

    @staticmethod
    def key(
        fingerprint: str,
        reducer: str,
        params: Mapping[str, Any],
        dims: int,
        rows: tuple[int, ...] | None = None,
    ) -> str:
        """Return the cache key of a projection (of ``rows`` only, when given)."""
        subset = None
        if rows is not None:
            subset = hashlib.blake2b(np.asarray(rows, np.int64).tobytes(), digest_size=16)
        blob = json.dumps(
            [CACHE_VERSION, fingerprint, reducer, dict(params), dims]
            + ([subset.hexdigest()] if subset else []),
            sort_keys=True,
            default=str,
        )
        return hashlib.blake2b(blob.encode(), digest_size=16).hexdigest()

    def path(self, key: str) -> Path:
        """Return the file that holds projection ``key``."""
        if not key.isalnum():  # keys come back from the browser: never a path
            raise ValueError(f"invalid projection key {key!r}")
        return self.root / f"{key}.npy"

    def load(self, key: str, *, mmap: bool = False) -> np.ndarray | None:
        """Return cached coordinates (read-only and mapped from the file with ``mmap``), or
        None when absent or unreadable."""
        try:
            path = self.path(key)
        except ValueError:
            return None  # not a key this store makes (a forged one from a browser)
        try:
            # np.load parses the .npy header with `ast`, which CPython 3.11 cannot run in
            # two threads at once ("AST constructor recursion depth mismatch", seen here
            # when several panels load a new map together): one load at a time.
            with _NPY_HEADER_LOCK:
                return np.load(path, allow_pickle=False, mmap_mode="r" if mmap else None)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, EOFError) as exc:
            # Empty or cut short (a full disk, a crash before an older, unsynced write): a
            # miss, recomputed and written over.
            logger.warning("unreadable cache entry %s (%s): computing it again", key, exc)
            return None

    def exists(self, key: str) -> bool:
        """Whether array ``key`` is stored (without reading it)."""
        return self.path(key).exists()

    def save(
        self, key: str, coords: np.ndarray, *, durable: bool = True, dtype: Any = np.float32
    ) -> None:
        """Write an array atomically (:func:`dashboard.files.atomic_write`) as ``dtype``
        (None: its own); ``durable=False`` skips the syncs, for arrays rebuilt when their
        file is lost."""
        self.root.mkdir(parents=True, exist_ok=True)
        array = np.asarray(coords, dtype=dtype)

        def write(tmp: Path) -> None:
            with open(tmp, "wb") as fh:
                np.save(fh, array, allow_pickle=False)

        atomic_write(self.path(key), write, durable=durable)
