"""Broken plugins in the real page: each error shows in its own place, the rest works."""

from __future__ import annotations

import random
import re
import sys
from pathlib import Path

import pytest
import yaml
from playwright.sync_api import Page, expect

from tests.browser.conftest import wait_for_points, wait_for_status, widget
from tests.conftest import with_site
from tests.servers import serve

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def faulty_url(tmp_path_factory: pytest.TempPathFactory, digits_path: Path):
    folder = tmp_path_factory.mktemp("faulty")
    # An installed distribution's metadata, as pip writes it: the entry point makes the
    # server load `tests.faulty_plugins` like any third-party plugin.
    dist = folder / "site" / "faulty_plugins-0.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: faulty-plugins\nVersion: 0.0\n")
    (dist / "entry_points.txt").write_text("[embedding_dashboard]\nfaulty = tests.faulty_plugins\n")
    config = {
        "title": "Faulty plugins",
        "cache_dir": str(folder / "cache"),
        "tables": {"digits": {"path": str(digits_path), "label": "label"}},
        "projection": {"time_limit": 6},  # Slow takes 3 s; Stalls never ends
        "panels": [
            {"type": "controls"},
            {"type": "scatter"},
            {"type": "crashing-callback"},
            {"type": "crashing-layout"},
        ],
    }
    path = folder / "faulty.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    command = [sys.executable, "-m", "dashboard", "--config", str(path)]
    with serve(command, env=with_site(folder / "site")) as url:
        yield url


def pick_reducer(page: Page, title: str) -> None:
    widget(page, 0, "reducer").click()
    page.get_by_role("option", name=title, exact=True).click()


def test_broken_panels_and_reducers_show_errors_while_the_map_keeps_working(
    page: Page, faulty_url: str
):
    page.goto(faulty_url)
    wait_for_status(page, "PCA 2D")
    wait_for_points(page, 1797)
    expect(page.locator("#panel-3")).to_contain_text(
        "panel 'crashing-layout' (layout) failed: KeyError"
    )
    page.get_by_role("button", name="Crash").click()
    expect(page.locator("#panel-2-error")).to_contain_text(
        "panel 'crashing-callback' (callback) failed: ValueError (error "
    )
    pick_reducer(page, "Explodes")
    expect(page.locator("#dashboard-error")).to_contain_text(
        "reducer 'explodes' failed in `fit_transform`: RuntimeError: boom inside the plugin"
    )
    wait_for_points(page, 1797)  # the last good map stays
    pick_reducer(page, "Stalls")
    expect(page.locator("#dashboard-error")).to_contain_text(
        "reducer 'stalls' did not finish within 6 s", timeout=30_000
    )
    pick_reducer(page, "PCA")
    wait_for_status(page, "PCA 2D")
    wait_for_points(page, 1797)


def test_a_crashing_reducer_fails_its_map_and_a_slow_one_can_be_cancelled(
    page: Page, faulty_url: str
):
    page.goto(faulty_url)
    wait_for_status(page, "PCA 2D")
    wait_for_points(page, 1797)
    # A native crash (abort) ends the reducer's worker process, not the server.
    pick_reducer(page, "Aborts")
    expect(page.locator("#dashboard-error")).to_contain_text(
        "worker process was ended by SIGABRT", timeout=30_000
    )
    retry = page.get_by_role("button", name="Try again")
    expect(retry).to_be_visible()
    wait_for_points(page, 1797)  # the last good map stays, and works
    # A slow map shows its progress and a Cancel that stops it.
    pick_reducer(page, "Slow")
    cancel = page.get_by_role("button", name="Cancel")
    expect(cancel).to_be_visible(timeout=30_000)
    expect(page.locator("#dashboard-progress-text")).to_contain_text("Slow", timeout=30_000)
    cancel.click()
    expect(page.locator("#dashboard-status")).to_contain_text("Cancelled the Slow 2D map")
    expect(page.locator("#dashboard-progress-wrap")).to_be_hidden()
    expect(retry).to_be_visible()
    wait_for_points(page, 1797)
    # Asked again, it runs to its end (3 s).
    retry.click()
    expect(cancel).to_be_visible()
    settled(page, "Slow 2D")
    expect(retry).to_be_hidden()


