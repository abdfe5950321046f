"""Config models and the loader's error messages (file, key path, allowed values)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dashboard.config import load_config, parse_config
from dashboard.errors import ConfigError, DashboardError

ROOT = Path(__file__).resolve().parents[1]


def test_demo_config_loads_with_defaults():
    config = load_config(ROOT / "configs" / "demo.yaml")
    assert config.tables["digits"].path == "sklearn://digits"
    assert config.tables["digits"].embedding == "pixels"
    assert config.projection.reducer == "pca"
    assert config.projection.dims == 2
    assert [p.type for p in config.panels] == [
        "controls",
        "scatter",
        "search",
        "filter",
        "neighbors",
        "faithfulness",
        "stability",
        "gallery",
        "table",
        "contrast",
        "outliers",
    ]
    assert config.panels[1].options() == {"table": "digits", "color": "target"}


def test_relative_paths_resolve_against_the_config_file(write_config, tmp_path):
    path = write_config({"tables": {"t": {"path": "data/t.parquet"}}, "cache_dir": "c"})
    config = load_config(path)
    assert config.tables["t"].path == str(tmp_path / "data" / "t.parquet")
    assert config.cache_dir == tmp_path / "c"
    assert config.source == str(path)


def test_default_panels_are_controls_and_scatter():
    config = parse_config({"tables": {"t": {"path": "x.parquet"}}})
    assert [p.type for p in config.panels] == ["controls", "scatter"]


def test_cache_dir_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("EMBEDDING_DASHBOARD_CACHE", str(tmp_path / "env"))
    config = parse_config({"tables": {"t": {"path": "x.parquet"}}})
    assert config.resolved_cache_dir() == tmp_path / "env"


def test_missing_file_is_named(tmp_path):
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError, match=r"cannot read config file .*nope\.yaml"):
        load_config(missing)


def test_malformed_yaml_names_file_and_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("tables:\n  t: {path: [unclosed\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml: invalid YAML at line \d+"):
        load_config(path)


def test_top_level_must_be_a_mapping(tmp_path):
    path = tmp_path / "list.yaml"
    path.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match=r"list\.yaml: the config must be a mapping.*\nallowed"):
        load_config(path)


def test_unknown_key_lists_allowed_keys(write_config):
    path = write_config({"titel": "x", "tables": {"t": {"path": "x.parquet"}}})
    with pytest.raises(
        ConfigError, match=r"team\.yaml: `titel`: unknown key\nallowed keys: .*'title'"
    ):
        load_config(path)


def test_unknown_table_key_names_its_path(write_config):
    path = write_config({"tables": {"t": {"path": "x.parquet", "lable": "y"}}})
    with pytest.raises(
        ConfigError, match=r"`tables\.t\.lable`: unknown key\nallowed keys: .*'label'"
    ):
        load_config(path)


def test_bad_dims_lists_allowed_values(write_config):
    path = write_config({"tables": {"t": {"path": "x"}}, "projection": {"dims": 4}})
    with pytest.raises(ConfigError, match=r"`projection\.dims`: .*got 4\nallowed values: 2, 3"):
        load_config(path)


def test_missing_tables_is_required(write_config):
    path = write_config({"title": "x"})
    with pytest.raises(ConfigError, match=r"`tables`: required key is missing"):
        load_config(path)


def test_missing_table_path(write_config):
    path = write_config({"tables": {"t": {"embedding": "v"}}})
    with pytest.raises(ConfigError, match=r"`tables\.t\.path`: required key is missing"):
        load_config(path)


def test_bad_format_lists_allowed_formats(write_config):
    path = write_config({"tables": {"t": {"path": "x", "format": "xlsx"}}})
    with pytest.raises(
        ConfigError, match=r"`tables\.t\.format`: .*'xlsx'\nallowed values: 'parquet', 'csv'"
    ):
        load_config(path)


def test_embedding_of_wrong_type_names_key(write_config):
    path = write_config({"tables": {"t": {"path": "x", "embedding": 5}}})
    with pytest.raises(ConfigError, match=r"`tables\.t\.embedding"):
        load_config(path)


def test_panel_without_type(write_config):
    path = write_config({"tables": {"t": {"path": "x"}}, "panels": [{"table": "t"}]})
    with pytest.raises(ConfigError, match=r"`panels\[0\]\.type`: required key is missing"):
        load_config(path)


def test_config_errors_share_the_base_class():
    assert issubclass(ConfigError, DashboardError)
