"""W&B training scripts run with `import dashboard as wandb`: each idiom as W&B's docs write it."""

from __future__ import annotations

import argparse
import json
import logging

import numpy as np
import polars as pl
import pytest
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA

import dashboard as wandb
from dashboard.data.runs import find_logged_tables
from dashboard.errors import DashboardError, DataError
from dashboard.writer.fileformat import read_logged_info

RUN_LOGGER = "dashboard.writer.run"


# A test that leaves a run active must not hand it to the next.
pytestmark = pytest.mark.usefixtures("no_active_run")


@pytest.fixture(scope="module")
def digits():
    ds = load_digits()
    return ds.data[:300], ds.target[:300]


def run_json(run) -> dict:
    return json.loads((run.dir / "run.json").read_text())


def only_table(run, name: str):
    (logged,) = [t for t in find_logged_tables(run.dir) if t.name == name]
    return logged, pl.read_parquet(logged.path)


def test_pca_table_from_a_numpy_array(tmp_path, digits):
    x, _ = digits
    run = wandb.init(project="embeddings", dir=tmp_path)
    pca = PCA(n_components=2).fit_transform(x)
    wandb.log({"pca": wandb.Table(data=pca, columns=["PCA1", "PCA2"])})
    wandb.finish()
    _, frame = only_table(run, "pca")
    assert frame.columns == ["PCA1", "PCA2"]
    np.testing.assert_allclose(frame.to_numpy(), pca)


def test_a_list_of_texts_in_the_same_call_joins_the_table(tmp_path, digits, caplog):
    x, y = digits
    run = wandb.init(project="embeddings", dir=tmp_path)
    table = wandb.Table(data=x, columns=[f"px{i}" for i in range(64)])
    texts = [f"digit {label}" for label in y]
    with caplog.at_level(logging.INFO, logger=RUN_LOGGER):
        wandb.log({"digits": table, "texts": texts})
    (logged,) = find_logged_tables(run.dir)  # one table, not two
    frame = pl.read_parquet(logged.path)
    assert frame["texts"].to_list() == texts
    assert logged.roles["label"] == "texts"
    assert "'texts' became a column of table 'digits'" in caplog.text


def test_a_list_logged_later_at_the_same_step_rewrites_the_table(tmp_path, digits, caplog):
    x, y = digits
    run = wandb.init(project="embeddings", dir=tmp_path)
    run.log({"digits": wandb.Table(data=x[:, :4], columns=["a", "b", "c", "d"])}, step=3)
    with caplog.at_level(logging.INFO, logger=RUN_LOGGER):
        run.log({"target": y}, step=3)  # a 1-D numpy array of numbers
        run.log({"target": y[::-1].copy()}, step=3)  # again: replaces the column it added
    (logged,) = find_logged_tables(run.dir)
    frame = pl.read_parquet(logged.path)
    assert frame.columns == ["a", "b", "c", "d", "target"]
    assert frame["target"].to_list() == y[::-1].tolist()
    assert read_logged_info(logged.path)["rows"] == 300
    assert not [p for p in (run.dir / "tables").iterdir() if p.name.startswith(".")]
    assert "'target' became a column of table 'digits' (logged earlier at step 3)" in caplog.text


def test_a_list_without_a_table_of_its_length_is_its_own_table(tmp_path, caplog):
    run = wandb.init(project="embeddings", dir=tmp_path)
    run.log({"emb": wandb.Table(data=np.ones((4, 2)), columns=["x", "y"])}, step=1)
    with caplog.at_level(logging.INFO, logger=RUN_LOGGER):
        run.log({"notes": ["a", "b", "c"]}, step=1)  # 3 rows, not 4
        run.log({"scores": [0.5, 1.5, 2.5, 3.5]}, step=2)  # another step
    tables = {t.name: t for t in find_logged_tables(run.dir)}
    assert sorted(tables) == ["emb", "notes", "scores"]
    assert pl.read_parquet(tables["notes"].path)["notes"].to_list() == ["a", "b", "c"]
    assert pl.read_parquet(tables["scores"].path).columns == ["scores"]
    assert pl.read_parquet(tables["emb"].path).columns == ["x", "y"]
    assert "'notes' became its own table 'notes' (no table of 3 rows at step 1)" in caplog.text
    with pytest.raises(DataError, match=r"table 'empty' has no rows"):
        run.log({"empty": []})


