"""examples/notebooks/quickstart.ipynb, run by a real Jupyter kernel (nbclient), and the page
its `dashboard.show` cell serves, opened in chromium while the kernel is up."""

from __future__ import annotations

import os
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from playwright.sync_api import Page

from tests.browser.conftest import box_select, selected_points, settle, wait_for_points

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NOTEBOOK = Path(__file__).resolve().parents[2] / "examples" / "notebooks" / "quickstart.ipynb"
N = 1797


def text(cell: nbformat.NotebookNode, mime: str = "text/plain") -> str:
    """What a cell showed as ``mime`` (its results and its printed output)."""
    parts = []
    for output in cell.outputs:
        if output.output_type == "stream":
            parts.append(output.text)
        elif "data" in output:
            parts.append(output.data.get(mime, ""))
    return "".join(parts)


def run(client: NotebookClient, notebook: nbformat.NotebookNode, source: str) -> str:
    """Run one more cell in the kernel; return what it showed."""
    cell = nbformat.v4.new_code_cell(source)
    notebook.cells.append(cell)
    client.execute_cell(cell, len(notebook.cells) - 1)
    return text(cell)


def test_the_quickstart_runs_in_a_kernel_and_its_page_selects(page: Page, tmp_path: Path):
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": tmp_path}}
    )
    env = {**os.environ, "EMBEDDING_DASHBOARD_CACHE": str(tmp_path / "cache")}
    with client.setup_kernel(env=env):
        for index, cell in enumerate(notebook.cells):
            client.execute_cell(cell, index)  # raises CellExecutionError on an error
        code = [c for c in notebook.cells if c.cell_type == "code"]
        shows = [c for c in code if "dashboard.show(" in c.source]
        # The cell shows the page (HTML front ends) or its address (the others).
        html = text(shows[0], "text/html")
        url = re.search(r'<iframe src="(http://127\.0\.0\.1:\d+/view-1/)"', html).group(1)
        assert text(shows[0]) == f"Embedding projector: open {url} in a browser"
        # The second dashboard shares the kernel's one server, on its own path.
        assert "view-2/" in text(shows[1], "text/html")
        assert "(0, " in run(client, notebook, "view.selected.shape")
        assert text(next(c for c in code if "coords.shape" in c.source)) == "(1797, 3)"

        page.goto(url)
        wait_for_points(page, N, timeout=120_000)
        box_select(page, 60)
        settle(page)
        chosen = selected_points(page)
        assert chosen > 1
        # The selection made in the page reaches the kernel.
        got = run(
            client,
            notebook,
            "import time\n"
            f"for _ in range(100):\n"
            f"    if len(view.selected) == {chosen}: break\n"
            "    time.sleep(0.1)\n"
            "len(view.selected), sorted(set(view.selected['digit']))[:1]",
        )
        assert got.startswith(f"({chosen}, ['")

        # A cell ending in `show(...)` shows the page once (the view itself as a line).
        cell = nbformat.v4.new_code_cell("dashboard.show(digits.data[:300])")
        notebook.cells.append(cell)
        client.execute_cell(cell, len(notebook.cells) - 1)
        assert text(cell, "text/html").count("<iframe") == 1
        assert "<dashboard view at http://127.0.0.1:" in text(cell)
        # Leave the page before the kernel (its server) ends: a call still in flight would
        # fail, and the console would say so.
        page.goto("about:blank")

    # The dashboard's log (its workers' too) went to a file, not into the cells.
    shown = "".join(text(c) + text(c, "text/html") for c in notebook.cells if c.cell_type == "code")
    assert "INFO" not in shown
    assert "(worker)" not in shown
    log = (tmp_path / "cache" / "notebook" / "dashboard.log").read_text()
    assert "pca 2D of 'data': 1797 points" in log
