"""The batching server's queueing model against oracles it does not share code with: the exact
M/D/1 waiting-time distribution (Erlang's formula, in 80-digit decimals), the Pollaczek-Khinchine
mean, and a SimPy discrete-event simulation of the same batcher (tests/oracles/batching_des.py).
Service times at batch b come from the roofline at batch b: checked against a real trace at that
batch."""

from __future__ import annotations

import math
import random
import sys
from decimal import Decimal, localcontext
from pathlib import Path
from typing import Any

import pytest

import splitcost
from splitcost.hardware.link import Link
from splitcost.pricing.queueing import Distribution, largest, plus, sojourn
from splitcost.pricing.service import head_times, op_prefix
from splitcost.pricing.tail import Z90, end_to_end, uplink_delay
from splitcost.studies.inputs import pricing_inputs

sys.path.insert(0, str(Path(__file__).resolve().parent))
from oracles.batching_des import percentile, simulate

QUANTILES = (0.50, 0.95, 0.99)


def _erlang_md1_wait_cdf(lam: float, s: float, t: float) -> float:
    """P(W_q <= t) for M/D/1 (Erlang 1909):
    (1 - rho) sum_k (lam (kS - t))^k / k! e^{-lam (kS - t)}."""
    with localcontext() as ctx:
        ctx.prec = 80
        lam_d, s_d, t_d = Decimal(lam), Decimal(s), Decimal(t)
        total = Decimal(0)
        for k in range(int(t / s) + 1):
            x = lam_d * (k * s_d - t_d)
            total += (x ** k if k else Decimal(1)) / math.factorial(k) * (-x).exp()
        return float((1 - lam_d * s_d) * total)


def _md1_sojourn_quantile(lam: float, s: float, q: float) -> float:
    lo, hi = 0.0, 200 * s
    if _erlang_md1_wait_cdf(lam, s, 0.0) >= q:
        return s
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if _erlang_md1_wait_cdf(lam, s, mid) < q else (lo, mid)
    return hi + s


@pytest.mark.parametrize("rho", [0.3, 0.6, 0.9])
def test_md1_matches_erlangs_formula(rho: float) -> None:
    s = 0.002
    lam = rho / s
    model = sojourn(lam, [s])
    assert model is not None
    step = model.delay.step_s
    for q in QUANTILES:
        exact = _md1_sojourn_quantile(lam, s, q)
        assert abs(model.delay.quantile(q) - exact) <= 2 * step, (q, exact)
    # The Pollaczek-Khinchine mean: S + rho S / (2 (1 - rho)).
    assert model.delay.mean() == pytest.approx(s + rho * s / (2 * (1 - rho)), rel=1e-6)
    assert model.mean_wait_s == pytest.approx(rho * s / (2 * (1 - rho)), rel=1e-6)
    assert model.lost < 1e-6


@pytest.mark.parametrize("load", [1.0, 1.3])
def test_at_or_above_full_load_there_is_no_number(load: float) -> None:
    service = [0.001 * (1 + 0.1 * b) for b in range(8)]
    assert sojourn(load * 8 / service[-1], service) is None


def _service(b: int) -> list[float]:
    # A head-like batch: a fixed weight-streaming part and a small per-request part.
    return [0.0006 + 0.00004 * k for k in range(1, b + 1)]


def _agree(batch: int, delay: float, rho: float, requests: int) -> None:
    service = _service(batch)
    rate = rho * batch / service[-1]
    model = sojourn(rate, service, delay)
    assert model is not None
    run = simulate(rate, service, delay, requests, seed=11)
    for q in QUANTILES:
        simulated = percentile(run.sojourn, q)
        assert model.delay.quantile(q) == pytest.approx(simulated, rel=0.10), (q, simulated)
    mean = sum(run.sojourn) / len(run.sojourn)
    assert model.delay.mean() == pytest.approx(mean, rel=0.05)
    # The batch a request is served in, averaged over requests: sum b^2 / sum b.
    served = sum(b * b for b in run.batches) / sum(run.batches)
    assert model.mean_batch == pytest.approx(served, rel=0.10)


def test_a_simulation_agrees() -> None:
    """One case, short: batches of up to 8 at 60% load."""
    _agree(8, 0.0, 0.6, 40_000)


@pytest.mark.slow
@pytest.mark.parametrize("rho", [0.3, 0.6, 0.9])
@pytest.mark.parametrize(("batch", "delay"), [(1, 0.0), (8, 0.0), (8, 0.001), (32, 0.002)])
def test_the_simulation_agrees_within_ten_percent(batch: int, delay: float, rho: float) -> None:
    _agree(batch, delay, rho, 250_000)


