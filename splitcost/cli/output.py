"""The only place results are printed: one result, in the format asked for."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any


def emit(text: str) -> None:
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


def print_rich(renderable: Any) -> None:
    from rich.console import Console

    # Piped or redirected output gets a wide page rather than cells cut at 80 columns.
    console = Console() if sys.stdout.isatty() else Console(width=160)
    console.print(renderable)


def output(fmt: str, data: Callable[[], Any], grid: Callable[[], Any],
            verdict: str | None = None,
            csv: tuple[tuple[str, ...], Callable[[], list[Any]]] | None = None) -> None:
    """Render one result in the chosen format; only this function prints results."""
    if fmt == "json":
        from splitcost.render.jsonout import dumps

        emit(dumps(data()))
    elif fmt == "csv" and csv is not None:
        from splitcost.render.csvout import rows_to_csv

        emit(rows_to_csv(csv[0], csv[1]()))
    elif fmt == "markdown":
        from splitcost.render.markdown import render

        emit(render(grid(), verdict))
    else:
        from splitcost.render.table import render as render_table

        print_rich(render_table(grid(), verdict))


