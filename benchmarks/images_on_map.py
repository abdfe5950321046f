"""Points drawn as images: frame times of zoom (2D) and turn (3D) with 10,000 thumbnails,
against the same map drawn as dots in the same page.

    .venv/bin/python benchmarks/images_on_map.py [--rows 10000] [--steps 20]

A run of `--rows` 28 x 28 images (class-shaped blobs, logged with the writer API) is served
by the dashboard; headless chromium (software GL, as in the browser tests) opens its PCA map.
Each step sets new axis ranges (2D) or a new camera (3D) with `Plotly.relayout` and waits
until the step is on screen (two animation frames, so the image layer's draw is included).
The baseline is the same steps with the Images switch off: plotly redrawing its dots alone.
Prints milliseconds a step and the ratio, the image layer's own CPU time a draw (forced
redraws of a still map), and the atlas's build time.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

GRAPH = "#scatter-1-graph .js-plotly-plot"

# Steps of zoom (2D) or turn (3D); resolves with each step's milliseconds.
STEPS = """async ([graph, steps, dims]) => {
    const gd = document.querySelector(graph);
    const frame = () => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
    const times = [];
    const x = gd._fullLayout.xaxis ? gd._fullLayout.xaxis.range.slice() : null;
    const y = gd._fullLayout.yaxis ? gd._fullLayout.yaxis.range.slice() : null;
    for (let i = 0; i < steps; i++) {
        const start = performance.now();
        if (dims === 2) {
            const f = 1 - 0.5 * (i + 1) / steps;  // zoom in to half the extent
            const cx = (x[0] + x[1]) / 2, cy = (y[0] + y[1]) / 2;
            const hx = (x[1] - x[0]) / 2 * f, hy = (y[1] - y[0]) / 2 * f;
            await Plotly.relayout(gd, {'xaxis.range': [cx - hx, cx + hx],
                                       'yaxis.range': [cy - hy, cy + hy]});
        } else {
            const a = 2 * Math.PI * (i + 1) / steps;  // once around
            await Plotly.relayout(gd, {'scene.camera.eye': {x: 1.9 * Math.cos(a),
                                                            y: 1.9 * Math.sin(a), z: 0.8}});
        }
        await frame();
        times.push(performance.now() - start);
    }
    return times;
}"""


# The image layer's own draw (the CPU's part: placing, sorting and sending 10,000 images;
# the GPU's part runs after, with plotly's), forced on a still map: milliseconds a draw.
REDRAWS = """async (steps) => {
    const layer = window.dashboardImageMap.layers['1'];
    const frame = () => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
    const out = [];
    for (let i = 0; i < steps; i++) {
        layer.signature = '';
        await frame();
        out.push(layer.drawMs);
    }
    return out;
}"""


def make_run(folder: Path, rows: int) -> Path:
    """A run of ``rows`` 28 x 28 images of ten shapes (a blob whose place is the class)."""
    from dashboard.writer.run import Run

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, rows)
    yy, xx = np.mgrid[0:28, 0:28]
    centres = np.stack([8 + 12 * (labels % 2), 4 + 4 * (labels // 2)], axis=1)
    blobs = np.exp(
        -(
            ((xx[None] - centres[:, 0, None, None]) ** 2)
            + (yy[None] - centres[:, 1, None, None]) ** 2
        )
        / 30.0
    )
    images = np.clip(blobs + rng.normal(0, 0.1, blobs.shape), 0, 1)
    vectors = images.reshape(rows, -1)[:, ::8] + rng.normal(0, 0.05, (rows, 98))
    run = Run("bench", dir=folder, name="images")
    run.log_embedding(
        vectors.astype(np.float32),
        [str(label) for label in labels],
        image_data=images.reshape(rows, -1),
        image_size=(28, 28),
        title="images",
    )
    return run.dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()

    import yaml
    from playwright.sync_api import sync_playwright

    from tests.chromium import launch
    from tests.servers import serve

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        start = time.perf_counter()
        run_dir = make_run(folder, args.rows)
        print(f"logged {args.rows:,} images in {time.perf_counter() - start:.1f} s")
        config = folder / "images.yaml"
        config.write_text(
            yaml.safe_dump(
                {
                    "tables": {"images": {"path": str(run_dir)}},
                    "cache_dir": str(folder / "cache"),
                    "projection": {"reducer": "pca"},
                    "panels": [
                        {"type": "controls"},
                        {"type": "scatter", "image_limit": max(args.rows, 10_000)},
                    ],
                }
            )
        )
        results = {}
        with serve([sys.executable, "-m", "dashboard", "--config", str(config)]) as url:
            import urllib.request

            for attempt in ("first (built)", "again (cached)"):
                start = time.perf_counter()
                with urllib.request.urlopen(f"{url}_dashboard/atlas?table=images") as answer:
                    size = len(answer.read())
                print(
                    f"atlas {attempt}: {time.perf_counter() - start:.2f} s, {size / 1e6:.1f} MB PNG"
                )
            with sync_playwright() as pw:
                browser = launch(pw)
                page = browser.new_page(viewport={"width": 1400, "height": 900})
                page.goto(url)
                for dims in (2, 3):
                    if dims == 3:
                        page.get_by_label("3D").check()
                    page.wait_for_function(
                        """([dims, graph, rows]) => {
                            const status = document.querySelector('#dashboard-status');
                            const gd = document.querySelector(graph);
                            return status && status.innerText.includes(`PCA ${dims}D`)
                                && gd && gd._fullData && gd._fullData[0]
                                && gd._fullData[0].x.length === rows;
                        }""",
                        arg=[dims, GRAPH, args.rows],
                        timeout=300_000,
                    )
                    switch = page.get_by_role("checkbox", name="Images")
                    for on in (False, True):
                        switch.set_checked(on)
                        if on:
                            page.wait_for_function(
                                f"() => window.dashboardImageMap.drawn('1') > {args.rows // 2}",
                                timeout=120_000,
                            )
                        page.wait_for_timeout(500)
                        times = page.evaluate(STEPS, [GRAPH, args.steps, dims])
                        draws = page.evaluate(REDRAWS, args.steps) if on else [0.0]
                        results[(dims, on)] = (statistics.median(times), statistics.median(draws))
                browser.close()

    print(f"\n## Images on the map: {args.rows:,} points, {args.steps} steps each (median)\n")
    print("| map | dots: ms a step | images: ms a step | images/dots | image layer (CPU) a draw |")
    print("| --- | --- | --- | --- | --- |")
    for dims, what in ((2, "2D zoom"), (3, "3D turn")):
        dots, _ = results[(dims, False)]
        images, draw = results[(dims, True)]
        print(
            f"| {what} | {dots:.0f} ms | {images:.0f} ms | {images / dots:.2f}x | {draw:.1f} ms |"
        )


if __name__ == "__main__":
    main()
