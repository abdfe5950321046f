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

- With ``--dask N``: the same maps with ``dask: {local_workers: N}``: the server fits the
  200k sample read by the workers, and the workers place every other row (cluster start-up
  not counted). Peak memory is the server process's; each worker reads one row group at a
  time.

Prints each step's seconds and peak memory, and the ratios: PCA against the decode floor,
peak memory against the vectors' size.
"""

from __future__ import annotations

import argparse
import json
import shutil
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
extra = {"dask": {"local_workers": args["dask"]}} if args.get("dask") else {}
dashboard = prepare({"tables": {"t": table}, "cache_dir": args["cache"], **extra,
                     "memory_budget": args["budget"],
                     "projection": {"reducer": args["reducer"], "sample": {"stratify": "label"}},
                     "panels": [{"type": "scatter", "table": "t"}]})
request = {"table": "t", "reducer": args["reducer"], "dims": 2, "params": {}}
if args.get("dask"):  # the cluster's start is not the map's work
    dashboard.context.engine.client().wait_for_workers(args["dask"])
    start = time.perf_counter()
result = dashboard.context.project(request)
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
dataset = dashboard.context.datasets["t"]
Y = dashboard.context.coordinates(result)
rows = np.sort(np.random.default_rng(0).choice(len(Y), 5000, replace=False))
engine = dashboard.context.engine
if engine is not None:  # the server never decoded the table: the workers read the rows
    X = engine.gather_rows(dataset, rows)
    engine.close()
else:
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
    parser.add_argument("--skip-local", action="store_true", help="only the Dask runs")
    parser.add_argument(
        "--dask", type=int, default=0, metavar="WORKERS", help="also on a local Dask cluster"
    )
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
    own = args.workdir / "dask-cache"
    with tempfile.TemporaryDirectory(dir=args.workdir) as cache:
        steps = []
        if not args.skip_local:
            steps.append(("pca", 0, "PCA first map (decodes to the cache)"))
            if not args.skip_umap:
                steps.append(("umap", 0, "UMAP map (sample fit + transform)"))
        if args.dask:
            workers = f"on {args.dask} Dask workers"
            steps.append(("pca", args.dask, f"PCA map, sample fit + rest placed {workers}"))
            if not args.skip_umap:
                steps.append(("umap", args.dask, f"UMAP map, rest placed {workers}"))
        for reducer, dask, title in steps:
            begun = time.perf_counter()
            if dask:  # each run computes its map: a cache of its own
                shutil.rmtree(own, ignore_errors=True)
                cache = str(own)
            ours = child(
                MAP,
                {
                    "path": str(path),
                    "cache": cache,
                    "budget": args.budget,
                    "reducer": reducer,
                    "dask": dask,
                },
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
            print(json.dumps({"step": reducer, "dask": dask, **ours, "floor": floor["seconds"]}))
    shutil.rmtree(own, ignore_errors=True)


if __name__ == "__main__":
    main()
