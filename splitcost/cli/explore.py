"""`splitcost explore`: many backbones x devices x links x task sets, ranked in one table."""

from __future__ import annotations

from pathlib import Path

from splitcost import defaults as D
from splitcost.cli import parse
from splitcost.cli.app import app
from splitcost.cli.options import command
from splitcost.cli.output import show, write_plot
from splitcost.cli.progress import progress_bar
from splitcost.errors import InputError
from splitcost.render.registry import Format, RenderOptions

RESULT = "splitcost.studies.explore:Explore"


@command(app, result=RESULT, shared=(
    "backbones", "input_shape", "batch", "precision", "task_sets", "device_list", "link_list",
    "server", "memory_model", "payload_dtype", "payload_compression", "input_dtype", "hidden",
    "profiles", "slo", "sources", "plot_file", "runtime", "branch"))
def explore(
    backbones: str = D.BACKBONE,
    input_shape: str = D.INPUT_SHAPE,
    batch: int = D.BATCH,
    precision: str | None = D.PRECISION,
    task_sets: list[str] | None = None,
    device_list: str = D.DEVICE,
    link_list: str = D.LINK,
    server: list[str] | None = None,
    memory_model: str = D.MEMORY_MODEL,
    payload_dtype: str | None = D.PAYLOAD_DTYPE,
    payload_compression: str | None = None,
    input_dtype: str | None = D.INPUT_DTYPE,
    hidden: int = D.HIDDEN,
    profiles: list[str] | None = None,
    slo: str | None = None,
    sources: bool = False,
    plot_file: Path | None = None,
    branch: str = D.BRANCH,
    fmt: Format = Format.TABLE,
    runtime: str = D.RUNTIME,
) -> None:
    """Which backbone, device and link? Every combination priced and ranked, with ImageNet
    accuracy and the Pareto front."""
    from splitcost.cli.options import ModelArgs

    plot = parse.plot_path(plot_file)
    spec, dtype = parse.model_spec(ModelArgs(backbones, input_shape, batch, precision))
    slo_s = parse.duration("slo", slo)
    from splitcost.studies.explore import explore as run

    with progress_bar() as tick:
        try:
            result = run(backbones, devices=device_list, links=link_list,
                         task_sets=task_sets or [D.TASKS], slo_s=slo_s, input_shape=spec,
                         batch=batch, dtype=dtype, server=parse.one_server(server),
                         branch=branch, memory_model=memory_model,
                         payload_dtype=payload_dtype, payload_compression=payload_compression,
                         input_dtype=input_dtype, hidden=hidden, profiles=profiles or (),
                         progress=tick, runtime=runtime)
        except InputError as e:
            # The API's list parameters are the command line's --device and --link (the
            # shared --devices is the fleet size).
            flag = {"devices": "device_list", "links": "link_list"}.get(e.parameter or "")
            raise (InputError(e.message, parameter=flag) if flag else e) from None
    write_plot(plot, result)
    show(result, fmt, RenderOptions(sources=sources))
