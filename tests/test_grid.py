"""Grid pricing (splitcost/pricing/grid.py) against ``compare()``, configuration by
configuration, on random grids (hypothesis).

Oracle: :func:`splitcost.studies.compare.compare_request` on one PricingRequest per
configuration, the path every command prices with. Every figure must be equal, not close.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from splitcost.errors import InputError
from splitcost.hardware.catalog import device_catalog, link_catalog
from splitcost.hardware.encoding import input_encoding, payload_encoding
from splitcost.hardware.link import ideal_link
from splitcost.kinds import MemoryModel, Processes
from splitcost.network.heads import head_profiles
from splitcost.network.profile import Profile
from splitcost.network.profiler import profile
from splitcost.network.tasks import Task
from splitcost.pricing.grid import BINDINGS, GridPrices, price_grid
from splitcost.pricing.request import PricingRequest
from splitcost.studies.compare import compare_request
from splitcost.studies.grid import grid

DEVICES = list(device_catalog([]).devices)
LINKS = list(link_catalog([]).links)
# Devices the catalog does not have: no power figures, a latency band, a cache.
ODD_DEVICES = [
    replace(DEVICES[0], name="no-power", power_active_w=None, power_idle_w=None),
    replace(DEVICES[2], name="with-band", latency_error=0.25),
    replace(DEVICES[4], name="with-cache", cache_bytes=2**20, cache_bandwidth=1e11),
    replace(DEVICES[1], name="tiny", memory_usable=1_500_000_000, runtime_overhead=10**9),
]
STARLINK = next(lk for lk in LINKS if lk.bandwidth_p10_bps)
ODD_LINKS = [ideal_link(3e6), ideal_link(1e9),
             replace(STARLINK, name="p90-only", bandwidth_p10_bps=None),
             replace(STARLINK, name="p10-only", bandwidth_p90_bps=None)]
ALL_DEVICES = DEVICES + ODD_DEVICES
ALL_LINKS = LINKS + ODD_LINKS


@pytest.fixture(scope="module")
def backbones() -> list[Profile]:
    import models  # tests/models.py

    return [profile("mobilenet"), profile("resnet18", batch=2),
            profile(models.LateBranch(), (3, 16, 16), dtype="float16")]


_HEADS: dict[tuple[int, int], Profile] = {}


def heads_for(bb: Profile, tasks: tuple[Task, ...]) -> tuple[Profile, ...]:
    """Each distinct head traced once per backbone for the whole test module."""
    for t in tasks:
        if (id(bb), t.classes) not in _HEADS:
            _HEADS[(id(bb), t.classes)] = head_profiles(bb, [t])[0]
    return tuple(_HEADS[(id(bb), t.classes)] for t in tasks)


def expected(s: Any) -> dict[str, Any]:
    """The row compare() gives for a scenario."""
    return {
        "scenario": s.name, "kind": s.kind.value, "feasible": s.feasible,
        "binding": s.binding.value if s.binding else None,
        "edge_memory_bytes": s.edge_memory_bytes, "server_memory_bytes": s.server_memory_bytes,
        "payload_bytes": s.payload_bytes, "edge_macs": s.edge_macs, "server_macs": s.server_macs,
        "edge_s": s.edge_s, "latency_s": s.transfer.latency_s, "uplink_s": s.transfer.uplink_s,
        "downlink_s": s.transfer.downlink_s, "transfer_s": s.transfer_s,
        "server_s": s.server_s, "total_s": s.total_s, "images_total_s": s.images * s.total_s,
        "energy_j": s.energy.total_j if s.energy else None,
        "band_low_s": s.band.low_s if s.band else None,
        "band_high_s": s.band.high_s if s.band else None,
    }


def check_every_configuration(g: GridPrices, backbones: list[Profile],
                              sets: list[tuple[Task, ...]], devices: list[Any],
                              servers: list[Any], links: list[Any], encodings: list[Any],
                              **options: Any) -> int:
    cuts = options.pop("cuts", ())
    best_cut = options.pop("best_cut", False)
    k = len(g.kinds)
    assert len(g) == g.configurations * k
    assert g.configurations == (len(backbones) * len(sets) * len(devices) * len(servers)
                                * len(links) * len(encodings))
    best = g.best()
    for c in range(g.configurations):
        i = c * k
        bb = backbones[int(g.backbone_index[i])]
        tasks = sets[int(g.task_index[i])]
        pr = PricingRequest(
            bb, heads_for(bb, tasks), devices[int(g.device_index[i])],
            servers[int(g.server_index[i])], links[int(g.link_index[i])], tasks,
            payload=encodings[int(g.payload_index[i])], **options)
        report = compare_request(pr, cuts=cuts, what_if=False, best_cut=best_cut)
        assert len(report.scenarios) == k - best_cut
        for j, s in enumerate(report.scenarios):
            row = g.row(i + j)
            want = expected(s)
            assert {key: row[key] for key in want} == want, (c, s.name)
            assert row["backbone"] == bb.name and row["device"] == pr.device.name
        if best_cut:  # the last row: the fastest module-boundary split that fits
            row = g.row(i + k - 1)
            if report.best_cut is None:
                assert row["scenario"] is None and not row["feasible"]
                assert row["total_s"] is None and row["binding"] is None
            else:
                want = expected(report.best_cut)
                assert {key: row[key] for key in want} == want, (c, "best cut")
        names = [s.name for s in report.scenarios]
        verdict = report.verdict.best
        assert (best[c] == -1) if verdict is None else names[best[c]] == verdict
    return g.configurations


encodings = st.lists(st.sampled_from([
    ("float32", None), ("float16", None), ("bfloat16", None), ("int8", None), ("int8", 4.0),
    ("float32", 2.5)]), min_size=1, max_size=3, unique=True)
task_sets = st.lists(st.lists(st.sampled_from([2, 3, 10, 1000]), min_size=1, max_size=4),
                     min_size=1, max_size=3)


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.lists(st.integers(0, len(ALL_DEVICES) - 1), min_size=1, max_size=3, unique=True),
       st.lists(st.integers(0, len(ALL_DEVICES) - 1), min_size=1, max_size=2, unique=True),
       st.lists(st.integers(0, len(ALL_LINKS) - 1), min_size=1, max_size=3, unique=True),
       task_sets, encodings, st.sampled_from(list(MemoryModel)),
       st.sampled_from(list(Processes)), st.sampled_from(["float32", "uint8", "jpeg:10"]),
       st.integers(1, 100), st.lists(st.integers(0, 2), min_size=1, max_size=2, unique=True),
       st.sampled_from([(), ("output",), ("input",), ("op3",)]), st.booleans())
def test_grid_equals_compare_on_random_grids(
        backbones: list[Profile], device_ids: list[int], server_ids: list[int],
        link_ids: list[int], sets: list[list[int]], encs: list[tuple[str, float | None]],
        memory_model: MemoryModel,
        processes: Processes, input_dtype: str, images: int, which: list[int],
        cuts: tuple[str, ...], best_cut: bool) -> None:
    chosen = [backbones[i] for i in which]
    devices = [ALL_DEVICES[i] for i in device_ids]
    servers = [ALL_DEVICES[i] for i in server_ids]
    links = [ALL_LINKS[i] for i in link_ids]
    tasks = [tuple(Task(c) for c in s) for s in sets]
    payloads = [payload_encoding(d, r) for d, r in encs]
    rgb = input_encoding(input_dtype)
    g = price_grid(chosen, tasks, heads_for, devices, links, payloads, servers=servers,
                   memory_model=memory_model, input=rgb, images=images, processes=processes,
                   cuts=cuts, best_cut=best_cut)
    check_every_configuration(g, chosen, tasks, devices, servers, links, payloads,
                              memory_model=memory_model, input=rgb, images=images,
                              processes=processes, cuts=cuts, best_cut=best_cut)


def test_a_whole_catalog_grid(backbones: list[Profile]) -> None:
    """Every shipped device and link (and the odd ones), three task counts, two encodings."""
    tasks = [tuple(Task(10) for _ in range(n)) for n in (1, 3, 8)]
    payloads = [payload_encoding("float32"), payload_encoding("int8")]
    g = price_grid(backbones[1:2], tasks, heads_for, ALL_DEVICES, ALL_LINKS, payloads,
                   servers=[DEVICES[-2]], best_cut=True)
    n = check_every_configuration(g, backbones[1:2], tasks, ALL_DEVICES, [DEVICES[-2]],
                                  ALL_LINKS, payloads, best_cut=True)
    assert n == 3 * len(ALL_DEVICES) * len(ALL_LINKS) * 2
    assert set(g.binding[g.binding >= 0]) <= set(range(len(BINDINGS)))
    # the grid reaches every branch: misfits, latency bands, energy with and without a radio
    assert (~g.feasible).any() and np.isfinite(g.band_low_s).any()
    assert np.isfinite(g.energy_j).any() and np.isnan(g.energy_j).any()


def test_grid_from_names_equals_compare(backbones: list[Profile]) -> None:
    """The study-level grid(): names, rates, task counts and dtypes, as a planner writes them."""
    g = grid([backbones[0]], devices=["jetson-nano-4gb", "raspberry-pi-4-4gb"],
             links=["lte", "100mbps", 5e6], task_sets=[1, 3, "3,2,3"],
             payloads=["float32", "int8"])
    rows = list(g.rows())
    assert len(rows) == 2 * 3 * 3 * 2 * 4 and rows[0]["link"] == "lte"
    assert {r["tasks"] for r in rows} == {"1", "3", "3,2,3"}
    from splitcost.studies.compare import compare

    r = rows[-1]  # the last configuration's MTL-Split
    want = compare(backbones[0], "3,2,3", device="raspberry-pi-4-4gb", link=5e6,
                   payload_dtype="int8", what_if=False).scenario("MTL-Split")
    assert r["scenario"] == "MTL-Split" and r["total_s"] == want.total_s
    assert r["payload_bytes"] == want.payload_bytes


def test_the_best_cut_is_one_of_the_backbones_cuts(backbones: list[Profile]) -> None:
    """With best_cut, each configuration's last row is the fastest module cut that fits."""
    tasks = [tuple(Task(10) for _ in range(3))]
    g = price_grid(backbones[1:2], tasks, heads_for, DEVICES, LINKS, servers=[DEVICES[-2]],
                   best_cut=True)
    assert g.module_cuts is not None and "layer3" in g.module_cuts[0]
    last = g.scenario_index == len(g.kinds) - 1
    names = {g.scenario_name(i) for i in np.flatnonzero(last)}
    assert names - {None} and all(n is None or n[6:] in g.module_cuts[0] for n in names)
    assert (g.best_cut_index[~last] == -1).all()
    plain, wide = g.best(), g.best(with_best_cut=True)
    assert (plain < len(g.kinds) - 1).all()  # compare's verdict leaves the best cut out
    total = np.where(g.feasible, g.total_s, np.inf).reshape(-1, len(g.kinds))
    slot_wins = total[:, -1] < total[:, :-1].min(axis=1)
    assert ((wide == len(g.kinds) - 1) == slot_wins).all()


