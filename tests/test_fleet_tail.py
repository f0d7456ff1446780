"""Tail latency at fleet load: the plan's percentiles by hand (M/D/1, Erlang's formula), the JSON
contract of `splitcost plan --slo`, and the property that a bigger fleet never lowers them."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_plan import _local, _remote
from test_queueing import _erlang_md1_wait_cdf, _md1_sojourn_quantile

import splitcost
from splitcost.cli import main
from splitcost.pricing.scenarios import price
from splitcost.pricing.tail import group_services
from splitcost.studies.inputs import pricing_inputs
from splitcost.studies.plan import Resource, fleet_row, plan


def test_percentiles_at_the_planned_fleet_by_hand() -> None:
    # 120 devices at 2/s, 10 ms of server time each: 50 devices a server, 3 servers, 40
    # devices = 80 requests/s each, 80% load. The rest is fixed: 100 ms edge + 100 ms uplink.
    row = fleet_row(_remote(), devices=120, fps=2, ingress_bps=1e9, goodput_bps=10e6,
                    concurrency=1, slo_s=0.25)
    assert row.servers_needed == 3 and row.overloaded is None
    q = row.latency_percentiles
    assert q is not None
    step = 0.01 / 64
    for value, level in ((q.p50_s, 0.5), (q.p95_s, 0.95), (q.p99_s, 0.99)):
        assert abs(value - (0.2 + _md1_sojourn_quantile(80, 0.01, level))) <= 2 * step
    # Missing 250 ms: a sojourn above 50 ms, a wait above 40 ms.
    assert row.deadline_miss == pytest.approx(1 - _erlang_md1_wait_cdf(80, 0.01, 0.04),
                                              abs=0.002)
    assert row.capacity_rps == pytest.approx(100)
    assert row.mean_wait_s == pytest.approx(0.8 * 0.01 / (2 * 0.2), rel=1e-6)
    # Within 250 ms at p99: bisection over the devices on one server.
    within = row.devices_within_slo
    assert within is not None and 0 < within <= 50
    assert row.servers_for_slo == math.ceil(120 / within)


def test_no_percentiles_above_full_load() -> None:
    row = fleet_row(_remote(payload=1_250_000), devices=10, fps=2, ingress_bps=1e9,
                    goodput_bps=10e6, concurrency=1, slo_s=0.5)
    assert row.latency_percentiles is None and row.deadline_miss is None
    assert row.overloaded is Resource.UPLINK
    assert row.to_dict()["latency_percentiles"] == {"p50_s": None, "p95_s": None,
                                                   "p99_s": None}


def test_local_scenarios_have_fixed_latency() -> None:
    row = fleet_row(_local(0.2), devices=500, fps=4, ingress_bps=1e9, goodput_bps=10e6,
                    concurrency=1, slo_s=0.15)
    q = row.latency_percentiles
    assert q is not None and q.p50_s == q.p99_s == 0.2
    assert row.deadline_miss == 1.0


COMMAND = ["plan", "--backbone", "efficientnet", "--tasks", "3", "--devices", "200", "--fps",
           "7", "--link", "lte", "--payload-dtype", "int8", "--slo", "150ms", "--format",
           "json"]


def _plan_json(capsys: pytest.CaptureFixture[str], args: list[str]) -> dict[str, Any]:
    main(args)
    out: dict[str, Any] = json.loads(capsys.readouterr().out)
    return out


def _values(s: dict[str, Any]) -> list[float]:
    q = s["latency_percentiles"]
    return [math.inf if q[k] is None else q[k] for k in ("p50_s", "p95_s", "p99_s")] + [
        math.inf if s["deadline_miss"] is None else s["deadline_miss"]]


def test_the_plan_command_gives_percentiles_and_misses(capsys: pytest.CaptureFixture[str]
                                                      ) -> None:
    d = _plan_json(capsys, COMMAND)
    assert d["slo_s"] == 0.15
    names = [s["name"] for s in d["scenarios"]]
    assert names == ["LoC", "MTL-Local", "RoC", "MTL-Split"]
    for s in d["scenarios"]:
        q = s["latency_percentiles"]
        assert set(q) == {"p50_s", "p95_s", "p99_s"}
        if s["overloaded"] is None:
            assert q["p50_s"] <= q["p95_s"] <= q["p99_s"]
            assert 0.0 <= s["deadline_miss"] <= 1.0
            assert q["p50_s"] >= s["latency_s"] - 1e-12  # at least the unloaded latency
        else:
            assert q == {"p50_s": None, "p95_s": None, "p99_s": None}
            assert s["deadline_miss"] is None
    by = {s["name"]: s for s in d["scenarios"]}
    assert by["LoC"]["overloaded"] == "edge compute" and by["RoC"]["overloaded"] == "uplink"
    # LoC: 7 x 165 ms of edge compute per second (the Nano's eager profile)
    assert by["MTL-Local"]["deadline_miss"] == 0.0  # 62 ms, fixed
    assert by["MTL-Split"]["deadline_miss"] == 1.0  # 191 ms unloaded over LTE
    # Twice the fleet never lowers any of them.
    bigger = _plan_json(capsys, [*COMMAND[:6], "400", *COMMAND[7:]])
    for a, b in zip(d["scenarios"], bigger["scenarios"], strict=True):
        assert all(y >= x for x, y in zip(_values(a), _values(b), strict=True)), a["name"]
    # Without --slo there is no miss probability.
    plain = _plan_json(capsys, [c for c in COMMAND if c not in ("--slo", "150ms")])
    assert all(s["deadline_miss"] is None for s in plain["scenarios"])


@pytest.fixture(scope="module")
def priced() -> Any:
    pr = pricing_inputs(3, link="lte", payload_dtype="int8").request(
        splitcost.profile("efficientnet"))
    scenarios = price(pr, [pr.cut("4")])
    return pr, scenarios, {b: [group_services(pr, s, b) for s in scenarios] for b in (1, 8)}


def _row_values(row: Any) -> list[float]:
    q = row.latency_percentiles
    if q is None:
        return [math.inf] * 4
    return [q.p50_s, q.p95_s, q.p99_s, row.deadline_miss]


@settings(max_examples=20, deadline=None)
@given(devices=st.integers(1, 3000), fps=st.sampled_from([0.5, 1.0, 5.0, 12.0, 30.0]),
       batch=st.sampled_from([1, 8]))
def test_doubling_the_fleet_never_lowers_the_tail(priced: Any, devices: int, fps: float,
                                                  batch: int) -> None:
    pr, scenarios, services = priced
    for s, groups in zip(scenarios, services[batch], strict=True):
        rows = [fleet_row(s, m, fps, 10e9, pr.link.goodput_bps, 1, groups=groups,
                          link=pr.link, slo_s=0.15, slo_capacity=False)
                for m in (devices, 2 * devices)]
        before, after = (_row_values(r) for r in rows)
        assert all(y >= x for x, y in zip(before, after, strict=True)), (s.name, before, after)


def test_batching_raises_capacity_and_waits_for_company() -> None:
    p = splitcost.profile("efficientnet")
    one = plan(p, tasks=3, devices=2000, fps=5, link="lte", payload_dtype="int8")
    many = plan(p, tasks=3, devices=2000, fps=5, link="lte", payload_dtype="int8",
                max_batch=16, max_queue_delay="2ms")
    a, b = one.row("MTL-Split"), many.row("MTL-Split")
    assert a.capacity_rps is not None and b.capacity_rps is not None
    assert b.capacity_rps > 10 * a.capacity_rps
    # 10,000 requests/s: a request that finds the server idle waits for company (up to 2 ms).
    assert b.mean_batch is not None and b.mean_batch > 2
    assert b.mean_wait_s is not None
    assert 0 < b.mean_wait_s <= 0.002 + b.groups[0].service_max_batch_s
    assert many.to_dict()["max_queue_delay_s"] == 0.002


def test_a_placement_sizes_each_server_on_its_own() -> None:
    p = splitcost.profile("efficientnet")
    pl = plan(p, tasks=3, devices=2000, fps=5, link="lte", payload_dtype="int8",
              server=["rtx-3090:1,2", "t4:3"], slo="400ms")
    row = pl.row("MTL-Split")
    rtx, t4 = row.groups
    assert (rtx.server, rtx.tasks, t4.server, t4.tasks) == ("rtx-3090", (0, 1), "t4", (2,))
    assert row.servers_needed == (rtx.servers or 0) + (t4.servers or 0)
    # Each group: capacity B / S(B) requests/s, at most the devices its compute allows.
    for g in (rtx, t4):
        assert g.capacity_rps == pytest.approx(1 / g.service_batch1_s)
        assert g.max_devices == min(math.floor(g.capacity_rps / 5),
                                    math.floor(10e9 / (5 * 8 * 62_728)))
    assert row.max_devices_per_server == min(rtx.max_devices or 0, t4.max_devices or 0)
    q = row.latency_percentiles
    assert q is not None and q.p50_s >= row.latency_s - 1e-12
    assert row.servers_for_slo is not None and row.servers_for_slo % 2 == 0  # a pair per set
