"""A result in a notebook: its one-line summary, Markdown, HTML, DataFrame and figure (what
:class:`splitcost._notebook.Notebook` calls)."""

from __future__ import annotations

import os
from enum import Enum
from typing import Any

from splitcost.errors import InputError
from splitcost.render.registry import GRIDS, ROWS, SUMMARIES, Format, RenderOptions, key_of, load
from splitcost.render.registry import render as _render

PANDAS = "to_frame needs pandas: pip install 'splitcost[frame]'"


def summary(result: Any) -> str:
    """``<Report efficientnet_b0, 3 tasks, jetson-nano-4gb -> lte -> rtx-3090: MTL-Local
    91 ms>``: one line, whatever the result holds."""
    load()
    fn = SUMMARIES.get(key_of(type(result)))
    name = type(result).__name__
    if fn is not None:
        return f"<{name} {fn(result)}>"
    grid = GRIDS.get(key_of(type(result)))
    if grid is None:
        return f"<{name}>"
    grids = grid(result, RenderOptions())
    first = grids if hasattr(grids, "title") else grids[0]
    return f"<{name}: {first.title}>"


def markdown(result: Any) -> str:
    text = _render(result, Format.MARKDOWN)
    assert isinstance(text, str)
    return text


def html(result: Any) -> str:
    from splitcost.render.html import render

    load()
    grid = GRIDS.get(key_of(type(result)))
    if grid is None:
        raise InputError(f"no table for a {type(result).__name__}")
    return render(grid(result, RenderOptions()))


def text(result: Any, width: int) -> str:
    from splitcost.render.registry import to_text

    return to_text(result, Format.TABLE, width)


def _value(v: Any) -> Any:
    return v.value if isinstance(v, Enum) else v


def frame(result: Any) -> Any:
    """The result's rows as a DataFrame: the CSV's columns, numbers in base units."""
    try:
        import pandas as pd
    except ImportError:
        raise InputError(PANDAS) from None
    load()
    rows = ROWS.get(key_of(type(result)))
    if rows is not None:
        columns, fn = rows
        return pd.DataFrame([{c: _value(r.get(c)) for c in columns} for r in fn(result)],
                            columns=list(columns))
    grid = GRIDS.get(key_of(type(result)))
    if grid is None:
        raise InputError(f"no rows for a {type(result).__name__}")
    grids = grid(result, RenderOptions())
    first = grids if hasattr(grids, "title") else grids[0]
    return pd.DataFrame([list(r) for r in first.rows], columns=list(first.columns))


def plot(result: Any, path: str | os.PathLike[str] | None) -> Any:
    from splitcost.render.plots import figure, save

    fig = figure(result)
    if path is not None:
        save(fig, path)
    return fig
