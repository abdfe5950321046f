"""Reducers: quality on digits (thresholds, not exact coordinates), contract checks, params."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial import procrustes
from sklearn.manifold import trustworthiness
from sklearn.model_selection import cross_val_score
from sklearn.neighbors import KNeighborsClassifier

from dashboard.errors import ReducerError
from dashboard.plugin.reducer import Params, Reducer
from plugins.param_widgets import field_specs
from reducers import umap_layout
from reducers.pca import PCA
from reducers.tsne import TSNE
from reducers.umap import UMAP

BUILTINS = [PCA, UMAP, TSNE]


def knn_accuracy(Y: np.ndarray, labels: np.ndarray) -> float:
    """10-NN label accuracy in the map (5-fold), how well classes stay together."""
    return cross_val_score(KNeighborsClassifier(10), Y, labels, cv=5).mean()


@pytest.mark.parametrize(
    ("cls", "min_trust", "min_knn"),
    [
        pytest.param(UMAP, 0.97, 0.95, marks=pytest.mark.slow),
        pytest.param(TSNE, 0.97, 0.95, marks=pytest.mark.slow),
        (PCA, 0.80, 0.55),
    ],
)
def test_quality_on_digits(digits, cls, min_trust, min_knn):
    X, y = digits
    calls = []
    Y = cls(n_components=2).fit_transform(X, progress=lambda f, m: calls.append(f))
    assert Y.shape == (len(X), 2)
    assert Y.dtype == np.float32
    assert trustworthiness(X, Y, n_neighbors=10) >= min_trust
    assert knn_accuracy(Y, y) >= min_knn
    assert calls[0] == 0.0
    assert calls[-1] == 1.0


@pytest.mark.parametrize("cls", BUILTINS)
def test_three_components(cls):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 8)).astype(np.float32)
    Y = cls(n_components=3).fit_transform(X)
    assert Y.shape == (120, 3)
    assert np.isfinite(Y).all()


@pytest.mark.parametrize("cls", BUILTINS)
def test_non_finite_input_is_refused_naming_rows(cls):
    X = np.ones((20, 4), np.float32)
    X[3, 1] = np.nan
    X[7, 0] = np.inf
    with pytest.raises(
        ReducerError, match=r"NaN or infinite values in 2 of 20 rows \(first rows: \[3, 7\]\)"
    ):
        cls().fit_transform(X)


def test_huge_finite_values_are_not_mistaken_for_inf():
    X = np.random.default_rng(0).normal(size=(20, 4)).astype(np.float32)
    X[5] = 3e38  # the row sums overflow float32; the values are finite
    assert PCA()._check_input(X) is X


def test_input_must_be_two_dimensional():
    with pytest.raises(ReducerError, match=r"pca: input must be a 2-D matrix .*got shape \(10,\)"):
        PCA().fit_transform(np.arange(10.0))


def test_input_must_be_numeric():
    with pytest.raises(ReducerError, match=r"input must be real numbers, got dtype <U1"):
        PCA().fit_transform(np.array([["a", "b"], ["c", "d"]]))


def test_too_few_dims_for_the_map():
    with pytest.raises(
        ReducerError, match=r"a 3D map needs at least 3 embedding dimensions, got 2"
    ):
        PCA(n_components=3).fit_transform(np.ones((10, 2)))


def test_too_few_rows():
    with pytest.raises(ReducerError, match=r"umap: needs at least 5 rows, got 3"):
        UMAP().fit_transform(np.ones((3, 4)))


def test_small_tables_clamp_neighbourhoods(caplog):
    X = np.random.default_rng(0).normal(size=(12, 4))
    assert UMAP({"n_neighbors": 50}).fit_transform(X).shape == (12, 2)
    assert TSNE({"perplexity": 50}).fit_transform(X).shape == (12, 2)
    assert "using 11" in caplog.text


def test_n_components_must_be_2_or_3():
    with pytest.raises(ReducerError, match=r"`n_components` must be 2 or 3, got 4"):
        PCA(n_components=4)


def test_unknown_param_lists_allowed():
    with pytest.raises(
        ReducerError,
        match=r"umap: unknown parameter `n_neigbors`\nallowed parameters: 'n_neighbors'",
    ):
        UMAP({"n_neigbors": 10})


def test_out_of_bounds_param_says_what_is_allowed():
    with pytest.raises(
        ReducerError,
        match=r"umap: `n_neighbors`: input should be less than or equal to 200, got 500",
    ):
        UMAP({"n_neighbors": 500})


def test_wrong_output_shape_is_caught():
    class Broken(Reducer):
        name = "broken"

        def _fit_transform(self, X, progress):
            return X[:, :1]

    with pytest.raises(
        ReducerError, match=r"reducer 'broken' returned shape \(10, 1\), expected \(10, 2\)"
    ):
        Broken().fit_transform(np.ones((10, 4)))


def test_nan_output_is_caught():
    class Nan(Reducer):
        name = "nan"

        def _fit_transform(self, X, progress):
            return np.full((len(X), 2), np.nan)

    with pytest.raises(ReducerError, match=r"reducer 'nan' returned NaN or infinite coordinates"):
        Nan().fit_transform(np.ones((10, 4)))


def test_missing_implementation_is_named():
    class Empty(Reducer):
        name = "empty"

    with pytest.raises(
        ReducerError,
        match=r"reducer 'empty' failed in `fit_transform`: NotImplementedError: reducer 'empty' "
        r"does not implement `_fit_transform`\ntry other params",
    ):
        Empty().fit_transform(np.ones((10, 4)))


def test_params_forbid_extra_keys():
    assert Params.model_config["extra"] == "forbid"


@pytest.mark.parametrize("cls", BUILTINS)
def test_params_describe_every_field_and_bound_numbers(cls):
    for spec in field_specs(cls.Params):
        assert spec["description"], f"{cls.name}.{spec['name']} has no description"
        if spec["kind"] in ("int", "float"):
            assert spec["min"] is not None, f"{cls.name}.{spec['name']} has no lower bound"
            assert spec["max"] is not None, f"{cls.name}.{spec['name']} has no upper bound"


def test_pca_transform_places_new_rows(digits):
    X, _ = digits
    reducer = PCA()
    Y = reducer.fit_transform(X[:1000])
    new = reducer.transform(X[1000:1010])
    assert new.shape == (10, 2)
    assert Y.dtype == new.dtype == np.float32
    # A table's last row group may hold one row, or none.
    np.testing.assert_allclose(reducer.transform(X[1000:1001]), new[:1], rtol=1e-5)
    assert reducer.transform(X[:0]).shape == (0, 2)


def test_transform_needs_a_fit_and_support():
    with pytest.raises(ReducerError, match=r"pca: cannot place new rows before `fit_transform`"):
        PCA().transform(np.ones((3, 4)))
    with pytest.raises(ReducerError, match=r"tsne: cannot place new rows\nfit the rows together"):
        TSNE().transform(np.ones((3, 4)))


@pytest.mark.slow
def test_opentsne_path_keeps_quality_and_reports_progress(digits):
    X, y = digits
    X, y = X[:800], y[:800]
    seen = []
    reducer = TSNE({"method": "opentsne", "max_iter": 500})
    Y = reducer.fit_transform(X, progress=lambda f, m: seen.append((f, m)))
    assert type(reducer.model_).__module__.startswith("openTSNE")
    assert trustworthiness(X, Y, n_neighbors=10) >= 0.97
    # On 800 rows both implementations separate classes less well than on all 1797.
    reference = TSNE({"method": "sklearn", "max_iter": 500}).fit_transform(X)
    assert knn_accuracy(Y, y) >= knn_accuracy(reference, y) - 0.03
    iterations = [m for _, m in seen if "iteration" in m]
    assert iterations[:2] == [
        "t-SNE (exact forces): iteration 0 of 500",
        "t-SNE (exact forces): iteration 10 of 500, clusters exaggerated",
    ]
    assert iterations[-1] == "t-SNE (exact forces): iteration 500 of 500, settling"
    assert [f for f, _ in seen] == sorted(f for f, _ in seen)  # progress only moves forward


@pytest.mark.slow
@pytest.mark.parametrize(("dims", "how"), [(2, "FFT"), (3, "Barnes-Hut"), (3, "exact forces")])
def test_every_tsne_force_method_keeps_quality(digits, monkeypatch, dims, how):
    """Above `EXACT_ROWS` openTSNE approximates the forces (FFT in 2D, Barnes-Hut in 3D) and
    above `EXACT_KNN_ROWS` its own index finds the neighbours: small limits here send 600
    digits down each path."""
    import reducers.tsne as module

    X, y = digits[0][:600], digits[1][:600]
    if how != "exact forces":
        monkeypatch.setattr(module, "EXACT_ROWS", 100)
        monkeypatch.setattr(module, "EXACT_KNN_ROWS", 100)
    seen = []
    Y = TSNE({"max_iter": 500}, n_components=dims).fit_transform(
        X, progress=lambda f, m: seen.append(m)
    )
    assert Y.shape == (600, dims)
    assert any(m.startswith(f"t-SNE ({how}): iteration 500 of 500") for m in seen)
    assert trustworthiness(X, Y, n_neighbors=10) >= 0.97
    assert knn_accuracy(Y, y) >= 0.9


def test_tsne_stops_when_progress_raises(digits):
    """A cancelled job raises from its progress callback: openTSNE's loop ends there."""
    from dashboard.errors import JobCancelledError

    def progress(fraction: float, message: str) -> None:
        if "iteration 20 " in message:
            raise JobCancelledError("cancelled")

    with pytest.raises(JobCancelledError, match="cancelled"):
        TSNE({"max_iter": 5000}).fit_transform(digits[0][:300], progress=progress)


