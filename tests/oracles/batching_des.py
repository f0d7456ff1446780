"""A discrete-event simulation of a batching server, written with SimPy and nothing of splitcost:
the oracle for the queueing model of ``splitcost.pricing.queueing``.

Requests are made at Poisson times (or by devices that each send a frame every ``1/fps``
seconds, at a random phase); each takes an independent uplink delay, then queues at one server.
The server's batcher follows the rule the model states: when a batch ends and requests wait,
the next batch takes the oldest ``min(waiting, B)`` at once; a request that finds the server idle
and nobody waiting opens a batch, which starts when B requests are there or ``delay`` after it
arrived, whichever comes first. A batch of ``b`` takes ``service[b - 1]`` seconds.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import simpy


@dataclass
class Run:
    sojourn: list[float]  # arrival at the server -> its batch done
    total: list[float]  # made -> its batch done (uplink delay included)
    batches: list[int]


def simulate(rate: float, service: Sequence[float], delay: float, requests: int, *,
             seed: int = 1, uplink: Callable[[random.Random], float] | None = None,
             devices: int | None = None, warmup: float = 0.05) -> Run:
    """Simulate ``requests`` requests at ``rate`` per second; drop the first ``warmup`` share.

    ``devices``: the requests come from that many periodic devices (rate / devices frames per
    second each, random phases) instead of a Poisson stream."""
    rng = random.Random(seed)
    env = simpy.Environment()
    b = len(service)
    queue: list[tuple[float, float]] = []  # (made, arrived at the server)
    state: dict[str, simpy.Event | None] = {"wake": None, "full": None}
    run = Run([], [], [])
    skip = int(requests * warmup)
    done = {"n": 0}

    def arrive(made: float) -> simpy.events.ProcessGenerator:
        if uplink is not None:
            yield env.timeout(uplink(rng))
        queue.append((made, env.now))
        wake = state["wake"]
        if wake is not None and not wake.triggered:
            wake.succeed()
        full = state["full"]
        if full is not None and not full.triggered and len(queue) >= b:
            full.succeed()

    def source() -> simpy.events.ProcessGenerator:
        if devices is None:
            for _ in range(requests):
                yield env.timeout(rng.expovariate(rate))
                env.process(arrive(env.now))
            return
        period = devices / rate
        phases = sorted(rng.random() * period for _ in range(devices))
        made = 0
        frame = 0
        while made < requests:
            for ph in phases:
                at = frame * period + ph
                if at > env.now:
                    yield env.timeout(at - env.now)
                env.process(arrive(env.now))
                made += 1
                if made >= requests:
                    return
            frame += 1

    def server() -> simpy.events.ProcessGenerator:
        while True:
            if not queue:
                state["wake"] = env.event()
                yield state["wake"]
                state["wake"] = None
                if b > 1 and delay > 0 and len(queue) < b:
                    opened = queue[0][1]
                    state["full"] = env.event()
                    yield state["full"] | env.timeout(max(0.0, opened + delay - env.now))
                    state["full"] = None
            batch = queue[:b]
            del queue[:b]
            yield env.timeout(service[len(batch) - 1])
            run.batches.append(len(batch))
            for made, arrived in batch:
                done["n"] += 1
                if done["n"] > skip:
                    run.sojourn.append(env.now - arrived)
                    run.total.append(env.now - made)

    env.process(source())
    env.process(server())
    env.run()
    return run


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    k = min(int(q * len(ordered)), len(ordered) - 1)
    return ordered[k]
