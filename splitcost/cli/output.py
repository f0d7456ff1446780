"""The only place results are printed: one result, in the format asked for."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from splitcost.render.registry import Format, RenderOptions, render


def emit(text: str) -> None:
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


def print_rich(renderable: Any) -> None:
    from rich.console import Console

    # Piped or redirected output gets a wide page rather than cells cut at 80 columns.
    console = Console() if sys.stdout.isatty() else Console(width=160)
    console.print(renderable)


def show(result: Any, fmt: Format, options: RenderOptions | None = None) -> None:
    """Render ``result`` in ``fmt`` and print it."""
    out = render(result, fmt, options)
    if isinstance(out, str):
        emit(out)
    else:
        print_rich(out)


def write_plot(path: Path | None, result: Any) -> None:
    """The result's figure, written (atomically) where asked, and nowhere else."""
    if path is None:
        return
    from splitcost.render.plots import figure_of, save

    save(figure_of(result), path)
