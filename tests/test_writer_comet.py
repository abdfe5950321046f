"""Comet training scripts run with `experiment = dashboard.init(...)` as their `Experiment`:
each idiom as Comet's docs write it."""

from __future__ import annotations

import io
import logging

import numpy as np
import polars as pl
import pytest
from PIL import Image as PILImage
from sklearn.datasets import load_digits

import dashboard
from dashboard.data.runs import find_logged_tables
from dashboard.errors import DataError

COLOURS = [
    (230, 25, 75),
    (60, 180, 75),
    (255, 225, 25),
    (0, 130, 200),
    (245, 130, 48),
    (145, 30, 180),
    (70, 240, 240),
    (240, 50, 230),
    (210, 245, 60),
    (250, 190, 212),
]


# A test that leaves a run active must not hand it to the next.
pytestmark = pytest.mark.usefixtures("no_active_run")


@pytest.fixture(scope="module")
def digits():
    ds = load_digits()
    # As Comet's MNIST example prepares its images: floats in [0, 1], one flat row each.
    return ds.data[:200].astype("float32") / 16.0, ds.target[:200]


def decode(png: bytes) -> np.ndarray:
    with PILImage.open(io.BytesIO(png)) as im:
        return np.asarray(im)


def test_sprite_made_once_then_reused_by_reference_every_epoch(tmp_path, digits):
    x_test, y_test = digits
    experiment = dashboard.init(project="comet", dir=tmp_path)
    image, image_url = experiment.create_embedding_image(image_data=x_test, image_size=(8, 8))
    assert image.size == (15 * 8, 14 * 8)  # ceil(sqrt(200)) = 15 columns
    assert image_url.startswith("sprite:")
    (stored,) = (experiment.dir / "sprites").glob("*.parquet")
    assert image_url == f"sprite:{stored.stem}"
    rng = np.random.default_rng(0)
    for epoch in range(3):
        experiment.log_embedding(
            vectors=rng.normal(size=(200, 16)),
            labels=y_test,
            image_data=image_url,
            image_size=(8, 8),
            title="epoch-%s" % epoch,  # noqa: UP031 (as Comet's docs write it)
            group="hidden-layer-1",
        )
    experiment.end()
    tables = find_logged_tables(experiment.dir)
    assert [t.name for t in tables] == ["epoch-0", "epoch-1", "epoch-2"]
    assert tables[0].roles["image"] == "image"
    thumbnails = pl.read_parquet(stored)["image"].to_list()
    for table in tables:
        assert pl.read_parquet(table.path)["image"].to_list() == thumbnails
    expected = np.round(x_test[7].reshape(8, 8) * 255)
    np.testing.assert_array_equal(decode(thumbnails[7])[:, :, 0], expected)


def test_a_sprite_reference_must_fit_the_rows(tmp_path, digits):
    x_test, y_test = digits
    experiment = dashboard.init(project="comet", dir=tmp_path)
    _, image_url = experiment.create_embedding_image(x_test, (8, 8))
    with pytest.raises(
        DataError,
        match=r"`image_data` 'sprite:\w+' holds 200 images for 50 vectors\n"
        r"log the rows the sprite was made from",
    ):
        experiment.log_embedding(np.ones((50, 2)), y_test[:50], image_data=image_url)
    with pytest.raises(
        DataError, match=r"`image_size` is \(28, 28\), the sprite 'sprite:\w+' was made at \(8, 8\)"
    ):
        experiment.log_embedding(
            np.ones((200, 2)), y_test, image_data=image_url, image_size=(28, 28)
        )
    for unknown in ("sprite:0123abcd", "https://www.comet.com/sprite.png", "sprite:../x"):
        with pytest.raises(
            DataError,
            match=r"unknown `image_data` reference '.*': no such sprite in run .*\n"
            r"pass the reference `run.create_embedding_image\(...\)` returned",
        ):
            experiment.log_embedding(
                np.ones((200, 2)), y_test, image_data=unknown, image_size=(8, 8)
            )


