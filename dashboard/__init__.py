"""Embedding projector dashboard: YAML config -> Polars tables -> reducer plugins -> Dash maps."""

from dashboard.app import create_app
from dashboard.config import DashboardConfig, load_config
from dashboard.errors import (
    ConfigError,
    DashboardError,
    DataError,
    PluginError,
    ReducerError,
)
from dashboard.hookspecs import hookimpl
from dashboard.panel import Panel, PanelContext, PanelOptions
from dashboard.plugin_manager import build_registry, get_plugin_manager
from dashboard.reducer import Params, Reducer

__all__ = [
    "ConfigError",
    "DashboardConfig",
    "DashboardError",
    "DataError",
    "Panel",
    "PanelContext",
    "PanelOptions",
    "Params",
    "PluginError",
    "Reducer",
    "ReducerError",
    "build_registry",
    "create_app",
    "get_plugin_manager",
    "hookimpl",
    "load_config",
]