def test_umap_passes_epochs_and_picks_an_init_the_table_supports(monkeypatch):
    import contextlib
    import sys
    import types

    calls = []

    class FakeUMAP:
        def __init__(self, **kwargs):
            calls.append(kwargs)

        def fit_transform(self, X):
            return np.zeros((X.shape[0], 2), np.float32) + np.arange(X.shape[0])[:, None]

    monkeypatch.setitem(sys.modules, "umap", types.SimpleNamespace(UMAP=FakeUMAP))
    monkeypatch.setattr(umap_layout, "faster_layout", lambda progress: contextlib.nullcontext())
    small = np.random.default_rng(0).normal(size=(200, 4)).astype(np.float32)
    UMAP().fit_transform(small)
    UMAP({"n_epochs": 300}).fit_transform(small)
    UMAP().fit_transform(small[:12])
    assert [c["n_epochs"] for c in calls] == [None, 300, None]  # None: umap-learn's default
    assert [c["init"] for c in calls] == ["spectral", "spectral", "random"]


@pytest.mark.slow
def test_numba_caches_follow_the_apps_folder(tmp_path, monkeypatch):
    """Each app names its compile cache (`numba_cache_dir:`); no process-wide first-wins."""
    import umap  # noqa: F401  (its compiled functions are the ones pointed)

    import reducers.numba_cache as module
    from reducers.numba_cache import default_numba_cache, enable_numba_cache

    try:
        assert enable_numba_cache(tmp_path / "one") > 10
        assert enable_numba_cache(tmp_path / "one") == 0  # already there: nothing to do
        assert enable_numba_cache(tmp_path / "two") > 10
        from umap.umap_ import smooth_knn_dist

        assert str(tmp_path / "two") in smooth_knn_dist._cache._cache_path
    finally:
        enable_numba_cache(default_numba_cache())
    assert module._cache_dir == str(default_numba_cache())


