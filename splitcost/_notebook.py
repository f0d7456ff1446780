"""What makes a result at home in a notebook: a one-line ``repr``, Markdown and HTML for
Jupyter, a pandas DataFrame, and (for results with a figure) ``plot()``.

Results hold no prose, so every method here hands the result to :mod:`splitcost.render`, imported
only when a method is called: ``import splitcost`` stays light and the layers stay apart (a
result never imports a renderer).
"""

from __future__ import annotations

import importlib
import os
from typing import Any


def _render() -> Any:
    return importlib.import_module("splitcost.render.notebook")


class Notebook:
    """A result's notebook methods (results are frozen dataclasses declared with
    ``repr=False``, so that this one-line ``repr`` is theirs)."""

    __slots__ = ()

    def __repr__(self) -> str:
        text: str = _render().summary(self)
        return text

    def _repr_markdown_(self) -> str:
        text: str = _render().markdown(self)
        return text

    def _repr_html_(self) -> str:
        text: str = _render().html(self)
        return text

    def to_frame(self) -> Any:
        """The result's rows (scenarios, cuts, modules, configurations) as a pandas DataFrame,
        one column per figure in base units (bytes, seconds, bits/s); needs pandas."""
        return _render().frame(self)

    def to_text(self, width: int = 100) -> str:
        """The table as plain text, laid out for ``width`` columns."""
        text: str = _render().text(self, width)
        return text


class Plottable(Notebook):
    """A result with a figure."""

    __slots__ = ()

    def plot(self, path: str | os.PathLike[str] | None = None) -> Any:
        """The result's figure (a matplotlib Figure; needs matplotlib), also written to ``path``
        (.png, .svg or .pdf) when given."""
        return _render().plot(self, path)
