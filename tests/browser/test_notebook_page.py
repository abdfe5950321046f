"""The page ``dashboard.show`` serves, as a notebook shows it (in an iframe), and the
selection made there read back in Python."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from playwright.sync_api import Page, expect

import dashboard
from dashboard.serve.notebook import InlinePage, NotebookView
from tests.browser.conftest import (
    COUNT_POINTS,
    GRAPH,
    box_select,
    selected_points,
    settle,
    wait_for_points,
    wait_for_status,
)

pytestmark = pytest.mark.browser

N = 1797


@pytest.fixture(scope="module")
def view(tmp_path_factory: pytest.TempPathFactory, digits_path: Path) -> Iterator[NotebookView]:
    frame = pl.read_parquet(digits_path).select("pixels", "label", "image")
    shown = dashboard.show(
        frame,
        panels=[{"type": "controls"}, {"type": "scatter"}, {"type": "gallery"}],
        cache_dir=tmp_path_factory.mktemp("notebook") / "cache",
        display=False,
    )
    yield shown
    shown.close()


def test_the_inline_page_draws_the_map_inside_an_iframe(page: Page, view: NotebookView):
    page.set_content(f"<h1>Out [1]:</h1>{InlinePage(view.url)._repr_html_()}")
    frame = page.frame_locator("iframe")
    expect(frame.locator("#dashboard-status")).to_contain_text("PCA 2D", timeout=120_000)
    inner = next(f for f in page.frames if f.url.startswith(view.url))
    inner.wait_for_function(f"() => ({COUNT_POINTS})() === {N}", timeout=60_000)


def test_a_box_selection_reads_back_as_rows_and_the_map_as_coordinates(
    page: Page, view: NotebookView
):
    page.goto(view.url)
    wait_for_status(page, "PCA 2D")
    wait_for_points(page, N)
    box_select(page, 60)
    settle(page)
    shown = selected_points(page)
    assert shown > 1
    expect(page.locator("#gallery-2-items")).to_contain_text(f"{shown:,} selected")
    deadline = time.monotonic() + 10
    while view.selected.height != shown and time.monotonic() < deadline:
        time.sleep(0.1)
    picked = view.selected
    assert picked.height == shown
    assert picked.columns == ["row", "pixels", "label", "image"]
    # The rows Python gets are the rows the page draws as selected.
    drawn = page.evaluate(
        f"""() => {{
            const t = document.querySelector('{GRAPH}')._fullData[0];
            const op = Array.from(t.marker.opacity), top = Math.max(...op);
            return op.flatMap((o, i) => o === top ? [i] : []);
        }}"""
    )
    assert picked["row"].to_list() == sorted(drawn)
    # The coordinates are the map the page draws.
    coords = view.coordinates
    assert coords.height == N
    xs = page.evaluate(f"() => Array.from(document.querySelector('{GRAPH}')._fullData[0].x)")
    np.testing.assert_allclose(coords["x"].to_numpy(), np.asarray(xs, dtype=np.float32))
