"""Names of a map's clusters: c-TF-IDF keywords, the most common label, centres and order."""

from __future__ import annotations

import numpy as np
import pytest

from dashboard.analysis.cluster_labels import (
    cluster_centres,
    cluster_labels,
    common_value_names,
    keyword_names,
)

TOPICS = {
    0: ["apple", "banana", "orchard"],
    1: ["engine", "wheel", "gearbox"],
    2: ["python", "compiler", "software"],
}


def texts_of(codes: np.ndarray, seed: int = 0) -> list[str | None]:
    """A text a row: two words of its cluster's topic among words every cluster shares."""
    rng = np.random.default_rng(seed)
    out: list[str | None] = []
    for code in codes:
        if code < 0:
            out.append("thing item stuff")
            continue
        words = list(rng.choice(TOPICS[int(code)], 2, replace=False))
        out.append(" ".join([*words, "the", "thing", "item", "stuff", "2024"]))
    return out


def test_keywords_are_the_words_that_set_a_cluster_apart():
    codes = np.repeat([0, 1, 2, -1], [50, 30, 20, 10])
    names = keyword_names(texts_of(codes), codes)
    assert set(names) == {0, 1, 2}
    for code, topic in TOPICS.items():
        words = names[code].split(" · ")
        assert len(words) == 3
        assert set(words) == set(topic), names[code]  # not "thing", "item" nor "stuff"
    # The same texts, the same names (ties broken by the word).
    assert keyword_names(texts_of(codes), codes) == names


def test_no_words_no_keywords():
    codes = np.array([0, 0, 1, 1])
    assert keyword_names(["", None, "the", "and"], codes) == {}
    assert keyword_names(["a b"], np.array([-1])) == {}


def test_the_most_common_value_names_a_cluster_with_its_share():
    codes = np.array([0, 0, 0, 1, 1, -1, 1])
    values = ["7", "7", "1", "b", "a", "7", None]
    # Cluster 1: "a" and "b" once each (the tie goes to the smaller text); None does not count.
    assert common_value_names(values, codes) == {0: "7 (67%)", 1: "a (33%)"}


def test_labels_sit_at_cluster_medians_biggest_first_with_plugin_names_kept():
    rng = np.random.default_rng(0)
    codes = np.repeat([0, 1, 2, -1], [30, 60, 10, 5])
    centres = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    Y = np.where(codes[:, None] >= 0, centres[np.maximum(codes, 0)], 50.0)
    Y = (Y + rng.normal(0, 0.5, Y.shape)).astype(np.float32)
    Y[3] = np.nan  # a row off the map does not move its centre
    found = cluster_centres(Y, codes)
    assert found[1][2] == 60
    np.testing.assert_allclose(found[1][:2], [10, 0], atol=0.3)
    # A blob has no gap: its reach holds 90% of its points, about 2.1 x its spread of 0.5.
    assert 0.7 < found[1][3] < 1.6
    labels = cluster_labels(Y, codes, texts=texts_of(codes), names={2: "from a plugin"})
    assert [label.cluster for label in labels] == [1, 0, 2]
    assert labels[2].text == "from a plugin"
    assert set(labels[0].text.split(" · ")) == set(TOPICS[1])
    by_value = cluster_labels(Y, codes, values=["x"] * len(codes))
    assert {label.text for label in by_value} == {"x (100%)"}
    bare = cluster_labels(Y, codes)
    assert [label.text for label in bare] == ["cluster 02", "cluster 01", "cluster 03"]
    assert bare[0].to_json()["rows"] == 60


# -- the map's labels through the plugin API ------------------------------------------------


def labelled_dashboard(write_config, digits_path, tmp_path, plugin=None):
    from dashboard.plugin.manager import get_plugin_manager
    from dashboard.web.assemble import prepare

    pm = get_plugin_manager(load_entry_points=False)
    if plugin is not None:
        pm.register(plugin, name="names")
    table = {"path": str(digits_path), "embedding": "pixels", "label": "label", "text": "text"}
    config = {"tables": {"digits": table}, "cache_dir": str(tmp_path / "cache")}
    dashboard = prepare(write_config(config), plugin_manager=pm)
    projection = dashboard.context.project({"table": "digits", "reducer": "pca", "dims": 2})
    return dashboard, projection


