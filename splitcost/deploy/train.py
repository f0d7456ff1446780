"""Training and fine-tuning as in the paper (MTL-Split, Sec. 3.2-3.3).

The total loss is the sum of the task losses (Eq. 4), one cross-entropy per head. Fine-tuning
updates the heads with learning rate ``alpha`` (Eq. 5) and the shared backbone with a much
smaller ``eta`` (Eq. 6), or keeps the backbone fixed. A frozen backbone is left out of the
optimizer and run in eval mode without autograd, so that nothing of it changes: not its weights,
not its batch-norm statistics (and no time is spent on its gradients).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from splitcost.deploy.mtl import MTLNet
from splitcost.errors import InputError


def total_loss(outputs: Sequence[torch.Tensor], labels: Sequence[torch.Tensor]
               ) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """``L_total = sum_j L_j`` (Eq. 4), with ``L_j`` the cross-entropy of head j."""
    if len(outputs) != len(labels):
        raise InputError(f"{len(outputs)} task outputs but {len(labels)} label sets")
    losses = [F.cross_entropy(o, y) for o, y in zip(outputs, labels, strict=True)]
    return torch.stack(losses).sum(), losses


def param_groups(net: MTLNet, alpha: float, eta: float, freeze_backbone: bool = False
                 ) -> list[dict[str, Any]]:
    """Optimizer groups: the heads at ``alpha`` (Eq. 5), the backbone at ``eta`` (Eq. 6) or,
    frozen, in no group at all. Only parameters that require gradients are included."""
    if alpha <= 0 or eta < 0:
        raise InputError(f"learning rates must be positive (alpha {alpha:g}, eta {eta:g})")
    if eta > alpha:
        raise InputError(f"eta ({eta:g}) must not exceed alpha ({alpha:g}): the paper updates "
                         "the shared backbone conservatively (Eq. 6)")
    heads = [p for p in net.heads.parameters() if p.requires_grad]
    groups: list[dict[str, Any]] = [{"params": heads, "lr": alpha, "name": "heads"}]
    if not freeze_backbone:
        backbone = [p for p in net.backbone.parameters() if p.requires_grad]
        groups.append({"params": backbone, "lr": eta, "name": "backbone"})
    return groups


def backbone_frozen(net: MTLNet, optimizer: torch.optim.Optimizer) -> bool:
    """True when no backbone parameter is in the optimizer (``freeze_backbone=True``)."""
    held = {id(p) for g in optimizer.param_groups for p in g["params"]}
    return not any(id(p) in held for p in net.backbone.parameters())


def train_step(net: MTLNet, optimizer: torch.optim.Optimizer, x: torch.Tensor,
               labels: Sequence[torch.Tensor]) -> list[float]:
    """One step on the total loss; the per-task losses as floats."""
    net.train()
    frozen = backbone_frozen(net, optimizer)
    if frozen:
        net.backbone.eval()
        with torch.no_grad():
            z = net.backbone(x)
        flat = torch.flatten(z, 1)
        outputs = [head(flat) for head in net.heads]
    else:
        outputs = net(x)
    loss, losses = total_loss(outputs, labels)
    optimizer.zero_grad(set_to_none=True)
    torch.autograd.backward(loss)
    optimizer.step()
    return [float(v.detach()) for v in losses]


@torch.no_grad()
def accuracy(net: nn.Module, x: torch.Tensor, labels: Sequence[torch.Tensor],
             batch: int = 256) -> list[float]:
    """Per-task accuracy in eval mode (the network's mode is restored afterwards)."""
    was = net.training
    net.eval()
    correct = [0] * len(labels)
    try:
        for i in range(0, len(x), batch):
            outputs = net(x[i:i + batch])
            for j, (o, y) in enumerate(zip(outputs, labels, strict=True)):
                correct[j] += int((o.argmax(1) == y[i:i + batch]).sum())
    finally:
        net.train(was)
    return [c / max(len(x), 1) for c in correct]
