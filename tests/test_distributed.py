"""Maps of big tables on a Dask cluster of real worker processes (on loopback): the workers
read the sample and place the rest; the maps equal those computed in one process."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from dashboard.errors import ConfigError
from dashboard.projection.distributed import parquet_parts, read_part
from tests.servers import local_dask_cluster

distributed = pytest.importorskip("distributed")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def scheduler():
    with local_dask_cluster(2) as address:
        yield address


def write_table(folder, n=3000, d=24, files=2):
    rng = np.random.default_rng(4)
    labels = rng.integers(0, 5, n)
    X = (rng.normal(0, 6, (5, d))[labels] + rng.normal(size=(n, d))).astype(np.float32)
    folder.mkdir(parents=True, exist_ok=True)
    size = n // files
    for i in range(files):
        part = slice(i * size, n if i == files - 1 else (i + 1) * size)
        frame = pl.DataFrame({"vec": X[part], "label": labels[part].astype(str)})
        frame.write_parquet(folder / f"part-{i}.parquet", row_group_size=400)
    return folder, X, labels


def dashboard_of(write_config, folder, cache, dask=None, embedding="vec", **projection):
    from dashboard.web.assemble import prepare

    table = {"path": str(folder), "embedding": embedding, "label": "label"}
    config = {"tables": {"t": table}, "cache_dir": str(cache)}
    if dask is not None:
        config["dask"] = dask
    if projection:
        config["projection"] = projection
    return prepare(write_config(config))


def test_parts_are_the_row_groups_in_table_order(write_config, tmp_path):
    folder, X, _ = write_table(tmp_path / "t")
    dataset = dashboard_of(write_config, folder, tmp_path / "c").context.datasets["t"]
    parts = parquet_parts(dataset)
    assert [p.rows for p in parts] == [400, 400, 400, 300] * 2
    assert [p.first for p in parts][:5] == [0, 400, 800, 1200, 1500]
    np.testing.assert_array_equal(np.concatenate([read_part(p, "vec") for p in parts]), X)


def test_a_pca_map_on_the_cluster_equals_the_one_computed_here(
    write_config, tmp_path, scheduler, monkeypatch
):
    folder, _, _ = write_table(tmp_path / "t")
    request = {"table": "t", "reducer": "pca", "dims": 2}
    here = dashboard_of(write_config, folder, tmp_path / "here", sample={"max_rows": 700})
    local = here.context.project_here(request)
    dask = {"address": scheduler, "min_rows": 1000, "fit_rows": 700}
    remote = dashboard_of(write_config, folder, tmp_path / "remote", dask=dask)
    context = remote.context
    dataset = context.datasets["t"]
    # The server never reads the table's vectors: the workers do.
    monkeypatch.setattr(dataset, "matrix", lambda: pytest.fail("read the matrix here"))
    progress = []
    try:
        result = context.project_here(request, lambda f, m: progress.append(m))
    finally:
        context.engine.close()
    assert result.key == local.key  # the same sample, the same map, the same cache entry
    assert (result.sample.fitted, result.sample.placed) == (700, 2300)
    np.testing.assert_allclose(
        context.coordinates(result), here.context.coordinates(local), rtol=1e-4, atol=1e-4
    )
    assert progress[0] == "reading 700 rows on the cluster"
    assert "placing the rest on the cluster: 2,300 of 2,300" in progress


def test_small_or_non_parquet_tables_stay_on_the_server(write_config, tmp_path):
    folder, X, labels = write_table(tmp_path / "t")
    dask = {"address": "tcp://127.0.0.1:9", "min_rows": 1_000_000}
    context = dashboard_of(write_config, folder, tmp_path / "c", dask=dask).context
    result = context.project_here({"table": "t", "reducer": "pca", "dims": 2})
    assert result.sample is None  # never connected: no cluster at that address
    csv = tmp_path / "t.csv"
    pl.DataFrame({"a": X[:, 0], "b": X[:, 1], "c": X[:, 2], "label": labels}).write_csv(csv)
    other = dashboard_of(write_config, csv, tmp_path / "c2", dask=dask, embedding=["a", "b", "c"])
    assert parquet_parts(other.context.datasets["t"]) is None
    assert not other.context.engine.applies(other.context.datasets["t"])


def test_an_unreachable_scheduler_names_the_key(write_config, tmp_path):
    folder, _, _ = write_table(tmp_path / "t")
    dask = {"address": "tcp://127.0.0.1:9", "min_rows": 0, "connect_timeout": 2}
    context = dashboard_of(write_config, folder, tmp_path / "c", dask=dask).context
    with pytest.raises(
        ConfigError, match=r"`dask.address`: cannot reach the scheduler at 'tcp://127.0.0.1:9'"
    ):
        context.project_here({"table": "t", "reducer": "pca", "dims": 2})


def test_umap_on_a_local_cluster_places_every_row_by_its_cluster(write_config, tmp_path):
    folder, _, labels = write_table(tmp_path / "t", n=2400)
    dask = {"local_workers": 2, "min_rows": 0, "fit_rows": 800}
    context = dashboard_of(write_config, folder, tmp_path / "c", dask=dask).context
    request = {"table": "t", "reducer": "umap", "dims": 2, "params": {"n_epochs": 60}}
    try:
        result = context.project_here(request)
    finally:
        context.engine.close()
    coords = context.coordinates(result)
    assert np.isfinite(coords).all()
    assert (result.sample.fitted, result.sample.placed) == (800, 1600)
    means = np.array([coords[labels == c].mean(axis=0) for c in range(5)])
    nearest = np.argmin(((coords[:, None] - means[None]) ** 2).sum(axis=2), axis=1)
    assert (nearest == labels).mean() > 0.95


def test_the_neighbour_index_is_filled_on_the_cluster_as_it_is_here(
    write_config, tmp_path, scheduler, monkeypatch
):
    from dashboard.analysis import ann

    folder, X, _ = write_table(tmp_path / "t")
    here = ann.ApproximateIndex.build(X, "cosine")
    dask = {"address": scheduler, "min_rows": 1000}
    context = dashboard_of(write_config, folder, tmp_path / "c", dask=dask).context
    dataset = context.datasets["t"]
    dataset.keep_matrix_in(context.store, approximate_above=1000)
    # The server trains the index; the workers encode every row group.
    monkeypatch.setattr(ann, "row_blocks", lambda X: pytest.fail("encoded the rows here"))
    try:
        search = dataset.neighbors()
        assert search.fill is not None
        built = search.wait("cosine", timeout=120)
    finally:
        context.engine.close()
    assert built is not None
    assert built.index.ntotal == len(X)
    assert built.facts.recall == here.facts.recall
    for row in (0, 1234, 2999):
        found, distances = built.query(row, 10)
        expected, expected_distances = here.query(row, 10)
        np.testing.assert_array_equal(found, expected)
        np.testing.assert_allclose(distances, expected_distances, rtol=1e-5)
    assert "recall@10" in search.describe("cosine")
