"""The digits example of W&B's embedding projector docs, with this project's names.

Run it from the repository root, then open the logged table (the script prints a config
for the run it wrote, too):

    python examples/writer/wandb_digits.py
    python -m dashboard --config configs/runs.yaml
"""

from sklearn.datasets import load_digits

import dashboard

run = dashboard.init(project="embedding_tutorial", dir="runs")

# Load the dataset
ds = load_digits(as_frame=True)
df = ds.data

# Create a "target" column
df["target"] = ds.target.astype(str)
cols = df.columns.tolist()
df = df[cols[-1:] + cols[:-1]]

# Create an "image" column
df["image"] = df.apply(lambda row: dashboard.Image(row[1:].values.reshape(8, 8) / 16.0), axis=1)
cols = df.columns.tolist()
df = df[cols[-1:] + cols[:-1]]

dashboard.log({"digits": df})
dashboard.finish()

# Where the run went, and how to open it in the dashboard.
print(run.how_to_open())
