"""`Table`: every constructor path, typed conversion, and each bad input's message."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pytest

from dashboard import Image, Table
from dashboard.errors import DataError


def test_columns_and_data():
    table = Table(columns=["id", "embedding", "label"], data=[[0, [1, 2], "a"], [1, [3, 4], "b"]])
    frame = table.to_polars()
    assert frame.schema["embedding"] == pl.Array(pl.Float32, 2)
    assert frame.schema["id"] == pl.Int64
    assert frame.schema["label"] == pl.String
    assert frame["embedding"].to_numpy().tolist() == [[1, 2], [3, 4]]
    assert len(table) == 2
    assert table.columns == ["id", "embedding", "label"]


def test_add_data_row_by_row_with_each_vector_kind():
    table = Table(columns=["v"])
    table.add_data([1, 2, 3])  # list[int]
    table.add_data([0.5, 1.5, 2.5])  # list[float]
    table.add_data(np.array([7.0, 8.0, 9.0]))  # np.ndarray
    table.add_data((1, 1, 1))  # tuple
    matrix = table.to_polars()["v"].to_numpy()
    assert matrix.dtype == np.float32
    assert matrix.shape == (4, 3)
    np.testing.assert_allclose(matrix[1], [0.5, 1.5, 2.5])


def test_many_numeric_columns():
    table = Table(columns=["x", "y", "z"], data=[[1, 2.5, 3], [4, 5, 6.5]])
    frame = table.to_polars()
    assert frame.schema == pl.Schema({"x": pl.Int64, "y": pl.Float64, "z": pl.Float64})


def test_empty_table_then_columns():
    table = Table()
    table.add_col("a", [1, 2])
    table.add_col("v", np.ones((2, 4)))  # a matrix: one vector per row
    assert table.to_polars().schema["v"] == pl.Array(pl.Float32, 4)
    assert table.get_column("a") == [1, 2]


def test_add_computed_columns():
    table = Table(columns=["x"], data=[[1.0], [2.0], [3.0]])
    table.add_computed_columns(lambda row, ndx: {"embedding": [row["x"], row["x"] ** 2], "n": ndx})
    frame = table.to_polars()
    assert frame["n"].to_list() == [0, 1, 2]
    assert frame["embedding"].to_numpy().tolist() == [[1, 1], [2, 4], [3, 9]]


def test_get_column_list_and_numpy():
    table = Table(columns=["a", "v"], data=[[1, [0.0, 1.0]], [2, [2.0, 3.0]]])
    assert table.get_column("a") == [1, 2]
    assert table.get_column("v", convert_to="numpy").shape == (2, 2)
    with pytest.raises(DataError, match=r"no column 'b'\navailable columns: 'a', 'v'"):
        table.get_column("b")
    with pytest.raises(DataError, match=r"`convert_to` must be None or 'numpy', got 'list'"):
        table.get_column("a", convert_to="list")


def test_pandas_frame_with_images_and_nan_strings():
    df = pd.DataFrame(
        {
            "target": ["1", None, "3"],
            "f0": [0.1, 0.2, 0.3],
            "image": [Image(np.eye(2)) for _ in range(3)],
        }
    )
    frame = Table(dataframe=df).to_polars()
    assert frame["target"].to_list() == ["1", None, "3"]
    assert frame.schema["image"] == pl.Binary
    assert frame.schema["f0"] == pl.Float64


def test_polars_frames_eager_and_lazy():
    df = pl.DataFrame({"a": [1, 2], "v": [[1.0, 2.0], [3.0, 4.0]]})
    assert Table(dataframe=df).to_polars().equals(df)
    assert Table(dataframe=df.lazy()).get_column("a") == [1, 2]
    table = Table(dataframe=df)
    table.add_data(3, [5.0, 6.0])  # a frame-backed table still grows row by row
    assert len(table) == 3


def test_pil_images_in_cells():
    from PIL import Image as PILImage

    table = Table(columns=["img"], data=[[PILImage.new("L", (2, 2))], [None]])
    frame = table.to_polars()
    assert frame["img"][0].startswith(b"\x89PNG")
    assert frame["img"][1] is None


def test_roles_are_guessed_from_types():
    table = Table(columns=["id", "emb", "img", "lab"], data=[[0, [1, 2], Image(np.eye(2)), "x"]])
    assert table.roles() == {"embedding": "emb", "image": "img", "label": "lab"}


def test_wandb_pca_idiom_numpy_rows_as_data(monkeypatch):
    """W&B's docs: `wandb.Table(data=pca_result, columns=["PCA1", "PCA2"])`."""
    from dashboard.writer import table as table_module

    def per_cell(*args):
        raise AssertionError("a numeric array must not be converted cell by cell")

    rng = np.random.default_rng(0)
    pca = rng.normal(size=(100_000, 2))
    monkeypatch.setattr(table_module, "_kind", per_cell)
    monkeypatch.setattr(Table, "add_data", per_cell)
    frame = Table(data=pca, columns=["PCA1", "PCA2"]).to_polars()
    assert frame.schema == pl.Schema({"PCA1": pl.Float64, "PCA2": pl.Float64})
    np.testing.assert_array_equal(frame.to_numpy(), pca)
    monkeypatch.undo()
    rows = Table(columns=["PCA1", "PCA2"], data=pca[:3].tolist()).to_polars()  # as before
    assert rows.equals(Table(data=pca[:3], columns=["PCA1", "PCA2"]).to_polars())


