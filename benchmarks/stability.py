"""Costs of the map's cluster labels and of a stability check at 100k rows, against one map.

    .venv/bin/python benchmarks/stability.py [--rows 100000] [--runs 5]

A table of ``--rows`` rows: 20 Gaussian clusters in 384 dims (PCA to 50 first, as the
dashboard fits UMAP), each with its own topic words in a text column. In one warm process
(UMAP compiled once before timing), with a fresh cache:

- one UMAP map (the baseline, measured in the same run);
- the map's labels: HDBSCAN clusters on the map, then c-TF-IDF names (target < 2 s);
- a stability check of ``--runs`` maps of other seeds: the runs (one neighbour graph for
  all), then the measures (alignment, neighbour persistence, each run's clusters); target
  < 5x one map.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl
import yaml


def table(rows: int, folder: Path) -> Path:
    rng = np.random.default_rng(0)
    topic = rng.integers(0, 20, rows)
    centres = rng.normal(0, 1, (20, 384)).astype(np.float32)
    vectors = centres[topic] + rng.normal(0, 0.3, (rows, 384)).astype(np.float32)
    words = [[f"topic{t}word{w}" for w in range(5)] for t in range(20)]
    texts = [" ".join(rng.choice(words[t], 3)) + " the common words" for t in topic]
    path = folder / "clusters.parquet"
    pl.DataFrame({"vec": vectors, "text": texts, "topic": topic}).write_parquet(path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    from dashboard.plugin.manager import get_plugin_manager
    from dashboard.web.assemble import prepare
    from reducers.umap import UMAP

    UMAP({"n_epochs": 10}).fit_transform(np.random.default_rng(0).normal(size=(5000, 50)))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = table(args.rows, folder)
        config = {
            "tables": {"t": {"path": str(path), "embedding": "vec", "text": "text"}},
            "cache_dir": str(folder / "cache"),
        }
        (folder / "c.yaml").write_text(yaml.safe_dump(config))
        plugins = get_plugin_manager(load_entry_points=False)
        dashboard = prepare(folder / "c.yaml", plugin_manager=plugins)
        context = dashboard.context
        request = {"table": "t", "reducer": "umap"}
        context.datasets["t"].matrix()  # read the table before timing
        start = time.perf_counter()
        projection = context.project(request)
        one = time.perf_counter() - start
        start = time.perf_counter()
        labels = context.cluster_labels(projection)
        named = time.perf_counter() - start
        start = time.perf_counter()
        context.project({**request, "runs": args.runs})
        fitted = time.perf_counter() - start
        start = time.perf_counter()
        measured = context.stability(request, runs=args.runs)
        measuring = time.perf_counter() - start
        check = fitted + measuring
        print(f"rows: {args.rows:,}; runs: {args.runs}")
        print(f"one UMAP map (baseline): {one:.1f} s")
        count, source = len(labels["labels"]), labels["source"]
        print(f"labels: {named:.2f} s ({count} clusters named, by {source})")
        print(f"stability runs: {fitted:.1f} s ({fitted / one:.2f}x one map)")
        print(f"stability measures: {measuring:.1f} s")
        print(f"stability check in all: {check:.1f} s ({check / one:.2f}x one map)")
        print(f"summary: {measured.summary()}")


if __name__ == "__main__":
    main()
