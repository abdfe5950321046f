"""Compiling the reducers' code at a reducer worker's start, in the background.

UMAP's first map on a new machine spent about 25 s compiling numba code before its first
epoch (benchmarks/cold_start.py). A worker starts with the server (``jobs.warm()``), so it
runs each reducer's :meth:`~dashboard.plugin.Reducer.warm_up` right away, each in a new
process at the lowest CPU priority (a thread of the worker raced a map's imports): requests
and other maps come first, and a person who opens the page and picks UMAP later finds the
code compiled. A map asked for meanwhile waits for its reducer's warm-up instead of
compiling the same functions a second time, and its progress says so.

Each reducer's warm-up is remembered by a marker file in the compile cache, keyed by the
versions of Python, numba and the reducer's module: with a marker, the warm-up only loads
the cached code (a few seconds), and a waiting map says "loading" instead of "compiling".
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import json
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

#: CPU priority (nice value) of a warm-up process: the lowest.
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
    run
        Runs one reducer's warm-up and says whether it ended well (default: in a new
        process, :func:`_warm_in_a_process`).
    """

    def __init__(
        self,
        reducers: Iterable[type[Any]],
        cache_dir: Path | None,
        run: Callable[[type[Any], Path | None], bool] | None = None,
    ):
        self.cache_dir = cache_dir
        self.reducers = [r for r in reducers if r.compiles()]
        self._pending = {r.name: r for r in self.reducers}
        self._cold = {
            r.name for r in self.reducers if cache_dir is None or not marker(cache_dir, r).exists()
        }
        self._run_one = run or _warm_in_a_process
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Warm every reducer up, one after another, from a background thread (each in a
        process of its own at the lowest priority)."""
        if not self.reducers or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="dashboard-warm-up", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        for reducer in self.reducers:
            started = time.monotonic()
            try:
                ok = self._run_one(reducer, self.cache_dir)
                if ok and self.cache_dir is not None:
                    path = marker(self.cache_dir, reducer)
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.touch()
            except Exception:  # a map waiting for it must not wait forever
                logger.exception("warm-up of reducer %r failed", reducer.name)
                ok = False
            finally:
                with self._changed:
                    self._pending.pop(reducer.name, None)
                    self._changed.notify_all()
            if ok:
                logger.info(
                    "reducer %r: %s in %.1f s",
                    reducer.name,
                    "compiled" if reducer.name in self._cold else "compiled code loaded",
                    time.monotonic() - started,
                )

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


def _warm_in_a_process(reducer: type[Any], cache_dir: Path | None) -> bool:
    """Run ``reducer``'s warm-up in a new Python at the lowest priority, and say whether it
    ended well. Not in a thread of the worker: two threads importing scikit-learn at once
    (the warm-up's umap-learn, a PCA map's decomposition) left one of them a half-made
    module ("cannot import name 'clone' from partially initialized module")."""
    task = json.dumps(
        {
            "path": sys.path,
            "module": reducer.__module__,
            "name": reducer.__qualname__,
            "cache": None if cache_dir is None else str(cache_dir),
            "parent": os.getpid(),
        }
    )
    code = "from dashboard.projection.warmup import main; main()"
    try:
        done = subprocess.run(
            [sys.executable, "-c", code, task],
            capture_output=True,
            text=True,
        )
    except OSError as exc:
        logger.warning("warm-up of reducer %r could not start: %s", reducer.name, exc)
        return False
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        logger.warning("warm-up of reducer %r failed: %s", reducer.name, last)
        return False
    return True


def main() -> None:
    """The warm-up process: ``python -c "...; main()" '<task JSON>'``."""
    task = json.loads(sys.argv[1])
    with contextlib.suppress(AttributeError, OSError):
        os.nice(NICE)  # requests and maps come first
    sys.path[:] = task["path"]
    parent = task["parent"]

    def orphaned() -> None:  # end with the worker that asked
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=orphaned, daemon=True).start()
    reducer = getattr(importlib.import_module(task["module"]), task["name"])
    reducer(cache_dir=task["cache"]).warm_up()
