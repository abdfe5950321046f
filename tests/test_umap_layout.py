"""The UMAP reducer's faster layout loop: same quality as umap-learn's, stoppable, scoped."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from sklearn.manifold import trustworthiness

from dashboard.errors import ReducerError
from reducers import umap_layout
from reducers.umap import UMAP


def _umap_learn_fit(X: np.ndarray, n_components: int = 2) -> np.ndarray:
    import umap

    return umap.UMAP(n_components=n_components).fit_transform(X)


@pytest.mark.slow
@pytest.mark.parametrize("n_components", [2, 3])
def test_maps_are_as_trustworthy_as_umap_learns_own_layout(digits, n_components):
    X, _ = digits
    calls: list[float] = []
    ours = UMAP(n_components=n_components).fit_transform(X, progress=lambda f, m: calls.append(m))
    theirs = _umap_learn_fit(X, n_components)
    trust_ours = trustworthiness(X, ours, n_neighbors=10)
    trust_theirs = trustworthiness(X, theirs, n_neighbors=10)
    assert trust_ours >= 0.97
    assert abs(trust_ours - trust_theirs) < 0.01, (trust_ours, trust_theirs)
    # The layout reported its epochs (digits: umap-learn's 500).
    assert "UMAP: layout, epoch 500 of 500" in calls


@pytest.mark.slow
def test_only_unseeded_fits_in_the_calling_thread_use_the_fast_loop(monkeypatch):
    import umap.umap_

    umap_layout._PATCH.install()
    rng = np.random.default_rng(0)
    start = rng.uniform(0, 10, (50, 2)).astype(np.float32)
    head = np.repeat(np.arange(50), 3).astype(np.int32)
    tail = rng.integers(0, 50, 150).astype(np.int32)
    args = (30, 50, rng.uniform(1, 5, 150), 1.58, 0.9, np.array([1, 2, 3], dtype=np.int64))
    ran: list[tuple[str, str]] = []

    def spy(name: str, function):
        def call(*a, **k):
            ran.append((name, threading.current_thread().name))
            return function(*a, **k)

        return call

    monkeypatch.setattr(umap_layout, "_optimize", spy("ours", umap_layout._optimize))
    monkeypatch.setattr(
        umap_layout._PATCH, "original", spy("umap-learn", umap_layout._PATCH.original)
    )

    def layout(parallel: bool) -> np.ndarray:
        emb = start.copy()
        return umap.umap_.optimize_layout_euclidean(
            emb, emb, head, tail, *args, parallel=parallel, move_other=True
        )

    layout(parallel=True)  # outside the block
    with umap_layout.faster_layout():
        layout(parallel=False)  # seeded: umap-learn's loop, exactly reproducible
        ours = layout(parallel=True)
        other = threading.Thread(target=lambda: layout(parallel=True), name="other")
        other.start()
        other.join()
    main = threading.current_thread().name
    assert ran == [
        ("umap-learn", main),
        ("umap-learn", main),
        ("ours", main),
        ("umap-learn", "other"),
    ]
    assert np.isfinite(ours).all()
    assert not np.allclose(ours, start)  # the points moved


@pytest.mark.slow
def test_a_progress_call_that_raises_stops_the_layout(digits):
    X, _ = digits
    epochs: list[int] = []

    def progress(fraction: float, message: str) -> None:
        if "layout, epoch" in message:
            epochs.append(int(message.split("epoch ")[1].split()[0]))
            if epochs[-1] >= 30:
                raise ReducerError("stop here")

    with pytest.raises(ReducerError, match="stop here"):
        UMAP().fit_transform(X, progress=progress)
    assert epochs == [10, 20, 30]


@pytest.mark.slow
def test_transform_still_places_new_rows_among_their_digit(digits):
    X, y = digits
    reducer = UMAP()
    fitted = reducer.fit_transform(X[:1500])
    placed = reducer.transform(X[1500:])
    assert placed.shape == (len(X) - 1500, 2)
    # Each new row's nearest fitted point shows the same digit, for most rows.
    nearest = ((placed[:, None, :] - fitted[None, :, :]) ** 2).sum(-1).argmin(1)
    assert (y[:1500][nearest] == y[1500:]).mean() > 0.9
    # One row alone is placed as well (a table's last row group may hold one).
    one = reducer.transform(X[1500:1501])
    assert one.shape == (1, 2)
    assert y[:1500][((one - fitted) ** 2).sum(-1).argmin()] == y[1500]


@pytest.mark.parametrize("b", [0.5, 0.7915, 0.895, 1.0, 1.577])
def test_the_power_table_matches_numpy_within_1e_4(b):
    import numba

    @numba.njit
    def powers(x: np.ndarray, table: np.ndarray) -> np.ndarray:
        out = np.empty((x.shape[0], 2), dtype=np.float32)
        for i in range(x.shape[0]):
            out[i, 0], out[i, 1] = umap_layout._powers(x[i], table)
        return out

    # Squared distances from far below to far above any map's (all finite as float32).
    x = np.geomspace(1e-30, 1e15, 300_001).astype(np.float32)
    got = powers(x, umap_layout.power_table(b)).astype(np.float64)
    for column, power in enumerate((b, b - 1)):
        exact = x.astype(np.float64) ** power
        normal = exact > np.finfo(np.float32).tiny  # float32 underflows below
        assert normal.sum() > 200_000
        assert np.abs(got[normal, column] / exact[normal] - 1).max() < 1e-4, power


@pytest.mark.slow
def test_if_our_loop_fails_umap_learns_runs_from_the_same_start(digits, monkeypatch, caplog):
    """The guard's fallback: a broken loop (say, after a numba upgrade) costs speed, not maps."""
    X, _ = digits

    def broken(*args, **kwargs):
        raise RuntimeError("a helper changed")

    monkeypatch.setattr(umap_layout, "_optimize", broken)
    monkeypatch.setattr(umap_layout._PATCH, "failed", None)  # restored after the test
    with caplog.at_level("WARNING", logger="reducers.umap_patch"):
        first = UMAP().fit_transform(X[:600])
        second = UMAP().fit_transform(X[600:1200])
    assert trustworthiness(X[:600], first, n_neighbors=10) > 0.95
    assert np.isfinite(second).all()
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1  # logged once, not once per fit
    assert "failed with umap-learn 0.5" in warnings[0]
    assert "RuntimeError('a helper changed')" in warnings[0]
