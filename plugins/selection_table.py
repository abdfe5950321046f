"""Table panel: the selected rows with their metadata, thumbnails and map coordinates;
export as CSV or parquet."""

from __future__ import annotations

import io
from typing import Any

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
import numpy as np
import polars as pl
from dash import Dash, Input, Output, State, dcc, html, no_update
from pydantic import Field

from dashboard.plugin import (
    LINK_ROWS,
    PROJECTION_STORE,
    SELECTION_STORE,
    DashboardError,
    Dataset,
    Panel,
    PanelContext,
    PanelOptions,
    Projection,
    Rows,
    action,
    checked,
    hookimpl,
)

HINT = "Select points on the map to list them here."
AXES = ("x", "y", "z")


def selection_info(table: str, selected: int, shown: int) -> str:
    """The grid's line: how many rows are selected, and what the grid and the page's
    address (a reload, a shared link) keep of them."""
    noun = "row" if selected == 1 else "rows"
    kept = []
    if shown < selected:
        kept.append(f"grid shows the first {shown:,}; exports have all")
    if selected >= LINK_ROWS:
        # A person who reloads or shares the page would otherwise lose rows unawares.
        kept.append(f"a link or a reload keeps the first {LINK_ROWS:,}")
    return f"{selected:,} selected {noun} of {table}" + (f" ({'; '.join(kept)})" if kept else "")


class TableOptions(PanelOptions):
    limit: int = Field(
        5000, ge=1, le=100_000, description="Most rows shown in the grid (exports have all)."
    )
    height: int = Field(360, ge=120, le=2000, description="Grid height in pixels.")


#: The export's column of each row's cluster name (the map's Labels).
CLUSTER_LABEL = "cluster label"


def selection_frame(
    context: PanelContext, dataset: Dataset, rows: list[int], projection: Projection | None
) -> pl.DataFrame:
    """The selected rows: `row`, the metadata columns, and the map coordinates when the
    projection is of this table (with each row's cluster name once the map's clusters are
    named)."""
    index = np.asarray(rows, dtype=np.int64)
    meta = dataset.metadata()
    frame = meta[index].select([c for c in meta.columns if c in dataset.metadata_columns])
    frame = frame.with_columns(pl.Series("row", index)).select("row", pl.exclude("row"))
    coords = None
    if projection is not None and projection.table == dataset.name:
        try:
            coords = context.coordinates(projection)
        except DashboardError:
            coords = None
    if coords is not None:
        frame = frame.with_columns(
            pl.Series(AXES[i], coords[index, i]) for i in range(coords.shape[1])
        )
        # The names of the rows' clusters, once the map's Labels have named them.
        named = context.row_cluster_labels(projection, index)  # type: ignore[arg-type]
        if named is not None:
            frame = frame.with_columns(pl.Series(CLUSTER_LABEL, named))
    return frame


