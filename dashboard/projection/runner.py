"""Run a projection: (table contents, embedding columns, reducer, params, dims, sample) ->
float32 coordinates, computed once and kept in the :class:`ProjectionStore`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from dashboard.analysis.principal import PrincipalComponents
from dashboard.config import SampleConfig
from dashboard.data.matrix_file import gather_rows
from dashboard.data.sampling import sample_rows, strata_codes
from dashboard.errors import (
    DashboardError,
    DataError,
    JobCancelledError,
    ReducerError,
    quote_list,
)
from dashboard.projection.guards import checked_for_fit
from dashboard.projection.limits import TimeLimitError, raise_if_overrun, run_with_time_limit
from dashboard.projection.request import Projection, ProjectionRequest, SampleSummary
from dashboard.projection.store import ProjectionStore

if TYPE_CHECKING:
    from dashboard.data.dataset import Dataset
    from dashboard.plugin.manager import Registry
    from dashboard.plugin.reducer import Progress, Reducer
    from dashboard.projection.distributed import DistributedEngine

logger = logging.getLogger(__name__)


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


def pca_first(X: np.ndarray, dims: int, progress: Progress | None) -> tuple[np.ndarray, Any]:
    """``X`` reduced to its first ``dims`` principal components (float32), and the fitted
    PCA (to reduce the rows a sampled fit left out the same way)."""
    if progress:
        progress(0.02, f"PCA to {dims} dims first ({X.shape[1]:,} wide)")
    # Exact, by covariance on tall tables (100k x 768: under a second; randomized 3.5 s).
    pca = PrincipalComponents(dims)
    return pca.fit_transform(X), pca


#: Rows placed per `transform` call: bounds the memory of the copies it makes.
PLACE_CHUNK = 50_000


@dataclass(frozen=True)
class SamplePlan:
    """Which rows a projection fits, when the table is bigger than the reducer's limit."""

    fit: np.ndarray  # sorted row numbers to fit
    rest: np.ndarray  # rows to place with `transform` afterwards (may be empty)
    of: int  # rows the map would have without sampling
    by: str | None  # the stratifying column, None for a uniform draw

    def summary(self) -> SampleSummary:
        """What the status line and the map's notice say about the sample."""
        return SampleSummary(len(self.fit), self.of, self.by, len(self.rest))


def plan_sample(
    dataset: Dataset,
    pool: np.ndarray,
    limit: int | None,
    config: SampleConfig,
    can_place: bool,
) -> SamplePlan | None:
    """The sample to fit from ``pool`` (row numbers), or None when it is within ``limit``."""
    if not limit or len(pool) <= limit:
        return None
    by = config.stratify if config.stratify in dataset.metadata_columns else None
    strata = strata_codes(dataset.metadata().get_column(by)) if by else None
    fit = sample_rows(pool, limit, strata=strata, seed=config.seed)
    place = config.place_rest and can_place
    rest = np.setdiff1d(pool, fit, assume_unique=True) if place else np.zeros(0, np.int64)
    return SamplePlan(fit, rest, len(pool), by)


def place_rest(
    reducer: Reducer,
    X: np.ndarray,
    rows: np.ndarray,
    coords: np.ndarray,
    pca: Any,
    progress: Progress | None,
    scale: float = 1.0,
) -> None:
    """Fill ``coords[rows]`` with ``reducer.transform`` of those rows of ``X`` (times
    ``scale``, as the fitted rows were), in chunks."""
    for start in range(0, len(rows), PLACE_CHUNK):
        if progress:
            progress(0.9, f"placing the rest: {start:,} of {len(rows):,} rows")
        chunk = rows[start : start + PLACE_CHUNK]
        block = gather_rows(X, chunk)
        if scale != 1.0:
            block = (block.astype(np.float64) * scale).astype(np.float32)
        if pca is not None:
            block = pca.transform(block).astype(np.float32)
        coords[chunk] = reducer.transform(block)


@dataclass(frozen=True)
class PlannedProjection:
    """What a request will compute, decided before any computing: its cache ``key`` (also
    its job's identity) and how its rows are fitted."""

    request: ProjectionRequest
    dataset: Dataset
    reducer_cls: type[Reducer]
    params: dict[str, Any]
    rows: tuple[int, ...] | None
    pool: np.ndarray
    plan: SamplePlan | None
    pca_dims: int | None
    fitted_rows: int
    key: str
    engine: DistributedEngine | None = None  # the cluster that reads and places the rows
    #: The seeds of a stability check's runs (``request.runs``); empty: the map itself.
    seeds: tuple[int, ...] = ()

    def projection(self, n: int, seconds: float, cached: bool) -> Projection:
        """The :class:`Projection` of this plan, once its ``n`` coordinates are stored."""
        request = self.request
        return Projection(
            key=self.key,
            table=request.table,
            reducer=request.reducer,
            dims=request.dims,
            params=self.params,
            n=n,
            seconds=seconds,
            cached=cached,
            isolated=None if self.rows is None else len(self.rows),
            pca_dims=self.pca_dims,
            sample=None if self.plan is None else self.plan.summary(),
        )


