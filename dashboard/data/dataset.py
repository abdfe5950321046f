"""One opened table (a :class:`Dataset`): its lazy frame, roles, embedding columns, and what
is read from it once and kept (metadata, the float32 matrix, images, the k-NN index)."""

from __future__ import annotations

import fnmatch
import glob
import hashlib
import json
import logging
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import polars as pl
import pyarrow as pa

from dashboard.analysis.ann import APPROXIMATE_ABOVE, NeighborSearch
from dashboard.analysis.knn import NeighborIndex
from dashboard.config import TableConfig
from dashboard.data.cloud import ObjectFiles, is_cloud
from dashboard.data.vectors import read_parquet_vectors
from dashboard.errors import DashboardError, DataError, quote_list

T = TypeVar("T")

ROLES = ("label", "text", "image", "id", "color")
#: The row-number column of :meth:`Dataset.metadata`.
ROW = "__row__"

logger = logging.getLogger(__name__)

#: Longest wait of the matrix cache's write for the fits reading the matrix (seconds).
KEEP_WAIT = 120.0


def is_vector_dtype(dtype: pl.DataType) -> bool:
    """True for List/Array columns of numbers: one embedding per cell."""
    return isinstance(dtype, (pl.List, pl.Array)) and dtype.inner.is_numeric()


#: Longest label shown as a row's name; a longer one (a pasted document) is cut with "…".
CAPTION_CHARS = 200


#: The "Embedding" choice that projects the table's numeric columns.
NUMERIC_CHOICE = "numeric columns"


def variant_key(table: str, choice: str | None) -> str:
    """The dataset name of table ``table`` with embedding ``choice`` (None: its default)."""
    return table if choice is None else f"{table} [{choice}]"


