"""The store schemas and `checked`: a callback's arguments held to them at the boundary."""

from __future__ import annotations

from typing import Any

import pytest

from dashboard.plugin import BadInputError, Focus, Highlight, RequestValue, Rows, checked


@checked
def panel_callback(clicks: Any, selection: Rows | None, focus: Focus | None = None) -> Any:
    return clicks, selection, focus


def test_values_that_fit_reach_the_callback_as_sent():
    selection = {"table": "digits", "rows": [1, 2, 3]}
    assert panel_callback(None, selection, {"table": "digits", "row": 4}) == (
        None,
        selection,
        {"table": "digits", "row": 4},
    )
    assert panel_callback(["anything"], None) == (["anything"], None, None)  # Any passes


@pytest.mark.parametrize(
    ("selection", "where"),
    [
        ({"table": "digits", "rows": ["a"]}, r"rows\.0: Input should be a valid integer"),
        ({"table": "digits", "rows": [-1]}, r"rows\.0: Input should be greater than or equal"),
        ({"table": "digits", "rows": 5}, r"rows: Input should be a valid list"),
        ({"table": ["x"], "rows": []}, r"table: Input should be a valid string"),
        ({"rows": [], "extra": 1}, r"extra: Extra inputs are not permitted"),
        ([1, 2], r"Input should be a valid dictionary or instance of Rows"),
    ],
)
def test_a_value_that_does_not_fit_names_the_argument_and_place(selection, where):
    with pytest.raises(
        BadInputError, match=rf"^the page sent a `selection` that does not fit \({where}"
    ) as caught:
        panel_callback(None, selection)
    assert str(caught.value).endswith("\nreload the page")


def test_other_store_schemas():
    assert Highlight.model_validate({"table": "t", "rows": [1], "label": "near"}).label == "near"
    with pytest.raises(ValueError, match="at most 300 characters"):
        Highlight.model_validate({"label": "x" * 301})
    with pytest.raises(ValueError, match="Input should be 2 or 3"):
        RequestValue.model_validate({"table": "t", "reducer": "pca", "dims": "three"})
