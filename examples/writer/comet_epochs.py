"""Comet's `log_embedding` epoch loop, with this project's names.

A small MLP learns the digits; after each epoch the hidden layer's activations on the test
images are logged as one embedding set of the group "hidden-layer-1":

    python examples/writer/comet_epochs.py
    python -m dashboard --config configs/runs.yaml

(from the repository root; the script prints a config for the run it wrote, too).
"""

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

import dashboard

epochs = 5
X, y = load_digits(return_X_y=True)
x_train, x_test, y_train, y_test = train_test_split(X / 16.0, y, test_size=300, random_state=0)
model = MLPClassifier(hidden_layer_sizes=(32,), random_state=0)

experiment = dashboard.init(project="comet_style", dir="runs")
for epoch in range(epochs):
    model.partial_fit(x_train, y_train, classes=np.arange(10))
    hidden_layer_activations = np.maximum(x_test @ model.coefs_[0] + model.intercepts_[0], 0)
    labels = [str(label) for label in y_test]
    experiment.log_embedding(
        hidden_layer_activations,
        labels,
        image_data=x_test,
        image_size=(8, 8),
        title="epoch-%s" % epoch,  # noqa: UP031 (as Comet's docs write it)
        group="hidden-layer-1",
    )
experiment.end()

# Where the run went, and how to open it in the dashboard.
print(experiment.how_to_open())
