"""The Stability panel in chromium: a check of a UMAP map shows its progress, can be
cancelled, then says what it found; its colours recolour the map, the filter's cluster
list carries the scores, and a PCA map says why there is nothing to check."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import numpy as np
import polars as pl
import pytest
import yaml
from playwright.sync_api import Page, expect

from plugins.stability import STOPPED
from tests.browser.conftest import GRAPH, settle, view_state, wait_for_status, widget
from tests.servers import serve

pytestmark = pytest.mark.browser

PANEL = "#stability-3-body"


@pytest.fixture(scope="module")
def stability_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("stability")
    rng = np.random.default_rng(5)
    group = np.repeat(np.arange(5), 800)  # big enough that 20 runs take a while
    centres = rng.normal(0, 10, (5, 12))
    vectors = (centres[group] + rng.normal(0, 1, (len(group), 12))).astype(np.float32)
    pl.DataFrame({"vec": vectors, "group": [f"g{g}" for g in group]}).write_parquet(
        folder / "blobs.parquet"
    )
    config = {
        "title": "Stability test",
        "cache_dir": str(folder / "cache"),
        "tables": {"blobs": {"path": str(folder / "blobs.parquet"), "label": "group"}},
        "projection": {"reducer": "umap", "params": {"n_epochs": 300}},
        "panels": [
            {"type": "controls"},
            {"type": "scatter"},
            {"type": "filter"},
            {"type": "stability", "runs": 3},
        ],
    }
    path = folder / "stability.yaml"
    path.write_text(yaml.safe_dump(config))
    with serve([sys.executable, "-m", "dashboard", "--config", str(path)]) as url:
        yield url


def test_a_check_reports_recolours_and_scores_the_clusters(page: Page, stability_url: str):
    page.goto(stability_url)
    wait_for_status(page, "UMAP 2D")
    body = page.locator(PANEL)
    expect(body).to_contain_text("Fit more UMAP maps with other seeds")
    colours = page.locator("#stability-3-colours")
    expect(colours).to_be_hidden()

    # Cancel stops a check: the button comes back and nothing is claimed.
    page.locator("#stability-3-runs").fill("20")
    page.locator("#stability-3-check").click()
    expect(page.locator("#stability-3-progress")).to_contain_text("run 1 of 20", timeout=60_000)
    expect(page.locator("#stability-3-check")).to_be_disabled()
    expect(body).to_have_css("opacity", "0.45")  # what it said before is not this check's
    page.locator("#stability-3-cancel").click()
    expect(page.locator("#stability-3-check")).to_be_enabled(timeout=30_000)
    page.wait_for_timeout(1000)
    expect(body).to_contain_text("Fit more UMAP maps")
    expect(body).to_have_css("opacity", "1")
    expect(page.locator("#stability-3-progress")).to_have_text("")
    expect(page.locator("#panel-3-error")).to_be_empty()  # a cancel is no failure
    expect(page.locator("#stability-3-error")).to_have_text(STOPPED)

    # A check of 3 runs: progress by run, then the findings.
    page.locator("#stability-3-runs").fill("3")
    page.locator("#stability-3-check").click()
    expect(page.locator("#stability-3-error")).to_be_empty()  # a new check: the stop is old
    expect(body).to_contain_text("Compared with 3 maps of other seeds", timeout=120_000)
    expect(body).to_contain_text("clusters are stable")
    expect(body).to_contain_text("Neighbours: a point keeps")
    expect(colours).to_be_visible()

    # The filter's clusters carry their scores (the check found them: no button to press).
    expect(page.locator("#filter-2-find-clusters")).to_be_hidden()
    widget(page, 2, "filters", "__cluster__", "in").click()
    expect(page.get_by_role("option").filter(has_text=" · stability ").first).to_be_visible()
    page.keyboard.press("Escape")

    # Colour by spread: the legend is the spread's colour bar, and the view keeps it.
    page.get_by_role("button", name="Colour by spread").click()
    settle(page)
    expect(page.locator(f"{GRAPH} .colorbar")).to_contain_text("spread across seeds")
    assert view_state(page)["maps"]["1"]["colour"] == "__spread__"
    page.get_by_role("button", name="Colour by persistence").click()
    settle(page)
    expect(page.locator(f"{GRAPH} .colorbar")).to_contain_text("neighbour persistence")


def test_a_pca_map_has_nothing_to_check(page: Page, stability_url: str):
    page.goto(stability_url)
    wait_for_status(page, "UMAP 2D")
    # What the panel said of the UMAP map goes with it.
    page.locator("#stability-3-runs").fill("1")
    page.locator("#stability-3-check").click()
    error = page.locator("#stability-3-error")
    expect(error).to_contain_text("must be a whole number from 2 to 20")
    widget(page, 0, "reducer").click()
    page.get_by_role("option", name="PCA", exact=True).click()
    wait_for_status(page, "PCA 2D")
    expect(page.locator(PANEL)).to_contain_text("PCA draws the same map on every run")
    expect(page.locator("#stability-3-check")).to_be_disabled()
    expect(error).to_be_empty()


def test_a_cluster_filter_survives_a_link_and_a_trip_to_3d(page: Page, stability_url: str):
    page.goto(stability_url)
    wait_for_status(page, "UMAP 2D")
    settle(page)
    find = page.locator("#filter-2-find-clusters")
    if find.is_visible():  # (found already when another test checked this map)
        find.click()
    dropdown = widget(page, 2, "filters", "__cluster__", "in")
    expect(dropdown).to_be_visible(timeout=60_000)
    dropdown.click()
    page.get_by_role("option").filter(has_text="cluster 01").first.click()
    page.keyboard.press("Escape")
    shown = page.locator(".dashboard-shown")
    expect(shown).to_contain_text("showing")
    filtered = shown.inner_text()
    settle(page)
    assert view_state(page)["filters"]["__cluster__"]["in"] == ["cluster 01"]

    # The link opens the same filtered map.
    page.goto(page.url)
    wait_for_status(page, "UMAP 2D")
    expect(shown).to_have_text(filtered, timeout=60_000)
    settle(page)
    assert view_state(page)["filters"]["__cluster__"]["in"] == ["cluster 01"]

    # 3D and back: the filter stays (in 3D it picks the 3D map's cluster 01).
    page.get_by_text("3D", exact=True).click()
    wait_for_status(page, "UMAP 3D", timeout=180_000)
    settle(page)
    assert view_state(page)["filters"]["__cluster__"]["in"] == ["cluster 01"]
    page.get_by_text("2D", exact=True).click()
    wait_for_status(page, "UMAP 2D")
    expect(shown).to_have_text(filtered)
