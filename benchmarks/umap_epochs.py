"""UMAP layout epochs and init against faithfulness on 100k rows: is a shortcut safe?

    .venv/bin/python benchmarks/umap_epochs.py [--rows 100000] [--noise 2.0]

Two tables of ``--rows`` rows: synthetic clusters (20 Gaussian ones in 768 dims, PCA to 50,
easy) and noisy copies of scikit-learn's digits (each row a random digit plus Gaussian noise
of sd ``--noise`` on the 0-16 pixel scale, 64 dims, hard). For each, umap-learn runs in one
warm process with its defaults (200 epochs, spectral init) and with the shortcuts; prints the
fit time, its speed-up over the defaults (the plain umap-learn call), trustworthiness@10 on
5,000 rows against the input, and the difference from the defaults. umap-learn's numba
cache is warmed first, so compile time does not count.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

SETTINGS = [
    {"n_epochs": None, "init": "spectral"},
    {"n_epochs": 100, "init": "spectral"},
    {"n_epochs": None, "init": "tswspectral"},
    {"n_epochs": 100, "init": "tswspectral"},
]


def noisy_digits(rows: int, noise: float, seed: int = 1) -> np.ndarray:
    from sklearn.datasets import load_digits

    digits = load_digits().data
    rng = np.random.default_rng(seed)
    picked = digits[rng.integers(0, len(digits), rows)]
    return (picked + rng.normal(0, noise, picked.shape)).astype(np.float32)


def clusters(rows: int, seed: int = 0) -> np.ndarray:
    """20 Gaussian clusters in 768 dims reduced to 50 by PCA, as the dashboard fits them."""
    from dashboard.projection.runner import pca_first

    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 1, (20, 768)).astype(np.float32)
    X = centres[rng.integers(0, 20, rows)] + rng.normal(0, 0.3, (rows, 768)).astype(np.float32)
    return pca_first(X, 50, None)[0].astype(np.float32)


def study(name: str, X: np.ndarray) -> None:
    import umap
    from sklearn.manifold import trustworthiness

    rows = np.random.default_rng(0).choice(len(X), min(5000, len(X)), replace=False)
    print(f"\n### {name}: {len(X):,} x {X.shape[1]}\n")
    print("| epochs | init | fit | speed-up | trustworthiness@10 | difference |")
    print("|---|---|---|---|---|---|")
    base = base_seconds = None
    for setting in SETTINGS:
        start = time.perf_counter()
        Y = umap.UMAP(**setting).fit_transform(X)
        seconds = time.perf_counter() - start
        trust = float(trustworthiness(X[rows], Y[rows], n_neighbors=10))
        base = trust if base is None else base
        base_seconds = seconds if base_seconds is None else base_seconds
        epochs = setting["n_epochs"] or "default (200)"
        print(
            f"| {epochs} | {setting['init']} | {seconds:.1f} s | {base_seconds / seconds:.2f}x "
            f"| {trust:.4f} | {trust - base:+.4f} |",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--noise", type=float, default=2.0)
    args = parser.parse_args()
    import umap

    from reducers.numba_cache import enable_numba_cache

    enable_numba_cache()
    warm = np.random.default_rng(0).normal(size=(5000, 8)).astype(np.float32)
    for setting in SETTINGS:  # compile every code path first
        umap.UMAP(n_epochs=10, init=setting["init"]).fit_transform(warm)
    study(f"noisy digits (noise sd {args.noise:g})", noisy_digits(args.rows, args.noise))
    study("synthetic clusters, PCA 50 of 768", clusters(args.rows))


if __name__ == "__main__":
    main()
