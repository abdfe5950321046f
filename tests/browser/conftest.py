"""Browser fixtures: Debian's chromium driven by playwright, a served dashboard, a clean console."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from playwright.sync_api import Browser, Page, sync_playwright

from tests.chromium import CHROMIUM, launch
from tests.servers import serve, server_tracebacks

GRAPH = "#scatter-1-graph .js-plotly-plot"


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    assert Path(CHROMIUM).exists(), "Debian chromium is missing: `make test` installs it"
    with sync_playwright() as p:
        browser = launch(p)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh page; the test fails if the console logged an error or the page threw."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.set_default_timeout(30_000)
    yield page
    context.close()
    assert problems == [], f"browser console errors: {problems}\n{server_tracebacks()}"


def write_demo_config(folder: Path, digits_path: Path) -> Path:
    config = {
        "title": "Digits browser test",
        "cache_dir": str(folder / "cache"),
        "tables": {
            "digits": {
                "path": str(digits_path),
                "embedding": "pixels",
                "label": "label",
                "text": "text",
                "image": "image",
                "id": "id",
            }
        },
        "panels": [
            {"type": "controls"},
            {"type": "scatter", "color": "target"},
            {"type": "search"},
            {"type": "neighbors", "k": 8},
            {"type": "gallery", "width": 12},
            {"type": "table"},
            {"type": "filter", "columns": ["target", "ink"]},
            {"type": "faithfulness"},
            {"type": "contrast"},
            {"type": "outliers", "top": 5},
        ],
    }
    path = folder / "demo.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory: pytest.TempPathFactory, digits_path: Path) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("browser")
    config = write_demo_config(folder, digits_path)
    with serve([sys.executable, "-m", "dashboard", "--config", str(config)]) as url:
        yield url


# Points plotly draws: rows of the points trace (trace 0) with coordinates, not hidden by a
# zero opacity (a filter); read from the decoded typed arrays in ``_fullData``.
COUNT_POINTS = f"""() => {{
    const gd = document.querySelector('{GRAPH}');
    const t = gd && gd._fullData && gd._fullData[0];
    if (!t || !t.x) return 0;
    const op = t.marker && t.marker.opacity, perPoint = op && op.length !== undefined;
    let n = 0;
    for (let i = 0; i < t.x.length; i++) {{
        if (Number.isFinite(t.x[i]) && Number.isFinite(t.y[i])
            && (!t.z || Number.isFinite(t.z[i])) && (!perPoint || op[i] > 0)) n++;
    }}
    return n;
}}"""


def point_count(page: Page) -> int:
    return page.evaluate(COUNT_POINTS)


def trace_types(page: Page) -> list[str]:
    return page.evaluate(f"() => document.querySelector('{GRAPH}')._fullData.map(t => t.type)")


def wait_for_status(page: Page, text: str, timeout: float = 120_000) -> str:
    page.locator("#dashboard-status", has_text=text).wait_for(timeout=timeout)
    return page.locator("#dashboard-status").inner_text()


def wait_for_points(page: Page, n: int, timeout: float = 30_000) -> None:
    page.wait_for_function(f"() => ({COUNT_POINTS})() === {n}", timeout=timeout)


def point_position(page: Page, row: int = 0) -> tuple[float, float]:
    """Screen position of a table row's point on a 2D map, as a person would aim the mouse."""
    return tuple(
        page.evaluate(
            f"""() => {{
                const gd = document.querySelector('{GRAPH}');
                const fl = gd._fullLayout, t = gd._fullData[0];
                const box = gd.getBoundingClientRect();
                return [box.left + fl._size.l + fl.xaxis.l2p(t.x[{row}]),
                        box.top + fl._size.t + fl.yaxis.l2p(t.y[{row}])];
            }}"""
        )
    )
