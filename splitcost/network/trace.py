"""One run of a network on meta tensors, recorded operator by operator.

The trace is the single measurement splitcost makes. A ``TorchDispatchMode`` sees every aten
operator in execution order (functional calls included), module hooks say which module call is
running, and a weak reference on every storage says when eager execution would free it. The
result is plain data (:class:`Trace`); every analysis is a pure function of it.

Why storages and weak references: the payload of a cut and the memory of a side are about
storages, not tensors (a view is not a new tensor), and the moment PyTorch frees a storage in
eager mode is the moment Python drops its last reference, which the meta run reproduces exactly
because it runs the same Python code.
"""

from __future__ import annotations

import contextlib
import sys
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from math import prod
from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten, tree_map

from splitcost.errors import InputError
from splitcost.network._fastmeta import RULES
from splitcost.network.flops import RNN_GATES, op_cost, rnn_cost
from splitcost.network.records import (
    ModuleCall,
    OpCost,
    OpRecord,
    ParamInfo,
    Storage,
    TensorMeta,
    Trace,
)

# Operators whose result depends on tensor values: a trace without data cannot follow them.
DATA_DEPENDENT = frozenset(
    {
        "aten._local_scalar_dense",
        "aten.nonzero",
        "aten.masked_select",
        "aten.unique",
        "aten._unique",
        "aten._unique2",
        "aten.unique_dim",
        "aten.unique_consecutive",
        "aten.equal",
        "aten.is_nonzero",
        "aten.bincount",
        "aten.histc",
    }
)


class TraceError(InputError):
    """The network could not be run on the given input; the message says where and why."""


_DTYPE_NAMES = {d: str(d).removeprefix("torch.") for d in (
    torch.float32, torch.float16, torch.bfloat16, torch.float64, torch.int64, torch.int32,
    torch.int16, torch.int8, torch.uint8, torch.bool)}


def _dtype_name(dtype: torch.dtype) -> str:
    name = _DTYPE_NAMES.get(dtype)
    return name if name is not None else str(dtype).removeprefix("torch.")


# --- torchinfo 1.8.0's size rules, ported so that its memory model can be reproduced ----------


def _torchinfo_size(outputs: Any) -> tuple[list[int], int]:
    """torchinfo's ``LayerInfo.calculate_size`` with ``batch_dim=None``."""
    if outputs is None:
        return [], 0
    if (
        isinstance(outputs, list | tuple)
        and outputs
        and hasattr(outputs[0], "data")
        and hasattr(outputs[0].data, "size")
    ):
        return list(outputs[0].data.size()), outputs[0].data.element_size()
    if isinstance(outputs, dict):
        return _torchinfo_nested(list(outputs.values())[-1])
    if isinstance(outputs, torch.Tensor):
        return list(outputs.size()), outputs.element_size()
    if isinstance(outputs, list | tuple):
        return _torchinfo_nested(outputs)
    return [], 0


def _torchinfo_nested(inputs: Any) -> tuple[list[int], int]:
    """torchinfo's ``nested_list_size``."""
    if hasattr(inputs, "tensors"):
        return _torchinfo_nested(inputs.tensors)
    if isinstance(inputs, torch.Tensor):
        return list(inputs.size()), inputs.element_size()
    if not hasattr(inputs, "__getitem__") or not inputs:
        return [], 0
    if isinstance(inputs, dict):
        return _torchinfo_nested(list(inputs.values()))
    if (
        hasattr(inputs, "size")
        and callable(inputs.size)
        and hasattr(inputs, "element_size")
        and callable(inputs.element_size)
    ):
        return list(inputs.size()), inputs.element_size()
    if isinstance(inputs, list | tuple):
        return _torchinfo_nested(inputs[0])
    return [], 0


def _torchinfo_prod(size: Sequence[Any]) -> int:
    result = 1
    for item in size:
        result *= _torchinfo_prod(item) if isinstance(item, Sequence) else int(item)
    return result


