"""The parquet fast path for embedding matrices agrees with Polars, or steps aside."""

from __future__ import annotations

import time

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dashboard.config import TableConfig
from dashboard.data.sources import open_dataset
from dashboard.data.vectors import read_parquet_vectors
from dashboard.errors import DataError
from dashboard.plugin.manager import get_plugin_manager


def vectors(n: int, d: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, d)).astype(np.float32)


@pytest.mark.parametrize("batch_rows", [None, 10])
@pytest.mark.parametrize("kind", ["array", "list"])
def test_files_and_row_groups_read_in_order(tmp_path, monkeypatch, kind, batch_rows):
    if batch_rows:  # several batches a row group, the last one short (64 = 6 x 10 + 4)
        monkeypatch.setattr("dashboard.data.vectors.BATCH_BYTES", batch_rows * 6 * 4)
    parts = [vectors(250, 6, 0), vectors(90, 6, 1)]
    files = []
    for i, X in enumerate(parts):
        series = pl.Series("vec", X) if kind == "array" else pl.Series("vec", X.tolist())
        path = tmp_path / f"part-{i}.parquet"
        pl.DataFrame({"id": np.arange(len(X)), "vec": series}).write_parquet(
            path, row_group_size=64
        )
        files.append(path)
    matrix = read_parquet_vectors(files, "vec", 340)
    assert matrix.dtype == np.float32
    assert matrix.flags["C_CONTIGUOUS"]
    np.testing.assert_array_equal(matrix, np.concatenate(parts))
    assert read_parquet_vectors(files, "vec", 339) is None  # the row counts disagree


def test_nulls_and_ragged_vectors_step_aside(tmp_path):
    ragged = tmp_path / "ragged.parquet"
    pq.write_table(pa.table({"vec": [[1.0, 2.0], [3.0]]}), ragged)
    assert read_parquet_vectors([ragged], "vec", 2) is None
    empty = tmp_path / "null.parquet"
    pq.write_table(pa.table({"vec": [[1.0, 2.0], None]}), empty)
    assert read_parquet_vectors([empty], "vec", 2) is None
    inner = tmp_path / "inner.parquet"
    pq.write_table(pa.table({"vec": [[1.0, None], [3.0, 4.0]]}), inner)
    assert read_parquet_vectors([inner], "vec", 2) is None


def test_the_dataset_uses_it_and_still_explains_bad_vectors(tmp_path):
    pm = get_plugin_manager(load_entry_points=False)

    def dataset(path):
        config = TableConfig(path=str(path), embedding="vec")
        return open_dataset(
            "t", config, scan_hook=pm.hook.dashboard_scan_table, cache_dir=tmp_path, where="x.yaml"
        )

    X = vectors(100, 4, 2)
    good = tmp_path / "good.parquet"
    pl.DataFrame({"vec": X}).write_parquet(good)
    np.testing.assert_array_equal(dataset(good).matrix(), X)
    ragged = tmp_path / "ragged.parquet"
    pq.write_table(pa.table({"vec": [[1.0, 2.0], [3.0]]}), ragged)
    with pytest.raises(DataError, match=r"column 'vec' holds vectors of different lengths"):
        dataset(ragged).matrix()


def test_the_matrix_is_kept_once_on_disk_and_mapped_by_every_process(write_config, digits_path):
    from dashboard.web.assemble import prepare

    config = write_config({"tables": {"digits": {"path": str(digits_path)}}})
    dataset = prepare(config).context.datasets["digits"]
    dataset.matrix()  # decoded here; written to the cache and mapped in the background
    deadline = time.monotonic() + 30
    while not isinstance(dataset.matrix(), np.memmap) and time.monotonic() < deadline:
        time.sleep(0.05)
    first = dataset.matrix()
    assert isinstance(first, np.memmap)  # then mapped from the cache, not a private copy
    assert not first.flags.writeable
    # Another process (a reducer worker) maps the same file and decodes nothing.
    again = prepare(config).context.datasets["digits"]
    again._build_matrix = lambda: pytest.fail("decoded the table again")
    second = again.matrix()
    assert second.filename == first.filename
    np.testing.assert_array_equal(second, first)


def test_the_matrix_is_kept_after_the_fit_that_reads_it(write_config, digits_path):
    """Writing the cache beside a fit slowed a 1M-row PCA from 2 s to 6 s: it waits."""
    from dashboard.web.assemble import prepare

    config = write_config({"tables": {"digits": {"path": str(digits_path)}}})
    dataset = prepare(config).context.datasets["digits"]
    with dataset.fitting():
        built = dataset.matrix()
        time.sleep(0.5)  # the writer would have finished by now (it takes ~10 ms here)
        assert dataset.matrix() is built
        assert not list(dataset._matrix_store.root.glob("vectors*.npy"))
    deadline = time.monotonic() + 30
    while not isinstance(dataset.matrix(), np.memmap) and time.monotonic() < deadline:
        time.sleep(0.05)
    np.testing.assert_array_equal(dataset.matrix(), built)
