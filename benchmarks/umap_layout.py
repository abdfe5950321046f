"""The dashboard's UMAP layout loop against umap-learn's, on the same graphs: time and quality.

    .venv/bin/python benchmarks/umap_layout.py [--rows 100000] [--noise 2.0] [--repeats 3]
    .venv/bin/python benchmarks/umap_layout.py --loop-only 30 [--threads 1]

Both run umap-learn's ``UMAP().fit_transform`` with its defaults in one warm process; the
dashboard's runs go through ``reducers.umap_layout.faster_layout`` (the reducer's loop), the
plain ones through umap-learn's own ``optimize_layout_euclidean``. Same data as
``benchmarks/umap_epochs.py``: noisy digits (hard) and synthetic clusters (easy), each fit
``--repeats`` times in alternation, since unseeded UMAP varies by about 0.01 between runs.
Prints each run's fit time and trustworthiness@10 on 5,000 rows, then the means.

``--loop-only EPOCHS`` times the layout loops alone on the clusters' graph (built once, as
umap-learn builds it): the same start, graph and epochs for both, best of ``--repeats``.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from umap_epochs import clusters, noisy_digits


def study(name: str, X: np.ndarray, repeats: int) -> None:
    import umap
    from sklearn.manifold import trustworthiness

    from reducers.umap_layout import faster_layout

    rows = np.random.default_rng(0).choice(len(X), min(5000, len(X)), replace=False)
    print(f"\n### {name}: {len(X):,} x {X.shape[1]}\n")
    print("| run | layout | fit | trustworthiness@10 |")
    print("|---|---|---|---|")
    results: dict[str, list[tuple[float, float]]] = {"umap-learn": [], "dashboard": []}
    for run in range(1, repeats + 1):
        for layout, runs in results.items():
            start = time.perf_counter()
            if layout == "dashboard":
                with faster_layout():
                    Y = umap.UMAP().fit_transform(X)
            else:
                Y = umap.UMAP().fit_transform(X)
            seconds = time.perf_counter() - start
            trust = float(trustworthiness(X[rows], Y[rows], n_neighbors=10))
            runs.append((seconds, trust))
            print(f"| {run} | {layout} | {seconds:.1f} s | {trust:.4f} |", flush=True)
    mean = {k: [statistics.mean(v[i] for v in runs) for i in (0, 1)] for k, runs in results.items()}
    (plain_s, plain_t), (ours_s, ours_t) = mean["umap-learn"], mean["dashboard"]
    print(
        f"\nmeans: umap-learn {plain_s:.1f} s, {plain_t:.4f}; dashboard {ours_s:.1f} s, "
        f"{ours_t:.4f}; whole fit {plain_s / ours_s:.2f}x faster, trustworthiness "
        f"{ours_t - plain_t:+.4f}"
    )


def loop_only(X: np.ndarray, n_epochs: int, repeats: int) -> None:
    import umap.umap_
    from umap.layouts import optimize_layout_euclidean

    from reducers.umap_layout import faster_layout

    rng = np.random.default_rng(0)
    graph = umap.umap_.fuzzy_simplicial_set(X, 15, None, "euclidean")[0].tocoo()
    graph.sum_duplicates()
    graph.data[graph.data < graph.data.max() / n_epochs] = 0.0  # umap-learn drops these
    graph.eliminate_zeros()
    per_sample = umap.umap_.make_epochs_per_sample(graph.data, n_epochs)
    a, b = umap.umap_.find_ab_params(1.0, 0.1)
    start = rng.uniform(-10, 10, (X.shape[0], 2)).astype(np.float32)
    seed = rng.integers(-(2**31), 2**31, 3).astype(np.int64)
    print(f"\n### layout loop alone: {len(X):,} points, {graph.nnz:,} edges, {n_epochs} epochs\n")

    def run(layout) -> float:
        emb = start.copy()
        began = time.perf_counter()
        layout(emb, emb, graph.row, graph.col, n_epochs, len(X), per_sample, a, b, seed.copy(),
               1.0, 1.0, 5.0, parallel=True, move_other=True)  # fmt: skip
        return time.perf_counter() - began

    times: dict[str, list[float]] = {"umap-learn": [], "dashboard": []}
    for _ in range(repeats):
        times["umap-learn"].append(run(optimize_layout_euclidean))
        with faster_layout():
            times["dashboard"].append(run(umap.umap_.optimize_layout_euclidean))
    for name, seconds in times.items():
        print(f"{name}: best {min(seconds):.2f} s ({', '.join(f'{s:.2f}' for s in seconds)})")
    print(f"umap-learn/dashboard: {min(times['umap-learn']) / min(times['dashboard']):.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--noise", type=float, default=2.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--loop-only", type=int, metavar="EPOCHS", help="time the loops alone")
    parser.add_argument("--threads", type=int, help="numba threads (default: all cores)")
    args = parser.parse_args()
    import numba
    import umap

    from reducers.numba_cache import enable_numba_cache
    from reducers.umap_layout import faster_layout

    enable_numba_cache()
    if args.threads:
        numba.set_num_threads(args.threads)
    warm = np.random.default_rng(0).normal(size=(5000, 8)).astype(np.float32)
    umap.UMAP(n_epochs=10).fit_transform(warm)  # compile both loops first
    with faster_layout():
        umap.UMAP(n_epochs=10).fit_transform(warm)
    if args.loop_only:
        loop_only(clusters(args.rows), args.loop_only, args.repeats)
        return
    study(
        f"noisy digits (noise sd {args.noise:g})", noisy_digits(args.rows, args.noise), args.repeats
    )
    study("synthetic clusters, PCA 50 of 768", clusters(args.rows), args.repeats)


if __name__ == "__main__":
    main()
