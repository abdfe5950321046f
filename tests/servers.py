"""Start a dashboard server on a free loopback port for a test, and always stop it."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parents[1]
# Logs of the servers running now, so a failing browser test can show what the server said.
_LIVE_LOGS: list[IO[str]] = []


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def serve(
    command: list[str],
    *,
    path: str = "/",
    timeout: float = 90,
    port_args: Callable[[int], list[str]] = lambda port: ["--port", str(port)],
    env: dict[str, str] | None = None,
    cwd: Path = ROOT,
    port: int | None = None,
) -> Iterator[str]:
    """Run ``command`` plus ``port_args(N)`` (default ``--port N``, N a free port unless
    ``port`` is given) in ``cwd`` and yield its URL once it answers; terminate it after."""
    port = free_port() if port is None else port
    # A file, not a pipe: a server that logs every request would fill a pipe and block.
    log = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 (closed below)
    proc = subprocess.Popen(
        [*command, *port_args(port)],
        cwd=cwd,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
        env=None if env is None else {**os.environ, **env},
    )
    url = f"http://127.0.0.1:{port}{path}"
    _LIVE_LOGS.append(log)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"server exited with {proc.returncode}: {log.read()}")
            try:
                with urllib.request.urlopen(url, timeout=2):
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"server did not answer on {url}") from None
                time.sleep(0.2)
        yield url
    finally:
        stop(proc)
        _LIVE_LOGS.remove(log)
        log.close()


def stop(proc: subprocess.Popen, timeout: float = 10) -> None:
    """End a process this test started: politely, then by force."""
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def server_tracebacks(limit: int = 3) -> str:
    """The last ``limit`` tracebacks the running servers logged (Flask logs every 500)."""
    found: list[str] = []
    for log in _LIVE_LOGS:
        # pread: the file offset is shared with the server process, so it must not move.
        fd = log.fileno()
        text = os.pread(fd, os.fstat(fd).st_size, 0).decode(errors="replace")
        for block in text.split("Traceback (most recent call last):")[1:]:
            found.append("Traceback (most recent call last):" + block[:3000])
    return "\n".join(found[-limit:])


@contextlib.contextmanager
def local_dask_cluster(workers: int) -> Iterator[str]:
    """A Dask ``LocalCluster`` of ``workers`` single-threaded worker processes on loopback
    (its status page on a free port); yields the scheduler's address, stops it after."""
    import distributed

    with distributed.LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
    ) as cluster:
        yield cluster.scheduler_address
