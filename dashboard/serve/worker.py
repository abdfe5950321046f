"""Celery workers for background projections, when the config names a broker::

    DASHBOARD_CONFIG=team.yaml celery -A dashboard.serve.worker:celery_app worker --pool threads

A worker builds the same dashboard from the same config, which registers every background
callback (projections, timelines) as a Celery task; the web servers then queue them on the
broker, and the browser's polls read results and progress from the backend. Use the
``threads`` (or ``solo``) pool: Polars deadlocks in a process forked after it was used, which
is what the default ``prefork`` pool does. Workers write projections to the config's
``cache_dir``, so put it on storage the web servers see too.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from dashboard.errors import ConfigError
from dashboard.serve.wsgi import config_path

if TYPE_CHECKING:
    from dashboard.config import CeleryConfig


def make_celery(config: CeleryConfig, name: str = "dashboard") -> Any:
    """A Celery app on ``config``'s broker and backend (JSON only: no pickled payloads)."""
    from celery import Celery

    app = Celery(name, broker=config.broker, backend=config.backend or config.broker)
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        result_serializer="json",
        broker_connection_retry_on_startup=True,
    )
    return app


def build_worker_app(environ: Any = os.environ) -> Any:
    """The Celery app of the dashboard that ``DASHBOARD_CONFIG`` describes.

    Raises
    ------
    ConfigError
        When the variable is unset or the config names no `celery:` broker.
    """
    path = config_path(
        environ, "the worker", "celery -A dashboard.serve.worker:celery_app worker --pool threads"
    )
    from dashboard.web.app import create_app

    global _in_worker
    _in_worker = True  # its projection jobs run here, not sent on to the queue again
    app = create_app(path)
    manager = app._background_manager
    celery_app = getattr(manager, "handle", None)
    if celery_app is None or not hasattr(celery_app, "task"):
        raise ConfigError(
            f"{path}: `celery`: the config names no broker, so there is nothing to work on\n"
            "add `celery: {broker: redis://127.0.0.1:6379/0}` to the config"
        )
    return celery_app


def __getattr__(name: str) -> Any:
    # Built when Celery asks for it, not on import.
    if name == "celery_app":
        globals()["celery_app"] = built = build_worker_app()
        return built
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


#: The Celery task that computes a projection job on a worker.
PROJECTION_TASK = "dashboard.projection"
_in_worker = False


def in_worker() -> bool:
    """Whether this process is a Celery worker building its dashboard."""
    return _in_worker


def celery_projection_sender(celery_app: Any) -> Any:
    """Hand a projection job to the Celery workers (they write its record as it runs)."""

    def send(key: str, request: dict[str, Any], generation: int) -> None:
        celery_app.send_task(PROJECTION_TASK, args=[key, request, generation])

    return send


def register_celery_projection(celery_app: Any, jobs: Any) -> None:
    """Register the task that runs sent projection jobs with ``jobs`` (in a worker)."""

    @celery_app.task(name=PROJECTION_TASK)
    def run_projection_job(key: str, request: dict[str, Any], generation: int) -> None:
        jobs.run_sent(key, request, generation)
