"""Payloads and labels of backbones that return several tensors, or one storage several times:
per-tensor labels, bytes once per storage, against a real CPU run of the same module."""

from __future__ import annotations

import torch
from models import Aliased, TwoInputs, TwoSlices
from torch.utils._pytree import tree_flatten

import splitcost
from splitcost.render.views.profile import zb_line


def _real_outputs(model: torch.nn.Module, *xs: torch.Tensor) -> list[torch.Tensor]:
    with torch.no_grad():
        out = model.eval()(*xs)
    return [t for t in tree_flatten(out)[0] if isinstance(t, torch.Tensor)]


def _unique_storage_bytes(tensors: list[torch.Tensor]) -> int:
    """The oracle: each storage's bytes once, as a real run allocated them."""
    seen: dict[int, int] = {}
    for t in tensors:
        seen[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
    return sum(seen.values())


def test_aliased_outputs_cross_once() -> None:
    model = Aliased()
    real = _real_outputs(model, torch.randn(1, 3, 32, 32))
    assert len({t.untyped_storage().data_ptr() for t in real}) == 1
    p = splitcost.profile(model, (3, 32, 32))
    assert p.zb_bytes == _unique_storage_bytes(real) == 65_536  # not 196,608
    assert [t.shape for t in p.zb_tensors] == [tuple(t.shape) for t in real]
    assert [t.shares_with for t in p.zb_tensors] == [None, 0, 0]
    r = splitcost.compare(p, tasks=2)
    assert r.scenario("MTL-Split").payload_bytes == 65_536
    line = zb_line(p)
    assert "3 tensors on 1 storage = 65,536 bytes" in line and "1x16384" in line


def test_disjoint_slices_and_a_transposed_view() -> None:
    model = TwoSlices()
    real = _real_outputs(model, torch.randn(2, 8))
    p = splitcost.profile(model, (8,), batch=2)
    # the halves cover the storage once between them; the transposed view is the same bytes
    # again, counted once more at most: never above the storage itself
    assert p.zb_bytes == _unique_storage_bytes(real) == 2 * 8 * 4
    assert [t.shape for t in p.zb_tensors] == [(2, 4), (2, 4), (8, 2)]


def test_fpn_backbone_labels_every_feature_map() -> None:
    """The issue's case: a detection backbone's feature maps, each labelled, bytes summed."""
    import torchvision

    torch.manual_seed(0)
    net = torchvision.models.detection.fasterrcnn_mobilenet_v3_large_fpn(
        weights=None, weights_backbone=None).backbone
    real = _real_outputs(net, torch.randn(1, 3, 320, 320))
    p = splitcost.profile("fasterrcnn_mobilenet_v3_large_fpn", (3, 320, 320))
    assert [t.shape for t in p.zb_tensors] == [tuple(t.shape) for t in real]
    assert [t.nbytes for t in p.zb_tensors] == [t.numel() * 4 for t in real]
    assert p.zb_bytes == _unique_storage_bytes(real)
    assert p.params == sum(q.numel() for q in net.parameters())
    line = zb_line(p)
    for t in real:
        assert f"{'x'.join(map(str, t.shape))} float32 ({t.numel() * 4:,} B)" in line


def test_two_inputs() -> None:
    model = TwoInputs()
    image, tokens = torch.randn(2, 3, 8, 8), torch.randint(0, 100, (2, 5))
    real = _real_outputs(model, image, tokens)
    p = splitcost.profile(model, "3x8x8,5:int64", batch=2)
    assert p.zb_shape == tuple(real[0].shape)
    assert p.input_bytes == image.nbytes + tokens.nbytes
    assert [(i.shape, i.dtype) for i in p.input.all] == [((3, 8, 8), "float32"), ((5,), "int64")]
    # conv: 4 output channels x 4x4 positions x 27 MACs each, per sample; the embedding none
    assert p.macs == 2 * 4 * 4 * 4 * 27
