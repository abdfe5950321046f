"""Principal components with numpy alone: the PCA reducer's exact solver and the PCA the
neighbour-graph reducers run first.

scikit-learn's PCA computes the same components, but importing ``sklearn.decomposition``
(and with it scipy) took 2 s of every fresh process's first map here, more than the fit of
100,000 x 768 rows (0.9 s). Tall tables take the covariance route (one ``X.T @ X`` a chunk
of centred rows at a time, then ``eigh`` of a dims x dims matrix); wide ones an SVD of the
centred rows. Signs follow scikit-learn's convention (each component's largest entry is
positive), so maps keep their orientation from one version to the next.
"""

from __future__ import annotations

import numpy as np

from dashboard.data.matrix_file import row_blocks

#: Rows centred and multiplied at a time: bounds the copies (65,536 x 768 float32: 200 MB).
CHUNK = 65_536


class PrincipalComponents:
    """The ``n_components`` directions of largest variance of a float matrix.

    Parameters
    ----------
    n_components
        How many components to keep (at most the rows and the columns of the fitted matrix).
    whiten
        Scale each component of :meth:`transform`'s output to unit variance.

    Attributes
    ----------
    components_ : ndarray (n_components, dims)
        Unit vectors, largest variance first.
    mean_ : ndarray (dims,)
        The fitted rows' mean (float64).
    explained_variance_, explained_variance_ratio_ : ndarray (n_components,)
        Each component's variance, and its share of the total.
    """

    def __init__(self, n_components: int, *, whiten: bool = False) -> None:
        self.n_components = n_components
        self.whiten = whiten

    def fit(self, X: np.ndarray) -> PrincipalComponents:
        """Find the components of ``X`` (rows x dims); returns ``self``.

        Raises
        ------
        ValueError
            When ``n_components`` exceeds the rows or the columns of ``X``.
        """
        n, d = X.shape
        k = self.n_components
        if not 1 <= k <= min(n, d):
            raise ValueError(
                f"n_components={k} must be between 1 and min(n_samples, n_features)={min(n, d)}"
            )
        # Passes a block of rows at a time: a matrix mapped from a file bigger than memory
        # is streamed, never held whole (row_blocks lets each block's pages go).
        total = np.zeros(d, dtype=np.float64)
        for _, rows in row_blocks(X, CHUNK):
            total += rows.sum(axis=0, dtype=np.float64)
        self.mean_ = total / n
        mean = self.mean_.astype(X.dtype if X.dtype.kind == "f" else np.float64)
        if n >= d:
            # Centred before multiplying: X.T @ X - n * outer(mean) loses the variance of
            # data far from the origin to float32 cancellation.
            scatter = np.zeros((d, d), dtype=np.float64)
            for _, rows in row_blocks(X, CHUNK):
                rows = rows - mean
                scatter += rows.T @ rows
            values, vectors = np.linalg.eigh(scatter / max(n - 1, 1))
            order = np.argsort(values)[::-1]
            variance = np.clip(values[order], 0.0, None)
            components = vectors[:, order].T
        else:
            centred = np.asarray(X, dtype=np.float64) - self.mean_
            _, singular, components = np.linalg.svd(centred, full_matrices=False)
            variance = singular**2 / max(n - 1, 1)
        total = float(variance.sum())
        components = components[:k]
        biggest = np.argmax(np.abs(components), axis=1)
        components *= np.sign(components[np.arange(k), biggest])[:, None]
        self.components_ = components
        self.explained_variance_ = variance[:k]
        self.explained_variance_ratio_ = variance[:k] / total if total > 0 else variance[:k] * 0
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        """``X`` in component coordinates (float32), a chunk of rows at a time."""
        weights = self.components_.T
        if self.whiten:
            # A component without variance stays at 0 instead of becoming NaN.
            spread = np.sqrt(self.explained_variance_)
            weights = weights / np.where(spread > 0, spread, 1.0)
        dtype = np.float32 if X.dtype == np.float32 else np.float64
        weights = weights.astype(dtype)
        mean = self.mean_.astype(dtype)
        out = np.empty((X.shape[0], self.n_components), dtype=np.float32)
        for start, rows in row_blocks(X, CHUNK):
            # Centred before projecting, as in `fit`: rows far from the origin would lose
            # their spread to cancellation otherwise.
            out[start : start + len(rows)] = (rows - mean) @ weights
        return out

    def fit_transform(self, X: np.ndarray) -> np.ndarray:
        """:meth:`fit`, then :meth:`transform` of the same rows."""
        return self.fit(X).transform(X)