def _starlink() -> Link:
    return Link("test", "test", "", 18.17e6, 0.047, 1.0, bandwidth_p10_bps=6.79e6,
                bandwidth_p90_bps=27.17e6)


def test_the_uplinks_spread_puts_its_percentiles_where_the_link_says() -> None:
    link = _starlink()
    up = uplink_delay(link, 0.1)  # 0.1 s at the median rate
    # A slow link (its p10 rate) is the time's p90, a fast one (p90 rate) its p10.
    assert up.quantile(0.9) == pytest.approx(0.1 * 18.17 / 6.79, rel=0.005)
    assert up.quantile(0.1) == pytest.approx(0.1 * 18.17 / 27.17, rel=0.005)
    assert up.quantile(0.5) == pytest.approx(0.1, rel=0.005)
    assert uplink_delay(Link("x", "x", "", 1e6, 0.0, 1.0), 0.2).quantile(0.99) == 0.2


def _uplink_sample(link: Link, median_s: float) -> Any:
    low = math.log(link.bandwidth_bps / (link.bandwidth_p10_bps or 1)) / Z90
    high = math.log((link.bandwidth_p90_bps or 1) / link.bandwidth_bps) / Z90

    def draw(rng: random.Random) -> float:
        z = rng.gauss(0.0, 1.0)  # z > 0: a bandwidth below the median, the slow side
        return median_s * math.exp(z * (low if z > 0 else high))

    return draw


def test_end_to_end_with_the_links_spread_agrees_with_a_simulation() -> None:
    link = _starlink()
    service = _service(8)
    rate = 0.6 * 8 / service[-1]
    model = sojourn(rate, service)
    assert model is not None
    total = end_to_end(0.03, uplink_delay(link, 0.02), [(0.0, model.delay)])
    run = simulate(rate, service, 0.0, 40_000, seed=5, uplink=_uplink_sample(link, 0.02))
    for q in QUANTILES:
        assert total.quantile(q) == pytest.approx(0.03 + percentile(run.total, q), rel=0.10)


def test_sums_and_maxima_of_delays() -> None:
    a, b = Distribution.constant(0.01), Distribution.constant(0.02)
    assert plus([a, b]).quantile(0.99) == pytest.approx(0.03)
    assert largest([a, b]).quantile(0.5) == pytest.approx(0.02)
    # The maximum of two independent uniform(0, 1) delays: P(max <= x) = x^2.
    n = 1000
    import numpy as np

    u = Distribution(0.0, 1.0 / (n - 1), np.full(n, 1.0 / n))
    assert largest([u, u]).quantile(0.25) == pytest.approx(0.5, abs=0.01)


# --- the service time at batch b ----------------------------------------------------------------


@pytest.mark.parametrize("name", ["efficientnet", "resnet18"])
def test_service_at_batch_b_is_the_roofline_of_a_trace_at_b(name: str) -> None:
    """Scaling a batch-1 trace (activations and arithmetic x b, weights once) prices every
    operator as a real trace at batch 8 does."""
    one = pricing_inputs(3, link="1gbps").request(splitcost.profile(name))
    eight = pricing_inputs(3, link="1gbps").request(splitcost.profile(name, batch=8))
    for device in (one.server, one.device):
        scaled = op_prefix(one, device, batch=8)
        traced = op_prefix(eight, device)
        assert len(scaled) == len(traced)
        for x, y in zip(scaled, traced, strict=True):
            assert x == pytest.approx(y, rel=1e-9, abs=1e-15)
        assert head_times(one, device, batch=8) == pytest.approx(head_times(eight, device),
                                                                 rel=1e-9)


def test_a_batch_of_heads_reads_the_weights_once() -> None:
    """MTL-Split's heads (Linear 62,720 -> 256) are weight-streaming at batch 1: a batch of 16
    costs far less than 16 batch-1 runs on the RTX 3090."""
    pr = pricing_inputs(3, link="1gbps").request(splitcost.profile("efficientnet"))
    one = sum(head_times(pr, pr.server, batch=1))
    sixteen = sum(head_times(pr, pr.server, batch=16))
    head = pr.heads[0]
    weights = 3 * head.param_bytes
    # Batch 1: at least the weights streamed at the profile's bandwidth once.
    bandwidth = pr.server.memory_bandwidth * pr.server.efficiency.memory
    assert one >= weights / bandwidth
    assert one < sixteen < 2 * one
