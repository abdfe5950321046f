"""`Image` and `create_embedding_image`: every input kind, every bad input."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image as PILImage

from dashboard import Image, create_embedding_image
from dashboard.errors import DataError
from dashboard.writer.image import PNG_SIGNATURE


def decode(png: bytes) -> np.ndarray:
    with PILImage.open(io.BytesIO(png)) as im:
        return np.asarray(im)


@pytest.mark.parametrize(
    ("array", "expected"),
    [
        (np.array([[0.0, 0.5], [1.0, 0.25]]), np.array([[0, 128], [255, 64]], np.uint8)),
        (np.array([[0, 7], [255, 9]], np.int64), np.array([[0, 7], [255, 9]], np.uint8)),
        (np.array([[True, False]]), np.array([[255, 0]], np.uint8)),
        (np.zeros((2, 2, 1)), np.zeros((2, 2), np.uint8)),
        (np.array([[0.0, 1.0]], dtype=object), np.array([[0, 255]], np.uint8)),
    ],
)
def test_grey_arrays(array, expected):
    image = Image(array)
    assert image.png.startswith(PNG_SIGNATURE)
    np.testing.assert_array_equal(decode(image.png), expected)
    assert (image.width, image.height) == (expected.shape[1], expected.shape[0])


@pytest.mark.parametrize("channels", [3, 4])
def test_colour_arrays(channels):
    array = np.random.default_rng(0).integers(0, 256, (5, 7, channels)).astype(np.uint8)
    np.testing.assert_array_equal(decode(Image(array).png), array)


def test_image_file_png_and_jpeg(tmp_path):
    array = (np.arange(48).reshape(4, 4, 3) * 5).astype(np.uint8)
    PILImage.fromarray(array).save(tmp_path / "a.png")
    PILImage.fromarray(array).save(tmp_path / "a.jpg")
    png = Image(tmp_path / "a.png")
    assert png.png == (tmp_path / "a.png").read_bytes()  # PNG kept as is
    jpeg = Image(str(tmp_path / "a.jpg"))
    assert jpeg.png.startswith(PNG_SIGNATURE)
    assert (jpeg.width, jpeg.height) == (4, 4)


def test_pil_image_and_copy():
    pil = PILImage.new("RGB", (3, 2), (10, 20, 30))
    image = Image(pil, caption="c")
    assert decode(image.png)[0, 0].tolist() == [10, 20, 30]
    assert Image(image) == image
    assert image.caption == "c"
    assert repr(image).startswith("Image(3x2, ")


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (
            np.zeros(5),
            r"must be \(height, width\) grey or \(height, width, 3\|4\) RGB\(A\), got shape \(5,\)",
        ),
        (np.zeros((2, 2, 2)), r"got shape \(2, 2, 2\)"),
        (np.zeros((0, 3)), r"got shape \(0, 3\)"),
        (np.array([[0.0, 2.0]]), r"float image values must be in \[0, 1\], got 0\.\.2\n.*/ 16\.0"),
        (np.array([[-1, 3]]), r"integer image values must be in \[0, 255\], got -1\.\.3"),
        (np.array([[np.nan, 0.0]]), r"NaN or infinite pixels"),
        (np.array([["a", "b"]]), r"must hold numbers, got dtype <U1"),
        (np.array([[object(), 1]], dtype=object), r"objects that are not numbers"),
    ],
)
def test_bad_arrays(array, message):
    with pytest.raises(DataError, match=message):
        Image(array)


def test_missing_and_unreadable_files(tmp_path):
    with pytest.raises(DataError, match=r"cannot read image file .*nope\.png"):
        Image(tmp_path / "nope.png")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(DataError, match=r"notes\.txt' is not an image Pillow can read"):
        Image(tmp_path / "notes.txt")


def test_sprite_grid_and_thumbnails():
    images = [np.full(12, i / 4) for i in range(5)]  # flat 4 wide x 3 high
    sprite, thumbnails = create_embedding_image(images, (4, 3))
    assert sprite.size == (3 * 4, 2 * 3)  # ceil(sqrt(5)) = 3 columns, 2 rows
    assert len(thumbnails) == 5
    second = decode(thumbnails[1])
    assert second.shape == (3, 4, 4)  # RGBA
    assert (second[:, :, 0] == 64).all()
    assert np.asarray(sprite)[0, 4, 0] == 64  # tile 1 starts at x = 4


def test_sprite_preprocess_transparency_and_background():
    images = np.array([[0, 255, 0, 255], [255, 255, 255, 255]])  # 2x2 grey, ints
    _, plain = create_embedding_image(images, (2, 2), image_transparent_color=(0, 0, 0))
    assert decode(plain[0])[0, 0, 3] == 0  # black made transparent
    assert decode(plain[0])[0, 1, 3] == 255
    _, filled = create_embedding_image(
        images / 255.0,
        (2, 2),
        image_preprocess_function=lambda a: (a * 255).astype(np.uint8),
        image_transparent_color=(0, 0, 0),
        image_background_color_function=lambda i: (200, 0, 0) if i == 0 else (0, 0, 200),
    )
    assert decode(filled[0])[0, 0].tolist() == [200, 0, 0, 255]  # background shows through
    assert decode(filled[1])[0, 0].tolist() == [255, 255, 255, 255]


def test_sprite_size_errors():
    with pytest.raises(DataError, match=r"image 1 has 5 values, which is not 2x2"):
        create_embedding_image([np.zeros(4), np.zeros(5)], (2, 2))
    with pytest.raises(DataError, match=r"`image_size` must be two positive numbers, got \(0, 2\)"):
        create_embedding_image([np.zeros(4)], (0, 2))
    with pytest.raises(DataError, match=r"image 1: an image array has NaN or infinite pixels"):
        create_embedding_image([np.zeros(4), np.array([0.0, np.nan, 1.0, 2.0])], (2, 2))
    with pytest.raises(DataError, match=r"image 0: an image array must hold numbers, got dtype"):
        create_embedding_image([np.array(["a", "b", "c", "d"])], (2, 2))


def test_sprite_pixels_of_any_range_are_scaled_over_the_whole_set():
    """Comet's rule for sprites: the set's minimum..maximum becomes 0..255 (one scale for
    all images), where a single `Image` keeps W&B's strict [0, 1] / [0, 255] check."""
    images = np.array([[-2.0, 0.0, 2.0, 2.0], [0.0, 0.0, 0.0, 1.0]])  # floats out of [0, 1]
    _, thumbnails = create_embedding_image(images, (2, 2))
    assert decode(thumbnails[0])[:, :, 0].tolist() == [[0, 128], [255, 255]]
    assert decode(thumbnails[1])[:, :, 0].tolist() == [[128, 128], [128, 191]]
    _, digits = create_embedding_image(np.array([[0, 8, 16, 4]]), (2, 2))  # ints 0..16
    assert decode(digits[0])[:, :, 0].tolist() == [[0, 128], [255, 64]]
    _, constant = create_embedding_image([np.full(4, 7.5)], (2, 2))
    assert (decode(constant[0])[:, :, :3] == 0).all()
    with pytest.raises(DataError, match=r"float image values must be in \[0, 1\], got 0\.\.2"):
        Image(np.array([[0.0, 2.0]]))
