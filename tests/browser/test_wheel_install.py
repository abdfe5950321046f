"""`pip install embedding-dashboard` from a built wheel, in a fresh venv with nothing
pre-installed, serves the demo: the wheel carries everything the page needs (Bootstrap's
CSS, the page's script, the demo config) and its dependencies install from the index alone."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.browser.conftest import wait_for_points, wait_for_status
from tests.servers import serve

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
#: What the wheel is built from: the distribution's own files, nothing else of the checkout.
SOURCES = ["pyproject.toml", "README.md", "dashboard", "reducers", "plugins"]


def test_the_wheel_installs_in_a_fresh_venv_and_serves_the_demo(page: Page, tmp_path: Path):
    source = tmp_path / "source"
    source.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(
                ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__")
            )
        else:
            shutil.copy2(ROOT / name, source / name)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "-w", tmp_path / "dist", source], check=True)
    (wheel,) = (tmp_path / "dist").glob("embedding_dashboard-*.whl")

    env_dir = tmp_path / "env"
    subprocess.run([sys.executable, "-m", "venv", env_dir], check=True)
    python = env_dir / "bin" / "python"
    # No --no-build-isolation, no pre-installed pieces: what a user types.
    subprocess.run(
        [python, "-m", "pip", "--disable-pip-version-check", "-q", "install", wheel],
        check=True,
    )
    # The installed package, not the checkout's (the server runs outside the checkout).
    where = subprocess.run(
        [python, "-c", "import dashboard; print(dashboard.__file__)"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert where.startswith(str(env_dir)), where

    env = {"EMBEDDING_DASHBOARD_CACHE": str(tmp_path / "cache")}
    with serve([str(python), "-m", "dashboard", "demo"], cwd=tmp_path, env=env) as url:
        page.goto(url)
        wait_for_status(page, "PCA 2D")
        wait_for_points(page, 1797)
        # Bootstrap's CSS applied: the page's buttons are styled (not the browser's grey).
        radius = page.evaluate(
            "() => getComputedStyle(document.querySelector('.btn')).borderRadius"
        )
        assert radius not in ("", "0px"), radius
        # Leave the page before its server stops: a call still in flight would fail, and
        # the console would say so.
        page.goto("about:blank")
    assert os.path.exists(tmp_path / "cache")
