"""What makes a selection different: metadata columns ranked by how much the selected rows
differ from the rest, with an effect size and a test statistic.

- numbers: Cohen's d (difference of means over the pooled standard deviation) and the
  Mann-Whitney U test (no normality assumed);
- categories: Cramér's V of the selected-or-not x value table and its chi-squared test.

Both effect sizes are on the scale where about 0.2 is small and 0.8 (d) or 0.5 (V) is large;
the ranking uses them (with d capped to V's 0-1 range by d / (1 + d)), not p-values, which
shrink with table size alone.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import polars as pl

#: Columns with more distinct values than this are not compared as categories.
MAX_CATEGORIES = 50


@dataclass(frozen=True)
class Difference:
    """How one column differs between the selection and the rest."""

    column: str
    effect_name: str  # "Cohen's d" or "Cramér's V"
    effect: float
    test: str  # "Mann-Whitney U" or "chi-squared"
    p_value: float
    summary: str

    @property
    def strength(self) -> float:
        """The effect on a 0-1 scale, to rank numbers and categories together."""
        size = abs(self.effect)
        return size / (1 + size) if self.effect_name == "Cohen's d" else size


def contrast(meta: pl.DataFrame, rows: np.ndarray, columns: list[str]) -> list[Difference]:
    """Compare the ``rows`` of ``meta`` with the other rows, column by column; strongest
    first. Columns that cannot be compared (one value, too many categories, too few
    values on a side) are left out. To compare many selections of one table, keep a
    :class:`Contrasts` instead."""
    return Contrasts(meta, columns).compare(rows)


class Contrasts:
    """:func:`contrast` for one table, with the work that does not depend on the selection
    (a column's category codes, or its ranks and sums) done once per column, on first use.
    A selection then costs a gather and a few sums per column: at 100k rows, tens of
    milliseconds instead of a sort of every column. Safe to share between threads."""

    def __init__(self, meta: pl.DataFrame, columns: list[str]):
        self.meta = meta
        self.columns = list(columns)
        self._prepared: dict[str, _Numeric | _Categorical | None] = {}
        self._lock = threading.Lock()

    def _column(self, column: str) -> _Numeric | _Categorical | None:
        with self._lock:
            if column not in self._prepared:
                series = self.meta.get_column(column)
                if series.dtype.is_numeric() and not _few_integers(series):
                    self._prepared[column] = _Numeric.of(series)
                else:
                    self._prepared[column] = _Categorical.of(series)
            return self._prepared[column]

    def prepare(self) -> None:
        """Do every column's selection-free work now (the contrast panel does it when a map
        is shown), so that a table's first selection costs what later ones do."""
        for column in self.columns:
            self._column(column)

    def compare(self, rows: np.ndarray) -> list[Difference]:
        """Every comparable column's difference for ``rows``, strongest first."""
        selected = np.zeros(self.meta.height, dtype=bool)
        selected[np.asarray(rows, dtype=np.int64)] = True
        found = []
        for column in self.columns:
            prepared = self._column(column)
            difference = None if prepared is None else prepared.compare(column, selected)
            if difference is not None:
                found.append(difference)
        return sorted(found, key=lambda d: d.strength, reverse=True)


def _few_integers(series: pl.Series) -> bool:
    # Integer codes with few values (a class id) read better as categories.
    return series.dtype.is_integer() and series.n_unique() <= 24


