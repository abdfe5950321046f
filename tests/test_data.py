"""Reading tables with Polars, resolving embedding columns, building float32 matrices."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from dashboard.config import TableConfig
from dashboard.data.dataset import Dataset
from dashboard.data.sources import open_dataset, resolve_files
from dashboard.errors import DataError
from dashboard.plugin.manager import get_plugin_manager
from tests.conftest import blobs


def open_table(path: Path | str, cache: Path, **options) -> Dataset:
    pm = get_plugin_manager(load_entry_points=False)
    config = TableConfig(path=str(path), **options)
    return open_dataset(
        "t", config, scan_hook=pm.hook.dashboard_scan_table, cache_dir=cache, where="team.yaml"
    )


@pytest.fixture
def frame() -> pl.DataFrame:
    return blobs()


@pytest.mark.parametrize(
    ("suffix", "writer"),
    [
        (".parquet", "write_parquet"),
        (".csv", "write_csv"),
        (".ndjson", "write_ndjson"),
        (".arrow", "write_ipc"),
    ],
)
def test_reads_each_format(tmp_path, frame, suffix, writer):
    path = tmp_path / f"t{suffix}"
    data = frame.drop("vec") if suffix == ".csv" else frame  # csv holds no lists
    getattr(data, writer)(path)
    ds = open_table(path, tmp_path, embedding="dim_*", label="cluster")
    assert ds.embedding_columns == [f"dim_{i}" for i in range(5)]
    m = ds.matrix()
    assert m.dtype == np.float32
    assert m.flags.c_contiguous
    np.testing.assert_allclose(m, frame.select("^dim_.*$").to_numpy(), rtol=1e-6)


def test_reads_a_glob_and_a_directory(tmp_path, frame):
    folder = tmp_path / "parts"
    folder.mkdir()
    frame.head(20).write_parquet(folder / "a.parquet")
    frame.tail(40).write_parquet(folder / "b.parquet")
    assert open_table(folder / "*.parquet", tmp_path).matrix().shape == (60, 5)
    ds = open_table(folder, tmp_path)
    assert ds.matrix().shape == (60, 5)
    assert ds.embedding_columns == ["vec"]


def test_mixed_formats_in_a_directory_are_refused(tmp_path, frame):
    frame.write_parquet(tmp_path / "a.parquet")
    frame.drop("vec").write_csv(tmp_path / "b.csv")
    with pytest.raises(DataError, match=r"mixes formats 'csv', 'parquet'\npoint `path:`"):
        open_table(tmp_path, tmp_path)


def test_unknown_extension_asks_for_format(tmp_path, frame):
    path = tmp_path / "t.data"
    frame.write_parquet(path)
    with pytest.raises(DataError, match=r"cannot tell the format .*t\.data.*\nset `format:`"):
        resolve_files(str(path), None, where="team.yaml")
    assert open_table(path, tmp_path, format="parquet").matrix().shape == (60, 5)


def test_missing_file_names_table_and_path(tmp_path):
    with pytest.raises(DataError, match=r"team\.yaml: `tables\.t\.path`: file not found: .*nope"):
        open_table(tmp_path / "nope.parquet", tmp_path)


def test_empty_glob(tmp_path):
    with pytest.raises(DataError, match=r"no table files match .*\*\.parquet"):
        open_table(tmp_path / "*.parquet", tmp_path)


def test_corrupt_file_is_reported(tmp_path):
    path = tmp_path / "t.parquet"
    path.write_bytes(b"not parquet at all")
    with pytest.raises(DataError, match=r"`tables\.t\.path`: cannot read"):
        open_table(path, tmp_path)


def test_default_embedding_is_the_only_vector_column(tmp_path, frame):
    frame.write_parquet(tmp_path / "t.parquet")
    ds = open_table(tmp_path / "t.parquet", tmp_path)
    assert ds.embedding_columns == ["vec"]
    assert ds.is_vector_column
    assert ds.matrix().shape == (60, 5)


def test_default_embedding_is_all_numeric_columns_but_roles(tmp_path, frame):
    frame.drop("vec").write_parquet(tmp_path / "t.parquet")
    ds = open_table(tmp_path / "t.parquet", tmp_path, id="id", label="cluster")
    assert ds.embedding_columns == [*(f"dim_{i}" for i in range(5)), "score"]


def test_several_vector_columns_open_on_the_first_and_offer_each(tmp_path, frame):
    frame.with_columns(other=pl.col("vec") * 2).write_parquet(tmp_path / "t.parquet")
    ds = open_table(tmp_path / "t.parquet", tmp_path)
    assert ds.embedding_columns == ["vec"]
    assert ds.embedding_choices == ["vec", "other", "numeric columns"]
    other = ds.variant("other")
    assert (other.name, other.base_name) == ("t [other]", "t")
    np.testing.assert_allclose(other.matrix(), ds.matrix() * 2)
    assert other.fingerprint() != ds.fingerprint()  # its own maps in the cache
    assert other.metadata_columns == ds.metadata_columns
    allowed = "'numeric columns', 'other', 'vec'"
    with pytest.raises(DataError, match=rf"no embedding 'nope'\nallowed values: {allowed}"):
        ds.variant("nope")


def test_explicit_column_list(tmp_path, frame):
    frame.write_parquet(tmp_path / "t.parquet")
    ds = open_table(tmp_path / "t.parquet", tmp_path, embedding=["dim_0", "dim_3"])
    np.testing.assert_allclose(ds.matrix(), frame.select("dim_0", "dim_3").to_numpy())


def test_unknown_embedding_column_lists_columns(tmp_path, frame):
    frame.write_parquet(tmp_path / "t.parquet")
    with pytest.raises(
        DataError,
        match=r"`tables\.t\.embedding`: column 'vek' not found in table 't'\n"
        r"available columns: .*'vec'",
    ):
        open_table(tmp_path / "t.parquet", tmp_path, embedding="vek")


def test_unknown_role_column(tmp_path, frame):
    frame.write_parquet(tmp_path / "t.parquet")
    with pytest.raises(DataError, match=r"`tables\.t\.label`: column 'labels' not found"):
        open_table(tmp_path / "t.parquet", tmp_path, label="labels")


def test_glob_matching_nothing(tmp_path, frame):
    frame.write_parquet(tmp_path / "t.parquet")
    with pytest.raises(DataError, match=r"pattern 'emb_\*' matches no column"):
        open_table(tmp_path / "t.parquet", tmp_path, embedding="emb_*")


def test_strings_in_embedding_columns(tmp_path, frame):
    frame.write_parquet(tmp_path / "t.parquet")
    with pytest.raises(DataError, match=r"must be numbers .*'cluster' is String"):
        open_table(tmp_path / "t.parquet", tmp_path, embedding=["dim_0", "cluster"])


def test_ragged_vectors_name_the_rows(tmp_path):
    pl.DataFrame({"v": [[1.0, 2.0], [3.0, 4.0], [5.0]]}).write_parquet(tmp_path / "t.parquet")
    ds = open_table(tmp_path / "t.parquet", tmp_path)
    with pytest.raises(
        DataError, match=r"different lengths \(row 0 has 2, rows \[2\] have \[1\]\)"
    ):
        ds.matrix()


def test_null_vectors_name_the_rows(tmp_path):
    pl.DataFrame({"v": [[1.0, 2.0], None, [5.0, 6.0]]}).write_parquet(tmp_path / "t.parquet")
    with pytest.raises(DataError, match=r"1 empty \(null\) vectors, first rows: \[1\]"):
        open_table(tmp_path / "t.parquet", tmp_path).matrix()


@pytest.mark.parametrize("dtype", [pl.Array(pl.Float32, 0), pl.List(pl.Float32)])
def test_empty_vectors_are_named_not_a_crash(tmp_path, dtype):
    """Zero-width vectors (both parquet paths) are bad data, not a division by zero."""
    pl.DataFrame({"v": pl.Series([[], []], dtype=dtype)}).write_parquet(tmp_path / "t.parquet")
    with pytest.raises(DataError, match=r"column 'v' holds empty vectors \(0 values each\)"):
        open_table(tmp_path / "t.parquet", tmp_path).matrix()


def test_list_of_ints_becomes_float32(tmp_path):
    pl.DataFrame({"v": [[1, 2, 3], [4, 5, 6]]}).write_parquet(tmp_path / "t.parquet")
    m = open_table(tmp_path / "t.parquet", tmp_path).matrix()
    assert m.dtype == np.float32
    np.testing.assert_array_equal(m, [[1, 2, 3], [4, 5, 6]])


def test_metadata_excludes_embedding_and_images(tmp_path, frame):
    frame.with_columns(img=pl.lit(b"png")).write_parquet(tmp_path / "t.parquet")
    ds = open_table(tmp_path / "t.parquet", tmp_path, embedding="vec", image="img")
    assert "vec" not in ds.metadata_columns
    assert "img" not in ds.metadata_columns
    assert {"cluster", "score", "text", "id"} <= set(ds.metadata_columns)
    assert ds.metadata().height == 60


def test_fingerprint_follows_the_file(tmp_path, frame):
    path = tmp_path / "t.parquet"
    frame.write_parquet(path)
    first = open_table(path, tmp_path).fingerprint()
    assert open_table(path, tmp_path).fingerprint() == first
    assert open_table(path, tmp_path, embedding="dim_*").fingerprint() != first
    frame.head(30).write_parquet(path)
    assert open_table(path, tmp_path).fingerprint() != first


def test_sklearn_digits_source(tmp_path):
    ds = open_table("sklearn://digits", tmp_path, label="label", image="image")
    assert ds.matrix().shape == (1797, 64)
    files = list((tmp_path / "datasets").glob("digits-v*.parquet"))
    assert len(files) == 1
    assert ds.metadata().get_column("label")[0] == "digit 0"
    image = pl.read_parquet(files[0])["image"][0]
    assert image.startswith(b"\x89PNG\r\n\x1a\n")


def test_unknown_plugin_source(tmp_path):
    with pytest.raises(
        DataError,
        match=r"unknown scikit-learn data set 'mnist'.*\nallowed values: 'sklearn://digits'",
    ):
        open_table("sklearn://mnist", tmp_path)
    with pytest.raises(
        DataError,
        match=r"no plugin reads 'ftp://host/t\.parquet'\nuse a local file, glob or "
        r"directory, an object-store URL \('abfs://', .*'s3://', 's3a://'\), or install a plugin",
    ):
        open_table("ftp://host/t.parquet", tmp_path)


def test_list_width_comes_from_the_first_row_not_the_matrix(tmp_path):
    pl.DataFrame({"v": [[1, 2, 3], [4, 5, 6]], "label": ["a", "b"]}).write_parquet(
        tmp_path / "t.parquet"
    )
    ds = open_table(tmp_path / "t.parquet", tmp_path, label="label")
    assert ds.n_dims == 3
    assert "matrix" not in ds._kept  # knowing the width read no vectors
    assert ds.caption(1) == "b"
    assert open_table(tmp_path / "t.parquet", tmp_path).caption(1) == "row 1"