def plan_projection(
    request: ProjectionRequest,
    datasets: Mapping[str, Dataset],
    registry: Registry,
    store: ProjectionStore,
    *,
    pca_dims: int | None = None,
    sample: SampleConfig | None = None,
    engine: DistributedEngine | None = None,
) -> PlannedProjection:
    """Decide what ``request`` computes (see :func:`run_projection`), without computing.

    Raises
    ------
    DashboardError
        Unknown table or reducer, bad params or rows.
    """
    if request.table not in datasets:
        raise DataError(f"unknown table {request.table!r}\nallowed values: {quote_list(datasets)}")
    dataset = datasets[request.table]
    reducer_cls = registry.reducer(request.reducer)
    params = reducer_cls.validate_params(request.params)
    params_json = params.model_dump(mode="json")
    rows = _check_rows(request.rows, dataset.n_rows)
    sample = sample or SampleConfig()
    pool = np.arange(dataset.n_rows) if rows is None else np.asarray(rows, dtype=np.int64)
    limit = sample.limit(reducer_cls.sample_above, request.max_rows)
    if engine is not None and not engine.applies(dataset):
        engine = None
    if engine is not None:  # the server fits a sample; the cluster places the rest
        limit = min(limit, engine.fit_rows) if limit else engine.fit_rows
    plan = plan_sample(dataset, pool, limit, sample, reducer_cls.supports_transform)
    # PCA first only where it narrows: the table wider, and more rows fitted, than
    # `pca_dims` (PCA cannot find 50 components in 20 isolated rows).
    fitted_rows = len(pool) if plan is None else len(plan.fit)
    narrower = min(dataset.n_dims or 0, fitted_rows)
    first = pca_dims if reducer_cls.pca_first and pca_dims and narrower > pca_dims else None
    key_params = {**params_json, "__pca_dims": first} if first else params_json
    if plan is not None:
        key_params = {**key_params, "__sample": [limit, plan.by, sample.seed, bool(plan.rest.size)]}
    seeds = run_seeds(reducer_cls, params_json, request.runs)
    if seeds:
        key_params = {**key_params, "__runs": list(seeds)}
    key = store.key(dataset.fingerprint(), request.reducer, key_params, request.dims, rows)
    return PlannedProjection(
        request,
        dataset,
        reducer_cls,
        params_json,
        rows,
        pool,
        plan,
        first,
        fitted_rows,
        key,
        engine,
        seeds,
    )


def run_seeds(reducer_cls: type[Reducer], params: dict[str, Any], runs: int) -> tuple[int, ...]:
    """The seeds of ``runs`` maps to compare with the map of ``params``: the ones after its
    own seed (none: 0).

    Raises
    ------
    ReducerError
        When runs are asked of a reducer without a seed (its map is the same every run).
    """
    if not runs:
        return ()
    if reducer_cls.seed_param is None:
        title = reducer_cls.title or reducer_cls.name
        raise ReducerError(
            f"{title} draws the same map on every run (it has no seed): there are no other "
            "runs to compare\ncheck the stability of a UMAP or t-SNE map"
        )
    own = params.get(reducer_cls.seed_param)
    base = own if isinstance(own, int) else 0
    return tuple(base + i for i in range(1, runs + 1))


