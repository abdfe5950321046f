"""Tables logged by the W&B and Comet examples, explored in the browser with hover images."""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import pytest
import yaml
from playwright.sync_api import Page, expect

from tests.browser.conftest import point_position, wait_for_points, wait_for_status, widget
from tests.conftest import run_writer_examples
from tests.servers import serve

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def runs_url(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("runs")
    run_writer_examples(folder)
    config = yaml.safe_load((ROOT / "configs" / "runs.yaml").read_text())
    config["cache_dir"] = str(folder / "cache")
    (folder / "configs").mkdir()
    path = folder / "configs" / "runs.yaml"  # `../runs` then points at the examples' output
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    with serve([sys.executable, "-m", "dashboard", "--config", str(path)]) as url:
        yield url


def test_hovering_a_logged_digit_shows_its_image(page: Page, runs_url: str):
    page.goto(runs_url)
    wait_for_status(page, "PCA 2D · wandb · 1,797 points x 64 dims")
    wait_for_points(page, 1797)
    x, y = point_position(page, 3)  # the digits' rows 0 to 9 are the digits 0 to 9
    page.mouse.move(x, y)
    image = page.locator(".dashboard-hover-image")
    expect(image).to_be_visible()
    expect(page.locator(".dashboard-tooltip strong")).to_have_text("3")
    page.wait_for_function(
        "() => { const i = document.querySelector('.dashboard-hover-image');"
        " return i && i.complete && i.naturalWidth === 8; }"
    )


def test_comet_epochs_are_listed_in_order_and_selectable(page: Page, runs_url: str):
    page.goto(runs_url)
    wait_for_status(page, "PCA 2D · wandb")
    widget(page, 0, "table").click()
    options = page.get_by_role("listbox").get_by_role("option").all_inner_texts()
    assert options == ["wandb", *(f"comet / hidden-layer-1 / epoch-{i}" for i in range(5))]
    page.get_by_role("option", name="comet / hidden-layer-1 / epoch-4").click()
    status = wait_for_status(page, "comet / hidden-layer-1 / epoch-4")
    assert "300 points x 32 dims" in status
    wait_for_points(page, 300)


TIMELINE = "#timeline-3-graph .js-plotly-plot"


def timeline_trace(page: Page, trace: int) -> list[float]:
    return page.evaluate(
        f"() => {{ const gd = document.querySelector('{TIMELINE}');"
        f" const t = gd && gd._fullData && gd._fullData[{trace}];"
        " return t && t.x ? Array.from(t.x) : []; }"
    )


def test_the_timeline_plays_the_epochs_and_draws_trails(page: Page, runs_url: str):
    page.goto(runs_url)
    summary = page.locator("#timeline-3-summary")
    expect(summary).to_have_text("epoch-0: 300 items in every step", timeout=60_000)
    page.wait_for_function(
        f"() => {{ const gd = document.querySelector('{TIMELINE}');"
        " return gd && gd._fullData && gd._fullData[1].x.length === 300; }"
    )
    start = timeline_trace(page, 1)
    expect(page.locator("#timeline-3-legend")).to_contain_text("label")
    play = page.locator("#timeline-3-play")
    play.click()
    expect(play).to_have_text("Pause")
    expect(summary).to_contain_text("epoch-2: items moved", timeout=20_000)
    play.click()
    expect(play).to_have_text("Play")
    page.wait_for_function(
        f"() => {{ const gd = document.querySelector('{TIMELINE}');"
        f" return gd._fullData[1].x[0] !== {start[0]}; }}"
    )
    moved = timeline_trace(page, 1)
    assert len(moved) == 300  # the same items, moved: one point each, in the same order
    assert timeline_trace(page, 0) == []  # no trails yet
    page.get_by_label("Trails").check()
    # One line per item: its position at each step so far, then a gap.
    page.wait_for_function(
        "() => { const s = document.querySelector('#timeline-3-summary').innerText;"
        " const step = parseInt(s.split(':')[0].split('-')[1]);"
        f" const t = document.querySelector('{TIMELINE}')._fullData[0];"
        " return t.x.length === 300 * (step + 2); }"
    )


def overlap(a: dict, b: dict) -> bool:
    return not (
        a["x"] + a["width"] <= b["x"]
        or b["x"] + b["width"] <= a["x"]
        or a["y"] + a["height"] <= b["y"]
        or b["y"] + b["height"] <= a["y"]
    )


def test_the_timeline_stops_at_the_end_unless_looping_and_its_labels_do_not_collide(
    page: Page, runs_url: str
):
    page.goto(runs_url)
    summary = page.locator("#timeline-3-summary")
    expect(summary).to_have_text("epoch-0: 300 items in every step", timeout=60_000)
    # The step labels neither overlap each other nor the buttons.
    labels = page.locator("#timeline-3-step .dash-slider-mark")
    expect(labels).to_have_count(5)
    boxes = [labels.nth(i).bounding_box() for i in range(5)]
    for left, right in itertools.pairwise(boxes):
        assert not overlap(left, right)
    play = page.locator("#timeline-3-play")
    assert not any(overlap(play.bounding_box(), box) for box in boxes)
    slider = page.locator("#panel-3 .dashboard-timeline-slider").bounding_box()
    assert boxes[0]["x"] >= slider["x"] - 1  # the end labels stay inside the panel
    assert boxes[-1]["x"] + boxes[-1]["width"] <= slider["x"] + slider["width"] + 1
    # Play runs to the last step and stops there.
    play.click()
    expect(summary).to_contain_text("epoch-4:", timeout=20_000)
    expect(play).to_have_text("Play", timeout=5_000)
    page.wait_for_timeout(2_000)  # two more ticks' time: it stays at the end
    expect(summary).to_contain_text("epoch-4:")
    # With Loop on it starts over.
    page.get_by_label("Loop").check()
    play.click()
    expect(summary).to_contain_text("epoch-0:", timeout=20_000)
    expect(summary).to_contain_text("epoch-2:", timeout=20_000)
    play.click()
    expect(play).to_have_text("Play")


def test_long_set_names_are_read_in_full(page: Page, runs_url: str):
    page.goto(runs_url)
    wait_for_status(page, "PCA 2D · wandb")
    table = widget(page, 0, "table")
    table.click()
    options = page.get_by_role("listbox").get_by_role("option")
    expect(options).to_have_count(6)
    cut = options.evaluate_all(
        "os => os.filter(o => o.scrollWidth > o.clientWidth + 1).map(o => o.innerText)"
    )
    assert cut == []
    page.get_by_role("option", name="comet / hidden-layer-1 / epoch-3").click()
    wait_for_status(page, "epoch-3")
    # The chosen name shows whole in the closed dropdown too.
    expect(table).to_contain_text("comet / hidden-layer-1 / epoch-3")
    shown = table.evaluate(
        "e => [...e.querySelectorAll('*')].filter(c => c.scrollWidth > c.clientWidth + 1)"
        ".map(c => c.className)"
    )
    assert shown == []
