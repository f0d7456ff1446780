"""Trace ``nn.TransformerEncoderLayer`` as the fast path PyTorch runs on real devices.

In ``eval()`` without autograd, ``TransformerEncoderLayer.forward`` hands the whole layer to one
fused operator, ``torch._transformer_encoder_layer_fwd``, on CPU and CUDA tensors. On meta
tensors its device check refuses the fast path (and the trace's module hooks would too), so the
trace would record the Python slow path instead: a separate copy of the projected Q, K and V,
the L x L attention scores and their softmax alive together, and a ReLU that does not work in
place; for d = 256, L = 1024, batch 4 about twice the real peak.

While a trace runs, :func:`fast_paths` gives each layer that would take the fast path the
forward below, which issues the operators of ATen's ``transformer_encoder_layer_forward`` and
``native_multi_head_attention`` (CPU, no mask, ``need_weights=False``) in their order and with
their allocations: one GEMM for Q, K and V, one biased and rescaled copy of them, the scores,
a softmax in place, the attention written into Q's slot, one contiguous copy of the heads, the
output projection, the residual added in place, and the feed-forward GEMM with its activation
in one kernel. The class of the layer is swapped back when the trace ends. The layers are the
trace's own meta twin, never the user's modules.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F


class TransformerEncoderLayer(nn.TransformerEncoderLayer):
    """An encoder layer traced as its fast path (see the module docstring)."""

    def forward(self, src: torch.Tensor, src_mask: torch.Tensor | None = None,
                src_key_padding_mask: torch.Tensor | None = None,
                is_causal: bool = False) -> torch.Tensor:
        if not _takes_fast_path(self, src, src_mask, src_key_padding_mask):
            return super().forward(src, src_mask, src_key_padding_mask, is_causal)
        return _encoder_layer(self, src)


def _takes_fast_path(layer: nn.TransformerEncoderLayer, src: torch.Tensor,
                     src_mask: torch.Tensor | None, padding: torch.Tensor | None) -> bool:
    """The conditions of ``TransformerEncoderLayer.forward``, but the device and the hooks
    (a real deployment runs on CPU or CUDA, without the trace's hooks), for an unmasked input."""
    attn = layer.self_attn
    return (torch.backends.mha.get_fastpath_enabled() and src.dim() == 3 and not layer.training
            and attn.batch_first and attn.in_proj_bias is not None and attn._qkv_same_embed_dim
            and bool(layer.activation_relu_or_gelu) and layer.norm1.eps == layer.norm2.eps
            and attn.num_heads % 2 == 0 and not torch.is_autocast_enabled()
            and not src.is_nested and src_mask is None and padding is None
            and not (torch.is_grad_enabled() and src.requires_grad))


def _attention(layer: nn.TransformerEncoderLayer, x: torch.Tensor) -> torch.Tensor:
    attn = layer.self_attn
    b, length, d = x.shape
    heads = attn.num_heads
    dh = d // heads
    assert attn.in_proj_weight is not None and attn.in_proj_bias is not None
    qkv = torch.mm(x.reshape(b * length, d), attn.in_proj_weight.t()).view(b, length, 3 * d)
    # _transform_bias_rescale_qkv: (3, B, heads, L, dh), biased, Q scaled by 1/sqrt(dh)
    qkv_t = qkv.view(b, length, 3, heads, dh).permute(2, 0, 3, 1, 4).contiguous()
    del qkv
    qkv_t.add_(attn.in_proj_bias.view(3, 1, heads, 1, dh))
    q = qkv_t[0].reshape(b * heads, length, dh)
    q.mul_(1.0 / math.sqrt(dh))
    k = qkv_t[1].reshape(b * heads, length, dh)
    v = qkv_t[2].reshape(b * heads, length, dh)
    scores = torch.bmm(q, k.transpose(1, 2))
    torch.ops.aten._softmax.out(scores, -1, False, out=scores)
    torch.bmm(scores, v, out=q)
    del scores
    heads_out = q.view(b, heads, length, dh).permute(0, 2, 1, 3).contiguous()
    out = torch.addmm(attn.out_proj.bias, heads_out.view(b * length, d), attn.out_proj.weight.t())
    del heads_out, qkv_t
    return out.view(b, length, d)


def _encoder_layer(layer: nn.TransformerEncoderLayer, src: torch.Tensor) -> torch.Tensor:
    d = src.shape[-1]
    norm1, norm2 = layer.norm1, layer.norm2
    x = src
    if layer.norm_first:
        x = F.layer_norm(x, (d,), norm1.weight, norm1.bias, norm1.eps)
    x = _attention(layer, x)
    x.add_(src)
    if not layer.norm_first:
        x = F.layer_norm(x, (d,), norm1.weight, norm1.bias, norm1.eps)
    residual = x
    if layer.norm_first:
        x = F.layer_norm(x, (d,), norm2.weight, norm2.bias, norm2.eps)
    hidden = torch._addmm_activation(layer.linear1.bias, x.reshape(-1, d), layer.linear1.weight.t(),
                                     use_gelu=layer.activation_relu_or_gelu == 2)
    y = torch.addmm(layer.linear2.bias, hidden, layer.linear2.weight.t()).view(src.shape)
    del hidden
    y.add_(residual)
    if not layer.norm_first:
        y = F.layer_norm(y, (d,), norm2.weight, norm2.bias, norm2.eps)
    return y


@contextlib.contextmanager
def fast_paths(model: nn.Module) -> Iterator[None]:
    """While active, every ``nn.TransformerEncoderLayer`` of ``model`` (exactly that class)
    traces as its fast path; the classes are restored on exit, whatever happens."""
    swapped: list[tuple[nn.Module, Any]] = []
    try:
        for m in model.modules():
            if type(m) is nn.TransformerEncoderLayer:
                swapped.append((m, m.__class__))
                m.__class__ = TransformerEncoderLayer
        yield
    finally:
        for m, cls in swapped:
            m.__class__ = cls
