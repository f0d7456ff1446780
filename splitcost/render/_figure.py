"""What every figure shares: a Figure on its own canvas, tick formatters, units, colours."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from splitcost.errors import InputError
from splitcost.units import format_seconds

MISSING = "plots need matplotlib: pip install 'splitcost[plot]'"

# Colour-blind-safe (Okabe-Ito), one per scenario in SCENARIOS order, then any Split@cut.
PALETTE = ("#E69F00", "#009E73", "#0072B2", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442",
           "#000000")
PAYLOAD = "#b39ddb"
PARTS = (("edge compute", "#009E73"), ("transfer", "#56B4E9"), ("server compute", "#D55E00"))
ARROW = "\u2192"


def new_figure(width: float, height: float) -> Any:
    """A Figure on its own Agg canvas: no pyplot, no global state."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise InputError(MISSING) from None
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def formatter(fn: Callable[[float], str]) -> Any:
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda v, _pos: fn(v) if v > 0 else "0")


def tasks_text(classes: Sequence[int]) -> str:
    n = len(classes)
    return f"{n} task{'s' if n != 1 else ''} ({','.join(str(c) for c in classes)} classes)"


def axis_seconds(v: float) -> str:
    """Tick labels in seconds (ms and µs below one second), never in minutes: a log axis
    reads best in one unit."""
    return f"{v:,.0f} s" if v >= 10 else format_seconds(v, 2)


def byte_unit(values: Sequence[float]) -> tuple[float, str]:
    top = max(values, default=0)
    for factor, unit in ((1e9, "GB"), (1e6, "MB"), (1e3, "kB")):
        if top >= factor:
            return factor, unit
    return 1.0, "B"


def time_unit(values: Sequence[float]) -> tuple[float, str]:
    top = max(values, default=0)
    for factor, unit in ((1.0, "s"), (1e-3, "ms")):
        if top >= factor:
            return factor, unit
    return 1e-6, "\u00b5s"


