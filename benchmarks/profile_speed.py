"""splitcost's profile beside torchinfo.summary and fvcore's FlopCountAnalysis, in one run.

For the paper's backbones at 3x224x224, batch 1 and 32: wall time of each tool (torchinfo and
fvcore run the real model on CPU tensors, as they are used; splitcost builds the network on
meta and traces it, no profile cache), their ratio against the issue's targets (faster than
torchinfo at batch 1, at least 20x faster at batch 32), and the totals each reports side by
side. Then what the trace's shape rules save (the same trace with every meta kernel run), and
VGG16 features at the FACES resolution (3x2835x3543), batch 32, which only a meta trace can
afford: wall time and peak RSS of a fresh process (target: profile under 0.1 s).

Times are medians: splitcost of 9 runs, torchinfo and fvcore of 3 (the load average is printed;
other processes on the machine slow the CPU-bound tools more than the single-threaded trace).

Run: .venv/bin/python benchmarks/profile_speed.py   (a few minutes on 2 cores)
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
import warnings

import torch
import torchinfo
import torchvision
from fvcore.nn import FlopCountAnalysis
from rich.console import Console
from rich.table import Table

from splitcost.network.profiler import profile
from splitcost.network.trace import run_trace
from splitcost.network.zoo import build, extract_backbone, resolve

CASES = [("vgg16", 1), ("vgg16", 32), ("mobilenet_v3_small", 1), ("mobilenet_v3_small", 32),
         ("efficientnet_b0", 1), ("efficientnet_b0", 32)]
MATRIX_OPS = ("conv", "linear", "matmul", "bmm", "addmm")


def timed(fn, repeat: int = 1):  # type: ignore[no-untyped-def]
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def faces_in_fresh_process() -> dict[str, float]:
    """Wall time and peak RSS of a new process. The peak is read from VmHWM: getrusage's
    ru_maxrss survives exec, so a child would report its parent's peak."""
    code = (
        "import json, time\n"
        "t0 = time.perf_counter()\n"
        "import torch, torchvision\n"
        "from splitcost.network.profiler import profile\n"
        "t1 = time.perf_counter()\n"
        "p = profile('vgg16', (3, 2835, 3543), batch=32)\n"
        "t2 = time.perf_counter()\n"
        "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0]\n"
        "print(json.dumps({'import_s': t1 - t0, 'profile_s': t2 - t1,"
        " 'rss_mib': int(hwm.split()[1]) / 1024,"
        " 'peak_activation_bytes': p.memory.inference.peak_activation_bytes,"
        " 'input_bytes': p.input_bytes}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    result: dict[str, float] = json.loads(out.stdout)
    return result


def load() -> str:
    with open("/proc/loadavg") as f:
        return f.read().split()[0]


def rules_table() -> Table:
    """The trace alone, with the shape rules and with every meta kernel."""
    table = Table(title="The trace alone, 3x224x224 batch 1: shape rules on vs every meta "
                  "kernel run (seconds, median of 5)")
    for col in ("backbone", "rules on", "every kernel", "saved"):
        table.add_column(col, justify="right")
    for name in ("mobilenet_v3_small", "efficientnet_b0", "vgg16"):
        model, _ = build(resolve(name), (224, 224))
        x = torch.empty((1, 3, 224, 224), device="meta")
        fast, _ = timed(lambda m=model, x=x: run_trace(m, [x]), repeat=5)
        slow, _ = timed(lambda m=model, x=x: run_trace(m, [x], fast_rules=False), repeat=5)
        table.add_row(name, f"{fast:.4f}", f"{slow:.4f}", f"{slow / fast:.1f}x")
    return table


def main() -> None:
    warnings.simplefilter("ignore")
    torch.set_num_threads(max(1, torch.get_num_threads()))
    profile("mobilenet")  # warm-up: imports and first-call costs are not what is compared
    loads = [load()]
    speed = Table(title="Profiling time, 3x224x224 (seconds; ratio = other tool / splitcost)")
    for col in ("backbone", "batch", "splitcost", "torchinfo", "ratio", "target", "met",
                "fvcore", "ratio"):
        speed.add_column(col, justify="right")
    totals = Table(title="Same totals from each tool")
    for col in ("backbone", "batch", "params (splitcost)", "params (torchinfo)",
                "MACs (splitcost)", "MACs (fvcore)", "fwd/bwd B (splitcost)",
                "fwd/bwd B (torchinfo)"):
        totals.add_column(col, justify="right")
    for name, batch in CASES:
        t_sc, p = timed(lambda n=name, b=batch: profile(n, (3, 224, 224), batch=b), repeat=9)
        model = extract_backbone(name, torchvision.models.get_model(name)).eval()
        x = torch.zeros(batch, 3, 224, 224)
        t_ti, summary = timed(lambda m=model, x=x: torchinfo.summary(m, input_data=[x],
                                                                     verbose=0), repeat=3)

        def fv(m=model, x=x):  # type: ignore[no-untyped-def]
            a = FlopCountAnalysis(m, x).unsupported_ops_warnings(False)
            return a.uncalled_modules_warnings(False).by_operator()

        t_fv, by_op = timed(fv, repeat=3)
        fv_macs = sum(v for k, v in by_op.items() if k in MATRIX_OPS)
        want = 1.0 if batch == 1 else 20.0
        ratio = t_ti / t_sc
        speed.add_row(name, str(batch), f"{t_sc:.4f}", f"{t_ti:.3f}", f"{ratio:.1f}x",
                      f"> {want:g}x" if batch == 1 else f">= {want:g}x",
                      "yes" if (ratio > want if batch == 1 else ratio >= want) else "NO",
                      f"{t_fv:.2f}", f"{t_fv / t_sc:.0f}x")
        loads.append(load())
        totals.add_row(name, str(batch), f"{p.params:,}", f"{summary.total_params:,}",
                       f"{p.macs:,}", f"{fv_macs:,}",
                       f"{p.memory.torchinfo.forward_backward_bytes:,}",
                       f"{summary.total_output_bytes:,}")
    console = Console(width=160)
    console.print(speed)
    console.print(f"Load average while timing: {', '.join(loads)} (2 cores).")
    console.print(totals)
    console.print(rules_table())
    faces = faces_in_fresh_process()
    big = Table(title="VGG16 features, 3x2835x3543, batch 32 (a fresh process)")
    for col in ("import torch+torchvision s", "profile s", "target", "peak RSS", "input tensor",
                "peak live activations"):
        big.add_column(col, justify="right")
    big.add_row(f"{faces['import_s']:.2f}", f"{faces['profile_s']:.3f}",
                "< 0.1 s " + ("(met)" if faces["profile_s"] < 0.1 else "(NOT met)"),
                f"{faces['rss_mib']:.0f} MiB", f"{faces['input_bytes'] / 1e9:.1f} GB",
                f"{faces['peak_activation_bytes'] / 1e9:.0f} GB")
    console.print(big)
    console.print("torchinfo and fvcore would have to run that forward pass for real: the peak "
                  "live activations above, far beyond this machine's 24 GB.")


if __name__ == "__main__":
    main()
