"""`Table`: the W&B-style table training code logs (columns of labels, texts, images, vectors)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from numbers import Integral, Real
from typing import Any

import numpy as np
import polars as pl

from dashboard.errors import DataError
from dashboard.writer.image import Image

#: How a column's cells are stored: the kinds a column may hold.
KINDS = ("vector", "image", "bool", "int", "float", "str", "bytes")


class Table:
    """Rows of values under named columns, built like a ``wandb.Table``.

    Cells may be numbers, strings, :class:`dashboard.Image`, or vectors (list of ints or
    floats, or a 1-D ``np.ndarray``) for an embedding column; ``None`` is a missing value.
    Types are checked when the table is written; the errors name the column and rows.

    Parameters
    ----------
    columns
        Column names. May be left out when ``data`` is a data frame (its names are used);
        given with a frame, they rename its columns.
    data
        Rows: a list of sequences with one value per column, a 2-D numpy array (one row
        per item; numeric arrays stay numpy columns, fast for 100k rows), or a pandas or
        polars data frame, as ``wandb.Table(data=..., columns=...)`` takes them.
    dataframe
        A pandas or polars data frame (instead of ``columns``/``data``).

    Examples
    --------
    >>> t = Table(columns=["id", "embedding"], data=[[0, [0.1, 0.2]], [1, [0.3, 0.4]]])
    >>> t.add_data(2, np.array([0.5, 0.6]))
    >>> t.get_column("id")
    [0, 1, 2]
    """

    def __init__(
        self,
        columns: Sequence[str] | None = None,
        data: Iterable[Sequence[Any]] | np.ndarray | Any = None,
        *,
        dataframe: Any = None,
    ):
        self._columns: dict[str, list[Any] | np.ndarray | pl.Series] = {}
        if dataframe is not None:
            if columns is not None or data is not None:
                raise DataError(
                    "cannot give both `dataframe` and `columns`/`data`\n"
                    "pass a data frame alone, or columns with rows"
                )
            self._from_dataframe(dataframe)
            return
        if is_frame(data):
            # W&B takes a frame as `data` too; its names are the columns unless renamed.
            self._from_dataframe(data)
            if columns is not None:
                self._rename(columns)
            return
        if columns is None:
            columns = []
            if data is not None:
                raise DataError(
                    "`data` needs `columns`: name each column\ne.g. Table(columns=[...])"
                )
        names = [str(c) for c in columns]
        self._check_unique(names)
        self._columns = {name: [] for name in names}
        if isinstance(data, np.ndarray):
            self._from_array(data)
            return
        for row in data if data is not None else ():
            self.add_data(*row)

    # -- building --------------------------------------------------------------------------

    def _from_array(self, array: np.ndarray) -> None:
        """Rows of a 2-D array (or 3-D: one vector per cell), sliced into columns: a numeric
        (100k, 2) array costs two slices, not 200k cells."""
        if array.ndim < 2:
            raise DataError(
                f"`data` must be rows (a 2-D array), got shape {array.shape}\n"
                "reshape it to one row per item, e.g. `data.reshape(-1, 1)`"
            )
        if array.shape[1] != len(self._columns):
            raise DataError(
                f"`data` has {array.shape[1]} values per row, expected {len(self._columns)} "
                f"(columns: {', '.join(repr(c) for c in self._columns)})\n"
                "give one column name per array column"
            )
        for j, name in enumerate(self._columns):
            column = array[:, j]
            self._columns[name] = np.ascontiguousarray(column) if column.ndim == 1 else list(column)

    def _rename(self, columns: Sequence[str]) -> None:
        names = [str(c) for c in columns]
        if len(names) != len(self._columns):
            raise DataError(
                f"`columns` names {len(names)} columns, the data frame has "
                f"{len(self._columns)} ({', '.join(repr(c) for c in self._columns)})\n"
                "leave `columns` out to keep the frame's names, or give one name per column"
            )
        self._check_unique(names)
        self._columns = dict(zip(names, self._columns.values(), strict=True))

    def _from_dataframe(self, frame: Any) -> None:
        if isinstance(frame, pl.LazyFrame):
            frame = frame.collect()
        if isinstance(frame, pl.DataFrame):
            self._check_unique(frame.columns)
            self._columns = {name: frame.get_column(name) for name in frame.columns}
            return
        if is_frame(frame):  # pandas
            names = [str(c) for c in frame.columns]
            self._check_unique(names)
            for name, (_, series) in zip(names, frame.items(), strict=True):
                values = series.to_numpy()
                # Numeric columns stay numpy arrays (fast); objects (images, lists) stay cells.
                self._columns[name] = values if values.dtype.kind in "biuf" else list(values)
            return
        raise DataError(
            f"`dataframe` must be a pandas or polars data frame, got {type(frame).__name__}"
        )

    @staticmethod
    def _check_unique(names: Sequence[str]) -> None:
        seen = set()
        dupes = sorted({n for n in names if n in seen or seen.add(n)})  # type: ignore[func-returns-value]
        if dupes:
            raise DataError(
                f"duplicate column names: {', '.join(repr(d) for d in dupes)}\n"
                "give each column its own name"
            )

    @property
    def columns(self) -> list[str]:
        """Column names, in order."""
        return list(self._columns)

    def __len__(self) -> int:
        return len(next(iter(self._columns.values()), []))

    def _mutable(self, name: str) -> list[Any]:
        column = self._columns[name]
        if not isinstance(column, list):
            column = self._columns[name] = list(column)
        return column

    def add_data(self, *row: Any) -> None:
        """Append one row: one value per column, in column order."""
        if len(row) != len(self._columns):
            raise DataError(
                f"row {len(self)} has {len(row)} values, expected {len(self._columns)} "
                f"(columns: {', '.join(repr(c) for c in self._columns)})\n"
                "give one value per column; use None for a missing value"
            )
        for name, value in zip(self._columns, row, strict=True):
            self._mutable(name).append(value)

    def add_col(self, name: str, values: Sequence[Any] | np.ndarray) -> None:
        """Add a column; it needs one value per existing row."""
        name = str(name)
        if name in self._columns:
            raise DataError(f"column {name!r} already exists\npick another name")
        if self._columns and len(values) != len(self):
            raise DataError(
                f"column {name!r} has {len(values)} values, the table has {len(self)} rows\n"
                "give one value per row"
            )
        if isinstance(values, np.ndarray) and values.ndim == 2:
            values = list(values)  # a matrix: one vector per row
        self._columns[name] = values if isinstance(values, np.ndarray) else list(values)

    def add_computed_columns(self, fn: Callable[[dict[str, Any], int], Mapping[str, Any]]) -> None:
        """Add columns computed per row: ``fn(row, ndx) -> {"new column": value, ...}``.

        ``row`` maps column names to the row's values; every call must return the same keys.
        """
        results = [fn(self._row(ndx), ndx) for ndx in range(len(self))]
        if not results:
            return
        keys = list(results[0]) if isinstance(results[0], Mapping) else []
        for ndx, result in enumerate(results):
            if not isinstance(result, Mapping):
                raise DataError(
                    f"`add_computed_columns`: the function returned {type(result).__name__} "
                    f"for row {ndx}\nreturn a dict of new column values"
                )
            if list(result) != keys:
                raise DataError(
                    f"`add_computed_columns`: row {ndx} returned keys {list(result)}, "
                    f"row 0 returned {keys}\nreturn the same keys for every row"
                )
        for key in keys:
            self.add_col(key, [result[key] for result in results])

    def _row(self, ndx: int) -> dict[str, Any]:
        return {name: column[ndx] for name, column in self._columns.items()}

    def get_column(self, name: str, convert_to: str | None = None) -> Any:
        """Return a column's values as a list, or as a numpy array with ``convert_to="numpy"``."""
        if name not in self._columns:
            raise DataError(
                f"no column {name!r}\navailable columns: "
                f"{', '.join(repr(c) for c in self._columns)}"
            )
        column = self._columns[name]
        if convert_to == "numpy":
            return self.to_polars().get_column(name).to_numpy()
        if convert_to is not None:
            raise DataError(f"`convert_to` must be None or 'numpy', got {convert_to!r}")
        if isinstance(column, np.ndarray):
            return column.tolist()
        return column.to_list() if isinstance(column, pl.Series) else list(column)

    # -- conversion ------------------------------------------------------------------------

    def to_polars(self) -> pl.DataFrame:
        """Return the table as a Polars frame: vectors as Array(Float32), images as PNG bytes.

        Raises
        ------
        DataError
            For ragged vectors or a column mixing kinds of values, naming column and rows.
        """
        return pl.DataFrame([to_series(name, values) for name, values in self._columns.items()])

    def roles(self) -> dict[str, str | None]:
        """Guess the columns' roles: the embedding, the image and the label column."""
        frame_schema = self.to_polars().schema
        return infer_roles(frame_schema)


