"""Run projections and cache their coordinates on disk under a content hash.

A projection is (table contents, embedding columns, reducer, params, dims) -> float32
coordinates. The cache is plain ``.npy`` files, written atomically, so a reopen is instant and
separate processes (background callbacks, several workers) share results.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dashboard.data import Dataset
from dashboard.errors import DataError, quote_list
from dashboard.plugin_manager import Registry
from dashboard.reducer import Progress

logger = logging.getLogger(__name__)

#: Bump when the meaning of cached coordinates changes.
CACHE_VERSION = 1


@dataclass(frozen=True)
class ProjectionRequest:
    """What the user asked to see."""

    table: str
    reducer: str
    dims: int = 2
    params: dict[str, Any] = field(default_factory=dict)
    #: Project only these rows ("isolate"); the others get no coordinates (NaN).
    rows: tuple[int, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (what the browser stores)."""
        data = asdict(self)
        data["rows"] = None if self.rows is None else list(self.rows)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ProjectionRequest:
        """Build from :meth:`to_dict` output."""
        return cls(
            table=str(data["table"]),
            reducer=str(data["reducer"]),
            dims=int(data.get("dims", 2)),
            params=dict(data.get("params") or {}),
            rows=None if data.get("rows") is None else tuple(int(r) for r in data["rows"]),
        )


class ProjectionStore:
    """Coordinates on disk, one ``<key>.npy`` file per projection."""

    def __init__(self, cache_dir: str | os.PathLike[str]):
        self.root = Path(cache_dir) / "projections"

    @staticmethod
    def key(
        fingerprint: str,
        reducer: str,
        params: Mapping[str, Any],
        dims: int,
        rows: tuple[int, ...] | None = None,
    ) -> str:
        """Return the cache key of a projection (of ``rows`` only, when given)."""
        subset = None
        if rows is not None:
            subset = hashlib.blake2b(np.asarray(rows, np.int64).tobytes(), digest_size=16)
        blob = json.dumps(
            [CACHE_VERSION, fingerprint, reducer, dict(params), dims]
            + ([subset.hexdigest()] if subset else []),
            sort_keys=True,
            default=str,
        )
        return hashlib.blake2b(blob.encode(), digest_size=16).hexdigest()

    def path(self, key: str) -> Path:
        """Return the file that holds projection ``key``."""
        if not key.isalnum():  # keys come back from the browser: never a path
            raise ValueError(f"invalid projection key {key!r}")
        return self.root / f"{key}.npy"

    def load(self, key: str) -> np.ndarray | None:
        """Return cached coordinates, or None when absent or unreadable."""
        try:
            return np.load(self.path(key), allow_pickle=False)
        except (OSError, ValueError):
            return None

    def save(self, key: str, coords: np.ndarray) -> None:
        """Write coordinates atomically (temp file + rename)."""
        self.root.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.root, suffix=".npy.tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                np.save(fh, np.asarray(coords, dtype=np.float32), allow_pickle=False)
            os.replace(tmp, self.path(key))
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)


def _check_rows(rows: tuple[int, ...] | None, n: int) -> tuple[int, ...] | None:
    if rows is None:
        return None
    unique = tuple(sorted(set(rows)))
    if not unique or unique[0] < 0 or unique[-1] >= n:
        raise DataError(
            f"cannot isolate rows {list(unique[:5])}...: the table has rows 0 to {n - 1}\n"
            "select points on the current map, then isolate them"
        )
    return unique


def pca_first(X: np.ndarray, dims: int, progress: Progress | None) -> np.ndarray:
    """``X`` reduced to its first ``dims`` principal components (float32)."""
    from sklearn.decomposition import PCA

    if progress:
        progress(0.02, f"PCA to {dims} dims first ({X.shape[1]:,} wide)")
    solver = "randomized" if X.shape[0] * X.shape[1] > 5_000_000 else "full"
    reduced = PCA(dims, svd_solver=solver, random_state=0).fit_transform(X)
    return reduced.astype(np.float32)


def run_projection(
    request: ProjectionRequest,
    datasets: Mapping[str, Dataset],
    registry: Registry,
    store: ProjectionStore,
    progress: Progress | None = None,
    *,
    pca_dims: int | None = None,
) -> dict[str, Any]:
    """Return the projection's summary, computing and caching its coordinates if needed.

    Returns
    -------
    dict
        ``key`` (load coordinates with :meth:`ProjectionStore.load`), ``table``,
        ``reducer``, ``dims``, ``params``, ``n``, ``seconds``, ``cached``, ``isolated``,
        ``pca_dims`` (the PCA width used first, or None).

    With ``pca_dims``, reducers marked ``pca_first`` get the embedding's first ``pca_dims``
    principal components when it is wider.

    Raises
    ------
    DashboardError
        Unknown table or reducer, bad params, or data the reducer cannot use.
    """
    if request.table not in datasets:
        raise DataError(f"unknown table {request.table!r}\nallowed values: {quote_list(datasets)}")
    dataset = datasets[request.table]
    reducer_cls = registry.reducer(request.reducer)
    params = reducer_cls.validate_params(request.params)
    params_json = params.model_dump(mode="json")
    rows = _check_rows(request.rows, dataset.n_rows)
    width = dataset.n_dims or 0
    first = pca_dims if reducer_cls.pca_first and pca_dims and width > pca_dims else None
    key_params = {**params_json, "__pca_dims": first} if first else params_json
    key = store.key(dataset.fingerprint(), request.reducer, key_params, request.dims, rows)
    summary = {
        "key": key,
        "table": request.table,
        "reducer": request.reducer,
        "dims": request.dims,
        "params": params_json,
        "isolated": None if rows is None else len(rows),
        "pca_dims": first,
    }
    start = time.perf_counter()
    coords = store.load(key)
    cached = coords is not None
    if coords is None:
        reducer = reducer_cls(params, n_components=request.dims)
        X = dataset.matrix() if rows is None else dataset.matrix()[np.asarray(rows)]
        if first:
            X = pca_first(X, first, progress)
        if rows is None:
            coords = reducer.fit_transform(X, progress=progress)
        else:
            # Rows left out of an isolated projection have no place on its map: NaN.
            coords = np.full((dataset.n_rows, request.dims), np.nan, dtype=np.float32)
            coords[np.asarray(rows)] = reducer.fit_transform(X, progress=progress)
        store.save(key, coords)
    seconds = time.perf_counter() - start
    logger.info(
        "%s %dD of %r: %d points in %.2f s%s",
        request.reducer,
        request.dims,
        request.table,
        coords.shape[0],
        seconds,
        " (cached)" if cached else "",
    )
    return {**summary, "n": int(coords.shape[0]), "seconds": seconds, "cached": cached}
