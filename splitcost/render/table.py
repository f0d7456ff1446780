"""Rich terminal tables from Grids, laid out for the width they are printed at.

The layout is chosen when the table is printed, from the console's width: every column when they
fit; else the columns by the grid's priority, as many as fit, and a note naming those left out;
below the grid's ``blocks_below`` width (or when even the first columns do not fit), one block
per row, each figure with its column's name. A figure is never cropped: a column that is shown
is as wide as its widest cell, and only the columns the grid lets wrap (words) may wrap.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from rich import box
from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.table import Table
from rich.text import Text

from splitcost.render.grid import Grid

GAP = 3  # between two columns: a cell of padding each side and the (blank) rule between
BLOCK_INDENT = 2


def render(grid: Grid | Sequence[Grid], verdict: str | None = None) -> RenderableType:
    if not isinstance(grid, Grid):
        return Group(*(render(g) for g in grid))
    return FittedGrid(grid, verdict)


def natural_widths(grid: Grid) -> list[int]:
    """Each column's width with no cell wrapped: its widest cell or its header."""
    widths = [cell_len(c) for c in grid.columns]
    for row in grid.rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], cell_len(cell))
    return widths


def _min_widths(grid: Grid, natural: Sequence[int]) -> list[int]:
    """The narrowest each column may be: its natural width, or for a column of words, its
    longest word (at least 10 cells, or its natural width when narrower)."""
    out = list(natural)
    for i in grid.wrap:
        words = [cell_len(w) for text in (grid.columns[i], *(row[i] for row in grid.rows))
                 for w in text.split()]
        out[i] = min(natural[i], max([10, *words]))
    return out


def _span(widths: Iterable[int]) -> int:
    ws = list(widths)
    return sum(ws) + GAP * max(len(ws) - 1, 0)


def _groups(grid: Grid) -> list[tuple[int, ...]]:
    """The grid's priority as groups of columns (shown together or not at all), then every
    column it does not list, in order."""
    groups = [g if isinstance(g, tuple) else (g,) for g in grid.priority]
    listed = {i for g in groups for i in g}
    return groups + [(i,) for i in range(len(grid.columns)) if i not in listed]


def choose_columns(grid: Grid, width: int) -> list[int] | None:
    """The columns shown at ``width``, in the grid's order; None: lay the rows out as blocks."""
    n = len(grid.columns)
    natural = natural_widths(grid)
    if _span(natural) <= width:
        return list(range(n))
    if grid.blocks_below and width < grid.blocks_below:
        return None
    least = _min_widths(grid, natural)
    groups = _groups(grid)
    chosen: list[int] = []
    for group in groups:
        # Greedy by priority: a group that does not fit is left out, a later narrower one may
        # still fit.
        if _span(least[j] for j in [*chosen, *group]) <= width:
            chosen.extend(group)
    needed = {i for g in groups[:grid.essential] for i in g} | {0}
    if not needed <= set(chosen):
        return None
    return sorted(chosen)


def block_order(grid: Grid) -> list[int]:
    """The columns of a block after its name, most important first."""
    return [i for g in _groups(grid) for i in g if i != 0]


class FittedGrid:
    """A Grid that picks its layout (all columns, the most important ones, or blocks) for the
    width it is printed at."""

    def __init__(self, grid: Grid, verdict: str | None = None):
        self.grid = grid
        self.verdict = verdict or grid.verdict

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        grid = self.grid
        width = options.max_width
        yield Text(grid.title, style="bold")
        for line in grid.context:
            yield Text(line, style="dim")
        chosen = choose_columns(grid, width)
        if chosen is None:
            yield from _blocks(grid, width)
        else:
            yield _table(grid, chosen)
            left = [grid.columns[i] for i in range(len(grid.columns)) if i not in chosen]
            if left:
                yield Text(f"Not shown at {width} columns: {', '.join(left)} (widen the "
                           "terminal, or use --format markdown or json).", style="dim")
        if self.verdict:
            yield Text(self.verdict, style="bold")
        for note in grid.notes:
            yield Text(note, style="dim")


# rich's SIMPLE_HEAD with an ASCII rule: one byte per column, so the header rule is as wide in
# bytes as on screen (a pager, `wc -L` or a C locale counts box-drawing characters as three).
_HEAD_RULE = box.Box(
    "    \n"
    "    \n"
    " -- \n"
    "    \n"
    "    \n"
    "    \n"
    "    \n"
    "    \n",
    ascii=True,
)


def _style(grid: Grid, i: int) -> str | None:
    return "bold green" if i in grid.bold_rows else ("dim" if i in grid.dim_rows else None)


def _table(grid: Grid, chosen: Sequence[int]) -> Table:
    table = Table(box=_HEAD_RULE, show_edge=False, pad_edge=False)
    natural = natural_widths(grid)
    least = _min_widths(grid, natural)
    for i in chosen:
        wraps = i in grid.wrap
        table.add_column(grid.columns[i], justify="right" if i in grid.right else "left",
                         no_wrap=not wraps, overflow="fold",
                         min_width=least[i] if wraps else natural[i])
    for r, row in enumerate(grid.rows):
        table.add_row(*(row[i] for i in chosen), style=_style(grid, r))
    return table


def _blocks(grid: Grid, width: int) -> Iterable[Any]:
    """One block per row: its name, then ``Column: figure`` pairs flowed to the width, a pair
    never broken across lines (one longer than the width wraps at its spaces)."""
    for r, row in enumerate(grid.rows):
        style = _style(grid, r)
        yield Text(row[0], style=f"bold {style}" if style else "bold")
        line = Text(" " * BLOCK_INDENT, style=style or "")
        used = BLOCK_INDENT
        for i in block_order(grid):
            value = row[i].strip()
            if not value or value == "-":
                continue
            pair = Text.assemble((f"{grid.columns[i]}: ", "dim"), value)
            size = cell_len(pair.plain)
            if used > BLOCK_INDENT and used + 3 + size > width:
                yield line
                line = Text(" " * BLOCK_INDENT, style=style or "")
                used = BLOCK_INDENT
            if used > BLOCK_INDENT:
                line.append("   ")
                used += 3
            line.append_text(pair)
            used += size
        if used > BLOCK_INDENT:
            yield line
