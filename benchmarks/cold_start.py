"""Cold start: the first UMAP map of the demo digits in a fresh process.

    .venv/bin/python benchmarks/cold_start.py

Runs three fresh Python processes, each timing `import dashboard` + the app, then the first
UMAP projection of digits through `run_projection`:

1. with an empty numba cache directory (a new machine: numba compiles umap's code),
2. again with the cache that run filled (what the dashboard gives every later start),
3. the plain baseline, `import umap; umap.UMAP().fit_transform(X)` with an empty cache.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

OURS = """
import json, sys, time
t0 = time.perf_counter()
from dashboard.web.projecting import compute_projection
from dashboard.web.assemble import prepare
dashboard = prepare({"tables": {"digits": {"path": "sklearn://digits", "embedding": "pixels",
                     "label": "label"}}, "cache_dir": sys.argv[1]})
t1 = time.perf_counter()
result, status = compute_projection(
    {"table": "digits", "reducer": "umap", "dims": 2, "params": {}}, dashboard.context)
t2 = time.perf_counter()
print(json.dumps({"app": t1 - t0, "first_map": t2 - t1, "status": status}))
"""

BASELINE = """
import json, time
t0 = time.perf_counter()
import umap
from sklearn.datasets import load_digits
X = load_digits().data
t1 = time.perf_counter()
umap.UMAP().fit_transform(X)
t2 = time.perf_counter()
print(json.dumps({"app": t1 - t0, "first_map": t2 - t1}))
"""


def run(code: str, cache: Path, numba: Path) -> dict[str, float]:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(numba)}
    out = subprocess.run(
        [sys.executable, "-c", code, str(cache)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        cold = run(OURS, root / "cache-a", root / "numba")
        # A new projection cache, the same numba cache: the map is computed again, warm.
        warm = run(OURS, root / "cache-b", root / "numba")
        reopen = run(OURS, root / "cache-b", root / "numba")
        base = run(BASELINE, root / "unused", root / "numba-baseline")
    rows = [
        ("dashboard, new machine (numba compiles)", cold),
        ("dashboard, numba cache warm", warm),
        ("dashboard, reopen (projection cached)", reopen),
        ("plain umap-learn, new machine", base),
    ]
    for name, r in rows:
        total = r["app"] + r["first_map"]
        print(
            f"{name:42s} start {r['app']:5.1f} s  first map {r['first_map']:5.1f} s  "
            f"total {total:5.1f} s"
        )
    base_total = base["app"] + base["first_map"]
    warm_total = warm["app"] + warm["first_map"]
    print(f"ratio plain/dashboard with warm cache: {base_total / warm_total:.1f}x")


if __name__ == "__main__":
    main()