# --- the recorder -------------------------------------------------------------------------------


class _Recorder(TorchDispatchMode):  # type: ignore[no-untyped-call]
    """Records operators and storage lifetimes. Holds no reference to any activation (only to
    the parameters and buffers the model holds anyway, whose records never change)."""

    def __init__(self, *, allow_cpu_fallback: bool = True, fast_rules: bool = True):
        super().__init__()  # type: ignore[no-untyped-call]
        self.allow_cpu_fallback = allow_cpu_fallback
        self.rules = RULES if fast_rules else {}
        self.ops: list[OpRecord] = []
        self.storage_of: dict[int, int] = {}  # live StorageImpl address -> storage index
        self.nbytes: list[int] = []
        self.kind: list[str] = []
        self.producer: list[int] = []
        self.readers: list[list[int]] = []
        self.freed_after: list[int | None] = []
        self.watchers: list[weakref.ref[Any]] = []
        self.state: dict[int, tuple[torch.Tensor, TensorMeta]] = {}  # id -> parameter, record
        self.module_stack: list[str] = [""]
        self.fallback_ops: list[str] = []
        self.unsupported: set[str] = set()
        self.current_op = ""
        self.closed = False
        self.paused = False

    # storages ---------------------------------------------------------------------------------

    def register(self, t: torch.Tensor, kind: str, producer: int) -> int:
        st = t.untyped_storage()
        key = st._cdata  # the StorageImpl's address (what StorageWeakRef keys by)
        index = self.storage_of.get(key)
        if index is not None:
            return index
        index = len(self.nbytes)
        self.storage_of[key] = index
        self.nbytes.append(int(st.nbytes()))
        self.kind.append(kind)
        self.producer.append(producer)
        self.readers.append([])
        self.freed_after.append(None)
        self.watchers.append(weakref.ref(st, self._on_free(key, index)))
        return index

    def _on_free(self, key: int, index: int) -> Callable[[Any], None]:
        def freed(_: Any) -> None:
            if self.closed:
                return
            self.freed_after[index] = len(self.ops) - 1
            if self.storage_of.get(key) == index:
                del self.storage_of[key]

        return freed

    def meta(self, t: torch.Tensor, kind: str = "constant", producer: int = -1) -> TensorMeta:
        known = self.state.get(id(t))
        if known is not None and known[0] is t:
            return known[1]  # a parameter or buffer, recorded before the run
        index = self.register(t, kind, producer)
        return TensorMeta(tuple(t.shape), _dtype_name(t.dtype), t.numel() * t.element_size(),
                          index)

    def remember(self, t: torch.Tensor, kind: str) -> TensorMeta:
        """Record a parameter or buffer once; operators reading it reuse the record."""
        m = self.meta(t, kind)
        self.state[id(t)] = (t, m)
        return m

    def close(self) -> None:
        self.closed = True
        self.watchers.clear()
        self.state.clear()

    # operators --------------------------------------------------------------------------------

    def __torch_dispatch__(
        self,
        func: Any,
        types: Any,
        args: Sequence[Any] = (),
        kwargs: Mapping[str, Any] | None = None,
    ) -> Any:
        kwargs = kwargs or {}
        if self.paused:
            return func(*args, **kwargs)
        name = str(func.overloadpacket)
        module = self.module_stack[-1]
        if name in DATA_DEPENDENT:
            where = f"module '{module}'" if module else "the network's own forward"
            raise TraceError(
                f"the network reads tensor values ({name} in {where}): its control flow or "
                "output shapes depend on the data, which a trace without data cannot follow"
            )
        self.current_op = name
        inputs = tuple(self.meta(t) for t in _tensors(args, kwargs))
        fallback = False
        rule = self.rules.get(func)
        out = rule(args, kwargs) if rule is not None else None
        if out is None:
            try:
                out = func(*args, **kwargs)
            except NotImplementedError as e:
                if not self.allow_cpu_fallback or "Meta" not in str(e):
                    raise
                out = _run_on_cpu(func, args, kwargs)
                fallback = True
                self.fallback_ops.append(name)
        index = len(self.ops)
        out_tensors = _tensors(out)
        before = len(self.nbytes)
        outputs = tuple(self.meta(t, "activation", index) for t in out_tensors)
        allocates = tuple(range(before, len(self.nbytes)))
        cost = op_cost(func, args, kwargs, out, bool(allocates))
        if cost.unsupported:
            self.unsupported.add(name)
        for m in inputs:
            self.readers[m.storage].append(index)
        self.ops.append(
            OpRecord(index, name, module, inputs, outputs, allocates, cost, fallback)
        )
        return out

    @contextlib.contextmanager
    def pause(self) -> Iterator[None]:
        """Operators run meanwhile are not recorded (the outputs of a fused record)."""
        self.paused = True
        try:
            yield
        finally:
            self.paused = False

    def record_fused(self, name: str, inputs: Sequence[torch.Tensor],
                     outputs: Sequence[torch.Tensor], cost: OpCost,
                     workspace: Sequence[torch.Tensor] = ()) -> None:
        """One operator standing for a fused kernel: it reads ``inputs``, allocates
        ``outputs`` and the ``workspace`` it frees before returning (the caller drops it)."""
        metas = tuple(self.meta(t) for t in inputs)
        index = len(self.ops)
        before = len(self.nbytes)
        outs = tuple(self.meta(t, "activation", index) for t in outputs)
        for t in workspace:
            self.meta(t, "activation", index)
        for m in metas:
            self.readers[m.storage].append(index)
        self.ops.append(OpRecord(index, name, self.module_stack[-1], metas, outs,
                                 tuple(range(before, len(self.nbytes))), cost, False))


