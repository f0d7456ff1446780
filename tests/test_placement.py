"""Heads on several servers, by hand: what each server receives, runs and holds, how the payload
fans out (a copy each, or one relayed), and the completion as the slowest server."""

from __future__ import annotations

from typing import Any

import pytest

import splitcost
from splitcost.errors import InputError
from splitcost.hardware.catalog import load_device, load_link
from splitcost.hardware.roofline import compute_time
from splitcost.kinds import ConstraintKind
from splitcost.pricing.request import op_work
from splitcost.studies.compare import compare

PLACED = ["rtx-3090:1,2", "t4:3"]


@pytest.fixture(scope="module")
def effnet() -> Any:
    return splitcost.profile("efficientnet")


@pytest.fixture(scope="module")
def single(effnet: Any) -> Any:
    return compare(effnet, tasks=3, link="lte", payload_dtype="int8", cuts=["4"],
                   what_if=False)


def test_unicast_sends_a_copy_to_each_server(effnet: Any, single: Any) -> None:
    r = compare(effnet, tasks=3, link="lte", payload_dtype="int8", server=PLACED,
                cuts=["4"], what_if=False)
    one, two = single.scenario("MTL-Split"), r.scenario("MTL-Split")
    assert two.payload_bytes == 2 * one.payload_bytes
    assert two.transfer.uplink_s == pytest.approx(2 * one.transfer.uplink_s)
    assert two.fan_out == "unicast"
    rtx, t4 = two.servers
    assert (rtx.device, rtx.tasks, t4.device, t4.tasks) == ("rtx-3090", (0, 1), "t4", (2,))
    heads = r.heads
    # The heads alone run on the servers of MTL-Split: two on the RTX 3090, one on the T4.
    assert rtx.compute_s == pytest.approx(sum(single.request.times.heads_server[:2]))
    t4_device = load_device("t4")
    assert t4.compute_s == pytest.approx(compute_time(op_work(heads[2]), t4_device, "fp32"))
    assert two.server_s == max(rtx.compute_s, t4.compute_s)
    assert two.total_s == pytest.approx(two.edge_s + two.transfer.total_s + two.server_s)
    # Each server holds its runtime and its heads' weights.
    assert rtx.memory.params_bytes == heads[0].param_bytes + heads[1].param_bytes
    assert t4.memory.params_bytes == heads[2].param_bytes
    assert t4.memory.runtime_overhead_bytes == t4_device.runtime_overhead
    memory = [c for c in two.constraints if c.kind is ConstraintKind.SERVER_MEMORY]
    assert [(c.device, c.available) for c in memory] == [
        ("rtx-3090", load_device("rtx-3090").memory_usable), ("t4", t4_device.memory_usable)]
    # The edge radio pays for both copies.
    assert one.energy is not None and two.energy is not None
    assert two.energy.radio_j > 1.9 * one.energy.radio_j


def test_relay_sends_one_copy_and_forwards(effnet: Any, single: Any) -> None:
    r = compare(effnet, tasks=3, link="lte", payload_dtype="int8", server=PLACED,
                fan_out="relay", cuts=["4"], what_if=False)
    one, two = single.scenario("MTL-Split"), r.scenario("MTL-Split")
    assert two.payload_bytes == one.payload_bytes
    assert two.transfer == one.transfer
    rtx, t4 = two.servers
    lan = load_link("ethernet-10g")
    assert rtx.forward_s == 0.0
    assert t4.forward_s == pytest.approx(lan.rtt_s / 2 + t4.payload_bytes * 8 / lan.goodput_bps)
    assert two.server_s == max(rtx.compute_s, t4.forward_s + t4.compute_s)
    assert r.request.to_dict()["placement"] == {
        "servers": [{"server": "rtx-3090", "tasks": [1, 2]}, {"server": "t4", "tasks": [3]}],
        "fan_out": "relay", "relay_link": "ethernet-10g"}


def test_each_server_runs_the_trunk_after_the_cut(effnet: Any, single: Any) -> None:
    r = compare(effnet, tasks=3, link="lte", payload_dtype="int8", server=PLACED,
                cuts=["4"], what_if=False)
    one, two = single.scenario("Split@4"), r.scenario("Split@4")
    rest = next(c for c in effnet.cuts() if c.name == "4").server_macs
    heads = sum(h.macs for h in r.heads)
    assert one.server_macs == rest + heads
    assert two.server_macs == 2 * rest + heads  # the rest of the backbone on each server
    assert sum(x.macs for x in two.servers) == two.server_macs


def test_a_branch_past_the_cut_sends_each_server_its_tasks(effnet: Any) -> None:
    """Branch at the input, the cut at block 4: one tensor per task, each server gets only
    those of its own tasks."""
    r = compare(effnet, tasks=3, link="lte", payload_dtype="float32", server=PLACED,
                branch="input", cuts=["4"], what_if=False)
    s = r.scenario("Split@4")
    per_task = next(c for c in effnet.cuts() if c.name == "4").payload_bytes
    rtx, t4 = s.servers
    assert (rtx.payload_bytes, t4.payload_bytes) == (2 * per_task, per_task)
    assert s.payload_bytes == 3 * per_task


@pytest.mark.parametrize(("server", "words"), [
    (["rtx-3090:1,4", "t4:2,3"], "task 4 does not exist"),
    (["rtx-3090:1,2", "t4:2,3"], "task 2 is placed on two servers"),
    (["rtx-3090:1", "t4:3"], "task 2 is on no server"),
    (["rtx-3090:1,2", "t4"], "t4 names none"),
    (["rtx-3090:1,1,2,3"], "names a task twice"),
    ("rtx-3090:1", "one server runs every task"),
    ([], "expected a server name"),
])
def test_bad_placements(effnet: Any, server: object, words: str) -> None:
    with pytest.raises(InputError) as e:
        compare(effnet, tasks=3, server=server)  # type: ignore[arg-type]
    assert e.value.parameter == "server" and words in e.value.message


def test_one_server_naming_every_task_is_no_placement(effnet: Any) -> None:
    a = compare(effnet, tasks=3, server="rtx-3090:1,2,3", what_if=False)
    b = compare(effnet, tasks=3, what_if=False)
    assert a.request.placement is None
    assert [s.to_dict() for s in a.scenarios] == [s.to_dict() for s in b.scenarios]
