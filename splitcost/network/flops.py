"""Arithmetic per aten operator, as pure functions of shapes registered in a table.

Conventions (stated in every report): a MAC is one multiply-accumulate in a convolution, linear
layer, matrix product or attention; FLOPs = 2 x MACs for those. Everything else (pointwise,
normalisation, softmax, pooling) is counted separately as ``vector_flops`` with the per-element
factors below, and never mixed into MACs, so that our MACs compare directly with torchvision's
``_ops`` metadata, fvcore and torchinfo. Operators with no formula that are not known to be pure
data movement are reported as unsupported, never silently counted as free.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from math import prod
from typing import Any

import torch
from torch.utils._pytree import tree_flatten

from splitcost.kinds import FusionKind, OpClass
from splitcost.network.records import OpCost

Formula = Callable[[Sequence[Any], Mapping[str, Any], Any], OpCost]
_FORMULAS: dict[str, Formula] = {}


def register(*names: str) -> Callable[[Formula], Formula]:
    """Register ``fn`` as the formula for the aten overload packets ``names``."""

    def wrap(fn: Formula) -> Formula:
        for name in names:
            _FORMULAS[name] = fn
        return fn

    return wrap


def _arg(args: Sequence[Any], kwargs: Mapping[str, Any], pos: int, name: str) -> Any:
    if len(args) > pos:
        return args[pos]
    return kwargs.get(name)


def _shape(t: Any) -> tuple[int, ...]:
    return tuple(int(d) for d in t.shape)


def _out_numel(out: Any) -> int:
    return sum(t.numel() for t in tree_flatten(out)[0] if isinstance(t, torch.Tensor))


def _first_out(out: Any) -> torch.Tensor:
    return next(t for t in tree_flatten(out)[0] if isinstance(t, torch.Tensor))


# --- matrix arithmetic ---------------------------------------------------------------------------


@register("aten.convolution", "aten._convolution", "aten.convolution_overrideable")
def _conv(args: Sequence[Any], kwargs: Mapping[str, Any], out: Any) -> OpCost:
    x, w, bias = args[0], args[1], _arg(args, kwargs, 2, "bias")
    transposed = bool(_arg(args, kwargs, 6, "transposed"))
    groups = int(_arg(args, kwargs, 8, "groups") or 1)
    y = _first_out(out)
    # Each output (input, if transposed) element takes Cin/groups x kernel MACs; the weight's
    # second dimension is already Cin/groups (Cout/groups when transposed).
    positions = x.numel() if transposed else y.numel()
    macs = positions * int(w.shape[1]) * prod(_shape(w)[2:])
    vector = y.numel() if bias is not None else 0
    return OpCost(macs, vector, conv_class(_shape(w), groups, transposed),
                  fusion=FusionKind.ANCHOR)


def conv_class(weight: tuple[int, ...], groups: int, transposed: bool = False) -> OpClass:
    """Dense 1x1 (a GEMM over the pixels), dense spatial, grouped, or depthwise: each runs
    different kernels at a different fraction of peak. ``weight`` is the conv weight's shape
    (out, in / groups, *kernel)."""
    if groups > 1:
        per_group = weight[0] if transposed else weight[1]
        return OpClass.DEPTHWISE if per_group == 1 else OpClass.GROUPED
    if not transposed and all(k == 1 for k in weight[2:]):
        return OpClass.POINTWISE
    return OpClass.CONV


@register("aten.mm")
def _mm(args: Sequence[Any], kwargs: Mapping[str, Any], out: Any) -> OpCost:
    a, b = args[0], args[1]
    return OpCost(int(a.shape[0]) * int(a.shape[1]) * int(b.shape[1]), 0, OpClass.MATMUL,
                  fusion=FusionKind.ANCHOR)


@register("aten.addmm", "aten._addmm_activation")
def _addmm(args: Sequence[Any], kwargs: Mapping[str, Any], out: Any) -> OpCost:
    a, b = args[1], args[2]
    m, k, n = int(a.shape[0]), int(a.shape[1]), int(b.shape[1])
    return OpCost(m * k * n, m * n, OpClass.MATMUL, fusion=FusionKind.ANCHOR)


@register("aten.bmm")
def _bmm(args: Sequence[Any], kwargs: Mapping[str, Any], out: Any) -> OpCost:
    a, b = args[0], args[1]
    return OpCost(prod(_shape(a)) * int(b.shape[-1]), 0, OpClass.MATMUL,
                  fusion=FusionKind.ANCHOR)


@register("aten.baddbmm")
def _baddbmm(args: Sequence[Any], kwargs: Mapping[str, Any], out: Any) -> OpCost:
    a, b = args[1], args[2]
    y = _first_out(out)
    return OpCost(prod(_shape(a)) * int(b.shape[-1]), y.numel(), OpClass.MATMUL,
                  fusion=FusionKind.ANCHOR)


@register("aten.mv", "aten.addmv")
def _mv(args: Sequence[Any], kwargs: Mapping[str, Any], out: Any) -> OpCost:
    a = args[0] if len(args[0].shape) == 2 else args[1]
    return OpCost(prod(_shape(a)), 0, OpClass.MATMUL, fusion=FusionKind.ANCHOR)


@register("aten.dot", "aten.vdot")
def _dot(args: Sequence[Any], kwargs: Mapping[str, Any], out: Any) -> OpCost:
    return OpCost(int(args[0].numel()), 0, OpClass.MATMUL, fusion=FusionKind.ANCHOR)


@register(
    "aten._scaled_dot_product_flash_attention_for_cpu",
    "aten._scaled_dot_product_flash_attention",
    "aten._scaled_dot_product_efficient_attention",
    "aten._scaled_dot_product_cudnn_attention",
    "aten.scaled_dot_product_attention",
    "aten._scaled_dot_product_attention_math",
)
def _sdpa(args: Sequence[Any], kwargs: Mapping[str, Any], out: Any) -> OpCost:
    q, k, v = args[0], args[1], args[2]
    length, embed = int(q.shape[-2]), int(q.shape[-1])
    source, value_dim = int(k.shape[-2]), int(v.shape[-1])
    batch = prod(_shape(q)[:-2])
    # Q K^T and the weighted sum of V; the softmax is vector work.
    macs = batch * length * source * (embed + value_dim)
    return OpCost(macs, 5 * batch * length * source, OpClass.MATMUL)


@register("aten._native_multi_head_attention")
def _native_mha(args: Sequence[Any], kwargs: Mapping[str, Any], out: Any) -> OpCost:
    q, k = args[0], args[1]
    embed = int(args[3])
    batch, length, source = int(q.shape[0]), int(q.shape[1]), int(k.shape[1])
    projections = batch * (length + 2 * source) * embed * embed + batch * length * embed * embed
    attention = 2 * batch * length * source * embed
    return OpCost(projections + attention, 5 * batch * length * source, OpClass.MATMUL)


# --- vector arithmetic ---------------------------------------------------------------------------


def _per_element(factor: int, op_class: OpClass = OpClass.ELEMENTWISE,
                 of_input: bool = False, fusion: FusionKind = FusionKind.OPAQUE) -> Formula:
    def formula(args: Sequence[Any], kwargs: Mapping[str, Any], out: Any) -> OpCost:
        n = int(args[0].numel()) if of_input else _out_numel(out)
        return OpCost(0, factor * n, op_class, fusion=fusion)

    return formula


# Eval-mode batch norm is a scale and a shift per element; layer/group norm compute mean and
# variance (about 5 operations per element), as fvcore counts them.
register(
    "aten.native_batch_norm",
    "aten._native_batch_norm_legit_no_training",
    "aten._native_batch_norm_legit",
    "aten.cudnn_batch_norm",
    "aten.miopen_batch_norm",
)(_per_element(2, of_input=True, fusion=FusionKind.NORM))
register("aten.native_layer_norm", "aten.native_group_norm", "aten._fused_rms_norm")(
    _per_element(5, of_input=True)
)
register("aten._softmax", "aten._safe_softmax", "aten._log_softmax")(
    _per_element(5, of_input=True)
)
# Activations PyTorch does not tag as pointwise.
register(
    "aten.hardswish",
    "aten.hardswish_",
    "aten.mish",
    "aten.mish_",
    "aten._prelu_kernel",
    "aten.elu",
    "aten.elu_",
    "aten.softplus",
    "aten.glu",
    "aten.log_sigmoid_forward",
)(_per_element(1, fusion=FusionKind.FUNCTION))
register("aten.upsample_bilinear2d", "aten.upsample_bicubic2d", "aten._upsample_bilinear2d_aa")(
    _per_element(4)
)
register("aten.upsample_nearest2d", "aten._upsample_nearest_exact2d")(_per_element(1))
register(
    "aten._adaptive_avg_pool2d",
    "aten.adaptive_avg_pool2d",
    "aten._adaptive_avg_pool3d",
    "aten.adaptive_max_pool2d",
    "aten.mean",
    "aten.sum",
    "aten.amax",
    "aten.amin",
    "aten.var_mean",
    "aten.var",
    "aten.std",
)(_per_element(1, OpClass.POOL, of_input=True, fusion=FusionKind.ANCHOR))


@register(
    "aten.max_pool2d_with_indices",
    "aten.max_pool2d",
    "aten.max_pool3d_with_indices",
    "aten.avg_pool2d",
    "aten.avg_pool3d",
    "aten.avg_pool1d",
    "aten.max_pool1d",
)
def _pool(args: Sequence[Any], kwargs: Mapping[str, Any], out: Any) -> OpCost:
    kernel = _arg(args, kwargs, 1, "kernel_size")
    window = prod(int(k) for k in kernel) if isinstance(kernel, Sequence) else int(kernel or 1)
    if isinstance(kernel, Sequence) and len(kernel) == 1:
        window = int(kernel[0]) ** (len(_shape(args[0])) - 2)
    return OpCost(0, _first_out(out).numel() * window, OpClass.POOL, fusion=FusionKind.ANCHOR)


# Operators that only move or create data: they cost memory traffic, no arithmetic.
DATA_MOVEMENT = frozenset(
    {
        "aten.cat",
        "aten.stack",
        "aten.clone",
        "aten.copy_",
        "aten._to_copy",
        "aten.contiguous",
        "aten.constant_pad_nd",
        "aten.reflection_pad2d",
        "aten.replication_pad2d",
        "aten.index",
        "aten.index_select",
        "aten.gather",
        "aten.scatter",
        "aten.index_put_",
        "aten.index_put",
        "aten.embedding",
        "aten.roll",
        "aten.flip",
        "aten.repeat",
        "aten.tile",
        "aten.slice_scatter",
        "aten.select_scatter",
        "aten.zeros",
        "aten.zeros_like",
        "aten.ones",
        "aten.ones_like",
        "aten.full",
        "aten.full_like",
        "aten.new_zeros",
        "aten.new_ones",
        "aten.new_full",
        "aten.scalar_tensor",
        "aten.arange",
        "aten.fill_",
        "aten.zero_",
        "aten.lift_fresh_copy",
        "aten.channel_shuffle",
        "aten.pixel_shuffle",
        "aten.pixel_unshuffle",
        "aten.native_dropout",
        "aten.bernoulli_",
        "aten.rand",
        "aten.randn",
        "aten.uniform_",
        "aten.normal_",
        "aten.resize_",
    }
)
# Allocations without writing: no time at all.
NO_WORK = frozenset({"aten.empty", "aten.empty_like", "aten.empty_strided", "aten.new_empty"})


def op_cost(func: Any, args: Sequence[Any], kwargs: Mapping[str, Any], out: Any,
            allocates: bool) -> OpCost:
    """The cost of one call of ``func`` (an aten OpOverload) from its arguments' shapes."""
    name = str(func.overloadpacket)
    formula = _FORMULAS.get(name)
    if formula is not None:
        return formula(args, kwargs, out)
    if name in NO_WORK:
        return OpCost(op_class=OpClass.VIEW, fusion=FusionKind.VIEW)
    if torch.Tag.pointwise in getattr(func, "tags", ()):
        return OpCost(0, _out_numel(out), OpClass.ELEMENTWISE, fusion=_pointwise_kind(name, args))
    if name in DATA_MOVEMENT:
        return OpCost(0, 0, OpClass.ELEMENTWISE)
    if not allocates:
        return OpCost(op_class=OpClass.VIEW, fusion=FusionKind.VIEW)
    return OpCost(0, 0, OpClass.ELEMENTWISE, unsupported=True)


