"""Tables in object storage, read from a local S3-compatible server (moto) on loopback."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from dashboard.errors import DataError
from dashboard.web.assemble import prepare
from tests.conftest import project
from tests.servers import local_dask_cluster, serve

MOTO = str(Path(sys.executable).with_name("moto_server"))
KEYS = {"aws_access_key_id": "test", "aws_secret_access_key": "test", "aws_region": "us-east-1"}


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory):
    """A moto S3 server with bucket `team` holding `emb/part-0.parquet` and `part-1`."""
    import boto3

    with serve([MOTO, "-H", "127.0.0.1"], port_args=lambda port: ["-p", str(port)]) as url:
        client = boto3.client(
            "s3",
            endpoint_url=url,
            aws_access_key_id="test",
            aws_secret_access_key="test",
            region_name="us-east-1",
        )
        client.create_bucket(Bucket="team")
        rng = np.random.default_rng(0)
        folder = tmp_path_factory.mktemp("s3")
        for part in range(2):
            frame = pl.DataFrame(
                {
                    "vec": rng.normal(size=(50, 8)).astype(np.float32),
                    "label": [f"p{part}-{i % 3}" for i in range(50)],
                }
            )
            frame.write_parquet(folder / f"part-{part}.parquet")
            client.upload_file(
                str(folder / f"part-{part}.parquet"), "team", f"emb/part-{part}.parquet"
            )
        # Parts whose names sort differently as text and as numbers, each its own row groups.
        for part in (2, 10, 1):
            frame = pl.DataFrame(
                {
                    "vec": rng.normal(part, 1, size=(40, 6)).astype(np.float32),
                    "label": [f"part{part}-{i}" for i in range(40)],
                }
            )
            frame.write_parquet(folder / "p.parquet", row_group_size=15)
            client.upload_file(str(folder / "p.parquet"), "team", f"order/part-{part}.parquet")
        yield url.rstrip("/")


def config(s3: str, path: str, **options: str) -> dict:
    storage = {**KEYS, "aws_endpoint_url": s3, "aws_allow_http": "true", **options}
    table = {"path": path, "label": "label", "storage_options": storage}
    return {"tables": {"t": table}, "panels": [{"type": "scatter"}]}


def test_a_table_in_s3_is_mapped(s3, write_config):
    dashboard = prepare(write_config(config(s3, "s3://team/emb/part-0.parquet")))
    request = {"table": "t", "reducer": "pca", "dims": 2, "params": {}}
    result, status = project(dashboard.context, request)
    assert result.n == 50
    assert "50 points x 8 dims" in status


def test_a_glob_of_parts_and_secrets_from_the_environment(s3, write_config, monkeypatch):
    monkeypatch.setenv("TEAM_S3_SECRET", "test")
    cfg = config(s3, "s3://team/emb/part-*.parquet", aws_secret_access_key="${TEAM_S3_SECRET}")
    dashboard = prepare(write_config(cfg))
    assert dashboard.context.datasets["t"].n_rows == 100
    monkeypatch.delenv("TEAM_S3_SECRET")
    with pytest.raises(
        DataError,
        match=r"`tables\.t\.storage_options\.aws_secret_access_key`: environment variable "
        r"'TEAM_S3_SECRET' is not set\nset TEAM_S3_SECRET",
    ):
        prepare(write_config(cfg))


def test_a_missing_object_names_the_table_and_url(s3, write_config):
    with pytest.raises(
        DataError,
        match=r"(?s)`tables\.t\.path`: cannot read 's3://team/emb/nope\.parquet'.*\ncheck the "
        r"URL, the table's `storage_options`",
    ):
        prepare(write_config(config(s3, "s3://team/emb/nope.parquet")))
    with pytest.raises(DataError, match=r"cannot tell the format of 's3://team/emb/data'"):
        prepare(write_config(config(s3, "s3://team/emb/data")))


def storage(s3: str) -> dict[str, str]:
    return {**KEYS, "aws_endpoint_url": s3, "aws_allow_http": "true"}


def polars_read(s3: str, path: str) -> pl.DataFrame:
    return pl.scan_parquet(path, storage_options=storage(s3)).collect()


@pytest.mark.parametrize("path", ["s3://team/order/part-*.parquet", "s3://team/order/"])
def test_s3_vectors_are_read_a_row_group_at_a_time_in_polars_row_order(s3, write_config, path):
    cfg = config(s3, path)
    cfg["tables"]["t"]["format"] = "parquet"  # a folder has no extension to tell it
    dataset = prepare(write_config(cfg)).context.datasets["t"]
    assert dataset.objects is not None
    assert [p.rsplit("/", 1)[1] for p in dataset.objects.paths] == [
        "part-1.parquet",
        "part-10.parquet",
        "part-2.parquet",
    ]
    expected = polars_read(s3, path)
    # The pyarrow route answers (the Polars route is only the fallback) ...
    fast = dataset._read_parquet_vectors()
    assert fast is not None
    # ... with the rows in the order of the table's labels, as Polars reads them.
    np.testing.assert_array_equal(fast, np.stack(expected["vec"].to_numpy()))
    assert dataset.metadata()["label"].to_list() == expected["label"].to_list()


def test_an_s3_table_is_named_by_its_listing_so_a_cached_map_needs_no_download(
    s3, write_config, tmp_path, monkeypatch
):
    cfg = {**config(s3, "s3://team/order/part-*.parquet"), "cache_dir": str(tmp_path / "c")}
    first = prepare(write_config(cfg))
    request = {"table": "t", "reducer": "pca", "dims": 2, "params": {}}
    made, _ = project(first.context, request)
    assert made is not None
    assert made.n == 120
    # A new server on the same cache: the fingerprint comes from the listing (sizes and
    # modification times), and the map from the cache, without reading a vector.
    second = prepare(write_config(cfg))
    dataset = second.context.datasets["t"]
    monkeypatch.setattr(
        type(dataset), "_build_matrix", lambda self: pytest.fail("vectors were downloaded")
    )
    assert dataset.fingerprint() == first.context.datasets["t"].fingerprint()
    again, _ = project(second.context, request)
    assert again.cached
    assert again.key == made.key
    np.testing.assert_array_equal(
        second.context.coordinates(again), first.context.coordinates(made)
    )


def test_an_s3_table_over_the_budget_is_streamed_into_its_matrix_file(
    s3, write_config, tmp_path, caplog
):
    path = "s3://team/order/part-*.parquet"
    cfg = {**config(s3, path), "cache_dir": str(tmp_path / "c"), "memory_budget": "1KB"}
    dataset = prepare(write_config(cfg)).context.datasets["t"]
    assert dataset.out_of_core
    with caplog.at_level("INFO", logger="dashboard"):
        matrix = dataset.matrix()
    assert isinstance(matrix, np.memmap)
    assert "reading it whole" not in caplog.text
    np.testing.assert_array_equal(matrix, np.stack(polars_read(s3, path)["vec"].to_numpy()))
    assert list((tmp_path / "c").rglob("vectors*.npy"))


def test_s3_options_pyarrow_lacks_leave_the_table_to_polars(s3, write_config):
    cfg = config(s3, "s3://team/order/part-*.parquet", aws_skip_signature="false")
    dataset = prepare(write_config(cfg)).context.datasets["t"]
    assert dataset.objects is None
    assert dataset.matrix().shape == (120, 6)


@pytest.mark.slow
def test_dask_workers_read_their_row_groups_from_s3(s3, write_config, tmp_path, monkeypatch):
    pytest.importorskip("distributed")
    path = "s3://team/order/part-*.parquet"
    request = {"table": "t", "reducer": "pca", "dims": 2}
    here = {**config(s3, path), "cache_dir": str(tmp_path / "here")}
    here["projection"] = {"sample": {"max_rows": 100}}
    local = prepare(write_config(here))
    expected = local.context.project_here(request)
    with local_dask_cluster(1) as address:
        remote = {**config(s3, path), "cache_dir": str(tmp_path / "remote")}
        remote["dask"] = {"address": address, "min_rows": 100, "fit_rows": 100}
        context = prepare(write_config(remote)).context
        monkeypatch.setattr(
            context.datasets["t"], "matrix", lambda: pytest.fail("read the matrix here")
        )
        try:
            result = context.project_here(request)
        finally:
            context.engine.close()
    assert result.key == expected.key
    assert (result.sample.fitted, result.sample.placed) == (100, 20)
    np.testing.assert_allclose(
        context.coordinates(result), local.context.coordinates(expected), rtol=1e-4, atol=1e-4
    )
