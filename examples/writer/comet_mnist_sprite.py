"""Comet's MNIST embedding example, with this project's names and sklearn's digits (no download).

The sprite is made once with `create_embedding_image` (pixels rounded to 0 or 2, black made
transparent so each thumbnail shows its label's colour behind the digit); every epoch then
logs the hidden layer's activations with `image_data=image_url`, reusing those thumbnails:

    python examples/writer/comet_mnist_sprite.py
"""

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

import dashboard

epochs = 5
X, y = load_digits(return_X_y=True)
x_train, x_test, y_train, y_test = train_test_split(
    X.astype("float32") / 16.0, y, test_size=300, random_state=0
)
model = MLPClassifier(hidden_layer_sizes=(32,), random_state=0)

# One colour per digit, as Comet's example gives each label its own.
PALETTE = [
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


def label_to_color(index):
    return PALETTE[y_test[index]]


experiment = dashboard.init(project="comet_mnist", dir="runs")

image, image_url = experiment.create_embedding_image(
    image_data=x_test,
    # each pixel rounded to 0 or 1, then doubled: the sprite draws the set's 0..2 as
    # black..white, so a digit is pure white ink
    image_preprocess_function=lambda matrix: np.round(matrix, 0) * 2,
    # black pixels let the background through...
    image_transparent_color=(0, 0, 0),
    image_size=(8, 8),  # sklearn's digits are 8x8 (Comet's MNIST is 28x28)
    # ...which is the colour of the row's label
    image_background_color_function=label_to_color,
)

for epoch in range(epochs):
    model.partial_fit(x_train, y_train, classes=np.arange(10))
    hidden_layer_activations = np.maximum(x_test @ model.coefs_[0] + model.intercepts_[0], 0)
    experiment.log_embedding(
        vectors=hidden_layer_activations,
        labels=y_test,
        image_data=image_url,
        image_size=(8, 8),
        title="epoch-%s" % epoch,  # noqa: UP031 (as Comet's docs write it)
        group="hidden-layer-1",
    )
experiment.end()

# Where the run went, and how to open it in the dashboard.
print(experiment.how_to_open())
