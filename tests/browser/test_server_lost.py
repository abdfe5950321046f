"""A page whose server stopped says so, instead of silently ignoring what a person does, and
takes the notice away once the server is back."""

from __future__ import annotations

import sys
import urllib.parse
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import wait_for_points, wait_for_status, write_demo_config
from tests.servers import serve

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NOTICE = "#dashboard-server-lost"


def test_a_stopped_server_is_said_on_the_page_until_it_is_back(
    browser: Browser, tmp_path: Path, digits_path: Path
):
    config = write_demo_config(tmp_path, digits_path)
    command = [sys.executable, "-m", "dashboard", "--config", str(config)]
    # Not the `page` fixture: a stopped server makes the browser log failed requests, which
    # is what this test is about.
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        with serve(command) as url:
            page.goto(url)
            wait_for_status(page, "PCA 2D")
            wait_for_points(page, 1797)
            expect(page.locator(NOTICE)).to_have_count(0)
        port = urllib.parse.urlsplit(url).port
        # The server is gone: a change cannot be applied, and the page says so.
        page.get_by_text("3D", exact=True).click()
        expect(page.locator(NOTICE)).to_contain_text("The server is not answering")
        expect(page.locator(NOTICE)).to_contain_text("Reload the page")
        # Back on the same address: the next change is applied and the notice goes.
        with serve(command, port=port):
            page.get_by_text("2D", exact=True).click()
            expect(page.locator(NOTICE)).to_have_count(0, timeout=60_000)
            wait_for_status(page, "PCA 2D")
    finally:
        context.close()
    assert errors == []