def is_frame(value: Any) -> bool:
    """A polars or pandas data frame (pandas is not imported to find out)."""
    return isinstance(value, (pl.DataFrame, pl.LazyFrame)) or (
        hasattr(value, "columns") and hasattr(value, "to_numpy") and hasattr(value, "items")
    )


def infer_roles(schema: Mapping[str, pl.DataType]) -> dict[str, str | None]:
    """Guess roles from types: the only vector column is the embedding (else all numeric
    columns), the first Binary column holds images, the first text column is the label."""
    vectors = [n for n, t in schema.items() if isinstance(t, (pl.Array, pl.List))]
    images = [n for n, t in schema.items() if isinstance(t, pl.Binary)]
    texts = [n for n, t in schema.items() if isinstance(t, (pl.String, pl.Categorical))]
    return {
        "embedding": vectors[0] if len(vectors) == 1 else None,
        "image": images[0] if images else None,
        "label": texts[0] if texts else None,
    }


def _kind(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, Image):
        return "image"
    if hasattr(value, "save") and hasattr(value, "mode"):  # a PIL image
        return "image"
    if isinstance(value, (bool, np.bool_)):
        return "bool"
    if isinstance(value, Integral):
        return "int"
    if isinstance(value, Real):
        return "float"
    if isinstance(value, str):
        return "str"
    if isinstance(value, (bytes, bytearray)):
        return "bytes"
    if isinstance(value, (list, tuple, np.ndarray, pl.Series)):
        return "vector"
    return type(value).__name__


