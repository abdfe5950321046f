"""Every benchmark at reduced sizes, in one command, with one table of ratios.

    .venv/bin/python benchmarks/run_all.py              # about 8 minutes on 2 cores
    .venv/bin/python benchmarks/run_all.py --only tsne pca

Each benchmark runs as its own process with small arguments, and the ratio it prints against
its plain baseline (measured in the same run) is read from its output. A benchmark that
fails, or whose output no longer holds its ratio (a script left behind by an API change),
is a failed row, and the command exits 1: a regression is visible in one command. The full
sizes and their results are in docs/benchmarks.md; these small runs are for comparing
commits on one machine, not for quoting.

Left out: the whole UMAP map against umap-learn (`scale.py --skip-pca`) and the cold start
(`cold_start.py`). Both compile numba's code in empty caches, which alone takes minutes
here; run them by themselves.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Step:
    """One benchmark run: its name, arguments, and how its ratios are read."""

    name: str
    script: str
    args: tuple[str, ...]
    #: A regex with two groups: what the ratio is of, and the ratio ("4.38x" or "4.38").
    ratio: str
    #: How to read the ratio.
    meaning: str


def steps(workdir: Path) -> list[Step]:
    """The benchmarks and their reduced sizes."""
    scale = ("--workdir", str(workdir / "scale"))
    return [
        Step(
            "tsne",
            "tsne_method.py",
            ("--sizes", "5000"),
            r"^\| ((?:digits|clusters)[^|]*?) \|[^|]*\|[^|]*\| ([\d.]+)x \|",
            "scikit-learn's TSNE time / the dashboard's (higher is better)",
        ),
        Step(
            "pca",
            "scale.py",
            ("--sizes", "100000", "--skip-umap", "--skip-browser", "--repeat", "1", *scale),
            r"^\| ([\d,]+) \| [^|]+\| [^|]+\| ([\d.]+)x \|",
            "first PCA map, plain script / dashboard, rows (higher is better)",
        ),
        Step(
            "umap-layout",
            "umap_layout.py",
            ("--rows", "20000", "--loop-only", "10", "--repeats", "2"),
            r"^(umap-learn)/dashboard: ([\d.]+)x",
            "layout loop, umap-learn / dashboard (higher is better)",
        ),
        Step(
            "neighbours",
            "neighbors.py",
            ("--rows", "20000", "--dims", "256", "--queries", "10"),
            r"^(\w+)\s+[\d,]+ x \d+: .*ratio ([\d.]+)x",
            "k-NN query, scikit-learn brute force / dashboard (higher is better)",
        ),
        Step(
            "selection",
            "selection.py",
            ("--rows", "20000", "--select", "2000", "--repeats", "3"),
            r"^ratio (dashboard/baseline): ([\d.]+)x",
            "server time of a selection's requests / gathering the rows (lower is better)",
        ),
        Step(
            "hover-images",
            "hover_images.py",
            ("--rows", "5000", "--requests", "100"),
            r"^ratio (baseline/dashboard) \(median\): ([\d.]+)x",
            "image request, read_parquet per request / dashboard (higher is better)",
        ),
        Step(
            "load",
            "load.py",
            ("--clients", "8", "--seconds", "5", "--workers", "1", "--threads", "4"),
            r"^(\w+): dashboard throughput is ([\d.]+)x",
            "requests a second, dashboard / a plain Flask route doing nothing (higher is better)",
        ),
        Step(
            "images-on-map",
            "images_on_map.py",
            ("--rows", "2000", "--steps", "5"),
            r"^\| (2D zoom|3D turn) \|[^|]*\|[^|]*\| ([\d.]+)x \|",
            "ms a step, images / plotly's dots alone (lower is better)",
        ),
        Step(
            "out-of-core",
            "out_of_core.py",
            (
                "--rows",
                "300000",
                "--dims",
                "64",
                "--budget",
                "20MB",
                "--skip-umap",
                "--workdir",
                str(workdir / "ooc"),
            ),
            r"^\s+ratio to (the decode floor): ([\d.]+)x",
            "first PCA map of a table over the memory budget / decoding it (lower is better)",
        ),
        Step(
            "density",
            "density.py",
            ("--rows", "1000000", "--repeat", "2"),
            r"^\s+image of (.+?)\s+\d+ ms .*: ([\d.]+)x",
            "a density image / numpy's histogram2d of the same points (lower is better)",
        ),
    ]


def run(step: Step, timeout: float) -> tuple[float, list[tuple[str, str]], str]:
    """Run ``step``: (seconds, [(what, ratio)], error text or "")."""
    start = time.perf_counter()
    try:
        out = subprocess.run(
            [sys.executable, str(HERE / step.script), *step.args],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=HERE.parent,
        )
    except subprocess.TimeoutExpired:
        return time.perf_counter() - start, [], f"stopped after {timeout:g} s"
    seconds = time.perf_counter() - start
    if out.returncode != 0:
        last = (out.stderr.strip().splitlines() or ["no output"])[-1]
        return seconds, [], f"exit {out.returncode}: {last}"
    found = [(m.group(1), m.group(2)) for m in re.finditer(step.ratio, out.stdout, re.M)]
    if not found:
        return seconds, [], "its output holds no ratio (has the script's output changed?)"
    return seconds, found, ""


def main() -> int:
    names = [s.name for s in steps(Path())]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=names, help="run these benchmarks only")
    parser.add_argument("--timeout", type=float, default=300, help="seconds a benchmark")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="dashboard-benchmarks-"))
    chosen = [s for s in steps(workdir) if not args.only or s.name in args.only]
    print(f"# benchmarks/run_all.py: {len(chosen)} benchmarks at reduced sizes\n", flush=True)
    print("| benchmark | measure | ratio | what the ratio is | time |")
    print("|---|---|---|---|---|", flush=True)
    failed = 0
    began = time.perf_counter()
    for step in chosen:
        seconds, ratios, error = run(step, args.timeout)
        if error:
            failed += 1
            print(f"| {step.name} | FAILED | | {error} | {seconds:.0f} s |", flush=True)
            continue
        for what, ratio in ratios:
            cells = (step.name, what, f"{float(ratio):.2f}x", step.meaning, f"{seconds:.0f} s")
            print("| " + " | ".join(cells) + " |", flush=True)
    print(f"\n{len(chosen) - failed} of {len(chosen)} ran in {time.perf_counter() - began:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
