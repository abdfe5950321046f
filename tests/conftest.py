"""Shared fixtures: a per-session cache with the digits table, config writers, small tables."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
import yaml

# JIT-compiled umap/pynndescent code is cached per machine, as the app does in its cache dir.
os.environ.setdefault(
    "NUMBA_CACHE_DIR", str(Path.home() / ".cache" / "embedding-dashboard" / "numba")
)

from dashboard.data.sklearn_source import materialise
from dashboard.projection.request import Projection


def project(context: Any, request: dict[str, Any]) -> tuple[Projection | None, Any]:
    """Run the page's projection callback body, and read its store value back as a panel's
    callback does: (projection or None, status line or error alert)."""
    from dashboard.web.projecting import compute_projection

    stored, status = compute_projection(request, context)
    return Projection.from_store(stored), status


def render_map(
    scatter: Any,
    projection: Any,
    colour: str | None = None,
    *,
    size: str | None = None,
    hidden: tuple[str, ...] = (),
    filters: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A scatter panel's data callback as the page runs it, its outputs by name: ``coords``,
    ``colours``, ``mask``, ``legend``, ``message``."""
    state = {"colour": colour, "size": size, "hidden": list(hidden)}
    outputs = scatter.render(projection, {scatter.map_key: state}, filters)
    return dict(zip(("coords", "colours", "mask", "legend", "message"), outputs, strict=True))


def drawn_rows(coords: dict[str, Any], mask: dict[str, Any] | None) -> np.ndarray:
    """Rows the page's script draws: with coordinates, kept by the mask."""
    from tests.figures import decode

    x, y = decode(coords["x"]), decode(coords["y"])
    keep = np.isfinite(x) & np.isfinite(y)
    if coords.get("z"):
        keep &= np.isfinite(decode(coords["z"]))
    if mask and mask["shown"]:
        keep &= decode(mask["shown"]).astype(bool)
    return np.flatnonzero(keep)


@pytest.fixture(scope="session")
def session_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="session")
def digits_path(session_cache: Path) -> Path:
    """sklearn's digits written as parquet (1797 rows, `pixels` Array(Float32, 64))."""
    return materialise("digits", session_cache)


@pytest.fixture(scope="session")
def digits(digits_path: Path) -> tuple[np.ndarray, np.ndarray]:
    df = pl.read_parquet(digits_path)
    return df["pixels"].to_numpy().astype(np.float32), df["target"].to_numpy()


@pytest.fixture
def write_config(tmp_path: Path):
    """Write a config mapping as YAML in ``tmp_path``; return its path."""

    def write(data: dict[str, Any], name: str = "team.yaml") -> Path:
        data = {"cache_dir": str(tmp_path / "cache"), **data}
        path = tmp_path / name
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        return path

    return write


def digits_table(digits_path: Path) -> dict[str, str]:
    """The digits table's entry in a test config (vectors, label, images, ids)."""
    return {
        "path": str(digits_path),
        "embedding": "pixels",
        "label": "label",
        "image": "image",
        "id": "id",
    }


@pytest.fixture
def demo_config(write_config, digits_path: Path) -> Path:
    """The demo config pointed at the session's digits parquet."""
    return write_config(
        {
            "title": "Digits test",
            "tables": {"digits": digits_table(digits_path)},
            "projection": {"reducer": "pca", "dims": 2},
            "panels": [
                {"type": "controls"},
                {"type": "scatter", "color": "target"},
                {"type": "gallery", "limit": 5},
                {"type": "search"},
                {"type": "neighbors", "k": 5, "metric": "euclidean"},
                {"type": "table", "limit": 3},
                {"type": "filter"},
            ],
        }
    )


ROOT = Path(__file__).resolve().parents[1]


def run_writer_examples(folder: Path) -> None:
    """Run the W&B and Comet writer examples as a user would, writing `folder/runs`."""

    for example in ("wandb_digits.py", "comet_epochs.py"):
        subprocess.run(
            [sys.executable, str(ROOT / "examples" / "writer" / example)],
            cwd=folder,
            check=True,
            timeout=120,
        )


@pytest.fixture
def no_active_run() -> Iterator[None]:
    """Finish the writer's active run, if a test left one, when the test ends."""
    import dashboard

    yield
    dashboard.finish()


def blobs(n: int = 60, d: int = 5, seed: int = 0) -> pl.DataFrame:
    """A small table: 3 planted clusters, a vector column, numeric dims, label and text."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 10, (3, d))
    group = np.arange(n) % 3
    X = (centres[group] + rng.normal(0, 1, (n, d))).astype(np.float32)
    return pl.DataFrame(
        {
            "id": np.arange(n),
            "vec": X,
            **{f"dim_{i}": X[:, i] for i in range(d)},
            "cluster": [f"c{g}" for g in group],
            "score": rng.random(n),
            "text": [f"item {i}" for i in range(n)],
        }
    )


EXAMPLE_PLUGINS = ROOT / "examples" / "plugins"


@pytest.fixture(scope="session")
def plugin_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The two example packages pip-installed into a directory of their own (a user's
    `pip install`, kept out of the test environment's site-packages)."""
    site = tmp_path_factory.mktemp("plugin-site")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-build-isolation",  # offline: build with the environment's setuptools
            "--target",
            str(site),
            str(EXAMPLE_PLUGINS / "dashboard-isomap"),
            str(EXAMPLE_PLUGINS / "dashboard-label-counts"),
        ],
        check=True,
        timeout=300,
    )
    return site


def with_site(site: Path) -> dict[str, str]:
    """The environment of a process that sees the packages installed in ``site``."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(ROOT)])}


def open_table(folder: Path, frame: pl.DataFrame, **table: Any) -> tuple[dict, Any, Any]:
    """``frame`` written as table ``t`` in ``folder`` and opened as the app opens tables:
    (datasets by name, the built-in registry, a projection store in ``folder/cache``)."""
    from dashboard.config import TableConfig
    from dashboard.data.sources import open_dataset
    from dashboard.plugin.manager import build_registry, get_plugin_manager
    from dashboard.projection.store import ProjectionStore

    frame.write_parquet(folder / "t.parquet")
    pm = get_plugin_manager(load_entry_points=False)
    dataset = open_dataset(
        "t",
        TableConfig(path=str(folder / "t.parquet"), **table),
        scan_hook=pm.hook.dashboard_scan_table,
        cache_dir=folder,
        where="team.yaml",
    )
    return {"t": dataset}, build_registry(pm), ProjectionStore(folder / "cache")
