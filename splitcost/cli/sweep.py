"""`splitcost sweep`: every cut priced and the recommended one; `--branches`: every branch point
with every cut."""

from __future__ import annotations

from pathlib import Path

from splitcost.cli import parse
from splitcost.cli.app import app
from splitcost.cli.options import ModelArgs, PricingArgs, SweepArgs, command
from splitcost.cli.output import show, write_plot
from splitcost.render.registry import Format, RenderOptions

RESULT = "splitcost.studies.sweep:Sweep"


@command(app, result=RESULT, shared=("plot_file", "sources", "branches"))
def sweep(
    model: ModelArgs,
    pricing: PricingArgs,
    sweep_args: SweepArgs,
    fmt: Format = Format.TABLE,
    plot_file: Path | None = None,
    sources: bool = False,
    branches: bool = False,
) -> None:
    """Every cut priced: payload, edge memory, latency, the best one and where it flips; with
    --branches, every branch point with every cut and the joint front."""
    plot = parse.plot_path(plot_file)
    inputs = parse.pricing(pricing)
    options = parse.sweep(sweep_args)
    if branches:
        parse.no_branch_with_branches(pricing, plot)
        from splitcost.studies.branches import branch_sweep_request

        joint = branch_sweep_request(inputs.request(parse.traced(model)), **options)
        show(joint, fmt, RenderOptions(sources=sources))
        return
    from splitcost.studies.sweep import sweep_request

    sw = sweep_request(parse.priced(model, inputs), **options)
    write_plot(plot, sw)
    show(sw, fmt, RenderOptions(sources=sources))
