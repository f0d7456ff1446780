"""`splitcost report`: the four scenarios (and any --cut) with a one-line verdict."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from splitcost import defaults as D
from splitcost.cli import parse
from splitcost.cli.app import app
from splitcost.cli.options import ModelArgs, PricingArgs, command
from splitcost.cli.output import show, write_plot
from splitcost.render.registry import Format, RenderOptions

RESULT = "splitcost.studies.compare:Report"


@command(app, result=RESULT, shared=("cut", "plot_file", "sources"))
def report(
    model: ModelArgs,
    pricing: PricingArgs,
    images: Annotated[int, typer.Option("--images", help="Price K inferences back to back "
                                        "(the paper's 100-input example).")] = D.IMAGES,
    processes: Annotated[
        str, typer.Option("--processes", help="LoC: the N networks in one process, or one "
                          "process per task (each with its own runtime).")
    ] = D.PROCESSES,
    fmt: Format = Format.TABLE,
    cut: list[str] | None = None,
    plot_file: Path | None = None,
    sources: bool = False,
) -> None:
    """Compare LoC, MTL-Local, RoC and MTL-Split, with a one-line verdict."""
    plot = parse.plot_path(plot_file)
    inputs = parse.pricing(pricing, images=images, processes=processes)
    from splitcost.studies.compare import compare_request

    with parse.cut_flag():
        r = compare_request(parse.priced(model, inputs), cuts=cut or [])
    write_plot(plot, r)
    show(r, fmt, RenderOptions(sources=sources))
