"""What a map can be coloured and sized by, and whether it can draw its points as images:
the scatter panel's choices for a table (a mixin of :class:`plugins.scatter.ScatterPanel`)."""

from __future__ import annotations

from typing import Any

NO_COLOUR = "__none__"
#: String columns with more distinct values than this are text, not categories to colour by.
MAX_COLOUR_VALUES = 100


class MapChoices:
    """The colour, size and image choices of a map of a table (uses the panel's ``context``
    and ``options``)."""

    context: Any
    options: Any

    def default_color(self, table: str) -> str:
        """The colour column for ``table``: the option if the table has it, else its label,
        else none."""
        dataset = self.context.datasets[table]
        if self.options.color in dataset.metadata_columns:
            return self.options.color
        return dataset.config.color or dataset.config.label or NO_COLOUR

    def colour_columns(self, table: str) -> list[str]:
        """Columns worth colouring by: not the text or id column, not a string column with
        more values than a legend can show."""
        dataset = self.context.datasets[table]
        meta = dataset.metadata()
        skip = {dataset.config.text, dataset.config.id} - {dataset.config.label}
        keep = []
        for column in dataset.metadata_columns:
            if column in skip:
                continue
            series = meta.get_column(column)
            if (
                column not in (dataset.config.label, dataset.config.color)
                and not series.dtype.is_numeric()
                and series.n_unique() > MAX_COLOUR_VALUES
            ):
                continue
            keep.append(column)
        return keep

    def colour_options(self, table: str) -> list[dict[str, str]]:
        """Dropdown entries: "none", the columns worth colouring by, the computed colours."""
        return (
            [{"label": "(none)", "value": NO_COLOUR}]
            + [{"label": c, "value": c} for c in self.colour_columns(table)]
            + self.context.colour_choices(table)
        )

    def size_options(self, table: str) -> list[dict[str, str]]:
        """Size dropdown entries: "none" and the numeric metadata columns of ``table``."""
        dataset = self.context.datasets[table]
        numeric = [c for c in dataset.metadata_columns if dataset.schema[c].is_numeric()]
        return [{"label": "(none)", "value": NO_COLOUR}] + [
            {"label": c, "value": c} for c in numeric
        ]

    def images_style(self, table: str) -> dict[str, str] | None:
        """The Images switch shows only for a table with images."""
        return None if self.context.datasets[table].config.image else {"display": "none"}

    def colour_choice(self, table: str, colour: str | None) -> tuple[list[dict[str, str]], str]:
        """Colour options of ``table`` and the colour to use: ``colour`` if valid there."""
        options = self.colour_options(table)
        if colour not in {o["value"] for o in options}:
            colour = self.default_color(table)
        return options, colour
