"""The map's Labels switch in chromium: cluster names where the clusters sit, never
overlapping, more of them as the person zooms in, kept in the view and in exports.

A table of 8 well-separated clusters whose texts each speak of their own topic: PCA keeps
the clusters apart, HDBSCAN on the map finds them, and c-TF-IDF names each by its topic.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import yaml
from playwright.sync_api import Page, expect

from tests.browser.conftest import (
    GRAPH,
    choose_tool,
    settle,
    view_state,
    wait_for_status,
    widget,
)
from tests.servers import serve

pytestmark = pytest.mark.browser

TOPICS = [
    ["apple", "orchard", "harvest"],
    ["engine", "gearbox", "piston"],
    ["compiler", "python", "parser"],
    ["violin", "orchestra", "concerto"],
    ["glacier", "tundra", "permafrost"],
    ["galaxy", "nebula", "telescope"],
    ["mortgage", "escrow", "lender"],
    ["volcano", "magma", "eruption"],
]
ANNOTATIONS = f"{GRAPH} .annotation"


@pytest.fixture(scope="module")
def labels_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("labels")
    rng = np.random.default_rng(3)
    n = 8 * 120
    topic = np.repeat(np.arange(8), 120)
    centres = rng.normal(0, 12, (8, 16))
    vectors = (centres[topic] + rng.normal(0, 1, (n, 16))).astype(np.float32)
    texts = [
        " ".join([*rng.choice(TOPICS[t], 2, replace=False), "the", "report", "notes"])
        for t in topic
    ]
    frame = pl.DataFrame(
        {"vec": vectors, "text": texts, "label": [f"item {i}" for i in range(n)], "topic": topic}
    )
    frame.write_parquet(folder / "topics.parquet")
    config = {
        "title": "Labels test",
        "cache_dir": str(folder / "cache"),
        "tables": {
            "topics": {
                "path": str(folder / "topics.parquet"),
                "embedding": "vec",
                "label": "label",
                "text": "text",
            }
        },
        "panels": [{"type": "controls"}, {"type": "scatter"}, {"type": "table"}],
    }
    path = folder / "labels.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture(scope="module")
def labels_url(labels_config: Path) -> Iterator[str]:
    with serve([sys.executable, "-m", "dashboard", "--config", str(labels_config)]) as url:
        yield url


def open_with_labels(page: Page, url: str) -> None:
    """The page, with the map's Labels on and drawn."""
    page.goto(url)
    wait_for_status(page, "PCA 2D")
    widget(page, 1, "maps", "1", "labels").check()
    page.wait_for_function(f"() => document.querySelectorAll('{ANNOTATIONS}').length >= 4")
    settle(page)


def shown_labels(page: Page) -> list[dict]:
    """The labels on screen: text, and box in page pixels."""
    return page.evaluate(
        f"""() => Array.from(document.querySelectorAll('{ANNOTATIONS}')).map((el) => {{
            const b = el.querySelector('.annotation-text-g').getBoundingClientRect();
            return {{text: el.textContent, x0: b.left, x1: b.right, y0: b.top, y1: b.bottom}};
        }})"""
    )


def overlapping(labels: list[dict]) -> list[tuple[str, str]]:
    out = []
    for i, a in enumerate(labels):
        for b in labels[i + 1 :]:
            if a["x0"] < b["x1"] and b["x0"] < a["x1"] and a["y0"] < b["y1"] and b["y0"] < a["y1"]:
                out.append((a["text"], b["text"]))
    return out


def anchors_on_screen(page: Page) -> dict[str, tuple[float, float]]:
    """Each drawn label's cluster point, in page pixels, raised by the label's lift (a
    small cluster's label sits above it): where the middle of a label centred on it is."""
    return {
        text: (x, y)
        for text, x, y in page.evaluate(
            f"""() => {{
            const gd = document.querySelector('{GRAPH}');
            const fl = gd._fullLayout, box = gd.getBoundingClientRect();
            return (gd.layout.annotations || []).map((a) => [a.text,
                box.left + fl._size.l + fl.xaxis.l2p(a.x),
                box.top + fl._size.t + fl.yaxis.l2p(a.y) -
                    (a.yanchor === 'middle' ? a.yshift || 0 : 0)]);
        }}"""
        )
    }