def test_a_maps_labels_are_kept_with_it_and_name_exported_rows(
    write_config, digits_path, tmp_path, monkeypatch
):
    dashboard, projection = labelled_dashboard(write_config, digits_path, tmp_path)
    context = dashboard.context
    assert context.row_cluster_labels(projection, np.array([0, 1])) is None  # not named yet
    named = context.cluster_labels(projection)
    assert named["key"] == projection.key
    assert named["source"] == "most common `label`"  # the digits' texts differ only in numbers
    sizes = [label["rows"] for label in named["labels"]]
    assert sizes == sorted(sizes, reverse=True)
    assert all(label["text"] for label in named["labels"])
    clusters = context.computed(projection, "__cluster__").to_list()
    by_name = {f"cluster {label['cluster'] + 1:02d}": label["text"] for label in named["labels"]}
    rows = np.arange(0, 1797, 97)
    assert context.row_cluster_labels(projection, rows) == [
        by_name.get(clusters[r], clusters[r]) for r in rows
    ]
    # A new server on the same cache reads them back instead of computing them.
    again, _ = labelled_dashboard(write_config, digits_path, tmp_path)
    monkeypatch.setattr(
        "dashboard.analysis.cluster_labels.keyword_names",
        lambda *a, **k: pytest.fail("computed again"),
    )
    assert again.context.cluster_labels(projection) == named


def test_a_plugin_names_clusters_and_a_failing_one_leaves_the_builtin_names(
    write_config, digits_path, tmp_path
):
    from dashboard.plugin import hookimpl

    class Names:
        @hookimpl
        def dashboard_cluster_labels(self, table, clusters, metadata):
            assert table == "digits"
            assert "text" in metadata.columns
            first = min(clusters)
            return {first: f"{len(clusters[first])} rows, named by a plugin", 999: "ignored"}

    dashboard, projection = labelled_dashboard(write_config, digits_path, tmp_path / "a", Names())
    named = dashboard.context.cluster_labels(projection)
    texts = {label["cluster"]: label["text"] for label in named["labels"]}
    assert texts[0].endswith("rows, named by a plugin")
    assert named["source"] == "a plugin's names, most common `label`"
    assert 999 not in texts

    class Broken:
        @hookimpl
        def dashboard_cluster_labels(self, table, clusters, metadata):
            raise RuntimeError("the model is down")

    dashboard, projection = labelled_dashboard(write_config, digits_path, tmp_path / "b", Broken())
    named = dashboard.context.cluster_labels(projection)
    assert named["source"].startswith("cluster labels plugin failed")
    plain, _ = labelled_dashboard(write_config, digits_path, tmp_path / "c")
    assert named["labels"] == plain.context.cluster_labels(projection)["labels"]


def test_the_switch_asks_only_for_the_map_on_screen_and_3d_says_why(
    write_config, digits_path, tmp_path
):
    dashboard, projection = labelled_dashboard(write_config, digits_path, tmp_path)
    panel = next(p for p in dashboard.panels if p.name == "scatter")
    assert panel.labels_of({"key": projection.key, "on": False}, projection) is None
    assert panel.labels_of({"key": "another", "on": True}, projection) is None
    assert panel.labels_of({"key": projection.key, "on": True}, projection)["labels"]
    flat = dashboard.context.project({"table": "digits", "reducer": "pca", "dims": 3})
    assert panel.labels_of({"key": flat.key, "on": True}, flat) == {
        "key": flat.key,
        "labels": [],
        "notice": "Labels are drawn on 2D maps.",
    }


def test_texts_that_differ_only_in_numbers_fall_back_to_the_label():
    # The digits' texts: the same words for every digit, the digit itself a number.
    codes = np.repeat([0, 1, 2], 20)
    texts = [
        f"Handwritten {c}, scan {i} of 60 (8x8 at 17 grey levels)" for i, c in enumerate(codes)
    ]
    assert keyword_names(texts, codes) == {}
    Y = np.repeat([[0.0, 0.0], [5.0, 0.0], [0.0, 5.0]], 20, axis=0)
    values = [f"digit {c}" for c in codes]
    labels = cluster_labels(Y, codes, texts=texts, values=values)
    assert sorted(label.text for label in labels) == [
        "digit 0 (100%)",
        "digit 1 (100%)",
        "digit 2 (100%)",
    ]


