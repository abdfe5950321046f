"""Server time of a box selection at 100k rows: the view update, gallery, table and contrast.

    .venv/bin/python benchmarks/selection.py [--rows 100000] [--select 5000] [--repeats 5]

Logs ``--rows`` rows (64-dim vectors, a 10-class label, a 30-class group, two numeric columns,
a text and 8x8 thumbnails), projects them with PCA, then selects ``--select`` rows with a box
on the map (the rows nearest a random point of it, as a box round a cluster would) and sends
the requests a page sends after a selection, through the Flask test client: the view's
callback (the select action), then the gallery's, the selection table's and the contrast
panel's. Each repeat selects a new box, so no memo answers from an earlier one.

The baseline is the least any server does to list a selection: parse the request's rows,
gather those rows' metadata with Polars and serialise them as JSON. Prints each callback's
median milliseconds, their sum, and the ratio to the baseline.
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


def make_run(folder: Path, rows: int) -> Path:
    from dashboard.writer.run import Run

    rng = np.random.default_rng(0)
    centres = rng.normal(scale=4, size=(10, 64))
    label = rng.integers(0, 10, rows)
    vectors = (centres[label] + rng.normal(size=(rows, 64))).astype(np.float32)
    run = Run("bench", dir=folder, name="selection")
    group = rng.integers(0, 30, rows)
    score = rng.normal(size=rows) + label * 0.1
    length = rng.integers(5, 500, rows)
    labels = [["label", "group", "score", "length", "text"]] + [
        [f"class {c}", f"group {g}", float(s), int(n), f"item {i}: a sentence about class {c}"]
        for i, (c, g, s, n) in enumerate(zip(label, group, score, length, strict=True))
    ]
    run.log_embedding(
        vectors,
        labels,
        image_data=rng.integers(0, 256, (rows, 64), dtype=np.uint8),
        image_size=(8, 8),
        title="items",
    )
    return run.dir


def timed(call) -> tuple[float, object]:
    start = time.perf_counter()
    result = call()
    return (time.perf_counter() - start) * 1000, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--select", type=int, default=5_000)
    parser.add_argument("--repeats", type=int, default=6)
    args = parser.parse_args()
    args.repeats = max(args.repeats, 2)

    from dashboard.projection.request import Projection
    from dashboard.web.app import create_app
    from dashboard.web.assemble import prepare
    from dashboard.web.drive import CallbackDriver
    from dashboard.web.projecting import compute_projection
    from dashboard.web.state import ANSWER, DERIVED, PAGE_ACTIONS, SELECTION_STORE

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        start = time.perf_counter()
        run_dir = make_run(folder, args.rows)
        print(f"logged {args.rows:,} rows in {time.perf_counter() - start:.1f} s")
        config = {
            "tables": {"t": {"path": str(run_dir)}},
            "cache_dir": str(folder / "cache"),
            "panels": [
                {"type": "controls"},
                {"type": "scatter"},
                {"type": "gallery"},
                {"type": "table"},
                {"type": "contrast"},
            ],
        }
        app = create_app(config)
        # The map, computed into the cache the app reads from.
        context = prepare(config).context
        (table,) = context.datasets
        request = {"table": table, "reducer": "pca", "dims": 2, "params": {}}
        projection, _ = compute_projection(request, context)
        xy = context.coordinates(Projection.from_store(projection))
        meta = context.datasets[table].metadata()
        page = json.dumps(PAGE_ACTIONS, sort_keys=True, separators=(",", ":"))
        rng = np.random.default_rng(2)
        times: dict[str, list[float]] = {}
        baseline: list[float] = []
        # When the map lands, the page's contrast panel prepares the table's columns; a
        # person then takes a second or more to drag a box.
        landed = CallbackDriver(app, {("dashboard-projection", "data"): projection})
        (prepare_cb,) = landed.callbacks(lambda c: c.outputs[0][0] == "contrast-4-prepared")
        assert landed.call(prepare_cb).status_code in (200, 204)
        time.sleep(1.0)
        for repeat in range(args.repeats):
            centre = xy[rng.integers(0, len(xy))]
            nearest = np.argsort(np.abs(xy - centre).max(axis=1))[: args.select]
            rows = sorted(int(r) for r in nearest)
            action = {"op": "select", "table": table, "rows": rows, "seq": str(repeat)}
            driver = CallbackDriver(app, {("dashboard-projection", "data"): projection})
            (view_cb,) = driver.callbacks(lambda c: c.outputs[0] == (ANSWER, "data"))
            # The page's first view, then the box's select action on it.
            first = driver.call(view_cb).json["response"][ANSWER]["data"]["view"]
            driver.values[("dashboard-view", "data")] = first
            driver.values[(page, "data")] = action
            body = driver.body(view_cb)
            body["changedPropIds"] = [f"{page}.data"]
            post = driver.client.post
            ms, response = timed(lambda b=body, p=post, u=driver.url: p(u, json=b))
            times.setdefault("view (select action)", []).append(ms)
            stores = response.json["response"][ANSWER]["data"]["stores"]
            selection = stores[DERIVED.index(SELECTION_STORE)]
            assert len(selection["rows"]) == len(rows)
            driver.values[("dashboard-selection", "data")] = selection
            for name, output in (
                ("gallery", "gallery-2-count"),
                ("selection table", "table-3-grid"),
                ("contrast", "contrast-4-body"),
            ):
                (callback,) = driver.callbacks(lambda c, o=output: c.outputs[0][0] == o)
                ms, answer = timed(lambda c=callback, d=driver: d.call(c))
                assert answer.status_code == 200, (name, answer.status_code)
                times.setdefault(name, []).append(ms)

            def plain(rows: list[int] = rows) -> str:
                wanted = json.loads(json.dumps({"rows": rows}))["rows"]
                return json.dumps(meta[wanted].drop("text").to_dicts(), default=str)

            ms, _ = timed(plain)
            baseline.append(ms)

    print(
        f"{args.select:,} of {args.rows:,} rows selected: the first box, "
        f"then the median of {args.repeats - 1} more:"
    )
    first = total = 0.0
    for name, values in times.items():
        median = statistics.median(values[1:])
        first += values[0]
        total += median
        print(f"  {name:22s} {values[0]:8.1f} ms {median:8.1f} ms")
    base = statistics.median(baseline)
    print(f"  {'sum':22s} {first:8.1f} ms {total:8.1f} ms")
    print(f"baseline (gather the rows' metadata, serialise as JSON): {base:.1f} ms")
    print(f"ratio dashboard/baseline: {total / base:.1f}x")


if __name__ == "__main__":
    main()
