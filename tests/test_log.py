"""The run writer: files, metadata, W&B/Comet call styles, atomic writes, bad input."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import polars as pl
import pytest

import dashboard
from dashboard import Table
from dashboard.data.runs import find_logged_tables
from dashboard.errors import DashboardError, DataError
from dashboard.writer.fileformat import METADATA_KEY, read_logged_info
from dashboard.writer.run import Run
from tests.conftest import run_writer_examples

# A test that leaves a run active must not hand it to the next.
pytestmark = pytest.mark.usefixtures("no_active_run")


def small_table(n: int = 10) -> Table:
    rng = np.random.default_rng(0)
    return Table(
        columns=["id", "embedding", "label"],
        data=[[i, rng.normal(size=4), f"l{i % 3}"] for i in range(n)],
    )


def test_init_creates_the_run_directory(tmp_path):
    run = dashboard.init(project="proj", dir=tmp_path, name="first", config={"lr": 0.1})
    assert run.dir == tmp_path / "proj" / "first"
    info = json.loads((run.dir / "run.json").read_text())
    assert info["project"] == "proj"
    assert info["config"] == {"lr": 0.1}
    run.finish()
    assert "finished" in json.loads((run.dir / "run.json").read_text())


def test_log_writes_parquet_with_roles_in_metadata(tmp_path):
    run = dashboard.init(project="p", dir=tmp_path)
    run.log({"emb": small_table()}, step=3, group="layer-1")
    (path,) = (run.dir / "tables").glob("*.parquet")
    info = read_logged_info(path)
    assert info["name"] == "emb"
    assert info["step"] == 3
    assert info["group"] == "layer-1"
    assert info["roles"] == {"embedding": "embedding", "image": None, "label": "label"}
    frame = pl.read_parquet(path)
    assert frame.height == 10
    assert frame.schema["embedding"] == pl.Array(pl.Float32, 4)
    assert METADATA_KEY in pl.read_parquet_metadata(path)


def test_module_level_api_uses_the_active_run(tmp_path):
    with pytest.raises(DashboardError, match=r"`dashboard.log` needs an active run\nstart one"):
        dashboard.log({"t": small_table()})
    run = dashboard.init(project="p", dir=tmp_path)
    dashboard.log({"frame": pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]})})
    dashboard.log({"polars": pl.DataFrame({"v": [[1.0, 2.0], [3.0, 4.0]]})})
    dashboard.finish()
    names = sorted(t.name for t in find_logged_tables(run.dir))
    assert names == ["frame", "polars"]
    with pytest.raises(DashboardError, match=r"run '.*' is finished"):
        run.log({"t": small_table()})


def test_scalars_go_to_metrics(tmp_path):
    run = dashboard.init(project="p", dir=tmp_path)
    run.log({"loss": 0.5, "acc": np.float32(0.9), "note": "warmup"}, step=1)
    lines = (run.dir / "metrics.ndjson").read_text().splitlines()
    record = json.loads(lines[0])
    assert record["step"] == 1
    assert record["loss"] == 0.5
    assert record["acc"] == pytest.approx(0.9)
    assert not list((run.dir / "tables").glob("*.parquet"))


def test_logging_the_same_name_and_step_replaces_it(tmp_path):
    run = dashboard.init(project="p", dir=tmp_path)
    run.log({"emb": small_table(10)}, step=1)
    run.log({"emb": small_table(12)}, step=1)
    run.log({"emb": small_table(14)}, step=2)
    tables = find_logged_tables(run.dir)
    assert [(t.step, pl.read_parquet(t.path).height) for t in tables] == [(1, 12), (2, 14)]


def test_log_bad_input(tmp_path):
    run = dashboard.init(project="p", dir=tmp_path)
    with pytest.raises(DataError, match=r"`log` takes a dict of name -> table, got list"):
        run.log([small_table()])
    with pytest.raises(DataError, match=r"`log`: 'x' is a set, not a table"):
        run.log({"x": {1, 2}})
    with pytest.raises(DataError, match=r"`step` must be a non-negative integer, got -1"):
        run.log({"t": small_table()}, step=-1)
    with pytest.raises(DataError, match=r"table 'e' has no rows"):
        run.log({"e": Table(columns=["a"])})
    with pytest.raises(DataError, match=r"`project` must be a plain name without slashes"):
        dashboard.init(project="../escape", dir=tmp_path)


def test_log_embedding_comet_style(tmp_path):
    run = dashboard.init(project="p", dir=tmp_path)
    vectors = np.random.default_rng(0).normal(size=(6, 5))
    images = np.random.default_rng(1).random((6, 16))
    table = dashboard.log_embedding(
        vectors,
        [0, 1, 2, 0, 1, 2],
        image_data=images,
        image_size=(4, 4),
        title="epoch-0",
        group="hidden-layer-1",
    )
    assert table.columns == ["label", "embedding", "image"]
    (logged,) = find_logged_tables(run.dir)
    assert (logged.name, logged.group, logged.step) == ("epoch-0", "hidden-layer-1", None)
    assert logged.roles == {"embedding": "embedding", "image": "image", "label": "label"}
    frame = pl.read_parquet(logged.path)
    assert frame["image"][0].startswith(b"\x89PNG")
    np.testing.assert_allclose(frame["embedding"].to_numpy(), vectors, rtol=1e-6)


def test_log_embedding_with_a_header_row_of_labels(tmp_path):
    run = dashboard.init(project="p", dir=tmp_path)
    labels = [["digit", "split"], [3, "train"], [5, "test"]]
    table = run.log_embedding(np.ones((2, 3)), labels, title="t")
    assert table.columns == ["digit", "split", "embedding"]
    assert find_logged_tables(run.dir)[0].roles["label"] == "digit"


def test_log_embedding_bad_input(tmp_path):
    run = dashboard.init(project="p", dir=tmp_path)
    with pytest.raises(DataError, match=r"`vectors` must be 2-D \(rows x dims\), got shape \(3,\)"):
        run.log_embedding(np.ones(3), [1, 2, 3])
    with pytest.raises(DataError, match=r"`labels` has 2 entries for 3 vectors"):
        run.log_embedding(np.ones((3, 2)), [1, 2])
    with pytest.raises(DataError, match=r"`image_data` needs `image_size`"):
        run.log_embedding(np.ones((2, 2)), [1, 2], image_data=np.ones((2, 4)))
    with pytest.raises(DataError, match=r"`image_data` has 1 images for 2 vectors"):
        run.log_embedding(np.ones((2, 2)), [1, 2], image_data=np.ones((1, 4)), image_size=(2, 2))


KILLED_WRITER = """
import sys, time
import numpy as np
import polars as pl
from dashboard import Table
from dashboard.writer.run import Run