def run_projection(
    request: ProjectionRequest,
    datasets: Mapping[str, Dataset],
    registry: Registry,
    store: ProjectionStore,
    progress: Progress | None = None,
    *,
    pca_dims: int | None = None,
    sample: SampleConfig | None = None,
    time_limit: float | None = None,
    reducer_cache: Path | None = None,
    engine: DistributedEngine | None = None,
) -> Projection:
    """Return the projection, computing and caching its coordinates if needed (load them
    with :meth:`ProjectionStore.load` of its ``key``).

    With ``pca_dims``, reducers marked ``pca_first`` get the embedding's first ``pca_dims``
    principal components when it is wider. With more rows than ``sample`` allows (or the
    request's ``max_rows``), the reducer fits a sample and places the rest with
    ``transform`` when it can; rows it cannot place have no coordinates (NaN). A reducer
    still fitting after ``time_limit`` seconds is reported as a :class:`ReducerError`.
    ``reducer_cache`` is where reducers may keep compiled code (``Reducer.cache_dir``). With
    an ``engine``, a big parquet table's sample and the rows placed on its map are read by
    the cluster's workers (:mod:`dashboard.projection.distributed`).

    Raises
    ------
    DashboardError
        Unknown table or reducer, bad params, or data the reducer cannot use.
    """
    planned = plan_projection(
        request, datasets, registry, store, pca_dims=pca_dims, sample=sample, engine=engine
    )
    key, reducer_cls = planned.key, planned.reducer_cls
    start = time.perf_counter()
    coords = store.load(key)
    cached = coords is not None
    if coords is None:
        reducer = reducer_cls(
            reducer_cls.validate_params(request.params),
            n_components=request.dims,
            cache_dir=reducer_cache,
        )
        try:
            with planned.dataset.fitting():
                coords = _compute(reducer, planned, progress, time_limit)
        except ReducerError as exc:  # name the table: the reducer only saw a matrix
            raise ReducerError(f"table {request.table!r}: {exc}") from exc
        except (DashboardError, JobCancelledError):
            raise
        except Exception as exc:
            # A reducer's own failure (a plugin's bug, input its library refuses): the
            # page says which reducer failed on what, the log keeps the traceback.
            logger.exception("reducer %r failed on table %r", request.reducer, request.table)
            raise ReducerError(
                f"table {request.table!r}: reducer {request.reducer!r} failed on "
                f"{planned.fitted_rows:,} rows: {type(exc).__name__}: {exc}\n"
                "try another reducer or more rows; the server log has the details"
            ) from exc
        store.save(key, coords)
    seconds = time.perf_counter() - start
    logger.info(
        "%s %dD of %r: %d points%s in %.2f s%s",
        request.reducer,
        request.dims,
        request.table,
        coords.shape[-2],
        f", {len(planned.seeds)} runs" if planned.seeds else "",
        seconds,
        " (cached)" if cached else "",
    )
    return planned.projection(int(coords.shape[-2]), seconds, cached)


def _stoppable(progress: Progress | None) -> Progress:
    """``progress`` that also stops a reducer whose time limit has passed."""

    def report(fraction: float, message: str) -> None:
        raise_if_overrun()
        if progress is not None:
            progress(fraction, message)

    return report


def _compute(
    reducer: Reducer,
    planned: PlannedProjection,
    progress: Progress | None,
    time_limit: float | None = None,
) -> np.ndarray:
    dataset, pool, plan, engine = planned.dataset, planned.pool, planned.plan, planned.engine
    fit_rows = pool if plan is None else plan.fit
    everything = plan is None and len(pool) == dataset.n_rows
    if engine is not None:  # the workers read the rows; this process never holds the table
        if progress:
            progress(0.01, f"reading {len(fit_rows):,} rows on the cluster")
        full = None
        X = engine.gather_rows(dataset, np.asarray(fit_rows))
    else:
        full = dataset.matrix()
        X = full if everything else gather_rows(full, fit_rows)
    # Identical or near-identical vectors crash native reducers (t-SNE segfaults): refused
    # or rescaled here, for every reducer, before any of them runs.
    what = "the rows" if everything else "the isolated rows" if plan is None else "the sample"
    prepared = checked_for_fit(X, reducer.n_components, what)
    X = prepared.X
    pca = None
    if planned.pca_dims:
        X, pca = pca_first(X, planned.pca_dims, progress)
    seeds = list(planned.seeds)
    if seeds:  # a stability check's runs: each has the time limit of one map
        limit = time_limit * len(seeds) if time_limit else time_limit

        def fit() -> np.ndarray:
            return reducer.fit_runs(X, seeds, progress=_stoppable(progress))
    else:
        limit = time_limit

        def fit() -> np.ndarray:
            return reducer.fit_transform(X, progress=_stoppable(progress))

    try:
        fitted = run_with_time_limit(fit, limit)
    except TimeLimitError:
        raise ReducerError(
            f"reducer {reducer.name!r} did not finish within {limit:g} s "
            "(`projection.time_limit`"
            + (f" for each of {len(seeds)} runs)" if seeds else ")")
            + "\nfit a sample (`projection.sample.max_rows`), choose a faster reducer, or raise "
            "`projection.time_limit`"
        ) from None
    if everything:
        return fitted
    if seeds:  # runs compare the fitted rows: the rest of a sample is not placed
        runs = np.full((len(seeds), dataset.n_rows, reducer.n_components), np.nan, np.float32)
        runs[:, fit_rows] = fitted
        return runs
    # Rows outside an isolated subset, or a sample the reducer cannot extend, are NaN.
    coords = np.full((dataset.n_rows, reducer.n_components), np.nan, dtype=np.float32)
    coords[fit_rows] = fitted
    if plan is not None and plan.rest.size:
        if engine is not None:
            engine.place(dataset, plan.rest, coords, (reducer, pca, prepared.scale), progress)
        else:
            place_rest(reducer, full, plan.rest, coords, pca, progress, prepared.scale)
    return coords
