"""`splitcost report`: the four scenarios (and any --cut) with a one-line verdict."""

from __future__ import annotations

from typing import Annotated, Any

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
def report(
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
    images: Annotated[int, typer.Option("--images", help="Price K inferences back to back "
                                        "(the paper's 100-input example).")] = 1,
    hidden: Hidden = 256,
    processes: Annotated[
        str, typer.Option("--processes", help="LoC: the N networks in one process, or one "
                          "process per task (each with its own runtime).")
    ] = "one",
    cut: Annotated[
        list[str] | None,
        typer.Option("--cut", help="Add Split@NAME for a cut from 'splitcost sweep' (a module "
                     "path, input, output or opN); repeatable."),
    ] = None,
    profiles: Profiles = None,
    plot_file: PlotFile = None,
    fmt: Format = "table",
) -> None:
    """Compare LoC, MTL-Local, RoC and MTL-Split, with a one-line verdict."""
    from splitcost.report import PROCESSES

    fmt = check_format(fmt)
    plot_path = check_plot(plot_file)
    priced = pricing_options(
        input_shape=input_shape, tasks=tasks, link=link, device=device, server=server,
        memory_model=memory_model, payload_dtype=payload_dtype,
        payload_compression=payload_compression, input_dtype=input_dtype, hidden=hidden,
        profiles=profiles)
    processes = choice("--processes", processes, PROCESSES)

    from splitcost.render.plots import latency_figure
    from splitcost.report import compare

    p = traced_profile(backbone, input_shape, batch, False, precision)
    r = compare(p, tasks, images=images, processes=processes,
                cuts=option("--cut", list, cut or []), **priced)
    write_plot(plot_path, lambda: latency_figure(r))
    _render_report(r, fmt)


def _render_report(r: Any, fmt: str) -> None:
    from splitcost.render import cells
    from splitcost.render.csvout import REPORT_COLUMNS

    output(fmt, r.to_dict, lambda: cells.report_grid(r), r.verdict,
            (REPORT_COLUMNS, lambda: [s.to_dict() for s in r.scenarios]))


