"""Points as images (issue 16): the Images switch draws each point's thumbnail where plotly
draws the point, in 2D and 3D, framed in its colour; plotly's hover, zoom and selection keep
working under them. Checked by sampling the pixels a person sees."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import (
    GRAPH,
    settle,
    view_state,
    wait_for_points,
    wait_for_status,
    widget,
)

pytestmark = pytest.mark.browser

N = 1797
LAYER = "#scatter-1-graph canvas.dashboard-image-layer"

# The overlay's pixels at (fx, fy) of the top image (fractions of its size) against the
# atlas tile's pixels at the same fractions: how many of the samples agree.
MATCHES = """async ([fractions, selector]) => {
    const map = window.dashboardImageMap, layer = map.layers['1'], top = map.top('1');
    const layerCanvas = document.querySelector(selector);
    const box = layerCanvas.getBoundingClientRect(), ratio = layerCanvas.width / box.width;
    // The layer draws with WebGL: its pixels are read through a 2D copy.
    const canvas = document.createElement('canvas');
    canvas.width = layerCanvas.width; canvas.height = layerCanvas.height;
    const ctx = canvas.getContext('2d');
    ctx.drawImage(layerCanvas, 0, 0);
    const atlas = document.createElement('canvas');
    atlas.width = layer.atlas.width; atlas.height = layer.atlas.height;
    const actx = atlas.getContext('2d');
    actx.drawImage(layer.atlas, 0, 0);
    const tile = layer.spec.tile, cols = layer.spec.columns;
    const tx = (top.row % cols) * tile, ty = Math.floor(top.row / cols) * tile;
    const size = layer.size;
    let agree = 0;
    const seen = [];
    for (const [fx, fy] of fractions) {
        const sx = (top.x - box.left - size / 2 + fx * size) * ratio;
        const sy = (top.y - box.top - size / 2 + fy * size) * ratio;
        const a = ctx.getImageData(Math.floor(sx), Math.floor(sy), 1, 1).data;
        const ax = tx + Math.floor(fx * tile), ay = ty + Math.floor(fy * tile);
        const b = actx.getImageData(ax, ay, 1, 1).data;
        seen.push([Array.from(a), Array.from(b)]);
        if (a[3] > 200 && [0, 1, 2].every((c) => Math.abs(a[c] - b[c]) < 40)) agree++;
    }
    return {agree, seen};
}"""

FRACTIONS = [[0.3, 0.3], [0.7, 0.3], [0.3, 0.7], [0.7, 0.7], [0.5, 0.2], [0.2, 0.5]]


# The overlay's pixel (RGBA) at (dx, dy) CSS pixels from the centre of the image on top.
PIXEL_NEAR_TOP = """([selector, dx, dy]) => {
    const layer = document.querySelector(selector);
    const top = window.dashboardImageMap.top('1');
    const box = layer.getBoundingClientRect(), ratio = layer.width / box.width;
    const copy = document.createElement('canvas');
    copy.width = layer.width; copy.height = layer.height;
    const ctx = copy.getContext('2d');
    ctx.drawImage(layer, 0, 0);
    const x = Math.floor((top.x - box.left + dx) * ratio);
    const y = Math.floor((top.y - box.top + dy) * ratio);
    return Array.from(ctx.getImageData(x, y, 1, 1).data);
}"""

CAMERA = f"() => document.querySelector('{GRAPH}')._fullLayout.scene._scene.getCamera().eye"


def images_drawn(page: Page, n: int) -> None:
    page.wait_for_function(f"() => window.dashboardImageMap.drawn('1') === {n}", timeout=30_000)


def painted_share(page: Page) -> float:
    """Share of the overlay's pixels that are painted (not transparent)."""
    return page.evaluate(
        f"""() => {{
            const layer = document.querySelector('{LAYER}');
            const c = document.createElement('canvas');
            c.width = layer.width; c.height = layer.height;
            const ctx = c.getContext('2d');
            ctx.drawImage(layer, 0, 0);
            const d = ctx.getImageData(0, 0, c.width, c.height).data;
            let painted = 0;
            for (let i = 3; i < d.length; i += 4) if (d[i] > 0) painted++;
            return painted / (d.length / 4);
        }}"""
    )


def hovered_point(page: Page, x: float, y: float) -> int | None:
    """The point plotly itself picks under (x, y): its hover event's point number."""
    page.evaluate(
        f"""() => {{
            const gd = document.querySelector('{GRAPH}');
            window.__hovered = null;
            if (!gd.__imagesTest) {{
                gd.__imagesTest = true;
                gd.on('plotly_hover', (e) => {{ window.__hovered = e.points[0].pointNumber; }});
            }}
        }}"""
    )
    page.mouse.move(x - 8, y - 8)
    page.mouse.move(x, y, steps=4)
    try:
        page.wait_for_function("() => window.__hovered !== null", timeout=5_000)
    except Exception:
        return None
    # The pointer passes other points on its way: the point under its end is the last one
    # hovered, once plotly's throttled hover has caught up (a loaded machine lags).
    page.wait_for_timeout(500)
    return page.evaluate("() => window.__hovered")


