"""The views each result supports, and the one function that renders a result in a format.

A view is registered per result type (by its import path, so that registering a view never
imports the result's module, and ``splitcost devices`` never imports torch) and per format.
``--help`` lists, and ``--format`` accepts, exactly the formats registered for the command's
result; asking for another is one line, never a silent fallback.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from splitcost.errors import InputError


class Format(StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"
    MARKDOWN = "markdown"


@dataclass(frozen=True)
class RenderOptions:
    """How a person asked to see a result."""

    width: int | None = None  # terminal columns for tables; None: the renderer's default
    depth: int = 1  # module depth of a profile's table
    sources: bool = False  # cite every figure's source


View = Callable[[Any, RenderOptions], Any]  # returns text, or a rich renderable for tables

_VIEWS: dict[str, dict[Format, View]] = {}
# Per result type, for notebooks: its grids (HTML), its rows (DataFrame: the CSV's columns and
# rows) and its one-line summary (repr).
GRIDS: dict[str, Callable[[Any, RenderOptions], Any]] = {}
ROWS: dict[str, tuple[Any, Callable[[Any], Any]]] = {}
SUMMARIES: dict[str, Callable[[Any], str]] = {}
# The modules that register views; imported on first use so that a command pays only for
# the renderers it needs.
VIEW_MODULES = (
    "splitcost.render.views.report",
    "splitcost.render.views.sweep",
    "splitcost.render.views.branches",
    "splitcost.render.views.plan",
    "splitcost.render.views.profile",
    "splitcost.render.views.catalog",
    "splitcost.render.views.paper",
    "splitcost.render.views.calibration",
    "splitcost.render.views.deploy",
    "splitcost.render.views.explore",
    "splitcost.render.views.cache",
)


def key_of(kind: type | str) -> str:
    return kind if isinstance(kind, str) else f"{kind.__module__}:{kind.__qualname__}"


def view(kind: str, *formats: Format) -> Callable[[View], View]:
    """Register ``fn`` as the view of results of type ``kind`` (``module:Class``)."""

    def wrap(fn: View) -> View:
        for fmt in formats:
            _VIEWS.setdefault(kind, {})[fmt] = fn
        return fn

    return wrap


def load() -> None:
    """Import every view module (each registers its views)."""
    _load()


def _load() -> None:
    for module in VIEW_MODULES:
        importlib.import_module(module)


def formats_for(kind: type | str) -> tuple[Format, ...]:
    """The formats a result type supports, in the order of :class:`Format`."""
    _load()
    have = _VIEWS.get(key_of(kind), {})
    return tuple(f for f in Format if f in have)


def parse_format(value: str, kind: type | str) -> Format:
    """``--format``: one of the formats the result supports, whatever its case."""
    allowed = formats_for(kind)
    key = value.strip().lower() if isinstance(value, str) else ""
    for fmt in allowed:
        if fmt.value == key:
            return fmt
    raise InputError(f"expected one of {', '.join(allowed)}, got {value!r}", parameter="format")


def render(result: Any, fmt: Format | str = Format.TABLE,
           options: RenderOptions | None = None) -> Any:
    """The result in ``fmt``: a string, or a rich renderable for a table."""
    kind = key_of(type(result))
    chosen = parse_format(str(fmt), kind)
    return _VIEWS[kind][chosen](result, options or RenderOptions())


def to_text(result: Any, fmt: Format | str = Format.TABLE, width: int = 100) -> str:
    """The result in ``fmt`` as plain text; a table laid out for ``width`` columns."""
    from splitcost.errors import positive_int

    kind = key_of(type(result))
    if not formats_for(kind):
        raise InputError(f"no view of a {type(result).__name__}: give a result of splitcost "
                         "(a Profile, Report, Sweep, Plan, ...)", parameter="result")
    try:
        chosen = parse_format(fmt if isinstance(fmt, str) else str(fmt), kind)
    except InputError as e:
        raise InputError(e.message, parameter="fmt") from None
    positive_int("width", width, at_least=40, at_most=10_000)
    out = _VIEWS[kind][chosen](result, RenderOptions(width=width))
    if isinstance(out, str):
        return out
    import io

    from rich.console import Console

    buffer = io.StringIO()
    Console(file=buffer, width=width, color_system=None, force_terminal=False).print(out)
    return buffer.getvalue()
