"""The demo page in headless chromium: what a person sees, hovers and switches."""

from __future__ import annotations

import math
import re
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import (
    GRAPH,
    box_select,
    hover_point,
    pick,
    point_count,
    point_position,
    settle,
    trace_types,
    view_state,
    wait_for_points,
    wait_for_status,
    widget,
    write_demo_config,
)
from tests.servers import serve

pytestmark = pytest.mark.browser

N = 1797


def reducer(page: Page):
    return widget(page, 0, "reducer")


def colour(page: Page):
    return widget(page, 1, "maps", 1, "colour")


def target_filter(page: Page):
    return widget(page, 6, "filters", "target", "in")


def choose(page: Page, *labels: str) -> None:
    """Pick options of the open target filter, then close it."""
    target_filter(page).click()
    for label in labels:
        page.get_by_role("option", name=label, exact=True).click()
    page.keyboard.press("Escape")


def open_demo(page: Page, url: str) -> None:
    page.goto(url)
    wait_for_status(page, "PCA 2D")
    wait_for_points(page, N)


def test_page_loads_with_one_point_per_row(page: Page, demo_url: str):
    open_demo(page, demo_url)
    expect(page).to_have_title("Digits browser test")
    expect(page.get_by_role("heading", name="Digits browser test")).to_be_visible()
    status = page.locator("#dashboard-status").inner_text()
    assert status.startswith("PCA 2D · digits · 1,797 points x 64 dims")
    assert point_count(page) == N
    assert legend_names(page) == [str(d) for d in range(10)]
    # Nothing dimmed: one opacity for every point (an array of 100k took plotly 0.3-0.5 s
    # more to draw); a box selection then dims a point at a time.
    opacity = f"() => document.querySelector('{GRAPH}')._fullData[0].marker.opacity"
    assert page.evaluate(opacity) == pytest.approx(0.85)
    box_select(page, 60)
    page.wait_for_function(f"() => ({opacity})().length === {N}")
    # Bootstrap came from our own server, so the card is styled.
    radius = page.locator(".card").first.evaluate("e => getComputedStyle(e).borderRadius")
    assert radius not in ("", "0px")


def test_hover_shows_the_label(page: Page, demo_url: str):
    open_demo(page, demo_url)
    hover_point(page, 3)  # the digits' rows 0 to 9 are the digits 0 to 9
    tooltip = page.locator(".dashboard-tooltip")  # beside the point
    expect(tooltip).to_be_visible()
    expect(tooltip.locator("strong")).to_have_text("digit 3")
    expect(tooltip).to_contain_text("target: 3")
    expect(tooltip).to_contain_text("Handwritten 3, scan")
    image = page.locator(".dashboard-hover-image")
    expect(image).to_be_visible()
    expect(image).to_have_attribute("alt", "digit 3")


def test_switching_reducer_rerenders_with_its_parameters(page: Page, demo_url: str):
    open_demo(page, demo_url)
    expect(page.get_by_label("Whiten")).to_be_visible()
    pick(page, reducer(page), "t-SNE")
    expect(page.get_by_label("Perplexity")).to_be_visible()
    expect(page.get_by_label("Whiten")).to_be_hidden()
    status = wait_for_status(page, "t-SNE 2D")
    assert "1,797 points" in status
    wait_for_points(page, N)
    assert set(trace_types(page)) == {"scattergl"}


def test_as_logged_is_offered_disabled_for_64_dimensions(page: Page, demo_url: str):
    """An exploratory pass picked "As logged" for the 64-dim digits and got a map that
    could only fail: the option is greyed out and says why."""
    open_demo(page, demo_url)
    reducer(page).click()
    option = page.get_by_role("option", name="As logged (at most 3 dimensions)", exact=True)
    expect(option).to_be_visible()
    expect(option).to_be_disabled()
    option.click(force=True)  # a click on it changes nothing
    page.keyboard.press("Escape")
    expect(reducer(page)).to_contain_text("PCA")
    assert view_state(page)["reducer"] == "pca"


