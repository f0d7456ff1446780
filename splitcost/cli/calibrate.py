"""`splitcost calibrate`: time real networks on this machine and write its device profile."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer

from splitcost.cli.app import app
from splitcost.cli.options import command
from splitcost.cli.output import show
from splitcost.cli.progress import progress_bar
from splitcost.errors import InputError
from splitcost.render.registry import Format


@command(app, result="splitcost.calibration.results:CalibrationResult",
         shared=("batch", "calibrate_runtime"))
def calibrate(
    out: Annotated[Path, typer.Option("--out", help="Device profile to write (a .toml file; "
                                      "its stem becomes the device's name).")],
    models: Annotated[str | None, typer.Option(
        "--models", help="Comma-separated torchvision backbones to time (default: resnet18, "
        "mobilenet_v3_large, efficientnet_b0, squeezenet1_1, swin_t, resnext50_32x4d, and "
        "splitcost.calibration.nets:lstm and :encoder_small).")] = None,
    torch_device: Annotated[str, typer.Option("--torch-device", help="cpu, or cuda for the "
                                              "GPU.")] = "cpu",
    role: Annotated[str, typer.Option("--role", help="edge or server.")] = "edge",
    batch: int = 1,
    min_run_time: Annotated[float, typer.Option("--min-run-time", help="Seconds of timing per "
                                                "block and round.")] = 0.1,
    rounds: Annotated[int, typer.Option("--rounds", help="Passes over all blocks; each block "
                                        "keeps its fastest.")] = 3,
    threads: Annotated[int | None, typer.Option("--threads", help="torch intra-op threads "
                                                "(default: torch's setting).")] = None,
    fmt: Format = Format.TABLE,
    calibrate_runtime: str = "eager",
) -> None:
    """Time real networks block by block here, fit the latency model, write a device profile."""
    if not (math.isfinite(min_run_time) and min_run_time > 0):
        raise InputError(f"expected a positive number of seconds, got {min_run_time}",
                         parameter="min_run_time")
    if rounds < 1:
        raise InputError(f"expected at least 1, got {rounds}", parameter="rounds")
    if threads is not None and threads < 1:
        raise InputError(f"expected at least 1, got {threads}", parameter="threads")
    from splitcost.calibration import DEFAULT_MODELS, check_runtime, check_torch_device
    from splitcost.calibration import calibrate as run

    check_runtime(calibrate_runtime, check_torch_device(torch_device))
    with progress_bar() as progress:
        result = run(out, models=DEFAULT_MODELS if models is None else models.split(","),
                     torch_device=torch_device, role=role, batch=batch,
                     min_run_time=min_run_time, rounds=rounds, threads=threads,
                     runtime=calibrate_runtime, progress=progress)
    show(result, fmt)