def test_points_drawn_as_images_in_2d_and_3d(page: Page, demo_url: str):
    page.goto(demo_url)
    wait_for_status(page, "PCA 2D")
    wait_for_points(page, N)
    expect(page.locator(LAYER)).to_have_count(0)  # off until asked for
    switch = widget(page, 1, "maps", "1", "images")
    switch.check()
    images_drawn(page, N)
    settle(page)
    assert 0.05 < painted_share(page) < 0.9  # images over the map, not a blank or a wash
    found = page.evaluate(MATCHES, [FRACTIONS, LAYER])
    assert found["agree"] >= 5, found  # the top image is that row's own thumbnail
    top = page.evaluate("() => window.dashboardImageMap.top('1')")
    assert hovered_point(page, top["x"], top["y"]) == top["row"]  # plotly's point is under it

    # Zooming in redraws the images where the points went, and bigger.
    before = page.evaluate("() => window.dashboardImageMap.layers['1'].size")
    box = page.locator(GRAPH).bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    for _ in range(6):
        page.mouse.wheel(0, -300)
        page.wait_for_timeout(100)
    settle(page)
    page.wait_for_function(f"() => window.dashboardImageMap.layers['1'].size > {before}")
    top = page.evaluate("() => window.dashboardImageMap.top('1')")
    assert hovered_point(page, top["x"], top["y"]) == top["row"]

    # 3D: the images follow plotly's camera; the one on top is plotly's nearest point there.
    page.get_by_label("3D").check()
    wait_for_status(page, "PCA 3D")
    wait_for_points(page, N)
    images_drawn(page, N)
    settle(page)
    assert painted_share(page) > 0.02
    found = page.evaluate(MATCHES, [FRACTIONS, LAYER])
    assert found["agree"] >= 5, found
    top = page.evaluate("() => window.dashboardImageMap.top('1')")
    assert hovered_point(page, top["x"], top["y"]) == top["row"]
    # Turning the map moves the images with it.
    signature = page.evaluate("() => window.dashboardImageMap.layers['1'].signature")
    page.mouse.move(box["x"] + 200, box["y"] + 300)
    page.mouse.down()
    page.mouse.move(box["x"] + 320, box["y"] + 330, steps=8)
    page.mouse.up()
    settle(page)
    page.wait_for_function(
        f"() => window.dashboardImageMap.layers['1'].signature !== {signature!r}"
    )
    found = page.evaluate(MATCHES, [FRACTIONS, LAYER])
    assert found["agree"] >= 5, found

    # The turned camera stays (it snapped back after about every second turn) and is the
    # view's, so a link keeps it; Images off keeps it too.
    page.wait_for_timeout(1500)
    settle(page)
    eye = page.evaluate(CAMERA)
    assert max(abs(eye[k] - 1.25) for k in "xyz") > 0.05, eye
    kept = view_state(page)["maps"]["1"]["camera"]["eye"]
    assert all(abs(kept[k] - eye[k]) < 1e-3 for k in "xyz"), (kept, eye)

    # A numeric colouring frames each image in its value's colour; the Opacity slider fades
    # the images as it fades the dots.
    widget(page, 1, "maps", "1", "colour").select_option("ink")
    settle(page)
    page.wait_for_function("() => window.dashboardImageMap.drawn('1') > 0")
    half = page.evaluate("() => window.dashboardImageMap.layers['1'].size / 2")
    frame = page.evaluate(PIXEL_NEAR_TOP, [LAYER, -half - 1, 0])
    assert frame[3] > 200, frame
    assert max(frame[:3]) - min(frame[:3]) > 40, frame  # a Viridis colour, not grey or black
    opaque = page.evaluate(PIXEL_NEAR_TOP, [LAYER, 0, 0])[3]
    widget(page, 1, "maps", "1", "opacity").fill("0.3")
    settle(page)
    page.wait_for_function(
        f"() => ({PIXEL_NEAR_TOP})(['{LAYER}', 0, 0])[3] < {opaque} * 0.6", timeout=10_000
    )
    after = page.evaluate(CAMERA)
    assert all(abs(after[k] - eye[k]) < 1e-3 for k in "xyz"), (after, eye)

    # Off again: the dots alone.
    switch.uncheck()
    page.wait_for_function("() => window.dashboardImageMap.drawn('1') === 0")
    expect(page.locator(LAYER)).to_be_hidden()


def test_cluster_labels_are_drawn_above_the_images(page: Page, demo_url: str):
    page.goto(demo_url)
    wait_for_status(page, "PCA 2D")
    widget(page, 1, "maps", "1", "images").check()
    images_drawn(page, N)
    widget(page, 1, "maps", "1", "labels").check()
    page.wait_for_function(f"() => document.querySelectorAll('{GRAPH} .annotation').length > 0")
    settle(page)
    # Positioned siblings paint in document order: the image layer comes just before the
    # plotly layer that holds the labels (and the legend and hover labels), with no z-index.
    order = page.evaluate(
        f"""() => {{
            const layer = document.querySelector('{LAYER}');
            const next = layer.nextElementSibling;
            return {{z: getComputedStyle(layer).zIndex,
                    labelsNext: !!(next && next.querySelector('.annotation')),
                    images: window.dashboardImageMap.drawn('1')}};
        }}"""
    )
    assert order == {"z": "auto", "labelsNext": True, "images": N}
    # The digits' texts differ only in the digit: the labels name the digit instead.
    texts = page.evaluate(
        f"() => Array.from(document.querySelectorAll('{GRAPH} .annotation'), (a) => a.textContent)"
    )
    assert texts
    assert all(re.fullmatch(r"digit \d \(\d+%\)", t) for t in texts), texts
