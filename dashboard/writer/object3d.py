"""`Object3D`: a W&B-style point cloud, logged as a table of x, y, z the dashboard draws as is."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from dashboard.errors import DataError

#: Point array widths ``Object3D`` takes, and what the columns after x, y, z mean.
SHAPES = {3: "x, y, z", 4: "x, y, z, category", 6: "x, y, z, r, g, b"}
_HEX = np.array([f"{i:02x}" for i in range(256)])


class Object3D:
    """Points in 3-D, as ``wandb.Object3D(array)`` takes them.

    Logged with ``run.log({"cloud": Object3D(points)})``, it becomes a table with float
    columns ``x``, ``y``, ``z`` that the dashboard draws as logged (no projection), plus a
    ``category`` column (the label role) for (N, 4) points, or a ``color`` column of
    ``"#rrggbb"`` strings (the colour role) for (N, 6) points.

    Parameters
    ----------
    data_or_path
        An (N, 3) array of x, y, z; (N, 4) of x, y, z, category (integers); or (N, 6) of
        x, y, z, r, g, b (colours 0..255).

    Raises
    ------
    DataError
        For another shape (W&B's mesh files and scene dicts are not supported), non-finite
        coordinates, non-integer categories or colours outside 0..255.

    Examples
    --------
    >>> cloud = Object3D(np.random.default_rng(0).normal(size=(100, 3)))
    >>> cloud.to_polars().columns
    ['x', 'y', 'z']
    """

    def __init__(self, data_or_path: Any, **kwargs: Any):
        points = data_or_path
        if not isinstance(points, np.ndarray):
            if isinstance(points, (str, dict)) or hasattr(points, "__fspath__"):
                raise DataError(
                    f"`Object3D` takes a point array, got {type(points).__name__}\n"
                    "mesh files and scene dicts are not supported: pass an (N, 3), (N, 4) or "
                    "(N, 6) numpy array"
                )
            points = np.asarray(points)
        if points.ndim != 2 or points.shape[1] not in SHAPES or points.shape[0] == 0:
            allowed = "; ".join(f"(N, {k}): {v}" for k, v in SHAPES.items())
            raise DataError(
                f"`Object3D` points must be (N, 3), (N, 4) or (N, 6), got shape {points.shape}\n"
                f"allowed: {allowed}"
            )
        if not np.issubdtype(points.dtype, np.number):
            raise DataError(f"`Object3D` points must be numbers, got dtype {points.dtype}")
        if not np.isfinite(points).all():
            raise DataError(
                "`Object3D` points hold NaN or infinite values\ndrop or fill them first"
            )
        self.points = points
        self.extra = kwargs  # W&B's options (e.g. boxes) are not drawn

    @classmethod
    def from_numpy(cls, data: np.ndarray) -> Object3D:
        """Build from a point array, as ``wandb.Object3D.from_numpy`` does."""
        return cls(data)

    def __repr__(self) -> str:
        return f"Object3D({self.points.shape[0]} points, {SHAPES[self.points.shape[1]]})"

    def __len__(self) -> int:
        return int(self.points.shape[0])

    def to_polars(self) -> pl.DataFrame:
        """The points as a frame: ``x``, ``y``, ``z`` and ``category`` or ``color``."""
        points = self.points
        columns: dict[str, Any] = {
            axis: points[:, i].astype(np.float64) for i, axis in enumerate("xyz")
        }
        if points.shape[1] == 4:
            category = points[:, 3]
            if (np.round(category) != category).any():
                odd = np.flatnonzero(np.round(category) != category)[:5].tolist()
                raise DataError(
                    f"`Object3D` categories (the 4th column) must be integers, rows {odd} "
                    f"are not (e.g. {category[odd[0]]!r})\nround them, or pass (N, 3) points"
                )
            columns["category"] = category.astype(np.int64)
        elif points.shape[1] == 6:
            rgb = points[:, 3:6]
            if rgb.min() < 0 or rgb.max() > 255:
                raise DataError(
                    f"`Object3D` colours (columns 4-6) must be in 0..255, got "
                    f"{float(rgb.min()):g}..{float(rgb.max()):g}\nscale them, e.g. `* 255`"
                )
            rgb = np.round(rgb).astype(np.int64)
            hexes = _HEX[rgb]  # (N, 3) two-digit strings: no Python call per point
            columns["color"] = np.char.add(
                np.char.add(np.char.add("#", hexes[:, 0]), hexes[:, 1]), hexes[:, 2]
            ).tolist()
        return pl.DataFrame(columns)

    def roles(self) -> dict[str, Any]:
        """The roles recorded with the table: x, y, z are the embedding (3 dimensions, drawn
        as they are), the category is the label, the colour is drawn."""
        width = self.points.shape[1]
        roles: dict[str, Any] = {
            "embedding": ["x", "y", "z"],
            "image": None,
            "label": "category" if width == 4 else None,
        }
        if width == 6:
            roles["color"] = "color"
        return roles