def to_series(name: str, values: Any) -> pl.Series:
    """Convert one column's cells to a typed Polars series (see :class:`Table`)."""
    if isinstance(values, pl.Series):
        return values.alias(name)
    if isinstance(values, np.ndarray) and values.dtype.kind in "biuf" and values.ndim == 1:
        return pl.Series(name, values)
    cells = list(values)
    kinds: dict[str, list[int]] = {}
    for row, value in enumerate(cells):
        kind = _kind(value)
        if kind is not None:
            kinds.setdefault(kind, []).append(row)
    nans = [r for r in kinds.get("float", []) if _is_nan(cells[r])]
    if nans and len(nans) == len(kinds["float"]) and len(kinds) > 1:
        # pandas writes a missing string (or image) as NaN: read it as missing.
        for r in nans:
            cells[r] = None
        del kinds["float"]
    if {"int", "float"} <= kinds.keys():  # ints among floats are fine
        kinds["float"] = sorted(kinds.pop("int") + kinds["float"])
    if len(kinds) > 1 or (kinds and next(iter(kinds)) not in KINDS):
        described = "; ".join(f"{k} (rows {_rows(r)})" for k, r in kinds.items())
        raise DataError(
            f"column {name!r} mixes kinds of values: {described}\n"
            "use one kind per column: numbers, strings, images or vectors"
        )
    kind = next(iter(kinds), "float")
    if kind == "vector":
        return _vector_series(name, cells)
    if kind == "image":
        return pl.Series(
            name, [None if v is None else Image(v).png for v in cells], dtype=pl.Binary
        )
    dtype = {
        "bool": pl.Boolean,
        "int": pl.Int64,
        "float": pl.Float64,
        "str": pl.String,
        "bytes": pl.Binary,
    }[kind]
    return pl.Series(name, cells, dtype=dtype, strict=False)


def _vector_series(name: str, cells: list[Any]) -> pl.Series:
    missing = [i for i, v in enumerate(cells) if v is None]
    if missing:
        raise DataError(
            f"column {name!r} has no vector in rows {_rows(missing)}\n"
            "every row of an embedding column needs a vector"
        )
    arrays = [np.asarray(v) for v in cells]
    bad = [i for i, a in enumerate(arrays) if a.ndim != 1 or a.dtype.kind not in "biuf"]
    if bad:
        raise DataError(
            f"column {name!r}: rows {_rows(bad)} are not flat vectors of numbers "
            f"(row {bad[0]}: shape {arrays[bad[0]].shape}, dtype {arrays[bad[0]].dtype})\n"
            "pass list[float], list[int] or a 1-D np.ndarray per row"
        )
    lengths = np.array([a.size for a in arrays])
    if (lengths != lengths[0]).any():
        odd = np.flatnonzero(lengths != lengths[0]).tolist()
        raise DataError(
            f"column {name!r} holds vectors of different lengths: row 0 has {lengths[0]}, "
            f"rows {_rows(odd)} have {sorted(set(lengths[odd].tolist()))}\n"
            "every row needs a vector of the same length"
        )
    if lengths[0] == 0:
        raise DataError(f"column {name!r} holds empty vectors\nlog at least one number per row")
    matrix = np.stack(arrays).astype(np.float32)
    return pl.Series(name, matrix).cast(pl.Array(pl.Float32, int(lengths[0])))


def _is_nan(value: Any) -> bool:
    return isinstance(value, Real) and value != value  # NaN is the one value unequal to itself


def _rows(rows: list[int]) -> str:
    shown = ", ".join(str(r) for r in rows[:5])
    return shown + (f", ... ({len(rows)} in all)" if len(rows) > 5 else "")
