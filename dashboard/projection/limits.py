"""Time limits for work that cannot be killed (a reducer running in a thread), and the
thread-local context that tells such work whether it should stop.

Python cannot stop a thread: after its limit the caller moves on, and the work stops at its
next progress report (:func:`raise_if_overrun`) or when it returns.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from dashboard.errors import JobCancelledError

T = TypeVar("T")

#: Per-thread context: ``job`` (the background job this thread works for, if any) and
#: ``overrun`` (an Event set once the work's time limit has passed).
current = threading.local()


class TimeLimitError(Exception):
    """Raised when :func:`run_with_time_limit`'s function overruns its limit."""


def raise_if_overrun() -> None:
    """Inside :func:`run_with_time_limit`'s function: raise :class:`JobCancelledError` once
    its time limit has passed (call it from progress reports)."""
    overrun = getattr(current, "overrun", None)
    if overrun is not None and overrun.is_set():
        raise JobCancelledError("the time limit passed")


def run_with_time_limit(fn: Callable[[], T], seconds: float | None) -> T:
    """Return ``fn()``, or raise :class:`TimeLimitError` once it has run ``seconds``.

    ``fn`` runs in a thread of its own that belongs to the calling job (a cancellation
    reaches it). After the limit the caller moves on, and the thread ends at its next
    :func:`raise_if_overrun` (call it from ``fn``'s progress reports) or when ``fn`` returns;
    its result is dropped.
    """
    if seconds is None:
        return fn()
    job = getattr(current, "job", None)
    outcome: dict[str, Any] = {}
    overrun = threading.Event()

    def target() -> None:
        current.job = job
        current.overrun = overrun
        try:
            outcome["value"] = fn()
        except BaseException as exc:  # handed to the caller below
            outcome["error"] = exc

    thread = threading.Thread(target=target, name="dashboard-limited", daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        overrun.set()  # its next progress report stops it
        raise TimeLimitError(f"did not finish within {seconds:g} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
