"""Built-in table source ``sklearn://<name>``: scikit-learn's bundled data sets, no download.

The first use writes the data set to parquet in the cache directory; later uses scan that file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from dashboard.errors import DataError, quote_list
from dashboard.files import atomic_write
from dashboard.plugin.hookspecs import hookimpl
from dashboard.writer.image import encode_png

PREFIX = "sklearn://"


def _digits() -> pl.DataFrame:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = (bunch.images / 16.0 * 255).round().astype(np.uint8)
    # Upscale 8x8 -> 32x32 so the thumbnail is legible.
    big = images.repeat(4, axis=1).repeat(4, axis=2)
    n = len(bunch.target)
    return pl.DataFrame(
        {
            "id": np.arange(n),
            "pixels": bunch.data.astype(np.float32),
            "target": bunch.target.astype(np.int64),
            "label": [f"digit {t}" for t in bunch.target],
            "text": [
                f"Handwritten {t}, scan {i} of {n} (UCI ML digits, 8x8 at 17 grey levels)"
                for i, t in enumerate(bunch.target)
            ],
            "ink": bunch.data.sum(axis=1).astype(np.float32),
            "image": [encode_png(im) for im in big],
        }
    ).with_columns(pl.col("pixels").cast(pl.Array(pl.Float32, 64)))


def _iris() -> pl.DataFrame:
    from sklearn.datasets import load_iris

    bunch = load_iris()
    columns = {
        name.replace(" (cm)", "").replace(" ", "_"): bunch.data[:, i]
        for i, name in enumerate(bunch.feature_names)
    }
    return pl.DataFrame({"id": np.arange(len(bunch.target)), **columns}).with_columns(
        species=pl.Series([bunch.target_names[t] for t in bunch.target])
    )


BUILDERS = {"digits": _digits, "iris": _iris}
#: Part of the file name: bump when a builder's columns change, so old caches are not reused.
FORMAT_VERSION = 2


def materialise(name: str, cache_dir: Path) -> Path:
    """Write data set ``name`` to parquet under ``cache_dir`` once; return the file."""
    target = Path(cache_dir) / "datasets" / f"{name}-v{FORMAT_VERSION}.parquet"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    frame = BUILDERS[name]()
    # Atomic: a concurrent reader never sees half a file.
    return atomic_write(target, frame.write_parquet)


@hookimpl
def dashboard_scan_table(source: str, cache_dir: Path) -> pl.LazyFrame | None:
    if not source.startswith(PREFIX):
        return None
    name = source[len(PREFIX) :]
    if name not in BUILDERS:
        raise DataError(
            f"unknown scikit-learn data set {name!r} in {source!r}\n"
            f"allowed values: {quote_list(PREFIX + b for b in BUILDERS)}"
        )
    return pl.scan_parquet(materialise(name, cache_dir))
