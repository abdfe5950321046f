"""The guard around the UMAP reducer's replacements of library functions."""

from __future__ import annotations

import sys
import threading
import types

import pytest

from reducers.umap_patch import GuardedPatch


@pytest.fixture
def library(monkeypatch):
    """A stand-in library module with one function, as umap-learn's callers look it up."""
    module = types.ModuleType("fake_library")

    def f(a, b=1):
        return "theirs"

    module.f = f
    monkeypatch.setitem(sys.modules, "fake_library", module)
    return module


def make_patch(expected=("a", "b"), ours=None):
    def replacement(a, b=1):
        if not patch.active():
            return patch.original(a, b)
        try:
            return (ours or (lambda: "ours"))()
        except Exception as exc:
            return patch.fallback(exc)(a, b)

    patch = GuardedPatch("fake_library", "f", replacement, expected, "fake-library")
    return patch


def test_ours_runs_only_inside_the_block_and_in_this_thread(library):
    patch = make_patch()
    with patch.enabled(note="kept") as installed:
        assert installed
        assert library.f(1) == "ours"
        assert patch.get("note") == "kept"
        seen = []
        other = threading.Thread(target=lambda: seen.append(library.f(1)))
        other.start()
        other.join()
        assert seen == ["theirs"]
    assert library.f(1) == "theirs"
    assert patch.get("note") is None


def test_a_library_function_with_other_parameters_is_left_alone(library, caplog):
    patch = make_patch(expected=("a", "c"))
    with caplog.at_level("WARNING", logger="reducers.umap_patch"):
        with patch.enabled() as installed:
            assert not installed
            assert library.f(1) == "theirs"
        assert not patch.install()
    assert library.f.__name__ == "f"  # never replaced
    (warning,) = [r.getMessage() for r in caplog.records]
    assert "keeping fake-library's own `fake_library.f`" in warning
    assert "its parameters are ('a', 'b'), not the ('a', 'c') ours was written for" in warning


def test_a_failing_replacement_falls_back_once_and_for_good(library, caplog):
    calls = []

    def broken():
        calls.append("ours")
        raise RuntimeError("changed helper")

    patch = make_patch(ours=broken)
    with caplog.at_level("WARNING", logger="reducers.umap_patch"), patch.enabled():
        assert library.f(1) == "theirs"  # repeated with the library's function
        assert library.f(2) == "theirs"  # ours is not tried again
    assert calls == ["ours"]
    assert patch.failed == "RuntimeError('changed helper')"
    (warning,) = [r.getMessage() for r in caplog.records]
    assert "our `fake_library.f` failed with fake-library" in warning
