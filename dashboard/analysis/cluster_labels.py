"""Names for a map's clusters: what lives where, at a glance (Embedding Atlas, latent-scope and
DataMapPlot label regions of their maps the same way).

Clusters are the map's HDBSCAN clusters (:func:`dashboard.analysis.structure.map_clusters`).
Each is named by

- the words that set its texts apart: class-based TF-IDF (BERTopic's c-TF-IDF), where each
  cluster's texts are one document, a word's weight is its frequency in the cluster times
  ``log(1 + A / f)`` (``A`` the mean number of words a cluster, ``f`` the word's frequency over
  every cluster), so words common everywhere weigh little, and a word found in every
  cluster's texts names none;
- else the most common value of the label column, with its share ("7 (93%)");
- else its number.

Each label sits at its cluster's densest point on the map, with the cluster's size, so the
page can show large clusters first and drop labels that would overlap.
A plugin may name clusters better (``dashboard_cluster_labels``, e.g. from an LLM the team
runs); these are the names when none does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from dashboard.analysis.knn import knn_graph

#: Words a label lists.
WORDS = 3
#: Texts of a cluster read for its words (a seeded sample of bigger clusters): 100k rows of
#: texts take about a second.
TEXTS_PER_CLUSTER = 2_000


@dataclass(frozen=True)
class ClusterLabel:
    """One cluster's name, where it sits and how many rows it holds."""

    cluster: int
    text: str
    x: float
    y: float
    rows: int
    #: What named it: "plugin", "keywords", "label" or "number".
    by: str = "number"
    #: How far the piece of the cluster around (x, y) spreads (map units): the page lifts
    #: the label of a piece small enough to hide under it above it instead.
    reach: float = 0.0

    def to_json(self) -> dict[str, object]:
        """As the page receives it."""
        return asdict(self)


#: Most of a cluster's points searched for its densest point (a seeded sample of bigger ones).
PLACE_SAMPLE = 1_000
#: Neighbours whose distance says how crowded a point is.
DENSE_NEIGHBOURS = 10
#: Share of a cluster's points, the most crowded, its label may sit on.
DENSE_SHARE = 0.25
#: Points a label's piece holds at least before a gap in distance may end it.
PIECE_MIN = 5


def cluster_centres(Y: np.ndarray, codes: np.ndarray) -> dict[int, tuple[float, float, int, float]]:
    """Each cluster's place on the 2D (or the first two axes of a 3D) map ``Y``, its row
    count (noise and unmeasured rows have none), and its reach there.

    The place is, of the quarter of its points most crowded (their 10th nearest neighbour in
    the cluster nearest), the one nearest the median of its points. A point, not the median
    itself: the median of a cluster in pieces can fall in the empty space between them, and
    its nearest point can be a stray one. The reach is how far the piece of the cluster
    around that place spreads: out to the first gap in distance that doubles it, else
    to 90% of the cluster's points; the page lifts a label above a piece small enough to
    hide under it."""
    out = {}
    rng = np.random.default_rng(0)
    for code in np.unique(codes[codes >= 0]):
        rows = np.flatnonzero(codes == code)
        points = np.asarray(Y[rows, :2], dtype=np.float64)
        points = points[np.isfinite(points).all(axis=1)]
        if not len(points):
            continue
        sample = points
        if len(points) > PLACE_SAMPLE:
            sample = points[rng.choice(len(points), PLACE_SAMPLE, replace=False)]
        median = np.median(sample, axis=0)
        to_median = np.sqrt(((sample - median) ** 2).sum(axis=1))
        k = min(DENSE_NEIGHBOURS, len(sample) - 1)
        crowd = np.zeros(len(sample))
        if k:  # how far a point's k-th nearest neighbour is: small where points crowd
            crowd = knn_graph(sample, k)[1][:, -1]
        # Of the densest quarter of its points (strays and thin bridges are not), the one
        # nearest the median: a blob's middle, or the middle-most piece's core.
        dense = np.flatnonzero(crowd <= np.quantile(crowd, DENSE_SHARE))
        place = sample[dense[np.argmin(to_median[dense])]]
        out[int(code)] = (float(place[0]), float(place[1]), len(rows), piece_reach(points, place))
    return out


