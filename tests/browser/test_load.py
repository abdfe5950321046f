"""A short, bounded run of the loopback load benchmark: it must finish with zero errors."""

from __future__ import annotations

import importlib.util
import sys

import pytest
from playwright.sync_api import Browser

from tests.conftest import ROOT

pytestmark = pytest.mark.browser


def load_benchmark():
    name = "benchmarks_load"
    if name not in sys.modules:  # dataclasses look their module up in sys.modules
        spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / "load.py")
        sys.modules[name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules[name])
    return sys.modules[name]


def test_concurrent_clients_on_callbacks_and_images_get_no_errors(browser: Browser):
    # Timing is the benchmark's business (docs/benchmarks.md); this checks correctness
    # under concurrency: every replayed callback and image request answers without error.
    results = load_benchmark().measure(clients=12, seconds=4, workers=2, threads=4, browser=browser)
    assert results["recorded_callbacks"] >= 10
    for server in ("dashboard", "plain"):
        rows = results[server]
        assert set(rows) == {"callback", "image"}, rows
        for kind, row in rows.items():
            assert row["requests"] > 20, (server, kind, row)
            assert row["errors"] == 0, (server, kind, row)