@dataclass(frozen=True)
class _Numeric:
    """A numeric column, centred (variances are shift-free; sums of squares of centred
    values lose no precision to a large mean), with its ranks for Mann-Whitney U."""

    values: np.ndarray  # centred, NaN where missing
    mean: float  # what was taken off
    finite: np.ndarray
    total: float  # sum of the finite centred values
    squares: float  # and of their squares
    ranks: np.ndarray  # average ranks among the finite values (NaN elsewhere)
    ties: float  # sum of t**3 - t over groups of t tied values

    @classmethod
    def of(cls, series: pl.Series) -> _Numeric:
        from scipy import stats  # lazy: 2 s of every server start, for the first contrast

        values = series.cast(pl.Float64).to_numpy().copy()
        finite = np.isfinite(values)
        values[~finite] = np.nan
        mean = float(values[finite].mean()) if finite.any() else 0.0
        values -= mean
        ranks = np.full(len(values), np.nan)
        ranks[finite] = stats.rankdata(values[finite])
        _, counts = np.unique(values[finite], return_counts=True)
        kept = values[finite]
        return cls(
            values,
            mean,
            finite,
            float(kept.sum()),
            float((kept**2).sum()),
            ranks,
            float((counts.astype(np.float64) ** 3 - counts).sum()),
        )

    def compare(self, column: str, selected: np.ndarray) -> Difference | None:
        inside_mask = selected & self.finite
        inside = self.values[inside_mask]
        n1 = len(inside)
        n2 = int(self.finite.sum()) - n1
        if n1 < 2 or n2 < 2:
            return None
        mean_in = inside.mean()
        mean_out = (self.total - inside.sum()) / n2
        var_in = inside.var(ddof=1)
        var_out = max((self.squares - (inside**2).sum() - n2 * mean_out**2) / (n2 - 1), 0.0)
        pooled = np.sqrt(((n1 - 1) * var_in + (n2 - 1) * var_out) / (n1 + n2 - 2))
        if not pooled > 1e-12 * max(1.0, abs(mean_in), abs(mean_out)):
            return None
        d = (mean_in - mean_out) / pooled
        p = self._mann_whitney(inside_mask, n1, n2)
        summary = (
            f"mean {mean_in + self.mean:.4g} in the selection, "
            f"{mean_out + self.mean:.4g} in the rest"
        )
        return Difference(column, "Cohen's d", float(d), "Mann-Whitney U", p, summary)

    def _mann_whitney(self, inside_mask: np.ndarray, n1: int, n2: int) -> float:
        """Two-sided p-value of Mann-Whitney U, as scipy's ``mannwhitneyu`` computes it."""
        from scipy import special, stats

        if min(n1, n2) <= 8 and self.ties == 0:  # scipy's exact test: small, cheap
            inside = self.values[inside_mask]
            outside = self.values[~inside_mask & self.finite]
            return float(stats.mannwhitneyu(inside, outside).pvalue)
        r1 = self.ranks[inside_mask].sum()
        u1 = r1 - n1 * (n1 + 1) / 2
        u = max(u1, n1 * n2 - u1)
        n = n1 + n2
        spread = np.sqrt(n1 * n2 / 12 * ((n + 1) - self.ties / (n * (n - 1))))
        z = (u - n1 * n2 / 2 - 0.5) / spread
        return float(np.clip(2 * special.ndtr(-z), 0.0, 1.0))


@dataclass(frozen=True)
class _Categorical:
    """A column read as categories: sorted names, each row's code, each name's count."""

    values: np.ndarray
    codes: np.ndarray
    counts: np.ndarray

    @classmethod
    def of(cls, series: pl.Series) -> _Categorical | None:
        text = series.cast(pl.String).fill_null("(missing)")
        values = text.unique().sort()
        if not 2 <= len(values) <= MAX_CATEGORIES:
            return None
        codes = (text.rank("dense") - 1).cast(pl.Int64).to_numpy()
        return cls(values.to_numpy(), codes, np.bincount(codes, minlength=len(values)))

    def compare(self, column: str, selected: np.ndarray) -> Difference | None:
        if selected.all() or not selected.any():
            return None
        inside = np.bincount(self.codes[selected], minlength=len(self.values))
        outside = self.counts - inside
        table = np.stack([inside, outside])
        table = table[:, table.sum(axis=0) > 0]
        from scipy import stats

        chi2, p, _, _ = stats.chi2_contingency(table, correction=False)
        v = float(np.sqrt(chi2 / table.sum()))
        share_in = inside / inside.sum()
        share_out = outside / outside.sum()
        top = int(np.argmax(share_in - share_out))
        summary = (
            f"{self.values[top]!r} is {share_in[top]:.0%} of the selection, "
            f"{share_out[top]:.0%} of the rest"
        )
        return Difference(column, "Cramér's V", v, "chi-squared", float(p), summary)
