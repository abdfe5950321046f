"""Compiling the reducers' code at a reducer worker's start, in the background.

UMAP's first map on a new machine spent about 25 s compiling numba code before its first
epoch (benchmarks/cold_start.py). A worker starts with the server
(``jobs.warm()``), so it calls each reducer's :meth:`~dashboard.plugin.Reducer.warm_up`
right away, in a thread at the lowest CPU priority: requests and other maps come first, and
by the time a person has opened the page and picked UMAP the code is usually compiled. A map
asked for meanwhile waits for its reducer's warm-up instead of compiling the same functions
a second time, and its progress says so.

Each reducer's warm-up is remembered by a marker file in the compile cache, keyed by the
versions of Python, numba and the reducer's module: with a marker, the warm-up only loads
the cached code (a few seconds), and a waiting map says "loading" instead of "compiling".
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

#: Lowest CPU priority (nice value) of the warm-up thread.
NICE = 19
#: Libraries whose versions decide whether compiled code is still valid.
LIBRARIES = ("numba", "llvmlite", "numpy", "umap-learn", "pynndescent", "openTSNE")


def marker(cache_dir: Path, reducer: type[Any]) -> Path:
    """The file that says ``reducer``'s code was compiled into ``cache_dir`` by these
    versions of Python, the libraries and the reducer's own module."""
    parts = [sys.version, reducer.__module__, reducer.__qualname__]
    for name in LIBRARIES:
        try:
            parts.append(f"{name}={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            parts.append(f"{name}=-")
    module = sys.modules.get(reducer.__module__)
    source = Path(getattr(module, "__file__", "") or "")
    if source.is_file():
        # numba recompiles a function whose file changed; so must the warm-up. The
        # reducer's sibling modules hold its numba code (reducers/umap_layout.py).
        for path in sorted(source.parent.glob("*.py")):
            stat = path.stat()
            parts.append(f"{path.name}:{stat.st_mtime_ns}:{stat.st_size}")
    key = hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]
    return cache_dir / "warm-up" / f"{reducer.name}-{key}"


class WarmUp:
    """The background warm-up of a worker's reducers.

    Parameters
    ----------
    reducers
        Reducer classes (those whose :meth:`compiles` is true are warmed up, in order).
    cache_dir
        The compile cache (``numba_cache_dir``), where the markers are kept.
    """

    def __init__(self, reducers: Iterable[type[Any]], cache_dir: Path | None):
        self.cache_dir = cache_dir
        self.reducers = [r for r in reducers if r.compiles()]
        self._pending = {r.name: r for r in self.reducers}
        self._cold = {
            r.name for r in self.reducers if cache_dir is None or not marker(cache_dir, r).exists()
        }
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Warm every reducer up in a thread of the lowest priority."""
        if not self.reducers or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="dashboard-warm-up", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        # Linux gives each thread its own nice value, and threads started from here inherit
        # it: numba's pool, if the warm-up starts it, stays behind the server's requests for
        # later maps too, which only matters when the machine is busy. Elsewhere the call
        # fails (a thread id is no process id) and the warm-up runs at normal priority.
        with contextlib.suppress(AttributeError, OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICE)
        for reducer in self.reducers:
            started = time.monotonic()
            try:
                reducer(cache_dir=self.cache_dir).warm_up()
            except Exception:  # a plugin's warm-up must not end the worker: its map compiles
                logger.exception("warm-up of reducer %r failed", reducer.name)
            else:
                if self.cache_dir is not None:
                    path = marker(self.cache_dir, reducer)
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.touch()
                logger.info(
                    "reducer %r: %s in %.1f s",
                    reducer.name,
                    "compiled" if reducer.name in self._cold else "compiled code loaded",
                    time.monotonic() - started,
                )
            with self._changed:
                self._pending.pop(reducer.name, None)
                self._changed.notify_all()

    def cold(self, name: str) -> bool:
        """Whether reducer ``name``'s code had not been compiled on this machine."""
        return name in self._cold

    def wait(self, name: str, progress: Callable[[float, str], None]) -> None:
        """Wait while reducer ``name`` is warming up, reporting it every second through
        ``progress`` (which raises when the map is cancelled)."""
        with self._changed:
            reducer = self._pending.get(name)
        if reducer is None or self._thread is None:
            return
        title = reducer.title or reducer.name
        text = (
            f"{title}: compiling once for this machine (later maps skip this)"
            if name in self._cold
            else f"{title}: loading its compiled code"
        )
        with self._changed:
            while name in self._pending:
                progress(0.01, text)
                self._changed.wait(1.0)
