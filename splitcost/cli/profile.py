"""`splitcost profile`: the per-module table and the memory models."""

from __future__ import annotations

from typing import Annotated

import typer

from splitcost.cli import parse
from splitcost.cli.app import app
from splitcost.cli.options import ModelArgs, command
from splitcost.cli.output import show
from splitcost.errors import InputError, choice
from splitcost.render.registry import Format, RenderOptions

RESULT = "splitcost.network.profile:Profile"


@command(app, "profile", result=RESULT)
def profile_cmd(
    model: ModelArgs,
    whole: Annotated[bool, typer.Option("--whole", help="Profile the whole classifier instead "
                                        "of its backbone (compare its MACs with "
                                        "torchvision's metadata).")] = False,
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
    fmt: Format = Format.TABLE,
) -> None:
    """Per-module table: output shape, parameters, MACs, payload if cut there; memory models."""
    if depth < 1:
        raise InputError(f"expected an integer of at least 1, got {depth}", parameter="depth")
    from splitcost.network.memory import OPTIMIZER_STATE

    choice("optimizer", optimizer, OPTIMIZER_STATE)
    frozen_parts = [""] if frozen_backbone else list(frozen or [])
    p = parse.traced(model, whole=whole, training=True, optimizer=optimizer.strip().lower(),
                     frozen=frozen_parts)
    show(p, fmt, RenderOptions(depth=depth))
