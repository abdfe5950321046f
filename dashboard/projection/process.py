"""Reducers run in a spawned worker process, so that no reducer can take the server down.

A reducer is native code (BLAS, Cython, numba) or a third party's plugin: a segfault, an
``abort()``, a hang that never reports progress, or a leak ends or blocks the process it runs
in. Run in the server, that is every user's page. Run here, it ends one map: the server sees
the worker's end, says so on the page, and starts a fresh worker.

The worker is a new Python (``subprocess``): not a fork (Polars' thread pool deadlocks in a
forked child), and not ``multiprocessing``'s spawn, which re-runs the server's ``__main__``
(``python -m dashboard`` would start a second server). It talks over a socket pair with
``multiprocessing.connection``. It starts once and is then kept: it builds the dashboard from
the same config, reads the tables once and imports each reducer's library once, so the second
map costs what the fit costs; at its start it compiles the reducers' code in the background
(:mod:`dashboard.projection.warmup`). A cancel is first asked for (the reducer stops at its next
progress report and the worker stays warm); a reducer that does not stop within
:data:`CANCEL_GRACE_S` has its worker killed.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import types
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

from dashboard.errors import DashboardError, JobCancelledError, ReducerError
from dashboard.projection.warmup import WarmUp

if TYPE_CHECKING:
    import pluggy

    from dashboard.config import DashboardConfig

logger = logging.getLogger(__name__)

#: A reducer asked to stop has this long to reach a progress report before its worker is
#: killed.
CANCEL_GRACE_S = 1.5
#: A new worker has this long to build the dashboard (read the config, open the tables).
START_TIMEOUT_S = 180.0
#: A file the workers log to instead of their stderr (set by a notebook's `dashboard.show`).
WORKER_LOG_ENV = "EMBEDDING_DASHBOARD_WORKER_LOG"


@dataclass(frozen=True)
class WorkerSpec:
    """What a worker needs to build the same dashboard as the server: its config, and the
    plugins registered in code besides the installed ones, by where they are defined
    (``module`` or ``module:attribute``). JSON both ways: the worker unpickles nothing."""

    config: DashboardConfig
    extra_plugins: tuple[tuple[str, str], ...] = ()  # (name, "module" or "module:attribute")
    removed_plugins: tuple[str, ...] = ()

    def to_json(self) -> str:
        return json.dumps(
            {
                "config": self.config.model_dump(mode="json"),
                "source": self.config.source,
                "extra": self.extra_plugins,
                "removed": self.removed_plugins,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> WorkerSpec:
        from dashboard.config import DashboardConfig

        data = json.loads(text)
        config = DashboardConfig.model_validate(data["config"])
        config = config.model_copy(update={"source": data["source"]})
        extra = tuple((name, where) for name, where in data["extra"])
        return cls(config, extra, tuple(data["removed"]))


def _where(plugin: Any) -> str | None:
    """``module`` or ``module:attribute`` that names ``plugin`` (None: nothing does)."""
    if isinstance(plugin, types.ModuleType):
        return plugin.__name__
    owner = getattr(plugin, "__module__", None) or type(plugin).__module__
    module = sys.modules.get(owner)
    for attribute, value in vars(module).items() if module is not None else ():
        if value is plugin:
            return f"{owner}:{attribute}"
    return None


def worker_spec(config: DashboardConfig, pm: pluggy.PluginManager) -> WorkerSpec | None:
    """The spec that rebuilds ``pm`` in a worker, or None when a plugin registered in code
    cannot be found there by name (a class made in a function, a notebook cell's object)."""
    from dashboard.plugin.manager import get_plugin_manager

    installed = dict(get_plugin_manager(config.disable_plugins).list_name_plugin())
    ours = dict(pm.list_name_plugin())
    extra = []
    for name, plugin in ours.items():
        if plugin is None or (name in installed and installed[name] is plugin):
            continue
        where = _where(plugin)
        if where is None or where.startswith("__main__"):
            logger.warning(
                "plugin %r is not defined at the top level of an importable module, so it "
                "cannot be loaded in a worker process: maps are computed in the server "
                "process, where a crashing reducer takes the server down",
                name,
            )
            return None
        extra.append((name, where))
    removed = tuple(name for name in installed if name not in ours)
    return WorkerSpec(config, tuple(extra), removed)


def _rebuild_plugins(spec: WorkerSpec) -> pluggy.PluginManager:
    from dashboard.plugin.manager import get_plugin_manager

    pm = get_plugin_manager(spec.config.disable_plugins)
    for name in spec.removed_plugins:
        pm.unregister(name=name)
    for name, where in spec.extra_plugins:
        module, _, attribute = where.partition(":")
        plugin = importlib.import_module(module)
        if attribute:
            plugin = getattr(plugin, attribute)
        if pm.get_plugin(name) is not None:
            pm.unregister(name=name)
        pm.register(plugin, name=name)
    return pm


def main(fd: int) -> None:
    """The worker process: ``python -c "...; main(fd)"`` with one end of a socket pair."""
    # A notebook's dashboards log to a file: a kernel shows its children's output in
    # whichever cell runs next.
    log_file = os.environ.get(WORKER_LOG_ENV) or None
    logging.basicConfig(
        level=logging.INFO,
        format=("%(asctime)s " if log_file else "")
        + "%(levelname)s %(name)s (worker): %(message)s",
        filename=log_file,
    )
    conn = _Channel(socket.socket(fileno=fd))
    try:
        sys.path[:] = conn.recv()  # the server's: plugins are imported from where it finds them
        _serve(conn, WorkerSpec.from_json(conn.recv()))
    except (BrokenPipeError, ConnectionResetError, EOFError):
        # The server is gone (a script that ended while its worker was starting): there is
        # no one to report to.
        return


class _Channel:
    """Messages (JSON values) over a socket, one per length-prefixed frame:
    ``multiprocessing.connection`` without its pickling."""

    def __init__(self, sock: socket.socket):
        self._conn = Connection(sock.detach())

    def send(self, message: Any) -> None:
        self._conn.send_bytes(json.dumps(message).encode())

    def recv(self) -> Any:
        return json.loads(self._conn.recv_bytes())

    def poll(self, timeout: float = 0.0) -> bool:
        return self._conn.poll(timeout)

    def close(self) -> None:
        self._conn.close()


def _serve(conn: Any, spec: WorkerSpec) -> None:
    """The worker's main loop: build the dashboard, then run the projections asked for."""
    # Ctrl-C in the server's terminal reaches the whole process group: the server ends the
    # worker itself, and a worker dying first would look like a crash.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = os.getppid()
    try:
        from dashboard.web.assemble import prepare

        context = prepare(spec.config, plugin_manager=_rebuild_plugins(spec)).context
    except Exception as exc:
        conn.send(("broken", f"{type(exc).__name__}: {exc}"))
        return
    conn.send(("ready", os.getpid()))
    threading.Thread(target=_orphaned, args=(parent,), daemon=True).start()
    warm_up = WarmUp(context.registry.reducers.values(), context.reducer_cache)
    warm_up.start()
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):  # the server is gone
            return
        if message[0] != "run":
            continue
        _, job, request = message

        def progress(fraction: float, text: str, job: Any = job) -> None:
            try:
                while conn.poll():
                    # A cancel sent for an earlier job that finished before it arrived is
                    # not this job's: only a cancel naming this job stops it.
                    if conn.recv() == ["cancel", job]:
                        raise JobCancelledError(f"job {job} was cancelled")
                conn.send(("progress", job, float(fraction), str(text)))
            except (EOFError, OSError):
                os._exit(0)  # the server is gone: nobody waits for this map

        try:
            warm_up.wait(str(request.get("reducer")), progress)
            projection = context.project(request, progress)
        except JobCancelledError:
            conn.send(("cancelled", job))
        except DashboardError as exc:
            conn.send(("failed", job, str(exc)))
        except Exception as exc:  # not a reducer's (run_projection wraps those): ours
            logger.exception("projection %s failed in the worker", job)
            conn.send(("failed", job, f"the map could not be computed: {type(exc).__name__}"))
        else:
            conn.send(("done", job, projection.to_store()))