def test_switching_to_3d_draws_a_3d_cloud(page: Page, demo_url: str):
    open_demo(page, demo_url)
    page.get_by_text("3D", exact=True).click()
    wait_for_status(page, "PCA 3D")
    page.wait_for_function(
        f"() => document.querySelector('{GRAPH}')._fullData[0].type === 'scatter3d'"
    )
    wait_for_points(page, N)
    assert set(trace_types(page)) == {"scatter3d"}
    expect(page.locator(f"{GRAPH} .gl-container canvas").first).to_be_visible()
    # Hovering a point shows the page's card (label, image) beside the pointer, as in 2D.
    box = page.locator(GRAPH).bounding_box()
    tooltip = page.locator(".dashboard-tooltip")
    centre_x, centre_y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    for step in range(80):  # a spiral out from the centre, until the pointer meets a point
        angle, radius = step * 0.7, 4 + step * 2.5
        page.mouse.move(centre_x + radius * math.cos(angle), centre_y + radius * math.sin(angle))
        page.wait_for_timeout(60)
        if tooltip.is_visible():
            break
    expect(tooltip).to_be_visible()
    expect(tooltip.locator("strong")).to_have_text(re.compile(r"^digit \d$"))
    expect(page.locator(".dashboard-hover-image")).to_be_visible()
    expect(page.locator(f"{GRAPH} .hovertext")).to_have_count(0)  # no second label
    page.mouse.move(box["x"] + box["width"] + 40, box["y"] - 20)
    expect(tooltip).to_be_hidden()


def test_recolouring_keeps_the_projection(page: Page, demo_url: str):
    open_demo(page, demo_url)
    status = page.locator("#dashboard-status").inner_text()
    colour(page).select_option("ink")
    expect(page.locator(f"{GRAPH} .colorbar")).to_have_count(1)
    expect(page.locator(f"{GRAPH} .colorbar")).to_contain_text("ink")
    assert point_count(page) == N
    assert page.locator("#dashboard-status").inner_text() == status  # no recomputation


def test_bad_parameter_is_explained_in_the_panel(page: Page, demo_url: str):
    open_demo(page, demo_url)
    pick(page, reducer(page), "t-SNE")
    wait_for_status(page, "t-SNE 2D")
    field = page.get_by_label("Perplexity")
    field.fill("500")
    field.press("Enter")
    expect(page.locator("#controls-0-message")).to_contain_text(
        "tsne: `perplexity`: enter a value from 2.0 to 100.0"
    )
    assert point_count(page) == N  # the last good map stays


def test_tsne_shows_its_iterations_as_it_goes(page: Page, demo_url: str):
    """t-SNE reports every 10 iterations: the progress line counts them up (it stood at
    one message for the whole fit with scikit-learn's TSNE)."""
    open_demo(page, demo_url)
    pick(page, reducer(page), "t-SNE")
    wait_for_status(page, "t-SNE 2D")
    field = page.get_by_label("Perplexity")
    field.fill("23")  # a map no other test asked for: it is computed, not cached
    field.press("Enter")
    seen: list[str] = []
    deadline = time.monotonic() + 120
    text = page.locator("#dashboard-progress-text")
    while time.monotonic() < deadline:
        if text.is_visible():
            seen.append(text.inner_text())
        elif len(seen) > 1:
            break
        page.wait_for_timeout(50)
    counts = [int(m.group(1)) for t in seen if (m := re.search(r"iteration (\d+) of 750", t))]
    assert len(set(counts)) >= 2, seen
    assert counts == sorted(counts)  # only forwards
    wait_for_status(page, "t-SNE 2D")
    wait_for_points(page, N)


def test_page_stays_responsive_while_projecting(page: Page, demo_url: str):
    open_demo(page, demo_url)
    pick(page, reducer(page), "UMAP")
    expect(page.locator("#dashboard-progress-wrap")).to_be_visible()
    # While UMAP runs in the background, recolouring the current map still works.
    colour(page).select_option("ink")
    expect(page.locator(f"{GRAPH} .colorbar")).to_contain_text("ink")
    wait_for_status(page, "UMAP 2D", timeout=180_000)
    expect(page.locator("#dashboard-progress-wrap")).to_be_hidden()
    wait_for_points(page, N)


def test_mounted_in_a_flask_app(page: Page, tmp_path, digits_path):
    config = write_demo_config(tmp_path, digits_path)
    host = [sys.executable, "-m", "tests.browser.flask_host", str(config)]
    with serve(host, path="/projector/") as url:
        with urllib.request.urlopen(url.replace("/projector/", "/")) as response:
            assert response.read() == b"host application"
        open_demo(page, url)
        assert point_count(page) == N
        # Let every panel's first callback finish, then leave, before the server stops:
        # a request cut off by the stop would be a console error.
        expect(page.locator(".dashboard-outlier")).to_have_count(5)
        expect(page.locator(".dashboard-faithfulness-measure")).to_have_count(3)
        page.goto("about:blank")