def _fused_rnn(rec: _Recorder, mode: str, args: Sequence[Any]) -> Any:
    """``torch.lstm``/``gru``/``rnn_tanh``/``rnn_relu`` (what nn.LSTM, nn.GRU and nn.RNN call)
    recorded as the one fused kernel real devices run, not the thousands of per-token operators
    its decomposition on meta tensors would show. Its memory: the output and final states, and
    a workspace as ATen's CPU kernels allocate it per layer (oneDNN's for LSTM, ATen's loop for
    GRU and RNN) and, past the first layer, the layer below's output.
    None (trace the decomposition) for packed sequences and LSTM projections."""
    if len(args) < 9 or not isinstance(args[3], bool):
        return None  # a PackedSequence: (data, batch_sizes, hx, params, ...)
    x, hx, params = args[0], args[1], list(args[2])
    has_biases, layers = bool(args[3]), int(args[4])
    directions = 2 if bool(args[7]) else 1
    batch_first = bool(args[8])
    states = list(hx) if isinstance(hx, list | tuple) else [hx]
    per = 4 if has_biases else 2  # w_ih, w_hh (, b_ih, b_hh) per layer and direction
    if x.dim() != 3 or len(params) != per * layers * directions:
        return None
    hidden = int(states[0].shape[-1])
    if int(params[1].shape[1]) != hidden:
        return None  # proj_size
    tokens, batch = (int(x.shape[1]), int(x.shape[0])) if batch_first else (int(x.shape[0]),
                                                                            int(x.shape[1]))
    gates = RNN_GATES[mode]
    layer_out = tokens * batch * directions * hidden
    if mode == "lstm":
        # oneDNN: the gates of every token (a batch of one padded to two), the layer's weights
        # reordered into its layout
        weights = [sum(params[(layer * directions + d) * per + i].numel()
                       for d in range(directions) for i in (0, 1)) for layer in range(layers)]
        scratch = max(gates * tokens * max(batch, 2) * directions * hidden + w for w in weights)
        if batch_first and batch > 1:
            scratch += x.numel()  # the input made time-major: a copy
    else:
        # ATen's loop: the input projection of every token, each step's output, then their cat
        scratch = gates * layer_out + layer_out
    scratch += layer_out if layers > 1 else 0
    out_shape = (batch, tokens, directions * hidden) if batch_first else (
        tokens, batch, directions * hidden)
    with rec.pause():
        out = torch.empty(out_shape, dtype=x.dtype, device=x.device)
        finals = [torch.empty(tuple(s.shape), dtype=s.dtype, device=s.device) for s in states]
        work = torch.empty(scratch, dtype=x.dtype, device=x.device)
    whh = sum(params[i * per + 1].numel() * params[i * per + 1].element_size()
              for i in range(layers * directions))
    cost = rnn_cost(mode, tokens, batch, int(x.shape[-1]), hidden, layers, directions, whh)
    rec.record_fused(f"aten.{mode}", [x, *states, *params], [out, *finals], cost, [work])
    del work
    return (out, *finals)


