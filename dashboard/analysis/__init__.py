"""What the dashboard measures: k-NN, map faithfulness, structure (outliers, clusters), model
comparison, selection differences and timeline alignment. Plain numpy/polars in, dataclasses
out; nothing here knows about Dash."""
