"""The page's side of a projection job: ask for the map, follow its progress, cancel it,
try it again; every page that asked gets the map or an error (see
:mod:`dashboard.projection.lifecycle`).

One callback follows the job, and it decides from state, not from what triggered it: the map
the page asks for now, the job it holds, and whether the page cancelled that map. Dash drops
the answer of a call that a newer call of the same callback overtook, so any call may be the
one that lands, and each must do what the page needs: join the job of the map asked for
(joining is free: a job's identity is its map), or stay cancelled.

The page polls only after an answer landed (its script sets the poll store a moment after a
job answer that says the job still runs), so polls never overtake each other or a Cancel:
a free-running timer did, and a slow server then never answered at all. Cancel is kept as
state (the map cancelled) for the same reason: a call that overtook the Cancel's still sees it.
"""

from __future__ import annotations

import logging
import time
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
    CANCELLED,
    JOB,
    POLL,
    POLL_TIMER,
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
#: A poll whose answer has not landed after this long is sent again (a lost request).
POLL_RETRY_MS = 10_000


def register_projection(app: Dash, context: PanelContext, jobs: ProjectionJobs) -> None:
    """Register the callback that follows the page's projection job, and the page's side of
    polling and cancelling."""

    @app.callback(
        Output(JOB, "data"),
        Output(STATUS, "children"),
        Output(PROGRESS_WRAP, "style"),
        Output(PROGRESS, "value"),
        Output(PROGRESS_TEXT, "children"),
        Output(RETRY, "style"),
        Input(REQUEST_STORE, "data"),
        Input(POLL, "data"),
        Input(CANCELLED, "data"),
        Input(RETRY, "n_clicks"),
        State(JOB, "data"),
        State(VIEW_STORE, "data"),
    )
    def follow(request: Any, poll: Any, cancelled: Any, retries: Any, job: Any, view: Any):
        retry = ctx.triggered_id == RETRY
        return follow_job(jobs, context, request, job, _page_of(view), cancelled, retry)

    # Cancel, Try again and a new request set what the page cancelled (Try again and a new
    # request forget it); each also stops a poll that is due.
    app.clientside_callback(
        "function(cancels, retries, request, cancelled) {"
        " return window.dashboardProjection.cancelIntent(request, cancelled); }",
        Output(CANCELLED, "data"),
        Input(CANCEL, "n_clicks"),
        Input(RETRY, "n_clicks"),
        Input(REQUEST_STORE, "data"),
        State(CANCELLED, "data"),
        prevent_initial_call=True,
    )
    # Each job answer that says the job still runs schedules the next poll (set by the
    # script: an output here would close a loop, poll -> job -> poll, which Dash refuses).
    # An answer made for an older request (answers may land out of order) polls at once,
    # so the next answer follows the map asked for now.
    app.clientside_callback(
        "function(job, request) {"
        " return window.dashboardProjection.schedulePoll(job, request,"
        f" {context.poll_ms}, {POLL_RETRY_MS}, {POLL!r}); }}",
        Output(POLL_TIMER, "data"),
        Input(JOB, "data"),
        State(REQUEST_STORE, "data"),
        prevent_initial_call=True,
    )
    # A map a job finishes may land after the page asked for another (a cached 2D map is
    # quicker than a 3D fit): the page shows the newest finished map that is the one asked
    # for now, also when the request comes back to it later.
    app.clientside_callback(
        "function(answer, request, shown) {"
        " return window.dashboardProjection.acceptProjection(answer, request, shown); }",
        Output("dashboard-projection", "data"),
        Input(PROJECTION_ANSWER, "data"),
        Input(REQUEST_STORE, "data"),
        State("dashboard-projection", "data"),
        prevent_initial_call=True,
    )


