"""`python -m dashboard`: help, exit code 2 with a clear message on bad config, serving."""

from __future__ import annotations

import subprocess
import sys

import pytest

from dashboard.cli import main
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


@pytest.mark.parametrize("host", ["127.0.0.1"])
def test_serves_the_dashboard(demo_config, host):
    import urllib.request

    with serve([sys.executable, "-m", "dashboard", "--config", str(demo_config)]) as url:
        assert url.startswith(f"http://{host}:")
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.status == 200
            assert b"Digits test" in response.read()
