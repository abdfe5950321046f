"""A Dash app whose once-per-process server setup cannot race with a second request."""

from __future__ import annotations

import threading
from typing import Any

from dash import Dash


class LockedSetupDash(Dash):
    """:class:`dash.Dash` with its first-request setup run under a lock.

    Dash fills its registry of script bundles and its callback map in ``_setup_server``, a
    ``before_request`` hook that marks itself done *before* doing the work (plotly/dash#3971,
    open in Dash 4.4). On a threaded server (gunicorn ``gthread``, the development server) a
    request arriving meanwhile skips the setup and fails with a 500: "dash is not a
    registered library" for a lazily loaded bundle such as ``async-slider.js``. Here a second
    request waits until the first has finished the setup.
    """

    def __init__(self, *args: Any, **kwargs: Any):
        # Before Dash's own __init__, which registers the hook (called only on requests).
        self._setup_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def _setup_server(self) -> None:
        with self._setup_lock:
            super()._setup_server()