def test_object3d_point_clouds(tmp_path):
    rng = np.random.default_rng(0)
    xyz = rng.normal(size=(50, 3))
    categories = np.c_[xyz, np.arange(50) % 3 + 1]
    coloured = np.c_[xyz, np.tile([[255, 0, 16]], (50, 1))]
    run = wandb.init(project="clouds", dir=tmp_path)
    wandb.log(
        {
            "plain": wandb.Object3D(xyz),
            "categories": wandb.Object3D.from_numpy(categories),
            "coloured": wandb.Object3D(coloured),
        }
    )
    plain, frame = only_table(run, "plain")
    assert frame.schema == pl.Schema({"x": pl.Float64, "y": pl.Float64, "z": pl.Float64})
    np.testing.assert_array_equal(frame.to_numpy(), xyz)
    assert read_logged_info(plain.path)["as_logged"] is True
    assert plain.roles["embedding"] == ["x", "y", "z"]
    labelled, frame = only_table(run, "categories")
    assert frame.schema["category"] == pl.Int64
    assert frame["category"].to_list()[:4] == [1, 2, 3, 1]
    assert labelled.roles["label"] == "category"
    assert read_logged_info(labelled.path)["as_logged"] is True
    painted, frame = only_table(run, "coloured")
    assert set(frame["color"]) == {"#ff0010"}
    assert painted.roles["color"] == "color"
    assert painted.roles["label"] is None


@pytest.mark.parametrize(
    ("points", "message"),
    [
        (np.ones((5, 2)), r"got shape \(5, 2\)\nallowed: \(N, 3\): x, y, z; \(N, 4\)"),
        (np.ones((5, 5)), r"must be \(N, 3\), \(N, 4\) or \(N, 6\), got shape \(5, 5\)"),
        (np.ones(3), r"got shape \(3,\)"),
        ("scene.obj", r"`Object3D` takes a point array, got str"),
        (np.array([[0.0, 0.0, np.nan]]), r"NaN or infinite"),
    ],
)
def test_object3d_refuses_other_shapes(points, message):
    with pytest.raises(DataError, match=message):
        wandb.Object3D(points)


def test_object3d_bad_categories_and_colours(tmp_path):
    run = wandb.init(project="clouds", dir=tmp_path)
    with pytest.raises(
        DataError, match=r"categories \(the 4th column\) must be integers, rows \[1\]"
    ):
        run.log({"c": wandb.Object3D(np.array([[0, 0, 0, 1], [0, 0, 0, 1.5]]))})
    with pytest.raises(
        DataError, match=r"colours \(columns 4-6\) must be in 0\.\.255, got 0\.\.300"
    ):
        run.log({"c": wandb.Object3D(np.array([[0, 0, 0, 0, 0, 300]]))})


def test_init_takes_wandbs_arguments(tmp_path):
    run = wandb.init(
        project="embeddings",
        entity="my-team",
        job_type="eval",
        tags=["baseline", "pca"],
        notes="first try",
        group="sweep-1",
        config=argparse.Namespace(lr=0.01, epochs=3),
        reinit=True,
        mode="offline",
        settings=None,
        dir=tmp_path,
        id="abc123",
        name="lr 0.01 / bs=32",
    )
    assert run.dir == tmp_path / "embeddings" / "abc123"
    assert run.name == "lr 0.01 / bs=32"
    info = run_json(run)
    assert info["id"] == "abc123"
    assert info["name"] == info["display_name"] == "lr 0.01 / bs=32"
    assert (info["entity"], info["job_type"], info["notes"]) == ("my-team", "eval", "first try")
    assert (info["tags"], info["group"]) == (["baseline", "pca"], "sweep-1")
    assert info["config"] == {"lr": 0.01, "epochs": 3}
    assert not {"reinit", "mode", "settings"} & info.keys()
    run.finish(exit_code=1)
    assert run_json(run)["exit_code"] == 1


def test_a_name_alone_names_the_directory_made_safe(tmp_path):
    run = wandb.init(project="p", dir=tmp_path, name="lr=0.1 / run 2")
    assert run.dir == tmp_path / "p" / "lr-0.1-run-2"
    assert run_json(run)["display_name"] == "lr=0.1 / run 2"
    with pytest.raises(DataError, match=r"`name` '///' has no letters or digits"):
        wandb.init(project="p", dir=tmp_path, name="///")
    with pytest.raises(DataError, match=r"`id` must be a plain name without slashes, got 'a/b'"):
        wandb.init(project="p", dir=tmp_path, id="a/b")


def test_default_names_are_long_directories_and_short_display_names(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = wandb.init(project="p")  # no `dir`: under the current directory
    assert run.dir.parent == tmp_path / "p"
    directory = run.dir.name
    assert directory.startswith("run-")
    assert len(directory.split("-")) == 4
    info = run_json(run)
    assert info["id"] == directory
    assert info["display_name"] == f"run-{directory.rsplit('-', 1)[1]}"
    other = wandb.init(project="p", dir=None)
    assert other.dir.parent == tmp_path / "p"


def test_init_refuses_an_argument_wandb_does_not_take(tmp_path):
    with pytest.raises(
        DashboardError, match=r"`init` got unknown arguments: 'projcet'\nallowed: `project`"
    ):
        wandb.init(projcet="p", dir=tmp_path)


def test_init_logs_the_arguments_it_ignores(tmp_path, caplog):
    with caplog.at_level(logging.DEBUG, logger="dashboard.writer.idioms"):
        wandb.init(project="p", dir=tmp_path, reinit=True, mode="disabled")
    assert "ignoring reinit=True" in caplog.text
    assert "ignoring mode='disabled'" in caplog.text
