"""Maps of big tables on a Dask cluster: the workers read the table, the server fits.

With ``dask:`` in the config, a map of a parquet table of at least ``dask.min_rows`` rows is
computed so that no process holds the table:

- the reducer fits a seeded sample (``dask.fit_rows``, stratified like any sample), which the
  workers read from their row groups and send back (200,000 x 384 float32: 300 MB);
- every other row is placed on the fitted map with the reducer's ``transform``: one task per
  row group, each reading and decoding its own rows on its worker, with the fitted reducer
  (and the PCA run first) sent to each worker once;
- the server gathers only coordinates (8 bytes a row in 2D).

So the work of placing the rows (most of a 10M-row map) and of decoding the table spreads over
the workers, and the server's memory follows the sample. Reducers without ``transform``
(t-SNE) draw their sample only, as without Dask. The workers need the table at the same path
(a shared file system) or in object storage (an ``s3://`` table: each worker reads its row
groups with the table's storage options), and the ``embedding-dashboard`` package;
``dask.address`` names a running scheduler, else a local cluster of ``dask.local_workers``
processes on loopback is started once per process.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from dashboard.data.vectors import open_parquet, vector_block
from dashboard.errors import ConfigError, DataError

if TYPE_CHECKING:
    from dashboard.analysis.knn import Metric
    from dashboard.config import DaskConfig
    from dashboard.data.dataset import Dataset
    from dashboard.plugin.reducer import Progress, Reducer

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Part:
    """One row group of a parquet table: where it is and which rows of the table it holds."""

    path: str
    group: int
    first: int
    rows: int
    #: The pyarrow filesystem of an object-store table (sent to the workers with its
    #: options), or None for a local file.
    filesystem: Any = None


def parquet_parts(dataset: Dataset) -> list[Part] | None:
    """The row groups of ``dataset`` in table order, or None when it is not parquet files
    (local or ``s3://``) of one vector column (the cluster then is not used)."""
    parquet = dataset.parquet_files()
    if parquet is None:
        return None
    filesystem, paths = parquet
    parts, first = [], 0
    for path in paths:
        metadata = open_parquet(path, filesystem).metadata
        where = path if filesystem is not None else str(Path(path).resolve())
        for group in range(metadata.num_row_groups):
            rows = metadata.row_group(group).num_rows
            parts.append(Part(where, group, first, rows, filesystem))
            first += rows
    return parts if first == dataset.n_rows else None


def read_part(part: Part, column: str) -> np.ndarray:
    """The part's vectors as a (rows, width) float32 matrix (on a worker)."""
    table = open_parquet(part.path, part.filesystem).read_row_group(part.group, columns=[column])
    chunks = [vector_block(chunk) for chunk in table.column(0).chunks]
    if any(c is None for c in chunks) or not chunks:
        raise DataError(
            f"{part.path}: row group {part.group}: column {column!r} is not one vector of "
            "numbers a row\nfix the table; without `dask:` the dashboard names the rows"
        )
    with np.errstate(over="ignore"):
        return np.concatenate(chunks).astype(np.float32, copy=False)


def _rows_of_part(part: Part, column: str, local: np.ndarray) -> np.ndarray:
    return read_part(part, column)[local]


def _place_part(
    part: Part, column: str, local: np.ndarray, model: tuple[Reducer, Any, float]
) -> np.ndarray:
    reducer, pca, scale = model
    block = read_part(part, column)[local]
    if scale != 1.0:
        block = (block.astype(np.float64) * scale).astype(np.float32)
    if pca is not None:
        block = pca.transform(block).astype(np.float32)
    return reducer.transform(block)


def _fill_part(part: Part, column: str, metric: Metric, trained: np.ndarray) -> np.ndarray:
    # On a worker: the part's rows encoded by a copy of the trained (empty) index, returned
    # as that index's bytes (its codes and row ids, 0 to rows - 1).
    import faiss

    from dashboard.analysis.ann import prepared

    index = faiss.deserialize_index(trained)
    index.add(prepared(read_part(part, column), metric))
    return faiss.serialize_index(index)


class DistributedEngine:
    """The Dask cluster a config names, connected (or started) when first used."""

    def __init__(self, config: DaskConfig):
        self.config = config
        self._client: Any = None
        self._cluster: Any = None
        self._lock = threading.Lock()

    def applies(self, dataset: Dataset) -> bool:
        """Whether maps of ``dataset`` are computed on the cluster."""
        return dataset.n_rows >= self.config.min_rows and parquet_parts(dataset) is not None

    @property
    def fit_rows(self) -> int:
        """Rows a reducer fits; the workers place the rest."""
        return self.config.fit_rows

    def client(self) -> Any:
        """The ``distributed.Client``, made once."""
        with self._lock:
            if self._client is None:
                self._client = self._connect()
            return self._client

    def _connect(self) -> Any:
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise ConfigError(
                "`dask`: the dask distributed package is not installed\n"
                "pip install 'embedding-dashboard[scale]', or remove `dask:` from the config"
            ) from None
        if self.config.address:
            try:
                return Client(self.config.address, timeout=self.config.connect_timeout)
            except OSError as exc:
                raise ConfigError(
                    f"`dask.address`: cannot reach the scheduler at {self.config.address!r}: "
                    f"{exc}\nstart it (`dask scheduler`) or fix the address"
                ) from None
        self._cluster = LocalCluster(
            n_workers=self.config.local_workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",  # its status page: loopback, any free port
        )
        logger.info("started a local Dask cluster of %d workers", self.config.local_workers)
        return Client(self._cluster)

    def close(self) -> None:
        """Disconnect (and stop a local cluster this engine started)."""
        with self._lock:
            if self._client is not None:
                self._client.close()
            if self._cluster is not None:
                self._cluster.close()
            self._client = self._cluster = None

    def gather_rows(self, dataset: Dataset, rows: np.ndarray) -> np.ndarray:
        """Rows ``rows`` (sorted) of the table's vectors, read by the workers."""
        parts, column = self._parts(dataset)
        client = self.client()
        futures, order = [], []
        for part, local in _split(parts, rows):
            futures.append(client.submit(_rows_of_part, part, column, local, pure=False))
            order.append(part.first + local)
        blocks = client.gather(futures)
        out = np.empty((len(rows), blocks[0].shape[1] if blocks else 0), dtype=np.float32)
        position = np.searchsorted(rows, np.concatenate(order)) if order else []
        if blocks:
            out[position] = np.concatenate(blocks)
        return out

    def place(
        self,
        dataset: Dataset,
        rows: np.ndarray,
        coords: np.ndarray,
        model: tuple[Reducer, Any, float],
        progress: Progress | None,
    ) -> None:
        """Fill ``coords[rows]`` (rows sorted) with the fitted ``model`` (reducer, the PCA
        run first or None, the scale of the fitted rows): one task a row group."""
        from distributed import as_completed

        parts, column = self._parts(dataset)
        client = self.client()
        shared = client.scatter(model, broadcast=True)
        futures = {}
        for part, local in _split(parts, rows):
            future = client.submit(_place_part, part, column, local, shared, pure=False)
            futures[future] = part.first + local
        done = 0
        try:
            for future in as_completed(list(futures)):
                placed = futures.pop(future)
                coords[placed] = future.result()
                done += len(placed)
                if progress:  # may raise: a cancelled job, a time limit
                    progress(0.9, f"placing the rest on the cluster: {done:,} of {len(rows):,}")
        finally:
            for future in futures:  # cancelled, or one failed: the others stop too
                future.cancel()

    def index_filler(self, dataset: Dataset) -> Callable[[Any, Metric], None] | None:
        """How ``dataset``'s neighbour index is filled on the cluster (see
        :meth:`dashboard.analysis.ann.ApproximateIndex.build`), or None when the cluster
        does not serve this table."""
        if not self.applies(dataset):
            return None
        return lambda index, metric: self.fill_index(dataset, index, metric)

    def fill_index(self, dataset: Dataset, index: Any, metric: Metric) -> None:
        """Add every row of ``dataset`` to the trained faiss ``index``: each worker encodes
        its row groups with a copy of it, and the server merges their codes (row ids
        offset to the table's)."""
        import faiss
        from distributed import as_completed

        parts, column = self._parts(dataset)
        client = self.client()
        trained = client.scatter(faiss.serialize_index(index), broadcast=True)
        futures = {
            client.submit(_fill_part, part, column, metric, trained, pure=False): part
            for part in parts
        }
        try:
            for future in as_completed(list(futures)):
                part = futures.pop(future)
                index.merge_from(faiss.deserialize_index(future.result()), part.first)
        finally:
            for future in futures:
                future.cancel()

    def _parts(self, dataset: Dataset) -> tuple[list[Part], str]:
        parts = parquet_parts(dataset)
        if parts is None:
            raise DataError(f"table {dataset.name!r} is not local parquet: no cluster work")
        return parts, dataset.embedding_columns[0]


def _split(parts: list[Part], rows: np.ndarray) -> list[tuple[Part, np.ndarray]]:
    """``rows`` (sorted table rows) by part, as row numbers within each part."""
    out = []
    for part in parts:
        lo, hi = np.searchsorted(rows, [part.first, part.first + part.rows])
        if hi > lo:
            out.append((part, rows[lo:hi] - part.first))
    return out
