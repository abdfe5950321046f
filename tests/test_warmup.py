"""The reducers' background warm-up at a worker's start (dashboard.projection.warmup)."""

from __future__ import annotations

import subprocess
import sys
import threading

import numpy as np
import pytest

from dashboard.errors import JobCancelledError
from dashboard.plugin import Reducer
from dashboard.projection.warmup import WarmUp, marker

release = threading.Event()
calls: list[str] = []


class Slow(Reducer):
    name = "slow"
    title = "Slow"

    def warm_up(self) -> None:
        calls.append(f"slow:{self.cache_dir.name}")
        release.wait(10)

    def _fit_transform(self, X, progress):
        return np.zeros((len(X), 2), np.float32)


class Broken(Slow):
    name = "broken"

    def warm_up(self) -> None:
        calls.append("broken")
        raise RuntimeError("no compiler here")


class Plain(Slow):
    name = "plain"
    warm_up = Reducer.warm_up  # nothing to compile


def in_a_thread(reducer, cache_dir) -> bool:
    """The warm-up run here (the app runs each in a new process)."""
    try:
        reducer(cache_dir=cache_dir).warm_up()
    except Exception:
        return False
    return True


@pytest.fixture(autouse=True)
def _reset():
    release.clear()
    calls.clear()
    yield
    release.set()


def test_only_reducers_with_code_to_compile_are_warmed():
    assert Slow.compiles()
    assert Broken.compiles()
    assert not Plain.compiles()
    assert [r.name for r in WarmUp([Plain, Slow], None).reducers] == ["slow"]


def test_a_map_waits_for_its_reducers_warm_up_and_says_why(tmp_path):
    warm_up = WarmUp([Broken, Slow, Plain], tmp_path, in_a_thread)
    assert warm_up.cold("slow")
    warm_up.start()
    seen: list[str] = []

    def progress(fraction: float, text: str) -> None:
        seen.append(text)
        if len(seen) == 2:
            release.set()  # the warm-up ends while the map waits

    warm_up.wait("plain", progress)  # nothing to compile: no wait
    assert seen == []
    warm_up.wait("slow", progress)
    assert seen[0] == "Slow: compiling once for this machine (later maps skip this)"
    assert calls == ["broken", f"slow:{tmp_path.name}"]  # a failing warm-up does not stop it
    # Only a warm-up that ended well is remembered.
    assert marker(tmp_path, Slow).exists()
    assert not marker(tmp_path, Broken).exists()
    again = WarmUp([Broken, Slow], tmp_path)
    assert not again.cold("slow")
    assert again.cold("broken")


def test_a_second_start_loads_and_a_cancelled_map_stops_waiting(tmp_path):
    marker(tmp_path, Slow).parent.mkdir(parents=True)
    marker(tmp_path, Slow).touch()
    warm_up = WarmUp([Slow], tmp_path, in_a_thread)
    warm_up.start()
    seen: list[str] = []

    def cancelled(fraction: float, text: str) -> None:
        seen.append(text)
        raise JobCancelledError("job 1 was cancelled")

    with pytest.raises(JobCancelledError, match="job 1 was cancelled"):
        warm_up.wait("slow", cancelled)
    assert seen == ["Slow: loading its compiled code"]


def test_the_marker_follows_the_reducers_code(tmp_path):
    before = marker(tmp_path, Slow)
    assert before == marker(tmp_path, Slow)
    assert before.parent == tmp_path / "warm-up"
    assert before != marker(tmp_path, Broken)


@pytest.mark.slow
def test_built_in_warm_ups_fill_the_compile_cache(tmp_path):
    """In a new process (code compiled earlier in this one would not be written again),
    t-SNE's warm-up leaves its compiled forces in the given folder."""
    code = "import sys; from reducers.tsne import TSNE; TSNE(cache_dir=sys.argv[1]).warm_up()"
    subprocess.run([sys.executable, "-c", code, str(tmp_path)], check=True, timeout=300)
    assert {p.name.split(".")[0] for p in tmp_path.rglob("*.nbi")} >= {"tsne_exact"}
    from reducers.numba_cache import default_numba_cache
    from reducers.umap import UMAP

    UMAP(cache_dir=default_numba_cache()).warm_up()  # the shared cache: loads, or compiles once


def test_the_server_warms_up_in_a_process_of_its_own(tmp_path):
    """A warm-up in a thread of the worker raced a map's imports of scikit-learn (a PCA map
    failed with "partially initialized module"): each runs in a new Python."""
    from dashboard.projection.warmup import _warm_in_a_process

    assert _warm_in_a_process(Plain, tmp_path) is True
    assert _warm_in_a_process(Broken, tmp_path) is False
    assert calls == []  # neither ran in this process
