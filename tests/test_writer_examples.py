"""Every writer example runs as a user runs it, and tells where its run went and how to open it."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from dashboard.data.runs import find_logged_tables
from dashboard.serve.cli import build_parser
from dashboard.web.assemble import prepare

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples" / "writer").glob("*.py"))


def test_every_example_is_listed():
    names = [p.name for p in EXAMPLES]
    assert names == ["comet_epochs.py", "comet_mnist_sprite.py", "wandb_digits.py"]


@pytest.mark.slow
@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_prints_its_run_and_the_command_that_opens_it(example, tmp_path):
    done = subprocess.run(
        [sys.executable, str(example)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    out = done.stdout
    run_dir = Path(re.search(r"^Logged run: (.+)$", out, re.MULTILINE).group(1))
    assert run_dir.is_dir()
    assert run_dir.is_relative_to(tmp_path / "runs")  # `dir="runs"` is under the cwd
    tables = find_logged_tables(run_dir)
    assert tables
    assert all(t.path.is_file() for t in tables)

    # The printed config, saved under the printed name, opens every logged set.
    name, snippet, command, notebook = re.search(
        r"save this config as (\S+):\n\n(.+?)\nthen run:\n(.+?)\n\nor, in a notebook:\n(.+)$",
        out,
        re.DOTALL,
    ).groups()
    assert notebook.strip() == f"import dashboard; dashboard.show({json.dumps(str(run_dir))})"
    config = yaml.safe_load(snippet)
    assert Path(next(iter(config["tables"].values()))["path"]) == run_dir
    (tmp_path / name).write_text(yaml.safe_dump({"cache_dir": str(tmp_path / "cache"), **config}))
    args = shlex.split(command.strip())
    assert args[:3] == ["python", "-m", "dashboard"]
    assert build_parser().parse_args(args[3:]).config == name
    opened = prepare(tmp_path / name)
    assert len(opened.context.datasets) == len(tables)
