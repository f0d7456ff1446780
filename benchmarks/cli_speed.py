"""Whole-process wall time of the commands, side by side in one run: the first (cold) `splitcost
report`, the next ones with the same backbone and another link, device or task count (a
profile-cache hit: no torch), `--no-cache`, bare `import torch, torchvision`, and `--help`,
`devices` and `links`.

Each command is a fresh process of the `splitcost` console script next to this Python;
every round runs each of them once, in the same order, and the table gives the median over the
rounds, so that load from other processes falls on all of them alike. A cold run starts from an
empty cache folder (SPLITCOST_CACHE_DIR); the warm runs reuse the folder the round's cold run
filled. Ratios are each median / the cold report's median.

Run: .venv/bin/python benchmarks/cli_speed.py [rounds, default 5]
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

REPORT = ["report", "--backbone", "efficientnet", "--tasks", "3", "--link", "1gbps"]
CASES: list[tuple[str, list[str] | None]] = [
    ("report, cold (empty cache)", REPORT),
    ("report --link lte (cache hit)", [*REPORT[:-1], "lte"]),
    ("report --device raspberry-pi-4-4gb (hit)", [*REPORT, "--device", "raspberry-pi-4-4gb"]),
    ("report --tasks 5 (hit)", [*REPORT[:3], "--tasks", "5", *REPORT[5:]]),
    ("report, same as cold (hit)", REPORT),
    ("report --no-cache", [*REPORT, "--no-cache"]),
    ("python -c 'import torch, torchvision'", None),
    ("splitcost --help", ["--help"]),
    ("splitcost devices", ["devices"]),
    ("splitcost links", ["links"]),
]
TARGETS = {"report --link lte (cache hit)": "<= 0.15x and <= 1 s",
           "report --device raspberry-pi-4-4gb (hit)": "<= 0.15x and <= 1 s",
           "report --tasks 5 (hit)": "<= 0.15x and <= 1 s",
           "report, same as cold (hit)": "<= 0.15x and <= 1 s",
           "splitcost --help": "< 0.5 s", "splitcost devices": "< 0.5 s",
           "splitcost links": "< 0.5 s"}


def wall(argv: list[str] | None, env: dict[str, str]) -> float:
    command = ([sys.executable, "-c", "import torch, torchvision"] if argv is None
               else [str(Path(sys.executable).parent / "splitcost"), *argv])
    t0 = time.perf_counter()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def load() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    times: dict[str, list[float]] = {name: [] for name, _ in CASES}
    loads = [load()]
    for _ in range(rounds):
        folder = tempfile.mkdtemp(prefix="splitcost-bench-cache-")
        env = {**os.environ, "SPLITCOST_CACHE_DIR": folder}
        try:
            for name, argv in CASES:
                times[name].append(wall(argv, env))
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        loads.append(load())
    cold = statistics.median(times[CASES[0][0]])
    table = Table(title=f"Whole-process wall time, median of {rounds} rounds (seconds)")
    for col in ("command", "median s", "min s", "max s", "vs cold report", "target", "met"):
        table.add_column(col, justify="right" if col != "command" else "left")
    for name, _ in CASES:
        t = times[name]
        median = statistics.median(t)
        target = TARGETS.get(name, "")
        ratio = median / cold
        met = ""
        if target.startswith("<= 0.15x"):
            met = "yes" if ratio <= 0.15 and median <= 1.0 else "NO"
        elif target.startswith("< 0.5"):
            met = "yes" if median < 0.5 else "NO"
        table.add_row(name, f"{median:.3f}", f"{min(t):.3f}", f"{max(t):.3f}", f"{ratio:.3f}x",
                      target, met)
    console = Console(width=130)
    console.print(table)
    cores = os.cpu_count() or 1
    noisy = max(loads) > cores
    console.print(f"Load average during the run: {', '.join(f'{x:.2f}' for x in loads)} on "
                  f"{cores} cores" + (" - too noisy to trust absolute times; the ratios, "
                                      "taken in the same rounds, hold better." if noisy else "."))


if __name__ == "__main__":
    main()
