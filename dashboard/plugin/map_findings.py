"""What a map shows beyond its points, for :class:`dashboard.plugin.PanelContext`: its
clusters and their names (the Labels switch), and how much of it survives a change of seed
(the stability check). Each is computed once per map and kept in the cache beside it."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from dashboard.analysis.cluster_labels import cluster_labels
from dashboard.analysis.map_measures import CLUSTER
from dashboard.analysis.stability import STABILITY_COLOURS, Stability, measure_stability
from dashboard.analysis.structure import NOISE, NOT_MEASURED
from dashboard.errors import DashboardError, ProjectionGoneError
from dashboard.files import atomic_write_bytes
from dashboard.projection.request import Projection, ProjectionRequest

if TYPE_CHECKING:
    from dashboard.data.dataset import Dataset
    from dashboard.plugin.reducer import Progress

logger = logging.getLogger(__name__)

#: Versions of what is kept beside a map: raise one when its values are made differently,
#: and what older code kept is made again (names kept before words shared by every cluster
#: were left out read "digits · grey · handwritten" for every digit; 3: labels sit on a
#: point of their cluster; 4: on its crowded middle, with the reach of the piece there).
LABELS_VERSION = 4
STABILITY_VERSION = 1


def measure_key(projection: Projection, choice: str) -> str:
    """The cache key of map measure ``choice`` of ``projection``'s map."""
    # Store keys are letters and digits.
    return f"{projection.key}{choice.strip('_')}"