def test_arrays_are_plain_and_rows_are_ordered(backbones: list[Profile]) -> None:
    g = grid([backbones[0]], devices=["jetson-nano-4gb"], links=["lte", "wifi5"], task_sets=[3])
    assert g.total_s.dtype == np.float64 and g.feasible.dtype == np.bool_
    assert list(g.link_index) == [0] * 4 + [1] * 4  # scenarios innermost
    assert [r["scenario"] for r in list(g.rows())[:4]] == ["LoC", "MTL-Local", "RoC",
                                                          "MTL-Split"]
    d = g.to_dict()
    assert d["configurations"] == 2 and len(d["rows"]) == 8


@pytest.mark.parametrize(("kwargs", "parameter"), [
    ({"devices": []}, "devices"), ({"links": "nolink"}, "link"),
    ({"task_sets": [0]}, "task_sets"),
    ({"payloads": ["int4"]}, "payload_dtype"), ({"cuts": ["nowhere"]}, "cuts"),
    ({"memory_model": "peak"}, "memory_model"), ({"servers": ["nope"]}, "server"),
])
def test_bad_grid_input_names_the_parameter(backbones: list[Profile], kwargs: dict[str, Any],
                                            parameter: str) -> None:
    with pytest.raises(InputError) as e:
        grid([backbones[0]], **kwargs)
    assert e.value.parameter == parameter
