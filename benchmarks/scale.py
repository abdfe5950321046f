"""Scale: first map, memory, reopen, payload and browser render at 10k, 100k and 1M rows.

    .venv/bin/python benchmarks/scale.py                    # everything (about 25 min)
    .venv/bin/python benchmarks/scale.py --sizes 10000 100000 --skip-umap --skip-browser

Synthetic data: 20 Gaussian clusters in D = 768, written once as parquet (an Array column of
float32, lz4, 100k-row groups) under ``--workdir``. Every measurement runs in a fresh Python
process, so times include imports and peak memory is that process's own (ru_maxrss). The file
is read once before each step, so every step finds it in the OS page cache.

- PCA first map, per N (median of ``--repeat`` runs, alternating): the dashboard (prepare +
  projection + the scatter's figure, gzipped as served) against the plain baseline a user
  would write: ``pl.read_parquet``, sklearn ``PCA(2)``, ``px.scatter(..., color=label,
  hover_name=label)`` and its JSON, gzipped.
- Reopen: the dashboard again on the same cache directory.
- Payload: gzipped bytes a point for the first map and for a recolour (a Patch), against the
  baseline figure JSON.
- UMAP at ``--umap-rows`` (default 100k): the dashboard (PCA to 50 dims first) against
  ``umap.UMAP().fit_transform`` on the raw 768-dim vectors, and on scikit-learn's first 50
  principal components (what an informed user runs); all with a warm numba cache;
  trustworthiness@10 on the same 5,000 random rows.
- Browser: headless chromium, from navigation to every point drawn, for the dashboard
  (projection cached) and for the baseline figure written by ``fig.write_html``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CLUSTERS = 20
GENERATE = r"""
import sys, numpy as np, pyarrow as pa, pyarrow.parquet as pq
n, d, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
rng = np.random.default_rng(0)
centres = rng.normal(0, 1.5, (int(sys.argv[4]), d)).astype(np.float32)
schema = pa.schema([("id", pa.int64()), ("label", pa.string()), ("score", pa.float32()),
                    ("embedding", pa.list_(pa.float32(), d))])
with pq.ParquetWriter(path + ".tmp", schema, compression="lz4") as writer:
    for start in range(0, n, 100_000):
        m = min(100_000, n - start)
        group = rng.integers(0, len(centres), m)
        X = centres[group] + rng.standard_normal((m, d), dtype=np.float32)
        vectors = pa.FixedSizeListArray.from_arrays(pa.array(X.reshape(-1)), d)
        writer.write_table(pa.table({
            "id": np.arange(start, start + m), "label": [f"c{g:02d}" for g in group],
            "score": rng.random(m, dtype=np.float32), "embedding": vectors}, schema=schema))
import os; os.replace(path + ".tmp", path)
"""

OURS = r"""
import gzip, json, resource, sys, time
t0 = time.perf_counter()
args = json.loads(sys.argv[1])
import numpy as np
from plotly.utils import PlotlyJSONEncoder
from dashboard.web.assemble import prepare
table = {"path": args["path"], "embedding": "embedding", "label": "label"}
dashboard = prepare({"tables": {"t": table}, "cache_dir": args["cache"],
                     "projection": {"reducer": args["reducer"]},
                     "panels": [{"type": "scatter", "table": "t"}]})
request = {"table": "t", "reducer": args["reducer"], "dims": 2, "params": {}}
result = dashboard.context.project(request)
status = dashboard.context.describe(result)
t1 = time.perf_counter()
scatter = dashboard.panels[0]
coords, colours = scatter.render(result, {scatter.map_key: {"colour": "label"}}, None)[:2]
body = json.dumps({"response": {"coords": coords, "colours": colours}},
                  cls=PlotlyJSONEncoder).encode()
wire = gzip.compress(body, 6)
t2 = time.perf_counter()
# A recolour: the browser keeps its coordinates; only the colours come.
patch = scatter.render(result, {scatter.map_key: {"colour": "score"}}, None, coords)[1]
patch_body = json.dumps({"response": {"colours": patch}}, cls=PlotlyJSONEncoder)
if args.get("coords"):
    np.save(args["coords"], dashboard.context.coordinates(result))
