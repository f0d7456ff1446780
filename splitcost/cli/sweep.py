"""`splitcost sweep`: every cut priced and the recommended one."""

from __future__ import annotations

from typing import Annotated

import typer

from splitcost.cli.app import app
from splitcost.cli.options import (
    Backbone,
    Batch,
    DeviceOpt,
    Format,
    Hidden,
    InputDtype,
    InputShape,
    LinkOpt,
    MemoryModel,
    PayloadCompression,
    PayloadDtype,
    PlotFile,
    Precision,
    Profiles,
    ServerOpt,
    Tasks,
    check_format,
    check_plot,
    choice,
    option,
    pricing_options,
    traced_profile,
    write_plot,
)
from splitcost.cli.output import output


@app.command()
def sweep(
    backbone: Backbone = "efficientnet",
    tasks: Tasks = "3",
    link: LinkOpt = "1gbps",
    device: DeviceOpt = "jetson-nano-4gb",
    server: ServerOpt = "rtx-3090",
    input_shape: InputShape = "3x224x224",
    batch: Batch = 1,
    precision: Precision = "float32",
    depth: Annotated[
        int | None,
        typer.Option("--depth", help="Cut after the modules at this depth (default: the "
                     "top-level blocks, a block holding over half the operators split into "
                     "its children)."),
    ] = None,
    cuts: Annotated[str, typer.Option("--cuts", help="blocks (module boundaries) or all "
                                      "(every operator).")] = "blocks",
    objective: Annotated[str, typer.Option("--objective", "-o", help="latency, edge-memory or "
                                           "payload.")] = "latency",
    slo: Annotated[str | None, typer.Option("--slo", help="Latency limit per inference, "
                                            "e.g. 100ms.")] = None,
    max_payload: Annotated[str | None, typer.Option("--max-payload", help="Payload limit per "
                                                    "inference, e.g. 1MB.")] = None,
    memory_model: MemoryModel = "inference",
    payload_dtype: PayloadDtype = "float32",
    payload_compression: PayloadCompression = None,
    input_dtype: InputDtype = "float32",
    hidden: Hidden = 256,
    profiles: Profiles = None,
    plot_file: PlotFile = None,
    fmt: Format = "table",
) -> None:
    """Every cut priced: payload, edge memory, latency, the best one and where it flips."""
    from splitcost.sweep import OBJECTIVES
    from splitcost.units import parse_bytes, parse_duration

    fmt = check_format(fmt)
    plot_path = check_plot(plot_file)
    priced = pricing_options(
        input_shape=input_shape, tasks=tasks, link=link, device=device, server=server,
        memory_model=memory_model, payload_dtype=payload_dtype,
        payload_compression=payload_compression, input_dtype=input_dtype, hidden=hidden,
        profiles=profiles)
    objective = choice("--objective", objective, OBJECTIVES)
    cuts = choice("--cuts", cuts, ("blocks", "all"))
    slo_s = None if slo is None else option("--slo", parse_duration, slo)
    limit = None if max_payload is None else option("--max-payload", parse_bytes, max_payload)

    from splitcost.render import cells
    from splitcost.render.csvout import SWEEP_COLUMNS
    from splitcost.render.plots import sweep_figure
    from splitcost.sweep import sweep as run_sweep

    p = traced_profile(backbone, input_shape, batch, False, precision)
    sw = run_sweep(p, tasks, depth=depth, every_op=cuts == "all", objective=objective,
                   slo_s=slo_s, max_payload_bytes=limit, **priced)
    write_plot(plot_path, lambda: sweep_figure(sw))
    output(fmt, sw.to_dict, lambda: cells.sweep_grid(sw), sw.verdict,
            (SWEEP_COLUMNS, lambda: [r.to_dict() for r in sw.results]))


