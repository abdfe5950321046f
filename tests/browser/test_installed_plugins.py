"""Pip-installed plugins in the page: the Isomap reducer in the list, the label-counts panel."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml
from playwright.sync_api import Page, expect

from tests.browser.conftest import wait_for_points, wait_for_status, widget
from tests.conftest import with_site
from tests.servers import serve

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def plugins_url(tmp_path_factory: pytest.TempPathFactory, digits_path: Path, plugin_site: Path):
    folder = tmp_path_factory.mktemp("installed-plugins")
    config = {
        "title": "Installed plugins",
        "cache_dir": str(folder / "cache"),
        "tables": {"digits": {"path": str(digits_path), "label": "label"}},
        "panels": [
            {"type": "controls"},
            {"type": "scatter"},
            {"type": "label-counts", "top": 3},
        ],
    }
    path = folder / "plugins.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    command = [sys.executable, "-m", "dashboard", "--config", str(path)]
    with serve(command, env=with_site(plugin_site)) as url:
        yield url


def test_an_installed_reducer_and_panel_work_in_the_page(page: Page, plugins_url: str):
    page.goto(plugins_url)
    wait_for_status(page, "PCA 2D")
    counts = page.locator("#label-counts-2-counts")
    expect(counts.locator(".label-counts-what")).to_have_text("all 1,797 rows")
    expect(counts.locator("tr")).to_have_count(3)
    widget(page, 0, "reducer").click()
    page.get_by_role("option", name="Isomap").click()
    # Its Params became controls (each reducer has its own; the others are hidden).
    neighbours = widget(page, 0, "params", "isomap", "n_neighbors")
    expect(neighbours).to_be_visible()
    expect(neighbours).to_have_value("10")
    status = wait_for_status(page, "Isomap 2D")
    assert "1,797 points" in status
    wait_for_points(page, 1797)
