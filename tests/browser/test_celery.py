"""Projections on a Celery worker through a real Redis broker, all on loopback."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from playwright.sync_api import Page

from tests.browser.conftest import wait_for_points, wait_for_status, write_demo_config
from tests.servers import ROOT, free_port, serve, stop

pytestmark = pytest.mark.browser

REDIS = shutil.which("redis-server") or "/usr/bin/redis-server"
CELERY = str(Path(sys.executable).with_name("celery"))


def wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"redis-server exited with {proc.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"redis-server did not listen on {port}")


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    assert Path(REDIS).exists(), "Debian redis-server is missing: `make test` installs it"
    port = free_port()
    proc = subprocess.Popen(
        [REDIS, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, proc)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        stop(proc)


@pytest.fixture(scope="module")
def celery_page(tmp_path_factory, digits_path, redis_url) -> Iterator[tuple[str, Path]]:
    folder = tmp_path_factory.mktemp("celery")
    path = write_demo_config(folder, digits_path)
    config = yaml.safe_load(path.read_text())
    config["celery"] = {"broker": redis_url}
    path.write_text(yaml.safe_dump(config))
    log_path = folder / "worker.log"
    with open(log_path, "w") as log:
        worker = subprocess.Popen(
            [
                CELERY,
                "-A",
                "dashboard.serve.worker:celery_app",
                "worker",
                "--pool",
                "threads",
                "--concurrency",
                "2",
                "--without-heartbeat",
                "--without-gossip",
                "--without-mingle",
                "--loglevel",
                "INFO",
            ],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "DASHBOARD_CONFIG": str(path)},
        )
    try:
        deadline = time.monotonic() + 90
        while "ready." not in log_path.read_text():
            if worker.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"celery worker did not start:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.2)
        with serve([sys.executable, "-m", "dashboard", "--config", str(path)]) as url:
            yield url, log_path
    finally:
        stop(worker)


def test_a_celery_worker_computes_the_maps(page: Page, celery_page):
    url, worker_log = celery_page
    page.goto(url)
    wait_for_status(page, "PCA 2D")
    wait_for_points(page, 1797)
    page.get_by_text("3D", exact=True).click()
    wait_for_status(page, "PCA 3D")
    wait_for_points(page, 1797)
    page.goto("about:blank")  # no request cut off when the servers stop
    log = worker_log.read_text()
    # The worker, not the web server, ran both projections.
    assert "pca 2D of 'digits': 1797 points" in log
    assert "pca 3D of 'digits': 1797 points" in log
    assert "succeeded" in log
