"""Properties that must hold for any input (hypothesis)."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

from splitcost.hardware.link import ideal_link
from splitcost.hardware.transfer import transfer
from splitcost.network.cuts import cuts
from splitcost.network.profiler import profile
from splitcost.studies.compare import compare
from splitcost.units import (
    format_bytes,
    format_rate,
    format_seconds,
    parse_bytes,
    parse_duration,
    parse_rate,
)

SLOW = settings(max_examples=25, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@given(st.integers(min_value=1, max_value=2**50), st.booleans())
def test_bytes_round_trip(n: int, binary: bool) -> None:
    assert parse_bytes(format_bytes(n, binary=binary, digits=17)) == n


# From 100 bit/s: below that no rate is real (splitcost.units refuses it)
@given(st.floats(min_value=100.0, max_value=1e14, allow_nan=False))
def test_rate_round_trip(bps: float) -> None:
    assert math.isclose(parse_rate(format_rate(bps, digits=15)), bps, rel_tol=1e-12)


@given(st.floats(min_value=1e-9, max_value=500.0, allow_nan=False))
def test_duration_round_trip(s: float) -> None:
    assert math.isclose(parse_duration(format_seconds(s, digits=15)), s, rel_tol=1e-12)


@given(st.floats(min_value=100.0, max_value=1e14), st.floats(min_value=100.0, max_value=1e14))
def test_rounded_formatting_stays_within_its_digits(a: float, b: float) -> None:
    for value in (a, b):
        assert math.isclose(parse_rate(format_rate(value)), value, rel_tol=5e-3)


@given(
    payload=st.integers(min_value=0, max_value=10**10),
    results=st.integers(min_value=0, max_value=10**6),
    slow=st.floats(min_value=1e3, max_value=1e11),
    factor=st.floats(min_value=1.0, max_value=1e3),
    rtt=st.floats(min_value=0, max_value=1.0),
    efficiency=st.floats(min_value=0.05, max_value=1.0),
)
def test_more_bandwidth_never_increases_transfer_time(
    payload: int, results: int, slow: float, factor: float, rtt: float, efficiency: float
) -> None:
    link = replace(ideal_link(slow), rtt_s=rtt, efficiency=efficiency)
    before = transfer(payload, results, link).total_s
    after = transfer(payload, results, link.with_bandwidth(slow * factor)).total_s
    assert after <= before * (1 + 1e-12)


# --- random small networks ---------------------------------------------------------------------


class Net(nn.Module):
    """A chain of conv blocks, some residual, from a hypothesis-drawn plan."""

    def __init__(self, plan: list[tuple[int, int, int, bool]]):
        super().__init__()
        blocks, residual = [], []
        channels = 3
        for width, kernel, stride, skip in plan:
            same = skip and stride == 1 and width == channels
            blocks.append(nn.Sequential(nn.Conv2d(channels, width, kernel, stride, kernel // 2),
                                        nn.ReLU()))
            residual.append(same)
            channels = width
        self.blocks = nn.ModuleList(blocks)
        self.residual = residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block, skip in zip(self.blocks, self.residual, strict=True):
            x = block(x) + x if skip else block(x)
        return x


plans = st.lists(
    st.tuples(st.sampled_from([3, 4, 8]), st.sampled_from([1, 3]), st.sampled_from([1, 2]),
              st.booleans()),
    min_size=1, max_size=6,
)


@SLOW
@given(plan=plans, batch=st.integers(min_value=1, max_value=3))
def test_last_cut_carries_zb_and_edge_macs_are_all(plan: list[tuple[int, int, int, bool]],
                                                   batch: int) -> None:
    p = profile(Net(plan), (3, 16, 16), batch=batch)
    everything = cuts(p.trace, every_op=True)
    assert everything[-1].payload_bytes == p.zb_bytes
    assert everything[-1].edge_macs == p.macs
    assert everything[0].payload_bytes == p.input_bytes
    for c in everything:
        assert c.edge_macs + c.server_macs == p.macs
        assert c.payload_bytes > 0


@SLOW
@given(plan=plans)
def test_profiles_are_deterministic(plan: list[tuple[int, int, int, bool]]) -> None:
    model = Net(plan)
    a = profile(model, (3, 16, 16)).to_dict()
    b = profile(model, (3, 16, 16)).to_dict()
    assert a == b


@pytest.fixture(scope="module")
def small_profile():  # type: ignore[no-untyped-def]
    return profile(Net([(8, 3, 2, False), (8, 3, 1, True)]), (3, 32, 32))


@SLOW
@given(tasks=st.integers(min_value=1, max_value=7), classes=st.integers(min_value=1, max_value=50),
       model=st.sampled_from(["inference", "torchinfo"]))
def test_more_tasks_never_decrease_loc_memory(small_profile, tasks: int, classes: int,  # type: ignore[no-untyped-def]
                                              model: str) -> None:
    fewer = compare(small_profile, [classes] * tasks, memory_model=model, what_if=False)
    more = compare(small_profile, [classes] * (tasks + 1), memory_model=model, what_if=False)
    assert (more.scenario("LoC").edge_memory_bytes
            >= fewer.scenario("LoC").edge_memory_bytes)
    assert (more.scenario("MTL-Local").edge_memory_bytes
            >= fewer.scenario("MTL-Local").edge_memory_bytes)


@SLOW
@given(bps=st.floats(min_value=1e4, max_value=1e11),
       payload=st.sampled_from(["float32", "float16", "bfloat16", "int8"]),
       images=st.integers(min_value=1, max_value=100))
def test_scenario_totals_are_the_sum_of_their_parts(small_profile, bps: float, payload: str,  # type: ignore[no-untyped-def]
                                                    images: int) -> None:
    r = compare(small_profile, 2, link=ideal_link(bps), payload_dtype=payload, images=images,
                what_if=False)
    for s in r.scenarios:
        d = s.to_dict()
        assert math.isclose(d["total_s"], d["edge_s"] + d["transfer_s"] + d["server_s"],
                            rel_tol=1e-12, abs_tol=1e-15)
        assert math.isclose(d["images_total_s"], images * d["total_s"], rel_tol=1e-12)
        t = d["transfer"]
        assert math.isclose(d["transfer_s"], t["latency_s"] + t["uplink_s"] + t["downlink_s"],
                            rel_tol=1e-12, abs_tol=1e-15)
        for side in ("edge_memory", "server_memory"):
            m = d[side]
            if m:
                parts = (m["runtime_overhead_bytes"] + m["params_bytes"] + m["buffers_bytes"]
                         + m["activations_bytes"])
                assert m["total_bytes"] == parts