def test_comets_mnist_sprite_example(tmp_path, digits):
    """Comet's MNIST example: 0..2 pixels, black made transparent, a colour per label."""
    x_test, y_test = digits

    def label_to_color(index):
        return COLOURS[y_test[index]]

    experiment = dashboard.init(project="comet", dir=tmp_path)
    image, image_url = experiment.create_embedding_image(
        image_data=x_test,
        image_preprocess_function=lambda matrix: np.round(matrix, 0) * 2,
        image_transparent_color=(0, 0, 0),
        image_size=(8, 8),
        image_background_color_function=label_to_color,
    )
    experiment.log_embedding(
        vectors=x_test, labels=y_test, image_data=image_url, image_size=(8, 8), title="pixels"
    )
    (logged,) = find_logged_tables(experiment.dir)
    thumbnails = pl.read_parquet(logged.path)["image"].to_list()
    sprite = np.asarray(image)
    for index in (0, 1, 2, 3, 42, 199):
        pixels = decode(thumbnails[index])
        ink = np.round(x_test[index].reshape(8, 8)) > 0
        assert ink.any()
        assert (~ink).any()
        assert (pixels[ink] == [255, 255, 255, 255]).all()  # 2 is the maximum: white
        assert (pixels[~ink] == [*COLOURS[y_test[index]], 255]).all()  # the label's colour
        row, column = divmod(index, 15)
        tile = sprite[row * 8 : (row + 1) * 8, column * 8 : (column + 1) * 8]
        np.testing.assert_array_equal(tile, pixels)


def test_one_hot_labels_become_class_indices(tmp_path, digits, caplog):
    x_test, y_test = digits
    one_hot = np.eye(10, dtype="float32")[y_test]  # keras.utils.to_categorical(y_test, 10)
    experiment = dashboard.init(project="comet", dir=tmp_path)
    with caplog.at_level(logging.WARNING, logger="dashboard.writer.idioms"):
        experiment.log_embedding(x_test, one_hot, title="array")
        experiment.log_embedding(x_test[:3], [[0, 1], [1, 0], [0, 1]], title="lists")
    tables = {t.name: pl.read_parquet(t.path) for t in find_logged_tables(experiment.dir)}
    assert tables["array"]["label"].to_list() == y_test.tolist()
    assert tables["array"].schema["label"] == pl.Int64
    assert tables["lists"]["label"].to_list() == [1, 0, 1]
    assert "`labels` are one-hot rows (200 x 10, one 1 in each)" in caplog.text
    assert "class indices 0..9 (their argmax)" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="dashboard.writer.idioms"):
        experiment.log_embedding(np.ones((2, 2)), [[1, 1], [0, 1]], title="two ones")
    two = next(t for t in find_logged_tables(experiment.dir) if t.name == "two ones")
    assert pl.read_parquet(two.path)["label"].to_numpy().tolist() == [[1, 1], [0, 1]]
    assert "one-hot" not in caplog.text  # rows with two 1s are label vectors, not classes


def test_untitled_sets_are_numbered_not_replaced(tmp_path):
    experiment = dashboard.init(project="comet", dir=tmp_path, name="r")
    rng = np.random.default_rng(0)
    experiment.log_embedding(rng.normal(size=(5, 3)), list("abcde"))
    experiment.log_embedding(rng.normal(size=(6, 3)), list("abcdef"))
    experiment.log_embedding(rng.normal(size=(7, 3)), list("abcdefg"), title="final")
    experiment.log_embedding(rng.normal(size=(8, 3)), list("abcdefgh"), title="final")
    experiment.end()
    again = dashboard.init(project="comet", dir=tmp_path, name="r")  # a restarted script
    again.log_embedding(rng.normal(size=(9, 3)), list("abcdefghi"))
    tables = find_logged_tables(again.dir)
    titles = [(t.title(with_run=False), pl.read_parquet(t.path).height) for t in tables]
    assert titles == [
        ("embedding · step 0", 5),
        ("embedding · step 1", 6),
        ("embedding · step 2", 9),
        ("final", 8),  # an explicit title logged again replaces
    ]


def test_end_is_finish(tmp_path):
    experiment = dashboard.init(project="comet", dir=tmp_path)
    experiment.end()
    assert experiment.finished
    with pytest.raises(dashboard.DashboardError, match=r"run '.*' is finished"):
        experiment.log_embedding(np.ones((2, 2)), [1, 2])
