"""Browser fixtures: Debian's chromium driven by playwright, a served dashboard, a clean console."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from playwright.sync_api import Browser, Page, sync_playwright

from dashboard.web.view import path as view_path
from tests.chromium import CHROMIUM, launch
from tests.conftest import digits_table
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

    def console(message: Any) -> None:
        if message.type == "error":
            where = message.location or {}
            script = str(where.get("url", "")).rsplit("/", 1)[-1].split("?")[0]
            problems.append(f"{message.text} ({script}:{where.get('lineNumber')})")

    page.on("console", console)
    page.on("pageerror", lambda e: problems.append(f"{e}\n{e.stack}"))
    page.set_default_timeout(30_000)
    yield page
    context.close()
    assert problems == [], f"browser console errors: {problems}\n{server_tracebacks()}"


def write_demo_config(folder: Path, digits_path: Path) -> Path:
    config = {
        "title": "Digits browser test",
        "cache_dir": str(folder / "cache"),
        "tables": {"digits": {**digits_table(digits_path), "text": "text"}},
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
    """The status line once it says ``text`` of a map shown (not of one computing)."""
    page.locator("#dashboard-status", has_text=text, has_not_text="Computing the").wait_for(
        timeout=timeout
    )
    return page.locator("#dashboard-status").inner_text()


def wait_for_points(page: Page, n: int, timeout: float = 30_000) -> None:
    page.wait_for_function(f"() => ({COUNT_POINTS})() === {n}", timeout=timeout)


def hover_point(page: Page, row: int, tries: int = 3) -> tuple[float, float]:
    """Move the pointer onto ``row``'s point as a person does (from a little away, once the
    page is quiet) until its card shows; a person whose card did not show (the map redrawn
    under a still pointer) moves the mouse again. Returns where the point is."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    tooltip = page.locator("#dashboard-tooltip")
    for attempt in range(tries):
        settle(page)
        x, y = point_position(page, row)
        page.mouse.move(x - 6, y - 6)
        page.mouse.move(x, y, steps=3)
        try:
            tooltip.wait_for(state="visible", timeout=3_000)
            return x, y
        except PlaywrightTimeoutError:
            if attempt == tries - 1:
                raise
    return x, y


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


def widget(page: Page, panel: int, *path: str | int) -> Any:
    """The view-bound widget of panel ``panel`` at view ``path`` (its DOM id is its dict id
    as JSON, keys sorted)."""
    ident = json.dumps(
        {"key": view_path(*path), "panel": panel, "type": "dashboard-view"},
        sort_keys=True,
        separators=(",", ":"),
    )
    return page.locator(f"[id='{ident}']")


def pick(page: Page, dropdown: Any, option: str) -> None:
    """Choose ``option`` in a dcc.Dropdown."""
    dropdown.click()
    page.get_by_role("option", name=option, exact=True).click()


def view_state(page: Page) -> dict[str, Any]:
    """The page's view, read back from its address (the ``?view=`` link follows it)."""
    import urllib.parse

    from dashboard.web.view import from_link

    query = urllib.parse.urlparse(page.evaluate("location.href")).query
    link = urllib.parse.parse_qs(query).get("view")
    return from_link(link[0]) if link else {}


