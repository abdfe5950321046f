"""The projector inline in a notebook: ``view = dashboard.show(data)``.

:func:`show` turns what a notebook holds (a pandas or polars frame, a :class:`dashboard.Table`,
a numpy array with labels, a run directory, a table file or a YAML config) into a dashboard,
serves it from the kernel's one loopback server, each under its own path, and shows it in the
cell's output as an iframe. Jupyter front ends that render HTML (JupyterLab, Notebook 7, VS
Code) show the page; others, and plain Python, get the address to open instead.

The page's selection flows back: :attr:`NotebookView.selected` is the selected rows, and
:attr:`NotebookView.coordinates` the map the page shows, read from the page's latest view.
"""

from __future__ import annotations

import hashlib
import html
import itertools
import logging
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from dashboard.config import load_config, parse_config, user_cache_dir
from dashboard.errors import ConfigError, DataError
from dashboard.files import atomic_write

logger = logging.getLogger(__name__)

#: The table's name when ``data`` is a frame, a Table or an array.
TABLE = "data"
#: Where frames given to :func:`show` are written (under the cache folder), by content.
FRAMES_DIR = "notebook"
#: Options that describe the table (its columns' roles), passed to the table's config.
TABLE_OPTIONS = ("embedding", "label", "text", "image", "id", "color")

_server_lock = threading.Lock()
_server: _Server | None = None
_mounts = itertools.count(1)


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
class NotebookView:
    """A dashboard shown by :func:`show`: its address, and what its page shows now.

    Attributes
    ----------
    url
        The page's address (open it in a browser tab for a larger view; the selection is
        shared with the inline one only while they are the same page).
    app
        The Dash app (``app.dashboard.context`` holds the tables).
    """

    url: str
    app: Any
    height: int = 720
    as_pandas: bool = False
    _prefix: str = field(default="", repr=False)

    # -- what the page shows ------------------------------------------------------------------

    def _view(self) -> Any:
        """The page's latest view: the page used last, else the view a new page opens with."""
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
        """The rows selected on the page (box, lasso or click), in table order, with every
        column of the table and their row number (``row``); no rows before a selection.

        A polars frame, or pandas when :func:`show` was given one.
        """
        from dashboard.data.dataset import ROW

        view = self._view()
        # The table's own rows (an embedding picked in the page is a view of the same rows).
        dataset = self.app.dashboard.context.dataset(view.selection.table or view.table)
        rows = sorted({int(r) for r in view.selection.rows})
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
            When the page's reducer settings cannot make a map (the reason), or its fit
            failed.
        """
        from dashboard.web.derive import derive_request

        context = self.app.dashboard.context
        view = self._view()
        request, why = derive_request(view, context)
        if request is None:
            raise DataError(
                f"the page's settings make no map of table {view.table!r}: {why}\n"
                "change them in the page's controls"
            )
        coords = context.coordinates(context.jobs.wait(request))
        on_map = np.flatnonzero(np.isfinite(coords).all(axis=1))
        columns = {"row": on_map.astype(np.uint32)}
        for axis, name in enumerate("xyz"[: coords.shape[1]]):
            columns[name] = coords[on_map, axis]
        return self._out(pl.DataFrame(columns))

    def _out(self, frame: pl.DataFrame) -> Any:
        return frame.to_pandas() if self.as_pandas else frame

    # -- display ------------------------------------------------------------------------------

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

    def close(self) -> None:
        """Stop serving this dashboard (its address answers 404) and its projection jobs."""
        server = _server
        if server is not None:
            server.mounts.pop(self._prefix, None)
        self.app.dashboard.context.jobs.stop()


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
    height: int = 720,
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
    config, as_pandas = _config(data, labels, options, cache_dir)
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

    from dashboard.web.app import create_app

    server = _shared_server("127.0.0.1", port)
    prefix = f"/view-{next(_mounts)}/"
    # Errors name where the table came from: the YAML file, or this call.
    source = str(data) if isinstance(data, (str, os.PathLike)) else "`dashboard.show`"
    app = create_app(parse_config(config, source=source), url_base_pathname=prefix)
    app.dashboard.context.jobs.warm()
    server.mounts[prefix] = app.server
    view = NotebookView(server.url(prefix), app, height, as_pandas, prefix)
    if display:
        _display(view)
    return view


def _display(view: NotebookView) -> None:
    """Show the page in the cell's output, or print its address where HTML cannot show."""
    try:
        from IPython import get_ipython
    except ImportError:
        get_ipython = None
    shell = get_ipython() if get_ipython is not None else None
    if shell is not None and type(shell).__name__ == "ZMQInteractiveShell":
        from IPython.display import display

        display(view)  # text/html for front ends that render it, text/plain (the address) else
    else:
        # A terminal or a script: the page cannot show here; its address is the output.
        print(repr(view))


