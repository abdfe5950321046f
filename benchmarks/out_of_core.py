"""Out of core: PCA and UMAP maps of a table bigger than the memory budget.

    .venv/bin/python benchmarks/out_of_core.py --rows 10000000 --dims 384 --budget 8GB
    .venv/bin/python benchmarks/out_of_core.py --rows 1000000 --dims 384 --budget 1GB

Synthetic data: 20 Gaussian clusters (the table of ``benchmarks/scale.py``: an Array column
of float32, lz4, 100k-row groups), written once under ``--workdir``. Each step runs in a
fresh Python process, so peak memory is that process's own (ru_maxrss, which counts the
pages of mapped files it holds).

- Decode floor (the plain baseline): pyarrow streams the vector column batch by batch into
  numpy and drops it: what any reader of this file pays, and the least a first map costs.
- PCA first map: the dashboard (prepare + projection) with ``memory_budget`` below the
  vectors' size, on an empty cache: the vectors are decoded into the cache's float32 file,
  then the components and every row's coordinates are computed a block at a time.
- UMAP map: the same dashboard in a new process, the matrix file now in the cache: UMAP
  fits a stratified 200k sample (`projection.sample`) and places the rest with
  ``transform`` in chunks. Trustworthiness@10 and 10-NN accuracy (cluster labels) on 5,000
  random rows.

Prints each step's seconds and peak memory, and the ratios: PCA against the decode floor,
peak memory against the budget.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from scale import child, dataset  # the same table writer and fresh-process runner

DECODE = r"""
import json, resource, sys, time
import numpy as np, pyarrow.parquet as pq
args = json.loads(sys.argv[1])
start = time.perf_counter()
parquet = pq.ParquetFile(args["path"])
total = 0.0
for batch in parquet.iter_batches(batch_size=65536, columns=["embedding"]):
    column = batch.column(0)
    total += float(column.flatten().to_numpy().reshape(len(column), -1)[:, 0].sum())
print(json.dumps({"seconds": time.perf_counter() - start,
                  "peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
"""

MAP = r"""
import json, resource, sys, time
start = time.perf_counter()
args = json.loads(sys.argv[1])
import numpy as np
from dashboard.web.assemble import prepare
table = {"path": args["path"], "embedding": "embedding", "label": "label"}
dashboard = prepare({"tables": {"t": table}, "cache_dir": args["cache"],
                     "memory_budget": args["budget"],
                     "projection": {"reducer": args["reducer"], "sample": {"stratify": "label"}},
                     "panels": [{"type": "scatter", "table": "t"}]})
request = {"table": "t", "reducer": args["reducer"], "dims": 2, "params": {}}
result = dashboard.context.project(request)
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
dataset = dashboard.context.datasets["t"]
Y = dashboard.context.coordinates(result)
rows = np.sort(np.random.default_rng(0).choice(len(Y), 5000, replace=False))
X = np.asarray(dataset.matrix()[rows])
labels = dataset.metadata()["label"].to_numpy()[rows]
from sklearn.manifold import trustworthiness
from sklearn.model_selection import cross_val_score
from sklearn.neighbors import KNeighborsClassifier
print(json.dumps({"seconds": seconds, "peak": peak, "out_of_core": dataset.out_of_core,
                  "placed": int(np.isfinite(Y).all(axis=1).sum()),
                  "status": dashboard.context.describe(result),
                  "trust": trustworthiness(X, Y[rows], n_neighbors=10),
                  "knn": cross_val_score(KNeighborsClassifier(10), Y[rows], labels, cv=5).mean()}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--dims", type=int, default=384)
    parser.add_argument("--budget", default="1GB", help="`memory_budget` of the config")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "ooc")
    parser.add_argument("--skip-umap", action="store_true")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    path = dataset(args.workdir, args.rows, args.dims)
    vectors = 4 * args.rows * args.dims
    print(
        f"{args.rows:,} x {args.dims} float32: {vectors / 1e9:.1f} GB of vectors, "
        f"budget {args.budget}"
    )
    floor = child(DECODE, {"path": str(path)})
    print(f"decode floor (pyarrow, streamed): {floor['seconds']:7.1f} s")
    with tempfile.TemporaryDirectory(dir=args.workdir) as cache:
        steps = {"pca": "PCA first map (decodes to the cache)"}
        if not args.skip_umap:
            steps["umap"] = "UMAP map (sample fit + transform)"
        for reducer, title in steps.items():
            begun = time.perf_counter()
            ours = child(
                MAP, {"path": str(path), "cache": cache, "budget": args.budget, "reducer": reducer}
            )
            print(
                f"{title}: {ours['seconds']:7.1f} s ({time.perf_counter() - begun:.1f} s "
                f"with the process), peak {ours['peak'] / 1e9:.2f} GB, out of core: "
                f"{ours['out_of_core']}, rows placed {ours['placed']:,}, "
                f"trust@10 {ours['trust']:.3f}, 10-NN acc {ours['knn']:.3f}"
            )
            print(f"    status: {ours['status']}")
            if reducer == "pca":
                print(f"    ratio to the decode floor: {ours['seconds'] / floor['seconds']:.2f}x")
            print(f"    peak memory / vectors: {ours['peak'] / vectors:.2f}x")
            print(json.dumps({"step": reducer, **ours, "floor": floor["seconds"]}))


if __name__ == "__main__":
    main()