def test_labels_name_each_cluster_by_its_topic_without_overlaps(page: Page, labels_url: str):
    page.goto(labels_url)
    wait_for_status(page, "PCA 2D")
    assert page.locator(ANNOTATIONS).count() == 0
    switch = widget(page, 1, "maps", "1", "labels")
    switch.check()
    page.wait_for_function(f"() => document.querySelectorAll('{ANNOTATIONS}').length >= 4")
    settle(page)
    labels = shown_labels(page)
    assert not overlapping(labels)
    # Each label is its cluster's topic words (in some order), not the words all share.
    topics = [set(words) for words in TOPICS]
    for label in labels:
        words = set(label["text"].split(" · "))
        assert words in topics, label["text"]
    # Each label sits at its cluster's point (or just above it, on a small cluster).
    for text, (x, y) in anchors_on_screen(page).items():
        drawn = next(label for label in labels if label["text"] == text)
        assert abs((drawn["x0"] + drawn["x1"]) / 2 - x) < 3
        assert abs((drawn["y0"] + drawn["y1"]) / 2 - y) < 3
    # The switch is part of the view: a reload keeps the labels.
    assert view_state(page)["maps"]["1"]["labels"] is True
    page.reload()
    wait_for_status(page, "PCA 2D")
    page.wait_for_function(f"() => document.querySelectorAll('{ANNOTATIONS}').length >= 4")
    widget(page, 1, "maps", "1", "labels").uncheck()
    page.wait_for_function(f"() => document.querySelectorAll('{ANNOTATIONS}').length === 0")


def test_zooming_in_shows_labels_that_did_not_fit_and_never_overlaps(page: Page, labels_url: str):
    open_with_labels(page, labels_url)
    # A small map: fewer labels fit.
    page.set_viewport_size({"width": 700, "height": 600})
    page.wait_for_timeout(800)
    page.evaluate(
        f"() => window.Plotly.relayout(document.querySelector('{GRAPH}'), "
        "{'xaxis.autorange': true, 'yaxis.autorange': true})"
    )
    page.wait_for_timeout(600)
    small = shown_labels(page)
    assert not overlapping(small)
    # Zoomed into the middle of the map: the labels still shown sit inside it, none overlap.
    page.evaluate(
        f"""() => {{ const gd = document.querySelector('{GRAPH}');
            const r = gd._fullLayout.xaxis.range, s = gd._fullLayout.yaxis.range;
            const w = (r[1] - r[0]) / 5, h = (s[1] - s[0]) / 5;
            window.Plotly.relayout(gd, {{'xaxis.range': [r[0] + w, r[1] - w],
                                          'yaxis.range': [s[0] + h, s[1] - h]}}); }}"""
    )
    page.wait_for_timeout(600)
    zoomed = shown_labels(page)
    assert not overlapping(zoomed)
    box = page.locator(f"{GRAPH} .nsewdrag").first.bounding_box()
    for label in zoomed:
        assert box["x"] - 1 <= label["x0"]
        assert label["x1"] <= box["x"] + box["width"] + 1


def test_an_export_of_the_selection_names_each_rows_cluster(page: Page, labels_url: str):
    open_with_labels(page, labels_url)
    # A box over the whole map selects every row.
    choose_tool(page, "select")
    box = page.locator(f"{GRAPH} .nsewdrag").first.bounding_box()
    page.mouse.move(box["x"] + 2, box["y"] + 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, steps=5)
    page.mouse.move(box["x"] + box["width"] - 2, box["y"] + box["height"] - 2, steps=5)
    page.mouse.up()
    expect(page.locator("#table-2-info")).to_contain_text("960 selected rows")
    with page.expect_download() as download:
        page.locator("#table-2-csv").click()
    frame = pl.read_csv(download.value.path())
    assert "cluster label" in frame.columns
    named = [
        (set(text.split(" · ")) == set(TOPICS[topic]), text)
        for topic, text in zip(frame["topic"], frame["cluster label"], strict=True)
    ]
    # Every row in a cluster carries its topic's name; the rest are HDBSCAN's noise.
    assert all(ok or text == "noise" for ok, text in named)
    assert sum(ok for ok, _ in named) > 0.9 * len(named)
    expect(page.locator("#scatter-1-labels-notice")).to_have_text("")