def test_numpy_rows_of_objects_and_of_vectors():
    mixed = np.array([[1, "a"], [2, "b"]], dtype=object)
    frame = Table(data=mixed, columns=["id", "name"]).to_polars()
    assert frame.schema == pl.Schema({"id": pl.Int64, "name": pl.String})
    vectors = np.arange(12.0).reshape(2, 2, 3)  # 2 rows x 2 cells, each a vector of 3
    frame = Table(data=vectors, columns=["a", "b"]).to_polars()
    assert frame.schema["b"] == pl.Array(pl.Float32, 3)
    assert frame["b"].to_numpy().tolist() == [[3, 4, 5], [9, 10, 11]]
    grows = Table(data=np.ones((2, 2)), columns=["x", "y"])
    grows.add_data(5.0, 6.0)  # an array-backed table still grows row by row
    assert grows.get_column("x") == [1.0, 1.0, 5.0]


@pytest.mark.parametrize(
    "frame",
    [
        pd.DataFrame({"PCA1": [0.5, 1.5], "PCA2": [2.0, 3.0]}),
        pl.DataFrame({"PCA1": [0.5, 1.5], "PCA2": [2.0, 3.0]}),
    ],
    ids=["pandas", "polars"],
)
def test_data_frames_as_data_with_or_without_columns(frame):
    table = Table(data=frame)
    assert table.columns == ["PCA1", "PCA2"]
    assert table.get_column("PCA2") == [2.0, 3.0]
    renamed = Table(data=frame, columns=["x", "y"])
    assert renamed.to_polars().columns == ["x", "y"]
    with pytest.raises(
        DataError,
        match=r"`columns` names 3 columns, the data frame has 2 \('PCA1', 'PCA2'\)\n"
        r"leave `columns` out",
    ):
        Table(data=frame, columns=["a", "b", "c"])


def test_numpy_data_errors():
    with pytest.raises(DataError, match=r"`data` must be rows \(a 2-D array\), got shape \(3,\)\n"):
        Table(data=np.ones(3), columns=["a"])
    with pytest.raises(
        DataError,
        match=r"`data` has 3 values per row, expected 2 \(columns: 'PCA1', 'PCA2'\)\n"
        r"give one column name per array column",
    ):
        Table(data=np.ones((4, 3)), columns=["PCA1", "PCA2"])
    with pytest.raises(DataError, match=r"`data` needs `columns`"):
        Table(data=np.ones((4, 2)))


