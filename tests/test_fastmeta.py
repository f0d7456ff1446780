"""The trace's shape rules (splitcost/network/_fastmeta.py) against PyTorch's own meta kernels.

Oracle: the real meta kernel of each operator, on the same arguments. A rule must return the
same outputs (shapes, strides, dtypes, storage offsets and sizes, which outputs are inputs and
which share a storage) or decline; whole networks traced with and without the rules must
record the same trace.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch.utils._pytree import tree_flatten

from splitcost.network._fastmeta import RULES
from splitcost.network.trace import run_trace
from splitcost.network.zoo import build, resolve

aten = torch.ops.aten
DTYPES = (torch.float32, torch.float16, torch.bfloat16, torch.float64)
LAYOUTS = ("contiguous", "channels_last", "transposed", "odd_unit_strides", "offset")


def _key(t: torch.Tensor) -> int:
    return int(t.untyped_storage()._cdata)


def describe(out: Any, inputs: list[torch.Tensor]) -> tuple[Any, ...]:
    """Everything about a result that a later operator or the trace could see."""
    flat = tree_flatten(out)[0]
    keys = [_key(t) for t in inputs]
    rows: list[Any] = []
    for t in flat:
        if not isinstance(t, torch.Tensor):
            rows.append(("value", t))
            continue
        rows.append((
            tuple(t.shape), t.stride(), t.dtype, t.storage_offset(),
            t.untyped_storage().nbytes(), [i for i, x in enumerate(inputs) if x is t],
            [i for i, k in enumerate(keys) if k == _key(t)],
        ))
    out_keys = [_key(t) for t in flat if isinstance(t, torch.Tensor)]
    return type(out).__name__, tuple(rows), tuple(out_keys.index(k) for k in out_keys)


def agrees(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool | None:
    """True: the rule's result is the kernel's; None: the rule declined; fails otherwise."""
    inputs = [a for a in tree_flatten((args, kwargs))[0] if isinstance(a, torch.Tensor)]
    got = RULES[func](args, kwargs)
    try:
        want = func(*args, **kwargs)
    except (RuntimeError, ValueError, IndexError, TypeError) as e:
        assert got is None, f"{func} accepted what its kernel refuses: {e}"
        return None
    if got is None:
        return None
    assert describe(got, inputs) == describe(want, inputs), (func, args, kwargs)
    return True


def tensor(shape: tuple[int, ...], layout: str, dtype: torch.dtype) -> torch.Tensor:
    base = torch.empty(shape, dtype=dtype, device="meta")
    if layout == "channels_last" and len(shape) == 4:
        return base.to(memory_format=torch.channels_last)
    if layout == "transposed" and len(shape) >= 2:
        flipped = (*shape[:-2], shape[-1], shape[-2])
        return torch.empty(flipped, dtype=dtype, device="meta").transpose(-1, -2)
    if layout == "odd_unit_strides" and 1 in shape:
        strides = [7 if d == 1 else s for d, s in zip(shape, base.stride(), strict=True)]
        return torch.empty_strided(shape, strides, dtype=dtype, device="meta")
    if layout == "offset":
        bigger = torch.empty((2, *shape), dtype=dtype, device="meta")
        return bigger[1]
    return base


shapes = st.lists(st.sampled_from([1, 1, 2, 3, 4, 7]), min_size=1, max_size=5).map(tuple)
layouts = st.sampled_from(LAYOUTS)
dtypes = st.sampled_from(DTYPES)


def _by_name(*names: str) -> list[Any]:
    return sorted((f for f in RULES if f.__name__.split(".")[0] in names), key=str)


ONE_INPUT = _by_name("relu", "hardsigmoid", "hardswish", "sigmoid", "silu", "tanh", "gelu",
                     "elu", "mish", "rsqrt", "sqrt", "exp", "neg", "abs", "log_sigmoid",
                     "softplus", "relu_", "hardsigmoid_", "hardswish_", "sigmoid_", "silu_",
                     "tanh_", "gelu_", "elu_", "mish_")
BOUNDED = _by_name("hardtanh", "hardtanh_", "clamp", "clamp_", "clamp_min", "clamp_min_",
                   "clamp_max", "clamp_max_", "leaky_relu", "leaky_relu_")
BINARY = _by_name("add", "sub", "mul", "div", "add_", "sub_", "mul_", "div_")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(ONE_INPUT + BOUNDED), shapes, layouts, dtypes, st.booleans())
def test_one_input_rules(func: Any, shape: tuple[int, ...], layout: str, dtype: torch.dtype,
                         tanh: bool) -> None:
    x = tensor(shape, layout, dtype)
    name = func.__name__.split(".")[0].rstrip("_")
    kwargs: dict[str, Any] = {}
    args: tuple[Any, ...] = (x,)
    if name in ("hardtanh", "clamp"):
        args = (x, -1.0, 6.0)
    elif name in ("clamp_min", "clamp_max", "leaky_relu"):
        args = (x, 0.5)
    elif name == "gelu":
        kwargs = {"approximate": "tanh" if tanh else "none"}
    agrees(func, args, kwargs)


@settings(max_examples=120, deadline=None)
@given(st.sampled_from(BINARY), shapes, shapes, layouts, layouts, dtypes, dtypes,
       st.sampled_from(["add", "mul"]))
def test_two_input_rules(func: Any, a: tuple[int, ...], b: tuple[int, ...], la: str, lb: str,
                         da: torch.dtype, db: torch.dtype, scalar: str) -> None:
    b = b[-len(a):] if len(b) > len(a) else b  # often broadcastable, sometimes not
    agrees(func, (tensor(a, la, da), tensor(b, lb, db)), {})
    scalar_op = getattr(aten, scalar).Scalar
    agrees(scalar_op, (tensor(a, la, da), 0.5), {})


@settings(max_examples=80, deadline=None)
@given(shapes, layouts, dtypes, st.booleans(), st.data())
def test_reductions_and_softmax(shape: tuple[int, ...], layout: str, dtype: torch.dtype,
                                keep: bool, data: st.DataObject) -> None:
    x = tensor(shape, layout, dtype)
    n = len(shape)
    dims = data.draw(st.lists(st.integers(-n, n - 1), min_size=1, max_size=n, unique=True))
    for func in (aten.mean.dim, aten.sum.dim_IntList, aten.amax.default, aten.amin.default):
        agrees(func, (x, dims, keep), {})
    for func in (aten._softmax.default, aten._log_softmax.default):
        agrees(func, (x, dims[0], False), {})
    agrees(aten._safe_softmax.default, (x, dims[0]), {})


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([1, 2, 3]), layouts), min_size=1, max_size=3),
       shapes, dtypes, st.integers(-3, 3))
def test_cat(parts: list[tuple[int, str]], shape: tuple[int, ...], dtype: torch.dtype,
             dim: int) -> None:
    axis = dim % len(shape) if -len(shape) <= dim < len(shape) else 0
    tensors = []
    for size, layout in parts:
        s = list(shape)
        s[axis] = size
        tensors.append(tensor(tuple(s), layout, dtype))
    agrees(aten.cat.default, (tensors, dim), {})


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 3), st.sampled_from([1, 3, 4, 8]), st.integers(1, 9), layouts, dtypes,
       st.sampled_from([(8, 1), (4, 2), ("c", "c")]), st.integers(1, 3), st.integers(1, 2),
       st.integers(0, 2), st.integers(1, 2), st.booleans(), st.booleans())
def test_convolution(n: int, c: int, hw: int, layout: str, dtype: torch.dtype,
                     out_groups: tuple[Any, Any], k: int, stride: int, pad: int, dil: int,
                     transposed: bool, bias: bool) -> None:
    x = tensor((n, c, hw, hw + 1), layout, dtype)
    out, groups = (c, c) if out_groups == ("c", "c") else out_groups
    if c % groups or out % groups:
        return
    shape = (c, out // groups, k, k) if transposed else (out, c // groups, k, k)
    w = torch.empty(shape, dtype=dtype, device="meta")
    b = torch.empty(out, dtype=dtype, device="meta") if bias else None
    agrees(aten.convolution.default,
           (x, w, b, [stride, stride], [pad, pad], [dil, dil], transposed, [0, 0], groups), {})


@settings(max_examples=80, deadline=None)
@given(st.integers(2, 5), layouts, dtypes, st.booleans(), st.booleans(), st.integers(1, 3))
def test_normalisation(ndim: int, layout: str, dtype: torch.dtype, affine: bool,
                       half_stats: bool, tail: int) -> None:
    shape = (2, 3, 4, 5, 2)[:ndim]
    x = tensor(shape, layout, dtype)
    c = shape[1]
    stat_dtype = dtype if half_stats else torch.float32
    weight = torch.empty(c, dtype=dtype, device="meta") if affine else None
    stats = [torch.empty(c, dtype=stat_dtype, device="meta") for _ in range(2)]
    agrees(aten.native_batch_norm.default,
           (x, weight, weight, stats[0], stats[1], False, 0.1, 1e-5), {})
    normalized = list(shape[-min(tail, ndim):])
    w = torch.empty(normalized, dtype=dtype, device="meta") if affine else None
    agrees(aten.native_layer_norm.default, (x, normalized, w, w, 1e-5), {})


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 5), st.integers(1, 5), st.integers(1, 5), layouts, layouts, dtypes,
       st.sampled_from(["full", "row", "scalar"]))
def test_addmm(m: int, k: int, n: int, la: str, lb: str, dtype: torch.dtype, bias: str) -> None:
    shape = {"full": (m, n), "row": (n,), "scalar": (1,)}[bias]
    agrees(aten.addmm.default, (torch.empty(shape, dtype=dtype, device="meta"),
                                tensor((m, k), la, dtype), tensor((k, n), lb, dtype)), {})


def test_rules_fire_on_the_plain_cases() -> None:
    """The rules accept the layouts networks use (so the checks above are not all declines)."""
    x = torch.empty((2, 16, 8, 8), device="meta")
    c = torch.empty(16, device="meta")
    w = torch.empty((8, 16, 3, 3), device="meta")
    cases = [
        (aten.hardswish_.default, (x,)), (aten.hardsigmoid.default, (x,)),
        (aten.relu.default, (torch.empty((2, 16, 1, 1), device="meta"),)),
        (aten.mul.Tensor, (x, torch.empty((2, 16, 1, 1), device="meta"))),
        (aten.add.Tensor, (x, x)), (aten.mean.dim, (x, [2, 3], True)),
        (aten.native_batch_norm.default, (x, c, c, c, c, False, 0.1, 1e-5)),
        (aten.convolution.default, (x, w, None, [1, 1], [1, 1], [1, 1], False, [0, 0], 1)),
        (aten.cat.default, ([x, x], 1)),
        (aten.native_layer_norm.default, (x, [8], None, None, 1e-5)),
        (aten.addmm.default, (torch.empty(4, device="meta"), torch.empty((2, 3), device="meta"),
                              torch.empty((3, 4), device="meta"))),
    ]
    for func, args in cases:
        assert agrees(func, args, {}) is True, func


def _traces(name: str, dtype: torch.dtype, batch: int) -> tuple[Any, Any]:
    info = resolve(name)
    out = []
    for fast in (True, False):
        model, _ = build(info, (224, 224))
        model = model.to(dtype)
        x = torch.empty((batch, 3, 224, 224), dtype=dtype, device="meta")
        out.append(run_trace(model, [x], fast_rules=fast))
    return out[0], out[1]


NETWORKS = ["mobilenet_v3_small", "efficientnet_b0", "vit_b_16", "resnet50", "convnext_tiny",
            "swin_t", "densenet121", "regnet_y_400mf", "mobilenet_v2", "shufflenet_v2_x1_0",
            "googlenet", "vgg16", "mnasnet0_5", "efficientnet_v2_s", "squeezenet1_0"]


@pytest.mark.parametrize("name", NETWORKS)
def test_a_network_traces_the_same_with_and_without_rules(name: str) -> None:
    fast, slow = _traces(name, torch.float32, 2)
    assert fast == slow


@pytest.mark.parametrize("name", ["mobilenet_v3_small", "vit_b_16"])
def test_half_precision_traces_the_same(name: str) -> None:
    fast, slow = _traces(name, torch.float16, 1)
    assert fast == slow