def test_the_bigger_cluster_keeps_its_label_until_a_zoom_makes_room(page: Page, labels_url):
    page.goto(labels_url)
    wait_for_status(page, "PCA 2D")
    labels = [
        {"cluster": 1, "text": "small one", "x": 0.52, "y": 0.5, "rows": 10},
        {"cluster": 0, "text": "big one", "x": 0.5, "y": 0.5, "rows": 500},
        {"cluster": 2, "text": "far away", "x": 5.0, "y": 5.0, "rows": 900},
    ]
    choose = "([labels, frame]) => window.dashboardClient.chooseLabels(labels, frame)"
    out = {"w": 800, "h": 600}
    zoomed_out = page.evaluate(choose, [labels, {"x": [0, 1], "y": [0, 1], **out}])
    # Overlapping: the bigger cluster's label; "far away" is off the plot.
    assert [label["text"] for label in zoomed_out] == ["big one"]
    zoomed_in = page.evaluate(choose, [labels, {"x": [0.49, 0.53], "y": [0.49, 0.51], **out}])
    assert sorted(label["text"] for label in zoomed_in) == ["big one", "small one"]
    whole = page.evaluate(choose, [labels, {"x": [-1, 6], "y": [-1, 6], **out}])
    assert [label["text"] for label in whole] == ["far away", "big one"]
    # A point in view at the plot's corner (0 px from its left, 6 px from its bottom): its
    # label is drawn from the plot's left and bottom edges instead of round the point.
    corner = page.evaluate(choose, [labels, {"x": [0.5, 1.5], "y": [0.49, 1.49], **out}])
    big = next(label for label in corner if label["text"] == "big one")
    assert (big["xanchor"], big["xshift"], big["yanchor"], big["yshift"]) == (
        "left",
        0,
        "bottom",
        -6,
    )
    # A cluster smaller on screen than its label: the label sits above it, not on it.
    tiny = {"cluster": 3, "text": "tiny", "x": 0.8, "y": 0.2, "rows": 5, "reach": 0.001}
    big = {**tiny, "text": "wide", "reach": 0.2}
    above = page.evaluate(choose, [[tiny, big], {"x": [0, 1], "y": [0, 1], **out}])
    lifts = {label["text"]: (label["yanchor"], label["yshift"]) for label in above}
    # Half the label's 20 px, the cluster's 0.6 px and a gap of 3.
    assert lifts == {"tiny": ("middle", 14)}  # "wide" sits on the same point: it overlaps
    above = page.evaluate(choose, [[big], {"x": [0, 1], "y": [0, 1], **out}])
    assert [(a["yanchor"], a["yshift"]) for a in above] == [("middle", 0)]
    # Under the mode bar (a box taken), the label would hide: the next cluster's shows.
    taken = {"taken": [[365, 295, 375, 305]], **out}
    under = page.evaluate(choose, [labels, {"x": [0, 1], "y": [0, 1], **taken}])
    assert [label["text"] for label in under] == ["small one"]
    far = page.evaluate(choose, [labels, {"x": [4.99, 5.01], "y": [4.0, 5.0], **out}])
    assert [(f["xanchor"], f["yanchor"], f["yshift"]) for f in far] == [("center", "top", 0)]
    assert all(
        (label["xanchor"], label["xshift"], label["yanchor"], label["yshift"])
        == ("center", 0, "middle", 0)
        for label in zoomed_in
    )


def test_a_cluster_panned_to_the_edge_keeps_its_label_inside_the_plot(page: Page, labels_url):
    # The bug a person met: a pan left a cluster near the plot's left edge, in full view, and
    # its label (which would have stuck out of the plot) was dropped.
    open_with_labels(page, labels_url)
    plot = page.locator(f"{GRAPH} .nsewdrag").first.bounding_box()
    text, (x, _y) = min(anchors_on_screen(page).items(), key=lambda item: item[1][0])
    choose_tool(page, "pan")
    # Drag the cluster's point to 15 px from the plot's left edge: its label is wider than that.
    start = (plot["x"] + plot["width"] / 2, plot["y"] + plot["height"] / 2)
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(start[0] + (plot["x"] + 15 - x) / 2, start[1], steps=4)
    page.mouse.move(start[0] + plot["x"] + 15 - x, start[1], steps=4)
    page.mouse.up()
    settle(page)
    page.wait_for_timeout(300)
    anchor = anchors_on_screen(page)
    assert text in anchor, f"{text!r} lost its label: {sorted(anchor)}"
    assert abs(anchor[text][0] - (plot["x"] + 15)) < 3
    drawn = next(label for label in shown_labels(page) if label["text"] == text)
    # Slid inside the plot, still at its point's height and over its point.
    assert plot["x"] - 1 <= drawn["x0"] < anchor[text][0] < drawn["x1"]
    assert abs((drawn["y0"] + drawn["y1"]) / 2 - anchor[text][1]) < 3
    assert not overlapping(shown_labels(page))
    bar = page.locator(f"{GRAPH} .modebar").bounding_box()
    modebar = {"text": "(mode bar)", "x0": bar["x"], "x1": bar["x"] + bar["width"]}
    modebar |= {"y0": bar["y"], "y1": bar["y"] + bar["height"]}
    assert not overlapping([modebar, *shown_labels(page)])
    # Panned on until the cluster is out of view, its label goes with it.
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(start[0] - 40, start[1], steps=4)
    page.mouse.up()
    settle(page)
    page.wait_for_function(
        f"""(text) => !Array.from(document.querySelectorAll('{ANNOTATIONS}'))
            .some((el) => el.textContent === text)""",
        arg=text,
    )
