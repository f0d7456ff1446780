"""`splitcost calibrate`: time real networks on this machine and write its device profile."""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from splitcost.cli.app import app
from splitcost.cli.options import Batch, check_format
from splitcost.cli.output import emit, print_rich
from splitcost.errors import InputError

if TYPE_CHECKING:
    from splitcost.calibration import CalibrationResult
    from splitcost.render.cells import Grid


@app.command()
def calibrate(
    out: Annotated[Path, typer.Option("--out", help="Device profile to write (a .toml file; "
                                      "its stem becomes the device's name).")],
    models: Annotated[str | None, typer.Option(
        "--models", help="Comma-separated torchvision backbones to time (default: resnet18, "
        "mobilenet_v3_large, efficientnet_b0, squeezenet1_1, swin_t).")] = None,
    torch_device: Annotated[str, typer.Option("--torch-device", help="cpu, or cuda for the "
                                              "GPU.")] = "cpu",
    role: Annotated[str, typer.Option("--role", help="edge or server.")] = "edge",
    batch: Batch = 1,
    min_run_time: Annotated[float, typer.Option("--min-run-time", help="Seconds of timing per "
                                                "block and round.")] = 0.1,
    rounds: Annotated[int, typer.Option("--rounds", help="Passes over all blocks; each block "
                                        "keeps its fastest.")] = 3,
    threads: Annotated[int | None, typer.Option("--threads", help="torch intra-op threads "
                                                "(default: torch's setting).")] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table or json.")] = "table",
) -> None:
    """Time real networks block by block here, fit the latency model, write a device profile."""
    fmt = check_format(fmt, ("table", "json"))
    if not (math.isfinite(min_run_time) and min_run_time > 0):
        raise InputError(f"--min-run-time: expected a positive number of seconds, got "
                         f"{min_run_time}")
    if rounds < 1:
        raise InputError(f"--rounds: expected at least 1, got {rounds}")
    if threads is not None and threads < 1:
        raise InputError(f"--threads: expected at least 1, got {threads}")
    from splitcost.calibration import DEFAULT_MODELS
    from splitcost.calibration import calibrate as run

    show = fmt == "table" and sys.stdout.isatty()
    with _progress(show) as progress:
        result = run(out, models=DEFAULT_MODELS if models is None else models.split(","),
                     torch_device=torch_device, role=role, batch=batch,
                     min_run_time=min_run_time, rounds=rounds, threads=threads,
                     progress=progress)
    if fmt == "json":
        from splitcost.render.jsonout import dumps

        emit(dumps(result.to_dict()))
        return
    from rich.console import Group

    from splitcost.render.table import render

    grids = (figures_grid(result), models_grid(result), blocks_grid(result))
    print_rich(Group(*(render(g) for g in grids[:-1]), render(grids[-1], verdict(result))))


@contextmanager
def _progress(show: bool) -> Iterator[Callable[[str, int, int], None] | None]:
    """A rich progress bar (one line per stage) on a terminal; nothing otherwise."""
    if not show:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn

    tasks: dict[str, TaskID] = {}
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  transient=True) as bar:

        def update(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        yield update


def verdict(r: CalibrationResult) -> str:
    return (f"Wrote {r.path}: latency error band ±{100 * r.latency_error:.0f}% "
            f"({r.error_method}). Use it as --device {r.path} or --server {r.path}.")


def figures_grid(r: CalibrationResult) -> Grid:
    from splitcost.render.cells import Grid
    from splitcost.units import format_bytes, format_flop_rate, format_seconds

    d, p = r.device, r.peaks
    eff = d.efficiency
    conv = "" if p.conv_flops is None else f"; 3x3 conv {format_flop_rate(p.conv_flops)}"
    copies = ", ".join(f"{n / 2**20:g} MiB {format_bytes(b)}/s" for n, b in p.copies)
    rows = [
        ("memory.total", format_bytes(d.memory_total), d.sources["memory.total"].ref),
        ("memory.usable", format_bytes(d.memory_usable), "available at calibration time"),
        ("memory.runtime_overhead", format_bytes(d.runtime_overhead),
         d.sources["memory.runtime_overhead"].note),
        ("memory.bandwidth", f"{format_bytes(d.memory_bandwidth)}/s",
         f"the largest copy (DRAM): {copies}"),
        *((("memory.cache_size", format_bytes(d.cache_bytes), "largest copy at 80% of the best"),
           ("memory.cache_bandwidth", f"{format_bytes(d.cache_bandwidth or 0)}/s",
            "the best copy")) if d.cache_bytes else ()),
        ("compute.fp32", format_flop_rate(d.peak_flops["fp32"]),
         f"best of {p.gemm_n}² GEMM {format_flop_rate(p.gemm_flops)}{conv}"),
        *((f"compute.efficiency.{k}", f"{getattr(eff, k):.3g}", r.fit.status(k))
          for k in ("conv", "depthwise", "matmul", "elementwise", "pool", "memory")),
        ("compute.op_overhead", format_seconds(d.op_overhead_s), "fitted"),
        ("compute.latency_error", f"±{100 * r.latency_error:.1f}%", r.error_method),
    ]
    s = r.setup
    context = (f"{s.host}, torch {s.torch}, {s.threads} threads, {s.torch_device}, batch "
               f"{s.batch}, 3x224x224; models {', '.join(s.models)}; fastest of {s.rounds} "
               f"rounds x {s.min_run_time_s:g} s per block",
               f"fit: RMS log error {r.fit.rms_log_error:.3f} over {r.fit.samples} blocks and "
               "whole backbones")
    return Grid(f"Calibrated device {d.name} ({d.role})", ("figure", "value", "how"),
                tuple(rows), context=context, right=(1,))


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:+.1f}%"


def models_grid(r: CalibrationResult) -> Grid:
    from splitcost.render.cells import Grid
    from splitcost.units import format_seconds

    rows = tuple((m.model, format_seconds(m.measured_s), format_seconds(m.predicted_s),
                  _pct(m.error), "-" if m.held_out_s is None else format_seconds(m.held_out_s),
                  _pct(m.held_out_error)) for m in r.models)
    return Grid("Whole backbones", ("model", "measured", "predicted", "error", "LOMO",
                                    "LOMO error"), rows,
                notes=("LOMO: predicted by a fit that left this model out (leave one model "
                       "out)",), right=(1, 2, 3, 4, 5))


def blocks_grid(r: CalibrationResult) -> Grid:
    from splitcost.render.cells import Grid
    from splitcost.units import format_count, format_seconds

    rows = tuple((b.model, b.block, str(b.ops), format_count(b.flops),
                  format_seconds(b.measured_s), format_seconds(b.predicted_s), _pct(b.error))
                 for b in r.blocks)
    return Grid("Per-block fit", ("model", "block", "ops", "FLOPs", "measured", "predicted",
                                  "error"), rows, right=(2, 3, 4, 5, 6), keep=(0, 1))