def _config(
    data: Any,
    labels: Any,
    options: dict[str, Any],
    cache_dir: str | os.PathLike[str] | None,
) -> tuple[dict[str, Any], bool]:
    """The config mapping for ``data``, and whether the data came as pandas."""
    roles = {k: v for k, v in options.items() if v is not None}
    if isinstance(data, (str, os.PathLike)):
        path = Path(data).expanduser()
        if path.suffix.lower() in (".yaml", ".yml"):
            if roles:
                raise ConfigError(
                    f"`{next(iter(roles))}`: a YAML config names its tables' columns itself\n"
                    f"set it in {str(path)!r}, or pass a table instead of the config"
                )
            config = load_config(path).model_dump(mode="json", exclude_none=True)
            return _with_cache(config, cache_dir), False
        if not path.exists():
            raise DataError(
                f"`data`: {str(path)!r} does not exist\n"
                "pass a frame, an array, a run directory, a table file or a YAML config"
            )
        table = {"path": str(path.resolve()), **roles}
        return _with_cache({"tables": {path.stem or TABLE: table}}, cache_dir), False
    if labels is not None and not isinstance(data, np.ndarray):
        raise DataError(
            "`labels` goes with an array of vectors only\n"
            "a frame or a Table names its label column: `label=`"
        )
    frame, guessed, as_pandas = _frame(data, labels)
    table = {**{k: v for k, v in guessed.items() if v}, **roles}
    folder = Path(cache_dir).expanduser() if cache_dir is not None else _cache_folder()
    table["path"] = str(_write_frame(frame, folder / FRAMES_DIR))
    return _with_cache({"tables": {TABLE: table}}, cache_dir), as_pandas


def _with_cache(config: dict[str, Any], cache_dir: Any) -> dict[str, Any]:
    if cache_dir is not None:
        config["cache_dir"] = str(Path(cache_dir).expanduser())
    return config


def _cache_folder() -> Path:
    from dashboard.config import CACHE_ENV

    return Path(os.environ.get(CACHE_ENV) or user_cache_dir())


def _frame(data: Any, labels: Any) -> tuple[pl.DataFrame, dict[str, str | None], bool]:
    """``data`` as a polars frame, the roles guessed from its types, and whether it was a
    pandas frame."""
    from dashboard.writer.table import Table, infer_roles, is_frame

    if isinstance(data, np.ndarray):
        if data.ndim != 2 or data.dtype.kind not in "biuf":
            raise DataError(
                f"`data`: an array must be numeric rows x dims, got {data.dtype} with shape "
                f"{data.shape}\nreshape it to one vector per row"
            )
        columns = {"embedding": pl.Series(np.ascontiguousarray(data, dtype=np.float32))}
        if labels is not None:
            values = list(labels)
            if len(values) != len(data):
                raise DataError(
                    f"`labels` has {len(values)} values for {len(data)} rows\n"
                    "give one label per row"
                )
            columns["label"] = pl.Series([None if v is None else str(v) for v in values])
        frame = pl.DataFrame(columns)
        return frame, infer_roles(frame.schema), False
    if isinstance(data, Table):
        frame = data.to_polars()
        return frame, data.roles(), False
    if is_frame(data):
        as_pandas = not isinstance(data, (pl.DataFrame, pl.LazyFrame))
        table = Table(dataframe=data)
        frame = table.to_polars()
        return frame, infer_roles(frame.schema), as_pandas
    raise DataError(
        f"`data`: cannot show a {type(data).__name__}\n"
        "pass a pandas or polars frame, a dashboard.Table, a numpy array (with `labels=`), "
        "a run directory, a table file or a YAML config"
    )


def _write_frame(frame: pl.DataFrame, folder: Path) -> Path:
    """Write ``frame`` as parquet named by its content: showing the same data again reuses
    the file, and with it every map cached for it."""
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    for name, dtype in frame.schema.items():
        digest.update(f"{name}:{dtype};".encode())
    digest.update(frame.hash_rows(seed=0).to_numpy().tobytes())
    path = folder / f"{digest.hexdigest()[:24]}.parquet"
    if not path.exists():
        atomic_write(path, frame.write_parquet, durable=False)
    return path
