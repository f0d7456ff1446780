"""Each side's memory at a cut against a real run of the split network's halves on CPU.

The halves are splitcost.deploy.mtl's torch.fx modules, run on real tensors under the
allocator-event oracle (tests/oracles/alloc_tracker.py). A generated fx module drops each value
after its last use, while the eager modules splitcost models keep a block's input until the block
returns (nn.Sequential's loop variable): the prediction is an upper bound of the fx halves' peak
and, on these networks, within 10% of it.
"""

from __future__ import annotations

import warnings

import pytest
import torch
from oracles.alloc_tracker import measure

from splitcost.deploy.mtl import build_mtl
from splitcost.network.cuts import find_cut
from splitcost.network.profiler import profile

CASES = [("resnet18", "layer1.0.conv1"), ("resnet18", "layer3"), ("mobilenet", "3"),
         ("efficientnet", "5")]


@pytest.mark.parametrize(("name", "cut"), CASES, ids=[f"{n}@{c}" for n, c in CASES])
def test_each_side_of_a_cut(name: str, cut: str) -> None:
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        halves = build_mtl(name, 2).eval().split(cut)
    predicted = find_cut(profile(name).trace, cut)
    x = torch.zeros(1, 3, 224, 224)
    edge = measure(halves.edge, x).activation_peak
    assert edge <= predicted.edge_peak_bytes <= 1.10 * edge
    with torch.no_grad():
        sent = halves.edge(x)
    received = list(sent) if isinstance(sent, tuple) else [sent]
    assert sum(t.untyped_storage().nbytes() for t in received) == predicted.payload_bytes
    # The server half holds what it received; its measured peak includes the two heads, which
    # run after the rest of the backbone on a Z_b smaller than these peaks.
    server = measure(lambda _: halves.server(*received), torch.zeros(1)).activation_peak
    server += sum(t.untyped_storage().nbytes() for t in received) - 4  # held before the run
    assert server <= 1.10 * predicted.server_peak_bytes
    assert predicted.server_peak_bytes <= 1.10 * server
