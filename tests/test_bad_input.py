"""The bad-input matrix: every CLI option and every profile field, with malformed, out-of-range
and absurd values. Each row must exit 2 with one line that names the option (or the file and
the field) and says what is expected; nothing is printed to stdout, no traceback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_run import run

from splitcost.hardware import schema

# (command, option, bad value, words the one-line message must contain)
CLI_ROWS: list[tuple[str, str, str, tuple[str, ...]]] = []


def _rows(commands: tuple[str, ...], option: str, values: dict[str, tuple[str, ...]]) -> None:
    for command in commands:
        for value, words in values.items():
            CLI_ROWS.append((command, option, value, words))


TRACED = ("report", "sweep", "profile", "plan")
PRICED = ("report", "sweep", "plan")

_rows(TRACED, "--backbone", {
    "": ("--backbone", "is empty"),
    "efficentnet": ("unknown backbone", "closest: efficientnet"),
    "RESNET5": ("unknown backbone", "resnet50"),
    "pkg.nothere:make": ("cannot import 'pkg.nothere'",),
    "json:nothere": ("unknown factory in json", "closest"),
    "os:getcwd": ("the factory returned str, not a torch.nn.Module",),
    ":make": ("package.module:factory",),
    "models:raising": ("--backbone", "models:raising() raised ValueError: this factory is broken"),
    "models:downloading": ("--backbone", "tried to download", "URLError"),
    "models:sized": ("missing 1 required positional argument: 'width'", "--backbone-arg"),
    "timm:resnet5": ("unknown timm model", "closest"),
    "hf:bret": ("unknown transformers model type", "closest: bert"),
    "hf:google/vit-base-patch16-224": ("needs a download", "hf:bert"),
    "torchvision.models:resnet999": ("unknown factory in torchvision.models", "resnet"),
})
_rows(TRACED, "--backbone-arg", {
    "depth": ("--backbone-arg", "NAME=VALUE"),
    "1x=2": ("--backbone-arg", "identifier"),
    "nope=1": ("--backbone", "raised TypeError", "nope"),
})
_rows(TRACED, "--input", {
    "": ("--input", "3x224x224"),
    "3x224": ("takes one image per sample as CxHxW",),
    "3x224x": ("--input", "3x224x224"),
    "3x-224x224": ("--input", "3x224x224"),
    "3x0x224": ("--input", "at least 1"),
    "3xnanx224": ("--input", "3x224x224"),
    "3x999999999x999999999": ("--input", "too large"),
    "3x224x224:complex": ("--input", "unknown dtype"),
    "3,224,224": ("--input", "commas separate inputs", "3x224x224"),
    "3x224x224,128:int64": ("--input", "takes one image per sample"),
    "1" * 400: ("--input",),
})
_rows(TRACED, "--batch", {
    "0": ("--batch", "at least 1"),
    "-4": ("--batch", "at least 1"),
    "two": ("--batch", "integer"),
    "1.5": ("--batch", "integer"),
    "": ("--batch", "integer"),
    "1e30": ("--batch", "integer"),
    "2000000": ("--batch", "at most"),
})
_rows(TRACED, "--precision", {
    "fp64x": ("--precision", "unknown dtype"),
    "int8": ("--precision", "must be one of"),
    "": ("--precision", "unknown dtype"),
})
_rows(PRICED, "--tasks", {
    "0": ("--tasks", "at least one task"),
    "-3": ("--tasks",),
    "three": ("--tasks",),
    "3,0,2": ("--tasks", "at least one class"),
    "3,,2": ("--tasks",),
    "": ("--tasks", "empty"),
    "100000": ("--tasks", "at most"),
    "9" * 5000: ("--tasks", "5000 characters"),
})
_rows(PRICED, "--link", {
    "1gbsp": ("--link", "1gbps"),
    "wify": ("--link", "unknown link", "closest: wifi"),
    "0gbps": ("--link", "more than zero"),
    "-1gbps": ("--link", "more than zero"),
    "nan gbps": ("--link",),
    "1e30 Gbit/s": ("--link", "beyond any real data rate"),
    "10 mb/s": ("--link", "ambiguous"),
    "": ("--link",),
    "missing.toml": ("--link", "cannot read profile"),
    "1e-30bps": ("--link", "below any real data rate"),
    "50 bit/s": ("--link", "below any real data rate"),
})
_rows(PRICED, "--device", {
    "jetson-nano-4g": ("--device", "unknown device", "closest: jetson-nano-4gb"),
    "": ("--device", "unknown device"),
    "nothere.toml": ("--device", "cannot read profile"),
})
_rows(PRICED, "--server", {
    "rtx3090": ("--server", "unknown device", "rtx-3090"),
    "rtx-3090:1,9": ("--server", "task 9 does not exist", "1 to 3"),
    "rtx-3090:2": ("--server", "one server runs every task"),
    "rtx-3090:1,1,2,3": ("--server", "names a task twice"),
    "nothere:1,2,3": ("--server", "unknown device"),
})
_rows((*PRICED, "plot"), "--branch", {
    "layer99": ("--branch", "unknown cut"),
    " ": ("--branch", "expected a cut name"),
    "op99999": ("--branch", "unknown cut"),
})
_rows((*PRICED, "plot"), "--fan-out", {"multicast": ("--fan-out", "unicast, relay"),
                                        "": ("--fan-out", "unicast, relay")})
_rows((*PRICED, "plot"), "--relay-link", {"wify": ("--relay-link", "unknown link"),
                                           "0gbps": ("--relay-link", "more than zero")})
_rows(PRICED, "--memory-model", {
    "peak": ("--memory-model", "inference, torchinfo"),
    "": ("--memory-model", "inference, torchinfo"),
})
_rows(PRICED, "--payload-dtype", {
    "int4": ("--payload-dtype", "float32"),
    "": ("--payload-dtype",),
})
_rows(PRICED, "--payload-compression", {
    "0.5": ("--payload-compression", "at least 1"),
    "-2": ("--payload-compression", "at least 1"),
    "nan": ("--payload-compression", "at least 1"),
    "lots": ("--payload-compression", "compression ratio"),
})
_rows(PRICED, "--input-dtype", {
    "png": ("--input-dtype", "jpeg:RATIO"),
    "jpeg:": ("jpeg:RATIO", "compression ratio"),
    "jpeg:0": ("jpeg:RATIO", "at least 1"),
})
_rows(PRICED, "--hidden", {"0": ("--hidden", "at least 1"), "-1": ("--hidden",),
                           "wide": ("--hidden", "integer")})
_rows(("report",), "--images", {"0": ("--images", "at least 1"), "-1": ("--images",),
                                "many": ("--images", "integer")})
_rows(("report",), "--processes", {"many": ("--processes", "one, per-task")})
_rows(("report", "plan"), "--cut", {"layer9": ("--cut", "unknown cut"),
                             "op99999": ("unknown cut",)})
_rows(("sweep",), "--depth", {"0": ("--depth", "at least 1"), "deep": ("--depth", "integer")})
_rows(("sweep",), "--cuts", {"some": ("--cuts", "blocks, all")})
_rows(("sweep",), "--objective", {"speed": ("--objective", "latency")})
_rows(PRICED, "--runtime", {
    "tensorrtt": ("--runtime", "eager, tensorrt, onnxruntime"),
    "onnxruntime": ("--runtime", "has no onnxruntime section"),
    "": ("--runtime",),
})
_rows(("profile",), "--device", {"jetson": ("--device", "unknown device"),
                                 "nothere.toml": ("--device", "cannot read profile")})
_rows(("profile",), "--runtime", {"onnxruntime": ("--runtime", "give --device too"),
                                  "fused": ("--runtime", "give --device too")})
_rows(("profile",), "--profiles", {"/no/such/dir": ("does not exist",)})
_rows(("sweep", "plot"), "--slo", {"fast": ("--slo", "100ms"), "0ms": ("--slo", "more than zero"),
                            "100": ("--slo", "with a unit"), "-5ms": ("--slo",)})
_rows(("sweep", "plot"), "--max-payload", {"-1MB": ("--max-payload", "more than zero"),
                                    "big": ("--max-payload",), "0": ("--max-payload",)})
_rows(("profile",), "--depth", {"0": ("--depth", "at least 1")})
_rows(("profile",), "--optimizer", {"lion": ("--optimizer", "adamw")})
_rows(("plan",), "--devices", {"0": ("--devices", "at least 1"), "-5": ("--devices",),
                               "lots": ("--devices", "integer")})
_rows(("plan",), "--fps", {"0": ("--fps", "positive"), "-2": ("--fps",), "nan": ("--fps",),
                           "inf": ("--fps",), "fast": ("--fps",)})
_rows(("plan",), "--ingress", {"10": ("--ingress", "with a unit"), "-1gbps": ("--ingress",)})
_rows(("plan",), "--concurrency", {"0": ("--concurrency", "at least 1")})
_rows(("plan", "plot"), "--max-batch", {"0": ("--max-batch", "at least 1"),
                                        "many": ("--max-batch", "integer"),
                                        "5000": ("--max-batch", "at most 4,096")})
_rows(("plan", "plot"), "--max-queue-delay", {"2": ("--max-queue-delay", "with a unit"),
                                              "-1ms": ("--max-queue-delay",),
                                              "20s": ("--max-queue-delay", "from 0 to 10 s"),
                                              "soon": ("--max-queue-delay",)})
_rows(("plan",), "--slo", {"fast": ("--slo", "100ms"), "0ms": ("--slo", "more than zero"),
                           "100": ("--slo", "with a unit"), "-5ms": ("--slo",)})
_rows(PRICED, "--plot", {"x.jpg": ("--plot:", ".png, .svg or .pdf"),
                         "/no/such/dir/x.png": ("--plot", "does not exist"),
                         "{ro}/x.png": ("--plot", "cannot write into")})
_rows((*TRACED, "devices", "links", "paper"), "--format", {
    "xml": ("--format", "expected one of"),
    "": ("--format",),
})
_rows((*PRICED, "devices", "links"), "--profiles", {
    "/no/such/dir": ("does not exist",),
    "{tmp}/lte.toml": ("--profiles", "is a file", "--link FILE"),
    "/" + "d" * 5000: ("--profiles", "File name too long"),
})
_rows(("cache",), "--format", {"xml": ("--format", "expected one of"), "": ("--format",)})


EXPLORE = ("explore",)
_rows(EXPLORE, "--backbone", {"efficentnet": ("--backbone", "unknown backbone",
                                              "closest: efficientnet"),
                              "": ("--backbone",),
                              "zz*": ("--backbone", "matches no torchvision classifier"),
                              "resnet18,,vgg16": ("--backbone", "separated by commas")})
_rows(EXPLORE, "--input", {"3x224": ("takes one image per sample as CxHxW",),
                           "3x224x": ("--input", "3x224x224")})
_rows(EXPLORE, "--batch", {"0": ("--batch", "at least 1")})
_rows(EXPLORE, "--precision", {"fp7": ("--precision", "unknown dtype")})
_rows(EXPLORE, "--tasks", {"0": ("--tasks", "at least one task"), "3,,2": ("--tasks",)})
_rows(EXPLORE, "--device", {"jetson": ("--device:", "unknown device", "jetson-nano-4gb"),
                            ",": ("--device:", "separated by commas")})
_rows(EXPLORE, "--link", {"1gbsp": ("--link:", "1gbps"), "wifi5,": ("--link:", "commas")})
_rows(EXPLORE, "--server", {"rtx": ("--server", "unknown device"),
                            "rtx-3090:2": ("--server", "one server runs every task")})
_rows(EXPLORE, "--branch", {"layer99": ("--branch", "unknown cut"),
                            " ": ("--branch", "expected a cut name")})
_rows(EXPLORE, "--memory-model", {"peak": ("--memory-model",)})
_rows(EXPLORE, "--payload-dtype", {"int4": ("--payload-dtype", "float32")})
_rows(EXPLORE, "--payload-compression", {"0.5": ("--payload-compression", "at least 1")})
_rows(EXPLORE, "--input-dtype", {"png": ("--input-dtype",)})
_rows(EXPLORE, "--hidden", {"0": ("--hidden", "at least 1")})
_rows(EXPLORE, "--profiles", {"/no/such/dir": ("does not exist",)})
_rows(EXPLORE, "--slo", {"fast": ("--slo", "100ms"), "0ms": ("--slo", "more than zero")})
_rows(EXPLORE, "--format", {"xml": ("--format", "expected one of")})
_rows(EXPLORE, "--runtime", {"fused": ("--runtime", "eager, tensorrt, onnxruntime"),
                             "onnxruntime": ("--runtime", "has no onnxruntime section")})
_rows(EXPLORE, "--plot", {"x.jpg": ("--plot:", ".pdf")})

# export: every option but --out; measure: every option, failing before any network is built;
# plot: its own options and the shared ones.
EXPORT = ("export",)
MEASURE = ("measure",)
PLOT = ("plot",)
_rows(EXPORT + MEASURE + PLOT, "--backbone", {"efficentnet": ("unknown backbone", "closest")})
_rows(EXPORT + MEASURE + PLOT, "--tasks", {"0": ("--tasks", "at least one task")})
_rows(EXPORT + MEASURE + PLOT, "--input", {"3x224": ("takes one image per sample as CxHxW",),
                                           "3x224x": ("--input", "3x224x224")})
_rows(EXPORT + MEASURE + PLOT, "--payload-dtype", {"int4": ("--payload-dtype", "float32")})
_rows(EXPORT + MEASURE + PLOT, "--hidden", {"0": ("--hidden", "at least 1")})
_rows(EXPORT + MEASURE, "--cut", {"layer9": ("unknown cut",)})
_rows(EXPORT + MEASURE, "--seed", {"x": ("--seed", "integer")})
_rows(EXPORT + MEASURE, "--format", {"xml": ("--format", "expected one of")})
_rows(EXPORT, "--out", {"/no/such/dir/x": ("--out", "does not exist"),
                        "/etc/passwd": ("--out", "not a folder"),
                        "{ro}/split": ("--out", "cannot write into"),
                        "{tmp}": ("--out", "not a splitcost export")})
_rows(EXPORT + MEASURE, "--input", {"3x32x32,8:int64": ("--input", "one float32 input")})
_rows(MEASURE, "--images", {"0": ("--images", "at least 1")})
_rows(MEASURE, "--warmup", {"-1": ("--warmup", "at least 0")})
_rows(MEASURE, "--connect", {"nohost": ("--connect", "HOST:PORT")})
_rows(MEASURE, "--serve", {"x": ("--serve", "HOST:PORT")})
_rows(MEASURE, "--device", {"nope": ("--device", "unknown device")})
_rows(MEASURE, "--server-device", {"nope": ("--server-device", "unknown device")})
_rows(MEASURE + PLOT, "--link", {"1gbsp": ("--link", "1gbps")})
_rows(MEASURE, "--timeout", {"0": ("--timeout", "positive"), "nan": ("--timeout", "positive")})
_rows(MEASURE, "--threads", {"0": ("--threads", "at least 1")})
_rows(MEASURE + PLOT, "--profiles", {"/no/such/dir": ("does not exist",)})
_rows(PLOT, "--out", {"x.jpg": ("--out", ".png, .svg or .pdf"),
                      "/no/such/dir/x.png": ("--out", "does not exist")})
_rows(PLOT, "--device", {"jetson": ("--device", "unknown device")})
_rows(PLOT, "--server", {"rtx": ("--server", "unknown device")})
_rows(PLOT, "--batch", {"0": ("--batch", "at least 1")})
_rows(PLOT, "--backbone-arg", {"depth": ("--backbone-arg", "NAME=VALUE")})
_rows(PLOT, "--precision", {"fp7": ("--precision", "unknown dtype")})
_rows(PLOT, "--memory-model", {"peak": ("--memory-model",)})
_rows(PLOT, "--payload-compression", {"0.5": ("--payload-compression", "at least 1")})
_rows(PLOT, "--input-dtype", {"png": ("--input-dtype",)})
_rows(PLOT, "--cut", {"layer9": ("unknown cut",)})
_rows(PLOT, "--depth", {"0": ("--depth", "at least 1")})
_rows(PLOT, "--cuts", {"some": ("--cuts",)})
_rows(PLOT, "--objective", {"speed": ("--objective",)})
_rows(PLOT, "--devices", {"0": ("--devices", "at least 1")})
_rows(PLOT, "--fps", {"0": ("--fps",), "fast": ("--fps",)})
_rows(PLOT, "--ingress", {"10": ("--ingress", "with a unit")})
_rows(PLOT, "--concurrency", {"0": ("--concurrency", "at least 1")})
_rows(PLOT, "--runtime", {"fused": ("--runtime", "eager, tensorrt, onnxruntime")})

CALIBRATE = ("calibrate",)
_rows(CALIBRATE, "--out", {"h.txt": ("--out", ".toml"), "/no/such/dir/h.toml": ("does not exist",),
                           "{ro}/h.toml": ("--out", "cannot write in")})
_rows(CALIBRATE, "--models", {"nope": ("unknown backbone",), "": ("--models", "at least one")})
_rows(CALIBRATE, "--torch-device", {"tpu": ("--torch-device", "cpu or cuda"),
                                    "cuda": ("--torch-device cuda",)})
_rows(CALIBRATE, "--role", {"cloud": ("--role", "edge or server")})
_rows(CALIBRATE, "--batch", {"0": ("--batch", "at least 1")})
_rows(CALIBRATE, "--min-run-time", {"0": ("--min-run-time", "positive"),
                                    "nan": ("--min-run-time", "positive"),
                                    "-1": ("--min-run-time", "positive")})
_rows(CALIBRATE, "--rounds", {"0": ("--rounds", "at least 1")})
_rows(CALIBRATE, "--threads", {"0": ("--threads", "at least 1")})
_rows(CALIBRATE, "--format", {"xml": ("--format", "expected one of")})
_rows(CALIBRATE, "--runtime", {"tensorrt": ("--runtime", "eager, onnxruntime"),
                               "": ("--runtime",)})

# What each command needs besides the option under test ({tmp}: a fresh folder).
BASE = {"export": ["--out", "{tmp}/split"], "plot": ["{kind}", "--out", "{tmp}/p.png"],
        "calibrate": ["--out", "{tmp}/host.toml"]}
PLOT_KIND = {"--cut": "latency", "--depth": "sweep", "--cuts": "sweep", "--objective": "sweep",
             "--devices": "fleet", "--fps": "fleet", "--ingress": "fleet",
             "--concurrency": "fleet", "--slo": "sweep", "--max-payload": "sweep",
             "--max-batch": "fleet", "--max-queue-delay": "fleet"}


@pytest.fixture(scope="session")
def readonly_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A folder nothing can be written into, root included: a read-only tmpfs mounted for the
    tests where this machine allows it (it does here, as root), else sysfs (/sys refuses new
    files to everyone)."""
    import subprocess

    where = tmp_path_factory.mktemp("readonly")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(where)],
                             capture_output=True).returncode == 0
    try:
        yield where if mounted else Path("/sys")
    finally:
        if mounted:
            subprocess.run(["umount", str(where)], capture_output=True)


