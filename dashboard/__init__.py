"""Embedding projector dashboard: YAML config -> Polars tables -> reducer plugins -> Dash maps.

``import dashboard`` loads only the writer API (``init``, ``log``, ``Table``, ...), which
training scripts use: it must not cost them Dash, Flask or plotly. Everything else
(``create_app``, the plugin API) is imported on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from dashboard.errors import (
    ConfigError,
    DashboardError,
    DataError,
    PluginError,
    ReducerError,
)
from dashboard.writer import (
    Image,
    Object3D,
    Run,
    Table,
    create_embedding_image,
    finish,
    init,
    log,
    log_embedding,
)

#: Attributes imported on first use: name -> module.
_LAZY = {
    "create_app": "dashboard.web.app",
    "DashboardConfig": "dashboard.config",
    "load_config": "dashboard.config",
    "hookimpl": "dashboard.plugin",
    "Panel": "dashboard.plugin",
    "PanelContext": "dashboard.plugin",
    "PanelOptions": "dashboard.plugin",
    "Params": "dashboard.plugin",
    "Reducer": "dashboard.plugin",
    "build_registry": "dashboard.plugin",
    "get_plugin_manager": "dashboard.plugin",
    "show": "dashboard.serve.notebook",
    "NotebookView": "dashboard.serve.notebook",
}

if TYPE_CHECKING:
    from dashboard.config import DashboardConfig, load_config
    from dashboard.plugin import (
        Panel,
        PanelContext,
        PanelOptions,
        Params,
        Reducer,
        build_registry,
        get_plugin_manager,
        hookimpl,
    )
    from dashboard.serve.notebook import NotebookView, show
    from dashboard.web.app import create_app


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'dashboard' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


__all__ = [
    "ConfigError",
    "DashboardConfig",
    "DashboardError",
    "DataError",
    "Image",
    "NotebookView",
    "Object3D",
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
    "show",
]
