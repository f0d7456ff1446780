"""Does the latency model predict networks it was not calibrated on? Measured on this machine,
for PyTorch eager and ONNX Runtime (CPU), and against published measurements.

1. The calibration models (``splitcost calibrate``'s defaults: six torchvision backbones, a
   one-layer LSTM and a one-layer transformer encoder of another size), a DISJOINT set of
   held-out backbones and two held-out sequence models are built for real (random weights, eval,
   no_grad, batch 1, 3x224x224 for images) and timed block by block (the module-frontier blocks
   ``sweep`` cuts at) and whole, under PyTorch eager and ONNX Runtime (each block exported and run
   by its own session), all in ONE interleaved, load-checked pass
   (``splitcost.calibration.measure``, what ``splitcost calibrate --runtime onnxruntime`` runs),
   so that the calibration and the held-out timings see the same machine.
2. Each runtime is fitted on the calibration models' timings only (``fitted_runtimes``, the
   calibration's fit and its fusion tests) into one profile of this host; the held-out models are
   traced on meta tensors and priced with it.
3. Per runtime and held-out model: the median absolute % error of the block predictions, the
   % error of the whole backbone, and for the cuts at block boundaries (plus the input and the
   output):

   * setup: edge = this host, server = this host sped up 10x (every rate x 10, every overhead
     / 10), an ideal link of 100 Mbit/s, then 1 Gbit/s. (With edge = server = the same host,
     prefix + suffix is the same at every cut, so only the transfer would rank the cuts.)
   * predicted end-to-end = the request's edge time + transfer + server time (a cut through a
     fused kernel pays its fusion penalty);
   * measured end-to-end = measured blocks up to the cut + the same transfer + measured blocks
     after it / 10;
   * Spearman rank correlation of the two over the cuts, and the regret of the cut the model
     picks: measured(predicted-best cut) / measured(truly best cut) - 1.

   Targets (issue 12): median whole-backbone error <= 15%, median block error <= 20%, median
   Spearman >= 0.9, median regret <= 5%, for each runtime.
4. The held-out 2-layer LSTM (hidden 128, 64 tokens) and nn.TransformerEncoder (2 layers, d 256,
   8 heads, L 256; ``splitcost.calibration.nets``): predicted against real CPU time under both
   runtimes (target: within 25%), and the trace's peak memory against the CPU allocator's
   (tests/oracles/alloc_tracker.py, its raw high-water mark; target: within 10%; for the encoder
   at L 1024, batch 4, too).
5. The shipped profiles against published measurements (benchmarks/published.py).

A run says when the machine was too noisy to trust: the share of timings that never ran free of
other processes' load, and the timings' repeat spread.

Offline: ``--save-timings F.json`` writes one pass's measured times; ``--timings F.json`` re-runs
the fit, the predictions and the tables from such a file in seconds, measuring nothing (the
memory checks, which are measurements, are skipped): the way to try a change of the fit without
re-measuring.

Run: .venv/bin/python benchmarks/latency_validation.py   (about 8 minutes on 2 idle cores;
``--threads 1``, the default, leaves a core to other work: a preempted OpenMP thread stalls
every other one, a single thread does not). Three consecutive runs:
  for i in 1 2 3; do .venv/bin/python benchmarks/latency_validation.py; done
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import published
from oracles.alloc_tracker import measure as measure_memory

from splitcost.calibration import (
    DEFAULT_MODELS,
    ModelTiming,
    Noise,
    RuntimeFit,
    base_device,
    check_models,
    fitted_runtimes,
    make_setup,
    measure,
    predict,
    runtime_sections,
)
from splitcost.calibration.results import FusionTest, Peaks, Sample
from splitcost.calibration.run import Measured
from splitcost.hardware.device import Device, RuntimeProfile
from splitcost.hardware.link import ideal_link
from splitcost.hardware.transfer import transfer
from splitcost.kinds import Runtime
from splitcost.network.cuts import cuts
from splitcost.network.profiler import profile
from splitcost.pricing.fusion import kernels
from splitcost.pricing.latency import latency_of
from splitcost.pricing.request import PricingRequest, op_work

HELD_OUT = ("resnet50", "mobilenet_v2", "regnet_y_400mf", "shufflenet_v2_x1_0", "densenet121",
            "googlenet")
RUNTIMES = (Runtime.EAGER, Runtime.ONNXRUNTIME)
LINKS_BPS = (100e6, 1e9)
SERVER_SPEEDUP = 10.0
TARGETS = {"block": 0.20, "whole": 0.15, "spearman": 0.9, "regret": 0.05}


@dataclass(frozen=True)
class Ranking:
    """How well the predicted end-to-end latency ranks the cuts on one link."""

    link_bps: float
    cuts: int
    spearman: float
    regret: float  # measured(picked) / measured(best) - 1
    picked: str
    best: str


@dataclass(frozen=True)
class Validation:
    """One held-out backbone under one runtime: block, whole and per-cut accuracy."""

    runtime: Runtime
    model: str
    blocks: int
    block_error: float  # median |predicted / measured - 1| over its blocks
    worst_block: float
    whole_measured_s: float
    whole_predicted_s: float
    rankings: tuple[Ranking, ...]  # empty when a block could not be timed under the runtime

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


def faster(d: Device, factor: float) -> Device:
    """``d`` with every rate multiplied and every overhead divided by ``factor``."""
    def section(s: RuntimeProfile) -> RuntimeProfile:
        return replace(s, op_overhead_s=s.op_overhead_s / factor)

    return replace(d, name=f"{d.name}x{factor:g}",
                   peak_flops={k: v * factor for k, v in d.peak_flops.items()},
                   memory_bandwidth=d.memory_bandwidth * factor,
                   cache_bandwidth=d.cache_bandwidth * factor if d.cache_bandwidth else None,
                   op_overhead_s=d.op_overhead_s / factor,
                   runtimes={r: section(s) for r, s in d.runtimes.items()})


def end_to_end(t: ModelTiming, host: Device, runtime: Runtime, link_bps: float
               ) -> tuple[list[str], list[float], list[float]]:
    """(cut names, predicted, measured) end-to-end seconds per cut, as the docstring says."""
    p = t.profile
    link = ideal_link(link_bps)
    request = PricingRequest(p, (), host, faster(host, SERVER_SPEEDUP), link, runtime=runtime)
    names, predicted, measured = [], [], []
    for c in cuts(p.trace):
        k = c.op + 1  # operators [0, k) on the edge
        wire = transfer(c.payload_bytes, 0, link).total_s
        pred = request.times.edge(c.op) + wire + request.times.server(c.op)
        edge = sum(b.measured_s for b in t.blocks if b.end <= k)
        server = sum(b.measured_s for b in t.blocks if b.start >= k)
        names.append(c.name)
        predicted.append(pred)
        measured.append(edge + wire + server / SERVER_SPEEDUP)
    return names, predicted, measured


def ranking(t: ModelTiming, host: Device, runtime: Runtime, link_bps: float) -> Ranking:
    names, pred, meas = end_to_end(t, host, runtime, link_bps)
    picked, best = int(np.argmin(pred)), int(np.argmin(meas))
    return Ranking(link_bps, len(names), spearman(pred, meas), meas[picked] / meas[best] - 1.0,
                   names[picked], names[best])


def validate(t: ModelTiming, host: Device, runtime: Runtime, complete: bool) -> Validation:
    device = host.with_runtime(replace(host.runtime(runtime), runtime=Runtime.EAGER))
    errors = [abs(predict(b, device) / b.measured_s - 1.0) for b in t.blocks if b.priced]
    return Validation(
        runtime=runtime, model=t.name, blocks=len(errors),
        block_error=float(np.median(errors)), worst_block=max(errors),
        whole_measured_s=t.whole.measured_s,
        whole_predicted_s=latency_of(t.profile, host, runtime).total_s,
        rankings=tuple(ranking(t, host, runtime, bps) for bps in LINKS_BPS) if complete else ())


# --- sequence models --------------------------------------------------------------------------


SEQUENCE = {"splitcost.calibration.nets:lstm2": "2-layer LSTM, hidden 128, 64 tokens",
            "splitcost.calibration.nets:encoder": "TransformerEncoder, 2 layers, d 256, L 256"}


def encoder(length: int) -> torch.nn.Module:
    layer = torch.nn.TransformerEncoderLayer(256, 8, 1024, batch_first=True)
    return torch.nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)


def memory_checks() -> list[tuple[str, int, int]]:
    """(network, splitcost's peak live bytes, the allocator's raw peak) on real CPU tensors."""
    out = []
    torch.manual_seed(0)
    from splitcost.calibration.nets import LSTM2Net

    cases = [("2-layer LSTM, hidden 128, 64 tokens", LSTM2Net().eval(), (64, 128), 1),
             ("TransformerEncoder, d 256, L 256", encoder(256).eval(), (256, 256), 1),
             ("TransformerEncoder, d 256, L 1024, batch 4", encoder(1024).eval(), (1024, 256), 4)]
    for name, net, shape, batch in cases:
        real = measure_memory(net, torch.zeros(batch, *shape))
        p = profile(net, shape, batch=batch)
        out.append((name, p.memory.inference.peak_activation_bytes, real.raw_peak))
    return out


# --- saved timings ---------------------------------------------------------------------------
# One pass's measured times, saved so that the fit and the tables can be re-run offline from
# them (--save-timings / --timings): the measurement is the slow, noisy part; a saved file
# re-traces each model on meta tensors and re-derives every sample's roofline inputs.


def _sample_row(s: Sample) -> list[object]:
    return [s.block, s.start, s.end, s.measured_s, s.disturbed]


def save_timings(path: Path, m: Measured, load: tuple[float, ...]) -> None:
    import json

    data = {
        "load_before": list(load),
        "peaks": {"gemm_flops": m.peaks.gemm_flops, "gemm_n": m.peaks.gemm_n,
                  "conv_flops": m.peaks.conv_flops, "conv_shape": m.peaks.conv_shape,
                  "copies": [list(c) for c in m.peaks.copies]},
        "fusion_tests": [[t.rule, t.first_s, t.second_s, t.pair_s, list(t.kernels)]
                         for t in m.fusion_tests],
        "call_overhead_s": m.call_overhead_s,
        "skipped": [list(s) for s in m.skipped],
        "noise": [m.noise.timings, m.noise.disturbed, m.noise.median_spread,
                  m.noise.load_before, m.noise.load_after],
        "timings": {str(r): [{"name": t.name, "shape": list(t.profile.input.shape),
                              "blocks": [_sample_row(b) for b in t.blocks],
                              "whole": _sample_row(t.whole)} for t in ts]
                    for r, ts in m.timings.items()},
    }
    path.write_text(json.dumps(data, indent=1))


def load_timings(path: Path) -> tuple[Measured, float]:
    import json

    data = json.loads(path.read_text())
    p = data["peaks"]
    peaks = Peaks(p["gemm_flops"], p["gemm_n"], p["conv_flops"], p["conv_shape"],
                  tuple((int(n), float(b)) for n, b in p["copies"]))
    tests = tuple(FusionTest(r, a, b, c, tuple(k)) for r, a, b, c, k in data["fusion_tests"])
    fuses = tuple(t.rule for t in tests if t.fused)
    profiles: dict[str, object] = {}
    timings: dict[Runtime, list[ModelTiming]] = {}
    for key, rows in data["timings"].items():
        runtime = Runtime(key)
        out = []
        for row in rows:
            name = row["name"]
            if name not in profiles:
                profiles[name] = profile(name, tuple(row["shape"]), batch=1)
            pr = profiles[name]

            def sample(b: list, pr=pr, name=name, runtime=runtime) -> Sample:  # type: ignore
                block, start, end, seconds, disturbed = b
                work = (tuple(op_work(pr, start, end)) if runtime is Runtime.EAGER else
                        tuple(k.work for k in kernels(pr.trace, fuses, start, end)))
                return Sample(name, block, start, end, work, seconds, disturbed)

            out.append(ModelTiming(name, pr, tuple(sample(b) for b in row["blocks"]),
                                   sample(row["whole"])))
        timings[runtime] = out
    noise = Noise(*data["noise"])
    m = Measured(peaks, timings, tests, data["call_overhead_s"],
                 tuple(tuple(s) for s in data["skipped"]), noise)
    return m, float(data["load_before"][0])


# --- tables -----------------------------------------------------------------------------------


def ok(value: float, target: float, higher: bool = False) -> str:
    good = value >= target if higher else value <= target
    return "[green]" if good else "[red]"


def _rate(bps: float) -> str:
    return f"{bps / 1e9:g}G" if bps >= 1e9 else f"{bps / 1e6:g}M"


def _median(values: Sequence[float]) -> float:
    clean = [v for v in values if not math.isnan(v)]
    return float(np.median(clean)) if clean else math.nan


def medians(results: Sequence[Validation]) -> dict[str, float]:
    ranked = [r for r in results if r.rankings]
    return {
        "block": _median([r.block_error for r in results]),
        "whole": _median([abs(r.whole_error) for r in results]),
        "spearman": _median([k.spearman for r in ranked for k in r.rankings]),
        "regret": _median([k.regret for r in ranked for k in r.rankings]),
    }


def held_out_table(runtime: Runtime, results: Sequence[Validation]) -> Table:
    table = Table(title=f"{runtime}: held-out backbones on this host (edge = host, server = host "
                        f"x {SERVER_SPEEDUP:g}, ideal links of "
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
               str(r.rankings[0].cuts) if r.rankings else "-"]
        for k in r.rankings:
            row += [f"{ok(k.spearman, TARGETS['spearman'], True)}{k.spearman:.3f}",
                    f"{ok(k.regret, TARGETS['regret'])}{100 * k.regret:.1f}%",
                    k.picked if k.picked == k.best else f"{k.picked} / {k.best}"]
        if not r.rankings:
            row += ["n/a (a block was not exported)", "", ""] * len(LINKS_BPS)
        table.add_row(*row)
    m = medians(results)
    row = ["median", "", f"{100 * m['block']:.1f}%", "", "", "",
           f"{100 * m['whole']:.1f}% (abs)", ""]
    row += [f"{m['spearman']:.3f}", f"{100 * m['regret']:.1f}%", ""] + ["", "", ""] * (
        len(LINKS_BPS) - 1)
    table.add_row(*row, style="bold")
    return table


def host_table(d: Device, fits: Sequence[RuntimeFit]) -> Table:
    table = Table(title="Calibrated host profile (fitted on the calibration models only)")
    for col in ("figure", "eager", "onnxruntime"):
        table.add_column(col, justify="left" if col == "figure" else "right")
    sections = [d.runtime(r) for r in RUNTIMES if r in d.runtimes_available()]
    table.add_row("fp32 peak", f"{d.peak_flops['fp32'] / 1e9:.1f} GFLOP/s", "")
    table.add_row("memory bandwidth (DRAM / cache)",
                  f"{d.memory_bandwidth / 1e9:.1f} / {(d.cache_bandwidth or 0) / 1e9:.1f} GB/s",
                  "")
    table.add_row("op_overhead", *(f"{s.op_overhead_s * 1e6:.2f} µs" for s in sections))
    for k in ("conv", "pointwise", "depthwise", "grouped", "matmul", "recurrent", "elementwise",
              "pool", "memory"):
        table.add_row(f"efficiency.{k}", *("-" if getattr(s.efficiency, k) is None else
                                           f"{getattr(s.efficiency, k):.4g}" for s in sections))
    table.add_row("latency_error (LOMO)",
                  *(f"±{100 * (s.latency_error or 0):.1f}%" for s in sections))
    table.add_row("in-sample RMS log error", *(f"{f.fit.rms_log_error:.3f}" for f in fits))
    return table


def noise_line(what: str, n: Noise) -> str:
    verdict = "[red]too noisy to trust[/red]" if n.noisy else "[green]quiet enough[/green]"
    return (f"{what}: {n.disturbed} of {n.timings} timings never ran free of other processes' "
            f"load ({100 * n.disturbed_share:.0f}%), median repeat spread "
            f"{100 * n.median_spread:.1f}%, load average {n.load_before:.1f} -> "
            f"{n.load_after:.1f}: {verdict}")


def main() -> None:
    warnings.filterwarnings("ignore")
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--min-run-time", type=float, default=0.05)
    ap.add_argument("--smoke", action="store_true",
                    help="a few models, one round: checks that the script runs, says nothing")
    ap.add_argument("--save-timings", type=Path, default=None,
                    help="write this pass's measured times to a JSON file")
    ap.add_argument("--timings", type=Path, default=None,
                    help="fit and report from a file --save-timings wrote, without measuring "
                         "(the memory checks are skipped)")
    args = ap.parse_args()
    models, held = DEFAULT_MODELS, HELD_OUT
    if args.smoke:
        models = ("resnet18", "mobilenet_v3_large", "splitcost.calibration.nets:lstm")
        held, args.rounds, args.min_run_time = ("mobilenet_v2", "resnet50"), 1, 0.02
    console = Console(width=220)
    t0 = time.perf_counter()
    load0 = os.getloadavg()
    cores = os.cpu_count() or 1
    console.print(f"load average {load0[0]:.2f} on {cores} cores before the run; torch "
                  f"{torch.__version__}, {args.threads} thread(s), fastest of {args.rounds} "
                  f"rounds x {args.min_run_time:g} s")
    # One interleaved measurement of the calibration and the held-out models (and the sequence
    # models), so that both see the same machine; the fit uses the calibration models only.
    infos = check_models((*models, *held, *SEQUENCE))
    setup = make_setup(infos, "cpu", 1, args.min_run_time, args.rounds, args.threads, RUNTIMES)
    stages: dict[str, float] = {}

    def progress(stage: str, done: int, total: int) -> None:
        stages.setdefault(stage, time.perf_counter())

    if args.timings:
        m, load_measured = load_timings(args.timings)
        console.print(f"timings from {args.timings} (load average {load_measured:.2f} when "
                      "they were measured); nothing measured now")
    else:
        m = measure(infos, setup, retries=1, progress=progress)
        if args.save_timings:
            save_timings(args.save_timings, m, load0)
    base = base_device("host", m.peaks)
    calibration = [i.name for i in infos[:len(models)]]
    fits = fitted_runtimes(m, base, RUNTIMES, progress, models=calibration)
    eager = fits[0]
    host = replace(base, efficiency=eager.fit.efficiency, op_overhead_s=eager.fit.op_overhead_s,
                   latency_error=eager.latency_error, runtimes=runtime_sections(fits))
    marks = sorted(stages.items(), key=lambda kv: kv[1])
    console.print("stages: " + ", ".join(
        f"{name} {(marks[k + 1][1] if k + 1 < len(marks) else time.perf_counter()) - t:.0f} s"
        for k, (name, t) in enumerate(marks)))
    console.print(host_table(host, fits))
    console.print("fusions measured (ONNX Runtime): " + ", ".join(fits[1].fuses))
    complete = {name: not any(s[0] == name for s in m.skipped) for name in
                (i.name for i in infos)}
    verdicts = {}
    names = [i.name for i in infos]
    held_names = names[len(models):len(models) + len(held)]
    for runtime in RUNTIMES:
        timings = {t.name: t for t in m.timings[runtime]}
        results = [validate(timings[n], host, runtime, runtime is Runtime.EAGER or complete[n])
                   for n in held_names]
        console.print(held_out_table(runtime, results))
        verdicts[runtime] = medians(results)
    table = Table(title="Sequence models after calibration (real CPU time, target: within 25%)")
    for col in ("network", "runtime", "measured", "predicted", "error"):
        table.add_column(col)
    for runtime in RUNTIMES:
        timings = {t.name: t for t in m.timings[runtime]}
        for spec, label in SEQUENCE.items():
            t = timings[spec]
            predicted = latency_of(t.profile, host, runtime).total_s
            err = predicted / t.whole.measured_s - 1
            table.add_row(label, str(runtime), f"{1e3 * t.whole.measured_s:.3f} ms",
                          f"{1e3 * predicted:.3f} ms", f"{ok(abs(err), 0.25)}{100 * err:+.1f}%")
    console.print(table)
    table = Table(title="Peak memory on CPU (splitcost's trace vs the allocator's raw high-water "
                        "mark, target: within 10%)")
    for col in ("network", "splitcost", "allocator", "error"):
        table.add_column(col)
    for name, ours, real in ([] if args.timings else memory_checks()):
        err = ours / real - 1
        table.add_row(name, f"{ours / 1e6:.3f} MB", f"{real / 1e6:.3f} MB",
                      f"{ok(abs(err), 0.10)}{100 * err:+.1f}%")
    console.print(table)
    console.print(noise_line("timing", m.noise))
    checked = published.check(published.rows())
    console.print(published.table(checked))
    console.print(published.summary_table(checked))
    table = Table(title="Targets on this machine (issue 12)")
    for col in ("runtime", "whole |err| <= 15%", "block |err| <= 20%", "Spearman >= 0.9",
                "regret <= 5%"):
        table.add_column(col)
    for runtime, v in verdicts.items():
        table.add_row(str(runtime),
                      f"{ok(v['whole'], TARGETS['whole'])}{100 * v['whole']:.1f}%",
                      f"{ok(v['block'], TARGETS['block'])}{100 * v['block']:.1f}%",
                      f"{ok(v['spearman'], TARGETS['spearman'], True)}{v['spearman']:.3f}",
                      f"{ok(v['regret'], TARGETS['regret'])}{100 * v['regret']:.1f}%")
    console.print(table)
    noisy = m.noise.noisy
    console.print(f"total {time.perf_counter() - t0:.0f} s; load "
                  f"average {load0[0]:.1f} before, {os.getloadavg()[0]:.1f} after. "
                  + ("[red]This run was too noisy to trust: rerun on a quiet machine.[/red]"
                     if noisy else "The machine was quiet enough to trust this run."))


if __name__ == "__main__":
    main()
