"""A map of more rows than its `density_above`, in chromium: an image of the region on screen
whose boxes, hovers, zooms, filters and legend agree with the rows the server holds.

The digits (1,797 rows) with `density_above: 1000` and `points_in_view: 300` stand in for a
map of millions: the same code paths, at a size a test can check row by row.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import yaml
from playwright.sync_api import Page, expect

from tests.browser.conftest import GRAPH, choose_tool, settle, wait_for_status, widget
from tests.conftest import digits_table
from tests.servers import serve

pytestmark = pytest.mark.browser

GALLERY = "#gallery-2-items"


@pytest.fixture(scope="module")
def density_config(tmp_path_factory: pytest.TempPathFactory, digits_path: Path) -> Path:
    folder = tmp_path_factory.mktemp("density")
    config = {
        "title": "Density map test",
        "cache_dir": str(folder / "cache"),
        "tables": {"digits": digits_table(digits_path)},
        "panels": [
            {"type": "controls"},
            {"type": "scatter", "color": "target", "density_above": 1000, "points_in_view": 300},
            {"type": "gallery", "width": 12},
            {"type": "filter", "columns": ["target"]},
        ],
    }
    path = folder / "density.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture(scope="module")
def density_url(density_config: Path) -> Iterator[str]:
    with serve([sys.executable, "-m", "dashboard", "--config", str(density_config)]) as url:
        yield url


@pytest.fixture(scope="module")
def truth(density_config: Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The map's coordinates, targets and labels, as the server computes them."""
    from dashboard.web.assemble import prepare

    dashboard = prepare(density_config)
    result = dashboard.context.project({"table": "digits", "reducer": "pca", "dims": 2})
    meta = dashboard.context.datasets["digits"].metadata()
    return (
        dashboard.context.coordinates(result),
        meta["target"].to_numpy(),
        meta["label"].to_list(),
    )


def open_map(page: Page, url: str) -> None:
    page.goto(url)
    wait_for_status(page, "PCA 2D")
    page.wait_for_function(
        """() => { const s = window.dashboardClient.maps['1'];
                   return s && s.density && s.coords && document.querySelector(
                       '#scatter-1-graph .layer-below image, #scatter-1-graph image'); }"""
    )
    settle(page)


def gallery_count(page: Page) -> int:
    found = re.search(r"([\d,]+) selected", page.locator(GALLERY).inner_text())
    return int(found.group(1).replace(",", "")) if found else 0


def to_data(page: Page, px: float, py: float) -> tuple[float, float]:
    """The map's units at a screen position."""
    return tuple(
        page.evaluate(
            f"""([px, py]) => {{
                const gd = document.querySelector('{GRAPH}');
                const fl = gd._fullLayout, box = gd.getBoundingClientRect();
                return [fl.xaxis.p2l(px - box.left - fl._size.l),
                        fl.yaxis.p2l(py - box.top - fl._size.t)];
            }}""",
            [px, py],
        )
    )


def to_screen(page: Page, x: float, y: float) -> tuple[float, float]:
    return tuple(
        page.evaluate(
            f"""([x, y]) => {{
                const gd = document.querySelector('{GRAPH}');
                const fl = gd._fullLayout, box = gd.getBoundingClientRect();
                return [box.left + fl._size.l + fl.xaxis.l2p(x),
                        box.top + fl._size.t + fl.yaxis.l2p(y)];
            }}""",
            [x, y],
        )
    )


def inside(coords: np.ndarray, x0: float, x1: float, y0: float, y1: float) -> np.ndarray:
    x, y = coords[:, 0], coords[:, 1]
    lo_x, hi_x, lo_y, hi_y = min(x0, x1), max(x0, x1), min(y0, y1), max(y0, y1)
    return np.flatnonzero((x >= lo_x) & (x <= hi_x) & (y >= lo_y) & (y <= hi_y))


def zoom_to_points(page: Page, at: np.ndarray, half: float = 3.0) -> None:
    """Zoom the map to ``half`` units round ``at``, and wait for its rows as points."""
    page.evaluate(
        f"""([x, y, h]) => window.Plotly.relayout(document.querySelector('{GRAPH}'),
            {{'xaxis.range': [x - h, x + h], 'yaxis.range': [y - h, y + h]}})""",
        [float(at[0]), float(at[1]), half],
    )
    page.wait_for_function("() => !!window.dashboardClient.maps['1'].points")


def drag_box(page: Page, x0: float, y0: float, x1: float, y1: float) -> tuple[float, ...]:
    """A box dragged with the box tool from one screen point to another; returns its corners
    in the map's units."""
    choose_tool(page, "select")
    a, b = to_data(page, x0, y0), to_data(page, x1, y1)
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move(x1, y1, steps=6)
    page.mouse.up()
    return a[0], b[0], a[1], b[1]


