"""Where openTSNE (FFT) overtakes scikit-learn's t-SNE: sets `reducers.tsne.OPENTSNE_ROWS`.

    .venv/bin/python benchmarks/tsne_method.py                 # 5k, 10k, 20k, 40k rows
    .venv/bin/python benchmarks/tsne_method.py --sizes 5000 10000

Synthetic data: 20 Gaussian clusters in 768 dims, reduced to 50 PCA dims first (as the
dashboard does). For each N, the dashboard's t-SNE reducer runs once with `method: sklearn`
(Barnes-Hut) and once with `method: opentsne` (FFT), default parameters, in this process after
a small warm-up of each. Quality: trustworthiness@10 on 2,000 random rows.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from sklearn.decomposition import PCA
from sklearn.manifold import trustworthiness

from reducers.tsne import OPENTSNE_ROWS, TSNE


def clusters(n: int, d: int = 768, k: int = 20, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 1.5, (k, d)).astype(np.float32)
    X = centres[rng.integers(0, k, n)] + rng.standard_normal((n, d), dtype=np.float32)
    return PCA(50, random_state=0).fit_transform(X).astype(np.float32)


def run(X: np.ndarray, method: str) -> tuple[float, np.ndarray]:
    start = time.perf_counter()
    Y = TSNE({"method": method}).fit_transform(X)
    return time.perf_counter() - start, Y


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[5_000, 10_000, 20_000, 40_000])
    args = parser.parse_args()
    warm = clusters(300, d=64)
    run(warm, "sklearn")
    run(warm, "opentsne")
    print(f"current threshold: openTSNE from {OPENTSNE_ROWS:,} rows (2D, method: auto)\n")
    print("| N | sklearn | openTSNE | sklearn/openTSNE | trust sklearn | trust openTSNE |")
    print("|---|---|---|---|---|---|")
    faster_from = None
    for n in args.sizes:
        X = clusters(n)
        rows = np.random.default_rng(0).choice(n, size=min(n, 2000), replace=False)
        sk, Y_sk = run(X, "sklearn")
        ot, Y_ot = run(X, "opentsne")
        t_sk = trustworthiness(X[rows], Y_sk[rows], n_neighbors=10)
        t_ot = trustworthiness(X[rows], Y_ot[rows], n_neighbors=10)
        if ot < sk and faster_from is None:
            faster_from = n
        print(
            f"| {n:,} | {sk:.1f} s | {ot:.1f} s | {sk / ot:.2f}x | {t_sk:.4f} | {t_ot:.4f} |",
            flush=True,
        )
    print(f"\nopenTSNE is faster from {faster_from:,} rows" if faster_from else "\nnever faster")


if __name__ == "__main__":
    main()
