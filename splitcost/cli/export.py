"""`splitcost export`: both halves of a split as torch.export programs (and ONNX), a manifest."""

from __future__ import annotations

from typing import Annotated

import typer

from splitcost import defaults as D
from splitcost.cli.app import app
from splitcost.cli.options import command
from splitcost.cli.output import show
from splitcost.errors import InputError
from splitcost.render.registry import Format


@command(app, result="splitcost.deploy.export:ExportResult",
         shared=("backbone", "tasks", "payload_dtype", "input_shape", "hidden"))
def export(
    out: Annotated[str, typer.Option("--out", "-o", help="Folder to write edge.pt2, "
                                     "server.pt2 (+ .onnx) and manifest.json into.")],
    backbone: str = D.BACKBONE,
    tasks: str = D.TASKS,
    cut: Annotated[str, typer.Option("--cut", help="Where to split: a module path from "
                                     "'splitcost sweep', input or output (Z_b).")] = "output",
    payload_dtype: str | None = D.PAYLOAD_DTYPE,
    input_shape: str = D.INPUT_SHAPE,
    hidden: int = D.HIDDEN,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the random weights.")] = 0,
    fmt: Format = Format.TABLE,
) -> None:
    """Write the edge and server halves of the split at --cut, ready to deploy."""
    from splitcost.hardware.encoding import payload_encoding
    from splitcost.network.tasks import parse_tasks
    from splitcost.units import parse_input

    try:
        spec = parse_input(input_shape)
    except InputError as e:
        raise e.about("input_shape") from None
    classes = [t.classes for t in parse_tasks(tasks)]
    # The real split network runs in float32: its payload is float32 unless asked otherwise.
    payload_dtype = "float32" if payload_dtype is None else payload_dtype
    payload_encoding(payload_dtype)
    if spec.more or spec.dtype != "float32":
        raise InputError(f"the split network runs on one float32 input; got {spec}",
                         parameter="input_shape")

    import torch

    from splitcost.deploy.export import check_out, export_split

    check_out(out)
    from splitcost.deploy.mtl import build_mtl

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = build_mtl(backbone, classes, hidden, spec.shape)
    try:
        split = net.split(cut)
    except InputError as e:
        raise e.about("cut") from None
    result = export_split(net, split, out, payload_dtype=payload_dtype, backbone=backbone,
                          tasks=classes)
    show(result, fmt)
