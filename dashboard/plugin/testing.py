"""Conformance checks for plugin authors: does a reducer or panel class keep the contract?

Use them in your plugin's own tests::

    from dashboard.testing import check_panel, check_reducer
    from my_reducers.svd import SVD

    def test_svd_conforms():
        check_reducer(SVD)

Each check raises :class:`PluginConformanceError` listing every broken rule, and returns a
short report of what it measured (e.g. the reducer's trustworthiness on planted clusters).
The data is generated here: no download.
"""

from __future__ import annotations

import re
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError

from dashboard.errors import DashboardError
from dashboard.plugin.hookspecs import hookimpl
from dashboard.plugin.panel import Panel, PanelOptions
from dashboard.plugin.reducer import Params, Reducer

NAME = re.compile(r"^[a-z][a-z0-9_-]*$")


class PluginConformanceError(AssertionError):
    """A plugin class breaks the contract; the message lists every broken rule."""


@dataclass
class Report:
    """What a check found: broken rules (empty when it conforms) and what it measured."""

    plugin: str
    problems: list[str] = field(default_factory=list)
    measured: dict[str, Any] = field(default_factory=dict)

    def fail_if_broken(self) -> Report:
        if self.problems:
            rules = "\n".join(f"- {p}" for p in self.problems)
            raise PluginConformanceError(f"{self.plugin} breaks the plugin contract:\n{rules}")
        return self


