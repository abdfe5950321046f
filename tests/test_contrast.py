"""What makes a selection different, on data whose answer is planted."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
import yaml
from scipy import stats

from dashboard.analysis.differences import Contrasts, contrast


def planted(n: int = 1000, seed: int = 0) -> tuple[pl.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    rows = np.arange(0, n, 10)  # 10 % selected
    shifted = rng.normal(0, 1, n)
    shifted[rows] += 3.0  # the selection sits 3 standard deviations higher
    kind = np.where(rng.random(n) < 0.5, "a", "b").astype(object)
    kind[rows] = "c"  # only the selection is "c"
    meta = pl.DataFrame(
        {
            "noise": rng.normal(0, 1, n),
            "shifted": shifted,
            "kind": kind.tolist(),
            "coin": rng.integers(0, 2, n),
            "constant": np.ones(n),
        }
    )
    return meta, rows


def test_planted_differences_rank_first_and_noise_last():
    meta, rows = planted()
    found = contrast(meta, rows, ["noise", "shifted", "kind", "coin", "constant"])
    names = [d.column for d in found]
    assert names[:2] == ["kind", "shifted"]  # V = 1 before d = 3 (0.75 on the 0-1 scale)
    assert "constant" not in names  # one value: nothing to compare
    kind, shifted = found[0], found[1]
    assert kind.effect_name == "Cramér's V"
    assert kind.effect > 0.99
    assert kind.summary == "'c' is 100% of the selection, 0% of the rest"
    assert shifted.effect_name == "Cohen's d"
    assert 2.5 < shifted.effect < 3.5
    assert shifted.p_value < 1e-20
    assert shifted.test == "Mann-Whitney U"
    for name in ("noise", "coin"):
        chance = next(d for d in found if d.column == name)
        assert chance.strength < 0.2
        assert chance.p_value > 0.001


def test_nothing_to_compare_without_rows_on_both_sides():
    meta, _ = planted(50)
    assert contrast(meta, np.arange(50), ["kind", "shifted"]) == []
    assert contrast(meta, np.array([3]), ["shifted"]) == []  # one value on a side


@pytest.mark.parametrize("size", [3, 6, 9, 50, 2500])
def test_prepared_columns_give_scipys_answers(size):
    # Contrasts prepares ranks and sums once per column; each selection's statistics must
    # equal those computed from scratch (scipy's Mann-Whitney, exact or asymptotic, and
    # Cohen's d), also far from zero where sums of squares lose precision.
    rng = np.random.default_rng(size)
    n = 5000
    meta = pl.DataFrame(
        {
            "wide": rng.normal(size=n) + 1e6,
            "tied": rng.integers(0, 40, n).astype(float),
            "gappy": np.where(rng.random(n) < 0.1, np.nan, rng.normal(size=n)),
        }
    )
    prepared = Contrasts(meta, meta.columns)
    for _ in range(3):  # the same prepared columns for several selections
        rows = np.sort(rng.choice(n, size, replace=False))
        found = {d.column: d for d in prepared.compare(rows)}
        selected = np.zeros(n, bool)
        selected[rows] = True
        for column in meta.columns:
            values = meta[column].to_numpy()
            inside = values[selected & np.isfinite(values)]
            outside = values[~selected & np.isfinite(values)]
            pooled = np.sqrt(
                ((len(inside) - 1) * inside.var(ddof=1) + (len(outside) - 1) * outside.var(ddof=1))
                / (len(inside) + len(outside) - 2)
            )
            if len(inside) < 2:
                assert column not in found
                continue
            assert found[column].p_value == pytest.approx(
                stats.mannwhitneyu(inside, outside).pvalue, rel=1e-9
            )
            d = (inside.mean() - outside.mean()) / pooled
            assert found[column].effect == pytest.approx(d, rel=1e-6, abs=1e-9)


def test_the_panel_ranks_the_selected_digits_columns(demo_config):
    from dashboard.web.assemble import prepare
    from plugins.contrast import HINT

    config = yaml.safe_load(Path(demo_config).read_text())
    dashboard = prepare({**config, "panels": [{"type": "contrast", "top": 3}]})
    panel = dashboard.panels[0]
    assert panel.render(None) == HINT
    meta = dashboard.context.datasets["digits"].metadata()
    threes = np.flatnonzero(meta["target"].to_numpy() == 3).tolist()
    heading, table = panel.render({"table": "digits", "rows": threes})
    assert heading.children == "183 selected against the other 1,614 rows of 'digits'"
    rows = table.children[1].children
    assert len(rows) == 3
    first = [cell.children for cell in rows[0].children]
    assert first[0] == "target"
    assert first[1] == "Cramér's V +1.00"
    assert first[2] == "'3' is 100% of the selection, 0% of the rest"


def test_a_shown_map_prepares_the_tables_columns_before_any_selection(demo_config):
    from dashboard.plugin import Projection
    from dashboard.web.assemble import prepare

    config = yaml.safe_load(Path(demo_config).read_text())
    dashboard = prepare({**config, "panels": [{"type": "contrast"}]})
    panel = dashboard.panels[0]
    assert panel.prepare_in_background(None) is None
    request = {"table": "digits", "reducer": "pca", "dims": 2, "params": {}}
    projection = dashboard.context.project(request)
    thread = panel.prepare_in_background(Projection.from_store(projection.to_store()))
    thread.join(30)
    contrasts = panel.contrasts("digits")
    assert set(contrasts._prepared) == set(panel.columns("digits"))  # every column, no rows
    before = panel.render({"table": "digits", "rows": list(range(50))})
    assert contrasts is panel.contrasts("digits")  # the selection used the prepared work
    assert before[0].children.startswith("50 selected")
