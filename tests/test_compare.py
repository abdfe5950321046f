"""Comparing two embeddings of the same items, on copies whose answer is known."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from dashboard.analysis.comparison import compare, linear_cka, match_ids


def clusters(n: int = 300, d: int = 16, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 5, (6, d))
    return centres[np.arange(n) % 6] + rng.normal(0, 1, (n, d))


def test_ids_match_in_any_order_and_only_shared_ones_count():
    rows_a, rows_b = match_ids(pl.Series([10, 11, 12, 13]), pl.Series([13, 99, 10, 11]))
    assert rows_a.tolist() == [0, 1, 3]
    assert rows_b.tolist() == [2, 3, 0]


def test_an_identical_copy_agrees_fully_and_a_shuffled_one_barely():
    X = clusters()
    ids = pl.Series(np.arange(300))
    order = np.random.default_rng(1).permutation(300)
    same = compare(X, ids, X[order], ids.gather(order), k=10)  # same vectors, rows reordered
    assert np.allclose(same.overlap, 1.0)
    assert same.cka == pytest.approx(1.0)
    shuffled = compare(X, ids, X[order], ids, k=10)  # each id now has another item's vector
    assert np.nanmean(shuffled.overlap) < 0.25  # only cluster-mates by chance
    assert shuffled.cka < 0.2


def test_cka_ignores_rotation_and_scale_and_allows_other_widths():
    X = clusters()
    rotation, _ = np.linalg.qr(np.random.default_rng(2).normal(size=(16, 16)))
    assert linear_cka(X, 3.0 * X @ rotation) == pytest.approx(1.0)
    wider = np.hstack([X, np.zeros((300, 8))])
    assert linear_cka(X, wider) == pytest.approx(1.0)
    noise = np.random.default_rng(3).normal(size=(300, 16))
    assert linear_cka(X, noise) < 0.2


def test_too_few_shared_ids_is_explained():
    X = clusters(20)
    with pytest.raises(ValueError, match=r"the tables share 3 ids; comparing needs 12 or more"):
        compare(X, pl.Series(np.arange(20)), X[:3], pl.Series([0, 1, 2]), k=10)


def test_the_panel_on_a_rotated_shuffled_copy_and_on_a_mismatched_one(
    tmp_path, write_config, digits_path
):
    from dashboard.errors import ConfigError
    from dashboard.web.assemble import prepare
    from tests.test_linked import write_pair

    tables = write_pair(tmp_path, digits_path)  # b: a's rows shuffled, vectors rotated
    a = pl.read_parquet(tables["a"]["path"])
    mixed = a.with_columns(pl.Series("id", np.random.default_rng(5).permutation(a["id"])))
    mixed.write_parquet(tmp_path / "mixed.parquet")
    tables["mixed"] = {"path": str(tmp_path / "mixed.parquet"), "label": "label", "id": "id"}
    panels = [
        {"type": "compare", "tables": ["a", "b"], "lowest": 3},
        {"type": "compare", "tables": ["a", "mixed"]},
    ]
    dashboard = prepare(write_config({"tables": tables, "panels": panels}))
    same, mixed_panel = dashboard.panels
    summary, table = same.render()
    cka, overlap, shared = summary.children
    assert cka.children[1].children == "1.000"
    # Rotation keeps distances; float32 rounding reorders a few ties among equal ones.
    assert float(overlap.children[1].children) > 0.99
    assert shared.children == "1,797 shared ids"
    assert len(table.children[1].children) == 3
    ring = same.ring({"table": "b"})
    picked = same.lowest(same.comparison())
    assert ring["rows"] == same.comparison().rows_b[picked].tolist()
    assert same.ring({"table": "elsewhere"}) is None
    low = mixed_panel.comparison()
    assert low.cka < 0.3
    assert np.nanmean(low.overlap) < 0.2
    del tables["mixed"]["id"]
    with pytest.raises(ConfigError, match=r"`panels\[1\]\.tables`: table 'mixed' has no `id`"):
        prepare(write_config({"tables": tables, "panels": panels}))


def test_either_map_can_be_coloured_by_overlap(tmp_path, write_config, digits_path):
    from dashboard.web.app import create_app
    from dashboard.web.assemble import prepare
    from tests.conftest import project, render_map
    from tests.figures import decode
    from tests.test_linked import write_pair

    tables = write_pair(tmp_path, digits_path)
    b = pl.read_parquet(tables["b"]["path"]).head(1000)  # b lacks 797 of a's ids
    b.write_parquet(tmp_path / "b-part.parquet")
    tables["b"]["path"] = str(tmp_path / "b-part.parquet")
    panels = [{"type": "scatter"}, {"type": "compare", "tables": ["a", "b"], "k": 5}]
    config = write_config({"tables": tables, "panels": panels})
    dashboard = prepare(config)
    client = create_app(config).server.test_client()
    scatter, _ = dashboard.panels
    options = {o["label"]: o["value"] for o in scatter.colour_options("a")}
    assert options["5-NN overlap with b"] == "__overlap10__"
    assert {o["label"] for o in scatter.colour_options("b")} >= {"5-NN overlap with a"}
    for table, value, shared in (("a", "__overlap10__", 1000), ("b", "__overlap11__", 1000)):
        request = {"table": table, "reducer": "pca", "dims": 2, "params": {}}
        result, _ = project(dashboard.context, request)
        marker = render_map(scatter, result, value)["colours"]["marker"]
        assert marker["colorbar"]["title"]["text"].startswith("5-NN overlap with")
        values = decode(marker["color"])
        assert np.isfinite(values).sum() == shared  # rows whose id the other table lacks: NaN
        measured = values[np.isfinite(values)]
        assert measured.min() >= 0
        assert measured.max() <= 1
        row = int(np.flatnonzero(np.isfinite(values))[0])
        # The tooltip says the value too (the tables have no images: it shows none).
        tip = client.get(f"/_dashboard/row/{row}?table={table}&colour={value}&key={result.key}")
        assert tip.json["lines"][0].startswith("5-NN overlap with")
        assert tip.json["image"] is None
