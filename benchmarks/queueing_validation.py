"""The batching server's queueing model against a discrete-event simulation (SimPy), side by side.

For each max batch B, queue delay D and load (30%, 60%, 90% of B / S(B)), the model's p50, p95 and
p99 sojourn (arrival at the server -> its batch done) beside the simulation's, and the relative
difference. Two simulations: Poisson arrivals, as the model assumes, and 200 devices that each
send a frame at a fixed rate (random phases), as a fleet does. Service times are the EfficientNet
MTL-Split heads on the RTX 3090 (S(b) from splitcost's roofline at batch b) and a slower
backbone-tail server (Split@4). Last, end to end over a link with a spread (Starlink's p10/p90).

Run: .venv/bin/python benchmarks/queueing_validation.py [--requests 300000]
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time
import warnings
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from oracles.batching_des import percentile, simulate

import splitcost
from splitcost.hardware.catalog import load_link
from splitcost.pricing.queueing import sojourn
from splitcost.pricing.scenarios import price
from splitcost.pricing.tail import Z90, end_to_end, group_services, uplink_delay
from splitcost.studies.inputs import pricing_inputs

QUANTILES = (0.50, 0.95, 0.99)
LOADS = (0.3, 0.6, 0.9)


def services() -> dict[str, dict[int, tuple[float, ...]]]:
    pr = pricing_inputs(3, link="lte", payload_dtype="int8").request(
        splitcost.profile("efficientnet"))
    out: dict[str, dict[int, tuple[float, ...]]] = {}
    for s in price(pr, [pr.cut("4")])[3:]:
        out[s.name] = {b: group_services(pr, s, b)[0].service_s for b in (1, 8, 32)}
    return out


def diff(model: float, sim: float) -> str:
    return f"{100 * (model / sim - 1):+.1f}%"


def main() -> None:
    warnings.simplefilter("ignore")
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300_000)
    args = parser.parse_args()
    console = Console(width=200)
    table = Table(title="Queueing model vs SimPy: sojourn at one server, ms (model / Poisson "
                  "simulation / 200 periodic devices)")
    for col in ("server", "B", "D", "load", "p50", "p95", "p99", "worst vs Poisson",
                "vs devices", "model s", "simulation s"):
        table.add_column(col, justify="right")
    worst = 0.0
    cases = services()
    for name, by_batch in cases.items():
        for batch, service in by_batch.items():
            for delay in ((0.0, 0.001) if batch > 1 else (0.0,)):
                for load in LOADS:
                    rate = load * batch / service[-1]
                    t0 = time.perf_counter()
                    model = sojourn(rate, service, delay)
                    t_model = time.perf_counter() - t0
                    assert model is not None
                    t0 = time.perf_counter()
                    poisson = simulate(rate, service, delay, args.requests, seed=7)
                    t_sim = time.perf_counter() - t0
                    fleet = simulate(rate, service, delay, args.requests, seed=7, devices=200)
                    cells, rel, rel_fleet = [], [], []
                    for q in QUANTILES:
                        m = model.delay.quantile(q)
                        p = percentile(poisson.sojourn, q)
                        f = percentile(fleet.sojourn, q)
                        cells.append(f"{m * 1e3:.3f} / {p * 1e3:.3f} / {f * 1e3:.3f}")
                        rel.append(m / p - 1)
                        rel_fleet.append(m / f - 1)
                    far = max(rel, key=abs)
                    worst = max(worst, abs(far))
                    table.add_row(name, str(batch), f"{delay * 1e3:g} ms", f"{load:.0%}",
                                  *cells, f"{100 * far:+.1f}%",
                                  f"{100 * max(rel_fleet, key=abs):+.1f}%", f"{t_model:.3f}",
                                  f"{t_sim:.1f}")
    console.print(table)
    console.print(f"Largest difference from the Poisson simulation: {100 * worst:.1f}% "
                  "(the criterion: 10%).")

    # End to end: 30 ms fixed + Starlink uplink (20 ms at the median rate) + the server.
    link = load_link("starlink")
    low = math.log(link.bandwidth_bps / (link.bandwidth_p10_bps or 1)) / Z90
    high = math.log((link.bandwidth_p90_bps or 1) / link.bandwidth_bps) / Z90

    def uplink(rng: random.Random) -> float:
        z = rng.gauss(0.0, 1.0)
        return 0.02 * math.exp(z * (low if z > 0 else high))

    e2e = Table(title="End to end with Starlink's uplink spread (p10 6.8 / p50 18.2 / p90 27.2 "
                "Mbit/s), MTL-Split heads, B 8: model / simulation, ms")
    for col in ("load", "p50", "p95", "p99", "worst"):
        e2e.add_column(col, justify="right")
    service = cases["MTL-Split"][8]
    for load in LOADS:
        rate = load * 8 / service[-1]
        model = sojourn(rate, service)
        assert model is not None
        total = end_to_end(0.03, uplink_delay(link, 0.02), [(0.0, model.delay)])
        run = simulate(rate, service, 0.0, args.requests, seed=3, uplink=uplink)
        cells, rel = [], []
        for q in QUANTILES:
            m, s = total.quantile(q), 0.03 + percentile(run.total, q)
            cells.append(f"{m * 1e3:.2f} / {s * 1e3:.2f}")
            rel.append(m / s - 1)
        e2e.add_row(f"{load:.0%}", *cells, f"{100 * max(rel, key=abs):+.1f}%")
    console.print(e2e)


if __name__ == "__main__":
    main()
