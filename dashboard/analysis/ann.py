"""Nearest neighbours of big tables: an approximate index (faiss), re-ranked exactly.

Exact search reads the whole matrix for every query: 15 GB for 10M x 384, seconds a click
even from the page cache. Above :data:`APPROXIMATE_ABOVE` rows the neighbours panel asks a
faiss inverted-file index with product-quantised codes (``IVF<lists>,PQ<m>``: about
``m`` bytes a row, so 10M rows fit in half a gigabyte). Its candidates (``RERANK`` x k) are
re-ranked by their exact distances read from the matrix, so the distances shown are exact and
only a missed neighbour is approximate. Each index measures its own recall@10 against exact
search on :data:`RECALL_QUERIES` seeded rows when it is built; the panel shows it.

An index is built once per table and metric, in a background thread (the panel answers
exactly meanwhile), and kept in the cache beside the matrix.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dashboard.analysis.knn import Metric, check_query, nearest_to_rows, pair_distances
from dashboard.data.matrix_file import gather_rows, row_blocks
from dashboard.errors import DataError
from dashboard.files import atomic_write, atomic_write_bytes

logger = logging.getLogger(__name__)

#: Tables with more rows than this get an approximate index (exact search below).
APPROXIMATE_ABOVE = 1_000_000
#: Candidates re-ranked exactly, per neighbour asked for, and at most in all. The codes rank
#: neighbours coarsely: on 1M x 384 synthetic clusters, recall@10 was 0.44 with 10 candidates
#: a neighbour, 0.75 with 50 and 0.92 with 200 (3.8 ms a query; 1.3 ms with 10).
RERANK = 200
MOST_CANDIDATES = 20_000
#: Rows whose neighbours measure an index's recall when it is built.
RECALL_QUERIES = 50
#: Rows the index's coarse centroids and codebooks are trained on.
TRAIN_ROWS = 100_000


@dataclass(frozen=True)
class IndexFacts:
    """What an approximate index is, and how well it finds neighbours."""

    kind: str  # faiss's factory string, e.g. "IVF1024,PQ48"
    rows: int
    probes: int
    recall: float  # recall@10 of the re-ranked search against exact search
    queries: int  # rows that recall was measured on

    def describe(self) -> str:
        """One line for the panel."""
        return (
            f"approximate search (faiss {self.kind}, {self.probes} lists probed, exact "
            f"re-rank): recall@10 {self.recall:.3f} on {self.queries} rows"
        )


class ApproximateIndex:
    """A faiss index over ``X``'s rows for one ``metric``, queried with exact re-ranking."""

    def __init__(self, X: np.ndarray, metric: Metric, index: Any, facts: IndexFacts | None):
        self.X = X
        self.metric = metric
        self.index = index
        self.facts = facts

    @classmethod
    def build(
        cls,
        X: np.ndarray,
        metric: Metric,
        seed: int = 0,
        fill: Callable[[Any, Metric], None] | None = None,
    ) -> ApproximateIndex:
        """Train and fill an index over ``X`` (a block of rows at a time), then measure its
        recall. ``fill(index, metric)``, when given, adds every row of the table to the
        trained index instead (a Dask cluster encoding the row groups on its workers)."""
        import faiss

        n, d = X.shape
        lists = int(np.clip(np.sqrt(n), 16, 1024))
        kind = f"IVF{lists},{_codes(d)}"
        index = faiss.index_factory(d, kind, faiss.METRIC_L2)
        rng = np.random.default_rng(seed)
        train = np.sort(rng.choice(n, min(n, max(TRAIN_ROWS, 40 * lists)), replace=False))
        index.train(prepared(gather_rows(X, train), metric))
        if fill is not None:
            fill(index, metric)
        else:
            for _, block in row_blocks(X):
                index.add(prepared(block, metric))
        if index.ntotal != n:
            raise DataError(f"the neighbour index holds {index.ntotal:,} rows of {n:,}")
        index.nprobe = min(lists, 32)
        built = cls(X, metric, index, None)
        queries = np.sort(rng.choice(n, min(n, RECALL_QUERIES), replace=False))
        exact, _ = nearest_to_rows(X, queries, 10, metric)
        found = [built.query(int(row), 10)[0] for row in queries]
        recall = float(
            np.mean([len(set(f) & set(e)) / 10 for f, e in zip(found, exact, strict=True)])
        )
        built.facts = IndexFacts(kind, n, index.nprobe, recall, len(queries))
        return built

    def query(self, row: int, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` rows nearest row ``row`` (itself excluded) and their exact distances,
        nearest first, ties by row number."""
        query = np.asarray(self.X[row : row + 1], dtype=np.float32)
        wanted = min(self.index.ntotal, max(min(k * RERANK, MOST_CANDIDATES), 100))
        _, found = self.index.search(prepared(query, self.metric), wanted)
        candidates = np.unique(found[0][(found[0] >= 0) & (found[0] != row)])
        if not candidates.size:
            return np.empty(0, np.int64), np.empty(0, np.float32)
        distances = pair_distances(query, gather_rows(self.X, candidates), self.metric)[0]
        keep = np.isfinite(distances)
        candidates, distances = candidates[keep], distances[keep]
        order = np.lexsort((candidates, distances))[:k]
        return candidates[order].astype(np.int64), distances[order].astype(np.float32)

    def save(self, path: Path) -> None:
        """Write the index and its facts (``<path>`` and ``<path>.json``) atomically."""
        import faiss

        atomic_write(path, lambda tmp: faiss.write_index(self.index, str(tmp)), durable=False)
        facts = json.dumps(asdict(self.facts) if self.facts else {}).encode()
        atomic_write_bytes(path.with_name(path.name + ".json"), facts)

    @classmethod
    def load(cls, X: np.ndarray, metric: Metric, path: Path) -> ApproximateIndex | None:
        """The index kept at ``path`` for ``X``, or None when absent or unreadable."""
        try:
            import faiss

            facts = IndexFacts(**json.loads(path.with_name(path.name + ".json").read_text()))
            index = faiss.read_index(str(path))
        except (OSError, RuntimeError, TypeError, ValueError):
            return None
        if index.ntotal != X.shape[0] or index.d != X.shape[1]:
            return None
        return cls(X, metric, index, facts)


def _codes(d: int) -> str:
    # Product quantisation with about 8 dims a sub-quantiser (m bytes a row) when d splits
    # so; else one byte a dim.
    for dims_each in (8, 6, 4, 12, 16, 10, 5, 3, 2):
        if d % dims_each == 0 and d // dims_each <= 96:
            return f"PQ{d // dims_each}"
    return "SQ8"


def prepared(block: np.ndarray, metric: Metric) -> np.ndarray:
    """``block``'s rows as the index takes them for ``metric`` (float32; unit length for
    cosine, so that L2 ranks as cosine does)."""
    # Unit rows for cosine (their euclidean order is the cosine order), float32, C-ordered.
    out = np.ascontiguousarray(block, dtype=np.float32)
    if metric == "cosine":
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        out = np.divide(out, norms, out=np.zeros_like(out), where=norms > 0)
    return np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0)


class NeighborSearch:
    """k-NN queries over a big matrix: exact until the metric's approximate index is ready
    (built once, in the background, and kept in ``folder`` when given)."""

    def __init__(
        self,
        X: np.ndarray,
        name: str,
        folder: Path | None = None,
        fill: Callable[[Any, Metric], None] | None = None,
    ):
        self.X = X
        self.name = name
        self.folder = folder
        #: Fills a trained index on a cluster (:meth:`ApproximateIndex.build`), or None.
        self.fill = fill
        self._indexes: dict[str, ApproximateIndex] = {}
        self._building: dict[str, threading.Thread] = {}
        self._failed: dict[str, str] = {}
        self._lock = threading.Lock()

    def query(self, row: int, k: int, metric: Metric = "cosine") -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` nearest rows to row ``row`` and their distances (see
        :meth:`dashboard.analysis.knn.NeighborIndex.query`)."""
        check_query(self.X.shape[0], row, k, metric)
        index = self.index(metric)
        if index is not None:
            return index.query(row, k)
        found, distances = nearest_to_rows(self.X, np.array([row]), k, metric)
        keep = found[0] >= 0
        return found[0][keep], distances[0][keep]

    def index(self, metric: Metric) -> ApproximateIndex | None:
        """The metric's index when ready; else starts building it and returns None."""
        with self._lock:
            if metric in self._indexes or metric in self._failed:
                return self._indexes.get(metric)
            kept = self._path(metric)
            loaded = ApproximateIndex.load(self.X, metric, kept) if kept else None
            if loaded is not None:
                self._indexes[metric] = loaded
                return loaded
            if metric not in self._building:
                thread = threading.Thread(
                    target=self._build, args=(metric,), name="dashboard-ann", daemon=True
                )
                self._building[metric] = thread
                thread.start()
            return None

    def describe(self, metric: Metric) -> str:
        """How the metric's neighbours are found, for the panel."""
        index = self._indexes.get(metric)
        if index is not None and index.facts is not None:
            return index.facts.describe()
        if metric in self._failed:
            return f"exact search (the approximate index failed: {self._failed[metric]})"
        return "exact search while the approximate index is built"

    def wait(self, metric: Metric, timeout: float | None = None) -> ApproximateIndex | None:
        """Block until the metric's index is built (for tests and scripts)."""
        self.index(metric)
        thread = self._building.get(metric)
        if thread is not None:
            thread.join(timeout)
        return self._indexes.get(metric)

    def _path(self, metric: Metric) -> Path | None:
        return None if self.folder is None else self.folder / f"ann-{self.name}-{metric}.faiss"

    def _build(self, metric: Metric) -> None:
        try:
            built = ApproximateIndex.build(self.X, metric, fill=self.fill)
        except Exception as exc:  # faiss missing or failing: exact search stays
            logger.warning("neighbour index of %r (%s) failed: %r", self.name, metric, exc)
            with self._lock:
                self._failed[metric] = type(exc).__name__
            return
        path = self._path(metric)
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                built.save(path)
            except OSError as exc:
                logger.warning("could not keep the neighbour index %s: %s", path, exc)
        logger.info("neighbour index of %r: %s", self.name, built.facts.describe())
        with self._lock:
            self._indexes[metric] = built
