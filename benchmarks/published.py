"""Published latency measurements of whole torchvision classifiers on the shipped devices, and
the shipped profiles' predictions of them.

Each row is one published figure, tagged ``calibration`` (the profile's runtime section was
fitted to it: ``python benchmarks/published.py --fit DEVICE RUNTIME`` refits and prints the
figures) or ``validation`` (never used to set a figure; the section's ``latency_error`` is the
smallest multiple of 5% covering at least 80% of its validation rows). Every row names its source
and the
protocol the source states; what a source does not state is written "not stated".

Run: .venv/bin/python benchmarks/published.py            (the table, about 30 s)
     .venv/bin/python benchmarks/published.py --fit rtx-3090 eager
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import cache

import numpy as np

from splitcost.hardware.catalog import load_device
from splitcost.hardware.device import Device, RuntimeProfile
from splitcost.kinds import Runtime
from splitcost.network.profile import Profile
from splitcost.network.profiler import profile
from splitcost.pricing.latency import latency_of

SOURCES = {
    "torch2trt": (
        "NVIDIA-AI-IOT/torch2trt docs/benchmarks/jetson_nano.md (commit 353a703), columns "
        "'Latency (PyTorch)' and 'Latency (TensorRT)'",
        "Jetson Nano, torch2trt's benchmark script: torchvision model .half() (PyTorch eager "
        "FP16) and its torch2trt fp16_mode engine (TensorRT FP16), input 1x3x224x224, latency "
        "in ms; power mode, jetson_clocks, JetPack/TensorRT version, timer and warm-up not "
        "stated in the table"),
    "framework-tax": (
        "JaredFern/Framework-Tax experiments/pretrained/2022_0919_pretrained-fp16/3090.csv "
        "(commit a36b38d), column 'latency' (s); Fernandez et al., 'The Framework Tax', EMNLP "
        "2023",
        "RTX 3090, PyTorch eager FP16 (model.half(), pretrained torchvision weights), eval, "
        "input Bx3x224x224, mean seconds per batch; host CPU, driver, clocks and warm-up not "
        "stated in the file"),
    "dle-pytorch-rn50": (
        "NVIDIA/DeepLearningExamples PyTorch/Classification/ConvNets/resnet50v1.5/README.md "
        "(commit 291f0d0), 'Inference performance: NVIDIA T4', column 'Latency Avg'",
        "T4, pytorch-21.03 NGC container, PyTorch eager, ResNet-50 v1.5 (= torchvision "
        "resnet50: stride in the 3x3 convolutions), FP32 or AMP (autocast FP16), synthetic data, "
        "average latency per batch over 100 iterations (launch.py --mode benchmark_inference "
        "--prof 100); clocks not stated"),
    "dle-paddle-trt-rn50": (
        "NVIDIA/DeepLearningExamples PaddlePaddle/Classification/RN50v1.5/README.md (commit "
        "38934f9), 'Paddle-TRT performance: NVIDIA DGX A100 (1x A100 80GB)', column 'Avg "
        "latency'",
        "A100 80 GB (DGX A100), Paddle-TRT (TensorRT engine of ResNet-50 v1.5) TF32 or FP16, "
        "synthetic input, no preprocessing, 1024 benchmark steps after 16 warm-up "
        "(inference.py --trt-use-synthetic True); clocks not stated"),
}

CAL, VAL = "calibration", "validation"


@dataclass(frozen=True)
class Row:
    device: str
    runtime: Runtime
    model: str  # torchvision name, whole classifier
    dtype: str
    batch: int
    measured_s: float
    role: str
    source: str
    size: int = 224


def _rows(device: str, runtime: Runtime, dtype: str, source: str,
          entries: Iterable[tuple[str, int, float, str]]) -> list[Row]:
    return [Row(device, runtime, m, dtype, b, ms / 1e3, role, source)
            for m, b, ms, role in entries]


E, T = Runtime.EAGER, Runtime.TENSORRT
# torch2trt's table: (model, PyTorch ms, TensorRT ms)
_NANO = (("alexnet", 22.1, 14.7), ("squeezenet1_0", 24.2, 7.6), ("squeezenet1_1", 14.0, 4.34),
         ("resnet18", 34.7, 11.4), ("resnet34", 64.8, 20.2), ("resnet50", 81.7, 29.8),
         ("resnet101", 141.0, 51.1), ("resnet152", 204.0, 72.3),
         ("densenet121", 84.5, 24.8), ("densenet169", 118.0, 31.2),
         ("densenet201", 141.0, 40.8), ("densenet161", 247.0, 65.8),
         ("vgg11", 114.0, 55.1), ("vgg13", 156.0, 68.7), ("vgg16", 201.0, 85.1),
         ("vgg11_bn", 117.0, 54.8), ("vgg13_bn", 162.0, 68.5), ("vgg16_bn", 207.0, 84.3))
_NANO_CAL = {"resnet18", "resnet50", "vgg16", "densenet121", "squeezenet1_1"}

# Framework-Tax's RTX 3090 FP16 file: (model, {batch: seconds})
_FT = {
    "resnet18": {1: 0.003284, 16: 0.003192, 64: 0.008686, 128: 0.015002, 256: 0.028744,
                 512: 0.057533},
    "alexnet": {1: 0.000800, 64: 0.002749, 256: 0.009504},
    "squeezenet1_0": {1: 0.002971, 64: 0.009794, 256: 0.037135},
    "vgg16": {1: 0.001780, 8: 0.007141, 64: 0.045618, 256: 0.174614},
    "densenet161": {1: 0.025549, 64: 0.060817, 256: 0.229967},
    "inception_v3": {1: 0.015017, 64: 0.017589, 256: 0.062981},
    "googlenet": {1: 0.009166, 64: 0.011959, 256: 0.040656},
    "shufflenet_v2_x1_0": {1: 0.007227, 64: 0.007741, 256: 0.014700},
    "mobilenet_v2": {1: 0.005871, 64: 0.009015, 256: 0.031695},
    "resnext50_32x4d": {1: 0.007687, 64: 0.033459, 256: 0.114804},
    "wide_resnet50_2": {1: 0.008177, 64: 0.043454, 256: 0.163881},
    "mnasnet1_0": {1: 0.006041, 64: 0.008767, 256: 0.029863},
}
_FT_CAL = {("resnet18", 1), ("resnet18", 64), ("resnet18", 512), ("vgg16", 1), ("vgg16", 64),
           ("mobilenet_v2", 1), ("mobilenet_v2", 256), ("densenet161", 1)}

# DeepLearningExamples ResNet-50 v1.5 on a T4: {batch: (FP32 ms, AMP ms)}
_T4 = {1: (10.7, 12.96), 2: (11.26, 13.18), 4: (12.73, 12.99), 8: (22.41, 12.82),
       16: (39.77, 15.8), 32: (77.62, 29.54), 64: (152.73, 57.41), 128: (309.26, 114.24),
       256: (635.98, 225.95)}
_T4_CAL = {("float32", 1), ("float32", 32), ("float32", 256), ("float16", 1), ("float16", 256)}

# Paddle-TRT ResNet-50 v1.5 on an A100 80 GB: {batch: (TF32 ms, FP16 ms)}
_A100 = {1: (1.09, 0.79), 2: (1.20, 0.85), 4: (1.40, 0.94), 8: (2.01, 1.13), 16: (2.96, 1.56),
         32: (4.99, 2.50), 64: (8.93, 4.35), 128: (16.80, 7.92), 256: (32.64, 15.01)}
_A100_CAL = {("float32", 1), ("float32", 64), ("float16", 1), ("float16", 64)}


def rows() -> list[Row]:
    out: list[Row] = []
    out += _rows("jetson-nano-4gb", E, "float16", "torch2trt",
                 ((m, 1, ms, CAL if m in _NANO_CAL else VAL) for m, ms, _ in _NANO))
    out += _rows("jetson-nano-4gb", T, "float16", "torch2trt",
                 ((m, 1, ms, CAL if m in _NANO_CAL else VAL) for m, _, ms in _NANO))
    out += _rows("rtx-3090", E, "float16", "framework-tax",
                 ((m, b, s * 1e3, CAL if (m, b) in _FT_CAL else VAL)
                  for m, by in _FT.items() for b, s in by.items()))
    for i, dtype in enumerate(("float32", "float16")):
        out += _rows("t4", E, dtype, "dle-pytorch-rn50",
                     (("resnet50", b, ms[i], CAL if (dtype, b) in _T4_CAL else VAL)
                      for b, ms in _T4.items()))
        out += _rows("a100", T, dtype, "dle-paddle-trt-rn50",
                     (("resnet50", b, ms[i], CAL if (dtype, b) in _A100_CAL else VAL)
                      for b, ms in _A100.items()))
    return out


# Devices and runtimes without rows, and why.
NO_DATA = {
    ("jetson-nano-2gb", E): "no published PyTorch eager figures for the 2 GB board found; its "
    "compute sections are the 4 GB's (same Tegra X1 module, same clocks)",
    ("jetson-nano-2gb", T): "as eager: no 2 GB figures; the 4 GB's section",
    ("jetson-orin-nano-8gb", E): "no published PyTorch eager latencies of torchvision "
    "classifiers found (hokwangchoi/jetson-orin-nano-benchmarks has YOLOv8 only)",
    ("jetson-orin-nano-8gb", T): "only YOLOv8 TensorRT figures found (not a torchvision "
    "classifier the trace can reproduce); no section shipped",
    ("raspberry-pi-4-4gb", E): "Framework-Tax's Pi 4 vision rows "
    "(experiments/pretrained/0903_vision/rpi4_neon_cpu.csv) were measured with num_threads = 1, "
    "which the 4-thread profile does not describe",
    ("raspberry-pi-5-8gb", E): "none found for PyTorch eager (the profile's notes cite "
    "ExecuTorch, another runtime)",
    ("a100", E): "the DeepLearningExamples A100 inference tables found are PaddlePaddle's eager "
    "mode, not PyTorch's",
    ("rtx-3090", T): "no published TensorRT latencies of torchvision classifiers on an RTX 3090 "
    "found; the section is an estimate from the A100's (see its sources)",
    ("t4", T): "no TensorRT figures of torchvision classifiers on a T4 found",
}


@cache
def _profile(model: str, dtype: str, batch: int, size: int) -> Profile:
    return profile(model, (3, size, size), whole=True, dtype=dtype, batch=batch)


def predict(row: Row, device: Device) -> float:
    return latency_of(_profile(row.model, row.dtype, row.batch, row.size), device,
                      row.runtime).total_s


@dataclass(frozen=True)
class Checked:
    row: Row
    predicted_s: float

    @property
    def error(self) -> float:
        return self.predicted_s / self.row.measured_s - 1.0


def check(all_rows: Sequence[Row]) -> list[Checked]:
    devices = {r.device: load_device(r.device) for r in all_rows}
    return [Checked(r, predict(r, devices[r.device])) for r in all_rows]


def summary(checked: Sequence[Checked]) -> list[tuple[str, Runtime, int, float, float | None,
                                                    float]]:
    """(device, runtime, validation rows, median |error|, band, share within the band)."""
    out = []
    keys = sorted({(c.row.device, c.row.runtime) for c in checked})
    for device, runtime in keys:
        val = [c for c in checked if (c.row.device, c.row.runtime) == (device, runtime)
               and c.row.role == VAL]
        band = load_device(device).runtime(runtime).latency_error
        errors = [abs(c.error) for c in val]
        within = sum(e <= band for e in errors) / len(errors) if band and errors else 0.0
        out.append((device, runtime, len(val), float(np.median(errors)) if errors else math.nan,
                    band, within))
    return out


# --- refitting a section to its calibration rows -----------------------------------------------

PARAMS = ("op_overhead", "conv", "pointwise", "depthwise", "grouped", "matmul", "elementwise",
          "pool", "memory")  # and "fp16": the device's FP16 rate


def _with(section: RuntimeProfile, theta: dict[str, float]) -> RuntimeProfile:
    eff = replace(section.efficiency, **{k: v for k, v in theta.items() if k != "op_overhead"})
    return replace(section, efficiency=eff,
                   op_overhead_s=theta.get("op_overhead", section.op_overhead_s))


def fit(device_name: str, runtime: Runtime, params: Sequence[str] = PARAMS,
        sweeps: int = 3) -> tuple[dict[str, float], float]:
    """Coordinate search (log scale) of ``params`` of the device's section minimising the RMS
    log error over the calibration rows. Returns the figures and the RMS log error."""
    base = load_device(device_name)
    section = base.runtime(runtime)
    cal = [r for r in rows() if r.device == device_name and r.runtime == runtime
           and r.role == CAL]

    def cost(theta: dict[str, float]) -> float:
        dev = base.with_runtime(_with(section, {k: v for k, v in theta.items() if k != "fp16"}))
        if "fp16" in theta:
            dev = replace(dev, peak_flops={**dev.peak_flops, "fp16": theta["fp16"]})
        logs = [math.log(predict(r, dev) / r.measured_s) for r in cal]
        return float(np.sqrt(np.mean(np.square(logs))))

    eff = section.efficiency
    theta = {k: (section.op_overhead_s if k == "op_overhead" else base.peak("fp16")
                 if k == "fp16" else eff.for_class(k) if k != "memory" else eff.memory)
             for k in params}
    ranges = {k: (1e-6, 5e-4) if k == "op_overhead" else (1e12, 1e14) if k == "fp16" else
              (1e-3, 1.0) for k in params}
    best = cost(theta)
    for _ in range(sweeps):
        for k in params:
            lo, hi = ranges[k]
            for v in np.geomspace(lo, hi, 49):
                trial = {**theta, k: float(v)}
                c = cost(trial)
                if c < best - 1e-9:
                    best, theta = c, trial
    return theta, best


def main(argv: Sequence[str] | None = None) -> None:
    from rich.console import Console

    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--fit", nargs=2, metavar=("DEVICE", "RUNTIME"))
    ap.add_argument("--params", default=",".join(PARAMS))
    args = ap.parse_args(argv)
    console = Console(width=200)
    if args.fit:
        theta, rms = fit(args.fit[0], Runtime(args.fit[1]), args.params.split(","))
        console.print({k: float(f"{v:.4g}") for k, v in theta.items()}, f"RMS log error {rms:.3f}")
        return
    checked = check(rows())
    console.print(table(checked))
    console.print(summary_table(checked))


def table(checked: Sequence[Checked]) -> object:
    from rich.table import Table

    t = Table(title="Shipped profiles vs published measurements (whole torchvision classifiers)")
    for col in ("device", "runtime", "model", "precision", "batch", "measured", "predicted",
                "error", "role", "source"):
        t.add_column(col, justify="right" if col in ("batch", "measured", "predicted", "error")
                     else "left")
    for c in checked:
        r = c.row
        t.add_row(r.device, str(r.runtime), r.model, r.dtype, str(r.batch),
                  f"{1e3 * r.measured_s:.2f} ms", f"{1e3 * c.predicted_s:.2f} ms",
                  f"{100 * c.error:+.0f}%", r.role, r.source)
    return t


def summary_table(checked: Sequence[Checked]) -> object:
    from rich.table import Table

    t = Table(title="Per device and runtime, validation rows only (target: median |error| <= "
                    "25%, the profile's band covers >= 80% of rows)")
    for col in ("device", "runtime", "rows", "median |error|", "band", "within band"):
        t.add_column(col)
    for device, runtime, n, med, band, within in summary(checked):
        ok = "[green]" if med <= 0.25 else "[red]"
        cover = "[green]" if within >= 0.8 else "[red]"
        t.add_row(device, str(runtime), str(n), f"{ok}{100 * med:.0f}%",
                  "-" if band is None else f"±{100 * band:.0f}%", f"{cover}{100 * within:.0f}%")
    for (device, runtime), why in NO_DATA.items():
        t.add_row(device, str(runtime), "0", "-", "-", why)
    return t


if __name__ == "__main__":
    main(sys.argv[1:])
