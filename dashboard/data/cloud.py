"""Tables in object storage (S3, GCS, Azure, HTTP): read by Polars with storage options.

The options go to Polars as they are (``aws_endpoint_url``, ``aws_region``, ...; see Polars'
``scan_parquet(storage_options=...)``). A value written ``${NAME}`` is read from the
environment variable ``NAME`` when the table is opened, so secrets stay out of the YAML.
"""

from __future__ import annotations

import fnmatch
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dashboard.errors import DataError

SCHEMES = ("s3", "s3a", "gs", "gcs", "gcp", "az", "azure", "abfs", "abfss", "adl", "http", "https")
logger = logging.getLogger(__name__)
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


#: Polars (object_store) S3 option names, by the pyarrow ``S3FileSystem`` argument each sets.
_S3_OPTIONS = {
    "access_key": ("aws_access_key_id", "access_key_id"),
    "secret_key": ("aws_secret_access_key", "secret_access_key"),
    "session_token": ("aws_session_token", "aws_token", "session_token", "token"),
    "region": ("aws_region", "aws_default_region", "region", "default_region"),
    "endpoint_override": ("aws_endpoint_url", "aws_endpoint", "endpoint_url", "endpoint"),
}
_S3_IGNORED = {"aws_allow_http", "allow_http", "aws_virtual_hosted_style_request"}
_GLOB = re.compile(r"[*?\[]")


@dataclass(frozen=True)
class ObjectFiles:
    """The parquet objects behind an object-store URL, as pyarrow reads them.

    Listing them is one request, and their sizes and modification times name the table's
    content cheaply (:meth:`identity`), so a cached map or matrix of the table is found
    without downloading its vectors; the vectors themselves are read a row group at a time.
    """

    filesystem: Any
    #: ``bucket/key`` paths in the order Polars reads them (sorted).
    paths: tuple[str, ...]
    sizes: tuple[int, ...]
    mtimes_ns: tuple[int, ...]

    def identity(self) -> list[tuple[str, int, int]]:
        """Each object's path, size and modification time."""
        return list(zip(self.paths, self.sizes, self.mtimes_ns, strict=True))


def s3_filesystem(options: Mapping[str, str]) -> Any | None:
    """A pyarrow ``S3FileSystem`` for Polars' S3 ``options``, or None when an option has no
    pyarrow counterpart (the table is then read by Polars alone)."""
    from pyarrow import fs

    names = {alias: arg for arg, aliases in _S3_OPTIONS.items() for alias in aliases}
    kwargs: dict[str, Any] = {}
    for key, value in options.items():
        key = key.lower()
        if key in _S3_IGNORED:
            continue
        if key not in names:
            logger.info("storage option %r has no pyarrow counterpart: Polars reads the table", key)
            return None
        kwargs[names[key]] = value
    endpoint = kwargs.get("endpoint_override")
    if endpoint and "://" in endpoint:
        scheme, _, rest = endpoint.partition("://")
        kwargs["scheme"], kwargs["endpoint_override"] = scheme, rest.rstrip("/")
    return fs.S3FileSystem(**kwargs)


def list_parquet_objects(url: str, options: Mapping[str, str]) -> ObjectFiles | None:
    """The parquet objects an ``s3://`` URL (an object, a glob or a folder) names, or None
    when they cannot be listed this way (another scheme, an option pyarrow lacks, no
    objects, an error): the caller then reads the table through Polars, which says what is
    wrong."""
    from pyarrow import fs

    scheme, _, rest = url.partition("://")
    if scheme.lower() not in ("s3", "s3a"):
        return None
    try:
        filesystem = s3_filesystem(options)
        if filesystem is None:
            return None
        glob_at = _GLOB.search(rest)
        if glob_at is None:
            info = filesystem.get_file_info(rest)
            # A folder: its parquet files, as Polars reads a folder.
            base = None if info.type == fs.FileType.File else rest.rstrip("/")
            wanted = lambda path: path.lower().endswith(".parquet")  # noqa: E731
        else:
            base = rest[: glob_at.start()].rpartition("/")[0]
            wanted = lambda path: fnmatch.fnmatchcase(path, rest)  # noqa: E731
        if base is None:
            infos = [info]
        else:
            listed = filesystem.get_file_info(fs.FileSelector(base, recursive=True))
            infos = [i for i in listed if i.type == fs.FileType.File and wanted(i.path)]
    except (OSError, ValueError) as exc:  # pyarrow's errors for unreachable stores and keys
        logger.info("cannot list %r with pyarrow (%s): Polars reads the table", url, exc)
        return None
    if not infos:
        return None
    infos.sort(key=lambda i: i.path)
    return ObjectFiles(
        filesystem,
        tuple(i.path for i in infos),
        tuple(int(i.size or 0) for i in infos),
        tuple(int(i.mtime_ns or 0) for i in infos),
    )
