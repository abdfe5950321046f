"""Projection jobs through the app, as pages drive them: joined, cancelled, asked again,
failed, crashed, lost. Reducers run in a worker process (see dashboard.projection.process)."""

from __future__ import annotations

import os
import threading
import time
from typing import Any

import pytest

from dashboard import create_app
from dashboard.projection.lifecycle import JobState
from dashboard.projection.request import ProjectionRequest
from tests.test_app import follow_call, polling, project_over_http
from tests.test_isolation import faulty_manager

REQUEST_TRIGGER = "dashboard-request.data"
POLL = "dashboard-projection-poll.data"
CANCEL = "dashboard-projection-cancelled.data"
RETRY = "dashboard-projection-retry.n_clicks"


def slow(seconds: float = 2.0) -> dict:
    return {"table": "digits", "reducer": "slow", "dims": 2, "params": {"seconds": seconds}}


@pytest.fixture
def app(write_config, digits_path):
    config = write_config(
        {
            "tables": {"digits": {"path": str(digits_path), "label": "label"}},
            "panels": [{"type": "scatter"}],
        }
    )
    app = create_app(config, plugin_manager=faulty_manager())
    yield app
    app.dashboard.context.jobs.stop()


def jobs_of(app):
    return app.dashboard.context.jobs


def key_of(app, request: dict) -> str:
    return app.dashboard.context.cached_projection(ProjectionRequest.parse(request))[0]


