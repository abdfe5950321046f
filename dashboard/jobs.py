"""Run Dash background callbacks in threads of the server process, results in diskcache.

Why not Dash's ``DiskcacheManager`` as is: it forks a process per job, and Polars' thread pool
deadlocks in a child forked after the parent used it (measured here: a forked
``scan_parquet(...).collect()`` hangs forever). Threads also keep what the server has already
paid for: matrices read once, ``import umap`` done once per process, not once per job.
Reducers spend their time in native code (BLAS, numba, Cython) that releases the GIL, so the
page stays responsive while a projection runs.
"""

from __future__ import annotations

import itertools
import threading
from typing import Any

import diskcache
from dash import DiskcacheManager

_current = threading.local()

#: How often the browser asks whether a background job is done (Dash's default is 1 s; a
#: cached projection is done at once, so a long first poll would be most of its wait).
POLL_MS = 250


class JobCancelledError(Exception):
    """Raised inside a job whose result nobody wants any more."""


class ThreadJobManager(DiskcacheManager):
    """A :class:`dash.DiskcacheManager` whose jobs are threads, not forked processes.

    Parameters
    ----------
    cache
        Where results and progress go (shared with Dash's polling requests).
    """

    def __init__(self, cache: diskcache.Cache):
        super().__init__(cache)
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._threads: dict[int, threading.Thread] = {}
        self._cancelled: set[int] = set()

    def call_job_fn(self, key: str, job_fn: Any, args: Any, context: Any) -> int:
        with self._lock:
            job = next(self._ids)
            thread = threading.Thread(
                target=self._run,
                args=(job, job_fn, key, args, context),
                name=f"dashboard-job-{job}",
                daemon=True,
            )
            self._threads[job] = thread
        thread.start()
        return job

    def _run(self, job: int, job_fn: Any, key: str, args: Any, context: Any) -> None:
        _current.job = job
        try:
            job_fn(key, self._make_progress_key(key), args, context)
        finally:
            with self._lock:
                self._threads.pop(job, None)
                self._cancelled.discard(job)
            _current.job = None

    def job_running(self, job: Any) -> bool:
        with self._lock:
            thread = self._threads.get(int(job))
        return bool(thread and thread.is_alive())

    def terminate_job(self, job: Any) -> None:
        """Ask job ``job`` to stop at its next progress report (threads cannot be killed)."""
        if job is None:
            return
        with self._lock:
            if int(job) in self._threads:
                self._cancelled.add(int(job))

    def terminate_unhealthy_job(self, job: Any) -> bool:
        return False

    def raise_if_cancelled(self) -> None:
        """Called from inside a job: raise :class:`JobCancelledError` if it was terminated."""
        job = getattr(_current, "job", None)
        with self._lock:
            if job is not None and job in self._cancelled:
                raise JobCancelledError(f"job {job} was cancelled")
