"""Grid pricing beside compare(), in one run: configurations priced per second on one core.

The design space of the issue's capacity-planning study, scaled to the backbones this run
profiles: backbones x the 8 shipped devices x the 9 shipped links x 8 task counts x 4 payload
encodings (a configuration is one such combination, with its four scenarios priced). One core:
the grid is Python and numpy elementwise arithmetic, which runs on one thread. Profiles
and task heads are measured first (not timed: the grid prices, it does not trace); then
``price_grid`` prices the whole grid, and ``compare_request`` prices a sample of the same
configurations one by one, which are checked equal to the grid's rows.

Run: .venv/bin/python benchmarks/grid_speed.py [number of backbones, default 20]
"""

from __future__ import annotations

import random
import statistics
import sys
import time
import warnings
from pathlib import Path

from rich.console import Console
from rich.table import Table

from splitcost.hardware.catalog import device_catalog, link_catalog
from splitcost.hardware.encoding import payload_encoding
from splitcost.network.heads import head_profiles
from splitcost.network.profile import Profile
from splitcost.network.profiler import profile
from splitcost.network.tasks import Task
from splitcost.pricing.grid import GridPrices, price_grid
from splitcost.pricing.request import PricingRequest
from splitcost.studies.compare import compare_request

BACKBONES = ["mobilenet_v3_small", "efficientnet_b0", "vgg16", "resnet18", "resnet50",
             "mobilenet_v2", "mobilenet_v3_large", "efficientnet_b1", "regnet_y_400mf",
             "shufflenet_v2_x1_0", "squeezenet1_1", "densenet121", "convnext_tiny", "googlenet",
             "mnasnet1_0", "resnext50_32x4d", "wide_resnet50_2", "regnet_x_800mf", "alexnet",
             "efficientnet_b2", "resnet34", "resnet101", "swin_t", "vit_b_16"]
TASK_COUNTS = (1, 2, 3, 4, 5, 6, 8, 10)
ENCODINGS = (("float32", None), ("float16", None), ("int8", None), ("int8", 4.0))
SAMPLE = 300
REPEAT = 5


def main() -> None:
    warnings.simplefilter("ignore")
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    names = BACKBONES[:n]
    devices = list(device_catalog([]).devices)
    links = list(link_catalog([]).links)
    server = next(d for d in devices if d.name == "rtx-3090")
    payloads = [payload_encoding(d, r) for d, r in ENCODINGS]
    task_sets = [tuple(Task(10) for _ in range(k)) for k in TASK_COUNTS]
    t0 = time.perf_counter()
    backbones = [profile(name) for name in names]
    heads = {id(bb): head_profiles(bb, [Task(10)])[0] for bb in backbones}
    measured = time.perf_counter() - t0

    def heads_for(bb: Profile, tasks: tuple[Task, ...]) -> tuple[Profile, ...]:
        return (heads[id(bb)],) * len(tasks)

    def run() -> GridPrices:
        return price_grid(backbones, task_sets, heads_for, devices, links, payloads,
                          servers=[server])

    g = run()
    times = []
    for _ in range(REPEAT):
        t = time.perf_counter()
        g = run()
        times.append(time.perf_counter() - t)
    grid_s = statistics.median(times)
    configs = g.configurations

    rng = random.Random(13)
    sample = rng.sample(range(configs), min(SAMPLE, configs))
    k = len(g.kinds)
    mismatches = 0
    t = time.perf_counter()
    for c in sample:
        i = c * k
        bb = backbones[int(g.backbone_index[i])]
        tasks = task_sets[int(g.task_index[i])]
        pr = PricingRequest(bb, heads_for(bb, tasks), devices[int(g.device_index[i])],
                            server, links[int(g.link_index[i])], tasks,
                            payload=payloads[int(g.payload_index[i])])
        report = compare_request(pr, what_if=False)
        for j, s in enumerate(report.scenarios):
            row = g.row(i + j)
            if (row["total_s"], row["feasible"], row["payload_bytes"], row["edge_memory_bytes"]) \
                    != (s.total_s, s.feasible, s.payload_bytes, s.edge_memory_bytes):
                mismatches += 1
    compare_s = (time.perf_counter() - t) / len(sample)

    table = Table(title=f"Pricing {len(names)} backbones x {len(devices)} devices x "
                  f"{len(links)} links x {len(task_sets)} task counts x {len(payloads)} "
                  "encodings (one core)")
    for col in ("path", "configurations", "seconds", "configurations/s", "vs compare()"):
        table.add_column(col, justify="right")
    table.add_row("price_grid (median of 5)", f"{configs:,}", f"{grid_s:.3f}",
                  f"{configs / grid_s:,.0f}", f"{compare_s * configs / grid_s:,.0f}x")
    table.add_row(f"compare_request, {len(sample)} of them", f"{len(sample):,}",
                  f"{compare_s * len(sample):.2f}", f"{1 / compare_s:,.0f}", "1x")
    console = Console(width=120)
    console.print(table)
    console.print(f"Rows (configuration x scenario): {len(g):,}. Sampled configurations equal "
                  f"to compare(): {len(sample) - mismatches // k if mismatches else len(sample)}"
                  f" of {len(sample)} ({mismatches} rows differ). Profiling the backbones and "
                  f"heads first took {measured:.1f} s (not timed). Load average: "
                  f"{Path('/proc/loadavg').read_text().split()[0]}.")
    console.print(f"Grid runs: {', '.join(f'{x:.3f}' for x in times)} s.")


if __name__ == "__main__":
    main()
