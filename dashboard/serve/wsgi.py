"""WSGI entry point for production servers::

    DASHBOARD_CONFIG=team.yaml gunicorn --workers 4 --bind 127.0.0.1:8050 \\
        'dashboard.serve.wsgi:server'

The config path comes from the ``DASHBOARD_CONFIG`` environment variable, and an optional
``DASHBOARD_URL_BASE`` (e.g. ``/projector/``) mounts the dashboard below a path. Every worker
builds the same app from the same config, so they share the config's cache directory: a
projection one worker computed is a cache hit for the others, and a background job started
by one worker can be polled through any other (see :mod:`dashboard.web.jobs`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

import flask

from dashboard.errors import ConfigError

CONFIG_ENV = "DASHBOARD_CONFIG"
URL_BASE_ENV = "DASHBOARD_URL_BASE"


def config_path(environ: Mapping[str, str], who: str, command: str) -> str:
    """The config file ``DASHBOARD_CONFIG`` names, for ``who`` started as ``command``.

    Raises
    ------
    ConfigError
        When the variable is unset.
    """
    path = environ.get(CONFIG_ENV)
    if not path:
        raise ConfigError(
            f"`{CONFIG_ENV}` is not set: {who} does not know which config to serve\n"
            f"set it to the dashboard's YAML, e.g. {CONFIG_ENV}=team.yaml {command}"
        )
    return path


def build_server(environ: Mapping[str, str] = os.environ) -> flask.Flask:
    """The Flask server of the dashboard that ``environ`` describes.

    Raises
    ------
    ConfigError
        When ``DASHBOARD_CONFIG`` is unset, or the config is invalid (the message names the
        file, key and allowed values).
    """
    path = config_path(environ, "the WSGI server", "gunicorn 'dashboard.serve.wsgi:server'")
    from dashboard.web.app import create_app

    app = create_app(path, url_base_pathname=environ.get(URL_BASE_ENV, "/"))
    app.dashboard.context.jobs.warm()
    logging.getLogger(__name__).info("worker %d serves %s", os.getpid(), path)
    return app.server


def __getattr__(name: str) -> flask.Flask:
    # `server` is built when gunicorn asks for it, not on import: importing this module (in
    # tests, or for `build_server`) must not need the environment variable.
    if name == "server":
        globals()["server"] = built = build_server()
        return built
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
