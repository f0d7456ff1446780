"""The options commands share, declared once, and the decorator that gives them to a command.

A command asks for a group of options by taking a parameter typed with the group
(:class:`ModelArgs`, :class:`PricingArgs`, :class:`FleetArgs`, :class:`SweepArgs`) or names
single shared options; :func:`command` puts the group's options in the command's signature
(typer reads them from there) and hands the command one frozen object per group. Every default
comes from :mod:`splitcost.defaults`. ``--format`` lists, and accepts, exactly the formats the
command's result has views for.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Annotated, Any, TypeVar, get_type_hints

import typer

from splitcost import defaults as D


@dataclass(frozen=True)
class Opt:
    """One shared option: its parameter name, typed annotation (with the typer Option) and
    default."""

    name: str
    annotation: Any
    default: Any

    @property
    def flag(self) -> str:
        info = self.annotation.__metadata__[0]
        # Inside Annotated, typer takes Option's first positional argument (its "default") as
        # the first declaration.
        first = (info.default,) if isinstance(info.default, str) else ()
        decls = [d for d in (*first, *info.param_decls) if d.startswith("--")]
        return decls[0] if decls else "--" + self.name.replace("_", "-")


def _opt(name: str, kind: Any, default: Any, *decls: str, help: str) -> Opt:
    return Opt(name, Annotated[kind, typer.Option(*decls, help=help)], default)


OPTIONS: dict[str, Opt] = {o.name: o for o in (
    _opt("backbone", str, D.BACKBONE, "--backbone", "-b",
         help="vgg, mobilenet, efficientnet (the paper's), any torchvision classifier, "
         "detection or segmentation model (resnet50, vit_b_16, fasterrcnn_resnet50_fpn), "
         "timm:NAME, hf:MODEL_TYPE_OR_CONFIG (transformers, from a config: no weights, no "
         "download), or package.module:factory for your own model. A factory is imported and "
         "called: it runs your code."),
    _opt("backbone_args", list[str] | None, None, "--backbone-arg",
         help="NAME=VALUE keyword argument of the backbone's factory (repeatable): "
         "num_hidden_layers=4, drop_rate=0.1, num_classes=10."),
    _opt("input_shape", str, D.INPUT_SHAPE, "--input", "-i",
         help="One sample's shape, batch excluded: 3x224x224; 128:int64 for 128 token ids; "
         "several inputs with commas: 3x224x224,128:int64."),
    _opt("batch", int, D.BATCH, "--batch", help="Batch size of one inference."),
    _opt("no_cache", bool, D.NO_CACHE, "--no-cache",
         help="Trace the network even if its profile is cached, and store nothing (see "
         "'splitcost cache info')."),
    _opt("precision", str | None, D.PRECISION, "--precision",
         help="Parameters, activations and a float input: float32, float16 or bfloat16 "
         "(default: the model's own, float32 for torchvision's)."),
    _opt("tasks", str, D.TASKS, "--tasks", "-t",
         help="Number of tasks (3: ten classes each) or classes per task (3,2,3 = FACES: age, "
         "gender, expression)."),
    _opt("link", str, D.LINK, "--link", "-l",
         help="A link profile (see 'splitcost links') or a bare rate: 1gbps, 100 Mbit/s, "
         "12.5MB/s (an ideal link)."),
    _opt("device", str, D.DEVICE, "--device", "-d", help="Edge device profile name or TOML file."),
    _opt("latency_device", str | None, None, "--device", "-d",
         help="Also predict each module's time and the total on this device profile (name or "
         "TOML file)."),
    _opt("server", str, D.SERVER, "--server", "-s", help="Server profile name or TOML file."),
    _opt("server", list[str] | None, None, "--server", "-s",
         help=f"Server profile name or TOML file (default {D.SERVER}); repeat as NAME:TASKS to "
         "put the heads on several servers: --server rtx-3090:1,2 --server t4:3."),
    _opt("branch", str, D.BRANCH, "--branch",
         help="Branch point: the cut after which each task runs its own copy of the backbone "
         "(a module path from 'splitcost sweep'; input = N single-task networks; output = the "
         "paper's, one shared backbone)."),
    _opt("fan_out", str, D.FAN_OUT, "--fan-out",
         help="Heads on several servers: unicast (the edge sends each server a copy) or relay "
         "(one copy to the first server, which forwards it over --relay-link)."),
    _opt("relay_link", str, D.RELAY_LINK, "--relay-link",
         help="The link between servers for --fan-out relay (a link profile or a rate)."),
    _opt("memory_model", str, D.MEMORY_MODEL, "--memory-model", "-m",
         help="inference (peak live activations) or torchinfo (torchinfo 1.8.0, as the paper)."),
    _opt("payload_dtype", str | None, D.PAYLOAD_DTYPE, "--payload-dtype",
         help="How cut tensors are sent: float32, float16, bfloat16 or int8 (+ scale and zero "
         "point). Default: the --precision."),
    _opt("payload_compression", str | None, None, "--payload-compression",
         help="Compression ratio of the payload, e.g. 4."),
    _opt("input_dtype", str | None, D.INPUT_DTYPE, "--input-dtype",
         help="How RoC sends the input: float32 (paper), float16, bfloat16, uint8 (raw pixels) "
         "or jpeg:RATIO. Default: the --precision."),
    _opt("calibrate_runtime", str, D.RUNTIME, "--runtime",
         help="eager (PyTorch), or onnxruntime to also time every block under ONNX Runtime's "
         "CPU execution provider, measure its fusions and write its section."),
    _opt("runtime", str, D.RUNTIME, "--runtime",
         help="How the devices run the network: eager (PyTorch, one kernel per operator), "
         "tensorrt or onnxruntime (fused kernels); the device profiles need a section for it."),
    _opt("hidden", int, D.HIDDEN, "--hidden", help="Hidden width of each head."),
    _opt("profiles", list[Path] | None, None, "--profiles",
         help="Extra folder of device/link TOML profiles (repeatable); also "
         "SPLITCOST_PROFILES."),
    _opt("devices", int, D.FLEET_DEVICES, "--devices", "-n", help="Edge devices in the fleet."),
    _opt("fps", str, str(D.FPS), "--fps", help="Inferences per second per device."),
    _opt("ingress", str, D.INGRESS, "--ingress",
         help="Network capacity of one server, e.g. 10gbps."),
    _opt("concurrency", int, D.CONCURRENCY, "--concurrency",
         help="Batches one server holds in flight."),
    _opt("max_batch", int, D.MAX_BATCH, "--max-batch",
         help="The server's dynamic batcher: the largest batch of requests it serves at once "
         "(1: each request alone)."),
    _opt("max_queue_delay", str, D.MAX_QUEUE_DELAY, "--max-queue-delay",
         help="How long a request that finds the server idle waits for company before its "
         "batch starts, e.g. 2ms (Triton's max_queue_delay; 0: never waits)."),
    _opt("branches", bool, False, "--branches",
         help="Sweep every branch point with every cut: the joint front (replaces --branch)."),
    _opt("depth", int | None, None, "--depth",
         help="Cut after the modules at this depth (default: the top-level blocks, a block "
         "holding over half the operators split into its children)."),
    _opt("cuts", str, D.CUTS, "--cuts", help="blocks (module boundaries) or all (every "
         "operator)."),
    _opt("objective", str, D.OBJECTIVE, "--objective",
         help="The best cut by latency, edge-memory, payload or energy."),
    _opt("slo", str | None, None, "--slo", help="Latency limit per inference, e.g. 100ms."),
    _opt("max_payload", str | None, None, "--max-payload",
         help="Payload limit per inference, e.g. 1MB."),
    _opt("cut", list[str] | None, None, "--cut",
         help="Add Split@NAME for a cut from 'splitcost sweep' (a module path, input, output "
         "or opN); repeatable."),
    _opt("plot_file", Path | None, None, "--plot",
         help="Also write a figure: FILE.png, FILE.svg or FILE.pdf (needs matplotlib)."),
    _opt("task_sets", list[str] | None, None, "--tasks", "-t",
         help="A task set: a number of tasks (3) or classes per task (3,2,3); repeat it to "
         "explore several (--tasks 1 --tasks 3)."),
    _opt("backbones", str, D.BACKBONE, "--backbone", "-b",
         help="Backbones separated by commas (resnet18,mobilenet_v3_large), a pattern of "
         "torchvision names ('regnet_y_*'), or all."),
    _opt("device_list", str, D.DEVICE, "--device", "-d",
         help="Edge devices separated by commas, or all (every edge profile)."),
    _opt("link_list", str, D.LINK, "--link", "-l",
         help="Links separated by commas (profiles or bare rates such as 100mbps), or all."),
    _opt("sources", bool, False, "--sources",
         help="Cite the source of every device and link figure used (vendor, measured, "
         "derived, estimate or calibrated)."),
)}


@dataclass(frozen=True)
class ModelArgs:
    """Which network, on which input: what ``profile()`` is given."""

    backbone: str
    input_shape: str
    batch: int
    precision: str | None
    no_cache: bool = D.NO_CACHE  # (explore builds one to check its model options)
    backbone_args: list[str] | None = None


@dataclass(frozen=True)
class PricingArgs:
    """What every pricing command shares (:func:`splitcost.studies.inputs.pricing_inputs`)."""

    tasks: str
    link: str
    device: str
    server: list[str] | None
    memory_model: str
    payload_dtype: str | None
    payload_compression: str | None
    input_dtype: str | None
    hidden: int
    profiles: list[Path] | None
    runtime: str
    branch: str
    fan_out: str
    relay_link: str


@dataclass(frozen=True)
class FleetArgs:
    devices: int
    fps: str
    ingress: str
    concurrency: int
    max_batch: int
    max_queue_delay: str


@dataclass(frozen=True)
class SweepArgs:
    depth: int | None
    cuts: str
    objective: str
    slo: str | None
    max_payload: str | None


GROUPS: tuple[type, ...] = (ModelArgs, PricingArgs, FleetArgs, SweepArgs)

# API parameters whose flag is not "--" + the name with dashes.
_RENAMED = {"dtype": "--precision", "slo_s": "--slo", "max_payload_bytes": "--max-payload",
            "ingress_bps": "--ingress", "cuts_names": "--cut", "every_op": "--cuts",
            "devices": "--device", "links": "--link", "action": "ACTION"}


def flag_of(parameter: str) -> str:
    """The command-line flag of an API parameter (for error messages)."""
    if parameter in OPTIONS:
        return OPTIONS[parameter].flag
    return _RENAMED.get(parameter, "--" + parameter.replace("_", "-"))


class Flags(dict[str, str]):
    """The flag map :meth:`splitcost.errors.InputError.for_cli` reads."""

    def __missing__(self, key: str) -> str:
        return flag_of(key)

    def get(self, key: str, default: Any = None) -> str:
        return flag_of(key)


FLAGS = Flags()

F = TypeVar("F", bound=Callable[..., Any])


def command(app: typer.Typer, name: str | None = None, *, result: str | None = None,
            shared: tuple[str, ...] = ()) -> Callable[[F], F]:
    """Register ``fn`` on ``app``: a parameter typed with a group becomes the group's options,
    one named in ``shared`` takes that shared option's declaration, and with a ``result`` type
    ``fmt`` becomes a ``--format`` whose help lists that result's formats (parsed before the
    command runs)."""

    def deco(fn: F) -> F:
        hints = get_type_hints(fn, include_extras=True)
        params: list[inspect.Parameter] = []
        groups: dict[str, type] = {}
        for p in inspect.signature(fn).parameters.values():
            hint = hints.get(p.name, p.annotation)
            if hint in GROUPS:
                groups[p.name] = hint
                params += [_param(OPTIONS[f.name]) for f in fields(hint)]
            elif p.name == "fmt" and result is not None:
                params.append(_param(_format_opt(result)))
            elif p.name in shared:
                params.append(_param(OPTIONS[p.name]))
            else:
                params.append(p.replace(annotation=hint, kind=inspect.Parameter.KEYWORD_ONLY))

        def run(**kwargs: Any) -> Any:
            for pname, group in groups.items():
                kwargs[pname] = group(**{f.name: kwargs.pop(f.name) for f in fields(group)})
            if result is not None and "fmt" in kwargs:
                from splitcost.render.registry import parse_format

                kwargs["fmt"] = parse_format(kwargs["fmt"], result)
            return fn(**kwargs)

        run.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
        run.__annotations__ = {p.name: p.annotation for p in params}
        run.__name__ = fn.__name__
        run.__doc__ = fn.__doc__
        app.command(name)(run)
        return fn

    return deco


def _param(opt: Opt) -> inspect.Parameter:
    return inspect.Parameter(opt.name, inspect.Parameter.KEYWORD_ONLY, default=opt.default,
                             annotation=opt.annotation)


def _format_opt(result: str) -> Opt:
    from splitcost.render.registry import formats_for

    names = [f.value for f in formats_for(result)]
    listed = ", ".join(names[:-1]) + f" or {names[-1]}" if len(names) > 1 else names[0]
    return _opt("fmt", str, D.FORMAT, "--format", "-f", help=f"{listed}.")