_RNN_FUNCTIONS = {torch.lstm: "lstm", torch.gru: "gru", torch.rnn_tanh: "rnn_tanh",
                  torch.rnn_relu: "rnn_relu"}
def _tensors(*values: Any) -> list[torch.Tensor]:
    """The tensors in an operator's arguments or results, in order: what ``tree_flatten``
    finds in the lists, tuples and dicts aten operators take and return, without its cost."""
    found: list[torch.Tensor] = []
    stack = list(reversed(values))
    while stack:
        v = stack.pop()
        if isinstance(v, torch.Tensor):
            found.append(v)
        elif isinstance(v, list | tuple):
            stack.extend(reversed(v))
        elif isinstance(v, dict):
            stack.extend(reversed(list(v.values())))
    return found


def _run_on_cpu(func: Any, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
    """Run one operator on zero-filled CPU tensors and return meta tensors of the same layout."""

    def to_cpu(x: Any) -> Any:
        if isinstance(x, torch.Tensor) and x.is_meta:
            return torch.zeros_like(x, device="cpu")
        return x

    def to_meta(x: Any) -> Any:
        if isinstance(x, torch.Tensor) and not x.is_meta:
            return torch.empty_strided(x.shape, x.stride(), dtype=x.dtype, device="meta")
        return x

    cpu_args = tree_map(to_cpu, list(args))
    cpu_kwargs = tree_map(to_cpu, dict(kwargs))
    return tree_map(to_meta, func(*cpu_args, **cpu_kwargs))


class _FusedKernels(TorchFunctionMode):
    """Trace attention and recurrent layers as the fused kernels PyTorch runs on real devices.

    RNN, LSTM and GRU layers: see :func:`_fused_rnn`.

    Attention: ``scaled_dot_product_attention``.
    On CPU and CUDA, PyTorch picks a fused attention kernel that never holds the L x S score
    matrix; on meta tensors its kernel choice falls back to the math decomposition, which does.
    Tracing the fused CPU kernel (it has a meta kernel) keeps the memory the network really
    needs; the MACs are the same either way. Only direct calls are seen: a mode is inactive
    inside the function it handles, so nn.MultiheadAttention's internal call (torchvision's
    ViT) still traces as the math path, about 8% above the real peak.
    """

    def __init__(self, recorder: _Recorder):
        super().__init__()
        self.recorder = recorder

    def __torch_function__(self, func: Any, types: Any, args: Sequence[Any] = (),
                           kwargs: Mapping[str, Any] | None = None) -> Any:
        kwargs = dict(kwargs or {})
        mode = _RNN_FUNCTIONS.get(func)
        if mode is not None and not kwargs:
            fused = _fused_rnn(self.recorder, mode, args)
            if fused is not None:
                return fused
        if func is torch.nn.functional.scaled_dot_product_attention and not kwargs.get(
            "enable_gqa"
        ):
            names = ("attn_mask", "dropout_p", "is_causal", "scale")
            given = dict(zip(names, args[3:], strict=False))
            given.update({k: v for k, v in kwargs.items() if k in names})
            q, k, v = args[0], args[1], args[2]
            if q.dim() == 4 and k.dim() == 4 and v.dim() == 4:
                out = torch.ops.aten._scaled_dot_product_flash_attention_for_cpu(
                    q, k, v, float(given.get("dropout_p", 0.0)),
                    bool(given.get("is_causal", False)), attn_mask=given.get("attn_mask"),
                    scale=given.get("scale"),
                )
                return out[0]
        return func(*args, **kwargs)


# --- module hooks -------------------------------------------------------------------------------


@contextlib.contextmanager
def _module_hooks(model: nn.Module, rec: _Recorder, calls: list[ModuleCall]) -> Iterator[None]:
    """Hooks that track the module-call stack; removed on exit, whatever happens."""
    modules = list(model.named_modules())
    names = {id(m): n for n, m in modules}
    children = {id(m): any(True for _ in m.children()) for _, m in modules}
    depth = {id(m): 0 if not n else n.count(".") + 1 for n, m in modules}
    owned = _subtree_params([m for _, m in modules])
    seen: set[int] = set()
    call_count: dict[int, int] = {}
    open_calls: list[tuple[int, str, int, bool, int, int]] = []
    handles = []

    def pre(module: nn.Module, args: Any) -> None:
        with torch._C.DisableTorchFunction():  # our bookkeeping, not the network's calls
            _pre(module)

    def _pre(module: nn.Module) -> None:
        key = id(module)
        recursive = key in seen
        seen.add(key)
        call_count[key] = call_count.get(key, 0) + 1
        name = names[key]
        path = name if call_count[key] == 1 else f"{name}:{call_count[key]}"
        params, pbytes = owned[key]
        open_calls.append((key, path, len(rec.ops), recursive, params, pbytes))
        rec.module_stack.append(path)

    def post(module: nn.Module, args: Any, output: Any) -> None:
        with torch._C.DisableTorchFunction():
            _post(module, output)

    def _post(module: nn.Module, output: Any) -> None:
        key, path, start, recursive, params, pbytes = open_calls.pop()
        rec.module_stack.pop()
        name = names[key]
        if isinstance(output, torch.Tensor):  # most calls: what the general rules give for it
            outputs: tuple[TensorMeta, ...] = (rec.meta(output),)
            output_bytes = output.element_size() * prod(output.shape)
        else:
            out_tensors = [t for t in tree_flatten(output)[0] if isinstance(t, torch.Tensor)]
            outputs = tuple(rec.meta(t) for t in out_tensors)
            size, elem = _torchinfo_size(output)
            output_bytes = elem * _torchinfo_prod(size)
        calls.append(
            ModuleCall(path=path, name=name, type=type(module).__name__, depth=depth[key],
                       start=start, end=len(rec.ops), leaf=not children[key], params=params,
                       param_bytes=pbytes, recursive=recursive, outputs=outputs,
                       torchinfo_output_bytes=output_bytes)
        )

    try:
        for _, m in modules:
            handles.append(m.register_forward_pre_hook(pre))
            handles.append(m.register_forward_hook(post))
        yield
    finally:
        for h in handles:
            h.remove()


def _subtree_params(modules: Sequence[nn.Module]) -> dict[int, tuple[int, int]]:
    """Parameters and their bytes of each module's subtree, each parameter counted once (as
    ``module.parameters()`` yields them), in one pass from the leaves up."""
    ids: dict[int, frozenset[int]] = {}
    size: dict[int, tuple[int, int]] = {}

    def collect(m: nn.Module) -> frozenset[int]:
        key = id(m)
        if key in ids:
            return ids[key]
        own = set()
        for p in m._parameters.values():
            if p is not None:
                own.add(id(p))
                size[id(p)] = (p.numel(), p.numel() * p.element_size())
        for child in m.children():
            own |= collect(child)
        ids[key] = frozenset(own)
        return ids[key]

    out = {}
    for m in modules:
        members = collect(m)
        out[id(m)] = (sum(size[i][0] for i in members), sum(size[i][1] for i in members))
    return out


# --- the entry point ------------------------------------------------------------------------------


def _param_infos(
    items: Sequence[tuple[str, torch.Tensor]], rec: _Recorder, kind: str
) -> tuple[ParamInfo, ...]:
    out = []
    for name, t in items:
        m = rec.remember(t, kind)
        out.append(
            ParamInfo(name, m.shape, m.dtype, t.numel(), m.nbytes, bool(t.requires_grad), m.storage)
        )
    return tuple(out)


def run_trace(
    model: nn.Module,
    inputs: Sequence[torch.Tensor],
    *,
    allow_cpu_fallback: bool = True,
    describe_input: Callable[[], str] | None = None,
    fast_rules: bool = True,
) -> Trace:
    """Run ``model`` once on ``inputs`` (meta tensors) in eval mode without autograd.

    ``model`` must already hold meta parameters (see :mod:`splitcost.network.zoo`); it is put in
    eval mode for the run and its mode and hooks are restored afterwards. ``fast_rules=False``
    runs every meta kernel, skipping the shape rules of :mod:`splitcost.network._fastmeta`
    (the tests compare the two).
    """
    rec = _Recorder(allow_cpu_fallback=allow_cpu_fallback, fast_rules=fast_rules)
    calls: list[ModuleCall] = []
    params = _param_infos(list(model.named_parameters()), rec, "param")
    buffers = _param_infos(list(model.named_buffers()), rec, "buffer")
    in_meta = tuple(rec.meta(t, "input") for t in inputs)
    torchinfo_input = sum(sys.getsizeof(t.untyped_storage()) for t in inputs)
    was_training = model.training
    output: Any = None
    try:
        model.eval()
        with (torch.no_grad(), torch.device("meta"), _FusedKernels(rec),
              _module_hooks(model, rec, calls), rec):
            output = model(*inputs)
    except TraceError:
        raise
    except Exception as e:
        # The network itself refused this input (shape checks, asserts): say where, in one line.
        module = rec.module_stack[-1] if len(rec.module_stack) > 1 else ""
        op = rec.current_op or "its forward"
        where = f"module '{module}'" if module else "the network's forward"
        shown = describe_input() if describe_input else "the given input"
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise TraceError(
            f"the network cannot run on {shown}: {op} in {where} failed: {first}"
        ) from e
    finally:
        model.train(was_training)
    out_tensors = [t for t in tree_flatten(output)[0] if isinstance(t, torch.Tensor)]
    out_meta = tuple(rec.meta(t, "activation") for t in out_tensors)
    layouts = tuple((int(t.storage_offset()), tuple(int(d) for d in t.stride()))
                    for t in out_tensors)
    del output, out_tensors
    rec.close()
    outputs_set = {m.storage for m in out_meta}
    storages = tuple(
        Storage(
            index=i,
            nbytes=rec.nbytes[i],
            kind=rec.kind[i],
            producer=rec.producer[i],
            readers=tuple(rec.readers[i]),
            freed_after=None if i in outputs_set else rec.freed_after[i],
            is_output=i in outputs_set,
        )
        for i in range(len(rec.nbytes))
    )
    calls.sort(key=lambda c: (c.start, -c.end, c.depth))
    return Trace(
        ops=tuple(rec.ops),
        storages=storages,
        calls=tuple(calls),
        inputs=in_meta,
        outputs=out_meta,
        params=params,
        buffers=buffers,
        torchinfo_input_bytes=int(torchinfo_input),
        fallback_ops=tuple(dict.fromkeys(rec.fallback_ops)),
        unsupported_ops=tuple(sorted(rec.unsupported)),
        output_layouts=layouts,
    )
