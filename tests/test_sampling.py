"""Sampling big tables: which rows are fitted, how the rest is placed, what the map says."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from dashboard.config import SampleConfig, TableConfig
from dashboard.data.sampling import sample_rows, strata_codes
from dashboard.data.sources import open_dataset
from dashboard.errors import ConfigError
from dashboard.plugin.manager import build_registry, get_plugin_manager
from dashboard.projection.request import Projection, ProjectionRequest, SampleSummary
from dashboard.projection.runner import run_projection
from dashboard.projection.store import ProjectionStore
from dashboard.web.assemble import prepare
from tests.conftest import blobs


@pytest.fixture
def setup(tmp_path):
    table = blobs(1200, d=8)
    # A rare class: 12 rows of 1,200 (1 %), which a uniform draw of 100 would often miss.
    table = table.with_columns(
        kind=pl.when(pl.col("id") % 100 == 0).then(pl.lit("rare")).otherwise(pl.lit("common"))
    )
    table.write_parquet(tmp_path / "t.parquet")
    pm = get_plugin_manager(load_entry_points=False)
    ds = open_dataset(
        "t",
        TableConfig(path=str(tmp_path / "t.parquet"), label="cluster", embedding="vec"),
        scan_hook=pm.hook.dashboard_scan_table,
        cache_dir=tmp_path,
        where="team.yaml",
    )
    return {"t": ds}, build_registry(pm), ProjectionStore(tmp_path / "cache")


def test_a_uniform_sample_is_sorted_unique_and_seeded():
    pool = np.arange(10, 1010)
    rows = sample_rows(pool, 100, seed=1)
    assert len(rows) == len(np.unique(rows)) == 100
    assert (np.diff(rows) > 0).all()
    assert np.isin(rows, pool).all()
    assert (sample_rows(pool, 100, seed=1) == rows).all()
    assert (sample_rows(pool, 100, seed=2) != rows).any()
    assert (sample_rows(pool, 5000) == pool).all()  # no more rows than asked: all of them


def test_a_stratified_sample_keeps_proportions_and_rare_values():
    values = np.array(["a"] * 9000 + ["b"] * 990 + ["c"] * 10)
    strata = strata_codes(pl.Series(values))
    rows = sample_rows(np.arange(len(values)), 200, strata=strata, seed=0)
    drawn = dict(zip(*np.unique(values[rows], return_counts=True), strict=True))
    assert len(rows) == 200
    assert abs(drawn["a"] - 180) <= 1
    assert abs(drawn["b"] - 19.8) <= 1
    assert drawn["c"] >= 1  # 0.2 by proportion: a rare value keeps one row
    nulls = strata_codes(pl.Series(["x", None, "x", None]))
    assert nulls[1] == nulls[3] != nulls[0]


def test_the_limit_comes_from_the_request_then_the_config_then_the_reducer():
    auto = SampleConfig()
    assert auto.limit(200_000) == 200_000
    assert auto.limit(None) is None  # PCA copes with any size
    assert auto.limit(None, asked=500) == 500
    assert SampleConfig(max_rows=1000).limit(None) == 1000
    assert SampleConfig(max_rows=None).limit(200_000) is None
    with pytest.raises(ValueError, match="greater than or equal to 100"):
        SampleConfig(max_rows=5)


def test_pca_fits_a_stratified_sample_and_places_the_rest(setup):
    datasets, registry, store = setup
    config = SampleConfig(max_rows=100, stratify="kind")
    full = run_projection(ProjectionRequest("t", "pca"), datasets, registry, store)
    assert full.sample is None  # `auto`: PCA is never sampled
    result = run_projection(ProjectionRequest("t", "pca"), datasets, registry, store, sample=config)
    assert result.sample == SampleSummary(fitted=100, of=1200, by="kind", placed=1100)
    assert result.key != full.key
    coords = store.load(result.key)
    assert np.isfinite(coords).all()  # every row has a place
    # Placed rows land in their planted cluster: the nearest fitted point shares it.
    meta = datasets["t"].metadata()
    fitted = sample_rows(np.arange(1200), 100, strata=strata_codes(meta["kind"]), seed=0)
    assert (meta["kind"].gather(fitted) == "rare").sum() == 1
    rest = np.setdiff1d(np.arange(1200), fitted)
    nearest = np.argmin(((coords[rest, None] - coords[None, fitted]) ** 2).sum(-1), axis=1)
    cluster = meta["cluster"].to_numpy()
    assert (cluster[rest] == cluster[fitted][nearest]).mean() > 0.98
    again = run_projection(ProjectionRequest("t", "pca"), datasets, registry, store, sample=config)
    assert again.cached is True


def test_tsne_cannot_place_the_rest_so_only_the_sample_is_drawn(setup):
    datasets, registry, store = setup
    request = ProjectionRequest("t", "tsne", params={"max_iter": 250}, max_rows=150)
    config = SampleConfig(stratify="cluster")
    result = run_projection(request, datasets, registry, store, sample=config)
    assert result.sample == SampleSummary(fitted=150, of=1200, by="cluster", placed=0)
    coords = store.load(result.key)
    shown = np.isfinite(coords).all(axis=1)
    assert shown.sum() == 150
    clusters = datasets["t"].metadata()["cluster"].to_numpy()[shown]
    assert sorted(np.unique(clusters, return_counts=True)[1]) == [50, 50, 50]


def test_an_isolated_subset_is_sampled_within_itself(setup):
    datasets, registry, store = setup
    rows = tuple(range(0, 1200, 2))
    request = ProjectionRequest("t", "pca", rows=rows, max_rows=100)
    config = SampleConfig(place_rest=False)
    result = run_projection(request, datasets, registry, store, sample=config)
    assert result.sample == SampleSummary(fitted=100, of=600, by=None, placed=0)
    shown = np.flatnonzero(np.isfinite(store.load(result.key)).all(axis=1))
    assert len(shown) == 100
    assert (shown % 2 == 0).all()


def test_status_and_map_say_the_map_is_sampled():
    def notice(sample: SampleSummary | None) -> str | None:
        return Projection("k", "t", "pca", 2, {}, 1_000_000, sample=sample).notice()

    placed = SampleSummary(fitted=200_000, of=1_000_000, by="label", placed=800_000)
    assert notice(placed) == (
        "fitted on 200,000 of 1,000,000 rows, sampled by `label`; "
        "the other 800,000 placed on the map with `transform`"
    )
    drawn = SampleSummary(fitted=200_000, of=1_000_000, by=None, placed=0)
    assert notice(drawn) == "showing 200,000 of 1,000,000 rows, sampled at random"
    assert notice(None) is None


def test_the_scatter_shows_the_sample_notice(write_config, tmp_path):
    blobs(600).write_parquet(tmp_path / "b.parquet")
    path = write_config(
        {
            "tables": {"b": {"path": str(tmp_path / "b.parquet"), "label": "cluster"}},
            "projection": {"sample": {"max_rows": 120, "stratify": "cluster", "place_rest": False}},
            "panels": [{"type": "scatter"}],
        }
    )
    from tests.conftest import project, render_map

    dashboard = prepare(path)
    result, status = project(
        dashboard.context, {"table": "b", "reducer": "pca", "dims": 2, "params": {}}
    )
    assert "· fitted on a sample of 120 ·" in status
    assert status == dashboard.context.describe(result)
    scatter = dashboard.panels[0]
    message = render_map(scatter, result, "cluster")["message"]
    assert [line.children for line in message.children] == [
        "showing 120 of 600 rows, sampled by `cluster`"
    ]


def test_an_unknown_stratify_column_is_a_config_error(write_config, tmp_path):
    blobs(60).write_parquet(tmp_path / "b.parquet")
    path = write_config(
        {
            "tables": {"b": {"path": str(tmp_path / "b.parquet")}},
            "projection": {"sample": {"stratify": "klass"}},
        }
    )
    with pytest.raises(
        ConfigError,
        match=r"`projection\.sample\.stratify`: no table has a column 'klass'\n"
        r"allowed values: .*'cluster'",
    ):
        prepare(path)
