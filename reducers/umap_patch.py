"""Swapping a library function for a faster one of ours, guarded against library upgrades.

The UMAP reducer replaces umap-learn's layout loop (:mod:`reducers.umap_layout`) and
pynndescent's neighbour descent (:mod:`reducers.umap_neighbors`). Both copy the libraries'
internals, which a new release may change. :class:`GuardedPatch` contains that risk:

- it installs only when the library function's parameters are the ones ours replaces
  (checked with :func:`inspect.signature`); otherwise the library's own code runs;
- ours runs only inside :meth:`GuardedPatch.enabled`, in the calling thread: other threads,
  and other users of the library in the process, keep the library's function;
- when ours raises (a helper it compiles against changed, say), the call is repeated with the
  library's function and ours is not used again in the process;
- each such refusal or failure is logged once, as a warning naming the library version.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import logging
import threading
from collections.abc import Callable, Iterator
from importlib.metadata import PackageNotFoundError, version
from typing import Any

logger = logging.getLogger(__name__)


class GuardedPatch:
    """``module.attribute`` replaced by ``replacement`` while :meth:`enabled`, guarded.

    Parameters
    ----------
    module, attribute
        Where the library function lives (the name its callers look it up by).
    replacement
        Our function, with the same signature; it asks :meth:`active` whether to run its
        own code and calls :attr:`original` otherwise (see :meth:`fallback`).
    expected
        The library function's parameter names that ``replacement`` was written against.
    distribution
        The library's package name, for messages.
    """

    def __init__(
        self,
        module: str,
        attribute: str,
        replacement: Callable[..., Any],
        expected: tuple[str, ...],
        distribution: str,
    ):
        self.module = module
        self.attribute = attribute
        self.replacement = replacement
        self.expected = expected
        self.distribution = distribution
        self.original: Callable[..., Any] | None = None
        self.failed: str | None = None
        self._lock = threading.Lock()
        self._refused: str | None = None
        self._state = threading.local()

    def install(self) -> bool:
        """Put :attr:`replacement` in place (once); False, logged once, if the library's
        function is missing or its parameters differ from :attr:`expected`."""
        with self._lock:
            if self.original is not None:
                return True
            if self._refused is not None:
                return False
            try:
                module = importlib.import_module(self.module)
                original = getattr(module, self.attribute)
                found = tuple(inspect.signature(original).parameters)
            except Exception as exc:  # any import or lookup failure means: do not patch
                return self._refuse(f"cannot inspect it: {exc!r}")
            if found != self.expected:
                return self._refuse(
                    f"its parameters are {found}, not the {self.expected} ours was written for"
                )
            self.original = original
            setattr(module, self.attribute, self.replacement)
            return True

    def _refuse(self, reason: str) -> bool:
        self._refused = reason
        logger.warning(
            "%s: keeping %s's own `%s.%s`: %s",
            __name__,
            self.library(),
            self.module,
            self.attribute,
            reason,
        )
        return False

    def library(self) -> str:
        """The library and its installed version, e.g. ``umap-learn 0.5.12``."""
        try:
            return f"{self.distribution} {version(self.distribution)}"
        except PackageNotFoundError:
            return self.distribution

    @contextlib.contextmanager
    def enabled(self, **state: Any) -> Iterator[bool]:
        """Within this block, calls from this thread may use our function (yields whether it
        is installed); ``state`` is kept for it (see :meth:`get`)."""
        installed = self.install()
        previous = dict(vars(self._state))
        self._state.active = installed
        for key, value in state.items():
            setattr(self._state, key, value)
        try:
            yield installed
        finally:
            vars(self._state).clear()
            vars(self._state).update(previous)

    def active(self) -> bool:
        """Whether a call from this thread should run our code."""
        return bool(getattr(self._state, "active", False)) and self.failed is None

    def get(self, key: str, default: Any = None) -> Any:
        """State given to :meth:`enabled` in this thread."""
        return getattr(self._state, key, default)

    def fallback(self, exc: BaseException) -> Callable[..., Any]:
        """Record that ours raised ``exc`` (logged once; ours is not used again in this
        process) and return the library's function to repeat the call with."""
        assert self.original is not None
        with self._lock:
            first = self.failed is None
            self.failed = repr(exc)
        if first:
            logger.warning(
                "%s: our `%s.%s` failed with %s %r; using the library's own from now on",
                __name__,
                self.module,
                self.attribute,
                self.library(),
                exc,
                exc_info=exc,
            )
        return self.original


class Stopped(BaseException):
    """Carries an exception raised by a progress callback through our code's error
    fallback: a cancelled job must stop, not be retried with the library's function."""

    def __init__(self, error: BaseException):
        super().__init__(error)
        self.error = error
