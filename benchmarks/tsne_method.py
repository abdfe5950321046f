"""t-SNE: the dashboard's reducer against plain scikit-learn, and where exact forces stop
paying (sets `reducers.tsne.EXACT_ROWS`).

    .venv/bin/python benchmarks/tsne_method.py                       # digits and 10k x 50
    .venv/bin/python benchmarks/tsne_method.py --sizes 10000 20000 --crossover

Data: scikit-learn's digits (1797 x 64) and 20 Gaussian clusters in 768 dims reduced to 50
PCA dims (as the dashboard does before t-SNE). The baseline is what a user writes:
`sklearn.manifold.TSNE().fit_transform(X)` (Barnes-Hut, 1000 iterations). The dashboard's
reducer runs with its defaults (openTSNE's optimiser, 750 iterations, exact forces up to
EXACT_ROWS points, FFT above). `--crossover` also runs openTSNE's FFT at every size. Each is
timed in this process after a warm-up of each (numba's compiled code is on disk after the
first run on a machine). Quality: trustworthiness@10 on 2,000 random rows.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE as SkTSNE
from sklearn.manifold import trustworthiness

import reducers.tsne as tsne
from reducers.tsne import TSNE


def clusters(n: int, d: int = 768, k: int = 20, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 1.5, (k, d)).astype(np.float32)
    X = centres[rng.integers(0, k, n)] + rng.standard_normal((n, d), dtype=np.float32)
    return PCA(50, random_state=0).fit_transform(X).astype(np.float32)


def timed(fit, X: np.ndarray) -> tuple[float, np.ndarray]:
    start = time.perf_counter()
    Y = np.asarray(fit(X))
    return time.perf_counter() - start, Y


def ours(X: np.ndarray) -> np.ndarray:
    return TSNE().fit_transform(X)


def fft(X: np.ndarray) -> np.ndarray:
    limit, tsne.EXACT_ROWS = tsne.EXACT_ROWS, 0
    try:
        return TSNE().fit_transform(X)
    finally:
        tsne.EXACT_ROWS = limit


def plain(X: np.ndarray) -> np.ndarray:
    return SkTSNE(random_state=0).fit_transform(X)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000])
    parser.add_argument("--no-digits", action="store_true", help="skip the demo digits")
    parser.add_argument("--crossover", action="store_true", help="also time FFT forces")
    args = parser.parse_args()
    warm = clusters(300, d=64)
    for fit in (plain, ours, fft):
        fit(warm)
    sets = [] if args.no_digits else [("digits 1,797 x 64", load_digits().data.astype("f4"))]
    sets += [(f"clusters {n:,} x 50", clusters(n)) for n in args.sizes]
    print(f"exact forces up to {tsne.EXACT_ROWS:,} points\n")
    head = "| data | scikit-learn | dashboard | ratio | trust sklearn | trust dashboard |"
    print(head + (" FFT | trust FFT |" if args.crossover else ""))
    print("|---" * (8 if args.crossover else 6) + "|")
    for name, X in sets:
        rows = np.random.default_rng(0).choice(len(X), size=min(len(X), 2000), replace=False)
        runs = [("plain", plain), ("ours", ours)] + ([("fft", fft)] if args.crossover else [])
        cells = []
        times = {}
        for key, fit in runs:
            seconds, Y = timed(fit, X)
            times[key] = seconds
            cells.append((seconds, trustworthiness(X[rows], Y[rows], n_neighbors=10)))
        line = (
            f"| {name} | {cells[0][0]:.1f} s | {cells[1][0]:.1f} s | "
            f"{times['plain'] / times['ours']:.2f}x | {cells[0][1]:.4f} | {cells[1][1]:.4f} |"
        )
        if args.crossover:
            line += f" {cells[2][0]:.1f} s | {cells[2][1]:.4f} |"
        print(line, flush=True)


if __name__ == "__main__":
    main()
