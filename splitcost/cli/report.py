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
    from splitcost.heads import parse_tasks

    # Every option is checked before the network is traced: bad input fails fast.
    from splitcost.memory import MEMORY_MODELS
    from splitcost.payload import input_encoding, payload_encoding
    from splitcost.profiles import load_device, load_link
    from splitcost.report import PROCESSES
    from splitcost.units import parse_input

    fmt = check_format(fmt)
    plot_path = check_plot(plot_file)
    memory_model = choice("--memory-model", memory_model, MEMORY_MODELS)
    processes = choice("--processes", processes, PROCESSES)
    option("--input", parse_input, input_shape)
    option("--tasks", parse_tasks, tasks)
    payload_encoding(payload_dtype, payload_compression)
    input_encoding(input_dtype)
    dirs = profiles or []
    dev = option("--device", load_device, device, dirs)
    srv = option("--server", load_device, server, dirs)
    lnk = option("--link", load_link, link, dirs)

    from splitcost.report import compare

    p = traced_profile(backbone, input_shape, batch, False, precision)
    r = compare(p, tasks, device=dev, server=srv, link=lnk, memory_model=memory_model,
                payload_dtype=payload_dtype, payload_compression=payload_compression,
                input_dtype=input_dtype, images=images, hidden=hidden, processes=processes,
                cuts=option("--cut", list, cut or []))
    from splitcost.render.plots import latency_figure

    write_plot(plot_path, lambda: latency_figure(r))
    _render_report(r, fmt)


def _render_report(r: Any, fmt: str) -> None:
    from splitcost.render import cells
    from splitcost.render.csvout import REPORT_COLUMNS

    output(fmt, r.to_dict, lambda: cells.report_grid(r), r.verdict,
            (REPORT_COLUMNS, lambda: [s.to_dict() for s in r.scenarios]))


