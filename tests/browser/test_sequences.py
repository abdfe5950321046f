"""A seeded random walk of ordinary interactions on the demo page, with the page's invariants
checked after every step.

Single-feature tests pass while sequences break the page (issue 14); this walk clicks,
drags, filters, hides, recolours, resizes, searches, focuses, zooms, reprojects, switches
tables and reloads the page's own link in random order
and after each step checks that what the page draws agrees with its view:

- the map draws exactly the rows that have coordinates, pass the filters and are not hidden
  in the legend, and the notice and legend counts say the same number;
- the gallery's count is the number of points the map shows as selected, and plotly keeps
  no selection outline of its own;
- at most one hover card shows while hovering, none once the pointer has left the map;
- no panel shows an error, and the console stays clean (the ``page`` fixture).

A failure prints the seed and the steps so far; ``DASHBOARD_WALK_SEED=n`` replays another walk.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import yaml
from playwright.sync_api import Page
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.browser.conftest import (
    COUNT_POINTS,
    GRAPH,
    JITTER,
    SELECTED_POINTS,
    TOOLTIPS_SHOWN,
    box_select,
    lasso,
    point_count,
    point_position,
    settle,
    tooltips_shown,
    view_state,
    wait_for_points,
    wait_for_status,
    widget,
    write_demo_config,
)
from tests.servers import serve

pytestmark = [pytest.mark.browser, pytest.mark.slow]

STEPS = int(os.environ.get("DASHBOARD_WALK_STEPS", "200"))
SEED = int(os.environ.get("DASHBOARD_WALK_SEED", "14"))
GALLERY = "#gallery-4-items"
#: The colour each table opens with: the scatter's `color:` option, else none (no label).
DEFAULT_COLOUR = {"digits": "target", "small": "__none__"}
#: The category column each table's filter panel offers (the small table names it otherwise,
#: so the scatter's `color: target` does not apply there).
CATEGORY = {"digits": "target", "small": "digit"}
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def walk_url(tmp_path_factory: pytest.TempPathFactory, digits_path: Path) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("walk")
    config_path = write_demo_config(folder, digits_path)
    # A second, smaller table without labels or images: switching tables must keep the page
    # whole (its colour falls back to none, filters and rows of the other table go).
    small = folder / "small.parquet"
    table = pl.read_parquet(digits_path).head(600)
    table.select("pixels", pl.col("target").alias("digit"), "ink", "text").write_parquet(small)
    config = yaml.safe_load(config_path.read_text())
    config["tables"]["small"] = {"path": str(small), "embedding": "pixels", "text": "text"}
    # Panels measured once per map (faithfulness, outliers) have their own tests; here they
    # would only take the two cores from the page.
    config["panels"] = [
        p for p in config["panels"] if p["type"] not in {"faithfulness", "outliers"}
    ]
    for panel in config["panels"]:
        if panel["type"] == "filter":
            del panel["columns"]  # each table's own columns: `target` here, `digit` there
        if panel["type"] in ("gallery", "table"):
            # Fewer thumbnails and grid rows to draw per selection (the counts still say how
            # many are selected): the walk's time goes to steps, not to rendering.
            panel["limit"] = 12
    config_path.write_text(yaml.safe_dump(config))
    # The maps come from the cache, as a team's precomputed maps would: the walk is about
    # the page, not about waiting for fits. The server starts while they compute.
    precompute = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dashboard",
            "precompute",
            "--config",
            str(config_path),
            "--reducer",
            "umap",
            "--reducer",
            "pca",
            "--dims",
            "2",
            "3",
            # The small table's maps are computed by the page when the walk gets there (PCA
            # at once, UMAP in seconds): the walk also meets a map being computed.
            "--table",
            "digits",
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        with serve([sys.executable, "-m", "dashboard", "--config", str(config_path)]) as url:
            _, errors = precompute.communicate(timeout=600)
            assert precompute.returncode == 0, errors
            yield url
    finally:
        if precompute.poll() is None:
            precompute.kill()
            precompute.wait()


def active_filters(view: dict) -> dict:
    """The filters that keep some rows out (an emptied filter box leaves an empty entry)."""
    return {
        column: spec
        for column, spec in (view.get("filters") or {}).items()
        if spec.get("in") or spec.get("min") is not None or spec.get("max") is not None
    }


#: Everything ``Walk.check`` reads off the page, in one round trip.
READ_PAGE = f"""([graph, gallery]) => {{
    const gd = document.querySelector(graph);
    const selected = ({SELECTED_POINTS})(graph);
    const ringed = gd._fullData.find(t => t.name === 'selected');

    const text = (selector) => {{
        const e = document.querySelector(selector);
        return e ? e.innerText : '';
    }};
    return {{
        drawn: ({COUNT_POINTS})(),
        selected: selected,
        ringed: ringed ? ringed.x.length : 0,
        outlines: (gd._fullLayout.selections || []).length,
        tooltips: ({TOOLTIPS_SHOWN})(false),
        message: text('#scatter-1-message'),
        gallery: text(gallery),
        legend: [...document.querySelectorAll(
            '#scatter-1-legend .dashboard-legend-item:not(.dashboard-hidden)')]
            .map(e => e.innerText),
        errors: [...document.querySelectorAll('.alert-danger')].map(e => e.innerText),
    }};
}}"""


def gone_or(click: Callable[..., None]) -> None:
    """Click, unless the item went while the walk aimed at it: a list redrawn by an answer
    that was still on its way (a person's click then meets nothing)."""
    with contextlib.suppress(PlaywrightTimeoutError):
        click(timeout=3000)


class Walk:
    """The page, the data it shows, and the random choices of one walk."""

    def __init__(self, page: Page, tables: dict[str, pl.DataFrame], seed: int):
        self.page = page
        self.random = random.Random(seed)
        self.tables = {
            name: {
                column: np.array(table[column].cast(pl.String).to_list())
                for column in ("target", "digit", "label")
                if column in table.columns
            }
            for name, table in tables.items()
        }
        self.rows = {name: table.height for name, table in tables.items()}
        self.log: list[str] = []

    # -- what the view says should be drawn --------------------------------------------

    def view(self) -> dict:
        return view_state(self.page)

    def dims(self) -> int:
        return int(self.view().get("dims", 2))

    def expected_drawn(self, view: dict) -> int:
        columns = self.tables[view["table"]]
        keep = np.ones(self.rows[view["table"]], bool)
        if view.get("rows") is not None:
            keep[:] = False
            keep[view["rows"]] = True
        category = CATEGORY[view["table"]]
        spec = (view.get("filters") or {}).get(category) or {}
        if spec.get("in"):
            keep &= np.isin(columns[category], spec["in"])
        state = view["maps"]["1"]
        hidden = state.get("hidden") or []
        if hidden and state["colour"] in columns:
            keep &= ~np.isin(columns[state["colour"]], hidden)
        elif hidden:
            # A colour measured on the map (its clusters): the legend counts what it hides.
            items = self.page.locator(
                "#scatter-1-legend .dashboard-legend-item.dashboard-hidden"
            ).all_inner_texts()
            return int(keep.sum()) - sum(int(t.rsplit(" ", 1)[-1].replace(",", "")) for t in items)
        return int(keep.sum())

    # -- the invariants -----------------------------------------------------------------

    def check(self) -> None:
        page = self.page
        settle(page, quiet_ms=60)
        self.leave()
        view = self.view()
        expected = self.expected_drawn(view)
        try:
            wait_for_points(page, expected, timeout=15_000)
        except Exception:
            state = {k: view.get(k) for k in ("table", "reducer", "dims", "filters")}
            seen = page.evaluate(READ_PAGE, [GRAPH, GALLERY])
            raise AssertionError(
                f"the map draws {point_count(page)} points, the view asks for {expected}: "
                f"{state}, rows {len(view.get('rows') or [])}, map {view['maps']['1']}; "
                f"the page shows {seen['message']!r}, legend {seen['legend']}"
            ) from None
        seen = page.evaluate(READ_PAGE, [GRAPH, GALLERY])
        assert seen["tooltips"] == 0, "a hover card stayed after the pointer left"
        drawn = seen["drawn"]
        n = self.rows[view["table"]]
        if drawn < n:
            assert f"showing {drawn:,} of {n:,} rows" in seen["message"], seen["message"]
        if seen["legend"]:
            legend = sum(int(text.rsplit(" ", 1)[-1].replace(",", "")) for text in seen["legend"])
            assert legend == drawn, f"the legend counts {legend} rows, the map draws {drawn}"
        found = re.search(r"([\d,]+) selected", seen["gallery"])
        gallery = int(found.group(1).replace(",", "")) if found else 0
        if self.dims() == 2:
            marked = seen["selected"]
            # Every drawn point selected looks like none selected: nothing is dimmed.
            assert marked == gallery or (marked == 0 and gallery == drawn), (marked, gallery)
            assert seen["outlines"] == 0, "plotly kept its own selection outline"
        else:
            assert seen["ringed"] == gallery, (seen["ringed"], gallery)
        assert seen["errors"] == [], seen["errors"]

    # -- moves ---------------------------------------------------------------------------

    def leave(self) -> None:
        self.page.mouse.move(3, 3)

    def map_box(self) -> dict:
        return self.page.locator(f"{GRAPH} .nsewdrag").first.bounding_box()

    def drawn_rows(self) -> list[int]:
        return self.page.evaluate(
            f"""() => {{
                const t = document.querySelector('{GRAPH}')._fullData[0];
                const op = t.marker.opacity, rows = [];
                for (let i = 0; i < t.x.length; i++)
                    if (Number.isFinite(t.x[i]) && (!op.length || op[i] > 0)) rows.push(i);
                return rows;
            }}"""
        )

    def on_screen(self, row: int) -> tuple[float, float] | None:
        x, y = point_position(self.page, row)
        box = self.map_box()
        inside = box["x"] + 4 < x < box["x"] + box["width"] - 4
        if inside and box["y"] + 4 < y < box["y"] + box["height"] - 4:
            return x, y
        return None

    def box(self) -> None:
        r = self.random
        box_select(self.page, r.uniform(20, 120), r.uniform(-150, 150), r.uniform(-100, 100))

    def lasso(self) -> None:
        lasso(self.page, self.random.uniform(30, 120))

    def click_point(self) -> None:
        rows = self.drawn_rows()
        for row in self.random.sample(rows, min(5, len(rows))):
            place = self.on_screen(row)
            if place:
                self.page.mouse.click(*place)
                return

    def hover(self) -> None:
        rows = self.drawn_rows()
        for row in self.random.sample(rows, min(5, len(rows))):
            place = self.on_screen(row)
            if place:
                self.page.mouse.move(*place)
                self.page.wait_for_timeout(100)
                assert tooltips_shown(self.page) <= 1
                return

    def double_click(self) -> None:
        box = self.map_box()
        self.page.mouse.dblclick(box["x"] + 15, box["y"] + box["height"] - 15)

    def escape(self) -> None:
        self.page.keyboard.press("Escape")

    def clear_gallery(self) -> None:
        self.page.locator("#gallery-4-clear").click()

    def toggle_target(self) -> None:
        dropdown = widget(self.page, 6, "filters", CATEGORY[self.view()["table"]], "in")
        dropdown.click()
        options = self.page.get_by_role("listbox").get_by_role("option")
        gone_or(options.nth(self.random.randrange(options.count())).click)
        self.page.keyboard.press("Escape")

    def clear_filters(self) -> None:
        self.page.locator("#filter-6-clear").click()

    def legend(self) -> None:
        items = self.page.locator("#scatter-1-legend [data-dashboard-category]")
        if items.count():
            item = items.nth(self.random.randrange(items.count()))
            gone_or(item.dblclick if self.random.random() < 0.3 else item.click)

    def colour(self) -> None:
        self.choose(widget(self.page, 1, "maps", 1, "colour"))

    def size(self) -> None:
        self.choose(widget(self.page, 1, "maps", 1, "size"))

    def choose(self, select) -> None:
        """Pick one of a select's options at random (the options differ by table)."""
        options = select.locator("option").evaluate_all(
            "os => os.filter(o => !o.disabled && o.value).map(o => o.value)"
        )
        select.select_option(self.random.choice(options))

    def window(self) -> None:
        width, height = self.random.choice([(1280, 760), (1100, 700), (1366, 768)])
        self.page.set_viewport_size({"width": width, "height": height})

    def table(self) -> None:
        before = self.view()
        dropdown = widget(self.page, 0, "table")
        dropdown.click()
        other = "small" if before["table"] == "digits" else "digits"
        self.page.get_by_role("option", name=other, exact=True).click()
        self.wait_for_map()
        # A colour that was the old table's default becomes the new table's own default
        # (no "(none)" carried over from a table without labels).
        after = self.view()
        assert after["table"] == other, f"the table pick was lost: {after['table']!r}"
        if before["maps"]["1"]["colour"] == DEFAULT_COLOUR[before["table"]]:
            assert after["maps"]["1"]["colour"] == DEFAULT_COLOUR[other]

    def reload(self) -> None:
        """Open the page's own link again: the same view comes back."""
        before = self.view()
        self.page.reload()
        wait_for_status(self.page, before["table"])
        self.wait_for_map()
        after = self.view()
        for part in ("table", "reducer", "dims", "rows", "search", "selection"):
            assert after.get(part) == before.get(part), (part, before.get(part), after.get(part))
        assert active_filters(after) == active_filters(before), (before, after)
        for part in ("colour", "size", "hidden"):
            assert after["maps"]["1"].get(part) == before["maps"]["1"].get(part), part

    def search(self) -> None:
        query = widget(self.page, 2, "search", "query")
        query.fill(self.random.choice(["", "digit 3", "digit 7", "scan 1", "zzz"]))

    def focus_from_gallery(self) -> None:
        items = self.page.locator(f"{GALLERY} [data-dashboard-row]")
        if items.count():
            gone_or(items.nth(self.random.randrange(min(items.count(), 10))).click)

    def zoom(self) -> None:
        box = self.map_box()
        self.page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        self.page.mouse.wheel(0, self.random.choice([-300, 300]))

    def dims_switch(self) -> None:
        self.page.get_by_text("3D" if self.dims() == 2 else "2D", exact=True).click()
        self.wait_for_map()

    def reducer(self) -> None:
        name = self.random.choice(["PCA", "UMAP"])
        dropdown = widget(self.page, 0, "reducer")
        dropdown.click()
        self.page.get_by_role("option", name=name, exact=True).click()
        self.wait_for_map()

    def isolate(self) -> None:
        if self.random.random() < 0.5:
            self.page.locator("#controls-0-isolate").click()
        else:
            self.page.locator("#controls-0-all").click()
        self.wait_for_map()

    def wait_for_map(self) -> None:
        """Until the map shown is the one the controls ask for."""
        settle(self.page, timeout=120_000)
        try:
            self.page.wait_for_function(
                """() => {
                    const stale = document.querySelector('#scatter-1-stale');
                    const wrap = document.querySelector('#dashboard-progress-wrap');
                    return stale && stale.innerText.trim() === ''
                        && wrap && getComputedStyle(wrap).display === 'none';
                }""",
                timeout=60_000,
            )
        except PlaywrightTimeoutError:
            shown = self.page.evaluate(
                """() => [
                    document.querySelector('#scatter-1-stale').innerText,
                    getComputedStyle(document.querySelector('#dashboard-progress-wrap')).display,
                    document.querySelector('#dashboard-status').innerText,
                    window.store.getState().isLoading,
                ]"""
            )
            raise AssertionError(
                f"the map did not come: (stale, progress, status, busy) {shown}"
            ) from None

    def moves(self) -> list[tuple[float, Callable[[], None], bool]]:
        """(weight, move, 2D only). A drag costs the most (software WebGL redraws the box
        as it moves), a reprojection or reload a few seconds: weighted so that 200 steps
        fit in CI's three minutes."""
        return [
            (3, self.box, True),
            (1, self.lasso, True),
            (4, self.click_point, True),
            (4, self.hover, True),
            (2, self.double_click, True),
            (2, self.escape, False),
            (2, self.clear_gallery, False),
            (4, self.toggle_target, False),
            (1.5, self.clear_filters, False),
            (3, self.legend, False),
            (2, self.colour, False),
            (2, self.search, False),
            (2, self.focus_from_gallery, False),
            (1.5, self.zoom, True),
            (0.3, self.dims_switch, False),
            (0.5, self.reducer, False),
            (0.7, self.isolate, False),
            (1, self.size, False),
            (0.5, self.window, False),
            (0.6, self.table, False),
            (0.25, self.reload, False),
        ]

    def step(self, number: int) -> None:
        two_d = self.dims() == 2
        choices = [(w, move) for w, move, flat in self.moves() if two_d or not flat]
        weights, moves = zip(*choices, strict=True)
        move = self.random.choices(moves, weights=weights)[0]
        self.log.append(f"{number}: {move.__name__}")
        move()


def test_a_random_walk_keeps_the_map_and_panels_in_agreement(
    page: Page, walk_url: str, digits_path
):
    digits = pl.read_parquet(digits_path, columns=["target", "label"])
    tables = {"digits": digits, "small": digits.select(pl.col("target").alias("digit")).head(600)}
    # A laptop's window: software WebGL draws every pixel of the map, so a smaller window
    # is a faster walk.
    page.set_viewport_size({"width": 1280, "height": 760})
    page.goto(walk_url)
    wait_for_status(page, "PCA 2D")
    wait_for_points(page, digits.height)
    walk = Walk(page, tables, SEED)
    for number in range(STEPS):
        try:
            walk.step(number)
            walk.check()
        except Exception as exc:
            steps = "\n".join(walk.log[-25:])
            raise AssertionError(
                f"seed {SEED}, step {number} broke the page: {exc}\nlast steps:\n{steps}"
            ) from exc


# -- the same walk on a jittery network ----------------------------------------------------
#
# The walk above waits for the page after every step. Here the page's fetch holds each Dash
# answer back a random while (seeded) and several steps run between checks, so two view
# updates cross as they do on a slow link or a busy server: answers arrive out of order,
# and a call reads a view its predecessor is about to change.

BURSTS = int(os.environ.get("DASHBOARD_RACE_BURSTS", "30"))
RACE_SEED = int(os.environ.get("DASHBOARD_RACE_SEED", "3"))
#: Longest a Dash answer is held back, in milliseconds.
JITTER_MS = 400


def test_crossing_updates_leave_the_map_and_panels_in_agreement(
    page: Page, walk_url: str, digits_path
):
    digits = pl.read_parquet(digits_path, columns=["target", "label"])
    tables = {"digits": digits, "small": digits.select(pl.col("target").alias("digit")).head(600)}
    page.add_init_script(JITTER % (RACE_SEED, JITTER_MS))
    page.set_viewport_size({"width": 1280, "height": 760})
    page.goto(walk_url)
    wait_for_status(page, "PCA 2D")
    wait_for_points(page, digits.height)
    walk = Walk(page, tables, RACE_SEED)
    thrown: list[str] = []
    page.on("pageerror", lambda e: thrown.append(f"after {walk.log[-1:]}: {e}"))
    number = 0
    for burst in range(BURSTS):
        try:
            for _ in range(walk.random.randint(2, 4)):
                walk.step(number)
                number += 1
            walk.check()
            assert not thrown, f"the page threw: {thrown}"
        except Exception as exc:
            steps = "\n".join(walk.log[-12:])
            raise AssertionError(
                f"seed {RACE_SEED}, burst {burst} broke the page: {exc}\nlast steps:\n{steps}"
            ) from exc
