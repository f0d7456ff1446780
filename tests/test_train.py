"""The paper's training helpers (Eq. 4-6) and the training example's reduced run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from models import Residual

from splitcost.deploy.mtl import MTLNet, build_mtl
from splitcost.deploy.train import accuracy, param_groups, total_loss, train_step
from splitcost.errors import InputError

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "train_shapes.py"


def _net() -> MTLNet:
    torch.manual_seed(0)
    backbone = torch.nn.Sequential(Residual(), torch.nn.BatchNorm2d(3))
    return build_mtl(backbone, [3, 2], hidden=8, input_shape=(3, 8, 8))


def _batch() -> tuple[torch.Tensor, list[torch.Tensor]]:
    g = torch.Generator().manual_seed(1)
    return (torch.randn(6, 3, 8, 8, generator=g),
            [torch.randint(0, 3, (6,), generator=g), torch.randint(0, 2, (6,), generator=g)])


def test_total_loss_is_the_sum_of_task_cross_entropies() -> None:
    outputs = [torch.tensor([[2.0, 0.0, -1.0], [0.0, 1.0, 0.0]]), torch.tensor([[0.5, -0.5]] * 2)]
    labels = [torch.tensor([0, 2]), torch.tensor([1, 0])]
    total, parts = total_loss(outputs, labels)
    # by hand: -log softmax at the label, averaged over the batch, per task
    by_hand = []
    for o, y in zip(outputs, labels, strict=True):
        logp = o - torch.logsumexp(o, dim=1, keepdim=True)
        by_hand.append(-logp[torch.arange(len(y)), y].mean())
    for p, h in zip(parts, by_hand, strict=True):
        torch.testing.assert_close(p, h)
    torch.testing.assert_close(total, by_hand[0] + by_hand[1])
    torch.testing.assert_close(total, F.cross_entropy(outputs[0], labels[0])
                               + F.cross_entropy(outputs[1], labels[1]))


def test_param_groups_learning_rates() -> None:
    net = _net()
    groups = param_groups(net, alpha=1e-2, eta=1e-4)
    assert [(g["name"], g["lr"]) for g in groups] == [("heads", 1e-2), ("backbone", 1e-4)]
    assert {id(p) for p in groups[0]["params"]} == {id(p) for p in net.heads.parameters()}
    assert {id(p) for p in groups[1]["params"]} == {id(p) for p in net.backbone.parameters()}
    frozen = param_groups(net, alpha=1e-2, eta=1e-4, freeze_backbone=True)
    assert [g["name"] for g in frozen] == ["heads"]
    with pytest.raises(InputError, match="must not exceed alpha"):
        param_groups(net, alpha=1e-4, eta=1e-2)


def test_sgd_step_follows_eq_5_and_6() -> None:
    """theta -= alpha * grad (heads), psi -= eta * grad (backbone), grads of the total loss."""
    net = _net()
    x, labels = _batch()
    names = [n for n, _ in net.named_parameters()]
    before = [p.detach().clone() for p in net.parameters()]
    net.train()
    torch.manual_seed(7)  # the same dropout masks here and in train_step
    total, _ = total_loss(net(x), labels)
    grads = torch.autograd.grad(total, list(net.parameters()))
    opt = torch.optim.SGD(param_groups(net, alpha=0.1, eta=0.001))
    torch.manual_seed(7)
    train_step(net, opt, x, labels)
    for name, p, p0, g in zip(names, net.parameters(), before, grads, strict=True):
        lr = 0.1 if name.startswith("heads.") else 0.001
        torch.testing.assert_close(p.detach(), p0 - lr * g)


def test_frozen_backbone_gets_no_update() -> None:
    net = _net()
    x, labels = _batch()
    opt = torch.optim.Adam(param_groups(net, alpha=1e-2, eta=1e-4, freeze_backbone=True))
    backbone = {k: v.clone() for k, v in net.backbone.state_dict().items()}
    heads = {k: v.clone() for k, v in net.heads.state_dict().items()}
    losses = [train_step(net, opt, x, labels) for _ in range(3)]
    assert len(losses[0]) == 2 and all(v > 0 for v in losses[0])
    for k, v in net.backbone.state_dict().items():  # weights and batch-norm statistics
        assert torch.equal(v, backbone[k]), k
    assert all(p.grad is None for p in net.backbone.parameters())
    assert any(not torch.equal(v, heads[k]) for k, v in net.heads.state_dict().items())


def test_unfrozen_backbone_is_updated() -> None:
    net = _net()
    x, labels = _batch()
    opt = torch.optim.Adam(param_groups(net, alpha=1e-2, eta=1e-3))
    before = {k: v.clone() for k, v in net.backbone.state_dict().items()}
    train_step(net, opt, x, labels)
    assert any(not torch.equal(v, before[k]) for k, v in net.backbone.state_dict().items())


def test_accuracy_per_task_and_mode_restored() -> None:
    net = _net().train()
    x, labels = _batch()
    acc = accuracy(net, x, labels)
    assert len(acc) == 2 and all(0 <= a <= 1 for a in acc) and net.training


def test_example_quick_run() -> None:
    out = subprocess.run([sys.executable, str(EXAMPLE), "--quick"], capture_output=True,
                         text=True, timeout=120, check=True).stdout
    assert "single-task" in out and "multi-task" in out
    rows = [line.split() for line in out.splitlines() if line.startswith(("shape", "size"))]
    assert [r[0] for r in rows] == ["shape", "size"]
    for r in rows:
        assert all(0 <= float(v) <= 1 for v in r[2:])
