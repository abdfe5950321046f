"""The writer API: what training scripts import to log embeddings (W&B and Comet style).

It imports no Dash, Flask or plotly: logging from a training loop stays light.
"""

from dashboard.writer.image import Image, create_embedding_image
from dashboard.writer.object3d import Object3D
from dashboard.writer.run import Run, finish, init, log, log_embedding
from dashboard.writer.table import Table

__all__ = [
    "Image",
    "Object3D",
    "Run",
    "Table",
    "create_embedding_image",
    "finish",
    "init",
    "log",
    "log_embedding",
]
