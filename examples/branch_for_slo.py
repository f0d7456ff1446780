"""Which branch point and cut should a 3-task EfficientNet use on a Jetson Nano over LTE for a
150 ms p99?

200 cameras, 5 inferences a second each, int8 cut tensors, RTX 3090 servers that batch up to 16
requests (Triton's dynamic batcher, no queue delay). For every branch point (the tasks share the
backbone up to it, each has its own copy after it) every placement is planned at fleet load:
everything on the Nano (MTL-Local), or a cut (the server runs the rest and the heads). The p99 is
end to end at the planned fleet (the server's queue included; LTE's profile has no bandwidth
percentiles, so the uplink is taken as fixed). Per branch point: the placement that meets the
p99 with the fewest servers, and what it costs.

Sharing less gives each task more layers of its own, which a multi-task design may want for
accuracy (the cost model cannot price that); the answer is the latest branch point that a task
needs, and the cheapest placement that keeps it within the SLO.

Run: .venv/bin/python examples/branch_for_slo.py
"""

from __future__ import annotations

from dataclasses import replace

import splitcost
from splitcost.studies.branches import branch_points
from splitcost.studies.inputs import pricing_inputs
from splitcost.studies.plan import FleetRow, plan_request
from splitcost.units import format_count, format_seconds

SLO = 0.150
DEVICES, FPS, BATCH = 200, 5.0, 16


def within(r: FleetRow) -> bool:
    q = r.latency_percentiles
    return q is not None and q.p99_s <= SLO and r.servers_needed is not None


def main() -> None:
    request = pricing_inputs(3, link="lte", payload_dtype="int8").request(
        splitcost.profile("efficientnet"))
    n = len(request.backbone.trace.ops)
    cuts = [c.name for c in request.backbone.cuts() if 0 <= c.op < n - 1]
    print(f"{DEVICES} x jetson-nano-4gb at {FPS:g}/s over lte (6 Mbit/s, RTT 55 ms), int8 "
          f"cut tensors, rtx-3090 servers batching up to {BATCH}; SLO: p99 "
          f"{format_seconds(SLO)}")
    print(f"{'branch':>7} {'own params':>10} | {'on the Nano':>11} | {'best split':<10} "
          f"{'unloaded':>8} {'p99':>8} {'servers':>7} {'unbatched':>9} | choice")
    chosen = []
    for b in branch_points(request):
        pr = replace(request, branch=b)
        own = request.backbone.params - (request.cut_analysis.edge_count[b.op] if b.op >= 0
                                         else 0)
        # The p99 is compared with the SLO here: no need for the plan's own SLO search.
        batched = plan_request(pr, devices=DEVICES, fps=FPS, ingress_bps=10e9, cuts=cuts,
                               max_batch=BATCH)
        alone = plan_request(pr, devices=DEVICES, fps=FPS, ingress_bps=10e9, cuts=cuts)
        local = batched.row("MTL-Local")
        remote = [r for r in batched.rows if r.servers_needed and r.latency_percentiles]
        split = min(remote, key=lambda r: r.latency_percentiles.p99_s  # type: ignore[union-attr]
                    ) if remote else None

        def p99(r: FleetRow | None) -> str:
            q = None if r is None else r.latency_percentiles
            return ">100% load" if q is None else format_seconds(q.p99_s)

        fits = [r for r in batched.rows if within(r)]
        best = min(fits, key=lambda r: (r.servers_needed or 0, r.latency_percentiles.p99_s
                                        if r.latency_percentiles else 0.0)) if fits else None
        cells = (f"{split.name:<10} {format_seconds(split.latency_s):>8} {p99(split):>8} "
                 f"{split.servers_needed!s:>7} {alone.row(split.name).servers_needed!s:>9}"
                 if split else f"{'-':<10} {'':>8} {'':>8} {'':>7} {'':>9}")
        choice = "nothing within the SLO" if best is None else (
            f"{best.name}, p99 {p99(best)}, {best.servers_needed} server(s)")
        print(f"{b.name:>7} {format_count(own):>10} | {p99(local):>11} | {cells} | {choice}")
        if best is not None:
            chosen.append((own, b.name, best, alone.row(best.name).servers_needed))
    if not chosen:
        print("No branch point and placement meets the SLO.")
        return
    own, name, best, unbatched = max(chosen, key=lambda c: (c[0], -(c[2].servers_needed or 0)))
    q = best.latency_percentiles
    assert q is not None
    print(f"The most task-specific layout within the SLO: branch '{name}' "
          f"({format_count(own)} params of each task's own), {best.name}, p99 "
          f"{format_seconds(q.p99_s)}, {best.servers_needed} server(s) with batching "
          f"({unbatched} without).")
    free = [c for c in chosen if c[2].servers_needed == 0]
    if free:
        own, name, best, _ = max(free, key=lambda c: c[0])
        q = best.latency_percentiles
        assert q is not None
        print(f"Without any server: branch '{name}' ({format_count(own)} params of each "
              f"task's own), everything on the Nano, p99 {format_seconds(q.p99_s)}.")


if __name__ == "__main__":
    main()