def piece_reach(points: np.ndarray, place: np.ndarray) -> float:
    """How far from ``place`` the piece of ``points`` it lies in spreads: the distance
    before the first gap that doubles it (after :data:`PIECE_MIN` points, or half of a
    few), else the 90th percentile of the distances."""
    d = np.sort(np.sqrt(((points - place) ** 2).sum(axis=1)))
    least = min(PIECE_MIN, len(d) // 2)  # (a cluster of a few points: half of them)
    if least >= 1:
        near, far = d[least - 1 : -1], d[least:]
        gaps = np.flatnonzero(far > 2 * near + 1e-12)
        if len(gaps):
            return float(near[gaps[0]])
    return float(np.quantile(d, 0.9))


def keyword_names(
    texts: Sequence[str | None], codes: np.ndarray, *, words: int = WORDS, seed: int = 0
) -> dict[int, str]:
    """Each cluster's ``words`` most distinctive words by c-TF-IDF, joined by " · " (a
    cluster whose texts hold no word has none). Noise rows (code -1) name nothing but count
    in the words' frequencies, so words found everywhere weigh less."""
    from sklearn.feature_extraction.text import CountVectorizer

    clusters = [int(c) for c in np.unique(codes[codes >= 0])]
    if not clusters:
        return {}
    rng = np.random.default_rng(seed)
    documents = []
    for code in [*clusters, -1]:
        rows = np.flatnonzero(codes == code)
        if len(rows) > TEXTS_PER_CLUSTER:
            rows = np.sort(rng.choice(rows, TEXTS_PER_CLUSTER, replace=False))
        documents.append(" ".join(str(texts[r]) for r in rows if texts[r]))
    vectorizer = CountVectorizer(
        stop_words="english", token_pattern=r"(?u)\b[^\W\d_][\w'-]+\b", lowercase=True
    )
    try:
        counts = vectorizer.fit_transform(documents)
    except ValueError:  # no words at all (empty or only stop words)
        return {}
    vocabulary = np.asarray(vectorizer.get_feature_names_out())
    counts = counts.astype(np.float64).tocsr()
    if len(clusters) > 1:
        # A word in every cluster's texts tells none apart (the digits' "handwritten ...
        # grey levels" named every cluster alike): it names nothing.
        found_in = np.asarray((counts[: len(clusters)] > 0).sum(axis=0)).ravel()
        telling = np.flatnonzero(found_in < len(clusters))
        counts, vocabulary = counts[:, telling], vocabulary[telling]
    per_cluster = np.asarray(counts.sum(axis=1)).ravel()
    frequency = np.asarray(counts.sum(axis=0)).ravel()
    mean_words = per_cluster[: len(clusters)].mean()
    idf = np.log1p(mean_words / np.maximum(frequency, 1))
    out = {}
    for i, code in enumerate(clusters):
        row = counts.getrow(i)
        if not row.nnz:
            continue
        weights = row.data / max(per_cluster[i], 1) * idf[row.indices]
        # Highest weight first; ties by the word itself, so names do not change run to run.
        order = np.lexsort((vocabulary[row.indices], -weights))[:words]
        out[code] = " · ".join(vocabulary[row.indices[order]])
    return out


def common_value_names(values: Sequence[object], codes: np.ndarray) -> dict[int, str]:
    """Each cluster's most common value of ``values`` with its share, e.g. ``"7 (93%)"``
    (ties by the value's text; missing values do not count)."""
    out = {}
    for code in np.unique(codes[codes >= 0]):
        found: dict[str, int] = {}
        rows = np.flatnonzero(codes == code)
        for r in rows:
            value = values[r]
            if value is not None:
                found[str(value)] = found.get(str(value), 0) + 1
        if found:
            best = min(found, key=lambda v: (-found[v], v))
            out[int(code)] = f"{best} ({100 * found[best] / len(rows):.0f}%)"
    return out


def cluster_labels(
    Y: np.ndarray,
    codes: np.ndarray,
    *,
    texts: Sequence[str | None] | None = None,
    values: Sequence[object] | None = None,
    names: dict[int, str] | None = None,
) -> list[ClusterLabel]:
    """The labels of the clusters ``codes`` marks on ``Y``, biggest first: ``names`` (from a
    plugin) where given, else keywords of ``texts``, else the most common of ``values``,
    else the cluster's number."""
    centres = cluster_centres(Y, codes)
    own = {code: (text, "plugin") for code, text in (names or {}).items() if text}
    if texts is not None and any(c not in own for c in centres):
        # Every cluster's texts weigh the words (more clusters, better weights); only the
        # unnamed take them.
        found = keyword_names(texts, codes)
        own = {**{c: (t, "keywords") for c, t in found.items()}, **own}
    if values is not None:
        rest = np.isin(codes, [c for c in centres if c not in own])
        if rest.any():
            found = common_value_names(values, np.where(rest, codes, -1))
            own = {**{c: (t, "label") for c, t in found.items()}, **own}
    labels = []
    for code, (x, y, rows, reach) in centres.items():
        text, by = own.get(code, (f"cluster {code + 1:02d}", "number"))
        labels.append(ClusterLabel(code, text, x, y, rows, by, reach))
    return sorted(labels, key=lambda label: (-label.rows, label.cluster))
