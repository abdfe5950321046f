"""What a panel may use: :class:`PanelContext`, the app's shared objects and services.

Built-in panels use nothing else of the host app: anything a panel needs is added here, where
third-party panels get it too.
"""

from __future__ import annotations

import hashlib
import logging
import urllib.parse
from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from dashboard.analysis.map_measures import MAP_MEASURES
from dashboard.analysis.stability import STABILITY_COLOURS, Stability
from dashboard.data.atlas import MAX_ATLAS_ROWS, AtlasLayout, build_atlas
from dashboard.data.dataset import variant_key
from dashboard.data.sources import Datasets, resolve_table
from dashboard.errors import DashboardError, ProjectionGoneError, quote_list
from dashboard.plugin.map_findings import MapFindings, measure_key
from dashboard.plugin.memo import Memo
from dashboard.projection.distributed import DistributedEngine
from dashboard.projection.request import Projection, ProjectionRequest
from dashboard.projection.runner import plan_projection, run_projection

if TYPE_CHECKING:
    from dashboard.config import DashboardConfig
    from dashboard.data.dataset import Dataset
    from dashboard.plugin.manager import Registry
    from dashboard.plugin.panel import DerivedColumn
    from dashboard.plugin.reducer import Progress
    from dashboard.projection.lifecycle import ProjectionJobs
    from dashboard.projection.store import ProjectionStore

logger = logging.getLogger(__name__)

#: How often the browser asks whether a background job is done (Dash's default is 1 s; a
#: cached projection is done at once, so a long first poll would be most of its wait).
POLL_MS = 250
#: Where the app serves row images, below its URL base.
IMAGE_ROUTE = "_dashboard/image/"
ATLAS_ROUTE = "_dashboard/atlas"
#: Atlases of a set of rows (a zoomed density map's points) a process keeps.
ROWS_ATLASES = 32