_ADDS = frozenset({"aten.add", "aten.add_", "aten.sub", "aten.sub_", "aten.rsub"})
_RELUS = frozenset({"aten.relu", "aten.relu_", "aten.hardtanh", "aten.hardtanh_", "aten.clamp",
                    "aten.clamp_", "aten.clamp_min", "aten.clamp_min_", "aten.clamp_max",
                    "aten.clamp_max_", "aten.leaky_relu", "aten.leaky_relu_", "aten.threshold",
                    "aten.threshold_"})
_MULS = frozenset({"aten.mul", "aten.mul_", "aten.div", "aten.div_"})


def _pointwise_kind(name: str, args: Sequence[Any]) -> FusionKind:
    """A pointwise operator of one tensor (a scalar operand does not count) is an activation;
    of two, an add or a multiply that a fusing runtime may fold into the kernel before it."""
    tensors = [a for a in args if isinstance(a, torch.Tensor) and a.dim() > 0]
    if len(tensors) <= 1:
        return FusionKind.ACTIVATION if name in _RELUS else FusionKind.FUNCTION
    if len(tensors) == 2 and name in _ADDS:
        return FusionKind.ADD
    if len(tensors) == 2 and name in _MULS:
        return FusionKind.MUL
    return FusionKind.OPAQUE




