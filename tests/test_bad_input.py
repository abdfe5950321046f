"""A corpus of bad input, each through the path a user takes (config -> prepare -> map): each
gives a clear message naming the file, table or column, and nothing crashes."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import yaml
from dash import no_update

from dashboard.errors import ConfigError, DataError
from dashboard.web.assemble import prepare
from dashboard.web.projecting import compute_projection
from tests.conftest import project, render_map

RNG = np.random.default_rng(0)


def vectors(rows: list[list[float]]) -> pl.DataFrame:
    return pl.DataFrame({"v": rows})


# name -> (table, table config, request overrides, message the map shows)
MAP_ERRORS = {
    "ragged vectors": (
        vectors([[1.0, 2.0], [1.0], [3.0, 4.0]] * 3),
        {},
        {},
        r"`tables\.t\.embedding`: column 'v' holds vectors of different lengths \(row 0 has 2, "
        r"rows \[1, 4, 7\] have \[1, 1, 1\]\)\nevery row needs a vector of the same length",
    ),
    "NaN vectors": (
        vectors([[1.0, 2.0], [np.nan, 1.0], [3.0, 4.0]] * 3),
        {},
        {},
        r"table 't': pca: input has NaN or infinite values in 3 of 9 rows \(first rows: "
        r"\[1, 4, 7\]\); values beyond float32's range \(about ±3\.4e38\) overflow to "
        r"infinity when the table is read\ndrop, impute or rescale those rows",
    ),
    "infinite vectors": (
        vectors([[1.0, np.inf], [2.0, 1.0], [3.0, 4.0]] * 3),
        {},
        {},
        r"table 't': pca: input has NaN or infinite values in 3 of 9 rows",
    ),
    "values beyond float32": (
        vectors([[1.0, 1e300], [2.0, 1.0], [3.0, 4.0]] * 3),
        {},
        {},
        r"NaN or infinite values in 3 of 9 rows .*overflow to infinity",
    ),
    "identical vectors": (
        vectors([[1.0, 2.0, 3.0]] * 30),
        {},
        {},
        r"table 't': the rows: all 30 vectors are the same: a map of them would be one point",
    ),
    "empty table": (
        pl.DataFrame({"v": pl.Series([], dtype=pl.List(pl.Float32))}),
        {},
        {},
        r"table 't': pca: needs at least 2 rows, got 0\nadd rows to the table",
    ),
    "one-row table": (
        vectors([[1.0, 2.0, 3.0]]),
        {},
        {},
        r"table 't': pca: needs at least 2 rows, got 1",
    ),
    "1-D embedding": (
        pl.DataFrame({"x": np.arange(20.0)}),
        {},
        {},
        r"table 't': pca: a 2D map needs at least 2 embedding dimensions, got 1\ncheck the "
        r"table's `embedding:` columns",
    ),
    "unknown reducer": (
        pl.DataFrame({"v": RNG.random((30, 4)).astype(np.float32)}),
        {},
        {"reducer": "nope"},
        r"`projection\.reducer`: unknown reducer 'nope'\n"
        r"allowed values: 'as_logged', 'pca', 'tsne', 'umap'",
    ),
    "unknown param": (
        pl.DataFrame({"v": RNG.random((30, 4)).astype(np.float32)}),
        {},
        {"params": {"bogus": 1}},
        r"pca: unknown parameter `bogus`\nallowed parameters: 'whiten', 'svd_solver'",
    ),
    "param out of range": (
        pl.DataFrame({"v": RNG.random((30, 4)).astype(np.float32)}),
        {},
        {"reducer": "umap", "params": {"n_neighbors": 1}},
        r"umap: `n_neighbors`",
    ),
}


def write(folder: Path, frame: pl.DataFrame, table: dict) -> Path:
    path = folder / "t.parquet"
    frame.write_parquet(path)
    config = {"tables": {"t": {"path": str(path), **table}}, "cache_dir": str(folder / "cache")}
    (folder / "team.yaml").write_text(yaml.safe_dump(config))
    return folder / "team.yaml"


@pytest.mark.parametrize("case", list(MAP_ERRORS))
def test_bad_data_or_request_is_explained_on_the_map(tmp_path, case):
    frame, table, request, message = MAP_ERRORS[case]
    dashboard = prepare(write(tmp_path, frame, table))
    full = {"table": "t", "reducer": "pca", "dims": 2, "params": {}, **request}
    stored, status = compute_projection(full, dashboard.context)
    assert stored is no_update  # nothing half-made is stored or shown
    assert status.color == "danger"
    assert re.search(message, status.children), status.children


def test_strings_in_numeric_embedding_columns_name_the_column(tmp_path):
    frame = pl.DataFrame({"a": ["1", "2", "x"] * 5, "b": [1.0, 2.0, 3.0] * 5})
    with pytest.raises(
        DataError,
        match=r"`tables\.t\.embedding`: embedding columns must be numbers \(or one list/array "
        r"column\): 'a' is String\npick numeric columns",
    ):
        prepare(write(tmp_path, frame, {"embedding": ["a", "b"]}))


def test_duplicate_column_names_are_refused(tmp_path):
    (tmp_path / "dup.csv").write_text("a,a,b\n1,2,3\n4,5,6\n7,8,9\n")
    config = {"tables": {"t": {"path": str(tmp_path / "dup.csv")}}}
    (tmp_path / "team.yaml").write_text(yaml.safe_dump(config))
    with pytest.raises(
        DataError,
        match=r"`tables\.t\.path`: '.*dup\.csv' has duplicate column names: 'a'\nrename the",
    ):
        prepare(tmp_path / "team.yaml")


def test_a_10000_dim_embedding_maps(tmp_path):
    frame = pl.DataFrame({"v": RNG.random((50, 10_000)).astype(np.float32)})
    dashboard = prepare(write(tmp_path, frame, {}))
    request = {"table": "t", "reducer": "pca", "dims": 2, "params": {}}
    result, status = project(dashboard.context, request)
    assert result.n == 50
    assert "50 points x 10,000 dims" in status


def test_huge_labels_are_cut_where_they_are_shown(tmp_path):
    label = "word " * 20_000  # 100,000 characters
    frame = pl.DataFrame(
        {"v": RNG.random((30, 4)).astype(np.float32), "label": [label, "short"] * 15}
    )
    dashboard = prepare(write(tmp_path, frame, {"label": "label"}))
    dataset = dashboard.context.datasets["t"]
    assert len(dataset.caption(0)) == 200
    assert dataset.caption(0).endswith("…")
    assert dataset.caption(1) == "short"
    request = {"table": "t", "reducer": "pca", "dims": 2, "params": {}}
    result, _ = project(dashboard.context, request)
    scatter = next(p for p in dashboard.panels if p.name == "scatter")
    legend = render_map(scatter, result, "label")["legend"]
    names = [item.children[1] for item in legend[1:]]
    assert max(len(n) for n in names) == 60
    assert dataset.metadata()["label"][0] == label  # the data itself is intact


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("tables: {t: {path: x.parquet}\n  - broken", r"invalid YAML at line 2, column 3"),
        ("", r"the config is empty\nit needs at least `tables:`"),
        ("- a\n- b\n", r"must be a mapping"),
        ("tables: {}\n", r"`tables`"),
        ("tables: {t: {path: x.parquet, colour: red}}\n", r"`tables\.t\.colour`"),
    ],
)
def test_malformed_yaml_names_the_file_and_place(tmp_path, text, message):
    (tmp_path / "team.yaml").write_text(text)
    with pytest.raises(ConfigError, match=rf"team\.yaml.*{message}"):
        prepare(tmp_path / "team.yaml")


def test_twice_named_keys_are_refused_naming_both_lines(tmp_path):
    text = "tables:\n  a: {path: x.parquet}\ntitle: t\ntables:\n  b: {path: y.parquet}\n"
    (tmp_path / "team.yaml").write_text(text)
    with pytest.raises(ConfigError, match=r"team\.yaml: `tables` appears twice, at lines 1 and 4"):
        prepare(tmp_path / "team.yaml")
    nested = "tables:\n  a: {path: x.parquet, label: y, label: z}\n"
    (tmp_path / "team.yaml").write_text(nested)
    with pytest.raises(ConfigError, match=r"`label` appears twice, at lines 2 and 2"):
        prepare(tmp_path / "team.yaml")


def test_a_config_that_is_not_utf8_says_where(tmp_path):
    (tmp_path / "team.yaml").write_bytes(b"title: caf\xe9\ntables: {}\n")
    with pytest.raises(ConfigError, match=r"team\.yaml: not UTF-8 text: byte 0xe9 at line 1\n"):
        prepare(tmp_path / "team.yaml")


@pytest.mark.parametrize(
    ("cache", "reason"),
    [("afile", "File exists"), ("afile/sub", "Not a directory"), ("/proc/cache", "")],
)
def test_a_cache_dir_that_cannot_hold_files_is_named(tmp_path, cache, reason):
    (tmp_path / "afile").write_text("x")
    path = tmp_path / "t.parquet"
    vectors([[1.0, 2.0]] * 3).write_parquet(path)
    config = {"tables": {"t": {"path": str(path)}}, "cache_dir": cache}
    (tmp_path / "team.yaml").write_text(yaml.safe_dump(config))
    with pytest.raises(
        ConfigError, match=rf"team\.yaml: `cache_dir`: cannot keep the cache in .*{reason}"
    ):
        prepare(tmp_path / "team.yaml")


def test_home_in_paths_is_expanded(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    vectors([[1.0, 2.0], [3.0, 1.0], [2.0, 2.0]]).write_parquet(tmp_path / "t.parquet")
    config = {"tables": {"t": {"path": "~/t.parquet"}}, "cache_dir": "~/cache"}
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "team.yaml").write_text(yaml.safe_dump(config))
    dashboard = prepare("~/sub/team.yaml")
    assert dashboard.context.datasets["t"].n_rows == 3
    assert (tmp_path / "cache").is_dir()


@pytest.mark.parametrize(
    "values",
    [[[1, 2], [3]], [b"a", b"b"]],
    ids=["lists", "bytes"],
)
def test_a_label_that_is_not_one_value_per_row_is_refused(tmp_path, values):
    frame = pl.DataFrame({"v": [[1.0, 2.0], [2.0, 1.0]], "lab": values, "name": ["a", "b"]})
    with pytest.raises(
        DataError,
        match=r"`tables\.t\.label`: column 'lab' of table 't' holds .* values, not "
        r"one label per row\nchoose a column of numbers or text: 'name'$",
    ):
        prepare(write(tmp_path, frame, {"label": "lab"}))
