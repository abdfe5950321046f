"""The WSGI entry and the job manager that lets several workers share background jobs."""

from __future__ import annotations

import threading

import diskcache
import pytest

from dashboard.errors import ConfigError, JobCancelledError
from dashboard.serve.wsgi import build_server
from dashboard.web.app import create_app
from dashboard.web.jobs import ThreadJobManager


def test_the_wsgi_entry_needs_its_config_variable_and_serves_the_config(demo_config):
    with pytest.raises(ConfigError, match=r"`DASHBOARD_CONFIG` is not set.*\nset it to"):
        build_server({})
    server = build_server({"DASHBOARD_CONFIG": str(demo_config), "DASHBOARD_URL_BASE": "/p/"})
    page = server.test_client().get("/p/")
    assert page.status_code == 200
    assert b"dashboard" in page.data.lower()


def test_another_worker_sees_a_running_job_and_can_cancel_it(tmp_path):
    # Two managers on one store: two gunicorn workers. The job runs in the first; the
    # browser's polls may reach the second.
    first = ThreadJobManager(diskcache.Cache(tmp_path / "jobs"))
    second = ThreadJobManager(diskcache.Cache(tmp_path / "jobs"))
    started, release = threading.Event(), threading.Event()
    outcome: list[str] = []

    def job_fn(key, progress_key, args, context):
        started.set()
        release.wait(10)
        try:
            first.raise_if_cancelled()
            outcome.append("finished")
        except JobCancelledError:
            outcome.append("cancelled")

    job = first.call_job_fn("key", job_fn, (), {})
    assert started.wait(10)
    thread = first._threads[job]
    assert second.job_running(job)  # seen through the shared lease
    second.terminate_job(job)
    release.set()
    thread.join(10)
    assert outcome == ["cancelled"]
    assert not first.job_running(job)
    assert not second.job_running(job)
    other = ThreadJobManager(diskcache.Cache(tmp_path / "other"))
    assert not other.job_running(job)  # a store that never heard of it


def test_a_request_during_the_first_requests_setup_waits_for_it(demo_config):
    # plotly/dash#3971: Dash marks its first-request setup done before doing it, so a second
    # request meanwhile found no script bundles registered and got a 500 (seen in gunicorn).
    # The setup is held open here until the second request has answered, or 1 s has passed.
    app = create_app(demo_config)
    server = app.server
    generate = app._generate_scripts_html
    in_setup, answered = threading.Event(), threading.Event()

    def slow_generate() -> str:
        in_setup.set()
        answered.wait(1)
        return generate()

    app._generate_scripts_html = slow_generate
    first = threading.Thread(target=lambda: server.test_client().get("/"))
    first.start()
    assert in_setup.wait(30)
    bundle = server.test_client().get("/_dash-component-suites/dash/dcc/async-slider.js")
    answered.set()
    first.join(30)
    assert bundle.status_code == 200, bundle.data[:300]