# --- fused recurrent kernels -------------------------------------------------------------------

RNN_GATES = {"lstm": 4, "gru": 3, "rnn_tanh": 1, "rnn_relu": 1}
# Pointwise work per hidden unit and step: LSTM three sigmoids, two tanh, three products and an
# add; GRU two sigmoids, a tanh, three products and two adds; a plain RNN its activation.
_RNN_VECTOR = {"lstm": 10, "gru": 9, "rnn_tanh": 2, "rnn_relu": 2}


def rnn_cost(mode: str, tokens: int, batch: int, input_size: int, hidden: int, layers: int,
             directions: int, weight_hh_bytes: int) -> OpCost:
    """One fused RNN/LSTM/GRU call as the kernels that run it (cuDNN, oneDNN, ATen's CPU loop):
    per layer and direction one GEMM of the inputs of every token with W_ih, then one step per
    token multiplying the hidden state by W_hh, which every step reads again
    (``weight_hh_bytes``: W_hh of every layer and direction). ``steps`` counts those dependent
    steps; at a small batch each is a GEMV bound by reading W_hh."""
    gates = RNN_GATES[mode]
    macs = 0
    for layer in range(layers):
        width = input_size if layer == 0 else hidden * directions
        macs += directions * tokens * batch * gates * hidden * (width + hidden)
    vector = layers * directions * tokens * batch * hidden * _RNN_VECTOR[mode]
    return OpCost(macs, vector, OpClass.RECURRENT, steps=max(1, tokens * layers * directions),
                  extra_bytes=max(tokens - 1, 0) * weight_hh_bytes)
