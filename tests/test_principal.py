"""The numpy PCA (dashboard.analysis.principal) against scikit-learn's."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.decomposition import PCA

from dashboard.plugin.analysis import PrincipalComponents


@pytest.mark.parametrize(
    ("rows", "dims", "whiten"), [(2_000, 64, False), (2_000, 64, True), (12, 40, False)]
)
def test_same_components_signs_and_coordinates_as_scikit_learn(rows, dims, whiten):
    # Tall tables take the covariance route, wide ones (12 x 40) the SVD of the rows.
    rng = np.random.default_rng(0)
    X = (rng.normal(size=(rows, dims)) * np.linspace(5, 0.1, dims)).astype(np.float32)
    ours = PrincipalComponents(3, whiten=whiten).fit(X)
    theirs = PCA(3, whiten=whiten, svd_solver="full").fit(X)
    np.testing.assert_allclose(ours.components_, theirs.components_, atol=1e-4)
    np.testing.assert_allclose(
        ours.explained_variance_ratio_, theirs.explained_variance_ratio_, rtol=1e-4
    )
    coords = ours.transform(X)
    assert coords.dtype == np.float32
    np.testing.assert_allclose(coords, theirs.transform(X), rtol=1e-3, atol=1e-3)


def test_rows_far_from_the_origin_keep_their_spread():
    # Centred before multiplying: an offset of 1e4 on unit-spread float32 data would leave
    # X.T @ X - n * mean**2 with nothing but rounding.
    rng = np.random.default_rng(1)
    spread = rng.normal(size=(5_000, 8)) * [3, 2, 1, 1, 1, 1, 1, 1]
    X = (spread + 1e4).astype(np.float32)
    coords = PrincipalComponents(2).fit_transform(X)
    assert abs(np.corrcoef(coords[:, 0], spread[:, 0])[0, 1]) > 0.99
    assert abs(np.corrcoef(coords[:, 1], spread[:, 1])[0, 1]) > 0.99


def test_a_constant_component_whitens_to_zero_not_nan():
    X = np.zeros((50, 3), dtype=np.float32)
    X[:, 0] = np.arange(50)
    coords = PrincipalComponents(2, whiten=True).fit_transform(X)
    assert np.isfinite(coords).all()
    assert np.allclose(coords[:, 1], 0)
    assert np.isclose(coords[:, 0].std(ddof=1), 1, rtol=1e-4)


def test_more_components_than_rows_or_columns_is_refused():
    with pytest.raises(ValueError, match=r"n_components=3 must be between 1 and .*=2"):
        PrincipalComponents(3).fit(np.ones((10, 2), dtype=np.float32))
