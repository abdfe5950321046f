"""The smaller things a new user tripped over on the demo page (issue 14), as a person sees
them: lists that say which row, nothing clipped, texts written for people."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import (
    GRAPH,
    box_select,
    pick,
    point_position,
    wait_for_points,
    wait_for_status,
    widget,
)

pytestmark = pytest.mark.browser

N = 1797


def open_demo(page: Page, url: str) -> None:
    page.goto(url)
    wait_for_status(page, "PCA 2D")
    wait_for_points(page, N)


def fully_visible(page: Page, selector: str) -> bool:
    """Whether the element is not cut by any scrolling or clipping ancestor (after
    scrolling it into view)."""
    page.locator(selector).scroll_into_view_if_needed()
    return page.evaluate(
        """(selector) => {
            const e = document.querySelector(selector);
            const r = e.getBoundingClientRect();
            for (let a = e.parentElement; a; a = a.parentElement) {
                const s = getComputedStyle(a);
                if (s.overflow === 'visible' && s.overflowY === 'visible') continue;
                const b = a.getBoundingClientRect();
                if (r.bottom > b.bottom + 1 || r.top < b.top - 1) return false;
            }
            return true;
        }""",
        selector,
    )


def test_neighbours_say_which_row_and_the_last_is_not_cut(page: Page, demo_url: str):
    open_demo(page, demo_url)
    page.mouse.click(*point_position(page, 8))
    items = page.locator(".dashboard-neighbor")
    expect(items).to_have_count(8)
    # Each neighbour names its row (they may all read "digit 8"), a different one each.
    expect(page.locator("#neighbors-3-list th").nth(3)).to_have_text("row")
    rows = page.locator(".dashboard-neighbor td:nth-child(4)").all_inner_texts()
    assert all(re.fullmatch(r"[\d,]+", r) for r in rows), rows
    assert len(set(rows)) == 8
    assert fully_visible(page, ".dashboard-neighbor:last-child")


def test_colour_choices_are_columns_to_colour_by_and_read_in_full(page: Page, demo_url: str):
    open_demo(page, demo_url)
    colour = widget(page, 1, "maps", 1, "colour")
    labels = colour.locator("option").all_inner_texts()
    assert "text" not in labels  # free text: one category per row
    assert "id" not in labels
    for name in ("neighbour recall", "cluster (HDBSCAN"):
        (label,) = [label for label in labels if label.startswith(name)]
        colour.select_option(label=label)
        # The select is wide enough to show the chosen name.
        assert colour.evaluate("e => e.scrollWidth <= e.clientWidth + 1")
    # HDBSCAN's noise is grey, not one more colour among the clusters.
    noise = page.locator("#scatter-1-legend [data-dashboard-category='noise'] span").first
    expect(noise).to_be_visible(timeout=60_000)
    red, green, blue = (
        int(v) for v in re.findall(r"\d+", noise.evaluate("e => e.style.background"))[:3]
    )
    assert max(red, green, blue) - min(red, green, blue) < 16, (red, green, blue)


def test_many_search_matches_leave_the_colours_visible(page: Page, demo_url: str):
    open_demo(page, demo_url)
    query = widget(page, 2, "search", "query")
    query.fill("digit")
    query.press("Enter")
    expect(page.locator(".dashboard-search-count")).to_contain_text("1,797 of 1,797 rows")
    page.wait_for_function(
        f"() => document.querySelector('{GRAPH}')._fullData.some("
        "t => t.name && t.name.startsWith('matches') && t.x.length === 1797)"
    )
    width = page.evaluate(
        f"() => document.querySelector('{GRAPH}')._fullData"
        ".find(t => t.name.startsWith('matches')).marker.line.width"
    )
    assert width <= 1
    # A bad pattern says what is wrong in words, and takes the old rings away.
    page.get_by_text("regex").click()
    query.fill("digit [")
    query.press("Enter")
    count = page.locator("#search-2-count")
    expect(count).to_contain_text("invalid regular expression")
    expect(count).not_to_contain_text("col(")  # no raw Polars expression
    page.wait_for_function(
        f"() => !document.querySelector('{GRAPH}')._fullData.some("
        "t => t.name && t.name.startsWith('matches'))"
    )


def test_the_gallery_table_and_contrast_fit_and_speak_plainly(page: Page, demo_url: str):
    open_demo(page, demo_url)
    # One point: the table says "row", the contrast asks for more points.
    page.mouse.click(*point_position(page, 5))
    expect(page.locator("#table-5-info")).to_contain_text("1 selected row of digits")
    contrast = page.locator("#contrast-8-body")
    expect(contrast).to_contain_text(re.compile("select at least 5 points", re.I))
    expect(contrast).not_to_contain_text("p = ")
    # Many points: the gallery scrolls within a bounded height instead of growing the page.
    box_select(page, 200)
    expect(page.locator(".dashboard-gallery-count")).to_contain_text("selected")
    height = page.locator(".dashboard-gallery-items").evaluate("e => e.clientHeight")
    assert height <= 400
    expect(contrast.locator(".dashboard-contrast-row").first).to_be_visible()
    assert "p = 0" not in re.sub(r"p = 0\.\d*[1-9]", "", contrast.inner_text())
    # The grid's headers read in full.
    headers = page.locator("#table-5-grid .ag-header-cell-text")
    expect(headers.first).to_be_visible()
    clipped = headers.evaluate_all("hs => hs.filter(h => h.scrollWidth > h.clientWidth + 1)")
    assert clipped == []


def test_help_texts_are_written_for_a_person(page: Page, demo_url: str):
    open_demo(page, demo_url)
    for reducer in ("PCA", "UMAP", "t-SNE"):
        if reducer != "PCA":  # the page opens on PCA
            pick(page, widget(page, 0, "reducer"), reducer)
        expect(page.locator("#dashboard-sidebar")).to_contain_text(
            {"PCA": "Whiten", "UMAP": "Neighbours", "t-SNE": "Perplexity"}[reducer]
        )
        text = page.locator("#dashboard-sidebar").inner_text()
        assert "`" not in text, reducer
        assert "docs/" not in text, reducer
        assert ".md" not in text, reducer
