"""One exception hierarchy for everything the dashboard reports to its users.

Messages follow one shape: lowercase, backticked names, ``!r`` values, and the
remedy on its own line, e.g.::

    configs/team.yaml: `projection.reducer`: unknown reducer 'umapp'
    allowed values: 'pca', 'tsne', 'umap'
"""

from __future__ import annotations


class DashboardError(Exception):
    """Base class of every error the dashboard raises on bad input."""


class ConfigError(DashboardError):
    """The YAML config, or a value in it, is invalid."""


class DataError(DashboardError):
    """A table cannot be read, or its columns do not fit the config."""


class PluginError(DashboardError):
    """A plugin is missing, clashes with another, or broke its contract."""


class ReducerError(DashboardError):
    """A reducer got input it cannot reduce, or produced invalid output."""


class BadInputError(DashboardError):
    """A page sent a callback a value that does not fit the callback's schema (a forged
    request, or a page older than the server)."""


class ProjectionGoneError(DashboardError):
    """A map's coordinates are no longer in the projection cache (deleted, or unreadable)."""

    def __init__(self, message: str | None = None):
        super().__init__(
            message
            or "the map is no longer in the projection cache\nchange a control to compute it again"
        )


class JobCancelledError(Exception):
    """Raised inside work whose result nobody wants any more (a newer request replaced it, or
    its time limit passed). Not a :class:`DashboardError`: nothing went wrong with the input,
    so it is never shown as an error."""


def quote_list(values: object) -> str:
    """Render ``values`` as a sorted, comma-separated list of ``repr`` strings.

    Examples
    --------
    >>> quote_list(["umap", "pca"])
    "'pca', 'umap'"
    """
    items = sorted(str(v) for v in values)  # type: ignore[attr-defined]
    return ", ".join(repr(v) for v in items) if items else "(none)"
