"""Names of a map's clusters: c-TF-IDF keywords, the most common label, centres and order."""

from __future__ import annotations

import numpy as np

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
        out.append(" ".join(words + ["the", "thing", "item", "stuff", "2024"]))
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
    labels = cluster_labels(Y, codes, texts=texts_of(codes), names={2: "from a plugin"})
    assert [label.cluster for label in labels] == [1, 0, 2]
    assert labels[2].text == "from a plugin"
    assert set(labels[0].text.split(" · ")) == set(TOPICS[1])
    by_value = cluster_labels(Y, codes, values=["x"] * len(codes))
    assert {label.text for label in by_value} == {"x (100%)"}
    bare = cluster_labels(Y, codes)
    assert [label.text for label in bare] == ["cluster 02", "cluster 01", "cluster 03"]
    assert bare[0].to_json()["rows"] == 60
