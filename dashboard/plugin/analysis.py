"""The dashboard's measures, for panels: the same functions the built-in panels use.

Stable names for plugins; where each lives inside the dashboard may change.
"""

from dashboard.analysis.alignment import (
    BUILT_IN_METHODS,
    PROCRUSTES,
    Items,
    aligned_layouts,
    match_steps,
    movement,
)
from dashboard.analysis.comparison import Comparison, compare, linear_cka, match_ids
from dashboard.analysis.density import Colouring as DensityColouring
from dashboard.analysis.density import MapIndex, full_view, padded
from dashboard.analysis.density import render as density_image
from dashboard.analysis.differences import Contrasts, Difference, contrast
from dashboard.analysis.knn import (
    METRICS,
    Metric,
    knn_graph,
    map_neighbours,
    nearest,
    nearest_to,
)
from dashboard.analysis.map_measures import CLUSTER, MAP_MEASURES, OUTLIER, RECALL, MapMeasure
from dashboard.analysis.principal import PrincipalComponents
from dashboard.analysis.quality import Faithfulness, measure
from dashboard.analysis.stability import (
    PERSISTENCE,
    SPREAD,
    STABILITY_COLOURS,
    STABLE,
    Stability,
    measure_stability,
)
from dashboard.analysis.structure import NOISE, NOT_MEASURED, cluster_names
from dashboard.data.filtering import MISSING, filter_mask
from dashboard.data.matrix_file import gather_rows, row_blocks
from dashboard.data.sampling import sample_rows

__all__ = [
    "BUILT_IN_METHODS",
    "CLUSTER",
    "MAP_MEASURES",
    "METRICS",
    "MISSING",
    "NOISE",
    "NOT_MEASURED",
    "OUTLIER",
    "PERSISTENCE",
    "PROCRUSTES",
    "RECALL",
    "SPREAD",
    "STABILITY_COLOURS",
    "STABLE",
    "Comparison",
    "Contrasts",
    "DensityColouring",
    "Difference",
    "Faithfulness",
    "Items",
    "MapIndex",
    "MapMeasure",
    "Metric",
    "PrincipalComponents",
    "Stability",
    "aligned_layouts",
    "cluster_names",
    "compare",
    "contrast",
    "density_image",
    "filter_mask",
    "full_view",
    "gather_rows",
    "knn_graph",
    "linear_cka",
    "map_neighbours",
    "match_ids",
    "match_steps",
    "measure",
    "measure_stability",
    "movement",
    "nearest",
    "nearest_to",
    "padded",
    "row_blocks",
    "sample_rows",
]
