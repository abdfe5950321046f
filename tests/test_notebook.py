"""``dashboard.show``: what a notebook passes becomes a served dashboard, and the page's
selection and map flow back (the page itself is driven in tests/browser/test_notebook_page.py).
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest
from sklearn.datasets import load_digits

import dashboard
from dashboard.errors import ConfigError, DashboardError, DataError
from dashboard.serve import notebook
from dashboard.web.pages import PageMemory
from dashboard.web.view import MapView


@pytest.fixture
def shown(tmp_path: Path) -> Iterator[list[notebook.NotebookView]]:
    """Views shown by a test, closed after it (their worker processes end)."""
    views: list[notebook.NotebookView] = []
    yield views
    for view in views:
        view.close()


def show(shown: list, data, tmp_path: Path, **options) -> notebook.NotebookView:
    view = dashboard.show(data, cache_dir=tmp_path / "cache", display=False, **options)
    shown.append(view)
    return view


def status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def select(view: notebook.NotebookView, rows: list[int], **changes) -> None:
    """Make the page's latest view hold a selection (and ``changes``), as the view
    callback would."""
    start = view._view()
    selection = start.selection.model_copy(update={"table": start.table, "rows": rows})
    changed = start.model_copy(update={"selection": selection, **changes})
    view.app.dashboard.pages.put("page-1", PageMemory(changed, {}))


def test_an_array_with_labels_is_served_and_mapped(shown, tmp_path):
    digits = load_digits()
    view = show(shown, digits.data, tmp_path, labels=digits.target)
    assert view.url.startswith("http://127.0.0.1:")
    assert status(view.url) == 200
    # Bootstrap's CSS comes from the package itself (no CDN, no extra package).
    assert status(view.url + "_dashboard/static/css/bootstrap.min.css") == 200
    table = view.app.dashboard.context.dataset("data")
    assert table.n_rows == 1797
    assert table.config.label == "label"
    assert view.selected.height == 0
    # The map is computed when asked before any page asked for it.
    coords = view.coordinates
    assert coords.columns == ["row", "x", "y"]
    assert coords.height == 1797
    assert np.isfinite(coords["x"].to_numpy()).all()


def test_the_selection_flows_back_with_every_column(shown, tmp_path):
    digits = load_digits()
    frame = pd.DataFrame(
        {
            "vector": list(digits.data[:300]),
            "digit": digits.target[:300].astype(str),
            "image": [dashboard.Image(x.reshape(8, 8) / 16) for x in digits.data[:300]],
        }
    )
    view = show(shown, frame, tmp_path)
    table = view.app.dashboard.context.dataset("data").config
    assert (table.embedding, table.label, table.image) == ("vector", "digit", "image")
    select(view, [5, 2, 299])
    picked = view.selected
    assert isinstance(picked, pd.DataFrame)  # pandas in, pandas out
    assert picked["row"].tolist() == [2, 5, 299]
    assert picked["digit"].tolist() == [str(digits.target[i]) for i in (2, 5, 299)]
    assert picked["image"].map(lambda b: b[:4] == b"\x89PNG").all()
    # As on the page, rows the legend hides leave the selection (and come back with it).
    hidden = MapView(table="data", colour="digit", hidden=[str(digits.target[5])])
    select(view, [5, 2, 299], maps={"1": hidden})
    kept = [r for r in (2, 5, 299) if digits.target[r] != digits.target[5]]
    assert view.selected["row"].tolist() == kept
    select(view, [5, 2, 299], maps={"1": hidden.model_copy(update={"hidden": []})})
    assert view.selected["row"].tolist() == [2, 5, 299]


def test_two_views_share_one_server_and_close_alone(shown, tmp_path):
    frame = pl.DataFrame(
        {"v": np.eye(120, 8, dtype=np.float32), "name": [f"n{i}" for i in range(120)]}
    )
    first = show(shown, frame, tmp_path)
    second = show(shown, frame, tmp_path, reducer="pca", dims=3)
    assert first.url.split("/view-")[0] == second.url.split("/view-")[0]
    assert first.url != second.url
    # The same data is written once (named by its content), so its cached maps are reused.
    path = first.app.dashboard.context.dataset("data").config.path
    assert path == second.app.dashboard.context.dataset("data").config.path
    assert second._view().dims == 3
    first.close()
    assert status(first.url) == 404
    assert status(second.url) == 200
    assert second.coordinates.columns == ["row", "x", "y", "z"]
    # A closed view says so (and starts no worker to compute a map nobody can see).
    with pytest.raises(DashboardError, match=r"this dashboard \(.*/view-\d+/\) was closed\n"):
        _ = first.coordinates
    with pytest.raises(DashboardError, match=r"was closed"):
        _ = first.selected
    assert first.app.dashboard.context.jobs.worker_pids() == []


def test_showing_the_same_thing_again_reuses_its_dashboard(shown, tmp_path):
    """A cell run again returns the dashboard already served, not one more of it."""
    frame = pl.DataFrame({"v": np.eye(120, 8, dtype=np.float32)})
    first = show(shown, frame, tmp_path)
    again = show(shown, frame.clone(), tmp_path)
    assert again.url == first.url
    assert again.app is first.app
    other = show(shown, frame, tmp_path, dims=3)
    assert other.url != first.url


def test_only_the_dashboards_shown_last_keep_a_worker(shown, tmp_path):
    views = [
        show(shown, np.eye(120, 8) * (i + 1), tmp_path) for i in range(notebook.LIVE_WORKERS + 2)
    ]
    live = views[-notebook.LIVE_WORKERS :]
    deadline = time.monotonic() + 120
    while not all(v.app.dashboard.context.jobs.worker_pids() for v in live):
        assert time.monotonic() < deadline, "the last dashboards' workers did not start"
        time.sleep(0.2)
    for old in views[: -notebook.LIVE_WORKERS]:
        assert old.app.dashboard.context.jobs.worker_pids() == []
    # An old dashboard still maps: its worker starts again when asked.
    assert views[0].coordinates.height == 120


def test_a_run_directory_a_table_file_and_a_config(shown, tmp_path, digits_path):
    run = dashboard.init(project="p", dir=tmp_path / "runs")
    dashboard.log({"points": dashboard.Table(dataframe=pl.read_parquet(digits_path).head(200))})
    dashboard.finish()
    from_run = show(shown, run.dir, tmp_path)
    assert from_run.app.dashboard.context.dataset(from_run.table).n_rows == 200
    from_file = show(shown, digits_path, tmp_path, label="label")
    assert from_file.app.dashboard.context.dataset(from_file.table).config.label == "label"
    config = tmp_path / "team.yaml"
    config.write_text(f"tables:\n  digits:\n    path: {digits_path}\n    embedding: pixels\n")
    from_yaml = show(shown, config, tmp_path, reducer="pca")
    assert from_yaml.table == "digits"


@pytest.mark.parametrize(
    ("data", "options", "error", "match"),
    [
        ("missing.parquet", {}, DataError, r"`data`: '.*missing\.parquet' does not exist"),
        (np.ones((4, 3, 2)), {}, DataError, r"numeric rows x dims, got float64 with shape"),
        (np.ones((4, 3)), {"labels": [1, 2]}, DataError, r"`labels` has 2 values for 4 rows"),
        (pl.DataFrame({"a": [1.0]}), {"labels": [1]}, DataError, r"`labels` goes with an array"),
        ({"a": 1}, {}, DataError, r"cannot show a dict\n.*pandas or polars frame"),
        (
            pl.DataFrame({"a": ["x", "y"]}),
            {},
            DataError,
            r"^`dashboard.show`: `tables.data.embedding`: table 'data' has no vector column",
        ),
    ],
)
def test_bad_data_is_named(shown, tmp_path, data, options, error, match):
    with pytest.raises(error, match=match):
        show(shown, data, tmp_path, **options)


def test_a_config_names_its_own_columns(shown, tmp_path):
    config = tmp_path / "team.yaml"
    config.write_text("tables:\n  t:\n    path: x.parquet\n")
    with pytest.raises(ConfigError, match=r"`label`: a YAML config names its tables' columns"):
        show(shown, config, tmp_path, label="name")


def test_one_port_per_kernel(shown, tmp_path):
    view = show(shown, np.eye(150, 4), tmp_path)
    port = int(view.url.split(":")[2].split("/")[0])
    with pytest.raises(ConfigError, match=rf"serves its dashboards on port {port}, not {port + 1}"):
        show(shown, np.eye(150, 4), tmp_path, port=port + 1)


def test_outside_a_notebook_the_address_is_printed(shown, tmp_path, capsys):
    view = dashboard.show(np.eye(150, 4), cache_dir=tmp_path / "cache")
    shown.append(view)
    assert capsys.readouterr().out.strip() == f"Embedding projector: open {view.url} in a browser"
    # In a notebook the cell shows the page: an iframe of the view's address, tall enough
    # for the 3D map's page.
    html = notebook.InlinePage(view.url)._repr_html_()
    assert html.startswith(f'<iframe src="{view.url}"')
    assert 'height="820"' in html
    # The view itself shows as a line (a cell ending in `show(...)` shows the page once).
    assert not hasattr(view, "_repr_html_")
    assert repr(view) == f"<dashboard view at {view.url}: .selected, .coordinates, .close()>"


def test_errors_are_raised_from_show_not_from_deep_inside(shown, tmp_path):
    """A notebook prints the whole traceback: it must be the user's call, not the
    dashboard's insides."""
    import traceback

    with pytest.raises(DataError) as caught:
        show(shown, pl.DataFrame({"a": ["x", "y"]}), tmp_path)
    frames = traceback.extract_tb(caught.value.__traceback__)
    assert [f.name for f in frames][-1] == "show"
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__
