"""Run Dash background callbacks in threads of the server process, results in diskcache.

(Background callbacks are the panels' long work: a timeline's steps, a pinned map. The
projections themselves run as jobs in worker processes, :mod:`dashboard.projection.lifecycle`;
a background callback that needs a map waits for its job.)

Why not Dash's ``DiskcacheManager`` as is: it forks a process per job, and Polars' thread pool
deadlocks in a child forked after the parent used it (measured here: a forked
``scan_parquet(...).collect()`` hangs forever). Threads also keep what the server has already
paid for: matrices read once, ``import umap`` done once per process, not once per job.
Reducers spend their time in native code (BLAS, numba, Cython) that releases the GIL, so the
page stays responsive while a projection runs.

Several workers (gunicorn) share one result store: a job started by one worker may be polled
by another. So a running job also holds a lease in the store, renewed while it runs, and a
cancellation is written there too; job ids carry the worker's PID so they never collide.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from typing import Any

import diskcache
from dash import DiskcacheManager

from dashboard.errors import JobCancelledError
from dashboard.projection.limits import current as _current

#: A running job's lease in the shared store lasts this long and is renewed at a third of it:
#: a worker that dies mid-job stops renewing, and other workers then see the job as gone.
LEASE_S = 60


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
        self._renewer: threading.Thread | None = None

    def call_job_fn(self, key: str, job_fn: Any, args: Any, context: Any) -> int:
        with self._lock:
            # Unique across the workers sharing the store: the PID, then a counter.
            job = os.getpid() * 1_000_000 + next(self._ids)
            thread = threading.Thread(
                target=self._run,
                args=(job, job_fn, key, args, context),
                name=f"dashboard-job-{job}",
                daemon=True,
            )
            self._threads[job] = thread
            self.handle.set(_lease(job), os.getpid(), expire=LEASE_S)
            if self._renewer is None:  # it clears itself, under this lock, when it stops
                self._renewer = threading.Thread(
                    target=self._renew_leases, name="dashboard-job-leases", daemon=True
                )
                self._renewer.start()
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
            self.handle.delete(_lease(job))
            self.handle.delete(_cancel(job))
            _current.job = None

    def _renew_leases(self) -> None:
        """Renew the leases of this worker's running jobs until it has none."""
        while True:
            with self._lock:
                jobs = list(self._threads)
                if not jobs:
                    # Decided under the lock: a job started after this starts a new renewer.
                    self._renewer = None
                    return
            for job in jobs:
                self.handle.touch(_lease(job), expire=LEASE_S)
            time.sleep(LEASE_S / 3)

    def job_running(self, job: Any) -> bool:
        job = int(job)
        with self._lock:
            thread = self._threads.get(job)
        if thread is not None:
            return thread.is_alive()
        return self.handle.get(_lease(job)) is not None  # another worker's job

    def terminate_job(self, job: Any) -> None:
        """Ask job ``job`` to stop at its next progress report (threads cannot be killed)."""
        if job is None:
            return
        with self._lock:
            if int(job) in self._threads:
                self._cancelled.add(int(job))
                return
        if self.handle.get(_lease(int(job))) is not None:  # another worker runs it
            self.handle.set(_cancel(int(job)), True, expire=LEASE_S * 10)

    def terminate_unhealthy_job(self, job: Any) -> bool:
        return False

    def raise_if_cancelled(self) -> None:
        """Called from inside a job: raise :class:`JobCancelledError` if it was terminated."""
        job = getattr(_current, "job", None)
        if job is None:
            return
        with self._lock:
            cancelled = job in self._cancelled
        if cancelled or self.handle.get(_cancel(job)) is not None:
            raise JobCancelledError(f"job {job} was cancelled")


def _lease(job: int) -> str:
    return f"dashboard-job-lease-{job}"


def _cancel(job: int) -> str:
    return f"dashboard-job-cancel-{job}"