def follow_job(
    jobs: ProjectionJobs,
    context: PanelContext,
    request: Any,
    job: Any,
    page: str,
    cancelled: Any = None,
    retry: bool = False,
) -> tuple[Any, ...]:
    """The follow callback's body: (job store, status, progress style, progress value,
    progress text, Try again style).

    Parameters
    ----------
    request
        The map the page asks for now.
    job
        The job the page holds (the last answer that landed), possibly for an older request.
    page
        The page's id: it is the job's waiter.
    cancelled
        What the page's Cancel was pressed for (``{"request": ...}``), until it asks again.
    retry
        Try again was pressed: a failed or cancelled map runs again.
    """
    if request is None or request == {}:
        return (None, no_update, HIDDEN, 0, "", HIDDEN)
    if not isinstance(request, Mapping):
        error = _error(f"not a projection request: {type(request).__name__}\nreload the page")
        return (None, error, HIDDEN, 0, "", HIDDEN)
    job = job if isinstance(job, dict) else {}
    key = job.get("key") if isinstance(job.get("key"), str) else None
    held = key if job.get("request") == request else None
    try:
        if isinstance(cancelled, Mapping) and cancelled.get("request") == request:
            return _cancel(jobs, context, request, held, page)
        status = jobs.status(held, page) if held and not retry else None
        if status is not None and status.state is JobState.CANCELLED:
            status = None  # not this page's cancel (it is still asked for): run it again
        if status is None:
            if key is not None and held is None:
                jobs.leave(key, page)  # another map asked for: the old one may stop
            status = jobs.submit(request, page)
    except DashboardError as exc:
        logger.warning("projection failed: %s", exc)
        return (None, _error(str(exc)), HIDDEN, 0, "", HIDDEN)
    return _shown(status, request, context, job)


def _held(status: JobStatus, request: Mapping[str, Any], state: str, poll: bool) -> dict:
    # `n` makes every answer a change, so the page's script schedules one poll per answer.
    return {
        "key": status.key,
        "request": request,
        "state": state,
        "generation": status.generation,
        "poll": poll,
        "n": time.monotonic_ns(),
    }


def _shown(
    status: JobStatus, request: Mapping[str, Any], context: PanelContext, job: Mapping[str, Any]
) -> tuple:
    if status.active:
        held = _held(status, request, status.state.value, poll=True)
        percent = round(100 * min(max(status.fraction, 0.0), 1.0))
        # A cancel's or an error's words no longer hold once the map computes again.
        was = job.get("state") if job.get("request") == request else None
        line = no_update if was in ("queued", "running") else _computing(request, context)
        return (held, line, SHOWN, percent, status.message, HIDDEN)
    held = _held(status, request, status.state.value, poll=False)
    if status.state is JobState.DONE:
        projection = Projection.from_store(status.projection)
        if projection is None:
            damaged = _error("the finished map's record is damaged\nask for the map again")
            return (held, damaged, HIDDEN, 0, "", SHOWN)
        # With the request it answers: the page matches answers to what it asks for by it.
        set_props(PROJECTION_ANSWER, {"data": {**status.projection, "request": request}})
        return (held, context.describe(projection), HIDDEN, 100, "", HIDDEN)
    message = status.error or "the map could not be computed"
    return (held, _error(message), HIDDEN, 0, "", SHOWN)


def _cancel(
    jobs: ProjectionJobs,
    context: PanelContext,
    request: Mapping[str, Any],
    held: str | None,
    page: str,
) -> tuple:
    """The page cancelled ``request``'s map: it leaves the job (again, harmlessly, on every
    later call) and says whether the job stopped or goes on for other pages."""
    status = jobs.leave(held, page) if held else jobs.leave_request(request, page)
    if status is not None and status.state is JobState.DONE:
        return _shown(status, request, context, {})  # it finished first: the map is there
    name = _name(request, context)
    others = status is not None and status.active and not status.cancel
    # (Whether a map is shown, and which, the notice above it says: after a reload none is.)
    if others:
        text = (
            f"Stopped waiting for the {name} map here: another page asks for it too, so it "
            "goes on computing there."
        )
    else:
        text = f"Cancelled the {name} map."
    job = {"request": request, "state": "cancelled", "poll": False, "n": time.monotonic_ns()}
    if status is not None:
        job = _held(status, request, "cancelled", poll=False)
    return (job, html.Span(text, className="text-body-secondary"), HIDDEN, 0, "", SHOWN)


def _name(request: Mapping[str, Any], context: PanelContext) -> str:
    """``t-SNE 2D``: the reducer's title and the map's dimensions."""
    return f"{context.reducer_title(request.get('reducer'))} {request.get('dims')}D"


def _computing(request: Mapping[str, Any], context: PanelContext) -> Any:
    text = f"Computing the {_name(request, context)} map…"
    return html.Span(text, className="text-body-secondary")


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