def wait_for(condition, timeout: float = 60.0, what: str = "the condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"{what} did not happen within {timeout:g} s")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_identical_requests_from_two_pages_join_one_job_and_both_get_the_map(app):
    request = slow(2.0)
    results: dict[str, dict] = {}

    def ask(page: str) -> None:
        results[page] = project_over_http(app.server.test_client(), request=request, page=page)

    threads = [threading.Thread(target=ask, args=(page,)) for page in ("tab-a", "tab-b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    for page in ("tab-a", "tab-b"):
        assert results[page]["dashboard-projection-answer"]["data"]["n"] == 1797, page
        assert results[page]["dashboard-status"]["children"].startswith("Slow 2D · digits")
    record = jobs_of(app).get(key_of(app, request))
    assert record.state is JobState.DONE
    assert set(record.waiters) == {"tab-a", "tab-b"}
    assert record.generation == 0  # one run, both pages answered


def test_cancel_then_asking_again_runs_the_map(app):
    client = app.server.test_client()
    request = slow(30.0)
    started = follow_call(client, "/", REQUEST_TRIGGER, request, None, "page")
    job = started["dashboard-projection-job"]["data"]
    assert job["state"] in ("queued", "running")
    assert started["dashboard-progress-wrap"]["style"] == {"display": "flex"}  # Cancel shows
    wait_for(lambda: jobs_of(app).get(job["key"]).state is JobState.RUNNING, what="running")
    cancelled = follow_call(client, "/", CANCEL, request, job, "page")
    assert "Cancelled the Slow 2D map" in str(cancelled["dashboard-status"]["children"])
    assert not polling(cancelled)
    assert cancelled["dashboard-projection-retry"]["style"] == {"display": "flex"}
    # The reducer stops at its next progress report; the worker stays.
    wait_for(lambda: jobs_of(app).get(job["key"]).state is JobState.CANCELLED, 10, "cancel")
    # A poll that overtook the Cancel's call (it holds the running job) still sees the
    # cancel; Try again runs the map anew, to its end.
    intent = {"request": request, "at": 1}
    late = follow_call(client, "/", POLL, request, job, "page", cancelled=intent)
    assert not polling(late)
    assert "Cancelled the Slow 2D map" in str(late["dashboard-status"]["children"])
    held = cancelled["dashboard-projection-job"]["data"]
    again = follow_call(client, "/", RETRY, request, held, "page")
    assert again["dashboard-projection-job"]["data"]["state"] in ("queued", "running")
    assert jobs_of(app).get(job["key"]).generation == 1


def test_a_cancel_while_another_page_waits_stops_following_and_says_so(app):
    client = app.server.test_client()
    request = slow(4.0)
    job = follow_call(client, "/", REQUEST_TRIGGER, request, None, "tab-a")[
        "dashboard-projection-job"
    ]["data"]
    follow_call(client, "/", REQUEST_TRIGGER, request, None, "tab-b")
    left = follow_call(client, "/", CANCEL, request, job, "tab-a")
    status = str(left["dashboard-status"]["children"])
    assert "Stopped waiting for the Slow 2D map here: another page asks for it too" in status
    assert not polling(left)
    record = jobs_of(app).get(job["key"])
    assert record.active
    assert not record.cancel
    assert set(record.waiters) == {"tab-b"}
    # The other page gets its map; this one keeps what it shows until it asks again.
    done = project_over_http(client, request=request, page="tab-b")
    assert done["dashboard-projection-answer"]["data"]["n"] == 1797


def test_a_map_asked_for_again_while_its_old_request_leaves_it_runs_and_is_not_cancelled(app):
    # t-SNE, PCA, t-SNE again within a second: the server may handle the second t-SNE call
    # (which joins the running job) before the PCA call (which leaves it, cancelling it).
    client = app.server.test_client()
    request, other = slow(30.0), {"table": "digits", "reducer": "pca", "dims": 2, "params": {}}
    job = follow_call(client, "/", REQUEST_TRIGGER, request, None, "page")[
        "dashboard-projection-job"
    ]["data"]
    joined = follow_call(client, "/", REQUEST_TRIGGER, request, job, "page")
    follow_call(client, "/", REQUEST_TRIGGER, other, job, "page")  # leaves: cancels the job
    wait_for(lambda: jobs_of(app).get(job["key"]).state is JobState.CANCELLED, 10, "cancel")
    polled = follow_call(
        client, "/", POLL, request, joined["dashboard-projection-job"]["data"], "page"
    )
    assert polling(polled)
    assert polled["dashboard-projection-job"]["data"]["generation"] == 1
    assert "Cancelled" not in str(polled)
    follow_call(client, "/", CANCEL, request, polled["dashboard-projection-job"]["data"], "page")


def test_a_cancel_ends_a_reducer_that_never_reports_by_ending_its_worker(app):
    client = app.server.test_client()
    request = {"table": "digits", "reducer": "hangs", "dims": 2, "params": {}}
    job = follow_call(client, "/", REQUEST_TRIGGER, request, None, "page")[
        "dashboard-projection-job"
    ]["data"]
    # Past its last progress report: only ending its process can stop it now.
    wait_for(lambda: "Hangs: fitting" in jobs_of(app).get(job["key"]).message, what="fitting")
    (pid,) = jobs_of(app).worker_pids()
    follow_call(client, "/", CANCEL, request, job, "page")
    wait_for(lambda: jobs_of(app).get(job["key"]).state is JobState.CANCELLED, 15, "cancel")
    assert not alive(pid)  # the work is gone with its process
    # The next map gets a new worker.
    done = project_over_http(client, request={"table": "digits", "reducer": "pca", "dims": 2})
    assert done["dashboard-projection-answer"]["data"]["n"] == 1797
    assert jobs_of(app).worker_pids() not in ([], [pid])


def test_a_cancel_that_arrives_after_its_job_ended_does_not_stop_the_next_job(app):
    # t-SNE, then PCA, then t-SNE again within a second: the first job finished before its
    # cancel reached the worker, which then took the cancel for the next job's.
    (worker,) = jobs_of(app)._executors
    reports: list[str] = []

    def progress(fraction: float, message: str) -> None:
        reports.append(message)

    request = ProjectionRequest.parse(slow(0.3)).to_dict()
    worker.run("first", request, progress, lambda: False)
    sent = threading.Event()

    def late_cancel(fraction: float, message: str) -> None:
        if not sent.is_set():  # the second job runs: now the first one's cancel arrives
            sent.set()
            worker._conn.send(("cancel", "first"))

    stored = worker.run("second", dict(request, dims=3), late_cancel, lambda: False)
    assert sent.is_set()
    assert stored["dims"] == 3
    assert stored["n"] == 1797


def test_a_reducer_that_crashes_fails_its_map_only(app):
    client = app.server.test_client()
    crashed = project_over_http(
        client, request={"table": "digits", "reducer": "aborts", "dims": 2}, page="one"
    )
    alert = crashed["dashboard-status"]["children"]
    assert alert["props"]["id"] == "dashboard-error"
    assert "worker process was ended by SIGABRT while computing this map" in str(alert)
    assert crashed["dashboard-projection-retry"]["style"] == {"display": "flex"}
    assert "dashboard-projection-answer" not in crashed  # the old map stays
    # The server, and other users' maps, go on.
    assert client.get("/").status_code == 200
    fine = project_over_http(
        client, request={"table": "digits", "reducer": "pca", "dims": 3}, page="two"
    )
    assert fine["dashboard-projection-answer"]["data"]["dims"] == 3


def test_a_failing_reducer_shows_its_error_on_the_page(app):
    client = app.server.test_client()
    failed = project_over_http(client, request={"table": "digits", "reducer": "explodes"})
    alert = failed["dashboard-status"]["children"]
    assert alert["type"] == "Alert"
    assert "reducer 'explodes' failed in `fit_transform`: RuntimeError: boom" in str(alert)
    assert "Traceback" not in str(failed)


def test_a_lost_job_is_said_and_run_again(app):
    request = {"table": "digits", "reducer": "pca", "dims": 2, "params": {"whiten": True}}
    key = key_of(app, request)
    jobs = jobs_of(app)
    # A record a killed server left behind: running, its heartbeat stopped a minute ago.
    jobs.submit(request, "someone")  # the record's shape, then make it lost
    wait_for(lambda: jobs.get(key).state is JobState.DONE, what="done")
    app.dashboard.context.store.path(key).unlink()
    record = jobs.get(key)
    record.state, record.owner, record.beat = JobState.RUNNING, "gone:1", time.time() - 60
    jobs._put(record)
    held = {"key": key, "request": request, "state": "running"}
    polled = follow_call(app.server.test_client(), "/", POLL, request, held, "page")
    assert "stopped; computing it again" in polled["dashboard-progress-text"]["children"]
    wait_for(lambda: jobs.get(key).state is JobState.DONE, what="the re-run")
    assert jobs.get(key).reruns == 1
    assert app.dashboard.context.store.exists(key)


@pytest.mark.parametrize(
    "request_value",
    [["a", "list"], {"table": "digits"}, {"table": 5, "reducer": "pca", "dims": "three"}],
    ids=["a list", "no reducer", "wrong types"],
)
def test_a_forged_request_gets_a_short_error(app, request_value):
    client = app.server.test_client()
    answer = follow_call(client, "/", REQUEST_TRIGGER, request_value, None, "page")
    text = str(answer["dashboard-status"]["children"])
    assert "not a projection request" in text
    assert "Traceback" not in text


def test_a_plugin_made_in_a_function_keeps_maps_in_the_server_and_says_so(
    write_config, digits_path, caplog
):
    from dashboard import Reducer, hookimpl
    from dashboard.plugin.manager import get_plugin_manager

    class Local(Reducer):
        name = "local"

        def _fit_transform(self, X, progress):
            return X[:, : self.n_components].copy()

    class Plugin:
        @hookimpl
        def dashboard_reducers(self):
            return [Local]

    pm = get_plugin_manager(load_entry_points=False)
    pm.register(Plugin(), name="local-plugin")
    config = write_config({"tables": {"digits": {"path": str(digits_path)}}})
    app = create_app(config, plugin_manager=pm)
    assert "plugin 'local-plugin' is not defined at the top level" in caplog.text
    done = project_over_http(
        app.server.test_client(), request={"table": "digits", "reducer": "local"}
    )
    assert done["dashboard-projection-answer"]["data"]["reducer"] == "local"
    assert app.dashboard.context.jobs.worker_pids() == []  # computed in the server's threads


def test_a_cancelled_background_callback_stops_waiting_and_leaves_its_job(app):
    # A pinned map waits for its map in a background callback; its Cancel terminates that
    # callback (Dash's `cancel=`), which must end the wait and leave the job.
    from dashboard.errors import JobCancelledError

    context = app.dashboard.context
    manager = context.raise_if_cancelled.__self__
    request = slow(30.0)
    outcome: dict[str, BaseException] = {}

    def pinned_map(key: str, progress_key: str, args: Any, callback_context: Any) -> None:
        try:
            context.project(request)
        except BaseException as exc:
            outcome["raised"] = exc

    job = manager.call_job_fn("pinned", pinned_map, (), {})  # as Dash starts it
    key = key_of(app, request)
    wait_for(lambda: (r := jobs_of(app).get(key)) is not None and r.state is JobState.RUNNING)
    manager.terminate_job(job)
    wait_for(lambda: "raised" in outcome, 10, "the end of the wait")
    assert isinstance(outcome["raised"], JobCancelledError)
    wait_for(lambda: jobs_of(app).get(key).state is JobState.CANCELLED, 10, "the job's cancel")


def test_a_stability_checks_runs_do_not_hold_up_maps_asked_for_meanwhile(tmp_path):
    import diskcache

    from dashboard.projection.lifecycle import InProcessExecutor, ProjectionJobs
    from dashboard.projection.request import Projection

    release = threading.Event()
    done: list[str] = []

    def project(request, progress):
        if request.get("runs"):
            assert release.wait(30), "the runs were never released"
        done.append("runs" if request.get("runs") else request["reducer"])
        return Projection(key="k", table="t", reducer=request["reducer"], dims=2, params={}, n=3)

    def lookup(request):
        return f"{request.reducer}{request.runs}", None

    jobs = ProjectionJobs(
        diskcache.Cache(tmp_path / "board"),
        lookup,
        [InProcessExecutor(project)],
        background=[InProcessExecutor(project)],
    )
    checking = jobs.submit({"table": "t", "reducer": "umap", "runs": 5}, "page")
    wait_for(lambda: jobs.get(checking.key).state is JobState.RUNNING, what="the runs start")
    # A map asked for while the runs go on is done first, on the other worker.
    answer: list[Any] = []
    asking = threading.Thread(
        target=lambda: answer.append(jobs.wait({"table": "t", "reducer": "pca"}, waiter="p")),
        daemon=True,
    )
    asking.start()
    asking.join(20)
    try:
        assert answer, "the map waited for the runs"
        assert answer[0].reducer == "pca"
        assert done == ["pca"]
    finally:
        release.set()
    wait_for(lambda: jobs.get(checking.key).state is JobState.DONE, what="the runs end")
    assert done == ["pca", "runs"]