# -- bad input ---------------------------------------------------------------------------


def test_wrong_row_length():
    table = Table(columns=["a", "b"])
    with pytest.raises(
        DataError, match=r"row 0 has 3 values, expected 2 \(columns: 'a', 'b'\)\n.*None"
    ):
        table.add_data(1, 2, 3)
    with pytest.raises(DataError, match=r"row 1 has 1 values, expected 2"):
        Table(columns=["a", "b"], data=[[1, 2], [3]])


def test_ragged_vectors():
    table = Table(columns=["v"], data=[[[1, 2]], [[1, 2]], [[1, 2, 3]], [[1]]])
    with pytest.raises(
        DataError,
        match=r"column 'v' holds vectors of different lengths: "
        r"row 0 has 2, rows 2, 3 have \[1, 3\]",
    ):
        table.to_polars()


def test_mixed_types_in_a_column():
    table = Table(columns=["a"], data=[["x"], [1.5], ["y"]])
    with pytest.raises(
        DataError, match=r"column 'a' mixes kinds of values: str \(rows 0, 2\); float \(rows 1\)"
    ):
        table.to_polars()


def test_unknown_cell_type():
    with pytest.raises(DataError, match=r"column 'a' mixes kinds of values: dict \(rows 0\)"):
        Table(columns=["a"], data=[[{"k": 1}]]).to_polars()


def test_missing_vector():
    with pytest.raises(DataError, match=r"column 'v' has no vector in rows 1"):
        Table(columns=["v"], data=[[[1, 2]], [None]]).to_polars()


def test_nested_or_text_vectors():
    with pytest.raises(DataError, match=r"rows 0 are not flat vectors of numbers .*shape \(2, 2\)"):
        Table(columns=["v"], data=[[np.ones((2, 2))]]).to_polars()
    with pytest.raises(DataError, match=r"not flat vectors of numbers .*dtype <U1"):
        Table(columns=["v"], data=[[["a", "b"]]]).to_polars()


def test_empty_vectors():
    with pytest.raises(DataError, match=r"column 'v' holds empty vectors"):
        Table(columns=["v"], data=[[[]], [[]]]).to_polars()


def test_duplicate_columns():
    with pytest.raises(DataError, match=r"duplicate column names: 'a'\ngive each column"):
        Table(columns=["a", "b", "a"])
    with pytest.raises(DataError, match=r"duplicate column names: 'x'"):
        Table(dataframe=pd.DataFrame([[1, 2]], columns=["x", "x"]))


def test_add_col_errors():
    table = Table(columns=["a"], data=[[1], [2]])
    with pytest.raises(DataError, match=r"column 'b' has 3 values, the table has 2 rows"):
        table.add_col("b", [1, 2, 3])
    with pytest.raises(DataError, match=r"column 'a' already exists"):
        table.add_col("a", [1, 2])


def test_computed_columns_errors():
    table = Table(columns=["a"], data=[[1], [2]])
    with pytest.raises(DataError, match=r"row 1 returned keys \['y'\], row 0 returned \['x'\]"):
        table.add_computed_columns(lambda row, ndx: {"x": 1} if ndx == 0 else {"y": 1})
    with pytest.raises(DataError, match=r"the function returned int for row 0"):
        table.add_computed_columns(lambda row, ndx: 1)


def test_constructor_errors():
    with pytest.raises(DataError, match=r"cannot give both `dataframe` and `columns`/`data`"):
        Table(columns=["a"], dataframe=pd.DataFrame({"a": [1]}))
    with pytest.raises(DataError, match=r"`data` needs `columns`"):
        Table(data=[[1]])
    with pytest.raises(
        DataError, match=r"`dataframe` must be a pandas or polars data frame, got list"
    ):
        Table(dataframe=[[1]])