@pytest.mark.slow
@pytest.mark.parametrize("method", ["sklearn", "opentsne"])
def test_tsne_seeds_draw_different_maps_of_equal_quality(digits, method):
    # Both libraries start from a PCA layout and descend without randomness: the seed
    # did nothing until it shook that start.
    X = digits[0][:400]
    params = {"method": method, "max_iter": 300}
    first = TSNE({**params, "random_state": 1}).fit_transform(X)
    again = TSNE({**params, "random_state": 1}).fit_transform(X)
    other = TSNE({**params, "random_state": 2}).fit_transform(X)
    pca_start = TSNE(params).fit_transform(X)
    np.testing.assert_allclose(first, again, atol=1e-3)  # a seed draws its map again
    for a, b in ((first, other), (first, pca_start)):
        # Other maps beyond a rotation, reflection or scale (before, exactly the same);
        # digits are well separated, so the clusters stay where they were.
        _, _, disparity = procrustes(a, b)
        assert disparity > 2e-4
    for Y in (first, other):
        assert trustworthiness(X, Y, n_neighbors=10) >= 0.97


def test_pca_of_a_large_table_fits_a_sample_and_places_every_row():
    """Above `fit_rows` the components come from a seeded sample: the map is the full
    fit's to within sampling noise (up to each axis' sign), and every row is placed."""
    rng = np.random.default_rng(3)
    centres = rng.normal(0, 3, (8, 40))
    X = (centres[rng.integers(0, 8, 30_000)] + rng.normal(size=(30_000, 40))).astype("f4")
    seen = []
    sampled = PCA({"fit_rows": 3_000}).fit_transform(X, progress=lambda f, m: seen.append(m))
    full = PCA({"fit_rows": 0}).fit_transform(X)
    assert sampled.shape == (30_000, 2)
    assert "PCA: components of 3,000 sampled rows of 30,000" in seen
    for axis in range(2):
        r = np.corrcoef(sampled[:, axis], full[:, axis])[0, 1]
        assert abs(r) > 0.995  # 0.998 here from a 10% sample
    np.testing.assert_array_equal(sampled, PCA({"fit_rows": 3_000}).fit_transform(X))
