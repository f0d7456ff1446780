"""`splitcost measure`: a real split run over TCP, measured beside the prediction.

``--serve HOST:PORT`` hosts the server half for edges that ``--connect`` (another machine, or
another network namespace); without either, a server process is started on loopback.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from splitcost import defaults as D
from splitcost.cli.app import app
from splitcost.cli.options import command
from splitcost.cli.output import show
from splitcost.cli.progress import Tick, progress_bar
from splitcost.errors import InputError
from splitcost.render.registry import Format


@command(app, result="splitcost.deploy.measurement.results:MeasureResult",
         shared=("backbone", "tasks", "payload_dtype", "input_shape", "hidden", "profiles"))
def measure(
    backbone: str = D.BACKBONE,
    tasks: str = D.TASKS,
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
    payload_dtype: str | None = D.PAYLOAD_DTYPE,
    device: Annotated[str | None, typer.Option("--device", "-d", help="Device profile (name "
                                               "or TOML, e.g. a calibrated host.toml) that "
                                               "predicts the edge's compute.")] = None,
    server_device: Annotated[str | None, typer.Option("--server-device", help="Device "
                                                      "profile of the server (default: "
                                                      "--device).")] = None,
    link: Annotated[str | None, typer.Option("--link", "-l", help="Link profile or rate for "
                                             "the prediction (default: probe this "
                                             "connection).")] = None,
    input_shape: str = D.INPUT_SHAPE,
    hidden: int = D.HIDDEN,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the random weights (both sides "
                                      "build the same network).")] = 0,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds any socket operation "
                                           "may wait.")] = 30.0,
    threads: Annotated[int | None, typer.Option("--threads", help="torch intra-op threads of "
                                                "the edge and the server (as calibrated).")]
    = None,
    profiles: list[Path] | None = None,
    fmt: Format = Format.TABLE,
) -> None:
    """Run the split for real over TCP; print measured phases beside splitcost's prediction."""
    from splitcost.deploy.measurement import MeasureError, SplitConfig
    from splitcost.deploy.wire import WireError
    from splitcost.hardware.catalog import search_dirs
    from splitcost.hardware.encoding import payload_encoding
    from splitcost.network.tasks import parse_tasks
    from splitcost.studies.inputs import device_of, link_of, positive_int
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
    if connect is not None and serve is not None:
        raise InputError("--connect and --serve: give one (an edge connects, a server serves)")
    positive_int("hidden", hidden, at_most=10**7)
    if not (timeout > 0 and math.isfinite(timeout)):
        raise InputError(f"expected a positive number of seconds, got {timeout}",
                         parameter="timeout")
    if threads is not None and threads < 1:
        raise InputError(f"expected at least 1, got {threads}", parameter="threads")
    dirs = tuple(profiles or ())
    search_dirs(dirs)  # a missing --profiles folder is an error even when nothing is loaded
    dev = None if device is None else device_of(device, dirs)
    srv = None if server_device is None else device_of(server_device, dirs, "server_device")
    lnk = None if link is None else link_of(link, dirs)
    try:
        if serve is not None:
            cfg = SplitConfig(backbone, tuple(classes), cut, spec.shape, hidden, seed)
            _serve(_address("serve", serve), cfg, timeout, threads)
            return
        if connect is not None:
            _address("connect", connect)
        from splitcost.deploy.measurement import measure as run

        with progress_bar() as bar:
            tick = None if bar is None else _measuring(bar)
            result = run(backbone, classes, images=images, warmup=warmup, cut=cut,
                         connect=connect, payload_dtype=payload_dtype, device=dev,
                         server_device=srv, link=lnk, input_shape=spec.shape, hidden=hidden,
                         seed=seed, timeout=timeout, threads=threads, progress=tick)
    except (MeasureError, WireError) as e:
        sys.stderr.write(f"splitcost: error: {e}\n")
        sys.exit(1)  # a failed run, not bad input (2); typer.Exit's code is lost in main()
    show(result, fmt)


def _address(parameter: str, text: str) -> tuple[str, int]:
    from splitcost.deploy.measurement import parse_address

    try:
        return parse_address(text)
    except InputError as e:
        raise e.about(parameter) from None


def _serve(address: tuple[str, int], cfg: object, timeout: float, threads: int | None) -> None:
    import socket

    import torch

    from splitcost.deploy.measurement import Outcome, SplitConfig, serve

    assert isinstance(cfg, SplitConfig)
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        listener = socket.create_server(address)
    except OSError as e:
        raise InputError(f"cannot listen on {address[0]}:{address[1]}: {e.strerror or e}",
                         parameter="serve") from None
    sys.stderr.write(f"splitcost measure: serving {cfg.backbone} split at {cfg.cut} on "
                     f"{address[0]}:{address[1]} (Ctrl-C stops)\n")
    def heard(outcome: Outcome, why: str) -> None:
        if why:  # one line per connection that ended badly; the server goes on
            sys.stderr.write(f"splitcost measure: a connection ended ({outcome}): {why}\n")

    with listener:
        serve(listener, cfg, timeout=timeout, on_connection=heard)


def _measuring(bar: Tick) -> Callable[[int, int], None]:
    return lambda done, total: bar("measuring", done, total)
