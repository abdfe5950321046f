"""Tables bigger than the memory budget: the matrix file, block passes that let pages go,
and maps computed from it equal to those computed in memory."""

from __future__ import annotations

import logging
import threading

import numpy as np
import polars as pl
import pytest

from dashboard.config import parse_config
from dashboard.data.matrix_file import gather_rows, release, row_blocks, write_matrix_file
from dashboard.errors import ConfigError


def mapped(tmp_path, X: np.ndarray) -> np.ndarray:
    path = tmp_path / "m.npy"
    np.save(path, X)
    return np.load(path, mmap_mode="r")


def resident_kb(array: np.ndarray) -> int:
    """Resident kB of the mapping that holds ``array`` (from /proc/self/smaps)."""
    address = array.ctypes.data
    with open("/proc/self/smaps") as smaps:
        lines = smaps.read().splitlines()
    for i, line in enumerate(lines):
        head = line.split()[0]
        if "-" in head and all(c in "0123456789abcdef-" for c in head):
            start, end = (int(x, 16) for x in head.split("-"))
            if start <= address < end:
                for detail in lines[i + 1 :]:
                    if detail.startswith("Rss:"):
                        return int(detail.split()[1])
    raise AssertionError("mapping not found")


def test_a_matrix_file_is_written_in_blocks_from_threads_in_any_order(tmp_path):
    X = np.random.default_rng(0).normal(size=(1000, 7)).astype(np.float32)
    path = tmp_path / "vectors.npy"

    def fill(put):
        starts = list(range(0, 1000, 64))[::-1]
        threads = [threading.Thread(target=put, args=(s, X[s : s + 64])) for s in starts]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return True

    assert write_matrix_file(path, X.shape, fill)
    np.testing.assert_array_equal(np.load(path), X)
    # An incomplete fill leaves neither the file nor a temporary one.
    assert not write_matrix_file(tmp_path / "cut.npy", X.shape, lambda put: False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["vectors.npy"]


def test_block_passes_let_the_pages_of_a_mapped_matrix_go(tmp_path):
    X = np.random.default_rng(1).normal(size=(40_000, 256)).astype(np.float32)  # 40 MB
    M = mapped(tmp_path, X)
    total = np.zeros(256)
    for start, rows in row_blocks(M, 4096):
        np.testing.assert_array_equal(rows, X[start : start + 4096])
        total += rows.sum(axis=0, dtype=np.float64)
    np.testing.assert_allclose(total, X.sum(axis=0, dtype=np.float64))
    assert resident_kb(M) < 2_000  # the last block's edge pages at most
    M.sum()  # a plain pass keeps every page
    assert resident_kb(M) > 30_000
    release(M, 0, len(M))
    assert resident_kb(M) < 100
    np.testing.assert_array_equal(M[123], X[123])  # read again from the file


def test_gather_rows_matches_fancy_indexing_and_lets_pages_go(tmp_path):
    X = np.random.default_rng(2).normal(size=(30_000, 128)).astype(np.float32)
    M = mapped(tmp_path, X)
    rows = np.random.default_rng(3).integers(0, 30_000, 5_000)  # unsorted, repeated
    np.testing.assert_array_equal(gather_rows(M, rows), X[rows])
    assert resident_kb(M) < 2_000
    np.testing.assert_array_equal(gather_rows(X, rows), X[rows])  # in memory: plain indexing
    assert gather_rows(M, np.zeros(0, np.int64)).shape == (0, 128)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("2GB", 2_000_000_000), ("1 GiB", 2**30), (4096, 4096), (None, None)],
)
def test_memory_budget_takes_sizes(value, expected):
    config = parse_config({"tables": {"t": {"path": "x.parquet"}}, "memory_budget": value})
    assert config.resolved_memory_budget() == expected


def test_memory_budget_auto_is_half_the_machine():
    config = parse_config({"tables": {"t": {"path": "x.parquet"}}})
    assert config.memory_budget == "auto"
    from dashboard.data.matrix_file import physical_memory

    assert config.resolved_memory_budget() == physical_memory() // 2


def test_a_bad_memory_budget_names_the_key():
    with pytest.raises(ConfigError, match=r"`memory_budget`.*lots"):
        parse_config({"tables": {"t": {"path": "x.parquet"}}, "memory_budget": "lots"})


def big_table(tmp_path, n=3000, d=24, fmt="parquet"):
    rng = np.random.default_rng(4)
    labels = rng.integers(0, 5, n)
    X = (rng.normal(0, 4, (5, d))[labels] + rng.normal(size=(n, d))).astype(np.float32)
    frame = pl.DataFrame({"vec": X, "label": labels.astype(str)})
    if fmt == "parquet":
        path = tmp_path / "big.parquet"
        frame.write_parquet(path, row_group_size=500)
    else:
        path = tmp_path / "big.csv"
        flat = {f"v{i}": X[:, i] for i in range(d)}
        pl.DataFrame({**flat, "label": labels.astype(str)}).write_csv(path)
    return path, X


def dashboard_of(write_config, path, budget, **projection):
    from dashboard.web.assemble import prepare

    embedding = "vec" if path.suffix == ".parquet" else "v*"
    table = {"path": str(path), "embedding": embedding, "label": "label"}
    # A cache each: the in-memory side would otherwise map the other's matrix file.
    cache = path.parent / f"cache-{budget}"
    config = {"tables": {"t": table}, "memory_budget": budget, "cache_dir": str(cache)}
    if projection:
        config["projection"] = projection
    return prepare(write_config(config))


def test_a_table_over_the_budget_is_decoded_into_its_file_and_mapped(write_config, tmp_path):
    path, X = big_table(tmp_path)
    dataset = dashboard_of(write_config, path, "100KB").context.datasets["t"]
    assert dataset.out_of_core
    matrix = dataset.matrix()
    assert isinstance(matrix, np.memmap)  # never a private copy in memory
    assert str(matrix.filename).startswith(str(tmp_path / "cache-100KB"))
    np.testing.assert_array_equal(matrix, X)
    within = dashboard_of(write_config, path, "1GB").context.datasets["t"]
    assert not within.out_of_core


@pytest.mark.parametrize("sample", [None, 700])
def test_maps_out_of_core_equal_maps_in_memory(write_config, tmp_path, sample):
    path, _ = big_table(tmp_path)
    projection = {"sample": {"max_rows": sample}} if sample else {}
    request = {"table": "t", "reducer": "pca", "dims": 2}
    coords = {}
    for budget in ("100KB", None):
        context = dashboard_of(write_config, path, budget, **projection).context
        dataset = context.datasets["t"]
        assert dataset.out_of_core is (budget is not None)
        result = context.project_here(request)
        coords[budget] = context.coordinates(result)
        assert not result.cached
        if budget:  # (in memory, the matrix is written to the cache after the fit)
            assert isinstance(dataset.matrix(), np.memmap)
        if sample:
            assert result.sample.fitted == sample
    assert np.isfinite(coords[None]).all()
    np.testing.assert_allclose(coords["100KB"], coords[None], rtol=1e-4, atol=1e-4)


def test_a_csv_over_the_budget_is_read_whole_and_says_so(write_config, tmp_path, caplog):
    path, X = big_table(tmp_path, fmt="csv")
    dataset = dashboard_of(write_config, path, "100KB").context.datasets["t"]
    with caplog.at_level(logging.WARNING, logger="dashboard"):
        matrix = dataset.matrix()
    np.testing.assert_allclose(matrix, X, rtol=1e-6)
    assert "only a parquet table (local or s3://) of one vector column" in caplog.text
