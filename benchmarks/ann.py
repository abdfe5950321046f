"""The neighbours panel on a big table: the approximate index against exact search.

    .venv/bin/python benchmarks/ann.py --rows 1000000 --dims 384

Synthetic vectors (20 Gaussian clusters, float32, in memory). Builds the faiss index the panel
builds (:class:`dashboard.analysis.ann.ApproximateIndex`: inverted lists, product-quantised
codes, exact re-ranking), and prints its build time, its memory, its recall@10 against exact
search (measured by the index itself on 50 rows when built), and a query's time against the
plain baseline in the same run: exact search of the same rows, a matrix-vector product over
every row (:class:`dashboard.analysis.knn.NeighborIndex`, what the panel runs below the
threshold).

With ``--dask-workers N`` the same index is built again as a dashboard with ``dask:`` builds
it, the table written to parquet and a local cluster of N worker processes encoding its row
groups (the server trains the index and merges their codes), and the two build times are
compared.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dashboard.analysis.ann import ApproximateIndex  # noqa: E402
from dashboard.analysis.knn import NeighborIndex  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--dims", type=int, default=384)
    parser.add_argument("--queries", type=int, default=20)
    parser.add_argument("--metric", choices=("cosine", "euclidean"), default="cosine")
    parser.add_argument("--dask-workers", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 1.5, (20, args.dims)).astype(np.float32)
    X = centres[rng.integers(0, 20, args.rows)]
    X += rng.standard_normal(X.shape, dtype=np.float32)
    print(f"{args.rows:,} x {args.dims} float32 ({X.nbytes / 1e9:.1f} GB), {args.metric}")
    start = time.perf_counter()
    index = ApproximateIndex.build(X, args.metric)
    built = time.perf_counter() - start
    facts = index.facts
    print(f"index {facts.kind}: built in {built:.1f} s, {index.index.sa_code_size()} bytes a row")
    print(f"recall@10 {facts.recall:.3f} on {facts.queries} rows ({facts.probes} lists probed)")
    exact = NeighborIndex(X)
    rows = rng.choice(args.rows, args.queries, replace=False)
    ours, plain, agree = [], [], []
    for row in rows:
        t0 = time.perf_counter()
        found, _ = index.query(int(row), 10)
        t1 = time.perf_counter()
        want, _ = exact.query(int(row), 10, args.metric)
        t2 = time.perf_counter()
        ours.append(t1 - t0)
        plain.append(t2 - t1)
        agree.append(len(set(found) & set(want)) / 10)
    a, b = statistics.median(ours), statistics.median(plain)
    print(
        f"query: approximate {a * 1000:.1f} ms, exact {b * 1000:.1f} ms (median of "
        f"{args.queries}); exact/approximate: {b / a:.1f}x; recall@10 on these {np.mean(agree):.3f}"
    )
    if args.dask_workers:
        on_cluster = build_on_cluster(X, args.metric, args.dask_workers)
        print(
            f"built with {args.dask_workers} local Dask workers in {on_cluster:.1f} s: "
            f"{built / on_cluster:.2f}x the build in this process"
        )


def build_on_cluster(X: np.ndarray, metric: str, workers: int) -> float:
    """Seconds to build the index as a dashboard with ``dask:`` does (the matrix already
    read: only the index's training, the workers' encoding and the merge are timed)."""
    import polars as pl

    from dashboard.web.assemble import prepare

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "vectors.parquet"
        pl.DataFrame({"vec": X}).write_parquet(path, row_group_size=50_000)
        config = {
            "tables": {"t": {"path": str(path), "embedding": "vec"}},
            "cache_dir": str(Path(folder) / "cache"),
            "approximate_neighbors_above": 1000,
            "dask": {"local_workers": workers, "min_rows": 0},
        }
        context = prepare(config).context
        dataset = context.datasets["t"]
        try:
            dataset.matrix()
            context.engine.client()  # the cluster's start is not the index's time
            search = dataset.neighbors()
            start = time.perf_counter()
            built = search.wait(metric)
            took = time.perf_counter() - start
        finally:
            context.engine.close()
        if built is None:
            raise SystemExit("the index was not built on the cluster: see the log")
        print(f"on the cluster: recall@10 {built.facts.recall:.3f}")
        return took


if __name__ == "__main__":
    main()
