"""The only place results are printed: one result, in the format asked for."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from splitcost.render.registry import Format, RenderOptions, render


def emit(text: str) -> None:
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


# Piped or redirected output with no COLUMNS: lines as long as they are, so that grep finds a
# sentence whole and a table keeps every column.
UNWRAPPED = 100_000


def console_width() -> int | None:
    """The width output is laid out for: the terminal's, else ``COLUMNS``, else None (piped:
    nothing is wrapped)."""
    if sys.stdout.isatty():
        return None  # rich asks the terminal
    columns = os.environ.get("COLUMNS", "")
    return int(columns) if columns.isdigit() and int(columns) > 0 else UNWRAPPED


def print_rich(renderable: Any) -> None:
    from rich.console import Console

    Console(width=console_width()).print(renderable)


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
    from splitcost.render.plots import figure, save

    save(figure(result), path)
