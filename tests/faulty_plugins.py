"""Plugins that misbehave on purpose, for the fault-isolation tests."""

from __future__ import annotations

import os
import threading
import time
from typing import Any

import numpy as np
from dash import Dash, Input, Output, html

from dashboard import Panel, Reducer, hookimpl
from dashboard.plugin import Params

#: Set by the stalling reducer when its progress report stopped it (the time limit passed).
STALL_STOPPED = threading.Event()


class Explodes(Reducer):
    name = "explodes"
    title = "Explodes"

    def _fit_transform(self, X, progress):
        raise RuntimeError("boom inside the plugin")


class Stalls(Reducer):
    name = "stalls"
    title = "Stalls"

    def _fit_transform(self, X, progress):
        try:
            while True:  # never finishes, but reports progress like a well-behaved loop
                progress(0.5, "Stalls: still going")
                threading.Event().wait(0.05)
        except BaseException:
            STALL_STOPPED.set()
            raise


class GivesNaN(Reducer):
    name = "gives-nan"
    title = "Gives NaN"

    def _fit_transform(self, X, progress):
        out = np.zeros((len(X), self.n_components), dtype=np.float32)
        out[0, 0] = np.nan
        return out


class WrongShape(Reducer):
    name = "wrong-shape"
    title = "Wrong shape"

    def _fit_transform(self, X, progress):
        return np.zeros((len(X) - 1, 2), dtype=np.float32)


class Aborts(Reducer):
    """A native crash: the process ends with SIGABRT (as a segfaulting library would)."""

    name = "aborts"
    title = "Aborts"

    def _fit_transform(self, X, progress):
        os.abort()


class Hangs(Reducer):
    """Never reports progress and never finishes (a stuck native loop)."""

    name = "hangs"
    title = "Hangs"

    def _fit_transform(self, X, progress):
        time.sleep(3600)


class SlowParams(Params):
    seconds: float = 3.0


class Slow(Reducer):
    """Takes ``seconds``, reporting progress, then returns a fair map (the first columns)."""

    name = "slow"
    title = "Slow"
    Params = SlowParams

    def _fit_transform(self, X, progress):
        start = time.monotonic()
        while (spent := time.monotonic() - start) < self.params.seconds:
            progress(spent / self.params.seconds, "Slow: working")
            time.sleep(0.05)
        return np.ascontiguousarray(X[:, : self.n_components], dtype=np.float32)


class CrashingCallback(Panel):
    name = "crashing-callback"

    def layout(self) -> Any:
        return html.Div(
            [html.Button("Crash", id=self.id("go")), html.Div(id=self.id("out"))],
            className="crashing-panel",
        )

    def register_callbacks(self, app: Dash) -> None:
        @app.callback(
            Output(self.id("out"), "children"),
            Input(self.id("go"), "n_clicks"),
            prevent_initial_call=True,
        )
        def go(n_clicks: Any) -> Any:
            raise ValueError("this panel's callback is broken")


class CrashingLayout(Panel):
    name = "crashing-layout"

    def layout(self) -> Any:
        raise KeyError("no such column in the plugin's layout")


@hookimpl
def dashboard_reducers():
    return [Explodes, Stalls, GivesNaN, WrongShape, Aborts, Hangs, Slow]


@hookimpl
def dashboard_panels():
    return [CrashingCallback, CrashingLayout]