def _orphaned(parent: int) -> None:
    """End this worker once the server is gone (killed: it could not end it), even in the
    middle of a fit that never reports progress: nobody waits for its map any more."""
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)


def crash_text(exitcode: int | None) -> str:
    """How a worker ended, as a person reads it."""
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        return f"was ended by {name}"
    return f"exited with code {exitcode}"


class WorkerStoppedError(ReducerError):
    """The worker was stopped while it started (its server no longer wants it)."""


class ReducerProcess:
    """One warm worker process that runs one projection at a time.

    Parameters
    ----------
    spec
        What the worker builds its dashboard from.
    """

    def __init__(self, spec: WorkerSpec):
        self.spec = spec
        self._process: Any = None
        self._conn: Any = None
        self._lock = threading.Lock()
        # Counts `stop` calls: a worker still starting when one came is ended at once.
        self._stops = 0

    @property
    def pid(self) -> int | None:
        """The worker's process id, None while there is none."""
        process = self._process
        return process.pid if process is not None and process.poll() is None else None

    def _start(self) -> None:
        stops = self._stops
        ours, theirs = socket.socketpair()
        code = f"from dashboard.projection.process import main; main({theirs.fileno()})"
        process = subprocess.Popen(
            [sys.executable, "-c", code], pass_fds=[theirs.fileno()], close_fds=True
        )
        theirs.close()
        conn = _Channel(ours)
        conn.send(list(sys.path))
        conn.send(self.spec.to_json())
        if not conn.poll(START_TIMEOUT_S):
            process.kill()
            process.wait()
            raise ReducerError(
                f"the reducer worker did not start within {START_TIMEOUT_S:g} s\n"
                "the server log has the details"
            )
        try:
            message = conn.recv()
        except (EOFError, OSError):
            message = ("broken", f"it {crash_text(process.wait())}")
        if message[0] != "ready":
            process.kill()
            process.wait()
            raise ReducerError(
                f"the reducer worker could not start: {message[1]}\nthe server log has the details"
            )
        if stops != self._stops:  # stopped while it started: nobody wants it now
            process.kill()
            process.wait()
            conn.close()
            raise WorkerStoppedError("the reducer worker was stopped while it started")
        self._process, self._conn = process, conn
        logger.info("reducer worker started (pid %d)", process.pid)

    def warm(self) -> None:
        """Start the worker now (a server starting up), so the first map does not wait for
        it; a worker that cannot start is logged, and tried again with the first map."""
        with self._lock:
            if self._process is not None and self._process.poll() is None:
                return
            try:
                self._start()
            except WorkerStoppedError:
                pass
            except ReducerError as exc:
                logger.warning("the reducer worker did not start: %s", exc)

    def stop(self) -> None:
        """End the worker (a new one starts with the next projection)."""
        self._stops += 1
        process, conn, self._process, self._conn = self._process, self._conn, None, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(10)
        if conn is not None:
            conn.close()

    def run(
        self,
        job: str,
        request: dict[str, Any],
        progress: Callable[[float, str], None],
        cancelled: Callable[[], bool],
    ) -> dict[str, Any]:
        """Run ``request`` in the worker and return its projection's store value.

        Raises
        ------
        JobCancelledError
            When ``cancelled()`` became true (the worker is killed if the reducer does not
            stop in time).
        ReducerError
            When the reducer failed, or its worker crashed (a new one starts next time).
        """
        with self._lock:
            if self._process is None or self._process.poll() is not None:
                self._start()
            conn, process = self._conn, self._process
            conn.send(("run", job, request))
            asked_at: float | None = None
            while True:
                try:
                    ready = conn.poll(0.1)
                    message = conn.recv() if ready else None
                except (EOFError, OSError):
                    message = None
                    ready = False
                if message is not None and message[1] == job:
                    kind = message[0]
                    if kind == "progress":
                        progress(message[2], message[3])
                    elif kind == "done":
                        return message[2]
                    elif kind == "failed":
                        raise ReducerError(message[2])
                    elif kind == "cancelled":
                        raise JobCancelledError(f"job {job} was cancelled")
                    continue
                if not ready and process.poll() is not None:
                    if self._process is not process:  # ended by `stop` (the server stops)
                        raise JobCancelledError(f"job {job}: the server is stopping")
                    self._process = None
                    conn.close()
                    self._conn = None
                    how = crash_text(process.returncode)
                    logger.error("reducer worker (pid %d) %s during job %s", process.pid, how, job)
                    raise ReducerError(
                        f"the reducer's worker process {how} while computing this map: the "
                        "reducer crashed (the server and other maps are fine)\n"
                        "try another reducer, other rows, or report it to the reducer's authors"
                    )
                if cancelled():
                    if asked_at is None:
                        asked_at = time.monotonic()
                        conn.send(("cancel", job))
                    elif time.monotonic() - asked_at > CANCEL_GRACE_S:
                        logger.info("killing reducer worker (pid %d): job %s", process.pid, job)
                        self.stop()
                        raise JobCancelledError(f"job {job} was cancelled")
