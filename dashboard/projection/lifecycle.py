"""Projection jobs: one job per distinct map asked for, with a lifecycle every page can follow.

A job's identity is the map's cache key (table contents, reducer, params, dims, rows): two
pages, tabs or clicks asking for the same map join one job, and each of them is answered.
A job is ``queued``, ``running`` (with progress), then ``done``, ``failed`` (with the message
the page shows) or ``cancelled``. Its record lives in a store every server process shares
(``diskcache``, as gunicorn's workers do), so a page may poll any of them. The process that
runs a job renews its heartbeat; a job whose heartbeat stops (its server was killed) is
*lost*, and the next poll runs it again and says so.

Pages that wait on a job are its waiters; a page leaves when it asks for another map or
presses Cancel, and a job nobody waits for any more is cancelled: its reducer is asked to
stop, and its worker process killed if it does not (see :mod:`dashboard.projection.process`).
"""

from __future__ import annotations

import enum
import logging
import os
import queue
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from dashboard.errors import DashboardError, JobCancelledError, ReducerError
from dashboard.projection.request import Projection, ProjectionRequest

if TYPE_CHECKING:
    import diskcache

    from dashboard.plugin.reducer import Progress

logger = logging.getLogger(__name__)

#: The running process renews a job's heartbeat this often ...
BEAT_S = 2.0
#: ... and a queued or running job whose heartbeat is older than this is lost.
LOST_AFTER_S = 12.0
#: Finished jobs' records are kept this long, for pages that poll late.
KEEP_S = 3600.0
#: A waiter that has not polled for this long has gone (a closed tab).
WAITER_GONE_S = 60.0


