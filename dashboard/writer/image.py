"""`Image`: arrays, files or PIL images stored as PNG bytes; sprites for `log_embedding`."""

from __future__ import annotations

import io
import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from dashboard.errors import DataError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
RGB = tuple[int, int, int]


def _pil() -> Any:
    from PIL import Image as PILImage  # lazy: only writers and image routes need Pillow

    return PILImage


def array_to_uint8(array: Any) -> np.ndarray:
    """Convert a grey (H, W), (H, W, 1) or RGB(A) (H, W, 3|4) array to uint8.

    Floats must lie in [0, 1] and are scaled by 255; integers must lie in [0, 255];
    booleans become 0 or 255.

    Raises
    ------
    DataError
        For another shape, a non-numeric dtype, or values out of range.
    """
    arr = numeric_pixels(array)
    if arr.dtype == bool:
        return arr.astype(np.uint8) * 255
    lo, hi = float(arr.min()), float(arr.max())
    if np.issubdtype(arr.dtype, np.floating):
        if lo < 0.0 or hi > 1.0:
            raise DataError(
                f"float image values must be in [0, 1], got {lo:g}..{hi:g}\n"
                "divide by the maximum (e.g. `/ 16.0` for digits, `/ 255` for bytes)"
            )
        return np.round(arr * 255).astype(np.uint8)
    if lo < 0 or hi > 255:
        raise DataError(
            f"integer image values must be in [0, 255], got {lo:g}..{hi:g}\nrescale them first"
        )
    return arr.astype(np.uint8)


def numeric_pixels(array: Any) -> np.ndarray:
    """Check an image array's shape and values, without a range: grey (H, W) (a trailing
    channel of 1 is dropped) or RGB(A) (H, W, 3|4), finite numbers or booleans.

    Raises
    ------
    DataError
        For another shape, a non-numeric dtype, or NaN or infinite values.
    """
    arr = np.asarray(array)
    if arr.dtype == object:  # e.g. a pandas row's `.values`: numbers stored as objects
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError):
            raise DataError(
                "an image array must hold numbers, got objects that are not numbers\n"
                "select only the pixel values"
            ) from None
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if not (arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] in (3, 4))) or 0 in arr.shape:
        raise DataError(
            f"an image array must be (height, width) grey or (height, width, 3|4) RGB(A), "
            f"got shape {arr.shape}\nreshape it, e.g. `row.reshape(8, 8)`"
        )
    if arr.dtype == bool:
        return arr
    if not np.issubdtype(arr.dtype, np.number):
        raise DataError(f"an image array must hold numbers, got dtype {arr.dtype}")
    if not np.isfinite(arr).all():
        raise DataError("an image array has NaN or infinite pixels\nreplace them first")
    return arr


def encode_png(pixels: np.ndarray) -> bytes:
    """Encode a uint8 grey or RGB(A) array as PNG bytes."""
    buffer = io.BytesIO()
    _pil().fromarray(pixels).save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()


class Image:
    """An image cell for :class:`dashboard.Table`, kept as PNG bytes.

    Parameters
    ----------
    data_or_path
        A numpy array (grey (H, W) or RGB(A) (H, W, 3|4); floats in [0, 1] or integers in
        [0, 255]), a path to an image file, or a PIL image.
    caption
        Optional text kept with the image.

    Examples
    --------
    >>> Image(np.eye(8)).png[:8] == PNG_SIGNATURE
    True
    """

    def __init__(self, data_or_path: Any, *, caption: str | None = None):
        self.caption = caption
        if isinstance(data_or_path, Image):
            self.png, self.width, self.height = (
                data_or_path.png,
                data_or_path.width,
                data_or_path.height,
            )
            return
        if isinstance(data_or_path, (str, os.PathLike)):
            self.png = _read_image_file(Path(data_or_path))
        elif hasattr(data_or_path, "save") and hasattr(data_or_path, "mode"):  # a PIL image
            buffer = io.BytesIO()
            data_or_path.save(buffer, format="PNG")
            self.png = buffer.getvalue()
        else:
            self.png = encode_png(array_to_uint8(data_or_path))
        with _pil().open(io.BytesIO(self.png)) as im:
            self.width, self.height = im.size

    def __repr__(self) -> str:
        return f"Image({self.width}x{self.height}, {len(self.png)} bytes PNG)"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Image) and other.png == self.png

    __hash__ = None  # type: ignore[assignment]


def _read_image_file(path: Path) -> bytes:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(
            f"cannot read image file {str(path)!r}: {exc.strerror or exc}\ncheck the path"
        ) from exc
    if raw.startswith(PNG_SIGNATURE):
        return raw
    try:
        with _pil().open(io.BytesIO(raw)) as im:
            buffer = io.BytesIO()
            im.save(buffer, format="PNG")
            return buffer.getvalue()
    except Exception as exc:  # Pillow raises several kinds for unreadable data
        raise DataError(
            f"{str(path)!r} is not an image Pillow can read: {exc}\nuse PNG, JPEG, GIF or BMP"
        ) from exc


