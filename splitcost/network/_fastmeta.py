"""Output metadata of the operators whose meta kernels are slow, computed directly.

Many of PyTorch's meta kernels are Python decompositions (batch norm, layer norm, hardswish,
hardsigmoid, GELU, clamp, the elementwise references under ``torch._refs``) that build several
intermediate meta tensors to learn one output shape; on depthwise networks they were most of
the time of a trace. For the operators below, the output's shape, strides and dtype follow from
the inputs' by a rule short enough to state here; each rule returns the same tensors the meta
kernel returns (same shapes, strides, dtypes, storage offsets, and the same aliasing: an
in-place operator returns its input), or ``None`` when its case is not the plain one, and the
real kernel runs. ``tests/test_fastmeta.py`` checks every rule against the real meta kernel on
random shapes, layouts and dtypes, and whole networks traced with and without the rules.

Rules read only metadata and build outputs with ``torch.empty_strided``; nothing is patched.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeGuard, TypeVar

import torch
from torch._prims_common import get_computation_dtype

aten = torch.ops.aten
Rule = Callable[[Sequence[Any], Mapping[str, Any]], Any]
RULES: dict[Any, Rule] = {}

_FLOATS = (torch.float32, torch.float16, torch.bfloat16, torch.float64)
_META = torch.device("meta")


R = TypeVar("R", bound=Rule)


def _rule(*overloads: Any) -> Callable[[R], R]:
    def wrap(fn: R) -> R:
        for overload in overloads:
            RULES[overload] = fn
        return fn

    return wrap


def _empty(shape: Sequence[int], stride: Sequence[int], dtype: torch.dtype) -> torch.Tensor:
    return torch.empty_strided(tuple(shape), tuple(stride), dtype=dtype, device=_META)


def _contiguous_strides(shape: Sequence[int]) -> tuple[int, ...]:
    """Row-major strides, as ``make_contiguous_strides_for`` writes them (size-0/1 dims: 1)."""
    strides = []
    step = 1
    for d in reversed(shape):
        strides.append(step)
        step *= max(d, 1)
    return tuple(reversed(strides))


def _plain(t: Any) -> TypeGuard[torch.Tensor]:
    """A strided meta tensor of a floating dtype, with no storage offset."""
    return (isinstance(t, torch.Tensor) and t.device == _META and t.dtype in _FLOATS
            and t.layout == torch.strided and int(t.storage_offset()) == 0)


def _unambiguous_contiguous(t: torch.Tensor) -> bool:
    """Row-major with the canonical strides, and not also channels-last (for 4-d tensors a
    shape like N x C x 1 x 1 is both, and PyTorch's stride rules then look further)."""
    if t.stride() != _contiguous_strides(t.shape):
        return False
    return t.dim() != 4 or not t.is_contiguous(memory_format=torch.channels_last)


def _elementwise_strides(t: torch.Tensor) -> tuple[int, ...] | None:
    """The strides of a one-input elementwise result, as ``torch._refs`` computes them."""
    if t.stride() == _contiguous_strides(t.shape):
        return t.stride()
    return None


# --- one-input elementwise operators --------------------------------------------------------

_UNARY = (
    aten.relu.default, aten.hardsigmoid.default, aten.hardswish.default, aten.sigmoid.default,
    aten.silu.default, aten.tanh.default, aten.hardtanh.default, aten.gelu.default,
    aten.elu.default, aten.leaky_relu.default, aten.mish.default, aten.clamp_min.default,
    aten.clamp_max.default, aten.rsqrt.default, aten.sqrt.default,
    aten.exp.default, aten.neg.default, aten.abs.default, aten.log_sigmoid.default,
    aten.softplus.default,
)
_UNARY_INPLACE = (
    aten.hardsigmoid_.default, aten.hardswish_.default, aten.sigmoid_.default,
    aten.silu_.default, aten.tanh_.default, aten.hardtanh_.default, aten.gelu_.default,
    aten.elu_.default, aten.leaky_relu_.default, aten.mish_.default, aten.clamp_min_.default,
    aten.clamp_max_.default, aten.relu_.default,
)


def _scalars(args: Sequence[Any], kwargs: Mapping[str, Any]) -> bool:
    """Every argument after the tensor is a plain number, a string or None (no tensor bound)."""
    rest = [*args[1:], *kwargs.values()]
    return all(a is None or isinstance(a, int | float | str) for a in rest)


def _bounded(args: Sequence[Any], kwargs: Mapping[str, Any]) -> bool:
    """clamp needs a bound (the kernel says so when both are None)."""
    bounds = [*args[1:3], kwargs.get("min"), kwargs.get("max")]
    return any(b is not None for b in bounds)


@_rule(*_UNARY)
def _unary(args: Sequence[Any], kwargs: Mapping[str, Any]) -> torch.Tensor | None:
    x = args[0] if args else None
    if not _plain(x) or not _scalars(args, kwargs):
        return None
    strides = _elementwise_strides(x)
    return None if strides is None else _empty(x.shape, strides, x.dtype)


@_rule(*_UNARY_INPLACE)
def _unary_inplace(args: Sequence[Any], kwargs: Mapping[str, Any]) -> torch.Tensor | None:
    x = args[0] if args else None
    if not _plain(x) or not _scalars(args, kwargs):
        return None
    return x


@_rule(aten.clamp.default)
def _clamp(args: Sequence[Any], kwargs: Mapping[str, Any]) -> torch.Tensor | None:
    return _unary(args, kwargs) if _bounded(args, kwargs) else None


@_rule(aten.clamp_.default)
def _clamp_inplace(args: Sequence[Any], kwargs: Mapping[str, Any]) -> torch.Tensor | None:
    return _unary_inplace(args, kwargs) if _bounded(args, kwargs) else None


# --- two-input elementwise arithmetic ---------------------------------------------------------


def _broadcast(*shapes: tuple[int, ...]) -> tuple[int, ...] | None:
    """NumPy broadcasting of shapes; None when they do not broadcast."""
    ndim = max(len(s) for s in shapes)
    out = []
    for i in range(ndim):
        sizes = {s[len(s) - ndim + i] for s in shapes if len(s) - ndim + i >= 0} - {1}
        if len(sizes) > 1:
            return None
        out.append(sizes.pop() if sizes else 1)
    return tuple(out)


@_rule(aten.add.Tensor, aten.sub.Tensor, aten.mul.Tensor, aten.div.Tensor)
def _binary(args: Sequence[Any], kwargs: Mapping[str, Any]) -> torch.Tensor | None:
    """Two tensors of one dtype, each row-major with canonical strides: the result is
    row-major in the broadcast shape."""
    if len(args) != 2 or any(k != "alpha" for k in kwargs):
        return None
    a, b = args
    if not (_plain(a) and _plain(b)) or a.dtype != b.dtype or a.dim() == 0 or b.dim() == 0:
        return None
    if a.stride() != _contiguous_strides(a.shape) or b.stride() != _contiguous_strides(b.shape):
        return None
    if not isinstance(kwargs.get("alpha", 1), int | float):
        return None
    shape = _broadcast(tuple(a.shape), tuple(b.shape))
    return None if shape is None else _empty(shape, _contiguous_strides(shape), a.dtype)


@_rule(aten.add.Scalar, aten.sub.Scalar, aten.mul.Scalar, aten.div.Scalar)
def _with_scalar(args: Sequence[Any], kwargs: Mapping[str, Any]) -> torch.Tensor | None:
    if len(args) != 2 or kwargs or not isinstance(args[1], float):
        return None  # an integer scalar keeps an integer tensor's dtype: floats only here
    return _unary(args[:1], {})


@_rule(aten.add_.Tensor, aten.sub_.Tensor, aten.mul_.Tensor, aten.div_.Tensor)
def _binary_inplace(args: Sequence[Any], kwargs: Mapping[str, Any]) -> torch.Tensor | None:
    if len(args) != 2 or any(k not in ("alpha",) for k in kwargs):
        return None
    a, b = args
    if not (_plain(a) and _plain(b)) or a.dtype != b.dtype or a.shape != b.shape:
        return None
    if not isinstance(kwargs.get("alpha", 1), int | float):
        return None
    return a


# --- reductions and softmax --------------------------------------------------------------------


@_rule(aten.mean.dim, aten.sum.dim_IntList, aten.amax.default, aten.amin.default)
def _reduce(args: Sequence[Any], kwargs: Mapping[str, Any]) -> torch.Tensor | None:
    """A reduction's result is row-major in the reduced shape."""
    if kwargs or not 2 <= len(args) <= 3:
        return None
    x, dims = args[0], args[1]
    keep = args[2] if len(args) == 3 else False
    if not _plain(x) or not isinstance(keep, bool) or not isinstance(dims, list | tuple):
        return None
    n = x.dim()
    if not dims or n == 0 or any(not isinstance(d, int) or not -n <= d < n for d in dims):
        return None
    axes = {d % n for d in dims}
    if len(axes) != len(dims):
        return None
    shape = tuple(1 if i in axes else int(d) for i, d in enumerate(x.shape)
                  if keep or i not in axes)
    if any(int(x.shape[i]) == 0 for i in axes):
        return None
    return _empty(shape, _contiguous_strides(shape), x.dtype)


@_rule(aten._softmax.default, aten._safe_softmax.default, aten._log_softmax.default)
def _softmax(args: Sequence[Any], kwargs: Mapping[str, Any]) -> torch.Tensor | None:
    if kwargs or not 2 <= len(args) <= 3 or (len(args) == 3 and args[2] is not False):
        return None  # half_to_float changes the dtype
    x, dim = args[0], args[1]
    if not _plain(x) or not isinstance(dim, int) or not -x.dim() <= dim < max(x.dim(), 1):
        return None
    return _unary(args[:1], {})


@_rule(aten.cat.default)
def _cat(args: Sequence[Any], kwargs: Mapping[str, Any]) -> torch.Tensor | None:
    """Row-major tensors of one dtype and rank, joined along ``dim``: a row-major result."""
    if kwargs or not 1 <= len(args) <= 2 or not isinstance(args[0], list | tuple) or not args[0]:
        return None
    tensors = args[0]
    dim = args[1] if len(args) == 2 else 0
    first = tensors[0]
    if not isinstance(dim, int) or not all(_plain(t) for t in tensors):
        return None
    n = first.dim()
    if n == 0 or not -n <= dim < n or any(t.dim() != n or t.dtype != first.dtype for t in tensors):
        return None
    dim %= n
    if not all(_unambiguous_contiguous(t) for t in tensors):
        return None
    rest = [tuple(int(d) for i, d in enumerate(t.shape) if i != dim) for t in tensors]
    if any(r != rest[0] for r in rest):
        return None
    shape = list(first.shape)
    shape[dim] = sum(int(t.shape[dim]) for t in tensors)
    return _empty(shape, _contiguous_strides(shape), first.dtype)


# --- normalisation -----------------------------------------------------------------------------


@_rule(aten.native_batch_norm.default)
def _batch_norm(args: Sequence[Any], kwargs: Mapping[str, Any]) -> tuple[Any, ...] | None:
    """Eval mode with running statistics: the output is laid out as the input; the saved mean
    and inverse deviation are copies of the running ones in the computation dtype."""
    if kwargs or len(args) != 8:
        return None
    x, weight, bias, mean, var, training, _, _ = args
    if training or not _plain(x) or x.dim() < 2 or not (_plain(mean) and _plain(var)):
        return None
    channels = x.shape[1]
    for t in (weight, bias):
        if t is not None and (not _plain(t) or tuple(t.shape) != (channels,)):
            return None
    if tuple(mean.shape) != (channels,) or tuple(var.shape) != (channels,):
        return None
    if not _unambiguous_contiguous(x):
        return None
    acc = get_computation_dtype(x.dtype)
    return (_empty(x.shape, _contiguous_strides(x.shape), x.dtype),
            _empty(mean.shape, (1,), acc), _empty(var.shape, (1,), acc))


@_rule(aten.native_layer_norm.default)
def _layer_norm(args: Sequence[Any], kwargs: Mapping[str, Any]) -> tuple[Any, ...] | None:
    if kwargs or len(args) != 5:
        return None
    x, normalized, weight, bias, _ = args
    if not _plain(x) or not isinstance(normalized, list | tuple) or not normalized:
        return None
    shape = tuple(x.shape)
    tail = tuple(int(d) for d in normalized)
    if len(tail) > len(shape) or shape[len(shape) - len(tail):] != tail:
        return None
    for t in (weight, bias):
        if t is not None and (not _plain(t) or tuple(t.shape) != tail):
            return None
    if not _unambiguous_contiguous(x):
        return None
    stats = (*shape[:len(shape) - len(tail)], *(1,) * len(tail))
    acc = get_computation_dtype(x.dtype)
    stats_strides = _contiguous_strides(stats)
    return (_empty(shape, _contiguous_strides(shape), x.dtype),
            _empty(stats, stats_strides, acc), _empty(stats, stats_strides, acc))


# --- matrix arithmetic -------------------------------------------------------------------------


@_rule(aten.convolution.default)
def _convolution(args: Sequence[Any], kwargs: Mapping[str, Any]) -> torch.Tensor | None:
    """The meta kernel's output is row-major whatever the input's layout."""
    if kwargs or len(args) != 9:
        return None
    x, w, bias, stride, padding, dilation, transposed, output_padding, groups = args
    if not (_plain(x) and _plain(w)) or x.dtype != w.dtype or x.dim() != w.dim() or x.dim() < 3:
        return None
    if bias is not None and (not _plain(bias) or bias.dtype != x.dtype):
        return None
    spatial = x.dim() - 2
    try:
        s = _expand(stride, spatial)
        p = _expand(padding, spatial)
        d = _expand(dilation, spatial)
        op = _expand(output_padding, spatial)
    except (TypeError, ValueError):
        return None
    if not isinstance(groups, int) or groups < 1 or not isinstance(transposed, bool):
        return None
    n, c = int(x.shape[0]), int(x.shape[1])
    kernel = [int(k) for k in w.shape[2:]]
    if transposed:
        if c != int(w.shape[0]):
            return None
        channels = int(w.shape[1]) * groups
        sizes = [(int(x.shape[i + 2]) - 1) * s[i] - 2 * p[i] + d[i] * (kernel[i] - 1) + op[i] + 1
                 for i in range(spatial)]
    else:
        if c != int(w.shape[1]) * groups or int(w.shape[0]) % groups:
            return None
        channels = int(w.shape[0])
        sizes = [(int(x.shape[i + 2]) + 2 * p[i] - d[i] * (kernel[i] - 1) - 1) // s[i] + 1
                 for i in range(spatial)]
    if bias is not None and tuple(bias.shape) != (channels,):
        return None
    if n < 1 or channels < 1 or any(v < 1 for v in sizes):
        return None  # the kernel says what is wrong
    shape = (n, channels, *sizes)
    return _empty(shape, _contiguous_strides(shape), x.dtype)


def _expand(values: Any, n: int) -> list[int]:
    items = [int(v) for v in values]
    if len(items) == 1:
        items = items * n
    if len(items) != n or any(v < 0 for v in items):
        raise ValueError(values)
    return items


@_rule(aten.addmm.default)
def _addmm(args: Sequence[Any], kwargs: Mapping[str, Any]) -> torch.Tensor | None:
    """The output of addmm is row-major, m x n."""
    if len(args) != 3 or any(k not in ("beta", "alpha") for k in kwargs):
        return None
    bias, a, b = args
    if not (_plain(bias) and _plain(a) and _plain(b)) or not a.dtype == b.dtype == bias.dtype:
        return None
    if a.dim() != 2 or b.dim() != 2 or a.shape[1] != b.shape[0]:
        return None
    m, n = int(a.shape[0]), int(b.shape[1])
    if bias.dim() > 2 or any(int(d) not in (1, want) for d, want in
                             zip(reversed(bias.shape), (n, m), strict=False)):
        return None
    if any(not isinstance(kwargs.get(k, 1), int | float) for k in ("beta", "alpha")):
        return None
    return _empty((m, n), _contiguous_strides((m, n)), a.dtype)
