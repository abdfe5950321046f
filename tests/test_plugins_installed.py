"""Third-party plugins: the example packages pip-installed, listed, checked and served."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from pydantic import Field

from dashboard import Params, Reducer
from dashboard.testing import PluginConformanceError, check_panel, check_reducer
from reducers.pca import PCA
from tests.conftest import with_site

# pip installs the example plugins, and checks panels in whole apps.
pytestmark = pytest.mark.slow


def test_installed_plugins_are_listed_with_their_package(plugin_site):
    out = subprocess.run(
        [sys.executable, "-m", "dashboard", "plugins"],
        env=with_site(plugin_site),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    lines = {line.split()[0]: line.split(None, 1)[1] for line in out.splitlines()[1:]}
    assert lines["isomap"].split() == ["dashboard-isomap", "0.1.0", "reducer", "isomap"]
    assert lines["label-counts"].split() == [
        "dashboard-label-counts",
        "0.1.0",
        "panel",
        "label-counts",
    ]
    assert lines["pca"].split() == ["built-in", "reducer", "pca"]


def test_the_installed_plugins_pass_the_conformance_checks(plugin_site):
    code = (
        "from dashboard.testing import check_panel, check_reducer\n"
        "from dashboard_isomap.reducer import Isomap\n"
        "from dashboard_label_counts.panel import LabelCountsPanel\n"
        "print(check_reducer(Isomap).measured['trustworthiness_2d'])\n"
        "print(check_panel(LabelCountsPanel).measured['callbacks'])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=with_site(plugin_site),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    trust, callbacks = out.stdout.split()
    assert float(trust) > 0.9
    assert int(callbacks) == 1


def test_a_built_in_reducer_and_panel_conform():
    report = check_reducer(PCA)
    assert report.measured["trustworthiness_2d"] > 0.9
    from plugins.gallery import GalleryPanel

    assert check_panel(GalleryPanel).measured["callbacks"] >= 1


class BrokenParams(Params):
    k: int = Field(3)  # no description


class Broken(Reducer):
    name = "Broken Reducer"
    title = ""
    Params = BrokenParams

    def _fit_transform(self, X, progress):
        return np.zeros((len(X), 2))  # every point in one place: a useless map


def test_the_conformance_check_lists_every_broken_rule():
    with pytest.raises(PluginConformanceError) as caught:
        check_reducer(Broken)
    message = str(caught.value)
    assert message.startswith("reducer 'Broken Reducer' breaks the plugin contract:\n")
    assert "- `name` must be lowercase letters, digits, `-` or `_`, got 'Broken Reducer'" in message
    assert "- `title` must be set" in message
    assert "- param `k` has no `description`" in message

    class Useless(Broken):
        name = "useless"
        title = "Useless"
        Params = Params

    with pytest.raises(PluginConformanceError, match=r"2D trustworthiness on planted clusters"):
        check_reducer(Useless)


BUILT_IN_OPTIONS = {
    "compare": {"tables": ["t", "t"]},
    "timeline": {"steps": ["t", "t"]},
}


@pytest.mark.parametrize(
    "name",
    [
        "controls",
        "scatter",
        "search",
        "filter",
        "neighbors",
        "gallery",
        "table",
        "faithfulness",
        "contrast",
        "outliers",
        "compare",
        "timeline",
    ],
)
def test_every_built_in_panel_passes_its_conformance_check(name):
    from dashboard.plugin.manager import build_registry, get_plugin_manager

    cls = build_registry(get_plugin_manager(load_entry_points=False)).panels[name]
    report = check_panel(cls, BUILT_IN_OPTIONS.get(name))
    assert report.measured["callbacks"] >= 1


def test_a_panel_whose_callback_or_layout_raises_fails_its_check():
    from tests.faulty_plugins import CrashingCallback, CrashingLayout

    with pytest.raises(
        PluginConformanceError,
        match=r"callback `crashing-callback-1-out.children` raised "
        r"ValueError\(\"this panel's callback is broken\"\)",
    ):
        check_panel(CrashingCallback)
    with pytest.raises(
        PluginConformanceError,
        match=r'building an app with the panel failed: KeyError\("no such column',
    ):
        check_panel(CrashingLayout)
