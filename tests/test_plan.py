"""Fleet planning, break-even and energy, by hand on round numbers."""

from __future__ import annotations

import pytest

from splitcost.hardware.link import RadioEnergy, ideal_link
from splitcost.hardware.transfer import NO_TRANSFER, Transfer
from splitcost.kinds import ConstraintKind, MemoryModel, ScenarioKind
from splitcost.pricing.breakeven import scenario_flips
from splitcost.pricing.energy import edge_energy
from splitcost.pricing.memory import MemoryBreakdown, MemoryLayout
from splitcost.pricing.scenarios import Constraint, Scenario
from splitcost.studies.plan import fleet_row

GB = 10**9


def _memory(total: int, activations: int = 0) -> MemoryBreakdown:
    return MemoryBreakdown(MemoryModel.INFERENCE, MemoryLayout.EDGE_PART, 1, 0,
                           total - activations, 0, activations, total)


def _remote(name: str = "MTL-Split", edge_s: float = 0.1, server_s: float = 0.01,
            payload: int = 125_000, bps: float = 10e6, rtt: float = 0.0) -> Scenario:
    up = payload * 8 / bps
    return Scenario(
        name, ScenarioKind.MTL_SPLIT, "output", True, ConstraintKind.SERVER_MEMORY,
        (Constraint(ConstraintKind.EDGE_MEMORY, 1 * GB, 2 * GB, "B"),
         Constraint(ConstraintKind.SERVER_MEMORY, 2 * GB, 20 * GB, "B")),
        _memory(1 * GB), _memory(2 * GB, activations=GB // 10), payload, "float32", (),
        Transfer(rtt, up, 0.0, payload, 0), 0, 0, edge_s, server_s,
    )


def _local(total_s: float = 0.2) -> Scenario:
    return Scenario("MTL-Local", ScenarioKind.MTL_LOCAL, None, True, ConstraintKind.EDGE_MEMORY,
                    (Constraint(ConstraintKind.EDGE_MEMORY, 1 * GB, 2 * GB, "B"),),
                    _memory(1 * GB), None,
                    0, "", (), NO_TRANSFER, 0, 0, total_s, 0.0)


def test_fleet_arithmetic_by_hand() -> None:
    # 1 Mbit per inference at 2/s over 10 Mbit/s; 10 ms of server compute per inference.
    row = fleet_row(_remote(), devices=120, fps=2, ingress_bps=1e9, goodput_bps=10e6,
                    concurrency=1)
    assert row.edge_utilisation == pytest.approx(2 * 0.1)
    assert row.uplink_utilisation == pytest.approx(2 * 1e6 / 10e6)
    assert row.pipelined_fps == pytest.approx(1 / 0.1)  # edge and uplink both take 100 ms
    assert row.server_load_per_device == pytest.approx(2 * 0.01)
    assert row.server_utilisation == pytest.approx(120 * 0.02)
    assert row.ingress_bps == pytest.approx(120 * 2e6)
    # one server: 1 / 0.02 = 50 devices by compute, 1e9 / 2e6 = 500 by ingress
    assert row.max_devices_per_server == 50 and row.binding == "server compute"
    assert row.servers_needed == 3  # ceil(120 / 50)
    assert row.device_ok


def test_fleet_ingress_binds_and_concurrency_adds_activations() -> None:
    row = fleet_row(_remote(), devices=100, fps=2, ingress_bps=20e6, goodput_bps=10e6,
                    concurrency=3)
    assert row.max_devices_per_server == 10 and row.binding == "server ingress"
    assert row.servers_needed == 10
    assert row.server_memory_bytes == 2 * GB + 2 * (GB // 10)


def test_a_device_that_cannot_keep_up() -> None:
    row = fleet_row(_remote(payload=1_250_000), devices=10, fps=2, ingress_bps=1e9,
                    goodput_bps=10e6, concurrency=1)
    assert row.uplink_utilisation == pytest.approx(2.0)
    assert not row.device_ok and row.binding == "uplink"


def test_no_server_for_local_scenarios() -> None:
    row = fleet_row(_local(), devices=500, fps=4, ingress_bps=1e9, goodput_bps=10e6,
                    concurrency=1)
    assert row.servers_needed == 0 and row.edge_utilisation == pytest.approx(0.8)


def test_bandwidth_and_rtt_breakeven_by_hand() -> None:
    link = ideal_link(10e6)
    remote = _remote(edge_s=0.04, server_s=0.01)  # 0.05 s + 1 Mbit / bandwidth
    local = _local(0.2)
    flips = scenario_flips(remote, [local], link)
    bandwidth = next(f for f in flips if f.parameter == "bandwidth")
    # 0.05 + 1e6 / B = 0.2  ->  B = 1e6 / 0.15
    assert bandwidth.value == pytest.approx(1e6 / 0.15)
    assert (bandwidth.winner, bandwidth.direction) == ("MTL-Local", "below")
    rtt = next(f for f in flips if f.parameter == "rtt")
    assert rtt.value == pytest.approx(0.2 - 0.15) and rtt.direction == "above"


def test_edge_energy_by_hand() -> None:
    from dataclasses import replace

    from splitcost.hardware.catalog import load_device

    device = replace(load_device("jetson-nano-4gb"), power_active_w=10.0, power_idle_w=2.0)
    link = replace(ideal_link(10e6), energy=RadioEnergy(100e-9, 1.0, 5.0))
    xfer = Transfer(0.0, 0.1, 0.0, 125_000, 0)
    e = edge_energy(device, link, edge_s=0.05, server_s=0.01, xfer=xfer)
    assert e is not None
    assert e.compute_j == pytest.approx(10 * 0.05)
    assert e.idle_j == pytest.approx(2 * (0.1 + 0.01))
    assert e.radio_j == pytest.approx(100e-9 * 1e6 + 1.0 * 0.1)
    assert e.tail_j == 5.0
    assert e.total_j == pytest.approx(0.5 + 0.22 + 0.2)
