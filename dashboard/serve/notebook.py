"""The projector inline in a notebook: ``view = dashboard.show(data)``.

:func:`show` turns what a notebook holds (a pandas or polars frame, a :class:`dashboard.Table`,
a numpy array with labels, a run directory, a table file or a YAML config) into a dashboard,
serves it from the kernel's one loopback server, each under its own path, and shows it in the
cell's output as an iframe. Jupyter front ends that render HTML (JupyterLab, Notebook 7, VS
Code) show the page; others, and plain Python, get the address to open instead.

The page's selection flows back: :attr:`NotebookView.selected` is the selected rows, and
:attr:`NotebookView.coordinates` the map the page shows, read from the page's latest view.

A notebook re-runs cells: showing the same thing again returns the dashboard already served,
and only the dashboards shown last keep a worker process (:data:`LIVE_WORKERS`). In a kernel,
the dashboard's log goes to a file (:data:`LOG_FILE` in the cache folder's ``notebook/``),
not into whichever cell runs next.
"""

from __future__ import annotations

import html
import json
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from dashboard.config import parse_config, resolve_cache_dir
from dashboard.errors import ConfigError, DashboardError, DataError
from dashboard.serve.show_config import FRAMES_DIR, show_config

logger = logging.getLogger(__name__)


#: Dashboards that keep their worker process: the most recently shown. An older one's
#: worker is ended; a new one starts if its page asks for a new map.
LIVE_WORKERS = 3
#: The inline page's default height in pixels (the 3D map's page fits).
HEIGHT = 820
#: The dashboard's log in a kernel, in the cache folder's ``notebook/``.
LOG_FILE = "dashboard.log"

_server_lock = threading.Lock()
_server: _Server | None = None
#: Dashboards served, by their config (JSON), the most recently shown last.
_shown: OrderedDict[str, tuple[str, Any]] = OrderedDict()
_next_mount = 1


class _Server:
    """One threaded HTTP server on loopback for the process (a kernel): each dashboard
    :func:`show` makes is mounted under its own path, so a notebook of twenty cells holds
    one port, not twenty."""

    def __init__(self, host: str, port: int):
        from werkzeug.serving import WSGIRequestHandler, make_server

        class Quiet(WSGIRequestHandler):
            # A line per request would fill the cell's output; errors are still logged.
            def log_request(self, *args: Any, **kwargs: Any) -> None:
                pass

        self.mounts: dict[str, Callable[..., Any]] = {}
        self._http = make_server(host, port, self, threaded=True, request_handler=Quiet)
        self.host, self.port = host, int(self._http.server_port)
        thread = threading.Thread(
            target=self._http.serve_forever, name="dashboard-notebook-server", daemon=True
        )
        thread.start()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path = environ.get("PATH_INFO", "") or "/"
        for prefix, app in list(self.mounts.items()):
            if path.startswith(prefix):
                return app(environ, start_response)
        from werkzeug.exceptions import NotFound

        return NotFound("no dashboard here: it was closed, or its kernel restarted")(
            environ, start_response
        )

    def url(self, prefix: str) -> str:
        return f"http://{self.host}:{self.port}{prefix}"


def _shared_server(host: str, port: int) -> _Server:
    global _server
    with _server_lock:
        if _server is None:
            _server = _Server(host, port)
        elif port and port != _server.port:
            raise ConfigError(
                f"`port`: this kernel serves its dashboards on port {_server.port}, "
                f"not {port!r}\nleave `port` out, or restart the kernel to change it"
            )
        return _server


@dataclass
class InlinePage:
    """What a cell shows: the page in an iframe, or its address where HTML cannot show."""

    url: str
    height: int = HEIGHT

    def _repr_html_(self) -> str:
        src = html.escape(self.url, quote=True)
        return (
            f'<iframe src="{src}" width="100%" height="{int(self.height)}" '
            'style="border: 1px solid #ddd; border-radius: 4px" '
            'title="Embedding projector"></iframe>'
        )

    def __repr__(self) -> str:
        # What a front end that cannot render HTML shows, and what plain Python prints.
        return f"Embedding projector: open {self.url} in a browser"


