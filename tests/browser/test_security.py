"""Labels and texts holding HTML or script are shown as text, never run, in every panel."""

from __future__ import annotations

import sys

import numpy as np
import polars as pl
import pytest
import yaml
from playwright.sync_api import Page, expect

from tests.browser.conftest import point_position, wait_for_points, wait_for_status
from tests.servers import serve

pytestmark = pytest.mark.browser

IMG = '<img src=x onerror="window.__xss=1">'
SCRIPT = "<script>window.__xss=2</script>"
BOLD = "<b>bold</b>"


@pytest.fixture(scope="module")
def hostile_url(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("hostile")
    rng = np.random.default_rng(0)
    n = 90
    group = np.arange(n) % 3
    vectors = (rng.normal(0, 6, (3, 8))[group] + rng.normal(0, 1, (n, 8))).astype(np.float32)
    pl.DataFrame(
        {
            "v": vectors,
            "label": [[IMG, SCRIPT, BOLD][g] for g in group],
            "text": [f"{SCRIPT} text of {i} {IMG}" for i in range(n)],
        }
    ).write_parquet(folder / "hostile.parquet")
    config = {
        "title": "Hostile <script>window.__xss=3</script> title",
        "cache_dir": str(folder / "cache"),
        "tables": {
            "h": {"path": str(folder / "hostile.parquet"), "label": "label", "text": "text"}
        },
        "panels": [
            {"type": "controls"},  # so the scatter is panel 1, as the helpers expect
            {"type": "scatter", "color": "label"},
            {"type": "neighbors", "k": 5},
            {"type": "outliers", "top": 5},
            {"type": "table"},
            {"type": "search"},
        ],
    }
    path = folder / "hostile.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    with serve([sys.executable, "-m", "dashboard", "--config", str(path)]) as url:
        yield url


def no_markup_ran(page: Page) -> None:
    assert page.evaluate("() => window.__xss") is None
    # The payloads are text: no element was made from them.
    assert page.evaluate("() => document.querySelectorAll('img[src=\"x\"]').length") == 0
    assert page.evaluate("() => document.querySelectorAll('main b, section b').length") == 0


def test_html_in_labels_and_texts_is_shown_as_text(page: Page, hostile_url: str):
    page.goto(hostile_url)
    wait_for_status(page, "PCA 2D")
    wait_for_points(page, 90)
    legend = page.locator(".dashboard-legend")
    expect(legend).to_contain_text(IMG)
    expect(legend).to_contain_text(SCRIPT)
    expect(legend).to_contain_text(BOLD)
    x, y = point_position(page, 0)
    page.mouse.move(x, y)
    tooltip = page.locator(".dashboard-tooltip")
    expect(tooltip.locator("strong")).to_have_text(IMG)
    expect(tooltip).to_contain_text(f"{SCRIPT} text of 0")
    page.mouse.click(x, y)
    expect(page.locator(".dashboard-neighbors-title")).to_contain_text(IMG)
    expect(page.locator(".dashboard-neighbor")).to_have_count(5)
    expect(page.locator(".dashboard-outlier")).to_have_count(5)
    expect(page).to_have_title("Hostile <script>window.__xss=3</script> title")
    no_markup_ran(page)
