"""`splitcost plot KIND --out FILE`: a figure of a report, a sweep or a fleet plan."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from splitcost.cli.app import app
from splitcost.cli.options import (
    Backbone,
    Batch,
    DeviceOpt,
    Hidden,
    InputDtype,
    InputShape,
    LinkOpt,
    MemoryModel,
    PayloadCompression,
    PayloadDtype,
    Precision,
    Profiles,
    ServerOpt,
    Tasks,
    choice,
    fleet_options,
    option,
    pricing_options,
    traced_profile,
)
from splitcost.cli.output import emit
from splitcost.errors import InputError

KINDS = {
    "latency": "end-to-end latency of each scenario against uplink bandwidth, crossovers marked",
    "sweep": "payload, edge memory and latency stacked by part at every cut",
    "fleet": "fleet size against one server's compute utilisation, per scenario",
}


@app.command()
def plot(
    kind: Annotated[str, typer.Argument(help="latency (report), sweep (every cut) or fleet "
                                        "(plan).", show_default=False)],
    out: Annotated[Path, typer.Option("--out", "-o", help="Figure file: .png or .svg (its "
                                      "folder must exist).", show_default=False)],
    backbone: Backbone = "efficientnet",
    tasks: Tasks = "3",
    link: LinkOpt = "1gbps",
    device: DeviceOpt = "jetson-nano-4gb",
    server: ServerOpt = "rtx-3090",
    input_shape: InputShape = "3x224x224",
    batch: Batch = 1,
    precision: Precision = "float32",
    memory_model: MemoryModel = "inference",
    payload_dtype: PayloadDtype = "float32",
    payload_compression: PayloadCompression = None,
    input_dtype: InputDtype = "float32",
    hidden: Hidden = 256,
    cut: Annotated[
        list[str] | None,
        typer.Option("--cut", help="latency: add Split@NAME for a cut from 'splitcost sweep'; "
                     "repeatable."),
    ] = None,
    depth: Annotated[int | None, typer.Option("--depth", help="sweep: cut after the modules "
                                              "at this depth.")] = None,
    cuts: Annotated[str, typer.Option("--cuts", help="sweep: blocks (module boundaries) or "
                                      "all (every operator).")] = "blocks",
    objective: Annotated[str, typer.Option("--objective", help="sweep: the best cut by "
                                           "latency, edge-memory, payload or energy.")]
    = "latency",
    devices: Annotated[int, typer.Option("--devices", "-n", help="fleet: edge devices in the "
                                         "fleet.")] = 100,
    fps: Annotated[str, typer.Option("--fps", help="fleet: inferences per second per "
                                     "device.")] = "1",
    ingress: Annotated[str, typer.Option("--ingress", help="fleet: network capacity of one "
                                         "server, e.g. 10gbps.")] = "10gbps",
    concurrency: Annotated[int, typer.Option("--concurrency", help="fleet: batches one server "
                                             "holds in flight.")] = 1,
    profiles: Profiles = None,
) -> None:
    """Draw a figure: latency against bandwidth, every cut, or a fleet against one server."""
    from splitcost.render.plots import check_path, require_matplotlib
    from splitcost.sweep import OBJECTIVES

    # Every option is checked before the network is traced: bad input fails fast.
    key = kind.strip().lower()
    if key not in KINDS:
        raise InputError(f"plot: unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
    target = check_path(out, "--out")
    require_matplotlib()
    common = pricing_options(
        input_shape=input_shape, tasks=tasks, link=link, device=device, server=server,
        memory_model=memory_model, payload_dtype=payload_dtype,
        payload_compression=payload_compression, input_dtype=input_dtype, hidden=hidden,
        profiles=profiles)
    cuts = choice("--cuts", cuts, ("blocks", "all"))
    objective = choice("--objective", objective, OBJECTIVES)
    rate, ingress_bps = fleet_options(fps, ingress)

    from splitcost.render import plots

    p = traced_profile(backbone, input_shape, batch, False, precision)
    if key == "latency":
        from splitcost.report import compare

        r = compare(p, tasks, cuts=option("--cut", list, cut or []), **common)
        fig = plots.latency_figure(r)
    elif key == "sweep":
        from splitcost.sweep import sweep

        sw = sweep(p, tasks, depth=depth, every_op=cuts == "all", objective=objective,
                   **common)
        fig = plots.sweep_figure(sw)
    else:
        from splitcost.plan import plan

        pl = plan(p, tasks, devices=devices, fps=rate, ingress_bps=ingress_bps,
                  concurrency=concurrency, **common)
        fig = plots.fleet_figure(pl)
    plots.save(fig, target)
    emit(f"wrote {target}: {KINDS[key]}")