class TablePanel(Panel):
    """An AG Grid of the selection (sortable, filterable) with export buttons."""

    name = "table"
    Options = TableOptions
    options: TableOptions

    def layout(self) -> Any:
        buttons = html.Div(
            [
                dbc.Button("CSV", id=self.id("csv"), size="sm", outline=True, color="secondary"),
                dbc.Button(
                    "Parquet", id=self.id("parquet"), size="sm", outline=True, color="secondary"
                ),
                dcc.Download(id=self.id("download")),
            ],
            className="d-flex gap-2",
        )
        grid = dag.AgGrid(
            id=self.id("grid"),
            rowData=[],
            columnDefs=[],
            defaultColDef={"sortable": True, "filter": True, "resizable": True, "minWidth": 80},
            dashGridOptions={"rowHeight": 40, "animateRows": False},
            # A row's id is its table row: a click on it focuses that row on the map.
            getRowId="params.data._row_id",
            columnSize="autoSize",
            style={"height": f"{self.options.height}px", "width": "100%"},
            className="ag-theme-alpine dashboard-rows-grid",
        )
        body = [
            html.Div(HINT, id=self.id("info"), className="small text-body-secondary mb-2"),
            grid,
            dcc.Store(id=self.action_id()),
        ]
        return self.card("Selected rows", body, controls=buttons)

    def register_callbacks(self, app: Dash) -> None:
        @app.callback(
            Output(self.id("grid"), "rowData"),
            Output(self.id("grid"), "columnDefs"),
            Output(self.id("info"), "children"),
            Input(SELECTION_STORE, "data"),
            # The map's coordinates are columns: a reopened page's map arrives after its
            # selection, and another map moves every row.
            Input(PROJECTION_STORE, "data"),
        )
        @checked
        def show(selection: Rows | None, projection: Any) -> tuple[Any, Any, Any]:
            return self.render(selection, Projection.from_store(projection))

        @app.callback(
            Output(self.action_id(), "data"),
            Input(self.id("grid"), "cellClicked"),
            State(SELECTION_STORE, "data"),
            prevent_initial_call=True,
        )
        @checked
        def focus(clicked: Any, selection: Rows | None) -> Any:
            dataset, _ = self._selected(selection)
            row = str((clicked or {}).get("rowId") or "")
            if dataset is None or not row.isdigit() or int(row) >= dataset.n_rows:
                return no_update
            return action("focus", table=dataset.name, row=int(row))

        @app.callback(
            Output(self.id("download"), "data"),
            Output(self.id("info"), "children", allow_duplicate=True),
            Input(self.id("csv"), "n_clicks"),
            Input(self.id("parquet"), "n_clicks"),
            State(SELECTION_STORE, "data"),
            State(PROJECTION_STORE, "data"),
            prevent_initial_call=True,
        )
        @checked
        def export(
            csv: Any, parquet: Any, selection: Rows | None, projection: Any
        ) -> tuple[Any, Any]:
            from dash import ctx

            kind = "parquet" if ctx.triggered_id == self.id("parquet") else "csv"
            return self.export(kind, selection, Projection.from_store(projection))

    def _selected(self, selection: Any) -> tuple[Dataset | None, list[int]]:
        selection = selection if isinstance(selection, dict) else {}
        dataset = self.context.dataset(selection.get("table"))
        rows = [r for r in selection.get("rows") or [] if isinstance(r, int)]
        if dataset is None:
            return None, []
        n = dataset.n_rows
        return dataset, [r for r in rows if 0 <= r < n]

    def render(self, selection: Any, projection: Projection | None) -> tuple[Any, Any, Any]:
        """(rowData, columnDefs, info line) of the grid for a selection."""
        dataset, rows = self._selected(selection)
        if dataset is None or not rows:
            return [], [], HINT
        shown = rows[: self.options.limit]
        frame = selection_frame(self.context, dataset, shown, projection)
        records = frame.to_dicts()
        for record in records:  # AG Grid's row id (a string): the table row
            record["_row_id"] = str(record["row"])
        # headerName as is: AG Grid would title-case `target` into "Target".
        columns: list[dict[str, Any]] = [{"field": c, "headerName": c} for c in frame.columns]
        for axis in AXES:
            if axis in frame.columns:
                columns[frame.columns.index(axis)]["valueFormatter"] = {
                    "function": "d3.format('.4~f')(params.value)"
                }
        if dataset.config.image:
            for record in records:
                caption = str(record.get(dataset.config.label or "row", record["row"]))
                alt = caption.replace("[", "(").replace("]", ")")
                record["image"] = f"![{alt}]({self.context.image_url(dataset, record['row'])})"
            columns.insert(
                1,
                {
                    "field": "image",
                    "headerName": "image",
                    "cellRenderer": "markdown",
                    "width": 80,
                    "minWidth": 80,
                    "sortable": False,
                    "filter": False,
                },
            )
        return records, columns, selection_info(dataset.name, len(rows), len(shown))

    def export(self, kind: str, selection: Any, projection: Projection | None) -> tuple[Any, Any]:
        """A download of the selection as CSV or parquet, or a message why not."""
        dataset, rows = self._selected(selection)
        if dataset is None or not rows:
            return no_update, "Select points first: the export holds the selected rows."
        frame = selection_frame(self.context, dataset, rows, projection)
        stem = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in dataset.name)
        buffer = io.BytesIO()
        if kind == "parquet":
            frame.write_parquet(buffer)
        else:
            frame.write_csv(buffer)
        filename = f"{stem}-selection.{kind}"
        return dcc.send_bytes(buffer.getvalue(), filename), no_update


@hookimpl
def dashboard_panels() -> list[type[Panel]]:
    return [TablePanel]
