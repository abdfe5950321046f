"""The dashboard behind gunicorn with several workers, as the README deploys it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import wait_for_points, wait_for_status, widget, write_demo_config
from tests.servers import serve

pytestmark = pytest.mark.browser

GUNICORN = str(Path(sys.executable).with_name("gunicorn"))


@pytest.fixture(scope="module")
def gunicorn_url(tmp_path_factory: pytest.TempPathFactory, digits_path: Path):
    folder = tmp_path_factory.mktemp("gunicorn")
    config = write_demo_config(folder, digits_path)
    # No keep-alive: every request opens a new connection, so requests spread over the workers
    # (a kept-alive browser connection would stay with one worker).
    command = [GUNICORN, "--workers", "3", "--threads", "2", "--keep-alive", "0"]
    command.append("dashboard.serve.wsgi:server")
    with serve(
        command,
        port_args=lambda port: ["--bind", f"127.0.0.1:{port}"],
        env={"DASHBOARD_CONFIG": str(config)},
        timeout=120,
    ) as url:
        yield url


def test_three_workers_serve_new_maps_whichever_worker_a_request_reaches(
    page: Page, gunicorn_url: str
):
    page.goto(gunicorn_url)
    wait_for_status(page, "PCA 2D")
    wait_for_points(page, 1797)
    # Each new map is a background job in one worker, polled through any of the three.
    for dims, text in ((3, "PCA 3D"), (2, "PCA 2D")):
        page.get_by_text(f"{dims}D", exact=True).click()
        wait_for_status(page, text)
        wait_for_points(page, 1797)
    widget(page, 0, "reducer").click()
    page.get_by_role("option", name="t-SNE").click()
    status = wait_for_status(page, "t-SNE 2D")
    assert "1,797 points" in status
    wait_for_points(page, 1797)
    expect(page.locator("#dashboard-error")).to_have_count(0)
