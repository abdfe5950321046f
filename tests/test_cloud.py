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
from tests.servers import serve

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