@pytest.mark.parametrize(
    ("command", "option", "value", "words"),
    CLI_ROWS,
    ids=[f"{c} {o}={v[:40]!r}" for c, o, v, _ in CLI_ROWS],
)
def test_cli_bad_input(capsys: pytest.CaptureFixture[str], tmp_path: Path, readonly_dir: Path,
                       command: str, option: str, value: str, words: tuple[str, ...]) -> None:
    base = [a.format(tmp=tmp_path, kind=PLOT_KIND.get(option, "latency"))
            for a in BASE.get(command, [])]
    if "{" in value:
        (tmp_path / "lte.toml").write_text(LINK.read_text())
        (tmp_path / "notes.txt").write_text("not an export")
        value = value.format(tmp=tmp_path, ro=readonly_dir)
    if option == "--out":
        base = base[:-2] if command == "plot" else []
        value = value if value.startswith("/") else str(tmp_path / value)
    code, out, err = run(capsys, command, *base, option, value)
    assert code == 2, err
    assert out == ""
    assert err.startswith("splitcost: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    for word in words:
        assert word in err, err


# Flags take no value (--branches: its clash with --branch is tested below); --frozen takes any
# module prefix (one that matches nothing freezes nothing).
UNCHECKED = ("--help", "--whole", "--frozen-backbone", "--frozen", "--sources", "--branches",
             "--no-cache")


def test_every_option_has_a_row() -> None:
    """Every option of every command appears in the matrix."""
    import typer.main

    from splitcost.cli import app

    group = typer.main.get_command(app)
    covered = {(c, o) for c, o, _, _ in CLI_ROWS}
    missing = []
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        for param in command.params:
            missing += [f"{name} {opt}" for opt in param.opts
                        if opt.startswith("--") and opt not in UNCHECKED
                        and (name, opt) not in covered]
    assert not missing, missing


@pytest.mark.parametrize(("args", "words"), [
    (["sweep", "--branches", "--branch", "3"], ("--branch", "--branches sweeps every branch")),
    (["report", "--server", "rtx-3090:1,2", "--server", "t4:2,3"],
     ("--server", "task 2 is placed on two servers")),
    (["plan", "--server", "rtx-3090:1", "--server", "t4:3"], ("--server", "task 2 is on no")),
    (["report", "--server", "rtx-3090:1,2,3", "--server", "t4"], ("--server", "t4 names none")),
    (["explore", "--server", "rtx-3090", "--server", "t4"], ("--server", "explore prices")),
])
def test_bad_combinations(capsys: pytest.CaptureFixture[str], args: list[str],
                          words: tuple[str, ...]) -> None:
    code, out, err = run(capsys, *args)
    assert code == 2 and out == "" and err.count("\n") == 1, err
    for word in words:
        assert word in err, err


# --- profile files --------------------------------------------------------------------------

DEVICE = Path(__file__).parent.parent / "profiles" / "devices" / "jetson-nano-4gb.toml"
LINK = Path(__file__).parent.parent / "profiles" / "links" / "lte.toml"

# (table, key, new value or None to delete it, the field named in the error)
DEVICE_ROWS = [
    ("", "name", None, "name"),
    ("", "name", '"other"', "name"),
    ("", "role", '"cloud"', "role"),
    ("", "role", "3", "role"),
    ("", "schema", "2", "schema"),
    ("", "title", None, "title"),
    ("memory", "total", None, "memory.total"),
    ("memory", "total", '"-4 GB"', "memory.total"),
    ("memory", "total", '"4 Gb/s"', "memory.total"),
    ("memory", "total", "true", "memory.total"),
    ("memory", "total", '"nan GB"', "memory.total"),
    ("memory", "total", '"1e40 GB"', "memory.total"),
    ("memory", "usable", None, "memory.usable"),
    ("memory", "usable", '"8 GB"', "memory.usable"),
    ("memory", "usable", '"0 GB"', "memory.usable"),
    ("memory", "runtime_overhead", None, "memory.runtime_overhead"),
    ("memory", "runtime_overhead", '"3 GiB"', "memory.runtime_overhead"),
    ("memory", "runtime_overhead", '"-1 GB"', "memory.runtime_overhead"),
    ("memory", "bandwidth", None, "memory.bandwidth"),
    ("memory", "bandwidth", '"-25.6 GB/s"', "memory.bandwidth"),
    ("memory", "bandwidth", '"25.6 GB"', "memory.bandwidth"),
    ("compute", "fp32", None, "compute.fp32"),
    ("compute", "fp32", '"fast"', "compute.fp32"),
    ("compute", "fp32", '"0 GFLOP/s"', "compute.fp32"),
    ("compute", "fp16", '"-1 GFLOP/s"', "compute.fp16"),
    ("compute", "op_overhead", None, "compute.op_overhead"),
    ("compute", "op_overhead", '"-1 ms"', "compute.op_overhead"),
    ("compute", "op_overhead", '"2 days"', "compute.op_overhead"),
    ("compute.efficiency", "conv", None, "compute.efficiency.conv"),
    ("compute.efficiency", "conv", "1.5", "compute.efficiency.conv"),
    ("compute.efficiency", "depthwise", "0", "compute.efficiency.depthwise"),
    ("compute.efficiency", "matmul", '"high"', "compute.efficiency.matmul"),
    ("compute.efficiency", "elementwise", "-0.5", "compute.efficiency.elementwise"),
    ("compute.efficiency", "pool", "nan", "compute.efficiency.pool"),
    ("compute.efficiency", "memory", None, "compute.efficiency.memory"),
    ("power", "active", '"-10 W"', "power.active"),
    ("power", "idle", '"ten watts"', "power.idle"),
]
LINK_ROWS = [
    ("", "name", None, "name"),
    ("", "name", '"other"', "name"),
    ("", "bandwidth", None, "bandwidth"),
    ("", "bandwidth", '"-6 Mbit/s"', "bandwidth"),
    ("", "bandwidth", '"0 Mbit/s"', "bandwidth"),
    ("", "bandwidth", '"6 MB"', "bandwidth"),
    ("", "bandwidth", '"6"', "bandwidth"),  # a string needs its unit
    ("", "bandwidth", "true", "bandwidth"),
    ("", "downlink", '"fast"', "downlink"),
    ("", "rtt", None, "rtt"),
    ("", "rtt", '"-55 ms"', "rtt"),
    ("", "rtt", '"55"', "rtt"),
    ("", "efficiency", "0", "efficiency"),
    ("", "efficiency", "1.2", "efficiency"),
    ("", "efficiency", '"0.9"', "efficiency"),
    ("", "bandwidth_p10", '"60 Mbit/s"', "bandwidth_p10"),
    ("", "bandwidth_p90", '"1 Mbit/s"', "bandwidth_p90"),
    ("energy", "per_bit", None, "energy.per_bit"),
    ("energy", "per_bit", '"-438 nJ/bit"', "energy.per_bit"),
    ("energy", "base_power", '"1288"', "energy.base_power"),
    ("energy", "tail", '"-12 J"', "energy.tail"),
]


def _generated(fields: tuple[schema.Field, ...]) -> list[tuple[str, str, str, str]]:
    """A row per field of the schema table: a value of the wrong kind or out of range."""
    bad = {schema.Holds.TEXT: "3", schema.Holds.INTEGER: '"one"', schema.Holds.QUANTITY: "-1",
           schema.Holds.FRACTION: "1.5", schema.Holds.ERROR: "1.5", schema.Holds.FLAG: '"yes"',
           schema.Holds.RULES: '["conv+relu"]'}
    rows = [(f.table, f.name, bad[f.holds], f.key) for f in fields
            if f.key not in ("name", "summary")]
    # a positive value below the field's floor: a typo, not hardware (a 1e-30 FLOP/s peak)
    rows += [(f.table, f.name, repr(f.floor / 10), f.key) for f in fields if f.floor]
    return rows


DEVICE_ROWS += _generated(schema.DEVICE_FIELDS)
LINK_ROWS += _generated(schema.LINK_FIELDS)


def test_every_profile_field_has_a_row() -> None:
    rows = {field for *_, field in DEVICE_ROWS} | {"summary"}
    assert {f.key for f in schema.DEVICE_FIELDS} <= rows
    rows = {field for *_, field in LINK_ROWS} | {"summary"}
    assert {f.key for f in schema.LINK_FIELDS} <= rows


def _edit(text: str, table: str, key: str, value: str | None) -> str:
    """Set or delete ``key`` in ``[table]`` ('' = the top level) of a TOML text."""
    lines = text.splitlines()
    current = ""
    out = []
    done = False
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("[") and not stripped.startswith("[["):
            if not done and value is not None and current == table:
                out.append(f"{key} = {value}")
                done = True
            current = stripped.strip("[]")
        if current == table and stripped.startswith(f"{key} ") and "=" in stripped:
            done = True
            if value is not None:
                out.append(f"{key} = {value}")
            continue
        out.append(line)
    if not done and value is not None:
        out.append(f"[{table}]\n{key} = {value}" if table else f"{key} = {value}")
    return "\n".join(out) + "\n"


def _write(tmp_path: Path, source: Path, kind: str, table: str, key: str,
           value: str | None) -> Path:
    path = tmp_path / kind / source.name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_edit(source.read_text(), table, key, value))
    return path


