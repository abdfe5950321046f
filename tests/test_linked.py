"""Two pinned maps side by side: each projects its own table; selections link by `id`."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from dashboard.errors import ConfigError
from dashboard.web.assemble import prepare
from tests.conftest import project


def write_pair(folder, digits_path):
    """Table `a`: the digits; table `b`: the same rows shuffled, with rotated vectors."""
    a = pl.read_parquet(digits_path).select("id", "pixels", "target", "label")
    rng = np.random.default_rng(0)
    rotation, _ = np.linalg.qr(rng.normal(size=(64, 64)))
    order = rng.permutation(a.height)
    vectors = (a["pixels"].to_numpy() @ rotation).astype(np.float32)[order]
    b = a[order].with_columns(pl.Series("pixels", vectors).cast(pl.Array(pl.Float32, 64)))
    a.write_parquet(folder / "a.parquet")
    b.write_parquet(folder / "b.parquet")
    return {
        "a": {"path": str(folder / "a.parquet"), "label": "label", "id": "id"},
        "b": {"path": str(folder / "b.parquet"), "label": "label", "id": "id"},
    }


@pytest.fixture
def pair(tmp_path, write_config, digits_path):
    config = write_config(
        {
            "tables": write_pair(tmp_path, digits_path),
            "panels": [
                {"type": "scatter", "table": "a", "pinned": True, "width": 6},
                {"type": "scatter", "table": "b", "pinned": True, "width": 6},
                {"type": "controls", "width": 12},
            ],
        }
    )
    return prepare(config)


def test_pinned_maps_project_their_own_tables(pair):
    left, right = pair.panels[0], pair.panels[1]
    request = {"table": "a", "reducer": "pca", "dims": 2, "params": {}, "rows": [1, 2, 3]}
    assert left.own_request(request)["table"] == "a"
    assert right.own_request(request) == {**request, "table": "b", "rows": None}
    result, status = project(pair.context, right.own_request(request))
    assert status.startswith("PCA 2D · b · 1,797 points")
    assert result.table == "b"
    assert right.projection_store == "scatter-1-projection"


def test_a_selection_on_one_map_rings_the_same_ids_on_the_other(pair):
    left, right = pair.panels[0], pair.panels[1]
    a, b = pair.context.datasets["a"], pair.context.datasets["b"]
    request = {"table": "b", "reducer": "pca", "dims": 2, "params": {}}
    selection = {"table": "a", "rows": [0, 1, 2, 3, 4]}
    ring = right.linked_rings(selection, request)
    assert ring["table"] == "b"
    assert sorted(b.metadata()["id"].gather(ring["rows"]).to_list()) == [0, 1, 2, 3, 4]
    assert ring["label"] == "selected in a"
    assert ring["colour"] == "#d62728"
    # Its own selection is drawn as a selection, not as rings.
    assert left.linked_rings(selection, request)["rows"] == []
    assert a.name == "a"


def test_no_ids_no_link(tmp_path, write_config, digits_path):
    tables = write_pair(tmp_path, digits_path)
    tables["b"].pop("id")
    dashboard = prepare(write_config({"tables": tables}))
    scatter = next(p for p in dashboard.panels if p.name == "scatter")
    request = {"table": "b", "reducer": "pca", "dims": 2, "params": {}}
    assert scatter.linked_rings({"table": "a", "rows": [0]}, request)["rows"] == []


def test_a_pinned_map_needs_a_table(write_config, digits_path):
    path = write_config(
        {
            "tables": {"d": {"path": str(digits_path)}},
            "panels": [{"type": "scatter", "pinned": True}],
        }
    )
    with pytest.raises(ConfigError, match=r"`panels\[0\]\.pinned`: a pinned map needs a table"):
        prepare(path)
