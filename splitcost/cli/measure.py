"""`splitcost measure`: a real split run over TCP, measured beside the prediction.

``--serve HOST:PORT`` hosts the server half for edges that ``--connect`` (another machine, or
another network namespace); without either, a server process is started on loopback.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer

from splitcost.cli.app import app
from splitcost.cli.options import (
    Backbone,
    Format,
    Hidden,
    InputShape,
    PayloadDtype,
    Profiles,
    Tasks,
    check_format,
    option,
)
from splitcost.cli.output import output
from splitcost.errors import InputError

if TYPE_CHECKING:
    from splitcost.measurement import MeasureResult
    from splitcost.render.cells import Grid


@app.command()
def measure(
    backbone: Backbone = "mobilenet",
    tasks: Tasks = "2",
    images: Annotated[int, typer.Option("--images", help="Inferences measured, after the "
                                        "warm-up.")] = 50,
    warmup: Annotated[int, typer.Option("--warmup", help="Inferences run first and not "
                                        "counted (their outputs are checked).")] = 3,
    cut: Annotated[str, typer.Option("--cut", help="Where to split: a module path from "
                                     "'splitcost sweep', input or output (Z_b).")] = "output",
    connect: Annotated[str | None, typer.Option("--connect", help="HOST:PORT of a server "
                                                "started with --serve (default: a server "
                                                "process on loopback).")] = None,
    serve: Annotated[str | None, typer.Option("--serve", help="Host the server half on "
                                              "HOST:PORT until interrupted.")] = None,
    payload_dtype: PayloadDtype = "float32",
    device: Annotated[str | None, typer.Option("--device", "-d", help="Device profile (name "
                                               "or TOML, e.g. a calibrated host.toml) that "
                                               "predicts the edge's compute.")] = None,
    server_device: Annotated[str | None, typer.Option("--server-device", help="Device "
                                                      "profile of the server (default: "
                                                      "--device).")] = None,
    link: Annotated[str | None, typer.Option("--link", "-l", help="Link profile or rate for "
                                             "the prediction (default: probe this "
                                             "connection).")] = None,
    input_shape: InputShape = "3x224x224",
    hidden: Hidden = 256,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the random weights (both sides "
                                      "build the same network).")] = 0,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds any socket operation "
                                           "may wait.")] = 30.0,
    threads: Annotated[int | None, typer.Option("--threads", help="torch intra-op threads of "
                                                "the edge and the server (as calibrated).")]
    = None,
    profiles: Profiles = None,
    fmt: Format = "table",
) -> None:
    """Run the split for real over TCP; print measured phases beside splitcost's prediction."""
    from splitcost.heads import parse_tasks
    from splitcost.measurement import MeasureError, SplitConfig, parse_address
    from splitcost.payload import payload_encoding
    from splitcost.profiles import load_device, load_link, search_dirs
    from splitcost.units import parse_input
    from splitcost.wire import WireError

    fmt = check_format(fmt, ("table", "json"))
    spec = option("--input", parse_input, input_shape)
    classes = [t.classes for t in option("--tasks", parse_tasks, tasks)]
    payload_encoding(payload_dtype)
    if connect is not None and serve is not None:
        raise InputError("--connect and --serve: give one (an edge connects, a server serves)")
    if hidden < 1:
        raise InputError(f"--hidden: expected at least 1, got {hidden}")
    if not (timeout > 0 and math.isfinite(timeout)):
        raise InputError(f"--timeout: expected a positive number of seconds, got {timeout}")
    if threads is not None and threads < 1:
        raise InputError(f"--threads must be at least 1, got {threads}")
    dirs = profiles or []
    search_dirs(dirs)  # a missing --profiles folder is an error even when nothing is loaded
    dev = None if device is None else option("--device", load_device, device, dirs)
    srv = None if server_device is None else option("--server-device", load_device,
                                                     server_device, dirs)
    lnk = None if link is None else option("--link", load_link, link, dirs)
    try:
        if serve is not None:
            cfg = SplitConfig(backbone, tuple(classes), cut, spec.shape, hidden, seed)
            _serve(option("--serve", parse_address, serve), cfg, timeout, threads)
            return
        if connect is not None:
            option("--connect", parse_address, connect)
        from splitcost.measurement import measure as run

        with _progress(images) as tick:
            result = run(backbone, classes, images=images, warmup=warmup, cut=cut,
                         connect=connect, payload_dtype=payload_dtype, device=dev,
                         server_device=srv, link=lnk, input_shape=spec.shape, hidden=hidden,
                         seed=seed, timeout=timeout, threads=threads, progress=tick)
    except (MeasureError, WireError) as e:
        sys.stderr.write(f"splitcost: error: {e}\n")
        sys.exit(1)  # a failed run, not bad input (2); typer.Exit's code is lost in main()
    output(fmt, result.to_dict, lambda: measure_grid(result))


