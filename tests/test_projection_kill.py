"""A server killed (``kill -9``) in the middle of a projection: its worker ends too, and the
restarted server opens every earlier map and computes the lost one again."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import yaml

from dashboard.projection.lifecycle import LOST_AFTER_S
from tests.conftest import ROOT, with_site
from tests.servers import free_port, stop
from tests.test_app import follow_body, merged_answer, polling

PCA = {"table": "digits", "reducer": "pca", "dims": 2, "params": {}}
SLOW = {"table": "digits", "reducer": "slow", "dims": 2, "params": {"seconds": 8.0}}


def start(config: Path, site: Path, port: int, log: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "dashboard", "--config", str(config), "--port", str(port)]
    with log.open("a") as out:
        proc = subprocess.Popen(
            command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=with_site(site)
        )
    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2):
                return proc
        except OSError:
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "the server did not answer"
            time.sleep(0.2)


def follow(port: int, trigger: str, request: dict, job: dict | None) -> dict:
    """One call of the page's follow callback, over HTTP: its outputs and side updates."""
    body = follow_body(trigger, request, job, "p")
    call = urllib.request.Request(
        f"http://127.0.0.1:{port}/_dash-update-component",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(call, timeout=30) as response:
        return merged_answer(json.loads(response.read()))


def until_done(port: int, request: dict, timeout: float) -> dict:
    merged = follow(port, "dashboard-request.data", request, None)
    deadline = time.monotonic() + timeout
    while polling(merged):
        assert time.monotonic() < deadline, f"no map within {timeout:g} s: {merged}"
        time.sleep(0.25)
        job = merged["dashboard-projection-job"]["data"]
        merged.update(follow(port, "dashboard-projection-poll.data", request, job))
    return merged


def children_of(pid: int) -> list[int]:
    found = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True)
    return [int(p) for p in found.stdout.split()]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (not yet reaped by its new parent) is gone too.
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split(")")[-1].split()[0] != "Z"


def test_a_server_killed_mid_projection_loses_nothing(tmp_path, digits_path):
    site = tmp_path / "site"
    dist = site / "faulty_plugins-0.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: faulty-plugins\nVersion: 0.0\n")
    (dist / "entry_points.txt").write_text("[embedding_dashboard]\nfaulty = tests.faulty_plugins\n")
    config = tmp_path / "team.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "cache_dir": str(tmp_path / "cache"),
                "tables": {"digits": {"path": str(digits_path), "label": "label"}},
                "panels": [{"type": "controls"}, {"type": "scatter"}],
            }
        )
    )
    log, port = tmp_path / "server.log", free_port()
    server = start(config, site, port, log)
    try:
        before = until_done(port, PCA, 90)["dashboard-projection-answer"]["data"]
        follow(port, "dashboard-request.data", SLOW, None)
        deadline = time.monotonic() + 60
        while not (workers := children_of(server.pid)):
            assert time.monotonic() < deadline, "no worker process"
            time.sleep(0.2)
        time.sleep(2)  # well into the slow fit
        server.send_signal(signal.SIGKILL)
        server.wait()
        # The orphaned worker notices and ends, mid-fit.
        deadline = time.monotonic() + 10
        while any(alive(pid) for pid in workers):
            assert time.monotonic() < deadline, "the worker outlived its server"
            time.sleep(0.2)
        # Restarted: the earlier map opens from the cache at once ...
        server = start(config, site, port, log)
        again = until_done(port, PCA, 30)
        assert again["dashboard-projection-answer"]["data"]["key"] == before["key"]
        assert "from cache" in again["dashboard-status"]["children"]
        # ... and the lost one is said, then computed again.
        time.sleep(LOST_AFTER_S)
        first = follow(port, "dashboard-request.data", SLOW, None)
        assert "computing it again" in first["dashboard-progress-text"]["children"]
        done = until_done(port, SLOW, 60)
        assert done["dashboard-projection-answer"]["data"]["n"] == 1797
    finally:
        stop(server)
    assert "Traceback" not in log.read_text()
