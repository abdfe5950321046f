"""Density maps: what a map of millions of rows costs on the server and in the page.

    .venv/bin/python benchmarks/density.py --rows 10000000
    .venv/bin/python benchmarks/density.py --page /work/ooc/clusters-10000000x384.parquet

Server (synthetic 2D coordinates: 20 Gaussian clusters): the grid index's build, images of the
whole map and of zoomed regions (1000 pixels wide), the nearest row to a place, and the rows in a
box, each the median of ``--repeat`` runs. The plain baseline, in the same run: numpy's
``histogram2d`` of the same points into the same pixels (a count only: no colours, no
selection), and the bytes plotly would send for the points (float32 x and y, base64).

Page (``--page TABLE``, a parquet table with `embedding` and `label` columns, as
``benchmarks/scale.py`` writes): the dashboard serves it in 2D PCA (computed once into the
cache), then headless chromium measures navigation to the first density image drawn, and a zoom
(the camera moved) to the new image drawn.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dashboard.analysis.density import Colouring, MapIndex, full_view, render  # noqa: E402


def timed(fn, repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def server(rows: int, repeat: int) -> None:
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 20, rows).astype(np.uint8)
    coords = (rng.normal(0, 10, (20, 2))[codes] + rng.normal(size=(rows, 2))).astype(np.float32)
    start = time.perf_counter()
    index = MapIndex(coords)
    print(f"{rows:,} rows: grid index built in {time.perf_counter() - start:.2f} s")
    palette = [f"#{(37 * i) % 256:02x}{(91 * i) % 256:02x}{(151 * i) % 256:02x}" for i in range(20)]
    # As the scatter panel draws: the codes in the grid index's order.
    colouring = Colouring(palette, codes=index.in_order(codes), ordered=True)
    whole = full_view(index)
    x0, x1, y0, y1 = whole
    cx, cy = coords[0]
    regions = {
        "whole map": whole,
        "a quarter of it": (x0, (x0 + x1) / 2, y0, (y0 + y1) / 2),
        "a cluster (1/100)": (cx - 3, cx + 3, cy - 3, cy + 3),
    }
    selected = np.zeros(rows, bool)
    selected[: rows // 10] = True
    for name, region in regions.items():
        size = (1000, int(1000 * (region[3] - region[2]) / (region[1] - region[0])))
        ours = timed(lambda r=region, s=size: render(index, r, s, colouring), repeat)
        with_selection = timed(
            lambda r=region, s=size: render(index, r, s, colouring, selected=selected), repeat
        )
        plain = timed(
            lambda r=region, s=size: np.histogram2d(
                coords[:, 0], coords[:, 1], bins=s, range=[r[:2], r[2:]]
            ),
            repeat,
        )
        print(
            f"  image of {name:18s} {ours * 1000:6.0f} ms ({with_selection * 1000:.0f} ms "
            f"with a selection); histogram2d {plain * 1000:6.0f} ms: {ours / plain:.2f}x"
        )
    near = timed(lambda: index.nearest(float(cx), float(cy), 0.05), repeat)
    box = np.array([[cx - 2, cy - 2], [cx + 2, cy - 2], [cx + 2, cy + 2], [cx - 2, cy + 2]])
    inside = timed(lambda: index.rows_in_polygon(box), repeat)
    brute = timed(
        lambda: np.flatnonzero((np.abs(coords[:, 0] - cx) <= 2) & (np.abs(coords[:, 1] - cy) <= 2)),
        repeat,
    )
    print(f"  nearest row to a place: {near * 1000:.2f} ms")
    print(
        f"  rows in a box ({len(index.rows_in_polygon(box)):,}): {inside * 1000:.1f} ms; "
        f"a mask over every row {brute * 1000:.1f} ms: {inside / brute:.2f}x"
    )
    png = render(index, whole, (1000, 800), colouring).png
    points = 2 * 4 * rows * 4 / 3  # float32 x and y, base64
    print(
        f"  the whole map's image: {len(png) / 1e3:.0f} kB; its points as plotly sends them: "
        f"{points / 1e6:.0f} MB ({points / len(png):.0f}x)"
    )


def page(table: Path, workdir: Path) -> None:
    import yaml
    from playwright.sync_api import sync_playwright

    from tests.chromium import launch
    from tests.servers import serve

    config = {
        "cache_dir": str(workdir / "cache"),
        "tables": {"t": {"path": str(table), "embedding": "embedding", "label": "label"}},
        "panels": [{"type": "scatter", "color": "label"}],
    }
    path = workdir / "density.yaml"
    path.write_text(yaml.safe_dump(config))
    from dashboard.web.assemble import prepare

    start = time.perf_counter()
    prepare(path).context.project({"table": "t", "reducer": "pca", "dims": 2})
    print(f"PCA map computed (or read from the cache) in {time.perf_counter() - start:.1f} s")
    image = "() => !!document.querySelector('#scatter-0-graph image')"
    for server in ("a new map (no grid index kept yet)", "a restarted server (index kept)"):
        if server.startswith("a new map"):
            for kept in (workdir / "cache" / "projections").glob("*grid*.npy"):
                kept.unlink()
        with (
            serve([sys.executable, "-m", "dashboard", "--config", str(path)]) as url,
            sync_playwright() as p,
        ):
            browser = launch(p)
            for attempt in ("server just started", "again"):
                tab = browser.new_page(viewport={"width": 1400, "height": 900})
                start = time.perf_counter()
                tab.goto(url)
                tab.wait_for_function(image, timeout=300_000)
                took = time.perf_counter() - start
                print(f"{server}, {attempt}: page open to the first image {took:.2f} s")
                before = tab.evaluate(IMAGE_LENGTH)
                start = time.perf_counter()
                tab.evaluate(ZOOM)
                tab.wait_for_function(f"() => ({IMAGE_LENGTH})() !== {before}", timeout=60_000)
                # The page waits 120 ms for the zoom to settle before it asks.
                print(f"  zoom to the new image drawn: {time.perf_counter() - start:.2f} s")
                if attempt == "again":
                    plain = plain_page(browser, tab, url)
                    print(f"  baseline: a plain plotly page of the same image {plain:.2f} s")
                tab.close()
            browser.close()


def plain_page(browser: object, tab: object, url: str) -> float:
    """Seconds from navigation to the image drawn for the plain baseline: a page of this
    server's own plotly.js bundle (cached by now) and one figure holding the map's image."""
    script = tab.evaluate(  # type: ignore[attr-defined]
        "() => Array.from(document.scripts).map((s) => s.src).find((s) => /plotly/.test(s))"
    )
    source = tab.evaluate(  # type: ignore[attr-defined]
        "() => document.querySelector('#scatter-0-graph .js-plotly-plot').layout.images[0]"
    )
    html = f"""<!doctype html><html><body><div id="g" style="width:900px;height:700px"></div>