def test_a_big_map_opens_as_an_image_with_no_points_sent(page: Page, density_url: str):
    open_map(page, density_url)
    data = page.evaluate(f"() => document.querySelector('{GRAPH}')._fullData[0].x.length")
    assert data == 2  # two unseen corners to draw boxes on; the rows are in the image
    expect(page.locator("#scatter-1-legend")).to_contain_text("0")
    state = page.evaluate(
        "() => { const s = window.dashboardClient.maps['1']; return [s.n, s.table, !!s.points]; }"
    )
    assert state == [1797, "digits", False]


def test_a_box_on_the_image_selects_exactly_the_rows_inside(page: Page, density_url, truth):
    coords, _, _ = truth
    open_map(page, density_url)
    box = page.locator(f"{GRAPH} .nsewdrag").first.bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    corners = drag_box(page, cx - 120, cy - 90, cx + 60, cy + 80)
    expected = inside(coords, *corners)
    assert 50 < len(expected) < 1797
    page.wait_for_function(
        f"() => document.querySelector('{GALLERY}').innerText.includes('selected')"
    )
    settle(page)
    assert gallery_count(page) == len(expected)
    # Escape lets go, as on any map.
    page.keyboard.press("Escape")
    page.wait_for_function(
        f"() => !document.querySelector('{GALLERY}').innerText.includes(' selected')"
    )


def test_hover_over_the_image_names_the_row_under_the_pointer(page: Page, density_url, truth):
    coords, _, labels = truth
    open_map(page, density_url)
    # A row far from the others: nothing else within the pointer's reach.
    others = np.hypot(*(coords[:, None, :] - coords[None, :, :]).transpose(2, 0, 1))
    np.fill_diagonal(others, np.inf)
    row = int(np.argmax(np.nanmin(others, axis=1)))
    x, y = to_screen(page, float(coords[row, 0]), float(coords[row, 1]))
    page.mouse.move(x - 20, y - 20)
    page.mouse.move(x, y, steps=3)
    tooltip = page.locator("#dashboard-tooltip")
    expect(tooltip).to_be_visible()
    expect(tooltip).to_contain_text(labels[row])
    # A click there selects that row, as a click on a point does.
    page.mouse.down()
    page.mouse.up()
    page.wait_for_function(
        f"() => document.querySelector('{GALLERY}').innerText.includes('1 selected')"
    )
    page.mouse.move(5, 5)
    expect(tooltip).to_be_hidden()


def test_zooming_in_draws_the_rows_as_points_which_click_and_select(page: Page, density_url, truth):
    coords, _, _ = truth
    open_map(page, density_url)
    zoom_to_points(page, coords[7])
    settle(page)
    ranges = page.evaluate(
        f"() => {{ const fl = document.querySelector('{GRAPH}')._fullLayout;"
        " return [fl.xaxis.range, fl.yaxis.range]; }"
    )
    drawn = page.evaluate("() => Array.from(window.dashboardClient.maps['1'].points)")
    # The points drawn are the rows in the region the server drew for (the camera sent).
    (x0, x1), (y0, y1) = ranges
    expected = inside(coords, x0, x1, y0, y1)
    assert set(expected) <= set(drawn)
    assert len(drawn) <= 300
    # Its card stands beside the point.
    px, py = to_screen(page, float(coords[7, 0]), float(coords[7, 1]))
    page.mouse.move(px - 8, py - 8)
    page.mouse.move(px, py, steps=3)
    tooltip = page.locator("#dashboard-tooltip")
    expect(tooltip).to_be_visible()
    card = tooltip.bounding_box()
    assert min(abs(card["x"] - px), abs(card["x"] + card["width"] - px)) < 16, (card, px)
    # A click on a point selects that row.
    choose_tool(page, "pan")
    page.mouse.click(px, py)
    page.wait_for_function(
        f"() => document.querySelector('{GALLERY}').innerText.includes('1 selected')"
    )
    # Zooming back out draws the image again.
    page.locator(
        f"{GRAPH} [data-title='Reset axes'], {GRAPH} [data-title='Autoscale']"
    ).first.click()
    page.wait_for_function("() => !window.dashboardClient.maps['1'].points")