@dataclass(repr=False)
class NotebookView:
    """A dashboard shown by :func:`show`: its address, and what its page shows now.

    Attributes
    ----------
    url
        The page's address (open it in a browser tab for a larger view).
    app
        The Dash app (``app.dashboard.context`` holds the tables).
    """

    url: str
    app: Any
    height: int = HEIGHT
    as_pandas: bool = False
    _prefix: str = ""

    # -- what the page shows ------------------------------------------------------------------

    def _view(self) -> Any:
        """The page's latest view: the page used last, else the view a new page opens with."""
        server = _server
        if server is None or server.mounts.get(self._prefix) is not self.app.server:
            raise DashboardError(
                f"this dashboard ({self.url}) was closed\n"
                "show the data again: `view = dashboard.show(...)`"
            )
        memory = self.app.dashboard.pages.latest()
        if memory is not None:
            return memory.view
        from dashboard.web.state import initial_view

        return initial_view(self.app.dashboard.context, self.app.dashboard.panels)

    @property
    def table(self) -> str:
        """The name of the table the page maps."""
        return self._view().table

    @property
    def selected(self) -> Any:
        """The rows the page shows as selected (box, lasso or click), in table order, with
        every column of the table (images as PNG bytes) and their row number (``row``).

        As on the page, a selected row a filter or the legend hides is left out (and comes
        back when the filter goes); no rows before a selection. A polars frame, or pandas
        when :func:`show` was given one.
        """
        from dashboard.data.dataset import ROW
        from dashboard.web.derive import filter_specs, visible_selection

        view = self._view()
        context = self.app.dashboard.context
        shown = visible_selection(view, filter_specs(view), context, self._cached_map(view))
        # The table's own rows (an embedding picked in the page is a view of the same rows).
        dataset = context.dataset(shown["table"] or view.table)
        rows = sorted({int(r) for r in shown["rows"]})
        frame = (
            dataset.frame.with_row_index(ROW)
            .filter(pl.col(ROW).is_in(rows))
            .collect()
            .rename({ROW: "row"})
        )
        return self._out(frame)

    @property
    def coordinates(self) -> Any:
        """The map the page shows: ``row``, ``x``, ``y`` (and ``z`` in 3D) of every row on
        the map (a filter hides rows from the page, not from here). A map not computed yet
        is computed first (the same job as the page's, if it asked for it too).

        Raises
        ------
        DashboardError
            When the page's reducer settings cannot make a map (the reason), its fit
            failed, or the view was closed.
        """
        context = self.app.dashboard.context
        view = self._view()
        request = self._request(view)
        try:
            coords = context.coordinates(context.jobs.wait(request))
        except DashboardError as exc:
            raise _short(exc) from None
        on_map = np.flatnonzero(np.isfinite(coords).all(axis=1))
        columns = {"row": on_map.astype(np.uint32)}
        for axis, name in enumerate("xyz"[: coords.shape[1]]):
            columns[name] = coords[on_map, axis]
        return self._out(pl.DataFrame(columns))

    def _request(self, view: Any) -> dict[str, Any]:
        from dashboard.web.derive import derive_request

        request, why = derive_request(view, self.app.dashboard.context)
        if request is None:
            raise DataError(
                f"the page's settings make no map of table {view.table!r}: {why}\n"
                "change them in the page's controls"
            )
        return request

    def _cached_map(self, view: Any) -> Any:
        """The page's map when it is computed (filters on colours measured on the map need
        it), else None."""
        from dashboard.projection.request import ProjectionRequest

        try:
            request = self._request(view)
        except DataError:
            return None
        context = self.app.dashboard.context
        return context.cached_projection(ProjectionRequest.from_dict(request))[1]

    def _out(self, frame: pl.DataFrame) -> Any:
        return frame.to_pandas() if self.as_pandas else frame

    # -- display ------------------------------------------------------------------------------

    def display(self) -> None:
        """Show the page (again) in the cell's output."""
        _display(InlinePage(self.url, self.height))

    def __repr__(self) -> str:
        return f"<dashboard view at {self.url}: .selected, .coordinates, .close()>"

    def close(self) -> None:
        """Stop serving this dashboard (its address answers 404) and end its worker."""
        server = _server
        with _server_lock:
            if server is not None:
                server.mounts.pop(self._prefix, None)
            for key, (prefix, _) in list(_shown.items()):
                if prefix == self._prefix:
                    del _shown[key]
        self.app.dashboard.context.jobs.stop()


def _short(exc: DashboardError) -> DashboardError:
    """``exc`` anew, raised from here: a notebook shows the message, not a traceback
    through the whole dashboard."""
    return type(exc)(str(exc))