def planted_clusters(
    n: int = 400, d: int = 24, k: int = 4, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """``k`` well separated Gaussian clusters in ``d`` dims (float32) and their labels."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % k
    centres = rng.normal(0, 8, (k, d))
    X = centres[labels] + rng.normal(0, 1, (n, d))
    return X.astype(np.float32), labels


def _start(kind: str, cls: Any, base: type) -> Report:
    """A report on ``cls`` with the rules every plugin class shares checked: it subclasses
    ``base`` (else the check stops here) and its ``name`` has the allowed form."""
    report = Report(f"{kind} {getattr(cls, 'name', cls)!r}")
    if not (isinstance(cls, type) and issubclass(cls, base)):
        report.problems.append(f"must subclass `dashboard.{base.__name__}`")
        report.fail_if_broken()
    if not NAME.match(cls.name or ""):
        report.problems.append(
            f"`name` must be lowercase letters, digits, `-` or `_`, got {cls.name!r}"
        )
    return report


def _check_params(cls: type[Reducer], report: Report) -> None:
    params = getattr(cls, "Params", None)
    if not (isinstance(params, type) and issubclass(params, Params)):
        report.problems.append("`Params` must subclass `dashboard.Params`")
        return
    try:
        params()
    except ValidationError as exc:
        report.problems.append(f"`Params()` must work with defaults only: {exc.errors()[0]}")
    for name, info in params.model_fields.items():
        if not info.description:
            report.problems.append(
                f"param `{name}` has no `description` (the UI shows it as the control's help)"
            )
    try:
        cls.validate_params({"no_such_param": 1})
        report.problems.append("an unknown param must be refused (keep `extra='forbid'`)")
    except DashboardError:
        pass


def check_reducer(
    cls: type[Reducer], *, min_trustworthiness: float = 0.8, n_neighbors: int = 10
) -> Report:
    """Check a reducer class against the contract, and its quality on planted clusters.

    Rules: subclasses ``Reducer``; ``name`` is lowercase (letters, digits, ``-``, ``_``) and
    ``title`` is set; ``Params`` has defaults and a description for every field and refuses
    unknown keys; ``fit_transform`` gives finite ``(n, 2)`` and ``(n, 3)`` float32 maps of
    ``min_rows`` rows and of 400 rows in 24 dims whose trustworthiness is at least
    ``min_trustworthiness``; with ``supports_transform``, ``transform`` places new rows.

    Raises
    ------
    PluginConformanceError
        Listing every broken rule.
    """
    from sklearn.manifold import trustworthiness

    report = _start("reducer", cls, Reducer)
    if not cls.title:
        report.problems.append("`title` must be set: the reducer list shows it")
    _check_params(cls, report)
    if report.problems:
        return report.fail_if_broken()
    X, _ = planted_clusters()
    for dims in (2, 3):
        start = time.perf_counter()
        try:
            Y = cls(n_components=dims).fit_transform(X)
        except Exception as exc:  # the report names what any failure was
            report.problems.append(f"`fit_transform` failed in {dims}D: {exc!r}")
            continue
        report.measured[f"seconds_{dims}d"] = round(time.perf_counter() - start, 3)
        if Y.shape != (len(X), dims) or Y.dtype != np.float32:
            report.problems.append(f"{dims}D map has shape {Y.shape} {Y.dtype}, not (400, {dims})")
            continue
        score = float(trustworthiness(X, Y, n_neighbors=n_neighbors))
        report.measured[f"trustworthiness_{dims}d"] = round(score, 4)
        if score < min_trustworthiness:
            report.problems.append(
                f"{dims}D trustworthiness on planted clusters is {score:.3f}, below "
                f"{min_trustworthiness}"
            )
    smallest = max(cls.min_rows, 3)
    try:
        Y = cls().fit_transform(X[:smallest])
        if Y.shape != (smallest, 2):
            report.problems.append(f"a {smallest}-row table gave shape {Y.shape}")
    except DashboardError:
        pass  # a clear refusal of a tiny table is allowed
    except Exception as exc:  # the report names what any failure was
        report.problems.append(f"`min_rows` = {smallest} rows crashed: {exc!r}")
    if cls.supports_transform:
        reducer = cls()
        reducer.fit_transform(X)
        try:
            placed = reducer.transform(X[:10] + 0.01)
            if placed.shape != (10, 2) or not np.isfinite(placed).all():
                report.problems.append(f"`transform` gave {placed.shape}, not finite (10, 2)")
        except Exception as exc:  # the report names what any failure was
            report.problems.append(f"`supports_transform` is set but `transform` failed: {exc!r}")
    return report.fail_if_broken()


def check_panel(cls: type[Panel], options: dict[str, Any] | None = None) -> Report:
    """Check a panel class: it validates, lays out, registers its callbacks and answers each
    of them, in a real app built over a small generated table (``table`` ``t``: vector
    column ``vec``, columns ``label``, ``score``, ``text``, ``id``), with the page's stores
    holding a computed map, a selection of five rows and two ringed rows.

    Unlike the served app, nothing here contains the panel's failures: a layout or a
    callback that raises is a broken rule. (Background callbacks are counted, not run.)

    Raises
    ------
    PluginConformanceError
        Listing every broken rule.
    """
    import polars as pl

    from dashboard.plugin.manager import get_plugin_manager
    from dashboard.plugin.panel import HIGHLIGHT_STORE, PROJECTION_STORE, SELECTION_STORE
    from dashboard.web.app import create_app
    from dashboard.web.assemble import prepare
    from dashboard.web.drive import CallbackDriver

    report = _start("panel", cls, Panel)
    if not (isinstance(cls.Options, type) and issubclass(cls.Options, PanelOptions)):
        report.problems.append("`Options` must subclass `dashboard.plugin.PanelOptions`")
    if report.problems:
        return report.fail_if_broken()
    X, labels = planted_clusters(60, 5)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "t.parquet"
        pl.DataFrame(
            {
                "id": np.arange(len(X)),
                "vec": X,
                "label": [f"c{c}" for c in labels],
                "score": np.linspace(0, 1, len(X)),
                "text": [f"item {i}" for i in range(len(X))],
            }
        ).write_parquet(path)
        pm = get_plugin_manager()
        if cls not in {c for group in pm.hook.dashboard_panels() for c in group}:
            pm.register(_SinglePanel(cls), name=f"check-{cls.name}")
        config = {
            "tables": {"t": {"path": str(path), "label": "label", "text": "text", "id": "id"}},
            "cache_dir": str(Path(folder) / "cache"),
            "panels": [{"type": "scatter"}, {"type": cls.name, **(options or {})}],
        }
        try:
            app = create_app(config, plugin_manager=pm, isolate_panels=False)
            context = prepare(config, plugin_manager=pm).context
            projection = context.project(context.initial_request)
        except Exception as exc:  # the report names what any failure was
            report.problems.append(f"building an app with the panel failed: {exc!r}")
            return report.fail_if_broken()
        app.server.config["PROPAGATE_EXCEPTIONS"] = True  # a raising callback raises here
        page = {
            (PROJECTION_STORE, "data"): projection.to_store(),
            (SELECTION_STORE, "data"): {"table": "t", "rows": [0, 1, 2, 3, 4]},
            (HIGHLIGHT_STORE, "data"): {"table": "t", "rows": [5, 6], "label": "check"},
        }
        try:
            driver = CallbackDriver(app, page)
        except AssertionError as exc:
            report.problems.append(str(exc))
            return report.fail_if_broken()
        prefix = f"{cls.name}-1-"
        mine = driver.callbacks(
            lambda c: any(i.startswith(prefix) or '"panel":1' in i for i in c.ids())
        )
        report.measured["callbacks"] = len(mine)
        report.measured["background_callbacks"] = sum(c.background for c in mine)
        for callback in mine:
            if callback.background:
                continue
            try:
                response = driver.call(callback)
            except Exception as exc:  # the report names what any failure was
                report.problems.append(f"callback `{callback.key}` raised {exc!r}")
                continue
            if response.status_code not in (200, 204):  # 204: PreventUpdate
                report.problems.append(
                    f"callback `{callback.key}` answered HTTP {response.status_code}"
                )
    return report.fail_if_broken()


class _SinglePanel:
    """A plugin object offering one panel class (for a class not registered by a plugin)."""

    def __init__(self, cls: type[Panel]):
        self.cls = cls

    @hookimpl
    def dashboard_panels(self) -> list[type[Panel]]:
        return [self.cls]


__all__ = ["PluginConformanceError", "Report", "check_panel", "check_reducer", "planted_clusters"]
