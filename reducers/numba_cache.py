"""numba's compiled code kept on disk, once per machine, for every reducer that uses numba.

umap-learn, pynndescent and the reducers' own numba modules compile their functions on first
use: about 35 s of a fresh 100k-row UMAP map on two cores. Pointed at one per-user folder
(:func:`default_numba_cache`, or the app's ``numba_cache_dir:``), that happens once per
machine, whatever config or cache directory a server uses.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import warnings
from pathlib import Path

logger = logging.getLogger(__name__)

_CACHE_LOCK = threading.Lock()
#: The folder numba's caches point at now, and how many dispatchers were pointed there.
_cache_dir: str | None = None
_cached_count = 0
#: Modules whose compiled functions are cached: umap-learn's, pynndescent's and ours.
CACHED_MODULES = (
    "umap",
    "pynndescent",
    "reducers.umap_layout",
    "reducers.umap_neighbors",
    "reducers.tsne_exact",
)


def default_numba_cache() -> Path:
    """``$NUMBA_CACHE_DIR``, else ``numba/`` in the per-user cache: one per machine."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return Path(os.environ["NUMBA_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "embedding-dashboard" / "numba"


def enable_numba_cache(directory: str | os.PathLike[str] | None = None) -> int:
    """Keep the compiled code of umap-learn, pynndescent and the reducers in ``directory``
    (default :func:`default_numba_cache`).

    Most of umap-learn's and pynndescent's functions are declared without ``cache=True``, so
    every new process compiled them again (about 35 s of a fresh 100k-row map on two cores).
    With caching on, the compiled code is written once per machine. The folder is the app's
    (``numba_cache_dir:``), not a process-wide first-wins setting: asked for another folder,
    the caches are pointed there. Functions numba cannot cache (pynndescent's ``nn_descent``
    holds dynamic globals) still compile in each process.

    Returns
    -------
    int
        How many functions were pointed at ``directory`` by this call (0 when they were).
    """
    global _cache_dir, _cached_count
    target = str(Path(directory) if directory is not None else default_numba_cache())
    with _CACHE_LOCK:
        modules = [
            (name, module)
            for name, module in list(sys.modules.items())
            if module is not None
            and any(name == m or name.startswith(m + ".") for m in CACHED_MODULES)
        ]
        dispatchers = [
            value
            for name, module in modules
            for value in list(vars(module).values())
            if _is_own_dispatcher(value, name)
        ]
        if target == _cache_dir and len(dispatchers) == _cached_count:
            return 0
        from numba.core import config
        from numba.core.errors import NumbaWarning

        # numba warns once per function it cannot cache; that is expected here, not news.
        warnings.filterwarnings(
            "ignore", message="Cannot cache compiled function", category=NumbaWarning
        )
        # Read when a function's cache is made: point every one of them at `target`.
        config.CACHE_DIR = target
        for dispatcher in dispatchers:
            dispatcher.enable_caching()
        _cache_dir, _cached_count = target, len(dispatchers)
        logger.debug("numba caches of %d functions in %s", len(dispatchers), target)
        return len(dispatchers)


def _is_own_dispatcher(value: object, module: str) -> bool:
    from numba.core.registry import CPUDispatcher

    return isinstance(value, CPUDispatcher) and value.py_func.__module__ == module
