"""Image atlases for points drawn as images: layout, pixels, cache, route and limit."""

from __future__ import annotations

import io

import numpy as np
import polars as pl
import pytest
from PIL import Image as PILImage

from dashboard import create_app
from dashboard.data.atlas import AtlasLayout, atlas_png, build_atlas
from dashboard.writer.image import encode_png
from tests.conftest import open_table


def tiles(n: int, size: int = 8) -> list[bytes]:
    """Row i's image: a grey square of level 10 * i with a white top-left pixel."""
    out = []
    for i in range(n):
        pixels = np.full((size, size), (10 * i) % 250, dtype=np.uint8)
        pixels[0, 0] = 255
        out.append(encode_png(pixels))
    return out


@pytest.fixture
def table(tmp_path):
    n = 12
    images = tiles(n)
    images[3] = b"not a png"  # a broken cell: its tile stays empty, the others draw
    images[4] = None
    frame = pl.DataFrame(
        {"vec": np.random.default_rng(0).normal(size=(n, 4)).astype(np.float32), "img": images}
    )
    datasets, _, _ = open_table(tmp_path, frame, image="img")
    return datasets["t"]


def test_layout_keeps_the_atlas_a_size_browsers_decode():
    assert AtlasLayout.for_rows(1797) == AtlasLayout(1797, 64, 43)
    big = AtlasLayout.for_rows(10_000)
    assert big.tile == 32
    assert max(big.size) <= 3200
    assert max(AtlasLayout.for_rows(160_000).size) <= 6400


def test_each_row_has_its_tile_and_broken_images_leave_theirs_empty(table):
    layout = AtlasLayout.for_rows(table.n_rows)
    atlas = np.asarray(PILImage.open(io.BytesIO(build_atlas(table, layout))).convert("RGBA"))
    assert atlas.shape[:2] == (layout.size[1], layout.size[0])
    for row in range(table.n_rows):
        x, y = (row % layout.columns) * layout.tile, (row // layout.columns) * layout.tile
        tile = atlas[y : y + layout.tile, x : x + layout.tile]
        if row in (3, 4):
            assert tile[..., 3].max() == 0  # transparent: no image to draw
            continue
        # An 8-pixel image grows with sharp pixels: its corner pixel is a white block.
        block = layout.tile // 8
        assert (tile[:block, :block, :3] == 255).all()
        assert (tile[block:, block:, 0] == (10 * row) % 250).all()


def test_an_atlas_of_some_rows_puts_row_i_of_the_list_in_tile_i(table):
    rows = [9, 0, 4, 7]
    layout = AtlasLayout.for_rows(len(rows))
    atlas = np.asarray(PILImage.open(io.BytesIO(build_atlas(table, layout, rows))))
    for at, row in enumerate(rows):
        x, y = (at % layout.columns) * layout.tile, (at // layout.columns) * layout.tile
        tile = atlas[y : y + layout.tile, x : x + layout.tile]
        if row == 4:
            assert tile[..., 3].max() == 0
            continue
        block = layout.tile // 8
        assert (tile[block:, block:, 0] == (10 * row) % 250).all()


def test_the_atlas_is_built_once_and_kept(table, tmp_path, monkeypatch):
    layout = AtlasLayout.for_rows(table.n_rows)
    first = atlas_png(table, layout, tmp_path / "cache")
    monkeypatch.setattr("dashboard.data.atlas.build_atlas", lambda *a: pytest.fail("rebuilt"))
    assert atlas_png(table, layout, tmp_path / "cache") == first


@pytest.fixture
def atlas_app(tmp_path, digits_path):
    """An app of the digits with images and the same table without (`plain`)."""
    return create_app(
        {
            "tables": {
                "digits": {"path": str(digits_path), "embedding": "pixels", "image": "image"},
                "plain": {"path": str(digits_path), "embedding": "pixels"},
            },
            "cache_dir": str(tmp_path / "cache"),
            "panels": [{"type": "scatter"}],
        }
    )


def test_route_serves_the_atlas_and_refuses_what_it_cannot(atlas_app):
    app = atlas_app
    client = app.server.test_client()
    response = client.get("/_dashboard/atlas", query_string={"table": "digits"})
    assert response.status_code == 200
    assert response.data.startswith(b"\x89PNG")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    for args in ({"table": "plain"}, {"table": "nope"}, {}):
        assert client.get("/_dashboard/atlas", query_string=args).status_code == 404


def test_the_route_serves_an_atlas_of_the_rows_a_token_names(atlas_app):
    app = atlas_app
    context = app.dashboard.context
    spec = context.rows_atlas(context.datasets["digits"], np.array([5, 1, 1796]))
    assert (spec["rows"], spec["tile"], spec["columns"]) == (3, 64, 2)
    client = app.server.test_client()
    response = client.get(spec["url"])
    assert response.status_code == 200
    atlas = PILImage.open(io.BytesIO(response.data))
    assert atlas.size == (128, 128)
    # The same rows, the same token: built once.
    again = context.rows_atlas(context.datasets["digits"], np.array([5, 1, 1796]))
    assert again["url"] == spec["url"]
    token = spec["url"].split("rows=")[1]
    # Another server process sharing the cache (nothing in memory) builds it from the
    # rows kept under the token.
    context._atlas_rows.clear()
    context._atlas_rows_png.clear()
    again = client.get(spec["url"])
    assert again.status_code == 200
    assert again.data == response.data
    for args in (
        {"table": "digits", "rows": "0" * 24},  # forgotten or forged
        {"table": "plain", "rows": token},  # a table without images
        {"table": "digits", "rows": "../x"},
    ):
        assert client.get("/_dashboard/atlas", query_string=args).status_code == 404


def test_a_map_says_when_it_keeps_its_dots(tmp_path, digits_path):
    from dashboard.web.assemble import prepare

    config = {
        "tables": {"digits": {"path": str(digits_path), "embedding": "pixels", "image": "image"}},
        "cache_dir": str(tmp_path / "cache"),
        "panels": [{"type": "scatter", "image_limit": 100}],
    }
    dashboard = prepare(config)
    context = dashboard.context
    dataset = context.datasets["digits"]
    spec = context.image_atlas(dataset, 100)
    assert spec == {
        "notice": "Images on the map: 1,797 points are more than 100 (the scatter's "
        "`image_limit`), so the map keeps its dots; isolate a selection to see its images."
    }
    drawn = context.image_atlas(dataset, 10_000)
    assert (drawn["tile"], drawn["columns"], drawn["rows"]) == (64, 43, 1797)
    assert drawn["url"].startswith("/_dashboard/atlas?table=digits&v=")
    projection = context.project_here(context.initial_request)
    assert dashboard.panels[0].coords(projection)["images"] == spec  # the panel's own limit