<script src="{script}"></script><script>
Plotly.newPlot("g", [{{x: [0, 1], y: [0, 1], type: "scattergl", mode: "markers"}}],
  {{images: [{json.dumps(source)}], xaxis: {{range: [{source["x"]},
  {source["x"] + source["sizex"]}]}}, yaxis: {{range: [{source["y"] - source["sizey"]},
  {source["y"]}]}}}});
</script></body></html>"""
    plain = browser.new_page(viewport={"width": 1400, "height": 900})  # type: ignore[attr-defined]
    baseline = f"{url.rstrip('/')}/_plain_baseline"
    plain.route(baseline, lambda route: route.fulfill(body=html, content_type="text/html"))
    start = time.perf_counter()
    plain.goto(baseline)
    plain.wait_for_function("() => !!document.querySelector('#g image')", timeout=60_000)
    took = time.perf_counter() - start
    plain.close()
    return took


IMAGE_LENGTH = "() => document.querySelector('#scatter-0-graph image').href.baseVal.length"
ZOOM = """() => {
    const gd = document.querySelector('#scatter-0-graph .js-plotly-plot');
    const r = gd._fullLayout.xaxis.range, s = gd._fullLayout.yaxis.range;
    const w = (r[1] - r[0]) / 4, h = (s[1] - s[0]) / 4;
    window.Plotly.relayout(gd, {'xaxis.range': [r[0] + w, r[1] - w],
                                'yaxis.range': [s[0] + h, s[1] - h]});
}"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--page", type=Path, help="a parquet table to open in the page")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "density")
    args = parser.parse_args()
    server(args.rows, args.repeat)
    if args.page:
        args.workdir.mkdir(parents=True, exist_ok=True)
        page(args.page, args.workdir)


if __name__ == "__main__":
    main()