@pytest.mark.parametrize(("table", "key", "value", "field"), DEVICE_ROWS,
                         ids=[f"{t}.{k}={v}" for t, k, v, _ in DEVICE_ROWS])
def test_device_file_bad_field(capsys: pytest.CaptureFixture[str], tmp_path: Path, table: str,
                               key: str, value: str | None, field: str) -> None:
    path = _write(tmp_path, DEVICE, "devices", table, key, value)
    code, out, err = run(capsys, "report", "--device", str(path))
    assert code == 2, err
    assert str(path) in err and f"field '{field}'" in err, err
    assert err.count("\n") == 1 and out == ""


@pytest.mark.parametrize(("table", "key", "value", "field"), LINK_ROWS,
                         ids=[f"{t}.{k}={v}" for t, k, v, _ in LINK_ROWS])
def test_link_file_bad_field(capsys: pytest.CaptureFixture[str], tmp_path: Path, table: str,
                             key: str, value: str | None, field: str) -> None:
    path = _write(tmp_path, LINK, "links", table, key, value)
    code, out, err = run(capsys, "report", "--link", str(path))
    assert code == 2, err
    assert str(path) in err and f"field '{field}'" in err, err
    assert err.count("\n") == 1 and out == ""


def test_sources_must_cite(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    text = DEVICE.read_text()
    start = text.index('"memory.usable" =')
    end = text.index("\n", start)
    path = tmp_path / "devices" / DEVICE.name
    path.parent.mkdir()
    path.write_text(text[:start] + text[end + 1:])
    code, _, err = run(capsys, "report", "--device", str(path))
    assert code == 2 and "field 'sources.memory.usable': missing" in err
    path.write_text(text.replace('"memory.usable" = { kind = "derived"',
                                 '"memory.usable" = { kind = "guess"'))
    code, _, err = run(capsys, "report", "--device", str(path))
    assert code == 2 and "sources.memory.usable.kind" in err


def test_not_toml(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("name = [unclosed\n")
    code, _, err = run(capsys, "report", "--device", str(path))
    assert code == 2 and "not valid TOML" in err and err.count("\n") == 1


def test_cache_figures_come_together(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = _write(tmp_path, DEVICE, "devices", "memory", "cache_size", '"16 MiB"')
    code, _, err = run(capsys, "report", "--device", str(path))
    assert code == 2 and "field 'memory.cache_bandwidth': missing" in err


def test_a_bom_is_accepted(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "devices" / DEVICE.name
    path.parent.mkdir()
    path.write_bytes(b"\xef\xbb\xbf" + DEVICE.read_bytes())
    code, _, err = run(capsys, "report", "--device", str(path), "--format", "json")
    assert code == 0, err


def test_flat_folder_with_a_broken_file_names_it(capsys: pytest.CaptureFixture[str],
                                                 tmp_path: Path) -> None:
    (tmp_path / "mine.toml").write_text("name = [unclosed\n")
    (tmp_path / "lte.toml").write_text(LINK.read_text())
    code, out, err = run(capsys, "report", "--profiles", str(tmp_path), "--device", "mine")
    assert code == 2 and out == "" and err.count("\n") == 1, err
    assert str(tmp_path / "mine.toml") in err and "not valid TOML" in err


def test_traceback_flag_shows_the_cause(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "report", "--backbone", "models:raising")
    assert code == 2 and err.count("\n") == 1
    code, _, err = run(capsys, "--traceback", "report", "--backbone", "models:raising")
    assert code == 2 and "Traceback" in err and 'raise ValueError("this factory is broken")' in err
    assert err.splitlines()[-1].startswith("splitcost: error: --backbone: the factory")
