"""Sequences of ordinary clicks on the demo page: the map and the panels must agree after each.

Each test here is a defect a new user met (issue 14): a selection followed by a filter blanked
the map, the map and the gallery disagreed about what is selected, the tooltip stayed on
screen, and the modebar offered to upload the chart.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import (
    GRAPH,
    JITTER,
    box_select,
    hover_point,
    point_position,
    selected_points,
    settle,
    tooltips_shown,
    trace_types,
    view_state,
    wait_for_points,
    wait_for_status,
    widget,
)

pytestmark = pytest.mark.browser

N = 1797
#: Rows of the digits data with target 3 or 8.
THREES_AND_EIGHTS = 183 + 174
GALLERY = "#gallery-4-items"


def open_demo(page: Page, url: str) -> None:
    page.goto(url)
    wait_for_status(page, "PCA 2D")
    wait_for_points(page, N)


def gallery_count(page: Page) -> int:
    """The number the gallery says is selected (0 when it shows its hint)."""
    text = page.locator(GALLERY).inner_text()
    found = re.search(r"([\d,]+) selected", text)
    return int(found.group(1).replace(",", "")) if found else 0


def plotly_boxes(page: Page) -> int:
    """Selection outlines plotly still draws on the map."""
    return page.evaluate(
        f"() => (document.querySelector('{GRAPH}')._fullLayout.selections || []).length"
        f" + document.querySelectorAll('{GRAPH} .selectionlayer path').length"
    )


def filter_target(page: Page, *values: str) -> None:
    dropdown = widget(page, 6, "filters", "target", "in")
    dropdown.click()
    for value in values:
        page.get_by_role("option", name=value, exact=True).click()
    page.keyboard.press("Escape")


def agree(page: Page) -> int:
    """Wait for the page to settle; assert the map and the gallery show the same selection,
    and return its size."""
    settle(page)
    shown = selected_points(page)
    assert gallery_count(page) == shown, (gallery_count(page), shown)
    assert plotly_boxes(page) == 0
    return shown


def test_a_selection_then_a_filter_draws_the_rows_the_filter_keeps(page: Page, demo_url: str):
    open_demo(page, demo_url)
    box_select(page, 60)
    assert agree(page) > 0
    filter_target(page, "3", "8")
    wait_for_points(page, THREES_AND_EIGHTS)
    expect(page.locator("#scatter-1-message")).to_contain_text(f"{THREES_AND_EIGHTS} of 1,797")
    # The selection is now what the filter left of it, on the map and in the gallery alike.
    agree(page)
    shown = view_state(page)["selection"]["rows"]
    assert all(r >= 0 for r in shown)
    # Clearing the selection keeps the filtered points drawn.
    page.locator("#gallery-4-clear").click()
    wait_for_points(page, THREES_AND_EIGHTS)
    assert agree(page) == 0
    page.locator("#filter-6-clear").click()
    wait_for_points(page, N)


def test_clear_click_double_click_and_escape_agree_with_the_gallery(page: Page, demo_url: str):
    open_demo(page, demo_url)
    box_select(page, 60)
    many = agree(page)
    assert many > 1
    page.locator("#gallery-4-clear").click()
    assert agree(page) == 0
    # One click: one point selected, the old box gone.
    box_select(page, 60)
    assert agree(page) > 1
    x, y = point_position(page, 10)
    page.mouse.click(x, y)
    expect(page.locator(GALLERY)).to_contain_text("1 selected")
    assert agree(page) == 1
    # A double click on the map lets go, everywhere.
    box_select(page, 60)
    assert agree(page) > 1
    corner = page.locator(f"{GRAPH} .nsewdrag").first.bounding_box()
    # Bottom left: the top left holds the rings' legend.
    page.mouse.dblclick(corner["x"] + 20, corner["y"] + corner["height"] - 20)
    expect(page.locator(GALLERY)).to_contain_text("Select points with the box")
    assert agree(page) == 0
    # Also on a point (its first click selects it; the double click still lets go).
    box_select(page, 60)
    x, y = point_position(page, 10)
    page.mouse.dblclick(x, y)
    expect(page.locator(GALLERY)).to_contain_text("Select points with the box")
    assert agree(page) == 0
    # So does Escape.
    box_select(page, 60)
    assert agree(page) > 1
    page.keyboard.press("Escape")
    expect(page.locator(GALLERY)).to_contain_text("Select points with the box")
    assert agree(page) == 0


def test_escape_in_a_field_or_a_dropdown_keeps_the_selection(page: Page, demo_url: str):
    """Escape pressed to close a list or leave the search box must not let go of a lasso."""
    open_demo(page, demo_url)
    box_select(page, 60)
    many = agree(page)
    assert many > 1
    query = widget(page, 2, "search", "query")
    query.fill("digit 3")
    query.press("Escape")
    # The reducer list, opened and closed with Escape, then Escape on its trigger.
    widget(page, 0, "reducer").click()
    expect(page.get_by_role("option", name="UMAP", exact=True)).to_be_visible()
    page.keyboard.press("Escape")
    page.keyboard.press("Escape")
    page.wait_for_timeout(500)  # what a cleared selection would need to reach the gallery
    assert agree(page) == many
    # Away from fields, Escape still lets go (once the closed list's quiet moment is over).
    page.evaluate("document.activeElement && document.activeElement.blur()")
    page.wait_for_timeout(1000)
    page.keyboard.press("Escape")
    expect(page.locator(GALLERY)).to_contain_text("Select points with the box")
    assert agree(page) == 0
    # Typing in the search box, then selecting on the map: the map has the focus, and
    # Escape lets go.
    query.fill("digit 4")
    box_select(page, 60)
    assert agree(page) > 1
    page.keyboard.press("Escape")
    expect(page.locator(GALLERY)).to_contain_text("Select points with the box")
    assert agree(page) == 0
    # Typing in the search box, then zooming the map with the wheel: the map in use has the
    # focus, and Escape lets go.
    box_select(page, 60)
    assert agree(page) > 1
    query.fill("digit 5")
    graph = page.locator(f"{GRAPH} .nsewdrag").first.bounding_box()
    page.mouse.move(graph["x"] + graph["width"] / 2, graph["y"] + graph["height"] / 2)
    page.mouse.wheel(0, -200)
    page.wait_for_timeout(1000)  # past the quiet moment a typed Escape keeps
    page.keyboard.press("Escape")
    expect(page.locator(GALLERY)).to_contain_text("Select points with the box")
    assert agree(page) == 0
    # A switch has no use for Escape: it lets go there too.
    box_select(page, 60)
    assert agree(page) > 1
    page.locator("input[type=radio]").first.focus()
    page.keyboard.press("Escape")
    expect(page.locator(GALLERY)).to_contain_text("Select points with the box")
    assert agree(page) == 0


def test_the_tooltip_hides_when_the_pointer_leaves_and_stays_in_the_window(
    page: Page, demo_url: str
):
    open_demo(page, demo_url)
    tooltip = page.locator("#dashboard-tooltip")
    x, y = hover_point(page, 3)
    expect(tooltip).to_be_visible()
    assert tooltips_shown(page) == 1
    # Beside its point: its near edge within a few pixels of the point, its middle level
    # with it (plotly's own box of a WebGL point once put the card 300 px to the left).
    card = tooltip.bounding_box()
    assert min(abs(card["x"] - x), abs(card["x"] + card["width"] - x)) < 16, (card, x)
    assert card["y"] <= y <= card["y"] + card["height"], (card, y)
    # Off the point, onto empty map: gone.
    corner = page.locator(f"{GRAPH} .nsewdrag").first.bounding_box()
    page.mouse.move(corner["x"] + 5, corner["y"] + 5)
    expect(tooltip).to_be_hidden()
    # Off the map altogether: gone.
    page.mouse.move(x, y)
    expect(tooltip).to_be_visible()
    page.mouse.move(5, 5)
    expect(tooltip).to_be_hidden()
    # The topmost, rightmost and bottommost points' cards stay inside the window.
    extremes = page.evaluate(
        f"""() => {{
            const t = document.querySelector('{GRAPH}')._fullData[0];
            let top = 0, right = 0, bottom = 0;
            for (let i = 0; i < t.y.length; i++) {{
                if (t.y[i] > t.y[top]) top = i;
                if (t.x[i] > t.x[right]) right = i;
                if (t.y[i] < t.y[bottom]) bottom = i;
            }}
            return [top, right, bottom];
        }}"""
    )
    viewport = page.viewport_size
    for row in extremes:
        page.mouse.move(5, 5)
        expect(tooltip).to_be_hidden()
        page.mouse.move(*point_position(page, row))
        expect(tooltip).to_be_visible()
        box = tooltip.bounding_box()
        assert box["x"] >= 0
        assert box["y"] >= 0
        assert box["x"] + box["width"] <= viewport["width"]
        assert box["y"] + box["height"] <= viewport["height"]


def test_3d_maps_show_one_hover_label(page: Page, demo_url: str):
    open_demo(page, demo_url)
    page.get_by_text("3D", exact=True).click()
    wait_for_status(page, "PCA 3D")
    wait_for_points(page, N)
    graph = page.locator(GRAPH).bounding_box()
    # Sweep the middle of the cloud: the page's card shows, as in 2D; plotly's never does.
    seen = 0
    for step in range(40):
        page.mouse.move(
            graph["x"] + graph["width"] * (0.35 + 0.3 * (step % 8) / 8),
            graph["y"] + graph["height"] * (0.35 + 0.3 * (step // 8) / 5),
        )
        page.wait_for_timeout(120)
        shown = tooltips_shown(page)
        assert shown <= 1
        seen = max(seen, shown)
        assert page.locator(f"{GRAPH} .hovertext").count() == 0
    assert seen == 1


def test_no_control_sends_the_data_off_the_machine(page: Page, demo_url: str):
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    open_demo(page, demo_url)
    page.locator(GRAPH).hover()
    titles = page.locator(f"{GRAPH} .modebar-btn").evaluate_all(
        "bs => bs.map(b => b.getAttribute('data-title') || '')"
    )
    assert titles, "the modebar shows"
    assert not [t for t in titles if re.search(r"chart studio|cloud|edit|share", t, re.I)]
    assert page.locator(f"{GRAPH} .modebar a[href^='http']").count() == 0
    # Nothing the page loaded came from anywhere but this server.
    origin = demo_url.rstrip("/")
    assert [u for u in requests if not u.startswith((origin, "data:", "blob:"))] == []


def test_a_click_in_the_gallery_focuses_its_point_on_the_map(page: Page, demo_url: str):
    open_demo(page, demo_url)
    box_select(page, 60)
    agree(page)
    item = page.locator(f"{GALLERY} [data-dashboard-row]").nth(2)
    row = int(item.get_attribute("data-dashboard-row"))
    item.click()
    page.wait_for_function(
        f"() => document.querySelector('{GRAPH}')._fullData.some("
        f"t => t.name === 'focused' && t.x.length === 1)"
    )
    # The ring is on that row's point.
    ring, point = page.evaluate(
        f"""() => {{
            const data = document.querySelector('{GRAPH}')._fullData;
            const ring = data.find(t => t.name === 'focused');
            return [[ring.x[0], ring.y[0]], [data[0].x[{row}], data[0].y[{row}]]];
        }}"""
    )
    assert ring == pytest.approx(point)
    # Its neighbours are listed, and the selection did not change.
    expect(page.locator("#neighbors-3-list")).to_contain_text(f"row {row:,}")
    agree(page)
    # Its card shows beside it for a moment; the ring stays.
    expect(page.locator("#dashboard-tooltip")).to_be_visible()
    expect(page.locator("#dashboard-tooltip")).to_be_hidden(timeout=6_000)
    assert page.evaluate(
        f"() => document.querySelector('{GRAPH}')._fullData.some(t => t.name === 'focused')"
    )


def test_the_legend_hides_and_isolates_categories(page: Page, demo_url: str):
    open_demo(page, demo_url)
    threes = page.locator("#scatter-1-legend [data-dashboard-category='3']")
    threes.click()
    wait_for_points(page, N - 183)
    expect(threes).to_have_class(re.compile("dashboard-hidden"))
    assert view_state(page)["maps"]["1"]["hidden"] == ["3"]
    threes.click()
    wait_for_points(page, N)
    threes.dblclick()
    wait_for_points(page, 183)
    # Selecting while others are hidden selects only what is drawn.
    box_select(page, 200)
    agree(page)
    assert 0 < selected_points(page) <= 183
    page.locator("#scatter-1-legend [data-dashboard-category='3']").dblclick()
    wait_for_points(page, N)


def test_the_page_fits_a_laptop_and_a_narrow_window(browser: Browser, demo_url: str):
    for width, height in ((1280, 760), (900, 700)):
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        try:
            open_demo(page, demo_url)
            overflow = page.evaluate(
                "() => document.documentElement.scrollWidth - window.innerWidth"
            )
            assert overflow <= 0, f"{width}px: the page scrolls sideways by {overflow}px"
            graph = page.locator(GRAPH).bounding_box()
            assert graph["width"] >= 0.5 * width - 40
            assert graph["y"] + graph["height"] <= height, "the map fits the first screen"
            toggle = page.get_by_role("button", name="Show or hide the controls")
            reducer = widget(page, 0, "reducer")
            if width < 992:  # the controls lie over the map when asked for
                expect(reducer).to_be_hidden()
                toggle.click()
                expect(reducer).to_be_visible()
                assert reducer.bounding_box()["x"] + reducer.bounding_box()["width"] <= width
                toggle.click()
                expect(reducer).to_be_hidden()
            else:
                expect(reducer).to_be_visible()
                toggle.click()
                expect(reducer).to_be_hidden()
                page.wait_for_function(
                    f"() => document.querySelector('{GRAPH}').getBoundingClientRect().width"
                    f" > {graph['width'] + 100}"
                )
        finally:
            context.close()


def test_a_dark_scheme_gets_a_dark_page(browser: Browser, demo_url: str):
    context = browser.new_context(color_scheme="dark", viewport={"width": 1280, "height": 760})
    page = context.new_page()
    try:
        open_demo(page, demo_url)
        expect(page.locator("html")).to_have_attribute("data-bs-theme", "dark")
        background = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
        red, green, blue = (int(v) for v in re.findall(r"\d+", background)[:3])
        assert red + green + blue < 200, background
        font = page.evaluate(f"() => document.querySelector('{GRAPH}')._fullLayout.font.color")
        assert font.lower() in ("#dee2e6", "rgb(222, 226, 230)")
        # Dash's dropdowns and the grid follow (they were white, with light text on them).
        for selector in (".dash-dropdown", "#table-5-grid .ag-root-wrapper"):
            colour = page.evaluate(
                f"() => getComputedStyle(document.querySelector('{selector}')).backgroundColor"
            )
            assert sum(int(v) for v in re.findall(r"\d+", colour)[:3]) < 200, (selector, colour)
    finally:
        context.close()


def test_zoom_stays_through_redraws_and_the_link_brings_it_back(page: Page, demo_url: str):
    open_demo(page, demo_url)
    ranges = f"() => document.querySelector('{GRAPH}')._fullLayout.xaxis.range.slice()"
    full = page.evaluate(ranges)
    box = page.locator(f"{GRAPH} .nsewdrag").first.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.wheel(0, -400)
    settle(page)
    page.wait_for_timeout(800)  # past the camera action and the redraw it brings
    zoomed = page.evaluate(ranges)
    assert zoomed[1] - zoomed[0] < 0.95 * (full[1] - full[0]), (full, zoomed)
    # A selection redraws the map: the zoom stays.
    box_select(page, 40)
    settle(page)
    assert page.evaluate(ranges) == pytest.approx(zoomed, rel=1e-6)
    page.reload()
    wait_for_points(page, N)
    settle(page)
    assert page.evaluate(ranges) == pytest.approx(zoomed, rel=1e-3)


def test_a_double_click_lets_go_of_focus_and_rings_too(page: Page, demo_url: str):
    open_demo(page, demo_url)
    x, y = point_position(page, 10)
    page.mouse.click(x, y)
    expect(page.locator("#neighbors-3-list")).to_contain_text("nearest to")
    corner = page.locator(f"{GRAPH} .nsewdrag").first.bounding_box()
    # Bottom left: the top left holds the rings' legend.
    page.mouse.dblclick(corner["x"] + 20, corner["y"] + corner["height"] - 20)
    expect(page.locator("#neighbors-3-list")).not_to_contain_text("nearest to")
    settle(page)
    names = f"() => document.querySelector('{GRAPH}')._fullData.map(t => t.name)"
    assert page.evaluate(names) == [page.evaluate(names)[0]]  # no rings, no focus
    # A later selection does not bring the old focus back.
    box_select(page, 60)
    settle(page)
    assert "focused" not in page.evaluate(names)


def test_quick_2d_3d_toggles_end_on_the_map_asked_for(page: Page, demo_url: str):
    # Each toggle starts a projection job; on a slow link a replaced job's map (3D) can
    # arrive after the newer one's (2D): the page must not show it.
    page.add_init_script(JITTER % (1, 400))
    open_demo(page, demo_url)
    for dims in ("3D", "2D", "3D", "2D"):
        page.get_by_text(dims, exact=True).click()
    settle(page, timeout=120_000)
    wait_for_points(page, N)
    assert set(trace_types(page)) <= {"scattergl"}
    assert page.locator("#scatter-1-stale").inner_text().strip() == ""
    assert view_state(page)["dims"] == 2
