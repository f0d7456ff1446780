"""`splitcost plan`: how many devices one server takes, and which deployment, for a fleet."""

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
    fleet_options,
    pricing_options,
    traced_profile,
    write_plot,
)
from splitcost.cli.output import output


@app.command()
def plan(
    backbone: Backbone = "efficientnet",
    tasks: Tasks = "3",
    devices: Annotated[int, typer.Option("--devices", "-n", help="Edge devices in the fleet.")]
    = 100,
    fps: Annotated[str, typer.Option("--fps", help="Inferences per second per device.")] = "1",
    link: LinkOpt = "lte",
    device: DeviceOpt = "jetson-nano-4gb",
    server: ServerOpt = "rtx-3090",
    ingress: Annotated[str, typer.Option("--ingress", help="Network capacity of one server, "
                                         "e.g. 10gbps.")] = "10gbps",
    concurrency: Annotated[int, typer.Option("--concurrency", help="Batches one server holds "
                                             "in flight.")] = 1,
    input_shape: InputShape = "3x224x224",
    batch: Batch = 1,
    precision: Precision = "float32",
    memory_model: MemoryModel = "inference",
    payload_dtype: PayloadDtype = "float32",
    payload_compression: PayloadCompression = None,
    input_dtype: InputDtype = "float32",
    hidden: Hidden = 256,
    profiles: Profiles = None,
    plot_file: PlotFile = None,
    fmt: Format = "table",
) -> None:
    """Fleet sizing: utilisation, ingress, servers needed and the binding resource."""
    fmt = check_format(fmt)
    plot_path = check_plot(plot_file)
    priced = pricing_options(
        input_shape=input_shape, tasks=tasks, link=link, device=device, server=server,
        memory_model=memory_model, payload_dtype=payload_dtype,
        payload_compression=payload_compression, input_dtype=input_dtype, hidden=hidden,
        profiles=profiles)
    rate, ingress_bps = fleet_options(fps, ingress)

    from splitcost.plan import plan as run_plan
    from splitcost.render import cells
    from splitcost.render.plots import fleet_figure

    p = traced_profile(backbone, input_shape, batch, False, precision)
    pl = run_plan(p, tasks, devices=devices, fps=rate, ingress_bps=ingress_bps,
                  concurrency=concurrency, **priced)
    write_plot(plot_path, lambda: fleet_figure(pl))
    output(fmt, pl.to_dict, lambda: cells.plan_grid(pl), pl.verdict)