def test_box_selection_fills_the_gallery(page: Page, demo_url: str):
    open_demo(page, demo_url)
    box_select(page)
    count = page.locator(".dashboard-gallery-count")
    expect(count).to_contain_text("selected")
    selected = int(count.inner_text().split()[0].replace(",", ""))
    assert selected > 0
    items = page.locator(".dashboard-gallery-item img")
    expect(items).to_have_count(min(selected, 200))
    page.wait_for_function(
        "() => [...document.querySelectorAll('.dashboard-gallery-item img')]"
        ".slice(0, 5).every(i => i.complete && i.naturalWidth === 32)"
    )
    page.get_by_text("3D", exact=True).click()  # a new map keeps the selected rows
    wait_for_status(page, "PCA 3D")
    expect(count).to_contain_text(f"{selected:,} selected")
    page.locator("#gallery-4-clear").click()
    expect(page.locator("#gallery-4-items")).to_contain_text("Select points with the box")
    expect(page.locator(".dashboard-gallery-item")).to_have_count(0)


def test_clicking_a_point_lists_its_neighbours_and_rings_them(page: Page, demo_url: str):
    open_demo(page, demo_url)
    x, y = point_position(page, 3)
    page.mouse.click(x, y)
    title = page.locator(".dashboard-neighbors-title")
    expect(title).to_contain_text("8 nearest to 'digit 3' (row 3) by cosine distance")
    expect(page.locator(".dashboard-neighbor")).to_have_count(8)
    # Each neighbour says whether the 2D map keeps it near; PCA tears some apart.
    expect(page.locator(".dashboard-neighbor .badge")).to_have_count(8)
    expect(page.locator(".dashboard-false-neighbours")).to_contain_text("nearest on the map")
    page.wait_for_function(
        f"() => document.querySelector('{GRAPH}')._fullData.some("
        "t => t.name === 'neighbours of digit 3' && t.x.length === 8)"
    )
    # Changing k re-queries at once.
    k = widget(page, 3, "panels", "3.k")
    k.fill("20")
    k.press("Enter")
    expect(page.locator(".dashboard-neighbor")).to_have_count(20)


def test_search_rings_matches_and_explains_bad_patterns(page: Page, demo_url: str):
    open_demo(page, demo_url)
    query = widget(page, 2, "search", "query")
    query.fill("digit 7")
    query.press("Enter")
    expect(page.locator(".dashboard-search-count")).to_have_text(
        "179 of 1,797 rows match in label and text"
    )
    page.wait_for_function(
        f"() => document.querySelector('{GRAPH}')._fullData.some("
        "t => t.name === \"matches for 'digit 7'\" && t.x.length === 179)"
    )
    page.get_by_text("regex").click()
    query.fill("digit (")
    query.press("Enter")
    expect(page.locator("#search-2-count")).to_contain_text("invalid regular expression")
    assert point_count(page) >= N  # the map is still there


def legend_names(page: Page) -> list[str]:
    """The colour legend's category names, without their counts."""
    items = page.locator(".dashboard-legend-item").all_inner_texts()
    return [item.rsplit(" ", 1)[0] for item in items]


def test_selection_table_lists_rows_and_exports_csv(page: Page, demo_url: str):
    open_demo(page, demo_url)
    box_select(page)
    info = page.locator("#table-5-info")
    expect(info).to_contain_text("selected rows of digits")
    selected = int(info.inner_text().split()[0].replace(",", ""))
    assert selected > 0
    expect(page.locator("#table-5-grid .ag-header-cell-text").first).to_have_text("row")
    # The contrast panel ranks the columns that set the box apart.
    contrast = page.locator("#contrast-8-body")
    expect(contrast).to_contain_text(f"{selected:,} selected against the other")
    expect(contrast.locator(".dashboard-contrast-row").first).to_contain_text(" p = ")
    rows = page.locator("#table-5-grid .ag-center-cols-container .ag-row")
    expect(rows.first).to_be_visible()
    with page.expect_download() as download_info:
        page.locator("#table-5-csv").click()
    download = download_info.value
    assert download.suggested_filename == "digits-selection.csv"
    lines = Path(download.path()).read_text().splitlines()
    assert lines[0].startswith("row,id,target,label,text,ink,x,y")
    assert len(lines) == selected + 1
    # Reopened, the grid has the map's coordinates again (the map comes after the selection).
    columns = "() => dash_ag_grid.getApi('table-5-grid').getColumns().map((c) => c.getColId())"
    assert {"x", "y"} <= set(page.evaluate(columns))
    page.goto(page.url)
    wait_for_status(page, "PCA 2D")
    expect(info).to_contain_text(f"{selected:,} selected rows of digits")
    settle(page)
    assert {"x", "y"} <= set(page.evaluate(columns))


