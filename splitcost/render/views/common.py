"""Registering the usual four views of a result from its grid, its JSON kind and its CSV rows."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from splitcost.render.grid import Grid
from splitcost.render.registry import GRIDS, ROWS, SUMMARIES, Format, RenderOptions, view

GridFn = Callable[[Any, RenderOptions], Grid | Sequence[Grid]]
RowsFn = Callable[[Any], Iterable[Mapping[str, Any]]]


def register(kind: str, json_kind: str, grid: GridFn,
             csv: tuple[Sequence[str], RowsFn] | None = None,
             summary: Callable[[Any], str] | None = None) -> None:
    """Table and Markdown from ``grid``; JSON in the envelope; CSV (and a notebook's DataFrame)
    from ``csv`` when given; ``summary``: the one-line ``repr``."""
    GRIDS[kind] = grid
    if csv is not None:
        ROWS[kind] = csv
    if summary is not None:
        SUMMARIES[kind] = summary

    def table(result: Any, options: RenderOptions) -> Any:
        from splitcost.render.table import render

        return render(grid(result, options))

    def markdown(result: Any, options: RenderOptions) -> str:
        from splitcost.render.markdown import render

        return render(grid(result, options))

    def as_json(result: Any, options: RenderOptions) -> str:
        from splitcost.render.jsonout import result_json

        return result_json(json_kind, result)

    view(kind, Format.TABLE)(table)
    view(kind, Format.MARKDOWN)(markdown)
    view(kind, Format.JSON)(as_json)
    if csv is not None:
        columns, rows = csv

        def as_csv(result: Any, options: RenderOptions) -> str:
            from splitcost.render.csvout import rows_to_csv

            return rows_to_csv(columns, rows(result))

        view(kind, Format.CSV)(as_csv)
