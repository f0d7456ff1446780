"""Training memory: parameters, gradients, optimizer state and the activations autograd saves.

The saved activations are measured, not guessed: one forward pass on meta tensors in training mode
with autograd on, under ``torch.autograd.graph.saved_tensors_hooks``; every storage autograd packs
for the backward pass is counted once (a view of a saved storage adds nothing), parameters and
buffers excluded. A frozen part (``requires_grad=False``, the paper's fine-tuning with a fixed
backbone) saves nothing for itself, has no gradients and no optimizer state.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.multiprocessing.reductions import StorageWeakRef

from splitcost.errors import InputError
from splitcost.network.memory import OPTIMIZER_STATE, TrainingMemory


def _key(t: torch.Tensor) -> int:
    key: int = StorageWeakRef(t.untyped_storage()).cdata  # type: ignore[no-untyped-call]
    return key


def saved_activation_bytes(model: nn.Module, inputs: Sequence[torch.Tensor]) -> int:
    """Distinct storages autograd saves for backward in one training-mode forward pass."""
    state = {_key(t) for t in (*model.parameters(), *model.buffers())}
    saved: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        key = _key(t)
        if key not in state:
            saved[key] = t.untyped_storage().nbytes()
        return t

    def unpack(t: torch.Tensor) -> torch.Tensor:
        return t

    was_training = model.training
    try:
        model.train()
        with torch.enable_grad(), torch.autograd.graph.saved_tensors_hooks(pack, unpack):
            output = model(*inputs)
        del output
    finally:
        model.train(was_training)
    return sum(saved.values())


def training_memory(model: nn.Module, inputs: Sequence[torch.Tensor], optimizer: str = "adamw",
                    frozen: Sequence[str] = ()) -> TrainingMemory:
    """Training memory of ``model`` (meta parameters) on ``inputs`` with ``optimizer``.

    ``frozen`` lists module name prefixes ("" = everything) whose parameters do not train; they
    are frozen only for this measurement and restored afterwards.
    """
    key = optimizer.strip().lower()
    if key not in OPTIMIZER_STATE:
        raise InputError(f"expected one of {', '.join(OPTIMIZER_STATE)}, got "
                         f"{optimizer!r}", parameter="optimizer")
    named = list(model.named_parameters())

    def is_frozen(name: str) -> bool:
        return any(name == f or name.startswith(f"{f}.") or f == "" for f in frozen)

    before = {name: p.requires_grad for name, p in named}
    try:
        for name, p in named:
            p.requires_grad_(p.requires_grad and not is_frozen(name))
        trainable = sum(p.numel() * p.element_size() for _, p in named if p.requires_grad)
        saved = saved_activation_bytes(model, inputs)
    finally:
        for name, p in named:
            p.requires_grad_(before[name])
    params = sum(p.numel() * p.element_size() for _, p in named)
    opt = OPTIMIZER_STATE[key] * trainable
    return TrainingMemory(key, tuple(frozen), params, trainable, opt, saved,
                          params + trainable + opt + saved)
