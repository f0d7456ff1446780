"""Cut names as a torchvision user writes them, allocation-only operators out of the cut list,
and the report pointing to the best cut."""

from __future__ import annotations

from typing import Any

import pytest
import torch
import torchvision

import splitcost
from splitcost.network.cuts import find_cut


@pytest.fixture(scope="module")
def effnet() -> Any:
    return splitcost.profile("efficientnet")


def test_full_module_path_names_the_same_cut(effnet: Any) -> None:
    inner = find_cut(effnet.trace, "6")
    full = find_cut(effnet.trace, "features.6", root=effnet.backbone.root)
    assert full == inner and effnet.backbone.root == "features"
    # The oracle: torchvision's own model run on CPU up to features[6].
    model = torchvision.models.efficientnet_b0().eval()
    with torch.no_grad():
        out = model.features[:7](torch.zeros(1, 3, 224, 224))
    assert full.payload_bytes == out.numel() * out.element_size()
    r = splitcost.compare(effnet, link="lte", cuts=["features.6"])
    assert r.scenario("Split@6").payload_bytes == out.numel() * 4


def test_unknown_full_path_suggests_both_spellings(effnet: Any) -> None:
    with pytest.raises(splitcost.InputError, match=r"closest: features\.6"):
        splitcost.compare(effnet, link="lte", cuts=["features.66"])


def test_every_op_hides_allocation_only_operators(effnet: Any) -> None:
    names = [c.name for c in effnet.cuts(every_op=True)]
    assert not [n for n in names if n.endswith(":empty")]
    empties = [op.index for op in effnet.trace.ops if op.op == "aten.empty"]
    assert empties and all(f"op{k}:empty" not in names for k in empties)
    # Still reachable by name, for whoever asks for one.
    assert find_cut(effnet.trace, f"op{empties[0]}").op == empties[0]


def test_report_names_the_best_cut_on_lte(effnet: Any) -> None:
    r = splitcost.compare(effnet, tasks=3, link="lte")
    sw = splitcost.sweep(effnet, tasks=3, link="lte")
    assert r.best_cut is not None and r.best_cut.cut == sw.best == "6"
    assert r.best_cut.total_s == pytest.approx(sw.best_result.scenario.total_s, rel=1e-12)
    text = splitcost.to_text(r, "table", 200)
    assert "Best cut on this link: '6'" in text and "--cut 6" in text
    # The line is written exactly when the fastest cut beats MTL-Split.
    fast = splitcost.compare(effnet, tasks=3, link="ethernet-10g")
    zb = fast.scenario("MTL-Split")
    line = "Best cut on this link" in splitcost.to_text(fast, "table", 200)
    assert line == (fast.best_cut is not None and fast.best_cut.total_s < zb.total_s)


def test_sweep_names_mtl_local_when_no_cut_meets_the_slo(effnet: Any) -> None:
    # The Nano's eager profile as issue 12 refitted it: MTL-Local 62.2 ms, +/-30%.
    sw = splitcost.sweep(effnet, tasks=3, link="lte", slo_s=0.07)
    assert sw.best is None and sw.local_ok and sw.local.total_s < 0.07
    text = splitcost.to_text(sw, "table", 200)
    assert "MTL-Local (everything on jetson-nano-4gb, no link) meets them: 62.2 ms" in text
    assert "straddles the limit" in text  # 44-82 ms around 70 ms
    assert "Meets" in text
    plain = splitcost.to_text(splitcost.sweep(effnet, tasks=3, link="lte"), "table", 200)
    assert "Meets" not in plain  # no constraint set


def test_objective_column_is_shown(effnet: Any) -> None:
    sw = splitcost.sweep(effnet, tasks=3, link="lte", objective="energy")
    text = splitcost.to_text(sw, "table", 80)
    assert "Edge energy" in text.split("Not shown")[0]
