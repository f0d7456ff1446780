"""`splitcost profile`: the per-module table and the memory models."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from splitcost import defaults as D
from splitcost.cli import parse
from splitcost.cli.app import app
from splitcost.cli.options import ModelArgs, command
from splitcost.cli.output import show
from splitcost.errors import InputError, choice
from splitcost.render.registry import Format, RenderOptions

RESULT = "splitcost.network.profile:Profile"


@command(app, "profile", result=RESULT, shared=("latency_device", "runtime", "profiles"))
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
    latency_device: str | None = None,
    runtime: str = D.RUNTIME,
    profiles: list[Path] | None = None,
) -> None:
    """Per-module table: output shape, parameters, MACs, payload if cut there; memory models;
    with --device, each module's predicted time and the total."""
    if depth < 1:
        raise InputError(f"expected an integer of at least 1, got {depth}", parameter="depth")
    device = None
    if profiles:
        from splitcost.hardware.catalog import search_dirs

        search_dirs(profiles)  # a missing folder is an error with or without --device
    if latency_device is not None:
        from splitcost.studies.inputs import device_of, runtime_of

        device = device_of(latency_device, tuple(profiles or ()))
        runtime_of(runtime, (device,))
    elif runtime != D.RUNTIME:
        raise InputError("a runtime applies to a device: give --device too", parameter="runtime")
    from splitcost.network.memory import OPTIMIZER_STATE

    choice("optimizer", optimizer, OPTIMIZER_STATE)
    frozen_parts = [""] if frozen_backbone else list(frozen or [])
    p = parse.traced(model, whole=whole, training=True, optimizer=optimizer.strip().lower(),
                     frozen=frozen_parts)
    if device is None:
        show(p, fmt, RenderOptions(depth=depth))
        return
    from splitcost.studies.latency import latency

    show(latency(p, device, runtime=runtime), fmt, RenderOptions(depth=depth))