class PanelContext(MapFindings):
    """The config, tables, reducers and projection cache of one app, and what panels do
    with them: run a projection, load a map's coordinates, compute a colour from a map,
    link a row's image.

    Panels read it and call its methods; only the app changes it (while it is built).

    Parameters
    ----------
    config
        The validated config.
    datasets
        The opened tables by name (a run directory opens one per logged set).
    registry
        The reducer and panel classes of the app's plugins.
    store
        The projection cache.
    initial_request
        The projection the page opens with.
    reducer_cache
        Where reducers keep compiled code (``Reducer.cache_dir``).
    """

    def __init__(
        self,
        config: DashboardConfig,
        datasets: Mapping[str, Dataset],
        registry: Registry,
        store: ProjectionStore,
        initial_request: ProjectionRequest,
        *,
        reducer_cache: Path | None = None,
    ):
        self.config = config
        # Read-only, and it finds each table's other embeddings too.
        self.datasets: Mapping[str, Dataset] = (
            datasets if isinstance(datasets, Datasets) else Datasets(datasets)
        )
        self.registry = registry
        self.store = store
        self.initial_request = initial_request
        self.reducer_cache = reducer_cache
        #: The Dask cluster of `dask:` (connected when a map first needs it), or None.
        self.engine = DistributedEngine(config.dask) if config.dask is not None else None
        self.poll_ms = POLL_MS
        self.url_base = "/"
        # Set by the app: projections then run as jobs in worker processes (a page's map,
        # a timeline, a pinned map alike); without it (scripts, tests) they run here.
        self.jobs: ProjectionJobs | None = None
        # Set by the app: raises JobCancelledError inside a background callback whose page
        # cancelled it (a pinned map's Cancel), so a wait for a map ends and leaves its job.
        self.raise_if_cancelled: Callable[[], None] | None = None
        self._derived: Mapping[str, Mapping[str, DerivedColumn]] = MappingProxyType({})
        # Colours computed from maps, kept in memory: every hover's tooltip reads them.
        self._computed: Memo[tuple[str, str], pl.Series] = Memo(8)
        self._labels: Memo[str, dict[str, Any]] = Memo(8)
        self._stability: Memo[str, Stability] = Memo(8)
        # Image URLs' query strings, by table (a dict: racing writers store the same text).
        self._image_queries: dict[str, str] = {}
        # The rows of the atlases :meth:`rows_atlas` named, by token, and those built.
        self._atlas_rows: Memo[str, tuple[str, np.ndarray]] = Memo(ROWS_ATLASES)
        self._atlas_rows_png: Memo[str, bytes] = Memo(ROWS_ATLASES)

    # -- set by the app while it is built --------------------------------------------------

    def _attach(self, *, url_base: str, derived: list[DerivedColumn] | None = None) -> PanelContext:
        """Record where the app is mounted and the panels' derived colours (the app calls
        this once, before any layout is built)."""
        self.url_base = url_base
        tables: dict[str, dict[str, DerivedColumn]] = {}
        for column in derived or ():
            tables.setdefault(column.table, {})[column.value] = column
        self._derived = MappingProxyType(
            {table: MappingProxyType(columns) for table, columns in tables.items()}
        )
        return self

    # -- tables -----------------------------------------------------------------------------

    def resolve_table(self, name: str | None) -> str | None:
        """The dataset called ``name``, or the first one a config table ``name`` opened (a run
        directory opens one per logged set); None if there is neither."""
        return None if name is None else resolve_table(self.datasets, name)

    def view_table(self, view: Any) -> str | None:
        """The dataset a view (its store value) projects: its table with the embedding
        picked in the "Embedding" select; None if the view names no known table."""
        if not isinstance(view, Mapping) or not isinstance(view.get("table"), str):
            return None
        choice = view.get("embedding")
        name = variant_key(view["table"], choice if isinstance(choice, str) else None)
        return name if name in self.datasets else self.resolve_table(view["table"])

    def dataset(self, name: Any) -> Dataset | None:
        """The dataset called ``name`` (from a store value: anything), or None."""
        return self.datasets.get(name) if isinstance(name, str) else None

    def image_url(self, dataset: Dataset, row: int) -> str:
        """URL of row ``row``'s image; the fingerprint makes a cached copy safe to keep."""
        query = self._image_queries.get(dataset.name)
        if query is None:  # built once per table: a table of 5,000 rows asks 5,000 times
            query = urllib.parse.urlencode({"table": dataset.name, "v": dataset.fingerprint()[:12]})
            self._image_queries[dataset.name] = query
        return f"{self.url_base}{IMAGE_ROUTE}{int(row)}?{query}"

    def image_atlas(self, dataset: Dataset, limit: int) -> dict[str, Any] | None:
        """How a map of ``dataset`` draws its points as images: the atlas's URL and layout
        (row ``i``'s tile is at column ``i % columns``, row ``i // columns``), or a
        ``notice`` why it keeps dots (more rows than ``limit``); None without images."""
        if not dataset.config.image:
            return None
        rows = dataset.n_rows
        if rows > min(limit, MAX_ATLAS_ROWS):
            return {
                "notice": f"Images on the map: {rows:,} points are more than "
                f"{min(limit, MAX_ATLAS_ROWS):,} (the scatter's `image_limit`), so the map "
                "keeps its dots; isolate a selection to see its images."
            }
        layout = AtlasLayout.for_rows(rows)
        query = urllib.parse.urlencode({"table": dataset.name, "v": dataset.fingerprint()[:12]})
        return {
            "url": f"{self.url_base}{ATLAS_ROUTE}?{query}",
            "tile": layout.tile,
            "columns": layout.columns,
            "rows": rows,
        }

    def rows_atlas(self, dataset: Dataset, rows: np.ndarray) -> dict[str, Any] | None:
        """How a map drawing only ``rows`` of ``dataset`` (a zoomed density map's points)
        draws them as images: as :meth:`image_atlas`, tile ``i`` being ``rows[i]``'s image.
        None without images. The atlas's URL names the rows by a token; the rows are kept
        in the cache under it (any server process sharing the cache can build the atlas
        when the browser asks)."""
        if not dataset.config.image:
            return None
        rows = np.asarray(rows, dtype=np.int64)
        token = _rows_token(dataset, rows)
        self._atlas_rows.get(token, lambda: (dataset.name, rows))
        name = f"atlasrows{token}"
        if not self.store.exists(name):
            try:
                self.store.save(name, rows, durable=False, dtype=None)
            except OSError as exc:  # a full or read-only cache: this process still knows
                logger.warning("could not keep the rows of an image atlas: %s", exc)
        layout = AtlasLayout.for_rows(max(len(rows), 1))
        query = urllib.parse.urlencode({"table": dataset.name, "rows": token})
        return {
            "url": f"{self.url_base}{ATLAS_ROUTE}?{query}",
            "tile": layout.tile,
            "columns": layout.columns,
            "rows": len(rows),
        }

    def rows_atlas_png(self, table: str, token: str) -> bytes | None:
        """The PNG of the atlas :meth:`rows_atlas` named ``token`` (built once), or None
        when no such rows of ``table`` are known (another table's, forgotten, forged).

        Raises
        ------
        DashboardError
            When the table's images cannot be read.
        """
        dataset = self.dataset(table)
        if dataset is None or not token.isalnum():
            return None
        promised = self._atlas_rows.peek(token)
        if promised is not None and promised[0] == dataset.name:
            rows = promised[1]
        else:
            kept = self.store.load(f"atlasrows{token}")
            # Made by another process: the token names these rows of this table's version.
            if kept is None or kept.dtype != np.int64 or _rows_token(dataset, kept) != token:
                return None
            rows = kept
        if len(rows) and (int(rows.min()) < 0 or int(rows.max()) >= dataset.n_rows):
            return None
        return self._atlas_rows_png.get(
            token, lambda: build_atlas(dataset, AtlasLayout.for_rows(max(len(rows), 1)), rows)
        )

    def thumbnail(self, dataset: Dataset, row: int, size: int = 32) -> Any:
        """``row``'s image ``size`` pixels wide (pixels kept sharp), or None without images."""
        if not dataset.config.image:
            return None
        from dash import html

        return html.Img(
            src=self.image_url(dataset, row),
            alt=dataset.caption(row),
            style={"width": f"{size}px", "imageRendering": "pixelated"},
        )

    # -- projections ------------------------------------------------------------------------

    def project(
        self, request: ProjectionRequest | Mapping[str, Any], progress: Progress | None = None
    ) -> Projection:
        """Run (or load from the cache) the projection ``request`` asks for, with the config's
        PCA width, sampling and time limit.

        Raises
        ------
        DashboardError
            Unknown table or reducer, bad params, or data the reducer cannot use.
        """
        request = ProjectionRequest.parse(request)
        if self.jobs is None:
            return self.project_here(request, progress)
        stop = self.raise_if_cancelled

        def report(fraction: float, message: str) -> None:
            if stop is not None:
                stop()  # a cancelled background callback stops waiting (and leaves the job)
            if progress is not None:
                progress(fraction, message)

        return self.jobs.wait(request, report)

    def project_here(
        self, request: ProjectionRequest | Mapping[str, Any], progress: Progress | None = None
    ) -> Projection:
        """:meth:`project` in this process and thread, whatever the app's jobs."""
        settings = self.config.projection
        return run_projection(
            ProjectionRequest.parse(request),
            self.datasets,
            self.registry,
            self.store,
            progress,
            pca_dims=settings.pca_dims,
            sample=settings.sample,
            time_limit=settings.time_limit,
            reducer_cache=self.reducer_cache,
            engine=self.engine,
        )

    def cached_projection(self, request: ProjectionRequest) -> tuple[str, Projection | None]:
        """The cache key of ``request``'s map (its job's identity), and its
        :class:`Projection` when the cache holds a readable copy (None: it must be computed).

        Raises
        ------
        DashboardError
            Unknown table or reducer, bad params or rows.
        """
        settings = self.config.projection
        planned = plan_projection(
            request,
            self.datasets,
            self.registry,
            self.store,
            pca_dims=settings.pca_dims,
            sample=settings.sample,
            engine=self.engine,
        )
        coords = self.store.load(planned.key)
        if coords is None:
            return planned.key, None
        return planned.key, planned.projection(int(coords.shape[-2]), 0.0, cached=True)

    def coordinates(self, projection: Projection) -> np.ndarray:
        """The map's (n, 2|3) float32 coordinates (NaN: a row not on the map).

        Raises
        ------
        ProjectionGoneError
            When they are no longer in the cache.
        """
        coords = self.store.load(projection.key)
        if coords is None or coords.ndim != 2 or len(coords) != projection.n:
            raise ProjectionGoneError()
        return coords

    def background_progress(self, set_progress: Callable[[tuple[str]], None]) -> Progress:
        """A ``progress`` for work in a background callback: each report shows as
        ``message (42%)`` through Dash's ``set_progress`` (one progress output), and is
        where a page's Cancel stops the work (it raises :class:`JobCancelledError`)."""

        def progress(fraction: float, message: str) -> None:
            if self.raise_if_cancelled is not None:
                self.raise_if_cancelled()
            set_progress((f"{message} ({round(100 * fraction)}%)",))

        return progress

    def reducer_title(self, name: Any) -> str:
        """How the page names reducer ``name`` (its title: ``t-SNE`` for ``tsne``)."""
        reducer = self.registry.reducers.get(name) if isinstance(name, str) else None
        return getattr(reducer, "title", "") or str(name)

    def describe(self, projection: Projection) -> str:
        """One line saying what the map shows, e.g. ``UMAP 2D · digits · 1,797 points x 64
        dims · from cache``."""
        title = self.reducer_title(projection.reducer)
        dataset = self.datasets.get(projection.table)
        dims = dataset.n_dims if dataset is not None else None
        when = "from cache" if projection.cached else f"{projection.seconds:.1f} s"
        points = f"{projection.n:,} points"
        if projection.isolated is not None:
            points = f"{projection.isolated:,} of {points} (isolated)"
        size = points + (f" x {dims:,} dims" if dims else "")
        via = f" · PCA {projection.pca_dims} first" if projection.pca_dims else ""
        if projection.sample:
            via += f" · fitted on a sample of {projection.sample.fitted:,}"
        return f"{title} {projection.dims}D · {projection.table} · {size}{via} · {when}"

    # -- colours computed from a map or derived by a panel ----------------------------------

    def derived(self, table: str) -> Mapping[str, DerivedColumn]:
        """The colours panels derive for ``table``'s rows, by dropdown value (the same for
        each of a table's embeddings: they derive from its rows)."""
        dataset = self.dataset(table)
        return self._derived.get(
            table if dataset is None else dataset.base_name, MappingProxyType({})
        )

    def colour_choices(self, table: str) -> list[dict[str, str]]:
        """Dropdown entries of the colours ``table``'s maps can compute: the map measures
        (neighbour recall, outlier score, clusters) and the panels' derived colours."""
        return (
            [{"label": m.label, "value": m.value} for m in MAP_MEASURES.values()]
            + [{"label": label, "value": value} for value, (label, _) in STABILITY_COLOURS.items()]
            + [{"label": c.name, "value": c.value} for c in self.derived(table).values()]
        )

    def is_computed_colour(self, table: str, choice: Any) -> bool:
        """Whether ``choice`` names a computed colour of ``table``'s maps (not a column)."""
        return isinstance(choice, str) and (
            choice in MAP_MEASURES or choice in STABILITY_COLOURS or choice in self.derived(table)
        )

    def colour_revision(self, projection: Projection, choice: Any) -> str:
        """What a computed colour's values are of, beyond the map: a stability colour is of
        the last check (a new check with more runs changes it); "" for the others."""
        if choice in STABILITY_COLOURS:
            known = self.known_stability(projection)
            return f"runs{known.runs}" if known is not None else "unmeasured"
        return ""

    def is_computed(self, projection: Projection, choice: str) -> bool:
        """Whether map measure ``choice`` was computed for ``projection`` already."""
        return choice in MAP_MEASURES and self.store.exists(measure_key(projection, choice))

    def computed(self, projection: Projection, choice: str) -> pl.Series:
        """The values of computed colour ``choice`` for ``projection``'s map, one per table
        row, named for display; measured once per map and kept in the cache.

        Raises
        ------
        DashboardError
            For an unknown colour, a map gone from the cache, or a deriving panel that
            cannot compute.
        """
        derived = self.derived(projection.table).get(choice)
        if derived is not None:
            return self._computed.get(
                (projection.table, choice), lambda: pl.Series(derived.name, derived.values())
            )
        if choice in STABILITY_COLOURS:
            return self._stability_colour(projection, choice)
        measure = MAP_MEASURES.get(choice)
        if measure is None:
            allowed = [c["value"] for c in self.colour_choices(projection.table)]
            raise DashboardError(
                f"unknown computed colour {choice!r}\nallowed values: {quote_list(allowed)}"
            )

        def compute() -> pl.Series:
            name = measure_key(projection, choice)
            values = self.store.load(name)
            if values is None:
                coords = self.coordinates(projection)
                dataset = self.datasets[projection.table]
                values = np.asarray(measure.compute(dataset.matrix(), coords), dtype=np.float32)
                self.store.save(name, values)
            return measure.column(values)

        return self._computed.get((projection.key, choice), compute)


def _rows_token(dataset: Dataset, rows: np.ndarray) -> str:
    """The name of ``rows`` (int64) of ``dataset``'s current version."""
    digest = hashlib.blake2b(np.ascontiguousarray(rows, dtype=np.int64).tobytes(), digest_size=12)
    digest.update(dataset.fingerprint().encode())
    return digest.hexdigest()