def _serve(address: tuple[str, int], cfg: object, timeout: float, threads: int | None) -> None:
    import socket

    import torch

    from splitcost.measurement import SplitConfig, serve

    assert isinstance(cfg, SplitConfig)
    if threads is not None:
        if threads < 1:
            raise InputError(f"--threads must be at least 1, got {threads}")
        torch.set_num_threads(threads)
    try:
        listener = socket.create_server(address)
    except OSError as e:
        raise InputError(f"--serve: cannot listen on {address[0]}:{address[1]}: "
                         f"{e.strerror or e}") from None
    sys.stderr.write(f"splitcost measure: serving {cfg.backbone} split at {cfg.cut} on "
                     f"{address[0]}:{address[1]} (Ctrl-C stops)\n")
    with listener:
        serve(listener, cfg, timeout=timeout)


@contextmanager
def _progress(total: int) -> Iterator[Callable[[int, int], None] | None]:
    """A rich progress bar on a terminal; nothing when piped."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("measuring", total=total)
        yield lambda done, _total: bar.update(task, completed=done)


def measure_grid(r: MeasureResult) -> Grid:
    from splitcost.render.cells import Grid, link_line
    from splitcost.units import format_bytes, format_seconds, format_shape

    rows = []
    for phase in ("edge", "serialise", "transfer", "server", "total"):
        m, p = r.measured[phase], r.predicted[phase]
        ratio = "-" if p is None or m.median_s <= 0 else f"{p / m.median_s:.2f}"
        rows.append((phase, format_seconds(m.median_s), format_seconds(m.p95_s),
                     "-" if p is None else format_seconds(p), ratio))
    tensors = ", ".join(f"{n} {format_shape(s)}" for n, s in r.payload_tensors)
    cfg = r.config
    where = "loopback, server process started here" if r.spawned else "remote server"
    context = (
        f"Network: {cfg.backbone}, tasks {','.join(map(str, cfg.tasks))}, input "
        f"{format_shape(cfg.input_shape)}, cut {cfg.cut}, seed {cfg.seed}",
        f"Payload: {tensors} as {r.payload_dtype}: {format_bytes(r.payload_bytes)} predicted, "
        f"{format_bytes(r.frame_bytes)} frame on the wire; results frame "
        f"{format_bytes(r.result_frame_bytes)}",
        f"Server: {r.server} ({where}); edge device profile {r.device or '-'}, server "
        f"{r.server_device or '-'}",
        f"Link (prediction): {link_line(r.link)}",
        f"{r.images} images after {r.warmup} warm-up; outputs over the wire vs the eager "
        f"network: max |error| {r.max_abs_error:.3g}",
    )
    return Grid(
        title=f"splitcost measure: {cfg.backbone} split at {cfg.cut}, {r.payload_dtype} payload",
        columns=("Phase", "Measured median", "p95", "Predicted", "Predicted/measured"),
        rows=tuple(rows),
        context=context,
        notes=r.notes,
        right=(1, 2, 3, 4),
    )
