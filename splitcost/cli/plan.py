"""`splitcost plan`: how many devices one server takes, and which deployment, for a fleet."""

from __future__ import annotations

from pathlib import Path

from splitcost.cli import parse
from splitcost.cli.app import app
from splitcost.cli.options import FleetArgs, ModelArgs, PricingArgs, command
from splitcost.cli.output import show, write_plot
from splitcost.render.registry import Format, RenderOptions

RESULT = "splitcost.studies.plan:Plan"


@command(app, result=RESULT, shared=("cut", "plot_file", "sources", "slo"))
def plan(
    model: ModelArgs,
    pricing: PricingArgs,
    fleet: FleetArgs,
    fmt: Format = Format.TABLE,
    cut: list[str] | None = None,
    plot_file: Path | None = None,
    sources: bool = False,
    slo: str | None = None,
) -> None:
    """Fleet sizing: utilisation, servers needed, the binding resource, and p50/p95/p99 latency
    at fleet load (with --slo, the chance of missing it)."""
    plot = parse.plot_path(plot_file)
    inputs = parse.pricing(pricing)
    options = parse.fleet(fleet, slo)
    from splitcost.studies.plan import plan_request

    with parse.cut_flag():
        pl = plan_request(parse.priced(model, inputs), cuts=cut or [], **options)
    write_plot(plot, pl)
    show(pl, fmt, RenderOptions(sources=sources))
