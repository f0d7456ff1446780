"""`splitcost export`: both halves of a split as torch.export programs (and ONNX), a manifest."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from splitcost.cli.app import app
from splitcost.cli.options import (
    Backbone,
    Format,
    Hidden,
    InputShape,
    PayloadDtype,
    Tasks,
    check_format,
    option,
)
from splitcost.cli.output import output

if TYPE_CHECKING:
    from splitcost.export import ExportResult
    from splitcost.render.cells import Grid


@app.command()
def export(
    out: Annotated[str, typer.Option("--out", "-o", help="Folder to write edge.pt2, "
                                     "server.pt2 (+ .onnx) and manifest.json into.")],
    backbone: Backbone = "mobilenet",
    tasks: Tasks = "3",
    cut: Annotated[str, typer.Option("--cut", help="Where to split: a module path from "
                                     "'splitcost sweep', input or output (Z_b).")] = "output",
    payload_dtype: PayloadDtype = "float32",
    input_shape: InputShape = "3x224x224",
    hidden: Hidden = 256,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the random weights.")] = 0,
    fmt: Format = "table",
) -> None:
    """Write the edge and server halves of the split at --cut, ready to deploy."""
    from splitcost.heads import parse_tasks
    from splitcost.payload import payload_encoding
    from splitcost.units import parse_input

    fmt = check_format(fmt, ("table", "json"))
    spec = option("--input", parse_input, input_shape)
    classes = [t.classes for t in option("--tasks", parse_tasks, tasks)]
    payload_encoding(payload_dtype)

    import torch

    from splitcost.export import export_split
    from splitcost.mtl import build_mtl

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = build_mtl(backbone, classes, hidden, spec.shape)
    split = option("--cut", net.split, cut)
    result = export_split(net, split, out, payload_dtype=payload_dtype, backbone=backbone,
                          tasks=classes)
    output(fmt, result.to_dict, lambda: export_grid(result))


def export_grid(r: ExportResult) -> Grid:
    from pathlib import Path

    from splitcost.render.cells import Grid
    from splitcost.units import format_bytes

    m = r.manifest
    rows = tuple((name, format_bytes(Path(r.out_dir, name).stat().st_size)) for name in r.files)
    tensors = ", ".join(f"{t['name']} {'x'.join(map(str, t['shape']))} {t['dtype']}"
                        for t in m["payload"]["tensors"])
    return Grid(
        title=f"splitcost export: {m['backbone']} split at {m['cut']} -> {r.out_dir}",
        columns=("File", "Size"),
        rows=rows,
        context=(f"Payload: {tensors}; sent as {m['payload']['encoding']} "
                 f"({m['payload']['encoded_bytes_per_sample']:,} bytes per sample)",
                 f"Input: {'x'.join(map(str, m['input']['shape']))}, batch "
                 f"{m['input']['batch']}; torch {m['torch_version']}"),
        notes=r.notes,
        right=(1,),
    )
