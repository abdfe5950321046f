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
from dashboard.image import Image, create_embedding_image
from dashboard.log import Run, finish, init, log, log_embedding
from dashboard.panel import Panel, PanelContext, PanelOptions
from dashboard.plugin_manager import build_registry, get_plugin_manager
from dashboard.reducer import Params, Reducer
from dashboard.table import Table

__all__ = [
    "ConfigError",
    "DashboardConfig",
    "DashboardError",
    "DataError",
    "Image",
    "Panel",
    "PanelContext",
    "PanelOptions",
    "Params",
    "PluginError",
    "Reducer",
    "ReducerError",
    "Run",
    "Table",
    "build_registry",
    "create_app",
    "create_embedding_image",
    "finish",
    "get_plugin_manager",
    "hookimpl",
    "init",
    "load_config",
    "log",
    "log_embedding",
]