def test_labels_leave_with_the_clusters_a_filter_or_the_legend_hides(
    write_config, digits_path, tmp_path
):
    dashboard, projection = labelled_dashboard(write_config, digits_path, tmp_path)
    panel = next(p for p in dashboard.panels if p.name == "scatter")
    everything = panel.labels_of({"key": projection.key, "on": True}, projection)["labels"]
    codes = dashboard.context.cluster_codes(projection)
    target = dashboard.context.datasets["digits"].metadata()["target"].to_numpy()
    ask = {
        "key": projection.key,
        "on": True,
        "filters": {"table": "digits", "filters": {"target": {"in": [0]}}},
    }
    kept = panel.labels_of(ask, projection)["labels"]
    for label in everything:
        members = codes == label["cluster"]
        zeros = int((members & (target == 0)).sum())
        stays = zeros > 0 and zeros >= 0.25 * members.sum()
        assert any(k["cluster"] == label["cluster"] for k in kept) == stays
    assert all(k["rows"] == int(((codes == k["cluster"]) & (target == 0)).sum()) for k in kept)
    assert len(kept) < len(everything)
    # A legend category hidden works alike.
    hidden = {"key": projection.key, "on": True, "colour": "target", "hidden": ["0"]}
    shown = {k["cluster"] for k in panel.labels_of(hidden, projection)["labels"]}
    for label in everything:
        members = codes == label["cluster"]
        others = int((members & (target != 0)).sum())
        assert (label["cluster"] in shown) == (others > 0 and others >= 0.25 * members.sum())


def test_names_kept_by_older_code_are_made_again(write_config, digits_path, tmp_path):
    import json

    dashboard, projection = labelled_dashboard(write_config, digits_path, tmp_path)
    path = dashboard.context.store.root / f"{projection.key}labels.json"
    stale = {"key": projection.key, "labels": [{"cluster": 0, "text": "digits · grey"}]}
    path.write_text(json.dumps(stale))  # as kept before names had a version
    named = dashboard.context.cluster_labels(projection)
    assert "digits · grey" not in [label["text"] for label in named["labels"]]
    assert json.loads(path.read_text())["version"] == named["version"]


def test_a_cluster_in_pieces_is_labelled_on_its_biggest_piece_with_that_pieces_reach():
    rng = np.random.default_rng(1)
    # Two pieces of 125 points (spread 0.1) 20 apart, and strays near the median (9, 0).
    Y = np.concatenate(
        [
            rng.normal([0, 0], 0.1, (125, 2)),
            rng.normal([20, 0], 0.1, (125, 2)),
            [[8.0, 0.0], [9.0, 0.1], [10.0, -0.1]],
        ]
    )
    x, y, rows, reach = cluster_centres(Y, np.zeros(len(Y), dtype=np.int32))[0]
    assert rows == 253
    # In a piece, not on the stray point nearest the median.
    assert min(np.hypot(x, y), np.hypot(x - 20, y)) < 0.15
    assert 0.1 < reach < 0.4  # the piece's size, not the whole cluster's (20 wide)


def test_a_cluster_in_two_pieces_is_labelled_on_one_of_its_points():
    # The median of two equal pieces, (5, 0.5), is empty space between them.
    Y = np.array([[0.0, 0.0], [0.0, 1.0], [10.0, 0.0], [10.0, 1.0]])
    x, y, rows, reach = cluster_centres(Y, np.zeros(4, dtype=np.int32))[0]
    assert rows == 4
    assert [x, y] in Y.tolist()
    assert reach <= 1  # the piece it sits on: the label lifts above it where it is small


def test_the_filters_cluster_list_names_the_clusters_once_the_labels_did(
    write_config, digits_path, tmp_path
):
    from dash import no_update

    from dashboard.plugin.manager import get_plugin_manager
    from dashboard.web.assemble import prepare

    table = {"path": str(digits_path), "embedding": "pixels", "label": "label"}
    config = {
        "tables": {"digits": table},
        "cache_dir": str(tmp_path / "cache"),
        "panels": [{"type": "scatter"}, {"type": "filter"}],
    }
    dashboard = prepare(
        write_config(config), plugin_manager=get_plugin_manager(load_entry_points=False)
    )
    scatter, filters = (
        next(p for p in dashboard.panels if p.name == n) for n in ("scatter", "filter")
    )
    projection = dashboard.context.project({"table": "digits", "reducer": "pca", "dims": 2})
    listed = filters.cluster_control(projection, None, compute=True).children[2].options
    assert all(" · " not in o["label"] for o in listed)  # not named yet: numbers and sizes
    # The first answer to the switch names the clusters and says so to the other panels.
    labels, news = scatter.answer_labels({"key": projection.key, "on": True}, projection)
    assert (news["key"], news["measure"]) == (projection.key, "labels")
    assert scatter.answer_labels({"key": projection.key, "on": True}, projection) == (
        labels,
        no_update,
    )
    listed = filters.cluster_control(projection, None, compute=False).children[2].options
    by_value = {o["value"]: o["label"] for o in listed}
    for label in labels["labels"]:
        name = f"cluster {label['cluster'] + 1:02d}"
        assert by_value[name].startswith(f"{name} · {label['text']} (")
    assert by_value["noise"].startswith("noise (")
