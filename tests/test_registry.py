"""Plugin manager and registry: built-ins via hooks, entry points, clashes, opt-outs."""

from __future__ import annotations

import re
import types
from pathlib import Path

import pluggy
import pytest

from dashboard import Panel, Reducer, hookimpl
from dashboard.errors import ConfigError, PluginError
from dashboard.plugin import hookspecs
from dashboard.plugin import manager as pm_module
from dashboard.plugin.manager import DEFAULT_PLUGINS, build_registry, get_plugin_manager

ROOT = Path(__file__).resolve().parents[1]


class FakeEntryPoint:
    def __init__(self, name: str, load):
        self.name = name
        self.value = f"fake_{name}:plugin"
        self._load = load

    def load(self):
        return self._load()


def plugin_module(name: str, **hooks) -> types.ModuleType:
    module = types.ModuleType(name)
    for hook_name, fn in hooks.items():
        setattr(module, hook_name, hookimpl(fn))
    return module


def make_reducer(reducer_name: str) -> type[Reducer]:
    return type("Fake", (Reducer,), {"name": reducer_name, "title": reducer_name})


@pytest.fixture
def fake_entry_points(monkeypatch):
    eps: list[FakeEntryPoint] = []
    monkeypatch.setattr(pm_module, "entry_points", lambda group: list(eps))
    return eps


def test_builtins_register_through_the_hooks():
    registry = build_registry(get_plugin_manager(load_entry_points=False))
    assert {"pca", "umap", "tsne"} <= set(registry.reducers)
    assert {"controls", "scatter"} <= set(registry.panels)
    assert registry.providers[("reducer", "umap")] == "umap"
    assert registry.providers[("panel", "scatter")] == "scatter"


def test_each_call_builds_a_fresh_manager():
    assert get_plugin_manager(load_entry_points=False) is not get_plugin_manager(
        load_entry_points=False
    )


@pytest.mark.slow
def test_app_start_does_not_import_umap(demo_config):
    import subprocess
    import sys

    code = (
        "import sys; from dashboard import create_app; "
        f"create_app({str(demo_config)!r}); "
        "print('umap' in sys.modules, 'numba' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False False"


def test_disable_plugins_blocks_a_builtin():
    registry = build_registry(get_plugin_manager(["umap"], load_entry_points=False))
    assert "umap" not in registry.reducers
    assert "pca" in registry.reducers


def test_disabling_an_unknown_plugin_lists_the_names():
    with pytest.raises(ConfigError, match=r"unknown plugin 'umpa'\nallowed values: .*'umap'"):
        get_plugin_manager(["umpa"], load_entry_points=False)


def test_entry_point_plugin_is_registered(fake_entry_points):
    module = plugin_module("svd_plugin", dashboard_reducers=lambda: [make_reducer("svd")])
    fake_entry_points.append(FakeEntryPoint("svd-plugin", lambda: module))
    registry = build_registry(get_plugin_manager())
    assert "svd" in registry.reducers
    assert registry.providers[("reducer", "svd")] == "svd-plugin"


def test_broken_entry_point_is_warned_about_and_skipped(fake_entry_points):
    def boom():
        raise ImportError("no module named 'missing_dep'")

    fake_entry_points.append(FakeEntryPoint("broken", boom))
    with pytest.warns(RuntimeWarning, match=r"skipping plugin 'broken' .*missing_dep"):
        pm = get_plugin_manager()
    assert "pca" in build_registry(pm).reducers


def test_entry_point_can_be_disabled(fake_entry_points):
    module = plugin_module("svd_plugin", dashboard_reducers=lambda: [make_reducer("svd")])
    fake_entry_points.append(FakeEntryPoint("svd-plugin", lambda: module))
    registry = build_registry(get_plugin_manager(["svd-plugin"]))
    assert "svd" not in registry.reducers


def test_duplicate_names_fail_naming_both_providers(fake_entry_points):
    module = plugin_module("my_pca", dashboard_reducers=lambda: [make_reducer("pca")])
    fake_entry_points.append(FakeEntryPoint("my-pca", lambda: module))
    with pytest.raises(
        PluginError,
        match=r"reducer name 'pca' is provided by both 'pca' and 'my-pca'\n.*disable_plugins",
    ):
        build_registry(get_plugin_manager())


def test_duplicate_panel_names_fail(fake_entry_points):
    panel = type("Other", (Panel,), {"name": "scatter"})
    module = plugin_module("other", dashboard_panels=lambda: [panel])
    fake_entry_points.append(FakeEntryPoint("other", lambda: module))
    with pytest.raises(PluginError, match=r"panel name 'scatter' is provided by both"):
        build_registry(get_plugin_manager())


def test_hook_returning_a_non_class_is_refused(fake_entry_points):
    module = plugin_module("bad", dashboard_reducers=lambda: ["pca"])
    fake_entry_points.append(FakeEntryPoint("bad", lambda: module))
    with pytest.raises(PluginError, match=r"plugin 'bad' returned 'pca' from `dashboard_reducers`"):
        build_registry(get_plugin_manager())


def test_misspelt_hook_is_caught(fake_entry_points):
    module = plugin_module("typo", dashboard_reducer=lambda: [])
    fake_entry_points.append(FakeEntryPoint("typo", lambda: module))
    with pytest.raises(pluggy.PluginValidationError, match=r"dashboard_reducer"):
        get_plugin_manager()


def test_scan_table_hook_first_result_wins(tmp_path):
    import polars as pl

    frame = pl.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]}).lazy()
    module = plugin_module(
        "mem", dashboard_scan_table=lambda source: frame if source == "mem://x" else None
    )
    pm = get_plugin_manager(load_entry_points=False)
    pm.register(module, name="mem")
    assert pm.hook.dashboard_scan_table(source="mem://x", cache_dir=tmp_path) is frame
    assert pm.hook.dashboard_scan_table(source="other.parquet", cache_dir=tmp_path) is None