def show(
    data: Any,
    *,
    labels: Sequence[Any] | np.ndarray | None = None,
    embedding: str | list[str] | None = None,
    label: str | None = None,
    text: str | None = None,
    image: str | None = None,
    id: str | None = None,
    color: str | None = None,
    reducer: str | None = None,
    dims: int | None = None,
    params: Mapping[str, Any] | None = None,
    panels: list[Any] | None = None,
    title: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    height: int = HEIGHT,
    port: int = 0,
    display: bool = True,
) -> NotebookView:
    """Show ``data`` as an embedding projector in the notebook cell.

    Parameters
    ----------
    data
        A pandas or polars data frame, a :class:`dashboard.Table`, a 2-D numpy array (one
        vector per row; ``labels`` names them), a run directory written by
        :func:`dashboard.init`, a table file (parquet, csv, ...) or a YAML config.
    labels
        With an array: one label per row (coloured and shown on hover).
    embedding, label, text, image, id, color
        The table's columns by role, as in a config's ``tables`` entry; guessed when left
        out (the only vector column is the embedding, the first text column the label).
    reducer, dims, params
        The first map (``projection:`` in a config): e.g. ``reducer="umap", dims=3``.
    panels
        The page's panels, as in a config (default: the same as a config without panels).
    title, cache_dir
        As in a config.
    height
        The inline page's height in pixels.
    port
        The kernel's server port (default: any free port; fixed by the first call).
    display
        Show the page in the cell's output (False: only return the view).

    Returns
    -------
    NotebookView
        Its ``selected`` rows and ``coordinates`` follow the page.

    Raises
    ------
    DashboardError
        Bad data or options; the message names the option and what is allowed.
    """
    options = {
        "embedding": embedding,
        "label": label,
        "text": text,
        "image": image,
        "id": id,
        "color": color,
    }
    try:
        view = _show(data, labels, options, reducer, dims, params, panels, title, cache_dir, port)
    except DashboardError as exc:
        raise _short(exc) from None
    view.height = height
    if display:
        view.display()
    return view


def _show(
    data: Any,
    labels: Any,
    options: dict[str, Any],
    reducer: str | None,
    dims: int | None,
    params: Mapping[str, Any] | None,
    panels: list[Any] | None,
    title: str | None,
    cache_dir: str | os.PathLike[str] | None,
    port: int,
) -> NotebookView:
    """:func:`show` without the display: the dashboard served for these arguments."""
    global _next_mount
    folder = resolve_cache_dir(cache_dir)
    if _in_kernel():
        _log_to_file(folder / FRAMES_DIR)
    config, as_pandas = show_config(data, labels, options, folder, cache_dir)
    projection = config.setdefault("projection", {})
    for key, value in (("reducer", reducer), ("dims", dims), ("params", params)):
        if value is not None:
            projection[key] = dict(value) if key == "params" else value
    if panels is not None:
        config["panels"] = list(panels)
    if title is not None:
        config["title"] = title
    if not config["projection"]:
        del config["projection"]
    server = _shared_server("127.0.0.1", port)
    key = json.dumps(config, sort_keys=True, default=str)
    with _server_lock:
        found = _shown.get(key)
        if found is not None and server.mounts.get(found[0]) is found[1].server:
            # The same cell run again: the dashboard already served (and its cached maps).
            prefix, app = found
        else:
            from dashboard.web.app import create_app

            prefix = f"/view-{_next_mount}/"
            # Errors name where the table came from: the YAML file, or this call.
            source = str(data) if isinstance(data, (str, os.PathLike)) else "`dashboard.show`"
            app = create_app(parse_config(config, source=source), url_base_pathname=prefix)
            _next_mount += 1  # only once served: a failed call takes no number
            server.mounts[prefix] = app.server
            app.dashboard.context.jobs.warm()
        _shown[key] = (prefix, app)
        _shown.move_to_end(key)
        # Only the dashboards shown last keep a worker: a notebook re-run ten times must not
        # hold ten idle processes.
        for _, old in list(_shown.values())[:-LIVE_WORKERS]:
            old.dashboard.context.jobs.stop()
    return NotebookView(server.url(prefix), app, as_pandas=as_pandas, _prefix=prefix)


def _in_kernel() -> bool:
    """Whether this runs in a Jupyter kernel (whose front end may render HTML)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def _display(page: InlinePage) -> None:
    """Show the page in the cell's output, or print its address where HTML cannot show."""
    if _in_kernel():
        from IPython.display import display

        display(page)  # text/html for front ends that render it, text/plain (the address) else
    else:
        # A terminal or a script: the page cannot show here; its address is the output.
        print(repr(page))


def _log_to_file(folder: Path) -> None:
    """In a kernel, the dashboard's log (and its workers') goes to a file: a log line written
    from a server thread would land in whichever cell runs next. A logger the user set up
    already is left as it is."""
    from dashboard.projection.process import WORKER_LOG_ENV

    log = logging.getLogger("dashboard")
    if log.handlers:
        return
    folder.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(folder / LOG_FILE, delay=True)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    os.environ.setdefault(WORKER_LOG_ENV, str(folder / LOG_FILE))
