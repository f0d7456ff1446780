"""`splitcost plot KIND --out FILE`: a figure of a report, a sweep or a fleet plan."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from splitcost.cli import parse
from splitcost.cli.app import app
from splitcost.cli.options import FleetArgs, ModelArgs, PricingArgs, SweepArgs, command
from splitcost.cli.output import emit, write_plot
from splitcost.errors import InputError

KINDS = {
    "latency": "end-to-end latency of each scenario against uplink bandwidth, likely ranges "
               "shaded, crossovers marked",
    "sweep": "payload, edge memory and latency stacked by part (with its likely range) at every "
             "cut, one quantity per panel",
    "fleet": "servers needed against fleet size per scenario, and what binds at the planned "
             "fleet",
    "tail": "p99 latency against the devices on one server, per scenario, with the SLO and "
            "where each saturates",
}


@command(app, shared=("cut",))
def plot(
    kind: Annotated[str, typer.Argument(help="latency (report), sweep (every cut), fleet "
                                        "(plan) or tail (plan: p99 against fleet size).",
                                        show_default=False)],
    out: Annotated[Path, typer.Option("--out", "-o", help="Figure file: .png, .svg or .pdf "
                                      "(its folder must exist).", show_default=False)],
    model: ModelArgs,
    pricing: PricingArgs,
    sweep_args: SweepArgs,
    fleet: FleetArgs,
    cut: list[str] | None = None,
) -> None:
    """Draw a figure: latency against bandwidth, every cut, or a fleet against one server."""
    # Every option is checked before the network is traced: bad input fails fast.
    key = kind.strip().lower()
    if key not in KINDS:
        raise InputError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}",
                         parameter="kind")
    target = parse.plot_path(out, "out")
    inputs = parse.pricing(pricing)
    sweep_options = parse.sweep(sweep_args)
    fleet_options = parse.fleet(fleet, sweep_args.slo)
    request = parse.priced(model, inputs)
    if key == "latency":
        from splitcost.studies.compare import compare_request

        with parse.cut_flag():
            result: object = compare_request(request, cuts=cut or [])
    elif key == "sweep":
        from splitcost.studies.sweep import sweep_request

        result = sweep_request(request, **sweep_options)
    else:
        from splitcost.studies.plan import plan_request

        with parse.cut_flag():
            result = plan_request(request, cuts=cut or [], curves=key == "tail",
                                  **fleet_options)
    if key == "tail":
        from splitcost.render.plots import save, tail_figure

        save(tail_figure(result), target)  # type: ignore[arg-type]
        emit(f"wrote {target}: {KINDS[key]}")
        return
    write_plot(target, result)
    emit(f"wrote {target}: {KINDS[key]}")
