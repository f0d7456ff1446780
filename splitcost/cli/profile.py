"""`splitcost profile`: the per-module table and the memory models."""

from __future__ import annotations

from typing import Annotated

import typer

from splitcost.cli.app import app
from splitcost.cli.options import (
    Backbone,
    Batch,
    Format,
    InputShape,
    Precision,
    Whole,
    check_format,
    traced_profile,
)
from splitcost.cli.output import output
from splitcost.errors import InputError


@app.command("profile")
def profile_cmd(
    backbone: Backbone = "efficientnet",
    input_shape: InputShape = "3x224x224",
    batch: Batch = 1,
    whole: Whole = False,
    precision: Precision = "float32",
    depth: Annotated[int, typer.Option("--depth", help="Module depth shown in the table.")] = 1,
    optimizer: Annotated[
        str, typer.Option("--optimizer", help="For the training memory: adamw, adam, sgd, "
                          "sgd-momentum, rmsprop or adagrad.")
    ] = "adamw",
    frozen: Annotated[
        list[str] | None,
        typer.Option("--frozen", help="Module path prefix that does not train (repeatable); "
                     "--frozen-backbone freezes everything."),
    ] = None,
    frozen_backbone: Annotated[bool, typer.Option("--frozen-backbone", help="The paper's "
                                                  "fine-tuning with a fixed backbone.")] = False,
    fmt: Format = "table",
) -> None:
    """Per-module table: output shape, parameters, MACs, payload if cut there; memory models."""
    fmt = check_format(fmt)
    if depth < 1:
        raise InputError(f"--depth: expected an integer of at least 1, got {depth}")
    from splitcost.training import OPTIMIZER_STATE

    if optimizer.strip().lower() not in OPTIMIZER_STATE:
        raise InputError(f"--optimizer: expected one of {', '.join(OPTIMIZER_STATE)}, got "
                         f"{optimizer!r}")
    frozen_parts = [""] if frozen_backbone else list(frozen or [])
    p = traced_profile(backbone, input_shape, batch, whole, precision, training=True,
                       optimizer=optimizer, frozen=frozen_parts)
    from splitcost.render import cells
    from splitcost.render.csvout import MODULE_COLUMNS

    output(fmt, p.to_dict, lambda: cells.profile_grid(p, depth), None,
            (MODULE_COLUMNS, lambda: [m.to_dict() for m in p.modules]))


