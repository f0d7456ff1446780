"""The Profile: figures derived by hand, and the invariants between its columns and totals."""

from __future__ import annotations

import pytest
import torch
from models import DataDependent, LateBranch, NoMetaKernel, Residual, chain

from splitcost.errors import InputError
from splitcost.network.liveness import crossing, payload_curve
from splitcost.network.profiler import profile
from splitcost.studies.compare import compare


def test_chain_by_hand() -> None:
    p = profile(chain(), (3, 8, 8))
    assert p.params == (4 * 3 * 9 + 4) + (2 * 4 + 2)
    assert p.macs == 4 * 64 * 3 * 9 + 2 * 64 * 4
    assert p.flops == 2 * p.macs
    assert p.input_bytes == 3 * 64 * 4
    assert (p.zb_shape, p.zb_bytes) == ((1, 2, 8, 8), 512)
    # Eager execution: the caller holds the input; nn.Sequential holds each child's input until
    # the child returns. Peak during the ReLU: input 768 + conv1 out 1024 + relu out 1024.
    inf = p.memory.inference
    assert inf.peak_activation_bytes == 768 + 1024 + 1024
    assert inf.peak_module == "1"
    assert inf.params_bytes == 4 * p.params
    payloads = {m.path: m.payload_bytes for m in p.modules}
    assert payloads == {"0": 1024, "1": 1024, "2": 512}


def test_a_cut_inside_a_residual_block_carries_the_skip_tensor() -> None:
    p = profile(Residual(), (3, 8, 8))
    conv1 = next(m for m in p.modules if m.path == "conv1")
    assert conv1.payload_bytes == 4 * 64 * 4 + 3 * 64 * 4  # conv1's output and x
    after = crossing(p.trace, conv1.end - 1)
    assert sorted(c.nbytes for c in after) == [768, 1024]
    assert payload_curve(p.trace)[-1] == p.zb_bytes == 3 * 64 * 4


def test_a_late_branch_crosses_every_cut_in_between() -> None:
    p = profile(LateBranch(), (3, 8, 8))
    branch_bytes = 2 * 64 * 4
    for m in p.modules:
        if m.path.startswith("body."):
            assert m.payload_bytes == 8 * 64 * 4 + branch_bytes, m.path


def test_efficientnet_zb_and_input() -> None:
    p = profile("efficientnet")
    assert p.zb_shape == (1, 1280, 7, 7)
    assert p.zb_bytes == 1280 * 7 * 7 * 4 == 250_880
    assert p.input_bytes == 3 * 224 * 224 * 4 == 602_112
    assert p.params == 4_007_548
    assert p.backbone.name == "efficientnet_b0"


def test_paper_aliases() -> None:
    assert profile("vgg").backbone.name == "vgg16"
    assert profile("mobilenetv3").backbone.name == "mobilenet_v3_small"
    assert profile("vgg").zb_shape == (1, 512, 7, 7)


def test_column_sums_equal_totals() -> None:
    for name in ("efficientnet", "resnet18", "vgg16"):
        p = profile(name)
        top = [m for m in p.modules if m.depth == 1]
        assert sum(m.macs for m in top) == p.macs
        assert sum(m.params for m in top) == p.params


def test_whole_model_adds_the_classifier() -> None:
    backbone = profile("resnet50")
    whole = profile("resnet50", whole=True)
    assert whole.macs - backbone.macs == 2048 * 1000
    assert whole.params - backbone.params == 2048 * 1000 + 1000


def test_batch_scales_activations_not_parameters() -> None:
    one, eight = profile("mobilenet"), profile("mobilenet", batch=8)
    assert eight.macs == 8 * one.macs
    assert eight.zb_bytes == 8 * one.zb_bytes
    assert eight.param_bytes == one.param_bytes


def test_heads_by_hand() -> None:
    r = compare(profile("efficientnet"), "3,2,3")
    features = 1280 * 7 * 7
    for head, classes in zip(r.heads, (3, 2, 3), strict=True):
        assert head.params == features * 256 + 256 + 256 * classes + classes
        assert head.macs == features * 256 + 256 * classes
        assert head.zb_bytes == classes * 4


def test_the_users_model_is_left_alone() -> None:
    model = chain().train()
    before = [p.detach().clone() for p in model.parameters()]
    profile(model, (3, 8, 8))
    assert model.training
    assert all(p.device.type == "cpu" for p in model.parameters())
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
    assert not model._forward_hooks and not model._forward_pre_hooks


def test_operator_without_meta_kernel_falls_back_to_cpu_and_says_so() -> None:
    p = profile(NoMetaKernel(), (4,))
    assert p.fallback_ops == ("splitcost_test.twice",)
    assert p.macs == 4 * 4


def test_data_dependent_control_flow_is_named() -> None:
    with pytest.raises(InputError, match=r"aten\._local_scalar_dense.*reads tensor values|reads "
                       r"tensor values \(aten\._local_scalar_dense"):
        profile(DataDependent(), (4,))


def test_input_that_does_not_fit_the_backbone() -> None:
    with pytest.raises(InputError, match="takes one image per sample as CxHxW"):
        profile("efficientnet", (3, 224))
    with pytest.raises(InputError, match="smallest square input that works is 3x32x32"):
        profile("vgg16", (3, 16, 16))


def test_vgg16_faces_resolution_batch_32_on_meta() -> None:
    p = profile("vgg16", (3, 2835, 3543), batch=32)
    assert p.zb_shape == (32, 512, 2835 // 32, 3543 // 32)
    assert p.input_bytes == 32 * 3 * 2835 * 3543 * 4


def test_training_memory_by_hand() -> None:
    from torch import nn

    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    p = profile(model, (4,), batch=3, training=True, optimizer="adamw")
    tr = p.memory.training
    params = 4 * ((4 * 8 + 8) + (8 * 2 + 2))
    # autograd saves the first Linear's input (3x4 floats) and the ReLU's output (3x8 floats),
    # which the second Linear saves too (the same storage); weights are parameters, not saved.
    assert tr.saved_activation_bytes == 4 * (3 * 4 + 3 * 8)
    assert (tr.params_bytes, tr.grads_bytes, tr.optimizer_bytes) == (params, params, 2 * params)
    assert tr.total_bytes == 4 * params + tr.saved_activation_bytes
    frozen = profile(model, (4,), batch=3, training=True, optimizer="sgd", frozen=["0"])
    second = 4 * (8 * 2 + 2)
    assert frozen.memory.training.grads_bytes == second
    assert frozen.memory.training.optimizer_bytes == 0
    # nothing before the first trainable layer needs saving except its input (the ReLU output)
    assert frozen.memory.training.saved_activation_bytes == 4 * 3 * 8
    assert all(q.requires_grad for q in model.parameters())


def test_frozen_backbone_saves_nothing() -> None:
    tr = profile("mobilenet", batch=2, training=True, frozen=[""]).memory.training
    assert tr.grads_bytes == tr.optimizer_bytes == tr.saved_activation_bytes == 0