def settle(page: Page, quiet_ms: int = 250, timeout: float = 30_000) -> None:
    """Wait until no Dash callback has been pending for ``quiet_ms``, counted from now at
    the earliest (a click's callbacks may not have started yet). Dash's renderer keeps
    whether any callback is requested, running or waiting for its answer in its store's
    ``isLoading``; the page's script says whether a map figure waits for a drag to end."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    page.evaluate("() => { window.__dashboardBusyAt = performance.now(); }")
    try:
        page.wait_for_function(
            f"""() => {{
                const store = window.store && window.store.getState();
                const client = window.dashboardClient;
                const busy = !store || store.isLoading || (client && client.holding());
                const now = performance.now();
                if (busy) {{ window.__dashboardBusyAt = now; return false; }}
                return now - window.__dashboardBusyAt > {quiet_ms};
            }}""",
            timeout=timeout,
            polling=50,
        )
    except PlaywrightTimeoutError:
        pending = page.evaluate(PENDING_CALLBACKS)
        raise AssertionError(f"callbacks still pending after {timeout:g} ms: {pending}") from None


#: The outputs of the callbacks Dash has pending, by stage.
PENDING_CALLBACKS = """() => {
    const callbacks = (window.store && window.store.getState().callbacks) || {};
    const out = {};
    for (const stage of ['requested', 'prioritized', 'blocked', 'executing', 'watched']) {
        const list = callbacks[stage] || [];
        if (list.length) out[stage] = list.map(c => c.callback && c.callback.output);
    }
    return out;
}"""


#: An init script that holds back each Dash callback answer by a seeded random while (at
#: most the second number, in ms), so answers cross: ``JITTER % (seed, longest_ms)``.
JITTER = """(() => {
    let seed = %d;
    const random = () => { seed = (seed * 16807) %% 2147483647; return seed / 2147483647; };
    const fetch = window.fetch;
    window.fetch = async function (...args) {
        const response = await fetch.apply(this, args);
        const url = String((args[0] && args[0].url) || args[0]);
        if (url.includes('_dash-update-component'))
            await new Promise(resolve => setTimeout(resolve, random() * %d));
        return response;
    };
})();"""


#: Points of the map drawn as selected: full opacity while others are dimmed (none when
#: nothing is dimmed: then nothing is selected).
SELECTED_POINTS = """(graph) => {
    const gd = document.querySelector(graph);
    const t = gd && gd._fullData && gd._fullData[0];
    if (!t || !t.marker || t.marker.opacity === undefined || t.marker.opacity.length === undefined)
        return 0;
    const op = t.marker.opacity;
    let top = 0;
    for (const o of op) top = Math.max(top, o);
    let full = 0, dim = 0;
    for (const o of op) { if (o === top && o > 0) full++; else if (o > 0) dim++; }
    return dim ? full : 0;
}"""


def selected_points(page: Page, graph: str = GRAPH) -> int:
    """Points the 2D map ``graph`` draws as selected."""
    return page.evaluate(SELECTED_POINTS, graph)


#: Hover cards shown: the page's own (the focus card only with ``focus``) and plotly's.
TOOLTIPS_SHOWN = """(focus) => {
    const ours = [...document.querySelectorAll('#dashboard-tooltip')]
        .filter(e => e.style.display !== 'none')
        .filter(e => focus || e.dataset.kind !== 'focus').length;
    // 2D labels live in the hover layer, 3D ones in the scene's own svg.
    const plotly = document.querySelectorAll('.js-plotly-plot .hovertext').length;
    return ours + plotly;
}"""


def tooltips_shown(page: Page, focus: bool = True) -> int:
    """Hover cards a person sees: the page's tooltip and plotly's own hover labels (with
    ``focus=False``, not the card a focused row shows for a few seconds)."""
    return page.evaluate(TOOLTIPS_SHOWN, focus)


def choose_tool(page: Page, tool: str) -> None:
    """Pick plotly's ``tool`` ("select", "lasso", "pan") in the 2D map's mode bar, unless it
    is the tool in use already (a person keeps the tool between drags). The map is brought
    into view first, as a person scrolls back to it (not hovered: that opens a card)."""
    page.locator(GRAPH).scroll_into_view_if_needed()
    if page.evaluate(f"() => document.querySelector('{GRAPH}')._fullLayout.dragmode") == tool:
        return
    page.locator(f"{GRAPH} .modebar-btn[data-val='{tool}']").click()


def box_select(page: Page, size: float = 40, dx: float = 0, dy: float = 0) -> None:
    """Drag a box on the 2D map with plotly's box-select tool, centred ``dx, dy`` off the
    middle."""
    choose_tool(page, "select")
    box = page.locator(f"{GRAPH} .nsewdrag").first.bounding_box()
    cx, cy = box["x"] + box["width"] / 2 + dx, box["y"] + box["height"] / 2 + dy
    page.mouse.move(cx - size, cy - size)
    page.mouse.down()
    page.mouse.move(cx + size, cy + size, steps=4)
    page.mouse.up()


def lasso(page: Page, radius: float = 50) -> None:
    """Draw a lasso round the middle of the 2D map."""
    import math

    choose_tool(page, "lasso")
    box = page.locator(f"{GRAPH} .nsewdrag").first.bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(cx + radius, cy)
    page.mouse.down()
    for step in range(1, 9):
        angle = 2 * math.pi * step / 8
        page.mouse.move(cx + radius * math.cos(angle), cy + radius * math.sin(angle))
    page.mouse.up()