original = pl.DataFrame.write_parquet

def write_half_then_hang(self, file, **kwargs):
    original(self, file, **kwargs)
    with open(file, "r+b") as fh:  # as if the process died halfway through the write
        fh.truncate(fh.seek(0, 2) // 2)
    print("writing", flush=True)
    time.sleep(120)

pl.DataFrame.write_parquet = write_half_then_hang
run = Run("p", dir=sys.argv[1], name="r")
rows = [[i, np.full(4, float(i)), "new"] for i in range(50)]
run.log({"emb": Table(columns=["id", "embedding", "label"], data=rows)})
"""


def test_a_killed_writer_leaves_the_earlier_table_readable(tmp_path):
    run = Run("p", dir=tmp_path, name="r")
    run.log({"emb": small_table(10)})
    script = tmp_path / "writer.py"
    script.write_text(textwrap.dedent(KILLED_WRITER))
    child = subprocess.Popen(
        [sys.executable, str(script), str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout.readline().strip() == "writing"
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
        child.stdout.close()
    leftovers = [p.name for p in (run.dir / "tables").iterdir() if p.name.startswith(".")]
    assert leftovers  # the half-written temporary file is there...
    (table,) = find_logged_tables(run.dir)  # ...but never read
    frame = pl.read_parquet(table.path)
    assert frame.height == 10
    assert set(frame["label"]) == {"l0", "l1", "l2"}


@pytest.mark.slow
def test_examples_run_as_written(tmp_path):
    run_writer_examples(tmp_path)
    (digits,) = find_logged_tables(tmp_path / "runs" / "embedding_tutorial")
    assert digits.roles == {"embedding": None, "image": "image", "label": "target"}
    assert pl.read_parquet(digits.path).height == 1797
    epochs = find_logged_tables(tmp_path / "runs" / "comet_style")
    assert [t.name for t in epochs] == [f"epoch-{i}" for i in range(5)]
    assert {t.group for t in epochs} == {"hidden-layer-1"}


def test_writers_sharing_a_run_each_keep_their_part_of_run_json(tmp_path):
    """Several processes logging to one run (ranks of a job) all appear in `run.json`:
    each one's config keys and its own entry, none overwritten by the last to write."""
    script = textwrap.dedent(
        """
        import sys
        import numpy as np
        import dashboard
        rank = int(sys.argv[1])
        with dashboard.init("proj", dir=sys.argv[2], name="shared",
                            config={"lr": 0.1, f"rank_{rank}": rank}) as run:
            for step in range(5):
                run.log({f"emb_{rank}": dashboard.Table(
                    columns=["v"], data=[[np.ones(3) * i] for i in range(4)])}, step=step)
        """
    )
    writers = [
        subprocess.Popen([sys.executable, "-c", script, str(rank), str(tmp_path)])
        for rank in range(4)
    ]
    assert [w.wait(timeout=120) for w in writers] == [0, 0, 0, 0]
    info = json.loads((tmp_path / "proj" / "shared" / "run.json").read_text())
    assert info["config"] == {"lr": 0.1, "rank_0": 0, "rank_1": 1, "rank_2": 2, "rank_3": 3}
    assert len(info["writers"]) == 4
    assert all("finished" in w for w in info["writers"])
    assert {t.name for t in find_logged_tables(tmp_path / "proj")} >= {f"emb_{r}" for r in range(4)}
