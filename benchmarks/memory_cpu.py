"""splitcost's inference peak of live activations beside real allocations on CPU.

For each backbone at 3x224x224, batch 1 and 8: splitcost's ``peak_activation_bytes`` (one trace
on meta tensors) and the peak measured by tests/oracles/alloc_tracker.py on the real model
(random weights, ``eval()``, ``torch.no_grad()``, input ``torch.zeros``), with

* measured: live activation storages at operator boundaries (what splitcost models);
* raw: everything the CPU allocator held, kernel workspaces included (oneDNN's own output buffer
  and reorders; the true resident peak of tensor memory);
* ws: raw - measured, how far kernel workspaces lift the peak;
* raw no-mkldnn: the raw peak with ``torch.backends.mkldnn`` disabled (slow_conv2d's im2col
  columns replace oneDNN's buffers).

MB = 1e6 bytes. Run: .venv/bin/python benchmarks/memory_cpu.py   (about 50 s on 2 idle cores)
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from oracles.alloc_tracker import measure

from splitcost.network.profiler import profile
from splitcost.network.zoo import build, resolve

BACKBONES = [
    "mobilenet", "efficientnet", "vgg16", "resnet18", "resnet50", "densenet121", "mobilenet_v2",
    "regnet_y_400mf", "shufflenet_v2_x1_0", "squeezenet1_1", "convnext_tiny", "swin_t",
    "googlenet", "vit_b_16",
]
BATCHES = (1, 8)
HW = (224, 224)
MB = 1e6


def cpu_backbone(name: str) -> torch.nn.Module:
    torch.manual_seed(0)
    return build(resolve(name), real=True)[0].eval()


def main() -> None:
    console = Console()
    if not console.is_terminal:
        console = Console(width=190)
    table = Table(title="Inference peak of live activations, 3x224x224, CPU (MB = 1e6 B)")
    for col in ("backbone", "batch", "predicted MB", "measured MB", "error %", "raw MB",
                "ws MB", "ws %", "raw no-mkldnn MB"):
        table.add_column(col, justify="left" if col == "backbone" else "right")
    table.add_column("splitcost peak module")
    table.add_column("real peak operator")
    worst = 0.0
    t0 = time.perf_counter()
    for name in BACKBONES:
        model = cpu_backbone(name)
        for batch in BATCHES:
            x = torch.zeros(batch, 3, *HW)
            real = measure(model, x)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                plain = measure(model, x, mkldnn=False)
            mem = profile(name, (3, *HW), batch=batch).memory.inference
            pred = mem.peak_activation_bytes
            err = 100 * (pred - real.activation_peak) / real.activation_peak
            worst = max(worst, abs(err))
            style = "" if abs(err) <= 5 else "bold red"
            table.add_row(
                name, str(batch), f"{pred / MB:.3f}", f"{real.activation_peak / MB:.3f}",
                f"[{style}]{err:+.2f}[/]" if style else f"{err:+.2f}",
                f"{real.raw_peak / MB:.3f}", f"{real.workspace_overhead / MB:.3f}",
                f"{100 * real.workspace_overhead / real.activation_peak:.1f}",
                f"{plain.raw_peak / MB:.3f}",
                mem.peak_module, real.activation_peak_op,
            )
    console.print(table)
    console.print(
        f"worst |error| {worst:.2f}%  ({time.perf_counter() - t0:.1f} s, "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads)\n"
        "measured = live activation storages at operator boundaries (kernel workspaces out); "
        "raw = everything the CPU allocator held; ws = raw - measured.\n"
        "vit_b_16: real CPU runs nn.MultiheadAttention's fused fast path (and flash SDPA "
        "without it); the meta trace takes the math path and counts the 12x197x197 scores "
        "and softmax."
    )


if __name__ == "__main__":
    main()
