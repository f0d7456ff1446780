"""Timing under ONNX Runtime on the CPU: a module call exported to ONNX and run by an
``InferenceSession`` (all graph optimisations on, sequential execution, ``threads`` intra-op
threads, one inter-op thread), the same way a deployment runs it.

Needs the ``onnxruntime`` extra (``pip install 'splitcost[onnxruntime]'``: onnx and
onnxruntime). Each module call is exported with the TorchScript-based exporter (opset 17,
constants folded, eval mode: batch norms fold into the convolutions before them, as an
exported deployment's do), in memory.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import torch
from torch import nn

from splitcost.errors import InputError

OPSET = 17
INSTALL = "pip install 'splitcost[onnxruntime]'"


def require_onnxruntime() -> Any:
    """The onnxruntime module, or one clear line saying what to install."""
    for name in ("onnx", "onnxruntime"):
        if importlib.util.find_spec(name) is None:
            raise InputError(f"--runtime onnxruntime needs the {name} package: {INSTALL}",
                             parameter="runtime")
    import onnxruntime

    return onnxruntime


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def export(module: nn.Module, args: Sequence[torch.Tensor]) -> bytes:
    """``module(*args)`` as an ONNX model, in memory."""
    buffer = io.BytesIO()
    # Exported from the Python layers: the fused fast-path operators (an encoder layer's
    # _transformer_encoder_layer_fwd) have no ONNX form; ONNX Runtime fuses the layers itself.
    fast = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        with _quiet(), torch.no_grad():
            torch.onnx.export(module, tuple(args), buffer,  # type: ignore[arg-type]
                              dynamo=False, opset_version=OPSET, do_constant_folding=True)
    finally:
        torch.backends.mha.set_fastpath_enabled(fast)
    return buffer.getvalue()


def session(model: bytes, threads: int) -> Any:
    ort = require_onnxruntime()
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])


LAYOUT_OPS = frozenset({"ReorderInput", "ReorderOutput", "Reshape", "Identity", "Flatten"})


def optimized_kernels(model: bytes, threads: int) -> list[str]:
    """The operators of ``model`` after ONNX Runtime's graph optimisations (what it runs), the
    layout changes its NCHWc transformer adds at the graph's edges left out."""
    import onnx

    ort = require_onnxruntime()
    with tempfile.TemporaryDirectory() as tmp:
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        options.optimized_model_filepath = str(Path(tmp) / "optimized.onnx")
        ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
        graph = onnx.load(options.optimized_model_filepath).graph
    return [n.op_type for n in graph.node if n.op_type not in LAYOUT_OPS]


def runner(module: nn.Module, args: Sequence[Any], threads: int
           ) -> tuple[partial[Any] | None, str]:
    """A call that runs ``module(*args)`` under ONNX Runtime, or None and why not when the call
    cannot be exported (a non-tensor argument, an operator the exporter lacks): that block is
    then not timed under this runtime, and the calibration says so."""
    if not args or not all(isinstance(a, torch.Tensor) for a in args):
        return None, "its inputs are not all tensors"
    try:
        s = session(export(module, args), threads)
    except InputError:
        raise
    except Exception as e:  # the exporter and ORT raise many kinds; the reason is kept
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        return None, f"{type(e).__name__}: {first[:160]}"
    graph_inputs = s.get_inputs()
    # The exporter drops an input the graph never reads (a unary op given a second tensor);
    # the ones kept come first and must match in shape.
    used = list(args[:len(graph_inputs)])
    if len(graph_inputs) > len(args) or any(
            list(i.shape) != list(a.shape) for i, a in zip(graph_inputs, used, strict=True)):
        return None, "the exported graph takes other inputs than the module call"
    feeds = {i.name: a.detach().cpu().numpy() for i, a in zip(graph_inputs, used, strict=True)}
    return partial(s.run, None, feeds), ""


def call_overhead_runner(threads: int) -> partial[Any]:
    """A session of one ReLU on one element: what ``session.run`` costs by itself (binding the
    inputs, allocating the outputs), subtracted from every block's time."""
    fn, why = runner(nn.ReLU(), [torch.zeros(1)], threads)
    if fn is None:
        raise InputError(f"ONNX Runtime cannot run a one-ReLU graph here: {why}",
                         parameter="runtime")
    return fn
