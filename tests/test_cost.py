"""The cost model, priced by hand on a tiny network with round-number device and link
profiles (peak 1 GFLOP/s, 1 GB/s, efficiencies 1, no per-operator overhead)."""

from __future__ import annotations

from pathlib import Path

import pytest
from models import chain

import splitcost
from splitcost.hardware.catalog import load_device, load_link
from splitcost.network.profiler import profile
from splitcost.studies.compare import compare

FIGURES = ["memory.total", "memory.usable", "memory.runtime_overhead", "memory.bandwidth",
           "compute.fp32", "compute.op_overhead", "compute.efficiency.conv",
           "compute.efficiency.depthwise", "compute.efficiency.matmul",
           "compute.efficiency.elementwise", "compute.efficiency.pool",
           "compute.efficiency.memory"]


def _device(root: Path, name: str, usable: int, overhead: int) -> None:
    sources = "\n".join(f'"{k}" = {{ kind = "estimate", ref = "test" }}' for k in FIGURES)
    (root / "devices").mkdir(parents=True, exist_ok=True)
    (root / "devices" / f"{name}.toml").write_text(f"""
name = "{name}"
title = "test device"
role = "edge"
[memory]
total = {usable * 2}
usable = {usable}
runtime_overhead = {overhead}
bandwidth = "1 GB/s"
[compute]
fp32 = "1 GFLOP/s"
op_overhead = "0 s"
[compute.efficiency]
conv = 1.0
depthwise = 1.0
matmul = 1.0
elementwise = 1.0
pool = 1.0
memory = 1.0
[sources]
{sources}
""")


@pytest.fixture()
def report(tmp_path: Path):  # type: ignore[no-untyped-def]
    _device(tmp_path, "tiny-edge", usable=10_000, overhead=1_000)
    _device(tmp_path, "tiny-server", usable=10**9, overhead=2_000)
    (tmp_path / "links").mkdir()
    (tmp_path / "links" / "slow.toml").write_text(
        'name = "slow"\ntitle = "t"\nbandwidth = "1 Mbit/s"\nrtt = "10 ms"\nefficiency = 0.5\n'
        '[sources]\n"bandwidth" = { kind = "estimate", ref = "test" }\n'
        '"rtt" = { kind = "estimate", ref = "test" }\n'
        '"efficiency" = { kind = "estimate", ref = "test" }\n'
    )
    return compare(
        profile(chain(), (3, 8, 8)), 2,
        device=load_device("tiny-edge", [tmp_path]), server=load_device("tiny-server", [tmp_path]),
        link=load_link("slow", [tmp_path]),
    )


BACKBONE_PARAMS = 4 * ((4 * 3 * 9 + 4) + (2 * 4 + 2))  # bytes
HEAD_PARAMS = 4 * (128 * 256 + 256 + 256 * 10 + 10)
BACKBONE_PEAK = 768 + 1024 + 1024  # input + conv1 out + relu out
HEAD_PEAK = 512 + 1024 + 1024  # Z_b + fc1 out + relu out
HEAD_OUT = 10 * 4


def test_memory_by_hand(report) -> None:  # type: ignore[no-untyped-def]
    loc = report.scenario("LoC").edge_memory
    single_net_peak = max(BACKBONE_PEAK, 768 + HEAD_PEAK)  # the caller holds the input
    assert loc.total_bytes == 1_000 + 2 * BACKBONE_PARAMS + 2 * HEAD_PARAMS + single_net_peak
    local = report.scenario("MTL-Local").edge_memory
    heads_stage = max(HEAD_PEAK, HEAD_PEAK + HEAD_OUT)
    assert local.total_bytes == 1_000 + BACKBONE_PARAMS + 2 * HEAD_PARAMS + max(
        BACKBONE_PEAK, 768 + heads_stage)
    split = report.scenario("MTL-Split")
    assert split.edge_memory.total_bytes == 1_000 + BACKBONE_PARAMS + BACKBONE_PEAK
    assert split.server_memory.total_bytes == 2_000 + 2 * HEAD_PARAMS + heads_stage


def test_feasibility_and_binding(report) -> None:  # type: ignore[no-untyped-def]
    loc, local, roc, split = report.scenarios
    assert not loc.feasible and loc.binding == "edge memory"
    assert not local.feasible
    assert split.feasible and roc.feasible
    assert split.constraints[0].margin == 10_000 - split.edge_memory.total_bytes


def test_transfer_by_hand(report) -> None:  # type: ignore[no-untyped-def]
    split = report.scenario("MTL-Split")
    goodput = 1e6 * 0.5
    assert split.payload_bytes == 512
    assert split.transfer_s == pytest.approx(0.010 + 512 * 8 / goodput + 2 * HEAD_OUT * 8 / goodput)
    roc = report.scenario("RoC")
    assert roc.payload_bytes == 768
    assert roc.transfer_s == pytest.approx(0.010 + 768 * 8 / goodput + 2 * HEAD_OUT * 8 / goodput)
    assert report.scenario("LoC").transfer_s == 0


def test_edge_compute_by_hand(report) -> None:  # type: ignore[no-untyped-def]
    # roofline per operator, peak 1e9 FLOP/s, 1e9 B/s: max(FLOPs, bytes) / 1e9
    conv1 = max(2 * 6912 + 256, 768 + 432 + 16 + 1024)  # MACs x 2 + bias adds; in+w+b+out
    relu = max(256, 1024 + 1024)
    conv2 = max(2 * 512 + 128, 1024 + 32 + 8 + 512)
    split = report.scenario("MTL-Split")
    assert split.edge_s == pytest.approx((conv1 + relu + conv2) / 1e9)


def test_totals_are_the_sum_of_their_parts(report) -> None:  # type: ignore[no-untyped-def]
    for s in report.scenarios:
        assert s.total_s == pytest.approx(s.edge_s + s.transfer_s + s.server_s)
        d = s.to_dict()
        assert d["total_s"] == pytest.approx(d["edge_s"] + d["transfer_s"] + d["server_s"])


def test_verdict_names_the_best_feasible(report) -> None:  # type: ignore[no-untyped-def]
    feasible = [s for s in report.scenarios if s.feasible]
    best = min(feasible, key=lambda s: s.total_s)
    assert report.best == best.name
    text = splitcost.verdict(report)
    assert text.startswith(best.name)
    assert "LoC does not fit tiny-edge" in text


def test_payload_encodings(tmp_path: Path) -> None:
    p = profile("efficientnet")
    r = compare(p, 3, payload_dtype="float16", input_dtype="uint8")
    assert r.scenario("MTL-Split").payload_bytes == 62_720 * 2
    assert r.scenario("RoC").payload_bytes == 150_528
    r = compare(p, 3, payload_dtype="int8", input_dtype="jpeg:10")
    assert r.scenario("MTL-Split").payload_bytes == 62_720 + 8
    assert r.scenario("RoC").payload_bytes == 15_053


def test_images_scale_the_totals() -> None:
    p = profile("efficientnet", (3, 2835, 3543))
    r = compare(p, 3, link="1gbps", images=100)
    roc = r.scenario("RoC")
    assert roc.to_dict()["images_total_s"] == pytest.approx(100 * roc.total_s)
    # The paper's example: 100 FACES inputs as float32 over an ideal 1 Gbit/s link.
    assert roc.transfer.uplink_s * 100 == pytest.approx(100 * 2835 * 3543 * 3 * 4 * 8 / 1e9)
