"""Thumbnails made once per run by ``Run.create_embedding_image`` and reused by reference.

Comet's docs build the sprite once and pass its URL to every later ``log_embedding``; here the
URL is ``"sprite:<hash>"`` and the thumbnails live in ``<run>/sprites/<hash>.parquet`` (one PNG
per row), so each epoch's table copies them instead of encoding every image again.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import polars as pl

from dashboard.errors import DataError
from dashboard.files import atomic_write

SPRITES_DIR = "sprites"
PREFIX = "sprite:"
_SIZE_KEY = "image_size"


def store_sprite(run_dir: Path, thumbnails: list[bytes], image_size: tuple[int, int]) -> str:
    """Write the thumbnails under the run (once: the same images give the same file) and
    return the reference ``"sprite:<hash>"`` that :func:`load_sprite` resolves."""
    width, height = (int(v) for v in image_size)
    digest = hashlib.blake2b(f"{width}x{height}".encode(), digest_size=8)
    for png in thumbnails:
        digest.update(len(png).to_bytes(8, "little"))
        digest.update(png)
    key = digest.hexdigest()
    path = run_dir / SPRITES_DIR / f"{key}.parquet"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        frame = pl.DataFrame({"image": pl.Series(thumbnails, dtype=pl.Binary)})
        metadata = {_SIZE_KEY: json.dumps([width, height])}
        atomic_write(path, lambda tmp: frame.write_parquet(tmp, metadata=metadata))
    return PREFIX + key


def load_sprite(
    run_dir: Path, reference: str, rows: int, image_size: tuple[int, int] | None
) -> list[bytes]:
    """The thumbnails a reference names, checked against the rows being logged.

    Raises
    ------
    DataError
        For a string that is not a reference of this run, a row count that differs from the
        sprite's, or an ``image_size`` other than the sprite's.
    """
    key = reference[len(PREFIX) :] if reference.startswith(PREFIX) else ""
    path = run_dir / SPRITES_DIR / f"{key}.parquet"
    if not key or not key.isalnum() or not path.is_file():
        raise DataError(
            f"unknown `image_data` reference {reference!r}: no such sprite in run "
            f"{str(run_dir)!r}\npass the reference `run.create_embedding_image(...)` returned "
            "in this run, or the images themselves"
        )
    thumbnails = pl.read_parquet(path).get_column("image").to_list()
    if len(thumbnails) != rows:
        raise DataError(
            f"`image_data` {reference!r} holds {len(thumbnails)} images for {rows} vectors\n"
            "log the rows the sprite was made from, in the same order"
        )
    stored = json.loads(pl.read_parquet_metadata(path).get(_SIZE_KEY) or "null")
    if image_size is not None and stored and list(map(int, image_size)) != stored:
        raise DataError(
            f"`image_size` is {tuple(image_size)!r}, the sprite {reference!r} was made at "
            f"{tuple(stored)!r}\npass the size given to `create_embedding_image`, or leave it out"
        )
    return thumbnails
