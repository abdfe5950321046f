"""Density maps: the grid index's regions, nearest rows and polygons against brute force, the
images it draws, and the scatter panel's density callbacks called as functions."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image

from dashboard.analysis.density import (
    Colouring,
    MapIndex,
    full_view,
    render,
    spread_radius,
)


@pytest.fixture(scope="module")
def coords():
    rng = np.random.default_rng(0)
    out = np.concatenate([rng.normal(0, 3, (4000, 2)), rng.normal(8, 1, (1000, 2))])
    out[[5, 17, 4999]] = np.nan  # not on the map
    return out.astype(np.float32)


def inside(coords, region):
    x0, x1, y0, y1 = region
    x, y = coords[:, 0], coords[:, 1]
    return np.flatnonzero((x >= x0) & (x <= x1) & (y >= y0) & (y <= y1))


@pytest.mark.parametrize(
    "region",
    [(-1.0, 2.0, -3.0, 0.5), (-100, 100, -100, 100), (7.5, 7.6, 7.5, 7.6), (50, 60, 50, 60)],
)
def test_rows_in_a_region_are_those_brute_force_finds(coords, region):
    index = MapIndex(coords)
    found = np.sort(index.rows[index.positions_in(region)])
    np.testing.assert_array_equal(found, inside(coords, region))


def test_the_nearest_shown_row_within_a_radius(coords):
    index = MapIndex(coords)
    keep = np.ones(len(coords), bool)
    keep[::2] = False
    for px, py in [(0.0, 0.0), (8.2, 7.9), (3.3, -2.1)]:
        d = np.hypot(coords[:, 0] - px, coords[:, 1] - py)
        d[~np.isfinite(d)] = np.inf
        assert index.nearest(px, py, 1.0) == int(np.argmin(d))
        d_kept = np.where(keep, d, np.inf)
        assert index.nearest(px, py, 1.0, keep) == int(np.argmin(d_kept))
    assert index.nearest(40.0, 40.0, 1.0) is None  # nothing that close


def test_box_and_lasso_select_the_shown_rows_inside(coords):
    index = MapIndex(coords)
    box = np.array([[-1, -1], [2, -1], [2, 1.5], [-1, 1.5]])
    np.testing.assert_array_equal(index.rows_in_polygon(box), inside(coords, (-1, 2, -1, 1.5)))
    # A triangle: inside when left of every edge (counter-clockwise).
    triangle = np.array([[0.0, 0.0], [6.0, 0.0], [0.0, 6.0]])
    x, y = coords[:, 0].astype(float), coords[:, 1].astype(float)
    with np.errstate(invalid="ignore"):
        expected = np.flatnonzero((x > 0) & (y > 0) & (x + y < 6))
    np.testing.assert_array_equal(index.rows_in_polygon(triangle), expected)
    keep = np.zeros(len(coords), bool)
    keep[expected[:10]] = True
    np.testing.assert_array_equal(index.rows_in_polygon(triangle, keep), expected[:10])


def decode(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))


def test_an_image_mixes_category_colours_and_dims_what_is_not_selected():
    coords = np.array([[0.5, 0.5], [0.5, 0.5], [3.5, 3.5], [3.5, 3.5]], np.float32)
    index = MapIndex(coords)
    colouring = Colouring(["#ff0000", "#0000ff"], codes=np.array([0, 0, 1, 1], np.uint8))
    pixels = decode(render(index, (0, 4, 0, 4), (4, 4), colouring, opacity=1.0).png)
    assert pixels.shape == (4, 4, 4)
    # Row 0 of the image is the top (y = 4): the blue rows sit there, the red ones below.
    assert tuple(pixels[0, 3, :3]) == (0, 0, 255)
    assert tuple(pixels[3, 0, :3]) == (255, 0, 0)
    assert pixels[0, 3, 3] == 255
    selected = np.array([True, True, False, False])
    dimmed = decode(
        render(index, (0, 4, 0, 4), (4, 4), colouring, selected=selected, opacity=1).png
    )
    assert dimmed[3, 0, 3] == 255  # selected: full opacity
    assert dimmed[0, 3, 3] < 80  # not selected: dimmed
    kept = decode(render(index, (0, 4, 0, 4), (4, 4), colouring, keep=~selected, opacity=1).png)
    assert kept[3, 0, 3] == 0  # filtered out: not drawn


def test_numbers_go_on_viridis_and_sparse_images_spread():
    coords = np.array([[0.1, 0.1], [0.9, 0.9]], np.float32)
    index = MapIndex(coords)
    colouring = Colouring(["#000000"], values=np.array([0.0, 1.0], np.float32), low=0, high=1)
    pixels = decode(render(index, (0, 1, 0, 1), (100, 100), colouring, opacity=1).png)
    assert tuple(pixels[90, 10, :3]) == (68, 1, 84)  # the low end of Viridis
    assert tuple(pixels[10, 90, :3]) == (253, 231, 37)  # the high end
    assert (pixels[..., 3] > 0).sum() > 2  # two rows, spread to dots
    assert spread_radius(np.array([1] + [0] * 9999)) == 3
    assert spread_radius(np.ones(100)) == 0


def test_the_full_view_pads_the_extent(coords):
    index = MapIndex(coords)
    x0, x1, y0, y1 = full_view(index)
    finite = coords[np.isfinite(coords).all(axis=1)]
    assert x0 < finite[:, 0].min()
    assert x1 > finite[:, 0].max()
    assert y0 < finite[:, 1].min()
    assert y1 > finite[:, 1].max()


def test_a_packed_index_reads_back_the_same_and_refuses_another_maps(coords):
    index = MapIndex(coords)
    rows, layout = index.packed()
    again = MapIndex.unpacked(coords, rows, layout)
    assert again.extent == index.extent
    np.testing.assert_array_equal(again.rows, index.rows)
    for region in [(-1.0, 2.0, -3.0, 0.5), (7.5, 8.6, 7.5, 9.6)]:
        np.testing.assert_array_equal(again.positions_in(region), index.positions_in(region))
    assert again.nearest(8.0, 8.0, 0.5) == index.nearest(8.0, 8.0, 0.5)
    assert MapIndex.unpacked(coords[:-1], rows, layout) is None  # another map's
    assert MapIndex.unpacked(coords, rows[:-1], layout) is None  # cut short
    assert MapIndex.unpacked(coords, rows, layout[:-1]) is None
    assert MapIndex.unpacked(coords, rows.astype(np.float32), layout) is None


def test_colours_mix_as_the_mean_of_each_pixels_rows():
    # Two rows of red and one of blue in one pixel: two thirds red, one third blue.
    coords = np.array([[0.5, 0.5], [0.5, 0.5], [0.5, 0.5], [9.5, 9.5]], np.float32)
    colouring = Colouring(["#ff0000", "#0000ff"], codes=np.array([0, 0, 1, 1], np.int32))
    drawn = render(MapIndex(coords), (0, 10, 0, 10), (10, 10), colouring, opacity=1.0)
    assert drawn.rows == 4
    pixels = np.asarray(Image.open(io.BytesIO(drawn.png)))
    np.testing.assert_array_equal(pixels[9, 0, :3], [170, 0, 85])
    np.testing.assert_array_equal(pixels[0, 9, :3], [0, 0, 255])


# -- the scatter panel's density part, callbacks called as functions ------------------------


@pytest.fixture
def density_dashboard(write_config, digits_path):
    from dashboard.web.assemble import prepare

    config = write_config(
        {
            "tables": {"digits": {"path": str(digits_path), "label": "target"}},
            "panels": [
                {"type": "scatter", "color": "target", "density_above": 1000, "points_in_view": 300}
            ],
        }
    )
    dashboard = prepare(config)
    panel = dashboard.panels[0]
    projection = dashboard.context.project({"table": "digits", "reducer": "pca", "dims": 2})
    return dashboard, panel, projection


def test_a_big_map_sends_no_arrays_of_a_value_a_row(density_dashboard):
    _, panel, projection = density_dashboard
    assert panel.is_density(projection)
    coords, colours, mask, legend, _ = panel.render(projection, {}, {})
    assert coords["density"] is True
    assert "x" not in coords
    assert "color" not in colours["marker"]
    assert colours["size"] is None
    assert mask == {"key": projection.key, "shown": None}
    assert len(legend[1:]) == 10  # the legend still counts every category


def test_the_image_follows_the_camera_and_turns_to_points(density_dashboard):
    dashboard, panel, projection = density_dashboard
    view = panel.density_view(projection, {}, {}, None, [])
    assert view["image"].startswith("data:image/png;base64,")
    assert view["points"] is None
    assert view["inView"] == 1797
    coords = dashboard.context.coordinates(projection)
    # Zoomed in on a few rows: they come as points, with their row numbers.
    x, y = coords[0]
    camera = {"x": [x - 2, x + 2], "y": [y - 2, y + 2]}
    maps = {panel.map_key: {"camera": camera}}
    near = panel.density_view(projection, maps, {}, None, [])
    # Drawn with a margin of a tenth of the view on each side.
    assert near["asked"] == [x - 2, x + 2, y - 2, y + 2]
    expected = inside(coords, (x - 2.4, x + 2.4, y - 2.4, y + 2.4))
    assert near["image"] is None
    assert near["inView"] == len(expected) <= 300
    rows = np.frombuffer(base64.b64decode(near["points"]["rows"]["bdata"]), np.int32)
    np.testing.assert_array_equal(np.sort(rows), expected)
    # A filter takes its rows out of the view; the focus's coordinates come along.
    filters = {"table": "digits", "filters": {"target": {"in": [0]}}}
    focus = {"table": "digits", "row": 0}
    kept = panel.density_view(projection, maps, filters, None, [focus])
    target = dashboard.context.datasets["digits"].metadata()["target"].to_numpy()
    assert kept["inView"] == int((target[expected] == 0).sum())
    assert kept["marks"]["rows"] == ([0] if target[0] == 0 else [])


def test_the_grid_index_is_kept_with_the_map_for_the_next_server(density_dashboard, monkeypatch):
    from dashboard.analysis import density

    _, panel, projection = density_dashboard
    built = panel.map_index(projection)
    # A new server on the same cache (nothing in memory) reads the index instead of sorting.
    panel.__dict__.pop("_indexes")
    panel.__dict__.pop("_views", None)
    monkeypatch.setattr(density.MapIndex, "__init__", lambda *a: pytest.fail("sorted again"))
    kept = panel.map_index(projection)
    assert kept is not built
    np.testing.assert_array_equal(kept.rows, built.rows)
    assert panel.density_view(projection, {}, {}, None, [])["inView"] == 1797


def test_a_box_selects_the_shown_rows_inside_and_hover_names_the_nearest(density_dashboard):
    dashboard, panel, projection = density_dashboard
    coords = dashboard.context.coordinates(projection)
    box = [[-5, -5], [5, -5], [5, 5], [-5, 5]]
    rows = panel.region_rows(projection, {}, {}, box)
    np.testing.assert_array_equal(rows, inside(coords, (-5, 5, -5, 5)))
    hidden = {panel.map_key: {"colour": "target", "hidden": ["3"]}}
    target = dashboard.context.datasets["digits"].metadata()["target"].to_numpy()
    shown = panel.region_rows(projection, hidden, {}, box)
    np.testing.assert_array_equal(shown, rows[target[rows] != 3])
    assert panel.region_rows(projection, {}, {}, [[0, 0], [1, 1]]).size == 0  # not a polygon
    assert panel.region_rows(projection, {}, {}, "nonsense").size == 0
    x, y = coords[42]
    assert panel.hovered_row(projection, {}, {}, float(x), float(y), 0.01) == 42
    assert panel.hovered_row(projection, {}, {}, float("nan"), 0.0, 1.0) is None
    assert panel.hovered_row(projection, {}, {}, "x", 0.0, 1.0) is None


def test_a_3d_map_over_the_limit_says_why_it_is_not_drawn(density_dashboard):
    dashboard, panel, _ = density_dashboard
    projection = dashboard.context.project({"table": "digits", "reducer": "pca", "dims": 3})
    coords, *_ = panel.render(projection, {}, {})
    assert coords["message"].startswith("A 3D map of 1,797 rows is more than the browser can")
    assert "Switch to 2D" in coords["message"]


def test_the_card_shows_a_number_column_rounded(write_config, digits_path):
    from dashboard.web.app import create_app

    config = write_config({"tables": {"digits": {"path": str(digits_path), "label": "label"}}})
    client = create_app(config).server.test_client()
    card = client.get("/_dashboard/row/3?table=digits&colour=ink").json
    (line,) = card["lines"]
    name, value = line.split(": ")
    assert name == "ink"
    assert len(value.replace(".", "").lstrip("0")) <= 4  # 4 significant digits, not 17


@pytest.mark.parametrize("region", [(-20.0, 20.0, -20.0, 20.0), (-1.0, 2.5, -3.0, 0.5)])
def test_pixel_counts_and_colours_are_those_of_the_rows_inside(coords, region):
    from dashboard.analysis.density import _mix

    rng = np.random.default_rng(1)
    codes = rng.integers(0, 3, len(coords)).astype(np.int32)
    keep = rng.random(len(coords)) < 0.8
    chosen = rng.random(len(coords)) < 0.5
    palette = ["#ff0000", "#00ff00", "#0000ff"]
    size = (37, 23)
    rgb, count = _mix(MapIndex(coords), region, size, Colouring(palette, codes=codes), keep, chosen)
    # Brute force: every row inside the region, kept and chosen, to its pixel.
    x0, x1, y0, y1 = region
    rows = inside(coords, region)
    rows = rows[keep[rows] & chosen[rows]]
    px = np.clip(((coords[rows, 0] - x0) / (x1 - x0) * size[0]).astype(int), 0, size[0] - 1)
    py = np.clip(((y1 - coords[rows, 1]) / (y1 - y0) * size[1]).astype(int), 0, size[1] - 1)
    pixel = py * size[0] + px
    expected = np.bincount(pixel, minlength=size[0] * size[1])
    assert count.sum() == len(rows)
    np.testing.assert_array_equal(count, expected)
    reds = np.bincount(pixel, codes[rows] == 0, minlength=size[0] * size[1])
    full = expected > 0
    np.testing.assert_allclose(rgb[full, 0], 255 * reds[full] / expected[full])
    # The same image from codes put in the index's order.
    index = MapIndex(coords)
    ordered = Colouring(palette, codes=index.in_order(codes), ordered=True)
    again_rgb, again = _mix(index, region, size, ordered, keep, chosen)
    np.testing.assert_array_equal(again, count)
    np.testing.assert_allclose(again_rgb, rgb)


def test_a_restarted_server_prepares_the_opening_density_map(density_dashboard):
    _, panel, projection = density_dashboard
    for memo in ("_indexes", "_views", "_ordered"):
        panel.__dict__.pop(memo, None)
    panel.warm_opening_map().join(timeout=60)
    # The opening view was drawn: the page's first ask is answered from memory.
    assert panel.__dict__["_indexes"].peek(projection.key) is not None
    assert len(panel.__dict__["_views"]._values) == 1


def test_a_zoomed_image_is_as_wide_as_the_plot_on_screen_and_its_margin(density_dashboard):
    from plugins.scatter_density import _with_camera

    dashboard, panel, projection = density_dashboard
    coords = dashboard.context.coordinates(projection)
    x, y = np.nanmedian(coords, axis=0)
    camera = {"x": [x - 20, x + 20], "y": [y - 10, y + 10]}

    def size(pixels):
        maps = _with_camera({}, panel.map_key, camera, pixels)
        view = panel.density_view(projection, maps, {}, None, [])
        png = base64.b64decode(view["image"].split(",", 1)[1])
        return Image.open(io.BytesIO(png)).size

    assert size(700) == (840, 420)  # 1.2x: a tenth of the view's width on each side
    assert size(None) == (1000, 500)  # the page did not say
    assert size(10**9) == (1000, 500)  # capped


def test_a_filter_leaving_few_rows_in_a_big_region_sends_them_as_points(density_dashboard):
    dashboard, panel, projection = density_dashboard
    filters = {"table": "digits", "filters": {"target": {"in": [0]}}}
    view = panel.density_view(projection, {}, filters, None, [])
    target = dashboard.context.datasets["digits"].metadata()["target"].to_numpy()
    # The whole map's cells hold 1,797 rows, more than `points_in_view` (300): the image
    # counts the shown ones (178), few enough to go as points after all.
    assert view["image"] is None
    assert view["inView"] == int((target == 0).sum()) <= 300
    rows = np.frombuffer(base64.b64decode(view["points"]["rows"]["bdata"]), np.int32)
    np.testing.assert_array_equal(np.sort(rows), np.flatnonzero(target == 0))
