"""Does the latency model predict networks it was not calibrated on? Measured on this machine.

1. ``splitcost.calibration.calibrate`` on the calibration set (its default models) writes a
   device profile of this host.
2. A DISJOINT set of backbones is traced on meta tensors, priced with that profile, then built
   for real (random weights, eval, no_grad, batch 1, 3x224x224) and timed block by block
   (the module-frontier blocks ``sweep`` cuts at) and whole, with the same interleaved,
   load-checked timer as the calibration.
3. Per held-out model: the median absolute % error of the block predictions, the % error of the
   whole backbone, and for the cuts at block boundaries (plus the input and the output):

   * setup: edge = this host, server = this host sped up 10x (its measured and predicted times
     divided by 10), an ideal link of 100 Mbit/s, then 1 Gbit/s (where compute weighs more).
     (With edge = server = the same host, prefix + suffix is the same at every cut, so only the
     computed transfer would rank the cuts: Spearman 1 and regret 0 by construction, a test of
     nothing.)
   * predicted end-to-end = roofline prefix on the host + transfer + roofline suffix / 10;
   * measured end-to-end = measured blocks up to the cut + the same transfer + measured blocks
     after it / 10;
   * Spearman rank correlation of the two over the cuts, and the regret of the cut the model
     picks: measured(predicted-best cut) / measured(truly best cut) - 1.

   Targets (issue 5): block error <= 20%, whole-backbone error <= 15%, Spearman >= 0.9,
   regret <= 5%.
4. The shipped ``jetson-nano-4gb`` profile's predictions beside the published Jetson Nano
   measurements cited in its notes (runtime and precision per row).

Run: .venv/bin/python benchmarks/latency_validation.py [--threads N] [--rounds R]
(about 5 minutes on 2 cores). On a machine shared with other jobs, ``--threads 1`` keeps the
timings usable: a preempted OpenMP thread stalls every other one, a single thread does not.
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from rich.console import Console
from rich.table import Table

from splitcost.calibration import (
    DEFAULT_MODELS,
    Fit,
    ModelTiming,
    calibrate,
    check_models,
    predict,
    time_models,
)
from splitcost.hardware.catalog import load_device
from splitcost.hardware.device import Device
from splitcost.hardware.link import ideal_link
from splitcost.hardware.roofline import PRECISION_OF_DTYPE, compute_time
from splitcost.hardware.transfer import transfer
from splitcost.network.cuts import cuts
from splitcost.network.profiler import profile
from splitcost.pricing.request import op_work

HELD_OUT = ("resnet50", "mobilenet_v2", "regnet_y_400mf", "shufflenet_v2_x1_0", "densenet121",
            "googlenet", "convnext_tiny", "mnasnet1_0")
LINKS_BPS = (100e6, 1e9)
SERVER_SPEEDUP = 10.0
TARGETS = {"block": 0.20, "whole": 0.15, "spearman": 0.9, "regret": 0.05}

# Published Jetson Nano latencies cited in profiles/devices/jetson-nano-4gb.toml's notes
# (whole classifiers at 224x224, batch 1): (model, runtime, precision, ms, source).
NANO = (
    ("resnet50", "OpenCV-DNN CUDA, incl. pre/post", "float32", 98.6, "opencv/opencv_zoo"),
    ("mobilenet_v2", "OpenCV-DNN CUDA, incl. pre/post", "float32", 31.9, "opencv/opencv_zoo"),
    ("resnet18", "PyTorch (no TensorRT)", "float16", 34.7, "torch2trt jetson_nano.md"),
    ("resnet50", "PyTorch (no TensorRT)", "float16", 81.7, "torch2trt jetson_nano.md"),
    ("vgg16", "PyTorch (no TensorRT)", "float16", 201.0, "torch2trt jetson_nano.md"),
    ("resnet18", "TensorRT (fused kernels)", "float16", 11.4, "torch2trt jetson_nano.md"),
    ("resnet50", "TensorRT (fused kernels)", "float16", 29.8, "torch2trt jetson_nano.md"),
    ("vgg16", "TensorRT (fused kernels)", "float16", 85.1, "torch2trt jetson_nano.md"),
    ("alexnet", "TensorRT (fused kernels)", "float16", 14.7, "torch2trt jetson_nano.md"),
)


@dataclass(frozen=True)
class Ranking:
    """How well the predicted end-to-end latency ranks the cuts on one link."""

    link_bps: float
    cuts: int
    spearman: float
    regret: float  # measured(picked) / measured(best) - 1
    picked: str  # the cut the model picks
    best: str  # the truly best cut


@dataclass(frozen=True)
class Validation:
    """One held-out backbone: block, whole and per-cut accuracy."""

    model: str
    blocks: int
    block_error: float  # median |predicted / measured - 1| over its blocks
    worst_block: float
    whole_measured_s: float
    whole_predicted_s: float
    rankings: tuple[Ranking, ...]

    @property
    def whole_error(self) -> float:
        return self.whole_predicted_s / self.whole_measured_s - 1.0


def ranks(values: Sequence[float]) -> np.ndarray:
    """Ranks from 1, ties sharing their average rank."""
    a = np.asarray(values, dtype=float)
    order = np.argsort(a, kind="mergesort")
    r = np.empty(len(a))
    r[order] = np.arange(1, len(a) + 1)
    for v in np.unique(a):
        same = a == v
        r[same] = r[same].mean()
    return r


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    rx, ry = ranks(x), ranks(y)
    if rx.std() == 0 or ry.std() == 0:
        return math.nan
    return float(np.corrcoef(rx, ry)[0, 1])


def end_to_end(t: ModelTiming, host: Device, link_bps: float
               ) -> tuple[list[str], list[float], list[float]]:
    """(cut names, predicted, measured) end-to-end seconds per cut, as the docstring says."""
    p = t.profile
    link = ideal_link(link_bps)
    work = op_work(p)
    names, predicted, measured = [], [], []
    for c in cuts(p.trace):
        k = c.op + 1  # operators [0, k) on the edge
        wire = transfer(c.payload_bytes, 0, link).total_s
        pred = (compute_time(work[:k], host, "fp32") + wire
                + compute_time(work[k:], host, "fp32") / SERVER_SPEEDUP)
        edge = sum(b.measured_s for b in t.blocks if b.end <= k)
        server = sum(b.measured_s for b in t.blocks if b.start >= k)
        names.append(c.name)
        predicted.append(pred)
        measured.append(edge + wire + server / SERVER_SPEEDUP)
    return names, predicted, measured


def ranking(t: ModelTiming, host: Device, link_bps: float) -> Ranking:
    names, pred, meas = end_to_end(t, host, link_bps)
    picked, best = int(np.argmin(pred)), int(np.argmin(meas))
    return Ranking(link_bps, len(names), spearman(pred, meas), meas[picked] / meas[best] - 1.0,
                   names[picked], names[best])


def validate(t: ModelTiming, host: Device) -> Validation:
    errors = [abs(predict(b, host) / b.measured_s - 1.0) for b in t.blocks if b.priced]
    return Validation(
        model=t.name, blocks=len(errors), block_error=float(np.median(errors)),
        worst_block=max(errors), whole_measured_s=t.whole.measured_s,
        whole_predicted_s=predict(t.whole, host),
        rankings=tuple(ranking(t, host, bps) for bps in LINKS_BPS))


def _median(values: Sequence[float]) -> float:
    return float(np.median(values))


def ok(value: float, target: float, higher: bool = False) -> str:
    good = value >= target if higher else value <= target
    return "[green]" if good else "[red]"


def _rate(bps: float) -> str:
    return f"{bps / 1e9:g}G" if bps >= 1e9 else f"{bps / 1e6:g}M"


def held_out_table(results: Sequence[Validation]) -> Table:
    table = Table(title=f"Held-out backbones on this host (edge = host, server = host x "
                        f"{SERVER_SPEEDUP:g}, ideal links of "
                        f"{' and '.join(_rate(b) + 'bit/s' for b in LINKS_BPS)})")
    columns = ["model", "blocks", "block |err| median", "worst block", "whole measured",
               "whole predicted", "whole err", "cuts"]
    for bps in LINKS_BPS:
        columns += [f"Spearman {_rate(bps)}", f"regret {_rate(bps)}", f"picked / best {_rate(bps)}"]
    for col in columns:
        table.add_column(col, justify="left" if col == "model" or "picked" in col else "right")
    for r in results:
        row = [r.model, str(r.blocks),
               f"{ok(r.block_error, TARGETS['block'])}{100 * r.block_error:.1f}%",
               f"{100 * r.worst_block:.0f}%", f"{1e3 * r.whole_measured_s:.2f} ms",
               f"{1e3 * r.whole_predicted_s:.2f} ms",
               f"{ok(abs(r.whole_error), TARGETS['whole'])}{100 * r.whole_error:+.1f}%",
               str(r.rankings[0].cuts)]
        for k in r.rankings:
            row += [f"{ok(k.spearman, TARGETS['spearman'], True)}{k.spearman:.3f}",
                    f"{ok(k.regret, TARGETS['regret'])}{100 * k.regret:.1f}%",
                    k.picked if k.picked == k.best else f"{k.picked} / {k.best}"]
        table.add_row(*row)
    row = ["median", "", f"{100 * _median([r.block_error for r in results]):.1f}%", "", "", "",
           f"{100 * _median([abs(r.whole_error) for r in results]):.1f}% (abs)", ""]
    for i in range(len(LINKS_BPS)):
        row += [f"{_median([r.rankings[i].spearman for r in results]):.3f}",
                f"{100 * _median([r.rankings[i].regret for r in results]):.1f}%", ""]
    table.add_row(*row, style="bold")
    return table


def host_table(path: Path, fit: Fit) -> Table:
    d = load_device(str(path))
    table = Table(title=f"Calibrated host profile ({d.title})")
    table.add_column("figure")
    table.add_column("value", justify="right")
    rows = [("fp32 peak", f"{d.peak_flops['fp32'] / 1e9:.1f} GFLOP/s"),
            ("memory bandwidth", f"{d.memory_bandwidth / 1e9:.1f} GB/s"),
            ("op_overhead", f"{d.op_overhead_s * 1e6:.2f} µs")]
    rows += [(f"efficiency.{k}", f"{getattr(d.efficiency, k):.4g}"
              + ("" if fit.status(k) == "fitted" else f" ({fit.status(k).split(':')[0]})"))
             for k in ("conv", "depthwise", "matmul", "elementwise", "pool", "memory")]
    rows += [("latency_error (LOMO)", f"±{100 * (d.latency_error or 0):.1f}%"),
             ("memory total / usable",
              f"{d.memory_total / 1e9:.2f} / {d.memory_usable / 1e9:.2f} GB"),
             ("runtime overhead", f"{d.runtime_overhead / 1e6:.0f} MB")]
    for k, v in rows:
        table.add_row(k, v)
    return table


def nano_table() -> Table:
    nano = load_device("jetson-nano-4gb")
    table = Table(title="Shipped jetson-nano-4gb profile (models PyTorch eager FP32) vs published "
                        "Jetson Nano measurements (whole classifier, 224x224, batch 1)")
    for col in ("model", "measured runtime", "precision", "measured", "predicted", "error",
                "source"):
        table.add_column(col, justify="right" if col in ("measured", "predicted", "error")
                         else "left")
    for name, runtime, dtype, ms, source in NANO:
        p = profile(name, (3, 224, 224), whole=True, dtype=dtype)
        pred = compute_time(op_work(p), nano, PRECISION_OF_DTYPE[dtype]) * 1e3
        table.add_row(name, runtime, dtype, f"{ms:.1f} ms", f"{pred:.1f} ms",
                      f"{100 * (pred / ms - 1):+.0f}%", source)
    return table


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--min-run-time", type=float, default=0.1)
    ap.add_argument("--keep", type=Path, help="also write the calibrated profile here")
    args = ap.parse_args()
    console = Console(width=200)
    t0 = time.perf_counter()
    load0 = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.keep or Path(tmp) / "host.toml"
        cal = calibrate(path, models=DEFAULT_MODELS, threads=args.threads, rounds=args.rounds,
                        min_run_time=args.min_run_time)
        host = cal.device
        timings = time_models(check_models(HELD_OUT), threads=args.threads, rounds=args.rounds,
                              min_run_time=args.min_run_time)
        console.print(host_table(path, cal.fit))
    results = [validate(t, host) for t in timings]
    disturbed = sum(b.disturbed for t in timings for b in (*t.blocks, t.whole))
    console.print(
        f"calibration models: {', '.join(DEFAULT_MODELS)}; held out: {', '.join(HELD_OUT)}; "
        f"torch {torch.__version__}, {args.threads} threads, fastest of {args.rounds} rounds x "
        f"{args.min_run_time:g} s; calibration in-sample RMS log error "
        f"{cal.fit.rms_log_error:.3f}")
    console.print(held_out_table(results))
    console.print(
        f"held-out timings with no measurement free of other processes' load: {disturbed} of "
        f"{sum(len(t.blocks) + 1 for t in timings)}; load average {load0[0]:.1f} before, "
        f"{os.getloadavg()[0]:.1f} after; {time.perf_counter() - t0:.0f} s")
    console.print(nano_table())
    console.print(
        "The Nano profile's conv and depthwise efficiencies were derived from the OpenCV and "
        "YOLOv5 figures (see its notes), so those rows are not independent; FP16 rows use the "
        "472 GFLOP/s FP16 peak with the FP32-fitted efficiencies; TensorRT fuses layers, "
        "which the eager per-operator model does not describe (reference only).")


if __name__ == "__main__":
    main()
