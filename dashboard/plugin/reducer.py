"""The reducer contract: a named class with pydantic ``Params`` that maps (n, d) to (n, 2|3)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError

from dashboard.data.matrix_file import row_blocks
from dashboard.errors import DashboardError, JobCancelledError, ReducerError

#: ``progress(fraction, message)``: fraction in [0, 1]; reducers call it as work advances.
Progress = Callable[[float, str], None]


class Params(BaseModel):
    """Base of reducer parameters. Field bounds and descriptions become the UI controls."""

    model_config = ConfigDict(extra="forbid")


def _no_progress(fraction: float, message: str) -> None:
    return None


class Reducer:
    """Base class of dimensionality reducers.

    Subclasses set :attr:`name`, :attr:`title`, :attr:`Params` and implement
    :meth:`_fit_transform`. The constructor only stores parameters; the checks on input and
    output live in :meth:`fit_transform`, so every reducer gets them.

    Parameters
    ----------
    params
        A ``Params`` instance, or a mapping validated against ``Params``.
    n_components
        2 or 3.
    cache_dir
        A directory the reducer may keep compiled code or other reusable artefacts in (the
        dashboard passes its per-user compile cache); None: the reducer's own default.
    """

    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    Params: ClassVar[type[Params]] = Params
    supports_transform: ClassVar[bool] = False
    #: Fewest rows the method can work with.
    min_rows: ClassVar[int] = 3
    #: Widest embedding the method can map (None: any); the page offers it only for
    #: embeddings this narrow.
    max_dims: ClassVar[int | None] = None
    #: Neighbour-graph methods (UMAP, t-SNE) run faster, and as well, on a PCA of wide
    #: embeddings: the app reduces to `projection.pca_dims` first when this is set.
    pca_first: ClassVar[bool] = False
    #: Tables with more rows are fitted on a sample of this many (`projection.sample`);
    #: None: the method copes with any size (PCA).
    sample_above: ClassVar[int | None] = None
    #: :meth:`fit_aligned` lays out row-matched steps (a timeline) together; the timeline
    #: panel then offers the method ``aligned_<name>``.
    supports_alignment: ClassVar[bool] = False
    #: The parameter that seeds a fit (UMAP's and t-SNE's ``random_state``): maps of other
    #: seeds differ, and the stability check (:meth:`fit_runs`) fits some to compare with.
    #: None: the method draws the same map on every run (PCA), so there is nothing to
    #: compare.
    seed_param: ClassVar[str | None] = None

    def __init__(
        self,
        params: Params | Mapping[str, Any] | None = None,
        *,
        n_components: int = 2,
        cache_dir: str | Path | None = None,
    ):
        if n_components not in (2, 3):
            raise ReducerError(f"`n_components` must be 2 or 3, got {n_components!r}")
        self.n_components = n_components
        self.params = self.validate_params(params)
        self.cache_dir = None if cache_dir is None else Path(cache_dir)

    def warm_up(self) -> None:
        """Compile what a first fit would compile (numba's code, kept in :attr:`cache_dir`),
        so that a machine's first map does not wait for it.

        A server's reducer worker runs this at its start, in a new process of
        low priority; a map asked for meanwhile waits for it and says so. The default does
        nothing: override it in reducers whose first fit compiles code.
        """

    @classmethod
    def compiles(cls) -> bool:
        """Whether the class overrides :meth:`warm_up` (it has code to compile)."""
        return cls.warm_up is not Reducer.warm_up

    @classmethod
    def validate_params(cls, params: Params | Mapping[str, Any] | None) -> Params:
        """Return ``params`` validated against :attr:`Params`.

        Raises
        ------
        ReducerError
            Naming the parameter, the bad value and the allowed ones.
        """
        if isinstance(params, cls.Params):
            return params
        try:
            return cls.Params.model_validate(dict(params or {}))
        except ValidationError as exc:
            raise ReducerError(describe_params_error(cls, exc)) from None

    def fit_transform(self, X: Any, *, progress: Progress | None = None) -> np.ndarray:
        """Fit to ``X`` (n, d) and return its (n, n_components) float32 coordinates.

        Raises
        ------
        ReducerError
            If ``X`` is not a finite 2-D numeric matrix with enough rows and columns, or the
            reducer returns the wrong shape or non-finite values.
        """
        X = self._check_input(X)
        report = progress or _no_progress
        report(0.0, f"{self.title or self.name}: fitting {X.shape[0]:,} x {X.shape[1]:,}")
        with self._named_failures("`fit_transform`"):
            out = self._fit_transform(X, report)
        out = self._check_output(out, X.shape[0])
        report(1.0, f"{self.title or self.name}: done")
        return out

    def transform(self, X: Any) -> np.ndarray:
        """Place new rows on the fitted map (reducers with ``supports_transform``).

        The default calls ``self.model_.transform``: a reducer that wraps an estimator keeps
        it in ``model_`` during :meth:`_fit_transform`.
        """
        model = getattr(self, "model_", None)
        if not self.supports_transform or model is None:
            raise ReducerError(
                f"{self.name}: cannot place new rows"
                + (" before `fit_transform`" if self.supports_transform else "")
                + "\nfit the rows together, or use a reducer that supports `transform`"
            )
        # Any number of rows can be placed on a fitted map: a table's last row group may
        # hold one row.
        X = self._check_input(X, min_rows=0)
        if not len(X):
            return np.empty((0, self.n_components), dtype=np.float32)
        with self._named_failures("`transform`"):
            placed = model.transform(X)
        return self._check_output(placed, X.shape[0])

    def fit_aligned(
        self, matrices: list[np.ndarray], *, progress: Progress | None = None
    ) -> np.ndarray:
        """Lay out row-matched matrices (one per step: row ``i`` is the same item in each)
        as (steps, rows, n_components) maps tied to each other, for reducers with
        :attr:`supports_alignment`.

        Raises
        ------
        ReducerError
            When the reducer cannot, or fails.
        """
        if not self.supports_alignment:
            raise ReducerError(
                f"{self.name}: cannot lay out aligned steps\nuse the `procrustes` method"
            )
        checked = [self._check_input(X) for X in matrices]
        with self._named_failures("`fit_aligned`"):
            out = np.asarray(self._fit_aligned(checked, progress or _no_progress))
        expected = (len(checked), checked[0].shape[0], self.n_components)
        if out.shape != expected or not np.isfinite(out).all():
            raise ReducerError(
                f"reducer {self.name!r} returned aligned maps of shape {out.shape}, expected "
                f"finite {expected}\nthis is a bug in the reducer plugin"
            )
        return out.astype(np.float32, copy=False)

    def fit_runs(self, X: Any, seeds: list[int], *, progress: Progress | None = None) -> np.ndarray:
        """Fit ``X`` once per seed (:attr:`seed_param` set to it, the other params as they
        are): (len(seeds), n, n_components) float32 maps, to compare with each other.

        The default runs :meth:`fit_transform` per seed; a reducer overrides
        :meth:`_fit_runs` to share work between runs (UMAP builds one neighbour graph).

        Raises
        ------
        ReducerError
            When the reducer has no seed, or fails.
        """
        if self.seed_param is None:
            raise ReducerError(
                f"{self.title or self.name}: draws the same map on every run (it has no "
                "seed), so there are no other runs to compare\n"
                "check the stability of a UMAP or t-SNE map"
            )
        X = self._check_input(X)
        report = progress or _no_progress
        with self._named_failures("`fit_runs`"):
            out = np.asarray(self._fit_runs(X, [int(s) for s in seeds], report))
        expected = (len(seeds), X.shape[0], self.n_components)
        if out.shape != expected or not np.isfinite(out).all():
            raise ReducerError(
                f"reducer {self.name!r} returned runs of shape {out.shape}, expected finite "
                f"{expected}\nthis is a bug in the reducer plugin"
            )
        return out.astype(np.float32, copy=False)

    def with_seed(self, seed: int) -> Reducer:
        """A copy of this reducer with :attr:`seed_param` set to ``seed``."""
        assert self.seed_param is not None
        params = self.params.model_copy(update={self.seed_param: seed})
        return type(self)(params, n_components=self.n_components, cache_dir=self.cache_dir)

    def _fit_runs(self, X: np.ndarray, seeds: list[int], progress: Progress) -> np.ndarray:
        runs = []
        for i, seed in enumerate(seeds):
            step = run_progress(progress, i, len(seeds))
            runs.append(self.with_seed(seed).fit_transform(X, progress=step))
        return np.stack(runs)

    def _fit_aligned(self, matrices: list[np.ndarray], progress: Progress) -> np.ndarray:
        raise NotImplementedError(f"reducer {self.name!r} does not implement `_fit_aligned`")

    def _fit_transform(self, X: np.ndarray, progress: Progress) -> np.ndarray:
        raise NotImplementedError(f"reducer {self.name!r} does not implement `_fit_transform`")

    @contextlib.contextmanager
    def _named_failures(self, step: str) -> Iterator[None]:
        """Turn the reducer's own exceptions in ``step`` into a :class:`ReducerError` that
        names it (a plugin bug must reach the user as a message, not as a server error);
        our errors and job cancellations pass through unchanged."""
        try:
            yield
        except (DashboardError, JobCancelledError):
            raise
        except Exception as exc:
            raise ReducerError(
                f"reducer {self.name!r} failed in {step}: {type(exc).__name__}: {exc}\n"
                "try other params; if it persists, report it to the reducer's authors"
            ) from exc

    def _check_input(self, X: Any, *, min_rows: int | None = None) -> np.ndarray:
        X = np.asarray(X)
        if X.ndim != 2:
            raise ReducerError(
                f"{self.name}: input must be a 2-D matrix (rows x dims), got shape {X.shape}\n"
                "pass one vector per row"
            )
        if not np.issubdtype(X.dtype, np.number) or np.iscomplexobj(X):
            raise ReducerError(f"{self.name}: input must be real numbers, got dtype {X.dtype}")
        X = X.astype(np.float32, copy=False)
        n, d = X.shape
        least = self.min_rows if min_rows is None else min_rows
        if n < least:
            raise ReducerError(
                f"{self.name}: needs at least {least} rows, got {n}\n"
                "add rows to the table, or pick another reducer"
            )
        if d < self.n_components:
            raise ReducerError(
                f"{self.name}: a {self.n_components}D map needs at least {self.n_components} "
                f"embedding dimensions, got {d}\n"
                "check the table's `embedding:` columns"
            )
        # One pass of row sums finds any NaN or inf without an n x d mask (768 MB at
        # 1M x 768); only then are the rows checked one by one, in blocks.
        ones = np.ones(d, dtype=np.float32)
        sums = np.empty(n, dtype=np.float32)
        with np.errstate(over="ignore", invalid="ignore"):
            for start, rows in row_blocks(X):  # a block at a time: X may be a mapped file
                sums[start : start + len(rows)] = rows @ ones
        if not np.isfinite(sums).all():
            bad_rows = _non_finite_rows(X)
            if bad_rows.size:  # else a sum overflowed: the values are finite
                raise ReducerError(
                    f"{self.name}: input has NaN or infinite values in {bad_rows.size} of {n} "
                    f"rows (first rows: {bad_rows[:5].tolist()}); values beyond float32's "
                    "range (about ±3.4e38) overflow to infinity when the table is read\n"
                    "drop, impute or rescale those rows before projecting"
                )
        return X

    def _check_output(self, out: Any, n: int) -> np.ndarray:
        out = np.asarray(out)
        expected = (n, self.n_components)
        if out.shape != expected:
            raise ReducerError(
                f"reducer {self.name!r} returned shape {out.shape}, expected {expected}\n"
                "this is a bug in the reducer plugin"
            )
        out = out.astype(np.float32, copy=False)
        if not np.isfinite(out).all():
            raise ReducerError(
                f"reducer {self.name!r} returned NaN or infinite coordinates\n"
                "try other parameters; if it persists, report it to the plugin's authors"
            )
        return out


def run_progress(progress: Progress, run: int, runs: int) -> Progress:
    """``progress`` of run ``run`` (from 0) of ``runs``: its fraction a share of the whole,
    its message prefixed with ``run 2 of 5:``."""

    def report(fraction: float, message: str) -> None:
        progress((run + min(max(fraction, 0.0), 1.0)) / runs, f"run {run + 1} of {runs}: {message}")

    return report


def describe_params_error(reducer: type[Reducer], exc: ValidationError, prefix: str = "") -> str:
    """Explain a params validation error: which parameter, what was wrong, what is allowed."""
    lines = []
    fields = reducer.Params.model_fields
    for err in exc.errors(include_url=False):
        name = str(err["loc"][0]) if err["loc"] else "?"
        where = f"{prefix}{name}"
        if err["type"] == "extra_forbidden":
            lines.append(
                f"{reducer.name}: unknown parameter `{where}`\n"
                f"allowed parameters: {', '.join(repr(f) for f in fields) or '(none)'}"
            )
            continue
        msg = err["msg"][0].lower() + err["msg"][1:]
        lines.append(
            f"{reducer.name}: `{where}`: {msg}, got {err.get('input')!r}\n"
            f"{fields[name].description or 'see the reducer docs'}"
            if name in fields
            else f"{reducer.name}: `{where}`: {msg}"
        )
    return "\n".join(lines)


def _non_finite_rows(X: np.ndarray, block: int = 65_536) -> np.ndarray:
    """Row numbers of ``X`` holding NaN or inf (a float32 row sum can also overflow)."""
    bad = [
        start + np.flatnonzero(~np.isfinite(rows).all(axis=1))
        for start, rows in row_blocks(X, block)
    ]
    return np.concatenate(bad) if bad else np.zeros(0, dtype=np.int64)
