"""The page's side of a projection job: ask for the map, follow its progress, cancel it,
try it again; every page that asked gets the map or an error (see
:mod:`dashboard.projection.lifecycle`).

One callback follows the job. Whatever triggered it (a new request, a poll, Cancel, Try
again), it first reconciles the job it holds with the map the page asks for now: Dash drops
the answer of a call that a newer call of the same callback overtook, so an answer that
started a job may never reach the page, and the next call must find (join) that job again.
Joining is free: a job's identity is its map, and asking twice is one job.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from typing import Any

from dash import Dash, Input, Output, State, ctx, html, no_update, set_props

from dashboard.errors import DashboardError
from dashboard.plugin.components import alert
from dashboard.plugin.context import PanelContext
from dashboard.plugin.panel import REQUEST_STORE, VIEW_STORE
from dashboard.projection.lifecycle import JobState, JobStatus, ProjectionJobs
from dashboard.projection.request import Projection
from dashboard.web.page import (
    CANCEL,
    JOB,
    POLL,
    PROGRESS,
    PROGRESS_TEXT,
    PROGRESS_WRAP,
    PROJECTION_ANSWER,
    RETRY,
    STATUS,
)

logger = logging.getLogger(__name__)

SHOWN = {"display": "flex"}
HIDDEN = {"display": "none"}


def register_projection(app: Dash, context: PanelContext, jobs: ProjectionJobs) -> None:
    """Register the callback that follows the page's projection job."""

    @app.callback(
        Output(JOB, "data"),
        Output(POLL, "disabled"),
        Output(STATUS, "children"),
        Output(PROGRESS_WRAP, "style"),
        Output(PROGRESS, "value"),
        Output(PROGRESS_TEXT, "children"),
        Output(RETRY, "style"),
        Input(REQUEST_STORE, "data"),
        Input(POLL, "n_intervals"),
        Input(CANCEL, "n_clicks"),
        Input(RETRY, "n_clicks"),
        State(JOB, "data"),
        State(VIEW_STORE, "data"),
    )
    def follow(request: Any, polls: Any, cancels: Any, retries: Any, job: Any, view: Any):
        return follow_job(jobs, context, ctx.triggered_id, request, job, _page_of(view))

    # A map a job finishes may land after the page asked for another (a cached 2D map is
    # quicker than a 3D fit): the page takes it only if it is the map asked for now.
    app.clientside_callback(
        "function(answer, request, shown) {"
        " return window.dashboardClient.acceptProjection(answer, request, shown); }",
        Output("dashboard-projection", "data"),
        Input(PROJECTION_ANSWER, "data"),
        State(REQUEST_STORE, "data"),
        State("dashboard-projection", "data"),
        prevent_initial_call=True,
    )


def follow_job(
    jobs: ProjectionJobs,
    context: PanelContext,
    trigger: Any,
    request: Any,
    job: Any,
    page: str,
) -> tuple[Any, ...]:
    """The follow callback's body: (job store, poll disabled, status, progress style,
    progress value, progress text, Try again style)."""
    if request is None or request == {}:
        return (None, True, no_update, HIDDEN, 0, "", HIDDEN)
    if not isinstance(request, Mapping):
        error = _error(f"not a projection request: {type(request).__name__}\nreload the page")
        return (None, True, error, HIDDEN, 0, "", HIDDEN)
    job = job if isinstance(job, dict) else {}
    same = job.get("request") == request and isinstance(job.get("key"), str)
    if trigger == CANCEL:
        if same and job.get("state") in ("queued", "running"):
            jobs.leave(job["key"], page)
            logger.info("projection job %s cancelled by page %s", job["key"], page)
        return _cancelled(request, job)
    if same and job.get("state") == "cancelled" and trigger == POLL:
        return _cancelled(request, job)  # a late poll: it stays cancelled until asked again
    try:
        if same and trigger == POLL:
            status = jobs.status(job["key"], page) or jobs.submit(request, page)
        else:
            if isinstance(job.get("key"), str) and job.get("request") != request:
                jobs.leave(job["key"], page)  # another map asked for: the old one may stop
            status = jobs.submit(request, page)
    except DashboardError as exc:
        logger.warning("projection failed: %s", exc)
        return (None, True, _error(str(exc)), HIDDEN, 0, "", HIDDEN)
    return _shown(status, request, context)


def _shown(status: JobStatus, request: Mapping[str, Any], context: PanelContext) -> tuple:
    held = {"key": status.key, "request": request, "state": status.state.value}
    if status.active:
        percent = round(100 * min(max(status.fraction, 0.0), 1.0))
        return (held, False, no_update, SHOWN, percent, status.message, HIDDEN)
    if status.state is JobState.DONE:
        projection = Projection.from_store(status.projection)
        if projection is None:
            damaged = _error("the finished map's record is damaged\nask for the map again")
            return (held, True, damaged, HIDDEN, 0, "", SHOWN)
        set_props(PROJECTION_ANSWER, {"data": status.projection})
        return (held, True, context.describe(projection), HIDDEN, 100, "", HIDDEN)
    if status.state is JobState.FAILED:
        message = status.error or "the map could not be computed"
        return (held, True, _error(message), HIDDEN, 0, "", SHOWN)
    return _cancelled(request, held)


def _cancelled(request: Mapping[str, Any], job: Mapping[str, Any]) -> tuple:
    held = {**job, "request": request, "state": "cancelled"}
    text = html.Span(
        f"Cancelled the {request.get('reducer')} {request.get('dims')}D map: the map shown is "
        "the previous one.",
        className="text-body-secondary",
    )
    return (held, True, text, HIDDEN, 0, "", SHOWN)


def _error(message: str) -> Any:
    return alert(message, color="danger", id="dashboard-error")


def _page_of(view: Any) -> str:
    """The page's id (kept in its view), or a new one."""
    book = view.get("book") if isinstance(view, dict) else None
    page = book.get("page") if isinstance(book, dict) else None
    if isinstance(page, str) and 0 < len(page) <= 64:
        return page
    return uuid.uuid4().hex


def compute_projection(
    request: Mapping[str, Any] | None, context: PanelContext, progress: Any = None
) -> tuple[Any, Any]:
    """A projection as a page would get it, waiting for it here (scripts, tests,
    benchmarks): (projection store value, status line), or (no_update, error alert)."""
    if not request:
        return no_update, no_update
    try:
        projection = context.project(request, progress)
    except DashboardError as exc:
        logger.warning("projection failed: %s", exc)
        return no_update, _error(str(exc))
    return projection.to_store(), context.describe(projection)
