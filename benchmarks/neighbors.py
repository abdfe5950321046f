"""k nearest neighbours of a clicked point in the original space, 100k x 768.

    .venv/bin/python benchmarks/neighbors.py [--rows 100000] [--dims 768] [--k 10]

Compares the dashboard's exact index (`dashboard.neighbors.NeighborIndex`) with what a user
would write: scikit-learn's brute-force `NearestNeighbors(...).kneighbors`, in the same run,
on the same synthetic clustered vectors, and checks both return the same rows.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from sklearn.neighbors import NearestNeighbors

from dashboard.analysis.knn import NeighborIndex


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--dims", type=int, default=768)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--queries", type=int, default=20)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    centres = rng.normal(0, 4, (50, args.dims)).astype(np.float32)
    X = centres[rng.integers(0, 50, args.rows)] + rng.normal(size=(args.rows, args.dims)).astype(
        np.float32
    )
    queries = rng.integers(0, args.rows, args.queries)

    for metric in ("cosine", "euclidean"):
        start = time.perf_counter()
        index = NeighborIndex(X)
        build = time.perf_counter() - start
        ours = []
        for row in queries:
            start = time.perf_counter()
            index.query(int(row), args.k, metric)
            ours.append(time.perf_counter() - start)

        start = time.perf_counter()
        baseline = NearestNeighbors(n_neighbors=args.k + 1, metric=metric, algorithm="brute").fit(X)
        base_build = time.perf_counter() - start
        theirs = []
        for row in queries[:5]:
            start = time.perf_counter()
            _, idx = baseline.kneighbors(X[[row]])
            theirs.append(time.perf_counter() - start)
        expected = [r for r in idx[0] if r != row][: args.k]
        got, _ = index.query(int(row), args.k, metric)
        overlap = len(set(expected) & set(got.tolist())) / args.k

        ours_ms, theirs_ms = statistics.median(ours) * 1000, statistics.median(theirs) * 1000
        print(
            f"{metric:9s} {args.rows:,} x {args.dims}: index build {build:.2f} s, "
            f"query median {ours_ms:.1f} ms | sklearn brute: fit {base_build:.2f} s, "
            f"query median {theirs_ms:.1f} ms | ratio {theirs_ms / ours_ms:.1f}x | "
            f"same neighbours {overlap:.0%}"
        )


if __name__ == "__main__":
    main()