def create_embedding_image(
    image_data: Sequence[Any] | np.ndarray,
    image_size: tuple[int, int],
    image_preprocess_function: Callable[[np.ndarray], Any] | None = None,
    image_transparent_color: RGB | None = None,
    image_background_color_function: Callable[[int], RGB] | None = None,
) -> tuple[Any, list[bytes]]:
    """Build a sprite (all thumbnails in a grid) and per-row PNG thumbnails, as Comet does.

    Parameters
    ----------
    image_data
        One image per row: flat (width*height[*channels]) or already shaped; values of any
        range (the set's minimum..maximum is drawn as 0..255, as Comet does).
    image_size
        ``(width, height)`` of each image.
    image_preprocess_function
        Applied to each image array before anything else (e.g. ``lambda a: a / 255``).
    image_transparent_color
        ``(r, g, b)``: pixels of exactly this colour become transparent.
    image_background_color_function
        ``fn(index) -> (r, g, b)``: background drawn behind each thumbnail (e.g. by label).

    Returns
    -------
    sprite, thumbnails
        The sprite as an RGBA PIL image (ceil(sqrt(n)) columns), and one PNG per row.
    """
    tiles = thumbnail_tiles(
        image_data,
        image_size,
        image_preprocess_function,
        image_transparent_color,
        image_background_color_function,
    )
    width, height = (int(v) for v in image_size)
    columns = max(1, math.ceil(math.sqrt(len(tiles))))
    rows = max(1, math.ceil(len(tiles) / columns))
    sprite = _pil().new("RGBA", (columns * width, rows * height), (0, 0, 0, 0))
    for index, tile in enumerate(tiles):
        sprite.paste(tile, ((index % columns) * width, (index // columns) * height))
    return sprite, [tile_png(tile) for tile in tiles]


def tile_png(tile: Any) -> bytes:
    """PNG bytes of a PIL image."""
    buffer = io.BytesIO()
    tile.save(buffer, format="PNG")
    return buffer.getvalue()


def thumbnail_tiles(
    image_data: Sequence[Any] | np.ndarray,
    image_size: tuple[int, int],
    image_preprocess_function: Callable[[np.ndarray], Any] | None = None,
    image_transparent_color: RGB | None = None,
    image_background_color_function: Callable[[int], RGB] | None = None,
) -> list[Any]:
    """One RGBA PIL image per row; the arguments are those of :func:`create_embedding_image`.

    Pixel values may have any range: as Comet does, the whole set's minimum..maximum becomes
    0..255 (a constant set becomes 0), so ``np.round(matrix) * 2`` (0..2) draws as black and
    white. Then pixels of ``image_transparent_color`` (compared on that 0..255 scale) turn
    transparent and the background colour shows through them.
    """
    width, height = (int(v) for v in image_size)
    if width <= 0 or height <= 0:
        raise DataError(f"`image_size` must be two positive numbers, got {tuple(image_size)!r}")
    arrays = []
    for index, raw in enumerate(image_data):
        array = np.asarray(raw)
        if image_preprocess_function is not None:
            array = np.asarray(image_preprocess_function(array))
        arrays.append(_shape_image(array, width, height, index))
    if not arrays:
        return []
    lo = min(float(a.min()) for a in arrays)
    hi = max(float(a.max()) for a in arrays)
    # One scale for the set (not per image): a faint digit stays fainter than a bold one.
    scale = 255.0 / (hi - lo) if hi > lo else 0.0
    pil = _pil()
    tiles = []
    for index, array in enumerate(arrays):
        pixels = np.round((array.astype(np.float64) - lo) * scale).astype(np.uint8)
        tile = pil.fromarray(pixels).convert("RGBA")
        if image_transparent_color is not None:
            rgba = np.asarray(tile).copy()
            match = (rgba[:, :, :3] == np.asarray(image_transparent_color[:3])).all(axis=2)
            rgba[match, 3] = 0
            tile = pil.fromarray(rgba)
        if image_background_color_function is not None:
            colour = tuple(int(c) for c in image_background_color_function(index))[:3]
            background = pil.new("RGBA", (width, height), (*colour, 255))
            tile = pil.alpha_composite(background, tile)
        tiles.append(tile)
    return tiles


def _shape_image(array: np.ndarray, width: int, height: int, index: int) -> np.ndarray:
    size = width * height
    if array.ndim == 1 or array.shape[:2] != (height, width):
        channels, remainder = divmod(array.size, size)
        if remainder or channels not in (1, 3, 4):
            raise DataError(
                f"image {index} has {array.size} values, which is not {width}x{height} "
                f"(x1, 3 or 4 channels)\ncheck `image_size` (width, height)"
            )
        array = array.reshape((height, width) if channels == 1 else (height, width, channels))
    try:
        return numeric_pixels(array)
    except DataError as exc:
        raise DataError(f"image {index}: {exc}") from None