class MapFindings:
    """The clusters, their names and the stability of a context's maps (a mixin of
    :class:`dashboard.plugin.PanelContext`, whose cache, reducers and maps it uses)."""

    def cluster_labels(self, projection: Projection) -> dict[str, Any]:
        """Names of the map's HDBSCAN clusters where they sit, biggest first, and what
        named them: ``{"key", "labels": [{cluster, text, x, y, rows, by, reach}],
        "source"}`` (``reach``: how far the cluster's piece around (x, y) spreads). From a
        plugin's ``dashboard_cluster_labels`` where it names them, else keywords of the
        table's text column (c-TF-IDF), else its label's most common value. Computed once
        per map and kept in the cache beside it.

        Raises
        ------
        DashboardError
            When the map left the cache.
        """
        return self._labels.get(projection.key, lambda: self._cluster_labels(projection))

    def cluster_codes(self, projection: Projection) -> np.ndarray:
        """Each row's HDBSCAN cluster on the map: 0, 1, ... (``cluster 01``, ...), -1 noise,
        -2 not measured (int32); measured once per map and kept with it.

        Raises
        ------
        DashboardError
            When the map left the cache.
        """
        self.computed(projection, CLUSTER)
        codes = self.store.load(measure_key(projection, CLUSTER))
        if codes is None:
            raise ProjectionGoneError("the map's clusters left the cache\ndraw the map again")
        return codes.astype(np.int32)

    def known_cluster_labels(self, projection: Projection) -> dict[int, str] | None:
        """Each cluster's name by its code when the map's clusters were named already
        (:meth:`cluster_labels`), else None: nothing is computed."""
        named = self._labels.peek(projection.key) or self._kept_labels(projection)
        if named is None:
            return None
        return {int(entry["cluster"]): str(entry["text"]) for entry in named["labels"]}

    def row_cluster_labels(self, projection: Projection, rows: np.ndarray) -> list[str] | None:
        """The names of ``rows``' clusters (``noise``, ``(not measured)`` for the others)
        when the map's clusters were named already (:meth:`cluster_labels`), else None:
        nothing is computed."""
        texts = self.known_cluster_labels(projection)
        codes = self.store.load(measure_key(projection, CLUSTER), mmap=True)
        if texts is None or codes is None:
            return None
        return [
            texts.get(int(code), NOISE if code == -1 else NOT_MEASURED)
            for code in np.asarray(codes[np.asarray(rows, dtype=np.int64)], dtype=np.int32)
        ]

    # -- stability across seeds -------------------------------------------------------------

    def stability(
        self,
        request: ProjectionRequest | Mapping[str, Any],
        runs: int = 5,
        progress: Progress | None = None,
    ) -> Stability:
        """How much of ``request``'s map (drawn already) survives a change of seed: ``runs``
        maps of other seeds are fitted as one projection job (cached like a map; a UMAP
        reducer builds its neighbour graph once for them), aligned onto the map and
        compared (:func:`dashboard.plugin.analysis.measure_stability`). Kept beside the map:
        :meth:`known_stability` reads it back, and another check replaces it.

        Raises
        ------
        DashboardError
            When the map is not in the cache, its reducer has no seed, or the runs fail.
        JobCancelledError
            When the page cancelled the check.
        """
        request = replace(ProjectionRequest.parse(request), runs=0)
        _, projection = self.cached_projection(request)
        if projection is None:
            raise ProjectionGoneError("the map is not in the cache\ndraw it, then check again")
        kept = self.known_stability(projection)
        if kept is not None and kept.runs == runs:
            return kept
        report = progress or (lambda fraction, message: None)
        fitted = self.project(replace(request, runs=runs), lambda f, m: report(0.9 * f, m))
        stack = self.store.load(fitted.key)
        if stack is None or stack.ndim != 3:
            raise ProjectionGoneError("the runs left the cache\ncheck again")
        measured = measure_stability(
            self.coordinates(projection),
            stack,
            self.cluster_codes(projection),
            progress=lambda f, m: report(0.9 + 0.1 * f, m),
        )
        self._keep_stability(projection, measured)
        return measured

    def _stability_colour(self, projection: Projection, choice: str) -> pl.Series:
        label, name = STABILITY_COLOURS[choice]
        known = self.known_stability(projection)
        if known is None:
            reducer = self.registry.reducers.get(projection.reducer)
            if reducer is not None and reducer.seed_param is None:
                raise DashboardError(
                    f"`{label}`: {self.reducer_title(projection.reducer)} draws the same map "
                    "on every run, so every point is stable\npick another colour"
                )
            raise DashboardError(
                f'`{label}` is not measured for this map yet\npress "Check stability" in '
                "the Stability panel (a `stability` panel in the config): it fits maps of "
                "other seeds to compare"
            )
        return pl.Series(name, known.colour(choice))

    def known_stability(self, projection: Projection) -> Stability | None:
        """The stability :meth:`stability` last measured for ``projection``'s map, or None."""
        return self._stability.peek(projection.key) or self._kept_stability(projection)

    def _stability_name(self, projection: Projection) -> str:
        return f"{projection.key}stability"

    def _keep_stability(self, projection: Projection, measured: Stability) -> None:
        name = self._stability_name(projection)
        self._stability.put(projection.key, measured)
        summary = {
            "version": STABILITY_VERSION,
            "runs": measured.runs,
            "neighbours": measured.neighbours,
            "clusters": {str(code): score for code, score in measured.clusters.items()},
        }
        try:
            self.store.save(f"{name}spread", measured.spread)
            self.store.save(f"{name}persistence", measured.persistence)
            atomic_write_bytes(self.store.root / f"{name}.json", json.dumps(summary).encode())
        except OSError as exc:  # a full or read-only cache: this process keeps it
            logger.warning("could not keep the stability of map %s: %s", projection.key, exc)

    def _kept_stability(self, projection: Projection) -> Stability | None:
        name = self._stability_name(projection)
        try:
            summary = json.loads((self.store.root / f"{name}.json").read_text())
            if summary["version"] != STABILITY_VERSION:
                return None
            clusters = {int(code): float(score) for code, score in summary["clusters"].items()}
            runs, neighbours = int(summary["runs"]), int(summary["neighbours"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None
        spread = self.store.load(f"{name}spread")
        persistence = self.store.load(f"{name}persistence")
        if spread is None or persistence is None or len(spread) != projection.n:
            return None
        measured = Stability(runs, spread, persistence, clusters, neighbours)
        self._stability.put(projection.key, measured)
        return measured

    def _labels_path(self, projection: Projection) -> Path:
        """Where a map's cluster labels are kept, beside it."""
        return self.store.root / f"{projection.key}labels.json"

    def _kept_labels(self, projection: Projection) -> dict[str, Any] | None:
        try:
            kept = json.loads(self._labels_path(projection).read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(kept, dict) or kept.get("version") != LABELS_VERSION:
            return None
        return kept if isinstance(kept.get("labels"), list) else None

    def _cluster_labels(self, projection: Projection) -> dict[str, Any]:
        kept = self._kept_labels(projection)
        if kept is not None:
            return kept
        codes = self.cluster_codes(projection)
        dataset = self.datasets[projection.table]
        meta = dataset.metadata()
        named, failed = self._plugin_names(dataset, codes, meta)
        text, label = dataset.config.text, dataset.config.label
        labels = cluster_labels(
            self.coordinates(projection),
            codes,
            texts=meta.get_column(text).cast(pl.String).to_list() if text else None,
            values=meta.get_column(label).to_list() if label else None,
            names=named,
        )
        sources = {
            "plugin": "a plugin's names",
            "keywords": f"keywords of `{text}`",
            "label": f"most common `{label}`",
            "number": "cluster numbers",
        }
        found = [failed] if failed else []
        found += [sources[by] for by in sources if any(entry.by == by for entry in labels)]
        out = {
            "version": LABELS_VERSION,
            "key": projection.key,
            "labels": [entry.to_json() for entry in labels],
            "source": ", ".join(found),
        }
        try:
            atomic_write_bytes(self._labels_path(projection), json.dumps(out).encode())
        except OSError as exc:  # a full or read-only cache: this process keeps them
            logger.warning("could not keep the cluster labels of map %s: %s", projection.key, exc)
        return out

    def _plugin_names(
        self, dataset: Dataset, codes: np.ndarray, meta: pl.DataFrame
    ) -> tuple[dict[int, str], str | None]:
        """Names a plugin gives the clusters, and what to say when the plugin failed (it is
        logged and left out: the built-in names stay)."""
        hook = self.registry.cluster_labels
        if hook is None or not hook.get_hookimpls():
            return {}, None
        clusters = {int(c): np.flatnonzero(codes == c) for c in np.unique(codes[codes >= 0])}
        try:
            named = hook(table=dataset.name, clusters=clusters, metadata=meta)
        except Exception:  # a plugin's bug must not take the labels (or the map) down
            logger.warning("a `dashboard_cluster_labels` plugin failed", exc_info=True)
            return {}, "cluster labels plugin failed: built-in names"
        if not named:
            return {}, None
        names = {int(c): str(t) for c, t in dict(named).items() if int(c) in clusters and t}
        return names, None
