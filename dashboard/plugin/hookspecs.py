"""The hooks that plugins implement; built-ins implement them too (see DEFAULT_PLUGINS).

Every hook carries the project prefix ``dashboard_``; :func:`pluggy.PluginManager.check_pending`
rejects an implementation whose name matches no hook here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from pathlib import Path

    import numpy as np
    import polars as pl

    from dashboard.plugin.panel import Panel
    from dashboard.plugin.reducer import Reducer

PROJECT = "embedding_dashboard"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def dashboard_reducers() -> Iterable[type[Reducer]]:
    """Return reducer classes; each ``name`` must be unique across plugins (YAML `reducer:`).

    Example
    -------
    .. code-block:: python

        from sklearn.decomposition import TruncatedSVD
        from dashboard.plugin import Params, Reducer, hookimpl

        class SVD(Reducer):
            name = "svd"
            Params = Params

            def _fit_transform(self, X, progress):
                return TruncatedSVD(self.n_components).fit_transform(X)

        @hookimpl
        def dashboard_reducers():
            return [SVD]
    """


@hookspec
def dashboard_panels() -> Iterable[type[Panel]]:
    """Return panel classes; each ``name`` is the YAML `type:` of a panel and must be unique.

    Example
    -------
    .. code-block:: python

        from dash import html
        from dashboard.plugin import Panel, hookimpl

        class Notes(Panel):
            name = "notes"

            def layout(self):
                return html.P("Projected with the team's config.")

        @hookimpl
        def dashboard_panels():
            return [Notes]
    """


@hookspec(firstresult=True)
def dashboard_scan_table(source: str, cache_dir: Path) -> pl.LazyFrame | None:
    """Open a table source that the built-in file readers do not know; else return None.

    The first plugin that returns a LazyFrame wins. ``cache_dir`` is where a plugin may
    materialise data it has to build or fetch once.

    Example
    -------
    .. code-block:: python

        import polars as pl
        from dashboard.plugin import hookimpl

        @hookimpl
        def dashboard_scan_table(source, cache_dir):
            if source.startswith("duckdb://"):
                return pl.read_database_uri(...).lazy()
            return None
    """


@hookspec(firstresult=True)
def dashboard_cluster_labels(
    table: str, clusters: Mapping[int, np.ndarray], metadata: pl.DataFrame
) -> Mapping[int, str] | None:
    """Name a map's clusters better than keywords do (e.g. with an LLM the team runs).

    ``clusters`` maps each cluster's number (0, 1, ...) to its rows (row numbers of
    ``metadata``, the table's metadata columns: label, text, ids and the rest). Return names
    for some or all clusters, or None; the first plugin that returns names wins, and the
    clusters it leaves out are named as without it (keywords of the text column, else the
    most common label). The names are cached with the map.

    Example
    -------
    .. code-block:: python

        from dashboard.plugin import hookimpl

        @hookimpl
        def dashboard_cluster_labels(table, clusters, metadata):
            texts = metadata["text"]
            return {c: summarise(texts.gather(rows[:50]).to_list())
                    for c, rows in clusters.items()}
    """
