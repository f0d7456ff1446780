"""Rich terminal tables from Grids."""

from __future__ import annotations

from collections.abc import Sequence

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from splitcost.render.grid import Grid


def render(grid: Grid | Sequence[Grid], verdict: str | None = None) -> RenderableType:
    if not isinstance(grid, Grid):
        return Group(*(render(g) for g in grid))
    parts: list[RenderableType] = [Text(grid.title, style="bold")]
    parts += [Text(line, style="dim") for line in grid.context]
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for i, col in enumerate(grid.columns):
        # Numbers never wrap; words may, so that a narrow terminal loses no figure.
        table.add_column(col, justify="right" if i in grid.right else "left",
                         no_wrap=i in grid.right or i in grid.keep, overflow="fold")
    for i, row in enumerate(grid.rows):
        style = "bold green" if i in grid.bold_rows else ("dim" if i in grid.dim_rows else None)
        table.add_row(*row, style=style)
    parts.append(table)
    line = verdict or grid.verdict
    if line:
        parts.append(Text(line, style="bold"))
    parts += [Text(note, style="dim") for note in grid.notes]
    return Group(*parts)