def settled(page: Page, title: str, timeout: float = 60_000) -> None:
    """The page shows a finished ``title`` map, as the controls ask: no progress, no
    notice that the map is the previous one, no cancel or error said."""
    status = page.locator("#dashboard-status")
    expect(status).to_have_text(re.compile(rf"^{title} · digits"), timeout=timeout)
    expect(page.locator("#dashboard-progress-wrap")).to_be_hidden()
    expect(page.locator(".dashboard-stale")).to_have_text("")
    expect(page.locator("#dashboard-status")).not_to_contain_text("Cancelled")
    expect(page.locator("#dashboard-error")).to_have_count(0)
    wait_for_points(page, 1797)


#: Every Dash answer reaches the page 0.4-0.7 s late (seeded).
SLOW_ANSWERS = """(() => {
    let seed = 15;
    const random = () => { seed = (seed * 16807) % 2147483647; return seed / 2147483647; };
    const fetch = window.fetch;
    window.fetch = async function (...args) {
        const response = await fetch.apply(this, args);
        const url = String((args[0] && args[0].url) || args[0]);
        if (url.includes('_dash-update-component'))
            await new Promise(resolve => setTimeout(resolve, 400 + random() * 300));
        return response;
    };
})();"""


def slow_map(page: Page, seconds: float) -> None:
    """Ask for a Slow map that takes ``seconds`` (a new one: not in the cache)."""
    pick_reducer(page, "Slow")
    field = widget(page, 0, "params", "slow", "seconds")
    field.fill(str(seconds))
    field.press("Tab")


def test_switching_reducers_mid_fit_never_leaves_the_page_stuck(page: Page, faulty_url: str):
    # Each round switches at a random moment of a 3 s fit (seeded: a failure replays), and
    # every answer takes 0.4-0.7 s, as from a busy server: longer than the time between
    # polls, so a poll is due while the last call is still out.
    rounds = random.Random(15)
    page.add_init_script(SLOW_ANSWERS)
    page.goto(faulty_url)
    settled(page, "PCA 2D")
    for n in range(3):
        # Slow, then PCA before Slow ends: the page shows PCA, and says nothing of Slow.
        slow_map(page, 2.5 + n / 10)
        page.wait_for_timeout(rounds.uniform(100, 1500))
        pick_reducer(page, "PCA")
        settled(page, "PCA 2D", timeout=15_000)
        # Slow, PCA, Slow again in quick succession: the Slow map arrives, never "Cancelled".
        slow_map(page, 3.5 + n / 10)
        page.wait_for_timeout(rounds.uniform(0, 600))
        pick_reducer(page, "PCA")
        page.wait_for_timeout(rounds.uniform(0, 600))
        pick_reducer(page, "Slow")
        settled(page, "Slow 2D")
        pick_reducer(page, "PCA")
        settled(page, "PCA 2D", timeout=15_000)
    # Cancel at a random moment takes effect, and the next map still comes.
    slow_map(page, 4.5)
    cancel = page.get_by_role("button", name="Cancel")
    expect(cancel).to_be_visible(timeout=30_000)
    # (The page may not have taken the cached Slow map before the new seconds were asked.)
    expect(page.locator(".dashboard-stale")).to_have_text(
        re.compile(
            r"The map below is the previous one \((PCA|Slow) 2D of digits\), not yet the "
            r"(map with the new settings|Slow 2D map of digits) asked for\."
        )
    )
    page.wait_for_timeout(rounds.uniform(0, 1500))
    cancel.click()
    expect(page.locator("#dashboard-status")).to_contain_text("Cancelled the Slow 2D map")
    expect(page.locator("#dashboard-progress-wrap")).to_be_hidden()
    pick_reducer(page, "PCA")
    settled(page, "PCA 2D", timeout=15_000)


def test_a_reload_mid_fit_shows_progress_and_then_the_map(page: Page, faulty_url: str):
    page.goto(faulty_url)
    settled(page, "PCA 2D")
    slow_map(page, 5.5)
    expect(page.locator("#dashboard-progress-text")).to_contain_text("Slow", timeout=30_000)
    page.reload()  # the link now asks for the Slow map, which no map stands in for
    wrap = page.locator("#dashboard-progress-wrap")
    expect(wrap).to_be_visible()  # from the first paint: "opening the map", then the job's
    expect(page.locator("#dashboard-progress-text")).to_contain_text("Slow", timeout=30_000)
    expect(page.locator("#dashboard-status")).not_to_contain_text("previous")
    settled(page, "Slow 2D")