print(json.dumps({"seconds": t2 - t0, "projection": t1 - t0, "status": status,
                  "peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                  "wire": len(wire), "patch_wire": len(gzip.compress(patch_body.encode(), 6))}))
"""

BASELINE_PCA = r"""
import gzip, json, resource, sys, time
t0 = time.perf_counter()
args = json.loads(sys.argv[1])
import polars as pl, plotly.express as px
from sklearn.decomposition import PCA
df = pl.read_parquet(args["path"])
X = df["embedding"].to_numpy()
Y = PCA(2).fit_transform(X)
labels = df["label"].to_numpy()
fig = px.scatter(x=Y[:, 0], y=Y[:, 1], color=labels, hover_name=labels, render_mode="webgl")
body = fig.to_json().encode()
wire = gzip.compress(body, 6)
t1 = time.perf_counter()
if args.get("html"):
    fig.write_html(args["html"], include_plotlyjs=True, div_id="graph")
print(json.dumps({"seconds": t1 - t0, "peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                  * 1024, "wire": len(wire), "raw": X.nbytes}))
"""

BASELINE_UMAP = r"""
import json, resource, sys, time
t0 = time.perf_counter()
args = json.loads(sys.argv[1])
import numpy as np, polars as pl, umap
X = pl.read_parquet(args["path"], columns=["embedding"])["embedding"].to_numpy()
if args.get("pca"):  # what an informed user runs: the same 50 components first
    from sklearn.decomposition import PCA
    X = PCA(args["pca"], random_state=0).fit_transform(X)
Y = umap.UMAP().fit_transform(X)
t1 = time.perf_counter()
np.save(args["coords"], Y.astype(np.float32))
print(json.dumps({"seconds": t1 - t0,
                  "peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
"""

# One process, after a warm-up fit: the second map in a running server, where numba's
# compiled code (much of pynndescent's is not cached on disk) is already in memory.
WARM_UMAP = r"""
import json, sys, time
args = json.loads(sys.argv[1])
import numpy as np, polars as pl, umap
from sklearn.manifold import trustworthiness
from dashboard.projection.runner import pca_first
from reducers.umap import UMAP
X = pl.read_parquet(args["path"], columns=["embedding"])["embedding"].to_numpy()
umap.UMAP(n_epochs=10).fit_transform(X[:20000])
start = time.perf_counter()
ours = UMAP().fit_transform(pca_first(X, 50, None)[0])
middle = time.perf_counter()
plain = umap.UMAP().fit_transform(X)
end = time.perf_counter()
rows = np.random.default_rng(0).choice(len(X), size=min(len(X), 5000), replace=False)
print(json.dumps({"ours": middle - start, "plain": end - middle,
                  "trust_ours": trustworthiness(X[rows], ours[rows], n_neighbors=10),
                  "trust_plain": trustworthiness(X[rows], plain[rows], n_neighbors=10)}))
"""

# Fill the numba cache for each side in its own process, as a machine that made one map
# before would have it: the dashboard turns numba caching on for umap-learn's and
# pynndescent's functions (`reducers.umap.enable_numba_cache`), plain umap-learn caches what it
# declares cacheable. Separate processes, because a function compiled before caching was
# turned on is never written to disk: warming plain umap-learn first in one process left the
# dashboard's first measured fit compiling for about 18 s (the 1.3x and 1.2x runs in
# docs/benchmarks.md). 10,000 rows of the benchmark's own table: the nearest-neighbour
# descent path, the same dtypes, a graph of several components.
WARM_PLAIN = r"""
import json, sys
import polars as pl, umap
args = json.loads(sys.argv[1])
X = pl.read_parquet(args["path"], columns=["embedding"], n_rows=10_000)["embedding"].to_numpy()
umap.UMAP(n_epochs=10).fit_transform(X)
"""
WARM_OURS = r"""
import json, sys
import polars as pl
from dashboard.projection.runner import pca_first
from reducers.umap import UMAP
args = json.loads(sys.argv[1])
X = pl.read_parquet(args["path"], columns=["embedding"], n_rows=10_000)["embedding"].to_numpy()
UMAP({"n_epochs": 10}).fit_transform(pca_first(X, 50, None)[0])
"""


def child(code: str, args: dict, env: dict[str, str] | None = None) -> dict:
    """Run ``code`` in a fresh interpreter; return the JSON it prints last."""
    out = subprocess.run(
        [sys.executable, "-c", code, json.dumps(args)],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=ROOT,
        timeout=3600,
    )
    if out.returncode:
        raise RuntimeError(f"benchmark step failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def dataset(workdir: Path, n: int, d: int) -> Path:
    path = workdir / f"clusters-{n}x{d}.parquet"
    if not path.exists():
        print(f"writing {path} ...", flush=True)
        subprocess.run(
            [sys.executable, "-c", GENERATE, str(n), str(d), str(path), str(CLUSTERS)], check=True
        )
    return path


def median(runs: list[dict]) -> dict:
    """The run with the median time (its memory and payload come with it)."""
    return sorted(runs, key=lambda r: r["seconds"])[len(runs) // 2]


def spread(runs: list[dict]) -> str:
    """Every run's time, fastest first."""
    return ", ".join(f"{r['seconds']:.1f}" for r in sorted(runs, key=lambda r: r["seconds"]))


def cached(path: Path) -> Path:
    """Read ``path`` once so every timed step finds it in the OS page cache alike."""
    with open(path, "rb") as fh:
        while fh.read(64 << 20):
            pass
    return path


def gb(nbytes: float) -> str:
    return f"{nbytes / 2**30:.2f} GiB"


def pca_rows(workdir: Path, sizes: list[int], d: int, browser: bool, repeat: int) -> None:
    print(f"\n## PCA first map, D = {d}\n")
    print(
        "| N | dashboard (runs) | plain (runs) | plain/dashboard | reopen "
        "| peak memory (x raw matrix) | plain peak | bytes/point first map | recolour "
        "| plain figure |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for n in sizes:
        path = dataset(workdir, n, d)
        cache = workdir / f"cache-pca-{n}"
        if cache.exists():
            subprocess.run(["rm", "-rf", str(cache)], check=True)
        html = workdir / f"plain-{n}.html"
        ours_runs, base_runs = [], []
        for _ in range(repeat):  # alternating, so both see the same machine state
            fresh = workdir / f"cache-pca-{n}-run"
            subprocess.run(["rm", "-rf", str(fresh)], check=True)
            args = {"path": str(cached(path)), "cache": str(fresh), "reducer": "pca"}
            ours_runs.append(child(OURS, args))
            args = {"path": str(cached(path)), "html": str(html) if browser else ""}
            base_runs.append(child(BASELINE_PCA, args))
        ours, base = median(ours_runs), median(base_runs)
        # Reopen: a first run fills `cache`, the second finds the projection there.
        child(OURS, {"path": str(cached(path)), "cache": str(cache), "reducer": "pca"})
        again = child(OURS, {"path": str(cached(path)), "cache": str(cache), "reducer": "pca"})
        raw = base["raw"]
        print(
            f"| {n:,} | {ours['seconds']:.1f} s ({spread(ours_runs)}) "
            f"| {base['seconds']:.1f} s ({spread(base_runs)}) "
            f"| {base['seconds'] / ours['seconds']:.1f}x | {again['projection']:.2f} s "
            f"(map {again['seconds']:.2f} s) | {gb(ours['peak'])} ({ours['peak'] / raw:.2f}x) "
            f"| {gb(base['peak'])} ({base['peak'] / raw:.2f}x) | {ours['wire'] / n:.2f} "
            f"| {ours['patch_wire'] / n:.2f} | {base['wire'] / n:.2f} |",
            flush=True,
        )
        assert "from cache" in again["status"], again["status"]


def umap_rows(workdir: Path, n: int, d: int) -> None:
    import numpy as np
    from sklearn.manifold import trustworthiness

    print(f"\n## UMAP, N = {n:,}, D = {d} (warm numba cache for both)\n")
    path = dataset(workdir, n, d)
    numba = workdir / "numba"
    env = {"NUMBA_CACHE_DIR": str(numba)}
    for warm_up in (WARM_PLAIN, WARM_OURS):
        subprocess.run(
            [sys.executable, "-c", warm_up, json.dumps({"path": str(path)})],
            env={**os.environ, **env},
            check=True,
            cwd=ROOT,
        )
    cache = workdir / f"cache-umap-{n}"
    if cache.exists():
        subprocess.run(["rm", "-rf", str(cache)], check=True)
    ours_coords, base_coords = workdir / "umap-ours.npy", workdir / "umap-plain.npy"
    args = {"path": str(path), "cache": str(cache), "reducer": "umap", "coords": str(ours_coords)}
    ours = child(OURS, {**args, "path": str(cached(path))}, env)
    base = child(BASELINE_UMAP, {"path": str(cached(path)), "coords": str(base_coords)}, env)
    pca_coords = workdir / "umap-plain-pca.npy"
    pca_args = {"path": str(cached(path)), "coords": str(pca_coords), "pca": 50}
    base_pca = child(BASELINE_UMAP, pca_args, env)
    import polars as pl

    X = pl.read_parquet(path, columns=["embedding"])["embedding"].to_numpy()
    rows = np.random.default_rng(0).choice(n, size=min(n, 5000), replace=False)
    trust_ours = trustworthiness(X[rows], np.load(ours_coords)[rows], n_neighbors=10)
    trust_base = trustworthiness(X[rows], np.load(base_coords)[rows], n_neighbors=10)
    trust_pca = trustworthiness(X[rows], np.load(pca_coords)[rows], n_neighbors=10)
    print("| | first map | peak memory | trustworthiness@10 (5,000 rows) |")
    print("|---|---|---|---|")
    print(
        f"| dashboard (PCA 50 first) | {ours['seconds']:.1f} s | {gb(ours['peak'])} "
        f"| {trust_ours:.4f} |"
    )
    print(
        f"| plain umap-learn on raw vectors | {base['seconds']:.1f} s | {gb(base['peak'])} "
        f"| {trust_base:.4f} |"
    )
    print(
        f"| plain umap-learn on scikit-learn's PCA 50 | {base_pca['seconds']:.1f} s "
        f"| {gb(base_pca['peak'])} | {trust_pca:.4f} |"
    )
    print(
        f"\nfresh processes, plain/dashboard: {base['seconds'] / ours['seconds']:.1f}x "
        f"(raw), {base_pca['seconds'] / ours['seconds']:.1f}x (PCA 50); trustworthiness "
        f"difference {trust_ours - trust_base:+.4f} (raw), {trust_ours - trust_pca:+.4f} "
        "(PCA 50)",
        flush=True,
    )
    warm = child(WARM_UMAP, {"path": str(path)}, env)
    print("\nWarm (one process, after a warm-up fit):\n")
    print("| | fit | trustworthiness@10 (5,000 rows) |")
    print("|---|---|---|")
    print(f"| dashboard (PCA 50 first) | {warm['ours']:.1f} s | {warm['trust_ours']:.4f} |")
    print(
        f"| plain umap-learn on raw vectors | {warm['plain']:.1f} s | {warm['trust_plain']:.4f} |"
    )
    print(
        f"\nwarm, plain/dashboard: {warm['plain'] / warm['ours']:.1f}x; trustworthiness "
        f"difference {warm['trust_ours'] - warm['trust_plain']:+.4f}",
        flush=True,
    )


def browser_rows(workdir: Path, sizes: list[int], d: int) -> None:
    import yaml
    from playwright.sync_api import sync_playwright

    from tests.chromium import launch
    from tests.servers import serve

    # Points plotly holds: the dashboard has every row in trace 0 (and empty ring traces),
    # the plain figure one trace a label.
    count = """(sel) => { const g = document.querySelector(sel);
        if (!g || !g._fullData) return 0;
        return g._fullData.reduce((n, t) => n + (t.x ? t.x.length : 0), 0); }"""
    # Two animation frames after the data arrived: the WebGL draw has reached the screen.
    painted = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
    print("\n## Browser: navigation to every point drawn (headless chromium, software GL)\n")
    print("| N | dashboard (projection cached) | plain figure HTML |")
    print("|---|---|---|")
    with sync_playwright() as pw:
        browser = launch(pw)
        for n in sizes:
            path = dataset(workdir, n, d)
            config = workdir / f"browser-{n}.yaml"
            table = {"path": str(path), "embedding": "embedding", "label": "label"}
            config.write_text(
                yaml.safe_dump(
                    {
                        "title": "scale",
                        "tables": {"t": table},
                        "cache_dir": str(workdir / f"cache-pca-{n}"),
                        # Every point drawn, as the baseline draws them (1M would
                        # otherwise be a density image: benchmarks/density.py).
                        "panels": [
                            {"type": "controls"},
                            {"type": "scatter", "table": "t", "density_above": 100_000_000},
                        ],
                    }
                )
            )
            timings = []
            with serve([sys.executable, "-m", "dashboard", "--config", str(config)]) as url:
                for target, selector in (
                    (url, "#scatter-1-graph .js-plotly-plot"),
                    (f"file://{workdir / f'plain-{n}.html'}", "#graph"),
                ):
                    page = browser.new_page(viewport={"width": 1400, "height": 900})
                    start = time.perf_counter()
                    page.goto(target, timeout=600_000)
                    page.wait_for_function(
                        f"() => ({count})('{selector}') >= {n}", timeout=600_000, polling=200
                    )
                    page.evaluate(painted)
                    timings.append(time.perf_counter() - start)
                    page.close()
            print(f"| {n:,} | {timings[0]:.1f} s | {timings[1]:.1f} s |", flush=True)
        browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--dims", type=int, default=768)
    parser.add_argument("--umap-rows", type=int, default=100_000)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "scale")
    parser.add_argument("--skip-umap", action="store_true")
    parser.add_argument("--skip-browser", action="store_true")
    parser.add_argument("--skip-pca", action="store_true")
    parser.add_argument("--repeat", type=int, default=3, help="first-map runs; median shown")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    print(f"# benchmarks/scale.py: {os.cpu_count()} cores, data in {args.workdir}")
    if not args.skip_pca:
        pca_rows(args.workdir, args.sizes, args.dims, not args.skip_browser, args.repeat)
    if not args.skip_browser:
        browser_rows(args.workdir, args.sizes, args.dims)
    if not args.skip_umap:
        umap_rows(args.workdir, args.umap_rows, args.dims)


if __name__ == "__main__":
    main()