class JobState(str, enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


ACTIVE = (JobState.QUEUED, JobState.RUNNING)


@dataclass
class JobStatus:
    """A job's record: its state, progress, and (when finished) its map or its error."""

    key: str
    state: JobState
    request: dict[str, Any]
    fraction: float = 0.0
    message: str = ""
    error: str | None = None
    projection: dict[str, Any] | None = None  # the map's store value, when done
    owner: str = ""
    beat: float = 0.0
    waiters: dict[str, float] = field(default_factory=dict)
    cancel: bool = False
    reruns: int = 0
    generation: int = 0  # a new run of the same map (after a cancel, a failure, a loss)

    @property
    def active(self) -> bool:
        return self.state in ACTIVE

    def lost(self, now: float | None = None) -> bool:
        """Whether the job is queued or running but its process stopped answering."""
        if not self.active:
            return False
        if self.owner.startswith("celery") and self.state is JobState.QUEUED:
            return False  # a Celery queue may hold a job for long: its workers beat once running
        return (now or time.time()) - self.beat > LOST_AFTER_S


class Executor(Protocol):
    """Runs one projection request to its store value (see :class:`ReducerProcess`)."""

    def run(
        self,
        job: str,
        request: dict[str, Any],
        progress: Callable[[float, str], None],
        cancelled: Callable[[], bool],
    ) -> dict[str, Any]: ...


class InProcessExecutor:
    """Runs projections in a thread of this process: for plugins that cannot be carried to a
    worker process (and `projection.workers: 0`). A cancel stops the reducer at its next
    progress report; a crash here ends the server."""

    def __init__(self, project: Callable[[Mapping[str, Any], Progress], Projection]):
        self._project = project

    def run(
        self,
        job: str,
        request: dict[str, Any],
        progress: Callable[[float, str], None],
        cancelled: Callable[[], bool],
    ) -> dict[str, Any]:
        def report(fraction: float, message: str) -> None:
            if cancelled():
                raise JobCancelledError(f"job {job} was cancelled")
            progress(fraction, message)

        return self._project(request, report).to_store()


def _record(key: str) -> str:
    return f"dashboard-projection-job-{key}"


class ProjectionJobs:
    """The projection jobs of one dashboard: submit, follow, cancel, wait.

    Parameters
    ----------
    board
        Where job records live (shared by every process serving this dashboard).
    lookup
        The cache key of a request, and its :class:`Projection` when its map is cached
        (None: it must be computed).
    executors
        One per job that may run at once.
    background
        Executors of their own for long background jobs (a stability check's runs: a
        request with ``runs``), so that maps asked for meanwhile do not queue behind them;
        none: those jobs share ``executors``.
    send
        Instead of running jobs here, hand each ``(key, request, generation)`` to this
        (Celery), whose workers call :meth:`execute`.
    """

    def __init__(
        self,
        board: diskcache.Cache,
        lookup: Callable[[ProjectionRequest], tuple[str, Projection | None]],
        executors: list[Executor],
        send: Callable[[str, dict[str, Any], int], None] | None = None,
        background: list[Executor] | None = None,
    ):
        self.board = board
        self._lookup = lookup
        self._executors = executors
        self._background = list(background or [])
        self._send = send
        self.owner = ("celery:" if send else "") + f"{socket.gethostname()}:{os.getpid()}"
        self._queue: queue.Queue[tuple[str, dict[str, Any], int]] = queue.Queue()
        self._background_queue: queue.Queue[tuple[str, dict[str, Any], int]] = (
            queue.Queue() if self._background else self._queue
        )
        # (key, generation) of the jobs this process runs or has queued
        self._running: dict[tuple[str, int], None] = {}
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._free: queue.Queue[Executor] = queue.Queue()
        for executor in executors:
            self._free.put(executor)

    # -- records ----------------------------------------------------------------------------

    def get(self, key: str) -> JobStatus | None:
        data = self.board.get(_record(key)) if isinstance(key, str) else None
        if not isinstance(data, dict):
            return None
        data = dict(data, state=JobState(data["state"]))
        return JobStatus(**data)

    def _put(self, status: JobStatus) -> None:
        data = asdict(status)
        data["state"] = status.state.value
        self.board.set(_record(status.key), data, expire=KEEP_S)

    def _change(
        self, key: str, change: Callable[[JobStatus], Any], generation: int | None = None
    ) -> JobStatus | None:
        """Apply ``change`` to ``key``'s record atomically (across processes); with
        ``generation``, only while the record is still that run of the job."""
        with self.board.transact():
            status = self.get(key)
            if status is not None and generation in (None, status.generation):
                change(status)
                self._put(status)
            return status

    # -- what pages do ----------------------------------------------------------------------

    def submit(self, request: Mapping[str, Any] | ProjectionRequest, waiter: str) -> JobStatus:
        """Start (or join) the job of ``request`` for ``waiter`` (a page id); a cached map is
        done at once.

        Raises
        ------
        DashboardError
            For a request that names no table, reducer or params the dashboard has.
        """
        request = ProjectionRequest.parse(request)
        key, projection = self._lookup(request)
        if projection is not None:
            stored = projection.to_store()
            return JobStatus(key, JobState.DONE, request.to_dict(), 1.0, projection=stored)
        now = time.time()
        with self.board.transact():
            status = self.get(key)
            joinable = status is not None and status.active and not status.cancel
            if joinable and status is not None and not status.lost(now):
                status.waiters[waiter] = now
                self._put(status)
                return status
            # A new run: none yet, it ended, it was lost, or it is being cancelled (whose
            # worker may be stopping already).
            lost = status is not None and status.active and not status.cancel
            reruns = status.reruns + 1 if lost and status is not None else 0
            generation = status.generation + 1 if status is not None else 0
            status = JobStatus(
                key,
                JobState.QUEUED,
                request.to_dict(),
                message=_rerun_message(reruns) or "queued",
                owner=self.owner,
                beat=now,
                waiters={waiter: now},
                reruns=reruns,
                generation=generation,
            )
            self._put(status)
        self._enqueue(key, status.request, generation)
        return status

    def status(self, key: str, waiter: str) -> JobStatus | None:
        """``key``'s record as ``waiter`` sees it now (None: unknown or expired); a lost job
        runs again."""
        status = self.get(key)
        if status is None:
            return None
        if status.lost():
            logger.warning("projection job %s was lost (its process ended): running it again", key)
            return self.submit(status.request, waiter)
        if status.active and status.waiters.get(waiter, 0) < time.time() - BEAT_S:
            status = self._change(key, lambda s: s.waiters.__setitem__(waiter, time.time()))
        return status

    def leave(self, key: str, waiter: str) -> JobStatus | None:
        """``waiter`` no longer waits for ``key`` (Cancel, or another map asked for); the job
        is cancelled when no other page waits for it."""

        def drop(status: JobStatus) -> None:
            status.waiters.pop(waiter, None)
            now = time.time()
            waiting = [w for w, seen in status.waiters.items() if now - seen < WAITER_GONE_S]
            if status.active and not waiting:
                status.cancel = True
                if status.state is JobState.QUEUED:
                    status.state, status.message = JobState.CANCELLED, "cancelled"

        if not isinstance(key, str):
            return None
        return self._change(key, drop)

    def leave_request(
        self, request: Mapping[str, Any] | ProjectionRequest, waiter: str
    ) -> JobStatus | None:
        """:meth:`leave` the job of ``request`` (a page that never learned its key)."""
        try:
            key, _ = self._lookup(ProjectionRequest.parse(request))
        except DashboardError:
            return None
        return self.leave(key, waiter)

    def wait(
        self,
        request: Mapping[str, Any] | ProjectionRequest,
        progress: Progress | None = None,
        waiter: str | None = None,
        poll_s: float = 0.2,
    ) -> Projection:
        """Submit ``request`` and block until its map is ready (for callers that are
        themselves background work: timelines, pinned maps). ``progress`` may raise
        :class:`JobCancelledError` to stop waiting (and leave the job).

        Raises
        ------
        DashboardError
            When the job failed (its message), or was cancelled by everyone waiting.
        """
        waiter = waiter or f"wait-{threading.get_ident()}-{time.monotonic_ns()}"
        request = ProjectionRequest.parse(request)
        status: JobStatus | None = self.submit(request, waiter)
        key = status.key
        try:
            while status is None or status.active or status.state is JobState.CANCELLED:
                if status is None or status.state is JobState.CANCELLED:
                    # Expired, or cancelled by the pages that left it: this caller still
                    # waits for the map.
                    status = self.submit(request, waiter)
                    continue
                if progress is not None:
                    progress(status.fraction, status.message)
                time.sleep(poll_s)
                status = self.status(key, waiter)
        except JobCancelledError:
            self.leave(key, waiter)
            raise
        if status.state is JobState.FAILED:
            raise ReducerError(status.error or "the map could not be computed")
        projection = Projection.from_store(status.projection)
        if projection is None:
            raise DashboardError("the finished map's record is damaged\nask for the map again")
        return projection

    # -- running ----------------------------------------------------------------------------

    def _enqueue(self, key: str, request: dict[str, Any], generation: int) -> None:
        if self._send is not None:
            self._send(key, request, generation)
            return
        self._start_threads()
        with self._lock:
            self._running[key, generation] = None
        lane = self._background_queue if request.get("runs") else self._queue
        lane.put((key, request, generation))

    def _start_threads(self) -> None:
        with self._lock:
            if self._threads:
                return
            lanes = [(e, self._queue) for e in self._executors]
            lanes += [(e, self._background_queue) for e in self._background]
            for slot, (executor, lane) in enumerate(lanes):
                thread = threading.Thread(
                    target=self._work,
                    args=(executor, lane),
                    name=f"dashboard-projection-{slot}",
                    daemon=True,
                )
                thread.start()
                self._threads.append(thread)
            beat = threading.Thread(target=self._beat, name="dashboard-projection-beat")
            beat.daemon = True
            beat.start()
            self._threads.append(beat)

    def run_sent(self, key: str, request: dict[str, Any], generation: int) -> None:
        """Run a job another process sent here (a Celery task), on a free executor."""
        self._start_threads()
        with self._lock:
            self._running[key, generation] = None
        executor = self._free.get()
        try:
            self.execute(key, request, generation, executor)
        finally:
            self._free.put(executor)
            with self._lock:
                self._running.pop((key, generation), None)

    def _work(self, executor: Executor, lane: queue.Queue[tuple[str, dict[str, Any], int]]) -> None:
        while True:
            key, request, generation = lane.get()
            try:
                self.execute(key, request, generation, executor)
            except Exception:  # never lose the thread: the record says failed
                logger.exception("projection job %s failed", key)
                self._change(
                    key,
                    lambda s: _finish(s, JobState.FAILED, error="the map could not be computed"),
                    generation,
                )
            finally:
                with self._lock:
                    self._running.pop((key, generation), None)

    def _beat(self) -> None:
        """Renew the heartbeat of the jobs this process runs or has queued."""
        while True:
            time.sleep(BEAT_S)
            with self._lock:
                runs = list(self._running)
            for key, generation in runs:
                self._change(key, _renew, generation)

    def execute(
        self, key: str, request: dict[str, Any], generation: int, executor: Executor
    ) -> None:
        """Run job ``key`` here (a server's worker thread, or a Celery task), writing its
        progress and result to its record."""
        owner = self.owner.removeprefix("celery:")

        def claim(status: JobStatus) -> None:
            if status.state is JobState.QUEUED and not status.cancel:
                status.state, status.owner, status.beat = JobState.RUNNING, owner, time.time()
                status.message = _rerun_message(status.reruns) or "starting"

        status = self._change(key, claim, generation)
        taken = status is not None and status.generation == generation
        if not taken or status.state is not JobState.RUNNING or status.owner != owner:
            return  # cancelled while queued, a newer run, or another process took it
        last = [0.0]

        def progress(fraction: float, message: str) -> None:
            def note(status: JobStatus) -> None:
                status.fraction, status.message, status.beat = fraction, message, time.time()

            self._change(key, note, generation)

        def cancelled() -> bool:
            now = time.monotonic()
            if now - last[0] < 0.25:
                return False
            last[0] = now
            status = self.get(key)
            return status is None or status.cancel or status.generation != generation

        job = f"{key}-{generation}"
        try:
            stored = executor.run(job, request, progress, cancelled)
        except JobCancelledError:
            finish = {"state": JobState.CANCELLED, "message": "cancelled"}
        except DashboardError as exc:
            logger.warning("projection failed: %s", exc)
            finish = {"state": JobState.FAILED, "error": str(exc)}
        else:
            finish = {"state": JobState.DONE, "projection": stored}
        self._change(key, lambda s: _finish(s, **finish), generation)

    def warm(self) -> None:
        """Start the worker processes in the background (a server starting up)."""
        for executor in self._executors:
            warm = getattr(executor, "warm", None)
            if warm is not None:
                threading.Thread(target=warm, name="dashboard-worker-start", daemon=True).start()

    def worker_pids(self) -> list[int]:
        """The process ids of this process's running reducer workers."""
        pids = [getattr(e, "pid", None) for e in [*self._executors, *self._background]]
        return [pid for pid in pids if pid is not None]

    def stop(self) -> None:
        """End the worker processes (the server is shutting down)."""
        for executor in [*self._executors, *self._background]:
            stop = getattr(executor, "stop", None)
            if stop is not None:
                stop()


def _renew(status: JobStatus) -> None:
    if status.active:
        status.beat = time.time()


def _finish(status: JobStatus, state: JobState, **fields: Any) -> None:
    status.state, status.beat = state, time.time()
    status.fraction = 1.0 if state is JobState.DONE else status.fraction
    for name, value in fields.items():
        setattr(status, name, value)


def _rerun_message(reruns: int) -> str:
    if not reruns:
        return ""
    return "the process computing this map stopped; computing it again"
