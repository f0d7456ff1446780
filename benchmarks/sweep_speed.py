"""The sweep of every operator cut of VGG16 at the FACES resolution, beside one real forward pass.

`splitcost sweep --backbone vgg16 --input 3x2835x3543 --batch 32 --cuts all` prices every
operator boundary of a network whose real activations would need 168 GB. Printed beside it: one
real CPU forward pass of the same VGG16 features at 3x224x224, batch 1, on this machine.

Run: .venv/bin/python benchmarks/sweep_speed.py
"""

from __future__ import annotations

import statistics
import time
import warnings

import torch
import torchvision
from rich.console import Console
from rich.table import Table

from splitcost.network.profiler import profile
from splitcost.studies.sweep import sweep


def median_time(fn, repeat: int = 5) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    warnings.simplefilter("ignore")
    profile("vgg16")  # warm-up: imports and first-call costs
    big = (3, 2835, 3543)
    t_profile = median_time(lambda: profile("vgg16", big, batch=32))
    p = profile("vgg16", big, batch=32)
    t_sweep = median_time(lambda: sweep(p, 3, link="lte", every_op=True))
    n_cuts = len(sweep(p, 3, link="lte", every_op=True).results)
    model = torchvision.models.vgg16().features.eval()
    x = torch.zeros(1, 3, 224, 224)
    with torch.no_grad():
        model(x)
        t_real = median_time(lambda: model(x))
    table = Table(title="VGG16 features: sweep of every operator cut vs one real forward pass")
    for col in ("what", "seconds", "vs real forward"):
        table.add_column(col, justify="right")
    table.add_row("profile, 3x2835x3543, batch 32 (meta)", f"{t_profile:.3f}",
                  f"{t_profile / t_real:.2f}x")
    table.add_row(f"sweep, {n_cuts} cuts, same input", f"{t_sweep:.3f}",
                  f"{t_sweep / t_real:.2f}x")
    table.add_row("real forward, 3x224x224, batch 1 (CPU)", f"{t_real:.3f}", "1x")
    Console(width=120).print(table)


if __name__ == "__main__":
    main()
