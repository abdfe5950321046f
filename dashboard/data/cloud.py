"""Tables in object storage (S3, GCS, Azure, HTTP): read by Polars with storage options.

The options go to Polars as they are (``aws_endpoint_url``, ``aws_region``, ...; see Polars'
``scan_parquet(storage_options=...)``). A value written ``${NAME}`` is read from the
environment variable ``NAME`` when the table is opened, so secrets stay out of the YAML.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

from dashboard.errors import DataError

SCHEMES = ("s3", "s3a", "gs", "gcs", "gcp", "az", "azure", "abfs", "abfss", "adl", "http", "https")
_ENV = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")


def is_cloud(path: str) -> bool:
    """Whether ``path`` is an object-storage or HTTP URL that Polars reads itself."""
    scheme, sep, _ = path.partition("://")
    return bool(sep) and scheme.lower() in SCHEMES


def expand_options(options: Mapping[str, str], *, where: str) -> dict[str, str]:
    """``options`` with each ``${NAME}`` value read from the environment (``where``: the
    config place of the options, e.g. ``team.yaml: `tables.t.storage_options``).

    Raises
    ------
    DataError
        When a named environment variable is not set.
    """
    expanded = {}
    for key, value in options.items():
        match = _ENV.match(str(value))
        if match:
            name = match.group(1)
            if name not in os.environ:
                raise DataError(
                    f"{where}.{key}`: environment variable {name!r} is not set\n"
                    f"set {name} for the server, or write the value into the config"
                )
            value = os.environ[name]
        expanded[str(key)] = str(value)
    return expanded
