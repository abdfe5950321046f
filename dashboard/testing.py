"""Conformance checks for plugin authors (:func:`check_reducer`, :func:`check_panel`); they
live in :mod:`dashboard.plugin.testing`."""

from dashboard.plugin.testing import (
    PluginConformanceError,
    Report,
    check_panel,
    check_reducer,
    planted_clusters,
)

__all__ = ["PluginConformanceError", "Report", "check_panel", "check_reducer", "planted_clusters"]
