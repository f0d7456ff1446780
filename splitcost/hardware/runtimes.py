"""What each runtime does with a network, as data: which operators it fuses into one kernel and
which FP32 operators it sends to TF32 tensor cores. Pure data; the grouping itself is
:mod:`splitcost.pricing.fusion`.

A fusion rule ``"A+B"`` lets a kernel whose last operator is an ``A`` absorb the ``B`` that
consumes its output alone (no other reader: a fork ends the kernel). ``A`` is an anchor's class
(``conv``, ``pointwise``, ``grouped``, ``depthwise``, ``matmul``, ``pool``) or a chain member's
kind; ``B`` is a chain member: ``norm`` (inference batch norm), ``activation`` (ReLU and its
clamps), ``function`` (other unary pointwise: SiLU, GELU, hardswish, sigmoid), ``add`` or
``mul`` (binary, the other operand already computed: a residual, a squeeze-excite scale). A norm
folds into the weights of an anchor and a binary op into its epilogue, so neither changes what
the kernel ends with (conv + bn + add + relu needs conv+norm, conv+add and conv+activation). An
anchor never absorbs another anchor.

Defaults, used when a device's runtime section gives no ``fuses`` of its own:

* ``tensorrt``: the TensorRT Developer Guide's fusion catalogue (docs.nvidia.com/deeplearning/
  tensorrt, "Layer Fusion Catalog"/"Types of Fusions": Convolution + Scale (batch norm folded),
  Convolution + generic Activation, Convolution + ElementWise sum, FullyConnected + Activation,
  Scale + Activation, and pointwise fusion of Activation/ElementWise/Scale/Unary chains);
* ``onnxruntime``: what ONNX Runtime 1.32's CPU execution provider was measured to fuse on an
  x86-64 host with AVX-512 (``splitcost calibrate --runtime onnxruntime``'s fusion tests; its
  graph optimisations, onnxruntime.ai/docs/performance/model-optimizations/
  graph-optimizations.html: Conv-BatchNorm, Conv-Activation, and the NCHWc transformer's
  convolutions taking a residual as their Sum input and a batch norm as a convolution); a
  calibrated profile holds the host's own;
* ``eager``: none (PyTorch eager runs one kernel per aten operator).
"""

from __future__ import annotations

from collections.abc import Iterable

from splitcost.errors import InputError
from splitcost.kinds import CONV_CLASSES, FusionKind, OpClass, Runtime

ANCHOR_WORDS = ("conv", "pointwise", "grouped", "depthwise", "matmul", "pool")
MEMBER_WORDS = ("norm", "activation", "function", "add", "mul")
CHAIN_MEMBERS = frozenset({FusionKind.NORM, FusionKind.ACTIVATION, FusionKind.FUNCTION,
                           FusionKind.ADD, FusionKind.MUL})

_CONVS = ("conv", "pointwise", "grouped", "depthwise")


def _rules(*pairs: tuple[Iterable[str], Iterable[str]]) -> tuple[str, ...]:
    return tuple(f"{a}+{b}" for left, right in pairs for a in left for b in right)


DEFAULT_FUSES: dict[Runtime, tuple[str, ...]] = {
    Runtime.EAGER: (),
    Runtime.TENSORRT: _rules(
        (_CONVS, ("norm", "activation", "function", "add")),
        (("matmul",), ("norm", "activation", "function", "add")),
        (("pool",), ("activation",)),
        (("norm", "add", "mul"), ("activation", "function")),
        (("activation", "function"), ("add", "mul", "activation", "function")),
    ),
    Runtime.ONNXRUNTIME: _rules(
        (_CONVS, ("norm", "activation")),
        (("conv", "pointwise", "depthwise"), ("add",)),
        (("norm", "add"), ("activation",)),
        (("activation", "function"), ("add",)),
        (("function",), ("mul",)),
    ),
}

# FP32 operators each runtime runs on TF32 tensor cores where the device has them (a
# ``compute.tf32`` peak): PyTorch enables TF32 for cuDNN convolutions and not for matmuls by
# default (torch.backends.cudnn.allow_tf32 = True, torch.backends.cuda.matmul.allow_tf32 =
# False since 1.12); TensorRT builds with its TF32 flag on by default (BuilderFlag.TF32).
TF32_CLASSES: dict[Runtime, frozenset[OpClass]] = {
    Runtime.EAGER: CONV_CLASSES,
    Runtime.TENSORRT: CONV_CLASSES | {OpClass.MATMUL},
    Runtime.ONNXRUNTIME: frozenset(),
}


def check_rule(rule: str) -> tuple[str, FusionKind]:
    """``"conv+norm"`` -> ("conv", FusionKind.NORM); an unknown word is an InputError."""
    left, plus, right = rule.strip().partition("+")
    if not plus or left not in (*ANCHOR_WORDS, *MEMBER_WORDS) or right not in MEMBER_WORDS:
        raise InputError(f"expected a fusion rule A+B with A one of "
                         f"{', '.join((*ANCHOR_WORDS, *MEMBER_WORDS))} and B one of "
                         f"{', '.join(MEMBER_WORDS)}, got {rule!r}")
    return left, FusionKind(right)


def rule_set(fuses: Iterable[str]) -> frozenset[tuple[str, FusionKind]]:
    return frozenset(check_rule(r) for r in fuses)
