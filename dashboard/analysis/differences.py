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

from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy import stats

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
    values on a side) are left out."""
    selected = np.zeros(meta.height, dtype=bool)
    selected[np.asarray(rows, dtype=np.int64)] = True
    found = []
    for column in columns:
        series = meta.get_column(column)
        if series.dtype.is_numeric() and not _few_integers(series):
            difference = _numeric(column, series, selected)
        else:
            difference = _categorical(column, series, selected)
        if difference is not None:
            found.append(difference)
    return sorted(found, key=lambda d: d.strength, reverse=True)


def _few_integers(series: pl.Series) -> bool:
    # Integer codes with few values (a class id) read better as categories.
    return series.dtype.is_integer() and series.n_unique() <= 24


def _numeric(column: str, series: pl.Series, selected: np.ndarray) -> Difference | None:
    values = series.cast(pl.Float64).to_numpy()
    finite = np.isfinite(values)
    inside, outside = values[selected & finite], values[~selected & finite]
    if len(inside) < 2 or len(outside) < 2:
        return None
    pooled = np.sqrt(
        ((len(inside) - 1) * inside.var(ddof=1) + (len(outside) - 1) * outside.var(ddof=1))
        / (len(inside) + len(outside) - 2)
    )
    if pooled == 0:
        return None
    d = (inside.mean() - outside.mean()) / pooled
    p = stats.mannwhitneyu(inside, outside).pvalue
    summary = f"mean {inside.mean():.4g} in the selection, {outside.mean():.4g} in the rest"
    return Difference(column, "Cohen's d", float(d), "Mann-Whitney U", float(p), summary)


def _categorical(column: str, series: pl.Series, selected: np.ndarray) -> Difference | None:
    text = series.cast(pl.String).fill_null("(missing)").to_numpy()
    values, codes = np.unique(text, return_inverse=True)
    if not 2 <= len(values) <= MAX_CATEGORIES or selected.all() or not selected.any():
        return None
    table = np.stack(
        [
            np.bincount(codes[selected], minlength=len(values)),
            np.bincount(codes[~selected], minlength=len(values)),
        ]
    )
    table = table[:, table.sum(axis=0) > 0]
    chi2, p, _, _ = stats.chi2_contingency(table, correction=False)
    v = float(np.sqrt(chi2 / table.sum()))
    share_in = np.bincount(codes[selected], minlength=len(values)) / selected.sum()
    share_out = np.bincount(codes[~selected], minlength=len(values)) / (~selected).sum()
    top = int(np.argmax(share_in - share_out))
    summary = (
        f"{values[top]!r} is {share_in[top]:.0%} of the selection, {share_out[top]:.0%} of the rest"
    )
    return Difference(column, "Cramér's V", v, "chi-squared", float(p), summary)
