"""Options shared by several commands, and the small helpers that parse them.

Parsers are called through :func:`option`, so that every error names the option it is about.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from splitcost.errors import InputError
from splitcost.render import FORMATS

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
PlotFile = Annotated[
    Path | None,
    typer.Option("--plot", help="Also write a figure: FILE.png or FILE.svg (needs matplotlib)."),
]


def check_plot(path: Path | None) -> Path | None:
    """Check a --plot path before any tracing, so a typo fails fast."""
    if path is None:
        return None
    from splitcost.render.plots import check_path, require_matplotlib

    require_matplotlib()
    return check_path(path, "--plot")


def write_plot(path: Path | None, figure: Callable[[], Any]) -> None:
    """Write the figure where asked (atomically), and nowhere else."""
    if path is None:
        return
    from splitcost.render.plots import save

    save(figure(), path)


def choice(option_name: str, value: str, allowed: tuple[str, ...]) -> str:
    """One of ``allowed``, whatever its case; else one line with the choices."""
    key = value.strip().lower()
    if key not in allowed:
        raise InputError(f"{option_name}: expected one of {', '.join(allowed)}, got {value!r}")
    return key


def pricing_options(*, input_shape: str, tasks: str, link: str, device: str, server: str,
                    memory_model: str, payload_dtype: str, payload_compression: str | None,
                    input_dtype: str, hidden: int, profiles: list[Path] | None
                    ) -> dict[str, Any]:
    """Check the options every pricing command shares, before any network is traced (bad
    input fails fast), and return them as keyword arguments of compare/sweep/plan."""
    from splitcost.heads import parse_tasks
    from splitcost.memory import MEMORY_MODELS
    from splitcost.payload import input_encoding, payload_encoding
    from splitcost.profiles import load_device, load_link
    from splitcost.units import parse_input

    option("--input", parse_input, input_shape)
    option("--tasks", parse_tasks, tasks)
    payload_encoding(payload_dtype, payload_compression)
    input_encoding(input_dtype)
    if hidden < 1:
        raise InputError(f"--hidden: expected at least 1, got {hidden}")
    dirs = profiles or []
    return {
        "device": option("--device", load_device, device, dirs),
        "server": option("--server", load_device, server, dirs),
        "link": option("--link", load_link, link, dirs),
        "memory_model": choice("--memory-model", memory_model, MEMORY_MODELS),
        "payload_dtype": payload_dtype,
        "payload_compression": payload_compression,
        "input_dtype": input_dtype,
        "hidden": hidden,
    }


def fleet_options(fps: str, ingress: str) -> tuple[float, float]:
    """``--fps`` (inferences per second) and ``--ingress`` (a data rate)."""
    import math

    from splitcost.units import parse_rate

    try:
        rate = float(fps)
    except ValueError:
        raise InputError(
            f"--fps: expected a number of inferences per second, got {fps!r}") from None
    if not (rate > 0 and math.isfinite(rate)):
        raise InputError(f"--fps: expected a positive number of inferences per second, got "
                         f"{fps!r}")
    return rate, option("--ingress", parse_rate, ingress)


def check_format(fmt: str, allowed: tuple[str, ...] = FORMATS) -> str:
    key = fmt.strip().lower()
    if key not in allowed:
        raise InputError(f"--format: expected one of {', '.join(allowed)}, got {fmt!r}")
    return key


T = TypeVar("T")


def option(option: str, fn: Callable[..., T], *args: Any) -> T:
    """Call a parser, naming the option in its error."""
    try:
        return fn(*args)
    except InputError as e:
        text = str(e)
        raise InputError(text if text.startswith(option) else f"{option}: {text}") from None


def traced_profile(backbone: str, input_shape: str, batch: int, whole: bool, precision: str,
                   **training: Any) -> Any:
    from splitcost.profiling import profile
    from splitcost.units import parse_dtype, parse_input

    spec = option("--input", parse_input, input_shape)
    if batch < 1:
        raise InputError(f"--batch: expected an integer of at least 1, got {batch}")
    dtype = option("--precision", parse_dtype, precision)
    return profile(backbone, spec, batch=batch, whole=whole, dtype=dtype, **training)


# --- commands ----------------------------------------------------------------------------------