def test_hidden_categories_and_filters_leave_the_image_and_the_box(page: Page, density_url, truth):
    coords, target, _ = truth
    open_map(page, density_url)
    page.locator("#scatter-1-legend .dashboard-legend-item", has_text="3").first.click()
    settle(page)
    box = page.locator(f"{GRAPH} .nsewdrag").first.bounding_box()
    corners = drag_box(
        page, box["x"] + 5, box["y"] + 5, box["x"] + box["width"] - 5, box["y"] + box["height"] - 5
    )
    expected = inside(coords, *corners)
    expected = expected[target[expected] != 3]
    page.wait_for_function(
        f"() => document.querySelector('{GALLERY}').innerText.includes('selected')"
    )
    settle(page)
    assert gallery_count(page) == len(expected)
    page.keyboard.press("Escape")
    # A filter on top: only 0s and 1s.
    dropdown = widget(page, 3, "filters", "target", "in")
    dropdown.click()
    for value in ("0", "1"):
        page.get_by_role("option", name=value, exact=True).click()
    page.keyboard.press("Escape")
    expect(page.locator("#scatter-1-message")).to_contain_text("of 1,797")
    settle(page)
    corners = drag_box(
        page, box["x"] + 5, box["y"] + 5, box["x"] + box["width"] - 5, box["y"] + box["height"] - 5
    )
    expected = inside(coords, *corners)
    expected = expected[np.isin(target[expected], [0, 1])]
    page.wait_for_function(
        f"() => document.querySelector('{GALLERY}').innerText.includes('selected')"
    )
    settle(page)
    assert gallery_count(page) == len(expected)


def test_a_colour_by_numbers_gets_its_colour_bar(page: Page, density_url: str):
    open_map(page, density_url)
    widget(page, 1, "maps", "1", "colour").select_option("ink")
    expect(page.locator(f"{GRAPH} .colorbar")).to_have_count(1)
    expect(page.locator("#scatter-1-legend")).not_to_contain_text("178")  # no categories


def test_3d_says_why_a_big_map_is_not_drawn(page: Page, density_url: str):
    open_map(page, density_url)
    page.get_by_label("3D").check()
    expect(page.locator(GRAPH)).to_contain_text("A 3D map of 1,797 rows", timeout=60_000)
    # The whole message fits on the map (plotly does not wrap it by itself).
    graph = page.locator(GRAPH).bounding_box()
    text = page.locator(f"{GRAPH} .annotation-text").first.bounding_box()
    assert graph["x"] <= text["x"]
    assert text["x"] + text["width"] <= graph["x"] + graph["width"]
    expect(page.locator(GRAPH)).to_contain_text("Switch to 2D")


def test_zoomed_points_draw_as_their_images_and_the_image_view_says_to_zoom(
    page: Page, density_url, truth
):
    coords, _, _ = truth
    open_map(page, density_url)
    switch = widget(page, 1, "maps", "1", "images")
    switch.check()
    notice = page.locator("#scatter-1-images-notice")
    # The whole map is an image: no images yet, and the page says how to get them.
    # (images come with points: at most `points_in_view`, 300 here)
    expect(notice).to_contain_text("zoom in until at most 300 are to see their images")
    assert page.evaluate("() => window.dashboardImageMap.drawn('1')") == 0
    zoom_to_points(page, coords[7])
    # Each point in the plot draws its own image (from an atlas of these rows).
    page.wait_for_function("() => window.dashboardImageMap.drawn('1') > 0", timeout=30_000)
    expect(notice).to_have_text("")
    settle(page)
    ranges = page.evaluate(
        f"() => {{ const fl = document.querySelector('{GRAPH}')._fullLayout;"
        " return [fl.xaxis.range, fl.yaxis.range]; }"
    )
    (x0, x1), (y0, y1) = ranges
    in_plot = len(inside(coords, x0, x1, y0, y1))
    drawn = page.evaluate("() => window.dashboardImageMap.drawn('1')")
    points = page.evaluate("() => window.dashboardClient.maps['1'].points.length")
    # Drawn: those in the plot, and those within 200 px of it (the layer's own margin).
    assert in_plot <= drawn <= points
    # The image on top is a digit's: painted pixels round its centre.
    top = page.evaluate("() => window.dashboardImageMap.top('1')")
    assert top is not None
    row = page.evaluate("(i) => window.dashboardClient.maps['1'].points[i]", top["row"])
    px, py = to_screen(page, float(coords[row, 0]), float(coords[row, 1]))
    assert abs(top["x"] - px) < 2
    assert abs(top["y"] - py) < 2
    # Back out to the image: the images go, and the notice comes back.
    page.locator(
        f"{GRAPH} [data-title='Reset axes'], {GRAPH} [data-title='Autoscale']"
    ).first.click()
    page.wait_for_function("() => window.dashboardImageMap.drawn('1') === 0")
    expect(notice).to_contain_text("zoom in until")
    switch.uncheck()
    expect(notice).to_have_text("")
