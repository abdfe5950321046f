"""The public plugin API: the only part of ``dashboard`` a panel or reducer plugin imports.

Built-in panels and reducers use nothing else (a test checks it), so a third-party plugin can
do whatever a built-in does.

- Hooks: :data:`hookimpl` marks a plugin's functions (see :mod:`dashboard.plugin.hookspecs`).
- Reducers: :class:`Reducer`, :class:`Params`, :data:`Progress`.
- Panels: :class:`Panel`, :class:`PanelOptions`, :class:`PanelContext` (the app's services:
  projections, coordinates, computed colours, image URLs), :class:`DerivedColumn`, the
  page's store ids, :func:`action` (to change the view) and :func:`focus_attributes` (to make
  a list row a way back to the map), :class:`Projection` and :class:`ProjectionRequest`,
  the schemas of the stores' values (:class:`Rows`, :class:`Highlight`, :class:`Focus`,
  :class:`RequestValue`) and :func:`checked`, which holds a callback's arguments to them,
  :class:`Dataset`, :class:`Memo` (a thread-safe cache).
- Submodules, imported by name: :mod:`dashboard.plugin.components` (``alert``,
  ``card_header``), :mod:`dashboard.plugin.figures` (colours, legends, typed arrays),
  :mod:`dashboard.plugin.analysis` (the dashboard's measures), :mod:`dashboard.plugin.testing`
  (conformance checks).
"""

from dashboard.data.dataset import Dataset
from dashboard.errors import (
    BadInputError,
    ConfigError,
    DashboardError,
    DataError,
    JobCancelledError,
    PluginError,
    ProjectionGoneError,
    ReducerError,
)
from dashboard.plugin.context import PanelContext
from dashboard.plugin.hookspecs import hookimpl
from dashboard.plugin.manager import Registry, build_registry, get_plugin_manager
from dashboard.plugin.memo import Memo
from dashboard.plugin.panel import (
    ACTION_TYPE,
    FILTER_STORE,
    FOCUS_STORE,
    HIGHLIGHT_STORE,
    MAPS_STORE,
    MEASURES_STORE,
    MESSAGES_STORE,
    PROJECTION_STORE,
    REQUEST_STORE,
    RINGS_TYPE,
    SEARCH_STORE,
    SELECTION_STORE,
    VIEW_STORE,
    VIEW_TYPE,
    DerivedColumn,
    Panel,
    PanelOptions,
    action,
    focus_attributes,
)
from dashboard.plugin.reducer import Params, Progress, Reducer, run_progress
from dashboard.plugin.stores import LINK_ROWS, Focus, Highlight, RequestValue, Rows, checked
from dashboard.projection.request import Projection, ProjectionRequest, SampleSummary

__all__ = [
    "ACTION_TYPE",
    "FILTER_STORE",
    "FOCUS_STORE",
    "HIGHLIGHT_STORE",
    "LINK_ROWS",
    "MAPS_STORE",
    "MEASURES_STORE",
    "MESSAGES_STORE",
    "PROJECTION_STORE",
    "REQUEST_STORE",
    "RINGS_TYPE",
    "SEARCH_STORE",
    "SELECTION_STORE",
    "VIEW_STORE",
    "VIEW_TYPE",
    "BadInputError",
    "ConfigError",
    "DashboardError",
    "DataError",
    "Dataset",
    "DerivedColumn",
    "Focus",
    "Highlight",
    "JobCancelledError",
    "Memo",
    "Panel",
    "PanelContext",
    "PanelOptions",
    "Params",
    "PluginError",
    "Progress",
    "Projection",
    "ProjectionGoneError",
    "ProjectionRequest",
    "Reducer",
    "ReducerError",
    "Registry",
    "RequestValue",
    "Rows",
    "SampleSummary",
    "action",
    "build_registry",
    "checked",
    "focus_attributes",
    "get_plugin_manager",
    "hookimpl",
    "run_progress",
]
