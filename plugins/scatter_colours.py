"""The scatter's computed colours: values from the map (neighbour recall, outlier score,
clusters; :mod:`dashboard.computed`) and colours other panels derive for a table (the compare
panel's overlap), memoised per projection."""

from __future__ import annotations

from typing import Any

import polars as pl

from dashboard.computed import COMPUTED, computed_column
from dashboard.errors import DashboardError
from dashboard.panel import PanelContext

#: Projections whose computed colours are kept in memory (oldest dropped first).
KEEP = 8


class ComputedColours:
    """Computed colour values by (projection key, choice), memoised: every hover's tooltip
    reads them, and at 1M rows they and the coordinates they are computed from would be
    12 MB read from disk each time."""

    def __init__(self, context: PanelContext):
        self.context = context
        self._values: dict[tuple[str, str], pl.Series] = {}

    def options(self, table: str) -> list[dict[str, str]]:
        """Colour dropdown entries of the computed colours ``table``'s maps offer."""
        derived = self.context.derived.get(table, {}).values()
        return [{"label": c.label, "value": c.value} for c in COMPUTED.values()] + [
            {"label": c.name, "value": c.value} for c in derived
        ]

    def has(self, table: str, choice: str | None) -> bool:
        """Whether colour ``choice`` is computed (from the map, or by another panel)."""
        return choice in COMPUTED or choice in self.context.derived.get(table, {})

    def values(self, projection: dict[str, Any], choice: str) -> pl.Series:
        """The values of colour ``choice`` for ``projection``'s map, named for display.

        Raises
        ------
        DashboardError
            When the projection left the cache, or a deriving panel cannot compute.
        """
        key = (projection["key"], choice)
        if key not in self._values:
            derived = self.context.derived.get(projection["table"], {}).get(choice)
            if derived is not None:
                column = pl.Series(derived.name, derived.values())
            else:
                dataset = self.context.datasets[projection["table"]]
                coords = self.context.store.load(projection["key"])
                if coords is None:
                    raise DashboardError(
                        "the projection is no longer in the cache\nchange a control to recompute it"
                    )
                column = computed_column(choice, self.context.store, key[0], dataset, coords)
            if len(self._values) >= KEEP:
                self._values.pop(next(iter(self._values)))
            self._values[key] = column
        return self._values[key]
