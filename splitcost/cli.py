"""The ``splitcost`` command: parses options, calls the API, renders. No logic of its own.

torch is imported only by the commands that trace a network, so ``--help``, ``devices`` and
``links`` answer at once.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

try:  # typer >= 0.20 vendors click; its errors derive from TyperException
    from typer.exceptions import TyperException as UsageProblem
except ImportError:  # pragma: no cover - older typer on click
    from click import ClickException as UsageProblem  # type: ignore[no-redef,import-not-found,unused-ignore]

from splitcost.errors import InputError
from splitcost.render import FORMATS

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Where should a neural network run? Memory, payload and latency of running it on an "
    "edge device (LoC, MTL-Local), on a server (RoC), or split between them (MTL-Split, any cut).",
    context_settings={"help_option_names": ["-h", "--help"]},
)

F = TypeVar("F", bound=Callable[..., Any])

# --- shared options ------------------------------------------------------------------------------

Backbone = Annotated[
    str,
    typer.Option(
        "--backbone",
        "-b",
        help="vgg, mobilenet, efficientnet (the paper's), any torchvision classifier "
        "(resnet50, vit_b_16, ...), or package.module:factory for your own model. "
        "A factory is imported and called: it runs your code.",
    ),
]
InputShape = Annotated[
    str,
    typer.Option("--input", "-i", help="One sample's shape, batch excluded: 3x224x224; "
                 "1x128:int64 for token ids."),
]
Batch = Annotated[int, typer.Option("--batch", help="Batch size of one inference.")]
Whole = Annotated[
    bool,
    typer.Option("--whole", help="Profile the whole classifier instead of its backbone "
                 "(compare its MACs with torchvision's metadata)."),
]
Precision = Annotated[
    str,
    typer.Option("--precision", help="Parameters and activations: float32, float16 or "
                 "bfloat16."),
]
Profiles = Annotated[
    list[Path] | None,
    typer.Option("--profiles", help="Extra folder of device/link TOML profiles (repeatable); "
                 "also SPLITCOST_PROFILES."),
]
Format = Annotated[str, typer.Option("--format", "-f", help="table, json, csv or markdown.")]
Tasks = Annotated[
    str,
    typer.Option("--tasks", "-t", help="Number of tasks (3: ten classes each) or classes per task "
                 "(3,2,3 = FACES: age, gender, expression)."),
]
LinkOpt = Annotated[
    str,
    typer.Option("--link", "-l", help="A link profile (see 'splitcost links') or a bare rate: "
                 "1gbps, 100 Mbit/s, 12.5MB/s (an ideal link)."),
]
DeviceOpt = Annotated[str, typer.Option("--device", "-d", help="Edge device profile name or TOML "
                                        "file.")]
ServerOpt = Annotated[str, typer.Option("--server", "-s", help="Server profile name or TOML "
                                        "file.")]
MemoryModel = Annotated[
    str, typer.Option("--memory-model", "-m", help="inference (peak live activations) or "
                      "torchinfo (torchinfo 1.8.0, as the paper).")
]
PayloadDtype = Annotated[
    str, typer.Option("--payload-dtype", help="How cut tensors are sent: float32, float16, "
                      "bfloat16 or int8 (+ scale and zero point).")
]
PayloadCompression = Annotated[
    str | None, typer.Option("--payload-compression", help="Compression ratio of the payload, "
                             "e.g. 4.")
]
InputDtype = Annotated[
    str, typer.Option("--input-dtype", help="How RoC sends the input: float32 (paper), uint8 "
                      "(raw pixels) or jpeg:RATIO.")
]
Hidden = Annotated[int, typer.Option("--hidden", help="Hidden width of each head.")]


def _check_format(fmt: str, allowed: tuple[str, ...] = FORMATS) -> str:
    key = fmt.strip().lower()
    if key not in allowed:
        raise InputError(f"--format: expected one of {', '.join(allowed)}, got {fmt!r}")
    return key


def _emit(text: str) -> None:
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


def _print_rich(renderable: Any) -> None:
    from rich.console import Console

    # Piped or redirected output gets a wide page rather than cells cut at 80 columns.
    console = Console() if sys.stdout.isatty() else Console(width=160)
    console.print(renderable)


T = TypeVar("T")


def _option(option: str, fn: Callable[..., T], *args: Any) -> T:
    """Call a parser, naming the option in its error."""
    try:
        return fn(*args)
    except InputError as e:
        text = str(e)
        raise InputError(text if text.startswith(option) else f"{option}: {text}") from None


def _profile(backbone: str, input_shape: str, batch: int, whole: bool, precision: str) -> Any:
    from splitcost.profiling import profile
    from splitcost.units import parse_dtype, parse_input

    spec = _option("--input", parse_input, input_shape)
    if batch < 1:
        raise InputError(f"--batch: expected an integer of at least 1, got {batch}")
    dtype = _option("--precision", parse_dtype, precision)
    return profile(backbone, spec, batch=batch, whole=whole, dtype=dtype)


# --- commands ----------------------------------------------------------------------------------


@app.command()
def report(
    backbone: Backbone = "efficientnet",
    tasks: Tasks = "3",
    link: LinkOpt = "1gbps",
    device: DeviceOpt = "jetson-nano-4gb",
    server: ServerOpt = "rtx-3090",
    input_shape: InputShape = "3x224x224",
    batch: Batch = 1,
    precision: Precision = "float32",
    memory_model: MemoryModel = "inference",
    payload_dtype: PayloadDtype = "float32",
    payload_compression: PayloadCompression = None,
    input_dtype: InputDtype = "float32",
    images: Annotated[int, typer.Option("--images", help="Price K inferences back to back "
                                        "(the paper's 100-input example).")] = 1,
    hidden: Hidden = 256,
    cut: Annotated[
        list[str] | None,
        typer.Option("--cut", help="Add Split@NAME for a cut from 'splitcost sweep' (a module "
                     "path, input, output or opN); repeatable."),
    ] = None,
    profiles: Profiles = None,
    fmt: Format = "table",
) -> None:
    """Compare LoC, MTL-Local, RoC and MTL-Split, with a one-line verdict."""
    from splitcost.heads import parse_tasks
    from splitcost.payload import input_encoding, payload_encoding
    from splitcost.profiles import load_device, load_link
    from splitcost.units import parse_input

    # Every option is checked before the network is traced: bad input fails fast.
    fmt = _check_format(fmt)
    _option("--input", parse_input, input_shape)
    _option("--tasks", parse_tasks, tasks)
    payload_encoding(payload_dtype, payload_compression)
    input_encoding(input_dtype)
    dirs = profiles or []
    dev = _option("--device", load_device, device, dirs)
    srv = _option("--server", load_device, server, dirs)
    lnk = _option("--link", load_link, link, dirs)

    from splitcost.report import compare

    p = _profile(backbone, input_shape, batch, False, precision)
    r = compare(p, tasks, device=dev, server=srv, link=lnk, memory_model=memory_model,
                payload_dtype=payload_dtype, payload_compression=payload_compression,
                input_dtype=input_dtype, images=images, hidden=hidden,
                cuts=_option("--cut", list, cut or []))
    _render_report(r, fmt)


@app.command()
def sweep(
    backbone: Backbone = "efficientnet",
    tasks: Tasks = "3",
    link: LinkOpt = "1gbps",
    device: DeviceOpt = "jetson-nano-4gb",
    server: ServerOpt = "rtx-3090",
    input_shape: InputShape = "3x224x224",
    batch: Batch = 1,
    precision: Precision = "float32",
    depth: Annotated[
        int | None,
        typer.Option("--depth", help="Cut after the modules at this depth (default: the "
                     "top-level blocks, a block holding over half the operators split into "
                     "its children)."),
    ] = None,
    cuts: Annotated[str, typer.Option("--cuts", help="blocks (module boundaries) or all "
                                      "(every operator).")] = "blocks",
    objective: Annotated[str, typer.Option("--objective", "-o", help="latency, edge-memory or "
                                           "payload.")] = "latency",
    slo: Annotated[str | None, typer.Option("--slo", help="Latency limit per inference, "
                                            "e.g. 100ms.")] = None,
    max_payload: Annotated[str | None, typer.Option("--max-payload", help="Payload limit per "
                                                    "inference, e.g. 1MB.")] = None,
    memory_model: MemoryModel = "inference",
    payload_dtype: PayloadDtype = "float32",
    payload_compression: PayloadCompression = None,
    input_dtype: InputDtype = "float32",
    hidden: Hidden = 256,
    profiles: Profiles = None,
    fmt: Format = "table",
) -> None:
    """Every cut priced: payload, edge memory, latency; the best one, the Pareto front, and the
    bandwidth at which the choice would change."""
    from splitcost.heads import parse_tasks
    from splitcost.payload import input_encoding, payload_encoding
    from splitcost.profiles import load_device, load_link
    from splitcost.units import parse_bytes, parse_duration, parse_input

    fmt = _check_format(fmt)
    _option("--input", parse_input, input_shape)
    _option("--tasks", parse_tasks, tasks)
    payload_encoding(payload_dtype, payload_compression)
    input_encoding(input_dtype)
    if cuts not in ("blocks", "all"):
        raise InputError(f"--cuts: expected blocks or all, got {cuts!r}")
    slo_s = None if slo is None else _option("--slo", parse_duration, slo)
    limit = None if max_payload is None else _option("--max-payload", parse_bytes, max_payload)
    dirs = profiles or []
    dev = _option("--device", load_device, device, dirs)
    srv = _option("--server", load_device, server, dirs)
    lnk = _option("--link", load_link, link, dirs)

    from splitcost.render import cells
    from splitcost.render.csvout import SWEEP_COLUMNS
    from splitcost.sweep import sweep as run_sweep

    p = _profile(backbone, input_shape, batch, False, precision)
    sw = run_sweep(p, tasks, device=dev, server=srv, link=lnk, depth=depth,
                   every_op=cuts == "all", objective=objective, slo_s=slo_s,
                   max_payload_bytes=limit, memory_model=memory_model,
                   payload_dtype=payload_dtype, payload_compression=payload_compression,
                   input_dtype=input_dtype, hidden=hidden)
    _output(fmt, sw.to_dict, lambda: cells.sweep_grid(sw), sw.verdict,
            (SWEEP_COLUMNS, lambda: [r.to_dict() for r in sw.results]))


def _output(fmt: str, data: Callable[[], Any], grid: Callable[[], Any],
            verdict: str | None = None,
            csv: tuple[tuple[str, ...], Callable[[], list[Any]]] | None = None) -> None:
    """Render one result in the chosen format; only this function prints results."""
    if fmt == "json":
        from splitcost.render.jsonout import dumps

        _emit(dumps(data()))
    elif fmt == "csv" and csv is not None:
        from splitcost.render.csvout import rows_to_csv

        _emit(rows_to_csv(csv[0], csv[1]()))
    elif fmt == "markdown":
        from splitcost.render.markdown import render

        _emit(render(grid(), verdict))
    else:
        from splitcost.render.table import render as render_table

        _print_rich(render_table(grid(), verdict))


def _render_report(r: Any, fmt: str) -> None:
    from splitcost.render import cells
    from splitcost.render.csvout import REPORT_COLUMNS

    _output(fmt, r.to_dict, lambda: cells.report_grid(r), r.verdict,
            (REPORT_COLUMNS, lambda: [s.to_dict() for s in r.scenarios]))


@app.command("profile")
def profile_cmd(
    backbone: Backbone = "efficientnet",
    input_shape: InputShape = "3x224x224",
    batch: Batch = 1,
    whole: Whole = False,
    precision: Precision = "float32",
    depth: Annotated[int, typer.Option("--depth", help="Module depth shown in the table.")] = 1,
    fmt: Format = "table",
) -> None:
    """Per-module table: output shape, parameters, MACs, payload if cut there; memory models."""
    fmt = _check_format(fmt)
    if depth < 1:
        raise InputError(f"--depth: expected an integer of at least 1, got {depth}")
    p = _profile(backbone, input_shape, batch, whole, precision)
    from splitcost.render import cells
    from splitcost.render.csvout import MODULE_COLUMNS

    _output(fmt, p.to_dict, lambda: cells.profile_grid(p, depth), None,
            (MODULE_COLUMNS, lambda: [m.to_dict() for m in p.modules]))


@app.command()
def devices(profiles: Profiles = None, fmt: Format = "table") -> None:
    """The device profiles: memory, usable memory, runtime overhead, peaks, sources."""
    from splitcost.profiles import device_names, load_device

    fmt = _check_format(fmt, ("table", "json", "markdown"))
    dirs = profiles or []
    items = [load_device(n, dirs) for n in device_names(dirs)]
    _render_list(fmt, items, "devices")


@app.command()
def links(profiles: Profiles = None, fmt: Format = "table") -> None:
    """The link profiles: uplink rate, protocol efficiency, RTT, sources."""
    from splitcost.profiles import link_names, load_link

    fmt = _check_format(fmt, ("table", "json", "markdown"))
    dirs = profiles or []
    items = [load_link(n, dirs) for n in link_names(dirs)]
    _render_list(fmt, items, "links")


def _render_list(fmt: str, items: list[Any], kind: str) -> None:
    from splitcost.render import cells

    grid = cells.devices_grid if kind == "devices" else cells.links_grid
    _output(fmt, lambda: {kind: [i.to_dict() for i in items]}, lambda: grid(items))


@app.command()
def paper(fmt: Format = "table") -> None:
    """The paper's Table 4 and Sec. 4.2 beside what splitcost computes, with the reasons."""
    fmt = _check_format(fmt, ("table", "json", "markdown"))
    from splitcost.paper import reproduce
    from splitcost.render import cells

    result = reproduce()
    _output(fmt, result.to_dict, lambda: cells.paper_grid(result), result.summary)


def main(argv: list[str] | None = None) -> None:
    """Entry point: one line and exit status 2 for any bad input, never a traceback."""
    try:
        app(args=argv, prog_name="splitcost", standalone_mode=False)
    except InputError as e:
        _fail(str(e))
    except typer.Exit as e:
        sys.exit(e.exit_code)
    except typer.Abort:
        _fail("aborted", 130)
    except UsageProblem as e:
        if not e.format_message().strip():
            sys.exit(0)  # no arguments: the help was shown
        ctx = getattr(e, "ctx", None)
        where = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        _fail(f"{e.format_message()}{where}")
    except KeyboardInterrupt:
        _fail("interrupted", 130)


def _fail(message: str, code: int = 2) -> None:
    sys.stderr.write(f"splitcost: error: {message}\n")
    sys.exit(code)
