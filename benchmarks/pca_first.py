"""PCA to `pca_dims` before UMAP / t-SNE: time and quality against the raw vectors.

    .venv/bin/python benchmarks/pca_first.py [--pca-dims 30]

On scikit-learn's digits (1797 x 64), or with ``--synthetic ROWS DIMS`` on clustered
synthetic vectors (labels = cluster), fits each reducer on the raw vectors (what a user of
umap-learn or scikit-learn would do) and on the PCA-reduced ones, in the same run, and
prints seconds, trustworthiness@10 (always against the RAW vectors) and 10-NN accuracy.
A warm-up fit first keeps numba's one-off compilation out of the UMAP timings.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np
import polars as pl
from sklearn.manifold import trustworthiness
from sklearn.model_selection import cross_val_score
from sklearn.neighbors import KNeighborsClassifier

from dashboard.data.sklearn_source import materialise
from dashboard.projection.runner import pca_first
from reducers.tsne import TSNE
from reducers.umap import UMAP


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pca-dims", type=int, default=30)
    parser.add_argument("--synthetic", type=int, nargs=2, metavar=("ROWS", "DIMS"))
    parser.add_argument("--reducer", choices=("umap", "tsne"), action="append")
    args = parser.parse_args()
    if args.synthetic:
        rows, dims = args.synthetic
        rng = np.random.default_rng(0)
        y = rng.integers(0, 20, rows)
        X = (rng.normal(0, 3, (20, dims))[y] + rng.normal(size=(rows, dims))).astype(np.float32)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            frame = pl.read_parquet(materialise("digits", tmp))
        X = frame["pixels"].to_numpy().astype(np.float32)
        y = frame["target"].to_numpy()
    UMAP().fit_transform(X[:300])  # warm-up: compile (or load) numba's code
    chosen = {"umap": UMAP, "tsne": TSNE}
    for cls in [chosen[name] for name in args.reducer or ("umap", "tsne")]:
        rows = {}
        for label, dims in (("raw", None), (f"PCA {args.pca_dims} first", args.pca_dims)):
            start = time.perf_counter()
            Z = X if dims is None else pca_first(X, dims, None)
            Y = cls().fit_transform(Z)
            seconds = time.perf_counter() - start
            trust = trustworthiness(X, Y, n_neighbors=10)
            knn = cross_val_score(KNeighborsClassifier(10), Y, y, cv=5).mean()
            rows[label] = (seconds, trust)
            print(f"{cls.name:5s} {label:13s} {seconds:5.1f} s  trust {trust:.4f}  knn {knn:.4f}")
        (raw_s, raw_t), (pca_s, pca_t) = rows.values()
        change = pca_t - raw_t
        print(f"{cls.name:5s} speed-up {raw_s / pca_s:.2f}x, trustworthiness change {change:+.4f}")


if __name__ == "__main__":
    main()
