"""Hover-image latency on a 100k-row logged table, against reading the row the plain way.

    .venv/bin/python benchmarks/hover_images.py [--rows 100000] [--requests 300]

Both sides run in this process on the same parquet file: the dashboard's image route (Flask
test client, no network) and a baseline that reads the image column with Polars per request,
as a handler written without care would. Prints milliseconds and the ratio.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl


def make_run(folder: Path, rows: int) -> Path:
    from dashboard.writer.run import Run

    rng = np.random.default_rng(0)
    run = Run("bench", dir=folder, name="hover")
    start = time.perf_counter()
    run.log_embedding(
        rng.normal(size=(rows, 16)).astype(np.float32),
        [str(i % 10) for i in range(rows)],
        image_data=rng.integers(0, 256, (rows, 28 * 28), dtype=np.uint8),
        image_size=(28, 28),
        title="images",
    )
    print(f"logged {rows:,} rows with 28x28 thumbnails in {time.perf_counter() - start:.1f} s")
    return run.dir


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()

    from dashboard import create_app

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        run_dir = make_run(folder, args.rows)
        app = create_app(
            {"tables": {"t": {"path": str(run_dir)}}, "cache_dir": str(folder / "cache")}
        )
        client = app.server.test_client()
        rng = np.random.default_rng(1)
        rows = rng.integers(0, args.rows, args.requests).tolist()

        start = time.perf_counter()
        first = client.get(f"/_dashboard/image/{rows[0]}", query_string={"table": "t"})
        cold_ms = (time.perf_counter() - start) * 1000
        assert first.status_code == 200, first.status_code
        ours = []
        for row in rows:
            start = time.perf_counter()
            response = client.get(f"/_dashboard/image/{row}", query_string={"table": "t"})
            ours.append((time.perf_counter() - start) * 1000)
            assert response.data.startswith(b"\x89PNG")

        (path,) = (run_dir / "tables").glob("*.parquet")
        baseline = []
        for row in rows[:30]:
            start = time.perf_counter()
            data = pl.read_parquet(path, columns=["image"])["image"][row]
            baseline.append((time.perf_counter() - start) * 1000)
            assert data.startswith(b"\x89PNG")

    ours_median, base_median = statistics.median(ours), statistics.median(baseline)
    print(f"dashboard route: first request {cold_ms:.0f} ms (reads the image column once)")
    print(
        f"dashboard route: median {ours_median:.2f} ms, p95 {percentile(ours, 95):.2f} ms "
        f"over {len(ours)} requests"
    )
    print(f"baseline (read_parquet per request): median {base_median:.1f} ms over 30 requests")
    print(f"ratio baseline/dashboard (median): {base_median / ours_median:.0f}x")


if __name__ == "__main__":
    main()