def test_every_hook_is_documented_and_tested():
    hooks = [name for name in dir(hookspecs) if name.startswith("dashboard_")]
    guide = (ROOT / "docs" / "plugins.md").read_text()
    listed = re.search(r"members: \[(dashboard_[^\]]*)\]", guide)
    assert listed, "the plugin guide lists no hooks"
    tests = (ROOT / "tests" / "test_registry.py").read_text()
    for hook in hooks:
        assert hook in listed.group(1), f"{hook} missing from docs/plugins.md"
        assert "Example" in (getattr(hookspecs, hook).__doc__ or ""), f"{hook} has no example"
        assert re.search(rf"\b{hook}\b", tests), f"{hook} has no test"


def test_default_plugins_are_importable_modules():
    import importlib

    for _, module in DEFAULT_PLUGINS:
        assert importlib.import_module(module)


def test_hooks_are_called_through_pluggy_so_a_wrapper_can_change_what_they_return():
    from dashboard.plugin.hookspecs import PROJECT

    wrapper = pluggy.HookimplMarker(PROJECT)

    class HidesTSNE:
        @wrapper(wrapper=True)
        def dashboard_reducers(self):
            groups = yield
            return [[cls for cls in group if cls.name != "tsne"] for group in groups]

    pm = get_plugin_manager(load_entry_points=False)
    pm.register(HidesTSNE(), name="hides-tsne")
    registry = build_registry(pm)
    assert "tsne" not in registry.reducers
    assert registry.providers[("reducer", "umap")] == "umap"  # still attributed


def test_dashboard_cluster_labels_is_called_through_pluggy_first_answer_wins():
    from dashboard.plugin import hookimpl

    class Silent:
        @hookimpl
        def dashboard_cluster_labels(self, table, clusters, metadata):
            return None

    class Namer:
        @hookimpl
        def dashboard_cluster_labels(self, table, clusters, metadata):
            return {c: f"{table} {c}" for c in clusters}

    pm = get_plugin_manager(load_entry_points=False)
    pm.register(Namer(), name="namer")
    pm.register(Silent(), name="silent")
    registry = build_registry(pm)
    names = registry.cluster_labels(table="t", clusters={0: [1, 2], 3: [4]}, metadata=None)
    assert names == {0: "t 0", 3: "t 3"}
