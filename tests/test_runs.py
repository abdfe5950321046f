"""Run directories as embedding sets, and the hover-image route."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from dashboard import Image, Table, create_app
from dashboard.data.runs import find_logged_tables, natural
from dashboard.web.assemble import prepare
from dashboard.writer.run import Run


@pytest.fixture
def comet_run(tmp_path):
    run = Run("proj", dir=tmp_path / "runs", name="a")
    rng = np.random.default_rng(0)
    for epoch in (10, 2, 0):
        run.log_embedding(
            rng.normal(size=(30, 6)),
            [f"c{i % 3}" for i in range(30)],
            image_data=rng.random((30, 4)),
            image_size=(2, 2),
            title=f"epoch-{epoch}",
            group="hidden-layer-1",
        )
    run.log({"final": Table(columns=["v"], data=[[rng.normal(size=6)] for _ in range(30)])})
    return run


def test_logged_tables_are_ordered_by_group_name_and_step(comet_run):
    names = [t.title(with_run=False) for t in find_logged_tables(comet_run.dir)]
    assert names == ["final", *(f"hidden-layer-1 / epoch-{e}" for e in (0, 2, 10))]
    assert natural("epoch-2") < natural("epoch-10")


def test_a_config_table_on_a_run_opens_every_set(comet_run, write_config):
    config = write_config({"tables": {"training": {"path": str(comet_run.dir)}}})
    dashboard = prepare(config)
    assert list(dashboard.context.datasets) == [
        "training / final",
        "training / hidden-layer-1 / epoch-0",
        "training / hidden-layer-1 / epoch-2",
        "training / hidden-layer-1 / epoch-10",
    ]
    epoch = dashboard.context.datasets["training / hidden-layer-1 / epoch-0"]
    assert (epoch.config.label, epoch.config.image) == ("label", "image")
    assert epoch.matrix().shape == (30, 6)
    assert dashboard.context.initial_request.table == "training / final"


def test_a_project_directory_names_its_runs(comet_run, write_config, tmp_path):
    other = Run("proj", dir=tmp_path / "runs", name="b")
    other.log({"emb": Table(columns=["v"], data=[[[1.0, 2.0]], [[3.0, 4.0]], [[5.0, 7.0]]])})
    config = write_config({"tables": {"all": {"path": str(tmp_path / "runs" / "proj")}}})
    names = list(prepare(config).context.datasets)
    assert "all / a / hidden-layer-1 / epoch-2" in names
    assert "all / b / emb" in names


def test_runs_are_listed_by_their_short_names(tmp_path, write_config):
    import dashboard

    table = Table(columns=["v"], data=[[[1.0, 2.0, 0.5]], [[3.0, 4.0, 1.5]], [[5.0, 7.0, 2.5]]])
    unnamed = dashboard.init(project="proj", dir=tmp_path / "runs")
    unnamed.log({"emb": table})
    named = dashboard.init(project="proj", dir=tmp_path / "runs", name="baseline lr=3e-4")
    named.log({"emb": table})
    assert unnamed.dir.name.startswith("run-2")  # a long, sortable directory name
    config = write_config({"tables": {"all": {"path": str(tmp_path / "runs" / "proj")}}})
    names = sorted(prepare(config).context.datasets)
    short = "run-" + unnamed.dir.name[-4:]  # run-7b54
    assert names == sorted([f"all / {short} / emb", "all / baseline lr=3e-4 / emb"])
    # Two runs of one name: their directories tell them apart.
    again = dashboard.init(project="proj", dir=tmp_path / "runs", name="baseline lr=3e-4", id="b2")
    again.log({"emb": table})
    again.finish()
    names = list(prepare(config).context.datasets)
    assert len(names) == 3
    assert f"all / {named.dir.name} / emb" in names


def test_a_single_logged_table_keeps_the_config_name(tmp_path, write_config):
    run = Run("p", dir=tmp_path, name="r")
    run.log({"emb": Table(columns=["v", "t"], data=[[[1.0, 2.0], "a"], [[3.0, 4.0], "b"]])})
    config = write_config(
        {
            "tables": {"mine": {"path": str(run.dir), "label": None, "text": "t"}},
            "panels": [{"type": "scatter", "table": "mine"}],
        }
    )
    dataset = prepare(config).context.datasets["mine"]
    assert dataset.config.text == "t"
    assert dataset.config.label == "t"  # recorded by the writer


def test_config_roles_override_recorded_roles(tmp_path, write_config):
    run = Run("p", dir=tmp_path, name="r")
    rows = [[[1.0, 2.0], "x", "y"], [[3.0, 4.0], "x", "z"], [[5.0, 6.0], "w", "y"]]
    run.log({"emb": Table(columns=["v", "a", "b"], data=rows)})
    recorded = write_config({"tables": {"t": {"path": str(run.dir)}}})
    assert prepare(recorded).context.datasets["t"].config.label == "a"  # first text column
    chosen = write_config({"tables": {"t": {"path": str(run.dir), "label": "b"}}}, "b.yaml")
    assert prepare(chosen).context.datasets["t"].config.label == "b"


def test_image_route_serves_png_with_caching(comet_run, write_config):
    config = write_config({"tables": {"training": {"path": str(comet_run.dir)}}})
    app = create_app(config)
    client = app.server.test_client()
    table = "training / hidden-layer-1 / epoch-2"
    response = client.get("/_dashboard/image/4", query_string={"table": table})
    assert response.status_code == 200
    assert response.mimetype == "image/png"
    assert response.data.startswith(b"\x89PNG")
    assert "max-age=86400" in response.headers["Cache-Control"]
    assert client.get("/_dashboard/image/999", query_string={"table": table}).status_code == 404
    assert client.get("/_dashboard/image/0", query_string={"table": "nope"}).status_code == 404
    no_images = client.get("/_dashboard/image/0", query_string={"table": "training / final"})
    assert no_images.status_code == 404


def test_image_paths_must_stay_inside_the_table_folder(tmp_path, write_config):
    data = tmp_path / "data"
    (data / "imgs").mkdir(parents=True)
    (data / "imgs" / "a.png").write_bytes(Image(np.eye(3)).png)
    (tmp_path / "secret.png").write_bytes(Image(np.eye(4)).png)
    pl.DataFrame(
        {
            "v": [[1.0, 2.0], [2.0, 1.0], [3.0, 3.0]],
            "img": ["imgs/a.png", "../secret.png", str(tmp_path / "secret.png")],
        }
    ).write_parquet(data / "t.parquet")
    config = write_config({"tables": {"t": {"path": str(data / "t.parquet"), "image": "img"}}})
    client = create_app(config).server.test_client()
    inside = client.get("/_dashboard/image/0", query_string={"table": "t"})
    assert inside.status_code == 200
    assert inside.data == (data / "imgs" / "a.png").read_bytes()
    for row in (1, 2):
        assert (
            client.get(f"/_dashboard/image/{row}", query_string={"table": "t"}).status_code == 404
        )


def test_image_urls_redirect(tmp_path, write_config):
    pl.DataFrame(
        {"v": [[1.0, 2.0], [2.0, 1.0], [3.0, 3.0]], "img": ["https://example.org/a.png"] * 3}
    ).write_parquet(tmp_path / "t.parquet")
    config = write_config({"tables": {"t": {"path": str(tmp_path / "t.parquet"), "image": "img"}}})
    client = create_app(config).server.test_client()
    response = client.get("/_dashboard/image/1", query_string={"table": "t"})
    assert response.status_code == 302
    assert response.headers["Location"] == "https://example.org/a.png"


def test_the_tooltip_route_describes_a_row(demo_config):
    from dashboard.web.app import create_app

    client = create_app(demo_config).server.test_client()
    dataset = prepare(demo_config).context.datasets["digits"]
    tip = client.get("/_dashboard/row/3?table=digits&colour=target").json
    assert tip["image"].startswith("/_dashboard/image/3?table=digits&v=")
    assert tip["caption"] == dataset.metadata()["label"][3]
    assert tip["lines"] == [f"target: {dataset.metadata()['target'][3]}"]
    for bad in ("99999?table=digits", "3?table=nope", "3", "-1?table=digits", "x?table=digits"):
        assert client.get(f"/_dashboard/row/{bad}").status_code == 404
