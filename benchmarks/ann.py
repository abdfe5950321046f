"""The neighbours panel on a big table: the approximate index against exact search.

    .venv/bin/python benchmarks/ann.py --rows 1000000 --dims 384

Synthetic vectors (20 Gaussian clusters, float32, in memory). Builds the faiss index the panel
builds (:class:`dashboard.analysis.ann.ApproximateIndex`: inverted lists, product-quantised
codes, exact re-ranking), and prints its build time, its memory, its recall@10 against exact
search (measured by the index itself on 50 rows when built), and a query's time against the
plain baseline in the same run: exact search of the same rows, a matrix-vector product over
every row (:class:`dashboard.analysis.knn.NeighborIndex`, what the panel runs below the
threshold).
"""

from __future__ import annotations

import argparse
import statistics
import sys
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


if __name__ == "__main__":
    main()