def test_filtering_by_category_hides_the_other_rows(page: Page, demo_url: str):
    open_demo(page, demo_url)
    choose(page, "3", "8")
    expect(page.locator(".dashboard-shown")).to_have_text("showing 357 of 1,797 rows")
    wait_for_points(page, 357)
    expect(page.locator(".dashboard-legend-item")).to_have_text(["3 183", "8 174"])
    page.get_by_text("3D", exact=True).click()  # a new projection keeps the filter
    wait_for_status(page, "PCA 3D")
    page.wait_for_function(
        f"() => document.querySelector('{GRAPH}')._fullData[0].type === 'scatter3d'"
    )
    wait_for_points(page, 357)
    page.locator("#filter-6-clear").click()
    wait_for_points(page, N)
    expect(page.locator(".dashboard-shown")).to_have_count(0)


def test_isolating_the_selection_reprojects_only_it(page: Page, demo_url: str):
    open_demo(page, demo_url)
    box_select(page, size=60)
    info = page.locator("#table-5-info")
    expect(info).to_contain_text("selected rows of digits")
    selected = int(info.inner_text().split()[0].replace(",", ""))
    page.locator("#controls-0-isolate").click()
    status = wait_for_status(page, f"{selected:,} of 1,797 points (isolated)")
    assert status.startswith("PCA 2D · digits")
    wait_for_points(page, selected)
    expect(page.locator(".dashboard-shown")).to_have_text(f"showing {selected:,} of 1,797 rows")
    page.locator("#controls-0-all").click()
    wait_for_status(page, "PCA 2D · digits · 1,797 points x 64 dims")
    wait_for_points(page, N)


def test_size_by_a_column_and_opacity(page: Page, demo_url: str):
    open_demo(page, demo_url)
    widget(page, 1, "maps", 1, "size").select_option("ink")
    page.wait_for_function(
        f"() => Array.isArray(document.querySelector('{GRAPH}')._fullData[0].marker.size)"
        f" || ArrayBuffer.isView(document.querySelector('{GRAPH}')._fullData[0].marker.size)"
    )
    widget(page, 1, "maps", 1, "opacity").fill("0.3")
    page.wait_for_function(
        f"() => {{ const op = document.querySelector('{GRAPH}')._fullData[0].marker.opacity;"
        " return Math.abs((op.length === undefined ? op : Math.max(...op)) - 0.3) < 1e-6; }"
    )
    assert point_count(page) == N
    # Recolouring patches the marker: the coordinates the browser holds stay the same object.
    page.evaluate(f"() => {{ window.__x = document.querySelector('{GRAPH}').data[0].x; }}")
    colour(page).select_option("ink")
    page.wait_for_function(
        f"() => document.querySelector('{GRAPH}')._fullData[0].marker.showscale === true"
    )
    assert page.evaluate(f"() => document.querySelector('{GRAPH}').data[0].x === window.__x")
    expect(page.locator(".dashboard-legend-item")).to_have_count(0)  # a colour bar instead


def test_the_url_restores_the_view(page: Page, demo_url: str, browser):
    open_demo(page, demo_url)
    box_select(page, size=50)
    gallery = page.locator(".dashboard-gallery-count")
    expect(gallery).to_contain_text("selected")
    page.get_by_text("3D", exact=True).click()
    wait_for_status(page, "PCA 3D")
    colour(page).select_option("ink")
    query = widget(page, 2, "search", "query")
    query.fill("digit 7")
    expect(page.locator(".dashboard-search-count")).to_contain_text("179 of 1,797")
    choose(page, "7", "1")
    expect(page.locator(".dashboard-shown")).to_have_text("showing 361 of 1,797 rows")
    selected = gallery.inner_text()  # what the filters leave of the box
    deadline = time.monotonic() + 20
    while True:
        view = view_state(page)
        filtered = view.get("filters", {}).get("target", {}).get("in") or []
        if view.get("search", {}).get("query") == "digit 7" and sorted(filtered) == ["1", "7"]:
            break
        assert time.monotonic() < deadline, f"the link never caught up: {view}"
        page.wait_for_timeout(100)
    assert view["dims"] == 3
    assert view["maps"]["1"]["colour"] == "ink"
    link = page.evaluate("location.href")
    other = browser.new_page()
    errors: list[str] = []
    other.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    try:
        other.goto(link)
        wait_for_status(other, "PCA 3D · digits · 1,797 points")
        expect(widget(other, 1, "maps", 1, "colour")).to_have_value("ink")
        expect(widget(other, 2, "search", "query")).to_have_value("digit 7")
        expect(other.locator(".dashboard-search-count")).to_contain_text("179 of 1,797")
        expect(other.locator(".dashboard-shown")).to_have_text("showing 361 of 1,797 rows")
        expect(other.locator(".dashboard-gallery-count")).to_have_text(selected)
        other.wait_for_function(
            f"() => document.querySelector('{GRAPH}')._fullData[0].type === 'scatter3d'"
        )
    finally:
        other.close()
    assert errors == []


