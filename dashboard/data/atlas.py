"""Image atlases: every row's thumbnail in one PNG grid, for drawing points as images.

The page draws a map's points as their images (Comet's and TensorBoard's headline view)
from one atlas per table: row ``i``'s thumbnail is the tile at column ``i % columns``, row
``i // columns``. One file is one request and one decode in the browser, however many
points; it is built once per table version and tile size and kept in the cache.
"""

from __future__ import annotations

import io
import logging
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from dashboard.data.dataset import Dataset
from dashboard.errors import DashboardError
from dashboard.files import atomic_write_bytes

logger = logging.getLogger(__name__)

#: Most rows an atlas is built for, whatever a config says (16-pixel tiles: 6,400 pixels a
#: side); beyond it the map keeps its dots.
MAX_ATLAS_ROWS = 160_000


@dataclass(frozen=True)
class AtlasLayout:
    """Where each row's tile is: ``columns`` tiles of ``tile`` pixels per atlas row."""

    rows: int
    tile: int
    columns: int

    @classmethod
    def for_rows(cls, rows: int) -> AtlasLayout:
        """Bigger tiles for fewer rows (sharper when zoomed in); at most 3,200 pixels a side
        up to 10,000 rows, which every browser decodes."""
        tile = 64 if rows <= 2_500 else 32 if rows <= 10_000 else 24 if rows <= 40_000 else 16
        return cls(rows, tile, max(1, math.ceil(math.sqrt(rows))))

    @property
    def size(self) -> tuple[int, int]:
        """The atlas's (width, height) in pixels."""
        return self.columns * self.tile, math.ceil(self.rows / self.columns) * self.tile


def atlas_png(dataset: Dataset, layout: AtlasLayout, cache: Path) -> bytes:
    """The atlas of ``dataset``'s images, from the cache or built (and kept there).

    A row without an image, an image given as a URL (the server fetches nothing) or one
    that cannot be decoded leaves its tile transparent; the rest still draw.
    """
    path = cache / f"atlas-{dataset.fingerprint()}-{layout.tile}.png"
    with _LOCKS_LOCK:
        lock = _LOCKS.setdefault(path.name, threading.Lock())
    with lock:  # two maps asking together build it once
        try:
            return path.read_bytes()
        except OSError:
            pass
        data = build_atlas(dataset, layout)
        _keep(path, data, dataset.name)
        return data


def _keep(path: Path, data: bytes, table: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, data)
    except OSError as exc:  # a full or read-only disk: this answer still has its atlas
        logger.warning("could not keep the image atlas of table %r: %s", table, exc)


_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_LOCK = threading.Lock()


def build_atlas(dataset: Dataset, layout: AtlasLayout, rows: Sequence[int] | None = None) -> bytes:
    """Build the atlas PNG (RGBA): each image fitted into its tile, centred, aspect kept;
    small images (an 8 x 8 digit) grow with sharp pixels, big ones shrink smoothly.

    Tile ``i`` holds row ``i``'s image, or with ``rows`` (as many as ``layout.rows``) the
    image of ``rows[i]``: the rows a zoomed density map shows as points.
    """
    from PIL import Image as PILImage

    atlas = PILImage.new("RGBA", layout.size, (0, 0, 0, 0))
    failed = 0
    for tile_at, row in enumerate(range(layout.rows) if rows is None else rows):
        try:
            found = dataset.image(int(row))
        except DashboardError:
            found = None
        if found is None or isinstance(found, str):
            continue
        try:
            with PILImage.open(io.BytesIO(found) if isinstance(found, bytes) else found) as im:
                tile = _fit(im.convert("RGBA"), layout.tile)
        except (OSError, ValueError, PILImage.DecompressionBombError):
            failed += 1
            continue
        x = (tile_at % layout.columns) * layout.tile + (layout.tile - tile.width) // 2
        y = (tile_at // layout.columns) * layout.tile + (layout.tile - tile.height) // 2
        atlas.paste(tile, (x, y))
    if failed:
        logger.warning(
            "%d image(s) of table %r could not be decoded: their points draw no image",
            failed,
            dataset.name,
        )
    out = io.BytesIO()
    atlas.save(out, format="PNG", compress_level=3)
    return out.getvalue()


def _fit(image: object, tile: int) -> object:
    from PIL import Image as PILImage

    width, height = image.size  # type: ignore[attr-defined]
    scale = tile / max(width, height, 1)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    method = PILImage.Resampling.NEAREST if scale >= 1 else PILImage.Resampling.LANCZOS
    return image.resize(size, method)  # type: ignore[attr-defined]