def shorten(text: str, limit: int = CAPTION_CHARS) -> str:
    """``text``, cut to ``limit`` characters with "…" when longer."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Dataset:
    """One configured table: its lazy frame, roles, embedding columns and matrix.

    Parameters
    ----------
    name
        The table's name in the config.
    config
        Its `tables.<name>` entry.
    frame
        The lazy frame to read from.
    files
        The local files behind ``frame`` (for a cheap fingerprint), or None.
    objects
        The object-store parquet files behind ``frame`` (a cheap fingerprint, and vectors
        read a row group at a time), or None.
    where
        Config file name, for messages.
    """

    def __init__(
        self,
        name: str,
        config: TableConfig,
        frame: pl.LazyFrame,
        *,
        files: list[Path] | None = None,
        objects: ObjectFiles | None = None,
        where: str = "<config>",
        key: str | None = None,
        base: Dataset | None = None,
    ):
        self.name = name
        #: The table with its default embedding, when this is another embedding of it.
        self._base = base
        self._variants: dict[str, Dataset] = {}
        #: The config table this dataset came from (for error messages).
        self.key = key or name
        self.config = config
        self.frame = frame
        self.files = files
        self.objects = objects
        self.where = where
        try:
            self.schema = frame.collect_schema()
        except Exception as exc:  # polars raises many kinds for unreadable files
            remedy = (
                "check the URL, the table's `storage_options` (endpoint, region, keys) and "
                "that the server can reach the store"
                if is_cloud(config.path)
                else "check that the file is a valid table of the given `format:`"
            )
            raise DataError(
                f"{where}: `tables.{key or name}.path`: cannot read {config.path!r}: {exc}\n"
                f"{remedy}"
            ) from exc
        self._check_unique_columns()
        self._check_roles()
        self.embedding_columns = self._resolve_embedding()
        # What is read once and kept, by name; each name has its own lock, so panels asking
        # together (the page's first load) read a column once, and a slow matrix read does
        # not hold up a metadata lookup.
        self._kept: dict[str, Any] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._locks_lock = threading.Lock()
        #: Where the matrix is kept as a float32 ``.npy`` that every process maps (the
        #: server, its reducer workers): set by the app (:meth:`keep_matrix_in`).
        self._matrix_store: Any = None
        self._memory_budget: int | None = None
        self._approximate_above: int | None = APPROXIMATE_ABOVE
        #: The cluster that does this table's chunked work (:meth:`use_engine`), or None.
        self._engine: Any = None
        self._fits = 0  # fits reading the matrix now (:meth:`fitting`)
        self._fits_done = threading.Condition()

    def keep_matrix_in(
        self,
        store: Any,
        *,
        memory_budget: int | None = None,
        approximate_above: int | None = APPROXIMATE_ABOVE,
    ) -> None:
        """Keep the matrix in ``store`` (a :class:`ProjectionStore`) once it is read, and map
        it from there: the server and its reducer worker processes then share one copy in
        the page cache instead of each decoding the table into its own.

        A matrix of more than ``memory_budget`` bytes (parquet files only) is decoded
        straight into its file, never whole in memory, and read a block at a time. A table
        of more than ``approximate_above`` rows finds neighbours with an approximate index
        (:mod:`dashboard.analysis.ann`) kept in ``store`` too; None: always exact.
        """
        self._matrix_store = store
        self._memory_budget = memory_budget
        self._approximate_above = approximate_above

    def use_engine(self, engine: Any) -> None:
        """Have ``engine`` (a :class:`~dashboard.projection.distributed.DistributedEngine`)
        do the table's chunked work it serves: filling its neighbour index."""
        self._engine = engine

    @contextmanager
    def fitting(self) -> Iterator[None]:
        """Mark a fit reading the matrix: the matrix cache is written once no fit runs (or
        after :data:`KEEP_WAIT` s). Written beside it, 3 GB slowed a 1M-row PCA fit from
        about 2 s to 5.6-7 s on two cores."""
        with self._fits_done:
            self._fits += 1
        try:
            yield
        finally:
            with self._fits_done:
                self._fits -= 1
                self._fits_done.notify_all()

    def _once(self, name: str, compute: Callable[[], T]) -> T:
        """``compute()``'s value, computed once per dataset even when threads ask together."""
        if name in self._kept:
            return self._kept[name]
        with self._locks_lock:
            lock = self._locks.setdefault(name, threading.Lock())
        with lock:
            if name not in self._kept:
                self._kept[name] = compute()
            return self._kept[name]

    # -- columns -----------------------------------------------------------------------------

    def _error(self, key: str, message: str, remedy: str) -> DataError:
        return DataError(f"{self.where}: `tables.{self.key}.{key}`: {message}\n{remedy}")

    def _missing(self, key: str, column: str) -> DataError:
        return self._error(
            key,
            f"column {column!r} not found in table {self.name!r}",
            f"available columns: {quote_list(self.schema.names())}",
        )

    def _check_unique_columns(self) -> None:
        # Polars renames a CSV's repeated header `a` to `a_duplicated_0`: the map would then
        # silently use a column nobody named. Parquet refuses duplicates when read.
        renamed = [c for c in self.schema.names() if re.search(r"_duplicated_\d+$", c)]
        if renamed:
            originals = sorted({re.sub(r"_duplicated_\d+$", "", c) for c in renamed})
            raise self._error(
                "path",
                f"{self.config.path!r} has duplicate column names: {quote_list(originals)}",
                "rename the columns so that each name appears once",
            )

    def _check_roles(self) -> None:
        for role in ROLES:
            column = getattr(self.config, role)
            if column is None:
                continue
            if column not in self.schema:
                raise self._missing(role, column)
            dtype = self.schema[column]
            # A label, text or id is one value per row: a list or bytes would fail in
            # every panel later, with no word of which column is wrong.
            if role != "image" and (dtype.is_nested() or dtype == pl.Binary or dtype == pl.Object):
                fits = [c for c, t in self.schema.items() if not (t.is_nested() or t == pl.Binary)]
                raise self._error(
                    role,
                    f"column {column!r} of table {self.name!r} holds {dtype} values, "
                    f"not one {role} per row",
                    f"choose a column of numbers or text: {quote_list(fits)}",
                )

    def _resolve_embedding(self) -> list[str]:
        spec = self.config.embedding
        names = self.schema.names()
        if spec is None:
            vectors = self.vector_columns
            if vectors:
                # Several: the first, as W&B's projector opens; the others are offered as
                # choices (:attr:`embedding_choices`), never a reason to refuse to start.
                return vectors[:1]
            numeric = self.numeric_columns
            if not numeric:
                raise self._error(
                    "embedding",
                    f"table {self.name!r} has no vector column and no numeric columns",
                    f"set `embedding:` to columns of numbers; columns: {quote_list(names)}",
                )
            return numeric
        if isinstance(spec, str) and glob.has_magic(spec):
            matched = [c for c in names if fnmatch.fnmatchcase(c, spec)]
            if not matched:
                raise self._error(
                    "embedding",
                    f"pattern {spec!r} matches no column of table {self.name!r}",
                    f"available columns: {quote_list(names)}",
                )
            columns = matched
        else:
            columns = [spec] if isinstance(spec, str) else list(spec)
        for column in columns:
            if column not in self.schema:
                raise self._missing("embedding", column)
        if len(columns) == 1 and is_vector_dtype(self.schema[columns[0]]):
            return columns
        bad = [c for c in columns if not self.schema[c].is_numeric()]
        if bad:
            kinds = ", ".join(f"{c!r} is {self.schema[c]}" for c in bad)
            raise self._error(
                "embedding",
                f"embedding columns must be numbers (or one list/array column): {kinds}",
                "pick numeric columns, or one column holding a vector per row",
            )
        if len(set(columns)) != len(columns):
            raise self._error("embedding", "embedding columns repeat", "list each column once")
        return columns

    @property
    def vector_columns(self) -> list[str]:
        """The columns holding one vector per row, in table order."""
        return [c for c in self.schema.names() if is_vector_dtype(self.schema[c])]

    @property
    def numeric_columns(self) -> list[str]:
        """The numeric columns that are not a label, text, image or id."""
        roles = {getattr(self.config, r) for r in ROLES}
        return [c for c in self.schema.names() if self.schema[c].is_numeric() and c not in roles]

    @property
    def embedding_choice(self) -> str:
        """How the embedding in use is named in the page's "Embedding" select: its vector
        column, :data:`NUMERIC_CHOICE`, or the config's pattern or columns."""
        columns = self.embedding_columns
        if self.is_vector_column:
            return columns[0]
        if columns == self.numeric_columns:
            return NUMERIC_CHOICE
        spec = self.config.embedding
        return spec if isinstance(spec, str) else shorten(", ".join(columns), 60)

    @property
    def embedding_choices(self) -> list[str]:
        """Every embedding a person may pick for this table: the one in use, each vector
        column, and "numeric columns" when there are at least two (one number is no map)."""
        base = self._base or self
        choices = [base.embedding_choice, *base.vector_columns]
        if len(base.numeric_columns) >= 2:
            choices.append(NUMERIC_CHOICE)
        return list(dict.fromkeys(choices))

    def variant(self, choice: str) -> Dataset:
        """This table with the embedding ``choice`` (one of :attr:`embedding_choices`): a
        dataset of its own (its own matrix and maps), named :func:`variant_key`, sharing
        this one's frame, metadata and images.

        Raises
        ------
        DataError
            For a choice the table does not offer.
        """
        base = self._base or self
        if choice == base.embedding_choice:
            return base
        if choice not in base.embedding_choices:
            raise base._error(
                "embedding",
                f"table {base.name!r} has no embedding {choice!r}",
                f"allowed values: {quote_list(base.embedding_choices)}",
            )
        with base._locks_lock:
            made = base._variants.get(choice)
            if made is None:
                columns = base.numeric_columns if choice == NUMERIC_CHOICE else choice
                config = base.config.model_copy(update={"embedding": columns})
                made = Dataset(
                    variant_key(base.name, choice),
                    config,
                    base.frame,
                    files=base.files,
                    objects=base.objects,
                    where=base.where,
                    key=base.key,
                    base=base,
                )
                made.keep_matrix_in(
                    base._matrix_store,
                    memory_budget=base._memory_budget,
                    approximate_above=base._approximate_above,
                )
                made.use_engine(base._engine)
                base._variants[choice] = made
            return made

    @property
    def base_name(self) -> str:
        """The name of this table with its default embedding (its own name if it is that)."""
        return (self._base or self).name

    @property
    def is_vector_column(self) -> bool:
        """True when the embedding is one list/array column."""
        return len(self.embedding_columns) == 1 and is_vector_dtype(
            self.schema[self.embedding_columns[0]]
        )

    @property
    def metadata_columns(self) -> list[str]:
        """Columns usable for colour, hover and filters: all but the embedding and images
        (the default embedding's: every embedding of a table offers the same columns)."""
        if self._base is not None:
            return self._base.metadata_columns
        skip = set(self.embedding_columns) | {self.config.image}
        return [
            c
            for c in self.schema.names()
            if c not in skip and not isinstance(self.schema[c], (pl.Binary, pl.List, pl.Array))
        ]

    # -- data --------------------------------------------------------------------------------

    def metadata(self) -> pl.DataFrame:
        """Return the row number (column :data:`ROW`) and the metadata columns, read once.

        The row number is there so the frame has the table's height even when the table
        holds nothing but its embedding.
        """
        if self._base is not None:
            return self._base.metadata()
        return self._once("metadata", self._read_metadata)

    def _read_metadata(self) -> pl.DataFrame:
        try:
            frame = self.frame.with_row_index(ROW).select(ROW, *self.metadata_columns)
            return frame.collect()
        except Exception as exc:  # polars raises many kinds for broken files
            raise self._error(
                "path", f"cannot read {self.config.path!r}: {exc}", "check the file"
            ) from exc

    def parquet_files(self) -> tuple[Any, list[str]] | None:
        """The parquet files behind the table as (pyarrow filesystem or None for local
        paths, paths in table order), when the frame is a plain scan of them and the
        embedding is one vector column; else None."""
        if not self.is_vector_column or self.config.format not in (None, "parquet"):
            return None
        if self.objects is not None:
            return self.objects.filesystem, list(self.objects.paths)
        if self.files and all(f.suffix.lower() == ".parquet" for f in self.files):
            return None, [str(f) for f in self.files]
        return None

    def _read_parquet_vectors(self, to_file: Path | None = None) -> np.ndarray | None:
        parquet = self.parquet_files()
        if parquet is None:
            return None
        filesystem, paths = parquet
        try:
            column = self.embedding_columns[0]
            return read_parquet_vectors(
                paths, column, self.n_rows, filesystem=filesystem, to_file=to_file
            )
        except (OSError, ValueError, pa.ArrowException):
            return None  # the Polars path reports what is wrong

    @property
    def n_rows(self) -> int:
        """Number of rows."""
        return self.metadata().height

    def _collect(self, columns: list[str]) -> pl.DataFrame:
        try:
            return self.frame.select(columns).collect()
        except Exception as exc:  # polars raises many kinds for broken files
            raise DataError(
                f"{self.where}: `tables.{self.key}.path`: cannot read {self.config.path!r}: "
                f"{exc}\ncheck the file"
            ) from exc

    def matrix(self) -> np.ndarray:
        """Return the embedding as a C-contiguous float32 (rows x dims) array.

        Built with vectorised Polars operations, never a Python loop over rows.

        Raises
        ------
        DataError
            On null or ragged vectors, naming the first offending rows.
        """
        return self._once("matrix", self._mapped_matrix)

    def _mapped_matrix(self) -> np.ndarray:
        store = self._matrix_store
        if store is None or not (self.files or self.objects):  # no cheap fingerprint
            return self._build_matrix()
        key = "vectors" + self.fingerprint()
        kept = store.load(key, mmap=True)
        if kept is not None and kept.ndim == 2 and kept.dtype == np.float32:
            return kept
        if self.out_of_core:
            return self._stream_matrix(store, key)
        built = self._build_matrix()
        # Written and mapped in the background once the fits reading it are done: writing
        # and syncing 3 GB (1M x 768) took 11 s of a first map here. This process then swaps
        # its copy for the map, and later processes (the reducer worker) map the file
        # instead of decoding the table.
        threading.Thread(
            target=self._keep_matrix, args=(store, key, built), name="dashboard-keep-matrix"
        ).start()
        return built

    @property
    def matrix_bytes(self) -> int:
        """The embedding's size as a float32 matrix (0 when the table cannot say)."""
        return 4 * self.n_rows * (self.readable_dims or 0)

    @property
    def out_of_core(self) -> bool:
        """Whether the matrix is bigger than the memory budget, so it lives in a file and
        whole-table work reads it a block of rows at a time."""
        budget = self._memory_budget
        return bool(budget and self._matrix_store is not None and self.matrix_bytes > budget)

    def _stream_matrix(self, store: Any, key: str) -> np.ndarray:
        path = store.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        logger.info(
            "table %r: the embedding (%.1f GB) is over the memory budget (%.1f GB): "
            "decoding it to %s",
            self.name,
            self.matrix_bytes / 1e9,
            (self._memory_budget or 0) / 1e9,
            path,
        )
        streamed = self._read_parquet_vectors(to_file=path)
        if streamed is not None:
            return streamed
        logger.warning(
            "table %r is over the memory budget, but only a parquet table (local or s3://) "
            "of one vector column is read a block at a time: reading it whole",
            self.name,
        )
        built = self._build_matrix()
        store.save(key, built, durable=False)
        return built

    def _keep_matrix(self, store: Any, key: str, built: np.ndarray) -> None:
        with self._fits_done:
            self._fits_done.wait_for(lambda: not self._fits, timeout=KEEP_WAIT)
        try:
            # Not synced: the table rebuilds a lost matrix, and syncing 3 GB stalled the map's
            # own small writes behind it.
            store.save(key, built, durable=False)
        except OSError as exc:  # a full or read-only disk: this process keeps its own copy
            logger.warning("could not keep the matrix of table %r on disk: %s", self.name, exc)
            return
        mapped = store.load(key, mmap=True)
        if mapped is not None and self._kept.get("matrix") is built:
            self._kept["matrix"] = mapped

    def _build_matrix(self) -> np.ndarray:
        fast = self._read_parquet_vectors()
        if fast is not None:
            return fast
        df = self._collect(self.embedding_columns)
        if self.is_vector_column:
            column = self.embedding_columns[0]
            series = df.get_column(column)
            if series.null_count():
                rows = np.flatnonzero(series.is_null().to_numpy())[:5].tolist()
                raise self._error(
                    "embedding",
                    f"column {column!r} has {series.null_count()} empty (null) vectors, "
                    f"first rows: {rows}",
                    "drop those rows or fill them before logging",
                )
            if isinstance(series.dtype, pl.Array):
                out = series.to_numpy()
            else:
                lengths = series.list.len().to_numpy()
                if lengths.size and (lengths != lengths[0]).any():
                    odd = np.flatnonzero(lengths != lengths[0])[:5].tolist()
                    raise self._error(
                        "embedding",
                        f"column {column!r} holds vectors of different lengths "
                        f"(row 0 has {lengths[0]}, rows {odd} have "
                        f"{lengths[odd].tolist()})",
                        "every row needs a vector of the same length",
                    )
                width = int(lengths[0]) if lengths.size else 0
                out = series.explode().to_numpy().reshape(len(series), width)
            if len(out) and out.shape[1] == 0:
                raise self._error(
                    "embedding",
                    f"column {column!r} holds empty vectors (0 values each)",
                    "log vectors of at least one value",
                )
        else:
            out = df.select(pl.all().cast(pl.Float32)).to_numpy()
        return np.ascontiguousarray(out, dtype=np.float32)

    def image(self, row: int) -> bytes | Path | str | None:
        """Return row ``row``'s image: PNG bytes, a local file inside the table's directory,
        or an http(s) URL; None when there is none (or the path leaves the table's folder).

        The image column is read once, then served from memory.
        """
        if self._base is not None:
            return self._base.image(row)
        column = self.config.image
        if column is None:
            return None
        images = self._once("images", lambda: self._collect([column]).get_column(column))
        if not 0 <= row < len(images):
            return None
        value = images[row]
        if value is None or isinstance(value, bytes):
            return value
        text = str(value)
        if text.startswith(("http://", "https://")):
            return text
        return self._local_image(text)

    def _local_image(self, text: str) -> Path | None:
        # Only files below the table's own folder(s): a crafted cell must not reach /etc.
        roots = [f.parent.resolve() for f in self.files or []]
        for root in roots:
            candidate = (root / text).resolve()
            if candidate.is_relative_to(root) and candidate.is_file():
                return candidate
        return None

    def neighbors(self) -> NeighborIndex | NeighborSearch:
        """The k-NN search over the embedding, made once per process: exact, or above the
        approximate threshold an approximate index (both answer ``query(row, k, metric)``;
        the approximate one also ``describe(metric)``)."""
        return self._once("neighbors", self._neighbor_search)

    def _neighbor_search(self) -> NeighborIndex | NeighborSearch:
        above = self._approximate_above
        if above is None or self.n_rows <= above:
            return NeighborIndex(self.matrix())
        store = self._matrix_store
        folder = None if store is None else store.root
        fill = None if self._engine is None else self._engine.index_filler(self)
        return NeighborSearch(self.matrix(), self.fingerprint(), folder, fill=fill)

    @property
    def n_dims(self) -> int | None:
        """Embedding dimensions, from the schema, or for a List column from its first row
        (read once); None for an empty table."""
        if not self.is_vector_column:
            return len(self.embedding_columns)
        column = self.embedding_columns[0]
        dtype = self.schema[column]
        if isinstance(dtype, pl.Array):
            return int(dtype.size)
        return self._once("list_width", lambda: self._first_length(column))

    @property
    def readable_dims(self) -> int | None:
        """:attr:`n_dims`, or None when the table cannot be read (opening its map says
        what is wrong): for choices made before any map is asked for."""
        try:
            return self.n_dims
        except DashboardError:
            return None

    def _first_length(self, column: str) -> int | None:
        first = self.frame.select(pl.col(column).first().list.len()).collect().item()
        return None if first is None else int(first)

    def caption(self, row: int) -> str:
        """How a row is named in panels: its label (at most :data:`CAPTION_CHARS`
        characters), else ``row <n>``."""
        label = self.config.label
        return shorten(str(self.metadata().get_column(label)[row])) if label else f"row {row}"

    def fingerprint(self) -> str:
        """Return a content key: file identities when known (cheap), else the matrix bytes.

        Computed once: the dataset's matrix and metadata are read once too, so a later
        change to the files must not relabel what this process already holds.
        """
        return self._once("fingerprint", self._compute_fingerprint)

    def _compute_fingerprint(self) -> str:
        h = hashlib.blake2b(digest_size=16)
        h.update(json.dumps([self.embedding_columns, self.config.format]).encode())
        if self.files:
            for f in self.files:
                st = f.stat()
                h.update(json.dumps([str(f.resolve()), st.st_size, st.st_mtime_ns]).encode())
        elif self.objects is not None:
            h.update(json.dumps([self.config.path, self.objects.identity()]).encode())
        else:
            m = self.matrix()
            h.update(str(m.shape).encode())
            h.update(m.tobytes())
        return h.hexdigest()