def test_fitting_a_sample_says_so_above_the_map(page: Page, demo_url: str):
    open_demo(page, demo_url)
    sample = widget(page, 0, "max_rows")
    sample.fill("500")
    sample.press("Enter")
    wait_for_status(page, "fitted on a sample of 500")
    expect(page.locator(".dashboard-sampled")).to_have_text(
        "fitted on 500 of 1,797 rows, sampled at random; "
        "the other 1,297 placed on the map with `transform`"
    )
    wait_for_points(page, N)  # PCA places every row
    sample.fill("")
    sample.press("Enter")
    wait_for_status(page, "PCA 2D · digits · 1,797 points x 64 dims · from cache")
    expect(page.locator(".dashboard-sampled")).to_have_count(0)


def measured(page: Page, name: str) -> float:
    item = page.locator(f".dashboard-faithfulness-measure[data-measure='{name}'] strong")
    return float(item.inner_text())


def test_the_faithfulness_panel_measures_each_new_map(page: Page, demo_url: str):
    open_demo(page, demo_url)
    panel = page.locator("#faithfulness-7-body")
    expect(panel).to_contain_text("k = 10 · 1,797 rows")
    flat = measured(page, "trustworthiness")
    assert 0.7 < flat < 0.95  # a linear 2D map of 64-dim digits keeps some neighbourhoods
    assert 0 < measured(page, "neighbour recall") < 1
    page.get_by_text("3D", exact=True).click()
    wait_for_status(page, "PCA 3D")
    page.wait_for_function(
        "flat => Number(document.querySelector("
        "`[data-measure='trustworthiness'] strong`).textContent) > flat",
        arg=flat,
    )  # a third component keeps more of them
    title = page.locator("[data-measure='continuity']").get_attribute("title")
    assert title.startswith("Are the original near neighbours still near on the map?")
    # Each point's own neighbour recall, as a colour with its scale.
    colour(page).select_option("__recall__")
    page.wait_for_function(
        f"() => document.querySelector('{GRAPH}')._fullData[0].marker.showscale === true"
    )
    expect(page.locator(f"{GRAPH} .colorbar")).to_contain_text("neighbour recall (k=10)")


def test_outliers_are_listed_ringed_and_clusters_coloured(page: Page, demo_url: str):
    open_demo(page, demo_url)
    expect(page.locator(".dashboard-outlier")).to_have_count(5)
    page.locator("#outliers-9-ring").click()
    page.wait_for_function(
        f"() => document.querySelector('{GRAPH}')._fullData.some("
        "t => t.name === 'top outliers' && t.x.length === 5)"
    )
    colour(page).select_option("__cluster__")
    legend = page.locator(".dashboard-legend")
    expect(legend).to_contain_text("cluster (HDBSCAN)")
    expect(legend).to_contain_text("cluster 01")


def test_the_maps_clusters_filter_the_map(page: Page, demo_url: str):
    open_demo(page, demo_url)
    picker = widget(page, 6, "filters", "__cluster__", "in")
    button = page.locator("#filter-6-find-clusters")
    picker.or_(button).filter(visible=True).first.wait_for()
    if button.is_visible():  # not yet found for this map (colouring by cluster finds them too)
        button.click()
    expect(picker).to_be_visible()
    picker.click()
    option = page.get_by_role("option", name=re.compile(r"^cluster 01 \(\d[\d,]*\)$"))
    size = int(option.inner_text().split("(")[1].rstrip(")").replace(",", ""))
    option.click()
    page.keyboard.press("Escape")
    expect(page.locator(".dashboard-shown")).to_have_text(f"showing {size:,} of 1,797 rows")
    wait_for_points(page, size)
    page.locator("#filter-6-clear").click()
    wait_for_points(page, N)
