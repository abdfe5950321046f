"""The exact t-SNE forces against openTSNE's Barnes-Hut with no approximation (theta=0)."""

from __future__ import annotations

import numpy as np
import pytest
from openTSNE import affinity
from openTSNE.tsne import kl_divergence_bh

from reducers.tsne_exact import kl_divergence_exact, negative_gradient


@pytest.mark.parametrize("dims", [2, 3])
def test_matches_barnes_hut_without_approximation(dims):
    rng = np.random.default_rng(dims)
    X = rng.normal(size=(400, 10)).astype(np.float32)
    P = affinity.PerplexityBasedNN(X, 20, method="exact").P
    Y = rng.normal(scale=5.0, size=(400, dims))
    kl_bh, grad_bh = kl_divergence_bh(Y, P, 1, {"theta": 0.0}, should_eval_error=True)
    kl, grad = kl_divergence_exact(Y, P, 1, should_eval_error=True)
    assert kl == pytest.approx(kl_bh, rel=1e-5)
    np.testing.assert_allclose(grad, grad_bh, atol=1e-6 * np.abs(grad_bh).max())
    assert kl_divergence_exact(Y, P, 1)[0] is None  # the error only when asked


def test_refuses_what_it_does_not_compute():
    Y = np.zeros((5, 4))
    with pytest.raises(ValueError, match=r"need 2 or 3 dimensions, got \(5, 4\)"):
        negative_gradient(Y)
    with pytest.raises(ValueError, match=r"support dof=1 on the whole embedding only"):
        kl_divergence_exact(np.zeros((5, 2)), None, 0.5)
