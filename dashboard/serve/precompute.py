"""Fill the projection cache ahead of time, so the first page view is instant.

``python -m dashboard precompute --config team.yaml [--reducer umap --dims 2 3]``
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TextIO

from tqdm import tqdm

from dashboard.errors import DashboardError
from dashboard.plugin.context import PanelContext
from dashboard.projection.request import ProjectionRequest
from dashboard.web.assemble import prepare

logger = logging.getLogger(__name__)


@dataclass
class Outcome:
    """What happened to one projection."""

    request: ProjectionRequest
    seconds: float
    cached: bool
    error: str | None = None


def plan(
    config: str,
    *,
    reducers: Sequence[str] = (),
    dims: Sequence[int] = (),
    tables: Sequence[str] = (),
) -> tuple[PanelContext, list[ProjectionRequest]]:
    """The projections to compute: every table (and logged set) x reducer x dims.

    Defaults come from the config's `projection:`; a reducer other than the configured one
    uses its default parameters.

    Raises
    ------
    DashboardError
        For a bad config, an unknown reducer or table.
    """
    dashboard = prepare(config)
    context = dashboard.context
    initial = context.initial_request
    names = list(reducers) or [initial.reducer]
    for name in names:
        context.registry.reducer(name, key="--reducer")
    chosen = list(context.datasets)
    if tables:
        unknown = [t for t in tables if t not in context.datasets]
        if unknown:
            raise DashboardError(
                f"`--table`: unknown table {unknown[0]!r}\n"
                f"allowed values: {', '.join(repr(t) for t in context.datasets)}"
            )
        chosen = list(tables)
    requests = [
        ProjectionRequest(table, name, d, dict(initial.params) if name == initial.reducer else {})
        for table in chosen
        for name in names
        for d in (list(dims) or [initial.dims])
    ]
    return context, requests


def precompute(
    config: str,
    *,
    reducers: Sequence[str] = (),
    dims: Sequence[int] = (),
    tables: Sequence[str] = (),
    out: TextIO | None = None,
) -> list[Outcome]:
    """Compute (or find cached) every planned projection, with a progress bar on ``out``
    (default: standard error at call time).

    A projection that fails is reported and skipped; the others still run.
    """
    out = out or sys.stderr
    context, requests = plan(config, reducers=reducers, dims=dims, tables=tables)
    outcomes = []
    bar = tqdm(requests, file=out, unit="map", disable=not requests)
    for request in bar:
        bar.set_description(f"{request.reducer} {request.dims}D {request.table}")
        start = time.perf_counter()
        try:
            result = context.project(
                request, lambda fraction, message: bar.set_postfix_str(message, refresh=True)
            )
        except DashboardError as exc:
            outcomes.append(Outcome(request, time.perf_counter() - start, False, str(exc)))
            bar.write(f"failed: {request.reducer} {request.dims}D {request.table}: {exc}", out)
            continue
        outcomes.append(Outcome(request, time.perf_counter() - start, result.cached))
    bar.close()
    return outcomes


def summary(outcomes: Sequence[Outcome]) -> str:
    """One line per projection, then the totals."""
    lines = []
    for o in outcomes:
        what = f"{o.request.reducer} {o.request.dims}D {o.request.table}"
        state = (
            f"failed ({o.error.splitlines()[0]})"
            if o.error
            else ("already cached" if o.cached else f"computed in {o.seconds:.1f} s")
        )
        lines.append(f"{what}: {state}")
    failed = sum(1 for o in outcomes if o.error)
    lines.append(f"{len(outcomes) - failed} of {len(outcomes)} projections in the cache")
    return "\n".join(lines)
