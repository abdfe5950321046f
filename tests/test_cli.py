"""`python -m dashboard`: help, exit code 2 with a clear message on bad config, serving."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dashboard.serve.cli import main
from tests.servers import serve


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dashboard", *args], capture_output=True, text=True, timeout=120
    )


def test_help_explains_the_options():
    out = run_cli("--help")
    assert out.returncode == 0
    for option in ("--config", "--host", "--port", "--debug", "127.0.0.1"):
        assert option in out.stdout


def test_missing_config_option_exits_2():
    out = run_cli()
    assert out.returncode == 2
    assert "--config" in out.stderr


def test_bad_config_exits_2_with_the_key_and_no_traceback(write_config):
    path = write_config({"tables": {"t": {"path": "x.parquet"}}, "projection": {"dims": 5}})
    out = run_cli("--config", str(path))
    assert out.returncode == 2
    assert f"error: {path}: `projection.dims`" in out.stderr
    assert "allowed values: 2, 3" in out.stderr
    assert "Traceback" not in out.stderr


def test_bad_data_exits_2(write_config, tmp_path):
    path = write_config({"tables": {"t": {"path": str(tmp_path / "missing.parquet")}}})
    assert main(["--config", str(path)]) == 2


def test_missing_config_file_exits_2(tmp_path, capsys):
    assert main(["--config", str(tmp_path / "none.yaml")]) == 2
    assert "cannot read config file" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.parametrize("host", ["127.0.0.1"])
def test_serves_the_dashboard(demo_config, host):
    import urllib.request

    with serve([sys.executable, "-m", "dashboard", "--config", str(demo_config)]) as url:
        assert url.startswith(f"http://{host}:")
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.status == 200
            assert b"Digits test" in response.read()


def test_precompute_fills_the_cache_then_finds_it(demo_config, capsys):
    argv = ["precompute", "--config", str(demo_config), "--reducer", "pca", "--dims", "2", "3"]
    assert main(argv) == 0
    first = capsys.readouterr().out.splitlines()
    assert first[0].startswith("pca 2D digits: computed in ")
    assert first[1].startswith("pca 3D digits: computed in ")
    assert first[-1] == "2 of 2 projections in the cache"
    assert main(argv) == 0
    assert capsys.readouterr().out.splitlines()[:2] == [
        "pca 2D digits: already cached",
        "pca 3D digits: already cached",
    ]


def test_precompute_reports_failures_and_bad_input(write_config, tmp_path, capsys):
    import numpy as np
    import polars as pl

    tiny = np.random.default_rng(0).random((3, 4)).astype(np.float32)
    pl.DataFrame({"v": tiny}).write_parquet(tmp_path / "tiny.parquet")
    pl.DataFrame({"v": np.eye(8, dtype=np.float32)}).write_parquet(tmp_path / "ok.parquet")
    path = write_config(
        {
            "tables": {
                "tiny": {"path": str(tmp_path / "tiny.parquet")},
                "ok": {"path": str(tmp_path / "ok.parquet")},
            },
            "projection": {"reducer": "umap"},
        }
    )
    assert main(["precompute", "--config", str(path), "--reducer", "pca"]) == 0
    capsys.readouterr()
    assert main(["precompute", "--config", str(path), "--table", "tiny"]) == 1
    out = capsys.readouterr().out
    assert "umap 2D tiny: failed (table 'tiny': umap: needs at least 5 rows, got 3)" in out
    assert out.splitlines()[-1] == "0 of 1 projections in the cache"
    assert main(["precompute", "--config", str(path), "--reducer", "umpa"]) == 2
    assert "`--reducer`: unknown reducer 'umpa'" in capsys.readouterr().err
    assert main(["precompute", "--config", str(path), "--table", "nope"]) == 2
    assert "`--table`: unknown table 'nope'" in capsys.readouterr().err


def test_precompute_help():
    out = run_cli("precompute", "--help")
    assert out.returncode == 0
    for option in ("--config", "--reducer", "--dims", "--table"):
        assert option in out.stdout


def test_the_packaged_demo_is_the_checkout_demo():
    """`python -m dashboard demo` serves the config the wheel ships: the checkout's own."""
    from dashboard.serve.cli import DEMO_CONFIG

    root = Path(__file__).resolve().parents[1]
    assert DEMO_CONFIG.read_text() == (root / "configs" / "demo.yaml").read_text()
