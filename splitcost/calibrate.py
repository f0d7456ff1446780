"""Calibration: time real networks on this machine and fit a device profile to the timings.

Why: the roofline of :mod:`splitcost.latency` is only as good as the device profile's
efficiencies and per-operator overhead, and vendor peaks say little about what PyTorch eager
achieves. ``calibrate()`` measures the machine it runs on and writes a profile that ``--device``
accepts:

1. **peaks**: FP32 throughput (a large GEMM; on CPU also a large 3x3 convolution, because oneDNN's
   convolutions beat the BLAS GEMM on some CPUs) and memory bandwidth (the best of copies of a
   few sizes; bytes moved = read + written, as :func:`splitcost.cost.op_work` counts them). The
   best, because the fitted efficiencies must stay in (0, 1] relative to these figures;
2. **blocks**: for each calibration model (a real torchvision backbone with random weights,
   ``eval()``, ``torch.no_grad()``), the inputs of its module-frontier blocks
   (:func:`splitcost.cuts.module_frontier`, the blocks ``sweep`` cuts at) are captured in one
   real forward pass, then each block is timed alone with ``torch.utils.benchmark.Timer``
   (a warm-up call, then ``blocked_autorange``); the whole backbone is timed too;
3. **fit**: the six efficiencies and ``op_overhead`` minimise a robust (soft-L1) loss of the log
   error between the roofline prediction (:func:`splitcost.latency.op_time` over
   :func:`splitcost.cost.op_work` of each block's operators) and the measured times: a
   coordinate grid search, then Levenberg-Marquardt with reweighting, numpy only;
4. **error band**: leave-one-model-out: fit without model m, predict m's whole backbone; the
   median absolute relative error over the models is written as ``compute.latency_error``;
5. **profile**: a device TOML with a ``[sources]`` entry for every figure (kind ``measured`` or
   ``calibrated``, with how, when and with what it was measured), written atomically.

Timing on a machine that is not idle: every probe and block is timed once per round, rounds
interleaved, and keeps its fastest time (a ``blocked_autorange`` block's mean): other processes
only ever add time, and a preempted OpenMP thread stalls all the others at the next barrier. A
measurement during which other processes used the cores we need (read from /proc/stat) is
retried, and a time that never had a quiet measurement is flagged ``disturbed``.

Nothing here prints; progress goes to an optional ``progress(stage, done, total)`` callback.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils._pytree import tree_map

from splitcost.cost import op_work
from splitcost.cuts import module_frontier
from splitcost.errors import InputError
from splitcost.latency import OpWork, compute_time, op_time
from splitcost.profiles import OP_CLASSES, Device, Efficiency, Source, load_device
from splitcost.profiling import Profile, profile
from splitcost.zoo import BackboneInfo, build, resolve

Progress = Callable[[str, int, int], None]

# Dense 3x3 convolutions (resnet18); inverted residuals with depthwise, squeeze-excite and
# hardswish at realistic widths (mobilenet_v3_large; the _small variant's layers are so small that
# per-operator overhead is all they measure); depthwise 3x3 and 5x5 with SiLU (efficientnet_b0);
# pooling and concatenation (squeezenet1_1); matmul, layer norm and softmax (swin_t). Every
# operator class, ~65 blocks, ~90 ms of compute per pass on two 2020s x86 cores.
DEFAULT_MODELS = ("resnet18", "mobilenet_v3_large", "efficientnet_b0", "squeezenet1_1", "swin_t")
INPUT_SHAPE = (3, 224, 224)
PARAMETERS = (*OP_CLASSES, "memory")  # the fitted efficiencies, in Efficiency's field order
EFFICIENCY_FLOOR = 1e-4
OVERHEAD_RANGE = (1e-8, 1e-2)  # seconds per operator
PRIOR_WEIGHT = 1e-5  # pulls an efficiency no block constrains towards 0.5, barely moving others
WHOLE_WEIGHT = 3.0  # a whole backbone counts as much as three blocks in the fit
ROBUST_SCALE = 0.1  # soft-L1 loss: log errors beyond ~10% count linearly
IRLS_ROUNDS = 4  # least-squares solves, each reweighted from the previous one's errors
DEFAULT_MIN_RUN_TIME = 0.1  # seconds per task and round
DEFAULT_ROUNDS = 3
QUIET_MARGIN = 0.25  # cores other processes may use beyond the ones we leave idle
RETRIES = 3  # extra tries of a disturbed measurement
QUIET_WAIT_S = 2.0  # longest wait for other processes' burst to pass before a retry
PRECISION = "fp32"


# --- results -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Peaks:
    """What the machine achieves on ideal kernels. FLOP/s and bytes/s."""

    gemm_flops: float  # n x n x n FP32 matmul
    gemm_n: int
    conv_flops: float | None  # 3x3 convolution (CPU only; None on CUDA, where TF32 would count)
    conv_shape: str
    copies: tuple[tuple[int, float], ...]  # (tensor bytes, bytes read + written per second)

    @property
    def fp32(self) -> float:
        """The FP32 peak written to the profile: the best of the GEMM and the convolution."""
        return max(self.gemm_flops, self.conv_flops or 0.0)

    @property
    def bandwidth(self) -> float:
        """The bandwidth written to the profile: the best copy. Batch-1 activations are a few
        MB, so on a CPU they live in cache and beat a DRAM-sized copy; the efficiencies must
        stay at most 1 relative to what the machine can do."""
        return max(b for _, b in self.copies)

    @property
    def dram_bandwidth(self) -> float:
        """The largest copy's bandwidth (DRAM on every machine here)."""
        return max(self.copies)[1]

    def to_dict(self) -> dict[str, Any]:
        return {
            "fp32_flops": self.fp32,
            "gemm_flops": self.gemm_flops,
            "gemm_n": self.gemm_n,
            "conv_flops": self.conv_flops,
            "conv_shape": self.conv_shape,
            "bandwidth": self.bandwidth,
            "dram_bandwidth": self.dram_bandwidth,
            "copies": [{"bytes": n, "bandwidth": b} for n, b in self.copies],
        }


@dataclass(frozen=True)
class Sample:
    """One timed piece of a network and the roofline inputs of its operators."""

    model: str
    block: str  # module path, or WHOLE for the whole backbone
    start: int  # operator range [start, end) in the model's trace
    end: int
    work: tuple[OpWork, ...]
    measured_s: float
    disturbed: bool = False  # every measurement of it overlapped other processes' work

    @property
    def flops(self) -> int:
        return sum(w.flops for w in self.work)

    @property
    def bytes_moved(self) -> int:
        return sum(w.bytes_moved for w in self.work if w.op_class != "view")

    @property
    def priced(self) -> bool:
        """Whether the roofline gives it any time at all (a block of views costs nothing)."""
        return any(w.op_class != "view" for w in self.work)


WHOLE = "(whole backbone)"


@dataclass(frozen=True)
class ModelTiming:
    """A backbone traced on meta tensors and timed for real, block by block and whole."""

    name: str
    profile: Profile = field(repr=False)
    blocks: tuple[Sample, ...]
    whole: Sample


@dataclass(frozen=True)
class BlockFit:
    """One block's measured time beside the fitted device's prediction."""

    model: str
    block: str
    ops: int
    flops: int
    bytes_moved: int
    measured_s: float
    predicted_s: float
    disturbed: bool = False

    @property
    def error(self) -> float:
        """Relative error of the prediction: predicted / measured - 1."""
        return self.predicted_s / self.measured_s - 1.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "block": self.block,
            "ops": self.ops,
            "flops": self.flops,
            "bytes_moved": self.bytes_moved,
            "measured_s": self.measured_s,
            "predicted_s": self.predicted_s,
            "error": self.error,
            "disturbed": self.disturbed,
        }


@dataclass(frozen=True)
class ModelFit:
    """A whole backbone: measured, predicted by the fit, and predicted by a fit without it."""

    model: str
    measured_s: float
    predicted_s: float
    held_out_s: float | None  # leave-one-model-out prediction; None with a single model
    disturbed: bool = False

    @property
    def error(self) -> float:
        return self.predicted_s / self.measured_s - 1.0

    @property
    def held_out_error(self) -> float | None:
        return None if self.held_out_s is None else self.held_out_s / self.measured_s - 1.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "measured_s": self.measured_s,
            "predicted_s": self.predicted_s,
            "error": self.error,
            "held_out_predicted_s": self.held_out_s,
            "held_out_error": self.held_out_error,
            "disturbed": self.disturbed,
        }


@dataclass(frozen=True)
class Fit:
    """Fitted efficiencies and per-operator overhead, and how well they fit."""

    efficiency: Efficiency
    op_overhead_s: float
    rms_log_error: float  # weighted root-mean-square of log(predicted / measured)
    samples: int
    unconstrained: tuple[str, ...] = ()  # efficiencies no sample's prediction depends on

    def status(self, key: str) -> str:
        """How the data determined one efficiency, in words."""
        if key in self.unconstrained:
            return ("only bounded below: every such operator is bound by the other roofline "
                    "term, and any larger value predicts the same times")
        if getattr(self.efficiency, key) >= 1.0 - 1e-9:
            return "at the upper bound 1: the data wanted it faster than the measured peak"
        return "fitted"

    def to_dict(self) -> dict[str, Any]:
        return {
            "efficiency": {k: getattr(self.efficiency, k) for k in PARAMETERS},
            "op_overhead_s": self.op_overhead_s,
            "rms_log_error": self.rms_log_error,
            "samples": self.samples,
            "unconstrained": list(self.unconstrained),
        }


@dataclass(frozen=True)
class Setup:
    """The conditions of one calibration run (they go into every source note)."""

    date: str
    torch: str
    threads: int
    torch_device: str
    host: str
    models: tuple[str, ...]
    batch: int
    min_run_time_s: float
    rounds: int

    @property
    def when(self) -> str:
        return (f"splitcost calibrate on {self.date}, torch {self.torch}, {self.threads} "
                f"threads, {self.torch_device}")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["models"] = list(self.models)
        d["input_shape"] = list(INPUT_SHAPE)
        return d


@dataclass(frozen=True)
class CalibrationResult:
    """What ``calibrate()`` measured, fitted and wrote."""

    path: str
    device: Device  # the profile as written and loaded back
    peaks: Peaks
    fit: Fit
    latency_error: float
    error_method: str
    blocks: tuple[BlockFit, ...]
    models: tuple[ModelFit, ...]
    setup: Setup

    def to_dict(self) -> dict[str, Any]:
        d = self.device
        return {
            "path": self.path,
            "device": d.name,
            "figures": {
                "memory_total_bytes": d.memory_total,
                "memory_usable_bytes": d.memory_usable,
                "runtime_overhead_bytes": d.runtime_overhead,
                "memory_bandwidth_bytes_per_s": d.memory_bandwidth,
                "fp32_flops": d.peak_flops["fp32"],
                "efficiency": {k: getattr(d.efficiency, k) for k in PARAMETERS},
                "op_overhead_s": d.op_overhead_s,
                "latency_error": self.latency_error,
            },
            "peaks": self.peaks.to_dict(),
            "fit": self.fit.to_dict(),
            "error_method": self.error_method,
            "blocks": [b.to_dict() for b in self.blocks],
            "models": [m.to_dict() for m in self.models],
            "setup": self.setup.to_dict(),
        }


# --- measuring ---------------------------------------------------------------------------------


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run with ``n`` intra-op threads, then restore the caller's setting."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def time_call(fn: Callable[[], Any], min_run_time: float, threads: int) -> float:
    """Seconds per call of ``fn``: a warm-up call, then the fastest block of
    ``torch.utils.benchmark.Timer.blocked_autorange`` (see the module docstring for why the
    fastest). The timer synchronises CUDA around each block."""
    from torch.utils.benchmark import Timer

    fn()
    timer = Timer(stmt="fn()", globals={"fn": fn}, num_threads=threads)
    m = timer.blocked_autorange(min_run_time=min_run_time)
    return float(min(m.times))


@dataclass(frozen=True)
class Task:
    """Something to time: a key and a call."""

    key: str
    fn: Callable[[], Any]


def _cpu_seconds() -> tuple[float, float] | None:
    """(busy CPU seconds of the whole machine, CPU seconds of this process), or None where
    /proc/stat is missing. Both tick at 1/CLK_TCK (10 ms)."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return None
    ticks = [int(v) for v in fields]
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle + iowait
    busy = (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK")
    own = os.times()
    return busy, own.user + own.system


def others_load(before: tuple[float, float] | None, after: tuple[float, float] | None,
                wall_s: float) -> float:
    """How many cores other processes kept busy between two :func:`_cpu_seconds` readings
    (0 where they are unavailable)."""
    if before is None or after is None or wall_s <= 0:
        return 0.0
    return max(0.0, (after[0] - before[0]) - (after[1] - before[1])) / wall_s


@dataclass(frozen=True)
class Timed:
    """A task's fastest time, and how many of its measurements other processes disturbed."""

    seconds: float
    clean: int
    disturbed: int


def wait_quiet(quiet: float, max_wait_s: float = QUIET_WAIT_S, poll_s: float = 0.2) -> None:
    """Sleep until other processes use at most ``quiet`` cores over one poll (a burst of
    another job has passed), or ``max_wait_s`` has elapsed."""
    deadline = time.perf_counter() + max_wait_s
    while time.perf_counter() < deadline:
        before = _cpu_seconds()
        if before is None:
            return
        time.sleep(poll_s)
        if others_load(before, _cpu_seconds(), poll_s) <= quiet:
            return


def _measure_once(t: Task, min_run_time: float, threads: int) -> tuple[float, float]:
    """(seconds per call, cores other processes used meanwhile)."""
    before, start = _cpu_seconds(), time.perf_counter()
    s = time_call(t.fn, min_run_time, threads)
    return s, others_load(before, _cpu_seconds(), time.perf_counter() - start)


def time_interleaved(tasks: Sequence[Task], *, rounds: int, min_run_time: float, threads: int,
                     progress: Progress | None = None, stage: str = "timing",
                     retries: int = RETRIES, cores: int | None = None) -> dict[str, Timed]:
    """The fastest time of each task over ``rounds`` passes over all of them.

    Why interleaved: on a shared machine another process's burst lasts seconds; timing every
    task once per pass spreads each task's repeats over the whole run, so a burst spoils one
    repeat of a task rather than all of them. A measurement during which other processes kept
    busy more than the cores we leave idle (+ a margin; read from /proc/stat) is disturbed: it is
    retried up to ``retries`` times once the machine is quiet again (or a few seconds have
    passed), and the fastest clean measurement wins when there is one.
    ``cores``: the cores the tasks keep busy (default ``threads``; 1 for CUDA, whose work one
    thread launches).
    """
    quiet = max(0, (os.cpu_count() or 1) - (cores or threads)) + QUIET_MARGIN
    clean: dict[str, list[float]] = {t.key: [] for t in tasks}
    dirty: dict[str, list[float]] = {t.key: [] for t in tasks}
    total = rounds * len(tasks)
    with torch_threads(threads), torch.no_grad():
        for r in range(rounds):
            for i, t in enumerate(tasks):
                if progress:
                    progress(stage, r * len(tasks) + i, total)
                for attempt in range(retries + 1):
                    if attempt:
                        wait_quiet(quiet)
                    s, load = _measure_once(t, min_run_time, threads)
                    (clean if load <= quiet else dirty)[t.key].append(s)
                    if load <= quiet:
                        break
    if progress:
        progress(stage, total, total)
    return {k: Timed(min(clean[k] or dirty[k]), len(clean[k]), len(dirty[k])) for k in clean}


COPY_SIZES = {"cpu": (2 << 20, 8 << 20, 256 << 20), "cuda": (32 << 20, 256 << 20)}
CONV = (256, 56)  # channels, height = width of the 3x3 convolution probe (CPU)


def peak_tasks(torch_device: str) -> tuple[list[Task], dict[str, float]]:
    """The peak probes and the work (FLOPs or bytes moved) each does per call."""
    cuda = torch_device == "cuda"
    n = 4096 if cuda else 2048
    a, b = (torch.randn(n, n, device=torch_device) for _ in range(2))
    tasks = [Task(f"gemm:{n}", partial(torch.mm, a, b))]
    work = {f"gemm:{n}": 2.0 * n**3}
    if not cuda:
        c, hw = CONV
        x, w = torch.randn(1, c, hw, hw), torch.randn(c, c, 3, 3)
        tasks.append(Task("conv", partial(torch.nn.functional.conv2d, x, w, padding=1)))
        work["conv"] = 2.0 * c * c * 9 * hw * hw
    for size in COPY_SIZES[torch_device]:
        src = torch.empty(size // 4, device=torch_device).fill_(1.0)
        dst = torch.empty_like(src)
        tasks.append(Task(f"copy:{size}", partial(dst.copy_, src)))
        work[f"copy:{size}"] = 2.0 * size  # read + written
    return tasks, work


def peaks_from(times: dict[str, Timed], work: dict[str, float]) -> Peaks:
    """Throughputs of the peak probes from their times."""
    rate = {k: work[k] / times[k].seconds for k in work}
    gemm_key = next(k for k in rate if k.startswith("gemm:"))
    conv = rate.get("conv")
    shape = (f"1x{CONV[0]}x{CONV[1]}x{CONV[1]} input, {CONV[0]} 3x3 filters" if conv else
             "not measured on CUDA (cuDNN would use TF32)")
    copies = tuple(sorted((int(k.split(":")[1]), v) for k, v in rate.items()
                          if k.startswith("copy:")))
    return Peaks(rate[gemm_key], int(gemm_key.split(":")[1]), conv, shape, copies)


def real_backbone(info: BackboneInfo, torch_device: str) -> nn.Module:
    """A real torchvision backbone (random weights, seed 0, ``eval()``) on ``torch_device``:
    the same modules as ``profile(name)`` traces on meta tensors."""
    torch.manual_seed(0)
    return build(info, real=True)[0].eval().to(torch_device)


def _detached(value: Any) -> Any:
    """A copy of a block's input that later in-place operators cannot change."""
    return tree_map(lambda t: t.detach().clone() if isinstance(t, torch.Tensor) else t, value)


def capture_inputs(model: nn.Module, paths: Sequence[tuple[str, str]], x: torch.Tensor
                   ) -> dict[str, tuple[tuple[Any, ...], dict[str, Any]]]:
    """The real (args, kwargs) of each module call named in ``paths`` ((path, module name)
    pairs; a path ``name:N`` is the module's N-th call, as the trace names it), from one
    forward pass on ``x``. Hooks are removed afterwards."""
    wanted = {p for p, _ in paths}
    counts: dict[str, int] = {}
    captured: dict[str, tuple[tuple[Any, ...], dict[str, Any]]] = {}
    handles = []

    def hook_for(name: str) -> Callable[..., None]:
        def hook(module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
            counts[name] = counts.get(name, 0) + 1
            path = name if counts[name] == 1 else f"{name}:{counts[name]}"
            if path in wanted:
                captured[path] = (_detached(args), _detached(kwargs))

        return hook

    try:
        for name in sorted({n for _, n in paths}):
            module = model.get_submodule(name)
            handles.append(module.register_forward_pre_hook(hook_for(name), with_kwargs=True))
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
    return captured


@dataclass(frozen=True)
class Prepared:
    """A backbone ready to time: its meta profile, its frontier blocks and their real calls."""

    name: str
    profile: Profile = field(repr=False)
    blocks: tuple[tuple[str, int, int], ...]  # (path, start, end) of each timed block
    tasks: tuple[Task, ...] = field(repr=False)  # one per block, then the whole backbone


def prepare(info: BackboneInfo, *, torch_device: str = "cpu", batch: int = 1) -> Prepared:
    """Trace ``info``'s backbone on meta tensors, build it for real and capture the real input
    of each of its frontier blocks (:func:`splitcost.cuts.module_frontier`)."""
    p = profile(info.name, INPUT_SHAPE, batch=batch)
    calls = module_frontier(p.trace)
    model = real_backbone(info, torch_device)
    torch.manual_seed(1)
    x = torch.randn(batch, *INPUT_SHAPE, device=torch_device)
    inputs = capture_inputs(model, [(c.path, c.name) for c in calls], x)
    blocks, tasks = [], []
    for c in calls:
        if c.path not in inputs:
            continue
        module = model.get_submodule(c.name)
        args, kwargs = inputs[c.path]
        blocks.append((c.path, c.start, c.end))
        tasks.append(Task(f"{info.name}/{c.path}", partial(module, *args, **kwargs)))
    tasks.append(Task(f"{info.name}/{WHOLE}", partial(model, x)))
    return Prepared(info.name, p, tuple(blocks), tuple(tasks))


def timing_of(prep: Prepared, times: dict[str, Timed]) -> ModelTiming:
    """A prepared model's samples, from the times of its tasks."""
    p = prep.profile

    def sample(path: str, start: int, end: int) -> Sample:
        t = times[f"{prep.name}/{path}"]
        return Sample(prep.name, path, start, end, tuple(op_work(p, start, end)), t.seconds,
                      disturbed=t.clean == 0)

    blocks = tuple(sample(path, start, end) for path, start, end in prep.blocks)
    return ModelTiming(prep.name, p, blocks, sample(WHOLE, 0, len(p.trace.ops)))


def time_models(infos: Sequence[BackboneInfo], *, torch_device: str = "cpu", batch: int = 1,
                min_run_time: float = DEFAULT_MIN_RUN_TIME, rounds: int = DEFAULT_ROUNDS,
                threads: int | None = None, retries: int = RETRIES,
                progress: Progress | None = None) -> list[ModelTiming]:
    """Every frontier block and whole backbone of ``infos``, timed for real (interleaved)."""
    threads = threads or torch.get_num_threads()
    prepared = []
    for i, info in enumerate(infos):
        if progress:
            progress("building", i, len(infos))
        prepared.append(prepare(info, torch_device=torch_device, batch=batch))
    tasks = [t for prep in prepared for t in prep.tasks]
    times = time_interleaved(tasks, rounds=rounds, min_run_time=min_run_time, threads=threads,
                             progress=progress, stage="timing blocks", retries=retries,
                             cores=1 if torch_device == "cuda" else threads)
    return [timing_of(prep, times) for prep in prepared]


# --- fitting -----------------------------------------------------------------------------------


class _Problem:
    """The samples as a matrix of operator counts over the distinct operators, so that one
    evaluation prices each distinct operator once with :func:`op_time`."""

    def __init__(self, samples: Sequence[Sample], weights: Sequence[float], device: Device):
        index: dict[OpWork, int] = {}
        for s in samples:
            for w in s.work:
                if w.op_class != "view":
                    index.setdefault(w, len(index))
        self.works = list(index)
        self.counts = np.zeros((len(samples), len(index)))
        for i, s in enumerate(samples):
            for w in s.work:
                if w.op_class != "view":
                    self.counts[i, index[w]] += 1
        self.log_measured = np.log([s.measured_s for s in samples])
        self.weights = np.asarray(weights, dtype=float)
        self.sqrt_w = np.sqrt(self.weights)
        self.base = device

    def device(self, theta: np.ndarray) -> Device:
        eff = Efficiency(*(float(v) for v in np.exp(theta[:6])))
        return replace(self.base, efficiency=eff, op_overhead_s=float(np.exp(theta[6])))

    def predict(self, theta: np.ndarray) -> np.ndarray:
        dev = self.device(theta)
        t = np.array([op_time(w, dev, PRECISION) for w in self.works])
        out: np.ndarray = self.counts @ t
        return out

    def log_errors(self, theta: np.ndarray) -> np.ndarray:
        out: np.ndarray = np.log(self.predict(theta)) - self.log_measured
        return out

    def residuals(self, theta: np.ndarray) -> np.ndarray:
        fit = self.log_errors(theta) * self.sqrt_w
        prior = math.sqrt(PRIOR_WEIGHT) * (theta[:6] - math.log(0.5))
        return np.concatenate([fit, prior])

    def reweight(self, theta: np.ndarray) -> None:
        """Soft-L1 weights (iteratively reweighted least squares): a sample whose log error is
        well beyond ROBUST_SCALE counts linearly rather than squared, so that a few blocks the
        roofline cannot describe (a lone in-place ReLU costs far less than one per-operator
        overhead) do not bend the fit for all the others."""
        r = self.log_errors(theta)
        self.sqrt_w = np.sqrt(self.weights / np.sqrt(1.0 + (r / ROBUST_SCALE) ** 2))


def _bounds() -> tuple[np.ndarray, np.ndarray]:
    lower = np.array([math.log(EFFICIENCY_FLOOR)] * 6 + [math.log(OVERHEAD_RANGE[0])])
    upper = np.array([0.0] * 6 + [math.log(OVERHEAD_RANGE[1])])
    return lower, upper


def _jacobian(f: Callable[[np.ndarray], np.ndarray], theta: np.ndarray, r: np.ndarray,
              upper: np.ndarray) -> np.ndarray:
    """Forward differences (backward at an upper bound, so the probe stays feasible)."""
    h = 1e-4
    cols = []
    for j in range(theta.size):
        step = -h if theta[j] + h > upper[j] else h
        probe = theta.copy()
        probe[j] += step
        cols.append((f(probe) - r) / step)
    return np.stack(cols, axis=1)


def levenberg_marquardt(f: Callable[[np.ndarray], np.ndarray], theta0: np.ndarray,
                        lower: np.ndarray, upper: np.ndarray, iterations: int = 60
                        ) -> tuple[np.ndarray, float]:
    """Minimise ``|f(theta)|^2`` within box bounds (steps projected onto the box)."""
    theta = np.clip(theta0, lower, upper)
    r = f(theta)
    cost = float(r @ r)
    damping = 1e-2
    for _ in range(iterations):
        jac = _jacobian(f, theta, r, upper)
        grad = jac.T @ r
        hess = jac.T @ jac
        accepted, gain = False, 0.0
        while damping < 1e10:
            scaled = hess + damping * np.diag(np.diag(hess) + 1e-9)
            cand = np.clip(theta - np.linalg.solve(scaled, grad), lower, upper)
            rc = f(cand)
            cc = float(rc @ rc)
            if cc < cost:
                accepted = True
                gain = cost - cc
                theta, r, cost = cand, rc, cc
                damping = max(damping / 3, 1e-9)
                break
            damping *= 4
        if not accepted or gain < 1e-12 * max(cost, 1e-30):
            break
    return theta, cost


def coordinate_search(cost: Callable[[np.ndarray], float], theta: np.ndarray,
                      lower: np.ndarray, upper: np.ndarray, sweeps: int = 2, points: int = 17
                      ) -> np.ndarray:
    """Each parameter in turn set to the best of a grid over its whole range.

    Why: the roofline's ``max`` leaves flat regions (an efficiency has no effect while every
    operator of its class is bound by the other term), where a gradient method cannot move; a
    grid steps over them to the basin a gradient method can then polish.
    """
    theta = theta.copy()
    for _ in range(sweeps):
        for j in range(theta.size):
            values = np.append(np.linspace(lower[j], upper[j], points), theta[j])
            costs = []
            for v in values:
                probe = theta.copy()
                probe[j] = v
                costs.append(cost(probe))
            theta[j] = values[int(np.argmin(costs))]
    return theta


def fit(samples: Sequence[Sample], device: Device, weights: Sequence[float] | None = None
        ) -> Fit:
    """Efficiencies and ``op_overhead`` of ``device`` (its peaks and bandwidth kept) that make
    the roofline reproduce the samples' measured times: a coordinate grid search, then
    Levenberg-Marquardt on the log errors, reweighted to a soft-L1 loss (robust to the few
    blocks the roofline cannot describe; the targets are median errors)."""
    priced = [(s, w) for s, w in zip(samples, weights or [1.0] * len(samples), strict=True)
              if s.priced and s.measured_s > 0]
    if not priced:
        raise InputError("nothing to fit: no timed block contains a priced operator")
    problem = _Problem([s for s, _ in priced], [w for _, w in priced], device)
    lower, upper = _bounds()

    def cost(theta: np.ndarray) -> float:
        r = problem.residuals(theta)
        return float(r @ r)

    theta0 = np.array([math.log(0.5)] * 6 + [math.log(1e-5)])
    theta = coordinate_search(cost, theta0, lower, upper)
    for i in range(IRLS_ROUNDS):
        if i:
            problem.reweight(theta)
        theta, _ = levenberg_marquardt(problem.residuals, theta, lower, upper)
    dev = problem.device(theta)
    logs, w = problem.log_errors(theta), problem.weights
    rms = float(np.sqrt((w * logs**2).sum() / w.sum()))
    return Fit(dev.efficiency, dev.op_overhead_s, rms, len(priced), unconstrained(problem, theta))


def unconstrained(problem: _Problem, theta: np.ndarray) -> tuple[str, ...]:
    """The efficiencies that only have a lower bound: doubling one changes no prediction (each
    operator of its class is bound by the other roofline term), so the prior chose it."""
    base = problem.predict(theta)
    out = []
    for j, key in enumerate(PARAMETERS):
        doubled = theta.copy()
        doubled[j] += math.log(2)
        if np.allclose(problem.predict(doubled), base, rtol=1e-9, atol=0):
            out.append(key)
    return tuple(out)


def fitted_device(device: Device, f: Fit) -> Device:
    return replace(device, efficiency=f.efficiency, op_overhead_s=f.op_overhead_s)


def predict(sample: Sample, device: Device) -> float:
    """The roofline's time for a sample's operators on ``device``."""
    return compute_time(sample.work, device, PRECISION)


def _samples_and_weights(timings: Sequence[ModelTiming]) -> tuple[list[Sample], list[float]]:
    samples: list[Sample] = []
    weights: list[float] = []
    for t in timings:
        samples += [*t.blocks, t.whole]
        weights += [1.0] * len(t.blocks) + [WHOLE_WEIGHT]
    return samples, weights


def fit_models(timings: Sequence[ModelTiming], device: Device) -> Fit:
    """The fit over every block and whole backbone of ``timings``."""
    samples, weights = _samples_and_weights(timings)
    return fit(samples, device, weights)


def held_out_predictions(timings: Sequence[ModelTiming], device: Device,
                         progress: Progress | None = None) -> list[float | None]:
    """Each model's whole-backbone time predicted by a fit on the other models only."""
    if len(timings) < 2:
        return [None] * len(timings)
    out: list[float | None] = []
    for i, t in enumerate(timings):
        if progress:
            progress("leave-one-model-out fits", i, len(timings))
        f = fit_models([o for j, o in enumerate(timings) if j != i], device)
        out.append(predict(t.whole, fitted_device(device, f)))
    if progress:
        progress("leave-one-model-out fits", len(timings), len(timings))
    return out


def error_band(models: Sequence[ModelFit], blocks: Sequence[BlockFit]) -> tuple[float, str]:
    """The latency model's relative error band and how it was obtained."""
    held = [abs(e) for m in models if (e := m.held_out_error) is not None]
    if held:
        return (max(float(np.median(held)), 1e-3),
                f"leave-one-model-out median absolute error of whole-backbone predictions over "
                f"{len(held)} models")
    errors = [abs(b.error) for b in blocks] + [abs(m.error) for m in models]
    return (max(float(np.median(errors)), 1e-3),
            "in-sample median absolute error of block predictions (one model: no hold-out, "
            "optimistic)")


# --- host facts ----------------------------------------------------------------------------------


def host_memory() -> tuple[int, int, str]:
    """(total, available) bytes of host RAM and where they were read."""
    try:
        fields = {}
        for line in Path("/proc/meminfo").read_text().splitlines():
            key, _, value = line.partition(":")
            parts = value.split()
            if parts and parts[0].isdigit():
                fields[key] = int(parts[0]) * 1024
        return fields["MemTotal"], fields["MemAvailable"], "/proc/meminfo MemTotal, MemAvailable"
    except (OSError, KeyError):
        page = os.sysconf("SC_PAGE_SIZE")
        total = page * os.sysconf("SC_PHYS_PAGES")
        return total, page * os.sysconf("SC_AVPHYS_PAGES"), "sysconf PHYS_PAGES, AVPHYS_PAGES"


def cuda_memory() -> tuple[int, int, str]:
    free, total = torch.cuda.mem_get_info()
    return int(total), int(free), "torch.cuda.mem_get_info() (total, free)"


_RUNTIME_SCRIPT = """
import sys, torch
dev = sys.argv[1]
x = torch.ones(1, 3, 32, 32, device=dev)
w = torch.ones(8, 3, 3, 3, device=dev)
torch.nn.functional.conv2d(x, w)
if dev == "cuda":
    torch.cuda.synchronize()
    free, total = torch.cuda.mem_get_info()
    print("device_used", total - free)
rss = None
try:
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1]) * 1024
except OSError:
    import resource
    scale = 1 if sys.platform == "darwin" else 1024
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale
print("rss", rss)
"""


def runtime_overhead(torch_device: str) -> tuple[int, str]:
    """Per-process memory cost of running a network, measured in a fresh subprocess that
    imports torch and runs one convolution: its resident set on CPU; on CUDA, the device memory
    it takes (its context and allocator), its host RSS given in the note."""
    before = 0
    if torch_device == "cuda":
        free, total = torch.cuda.mem_get_info()
        before = total - free
    try:
        done = subprocess.run([sys.executable, "-c", _RUNTIME_SCRIPT, torch_device],
                              capture_output=True, text=True, timeout=300, check=True)
    except (OSError, subprocess.SubprocessError) as e:
        raise InputError(f"could not measure the runtime overhead in a subprocess: {e}") from None
    values = dict(line.split() for line in done.stdout.splitlines() if line.count(" ") == 1)
    rss = int(values["rss"])
    what = "a 3x3 convolution on 1x3x32x32"
    if torch_device == "cuda":
        used = int(values["device_used"]) - before
        return used, (f"CUDA memory taken by a fresh subprocess that imported torch and ran {what} "
                      f"on the GPU (mem_get_info before/after); its host RSS was "
                      f"{rss / 1e6:.0f} MB")
    return rss, f"VmRSS of a fresh subprocess that imported torch and ran {what} on the CPU"


def host_name(torch_device: str) -> str:
    if torch_device == "cuda":
        return str(torch.cuda.get_device_name())
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    return platform.processor() or platform.machine()


# --- the profile file ----------------------------------------------------------------------------


def _q(text: str) -> str:
    """A TOML basic string (JSON's escapes are valid TOML)."""
    return json.dumps(text, ensure_ascii=False)


def _num(x: float) -> str:
    return f"{x:.6g}"


@dataclass(frozen=True)
class _Figures:
    name: str
    title: str
    role: str
    summary: str
    total: int
    usable: int
    overhead: int
    bandwidth: float
    fp32: float
    efficiency: Efficiency
    op_overhead_s: float
    latency_error: float
    sources: dict[str, Source]


def device_toml(f: _Figures) -> str:
    """The text of a device profile (schema in profiles/README.md)."""
    lines = [
        "# Written by 'splitcost calibrate'; every figure's [sources] entry says how.",
        "schema = 1",
        f"name = {_q(f.name)}",
        f"title = {_q(f.title)}",
        f"role = {_q(f.role)}",
        f"summary = {_q(f.summary)}",
        "",
        "[memory]",
        f"total = {f.total}",
        f"usable = {f.usable}",
        f"runtime_overhead = {f.overhead}",
        f'bandwidth = "{_num(f.bandwidth / 1e9)} GB/s"',
        "",
        "[compute]",
        f'fp32 = "{_num(f.fp32 / 1e9)} GFLOP/s"',
        f'op_overhead = "{_num(f.op_overhead_s * 1e6)} us"',
        f"latency_error = {_num(f.latency_error)}",
        "",
        "[compute.efficiency]",
        *(f"{k} = {_num(getattr(f.efficiency, k))}" for k in PARAMETERS),
        "",
        "[sources]",
    ]
    for key, src in f.sources.items():
        lines.append(f"{_q(key)} = {{ kind = {_q(src.kind)}, ref = {_q(src.ref)}, "
                     f"note = {_q(src.note)} }}")
    return "\n".join(lines) + "\n"


def check_out(out: Path) -> Path:
    """Fail before measuring anything when the profile cannot be written where asked: a file is
    really created and removed next to ``out`` (permission bits say little to root or on
    special file systems)."""
    out = Path(out)
    if out.suffix != ".toml":
        raise InputError(f"--out: expected a .toml file, got {str(out)!r}")
    if out.is_dir():
        raise InputError(f"--out: {str(out)!r} is a directory")
    parent = out.parent
    if not parent.is_dir():
        raise InputError(f"--out: folder {str(parent)!r} does not exist")
    try:
        fd, probe = tempfile.mkstemp(dir=parent, prefix=f".{out.stem}.", suffix=".tmp")
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise InputError(f"--out: cannot write in {str(parent)!r}: {e.strerror or e}") from None
    if out.exists() and not os.access(out, os.W_OK):
        raise InputError(f"--out: cannot replace {str(out)!r} (permission denied)")
    return out


def write_device(out: Path, text: str) -> Device:
    """Check that ``load_device`` accepts ``text``, then write it atomically to ``out``."""
    with tempfile.TemporaryDirectory() as tmp:
        probe = Path(tmp) / out.name
        probe.write_text(text, encoding="utf-8")
        load_device(str(probe))
    try:
        fd, tmp_name = tempfile.mkstemp(dir=out.parent, prefix=f".{out.stem}.", suffix=".tmp")
    except OSError as e:
        raise InputError(f"--out: cannot write in {str(out.parent)!r}: {e.strerror or e}"
                         ) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp_name, out)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        if isinstance(e, OSError):
            raise InputError(f"--out: cannot write {str(out)!r}: {e.strerror or e}") from None
        raise
    return load_device(str(out))


# --- the whole calibration -----------------------------------------------------------------------


def check_models(models: Sequence[str]) -> list[BackboneInfo]:
    """Resolve every calibration model before anything is timed (unknown names fail fast)."""
    names = [m.strip() for m in models if m.strip()]
    if not names:
        raise InputError("--models: give at least one torchvision backbone, e.g. resnet18")
    infos = [resolve(n) for n in names]
    for info in infos:
        if info.source != "torchvision":
            raise InputError(f"--models: {info.requested!r} is not a torchvision model; "
                             "calibration builds real torchvision backbones")
    if len({i.name for i in infos}) != len(infos):
        raise InputError("--models: a model is named twice")
    return infos


def check_torch_device(torch_device: str) -> str:
    key = torch_device.strip().lower()
    if key not in ("cpu", "cuda"):
        raise InputError(f"--torch-device: expected cpu or cuda, got {torch_device!r}")
    if key == "cuda" and not torch.cuda.is_available():
        raise InputError(f"--torch-device cuda: CUDA is not available here (torch "
                         f"{torch.__version__}, built for CUDA {torch.version.cuda or 'none'})")
    return key


def _base_device(name: str, peaks: Peaks) -> Device:
    """A device with the measured peaks and placeholder efficiencies, for fitting."""
    return Device(name=name, title=name, role="edge", summary=name, memory_total=1,
                  memory_usable=1, runtime_overhead=0, memory_bandwidth=peaks.bandwidth,
                  peak_flops={"fp32": peaks.fp32}, efficiency=Efficiency(*[0.5] * 6),
                  op_overhead_s=1e-5)


def _sources(setup: Setup, peaks: Peaks, memory_ref: str, overhead_note: str,
             fit: Fit, fit_note: str, band_note: str) -> dict[str, Source]:
    when = setup.when
    gemm = f"{peaks.gemm_n}x{peaks.gemm_n} FP32 torch.mm: {peaks.gemm_flops / 1e9:.1f} GFLOP/s"
    conv = ("" if peaks.conv_flops is None else
            f"; 3x3 conv2d ({peaks.conv_shape}): {peaks.conv_flops / 1e9:.1f} GFLOP/s")
    copies = ", ".join(f"{n / 2**20:g} MiB: {b / 1e9:.1f} GB/s" for n, b in peaks.copies)
    timing = (f"fastest of {setup.rounds} interleaved rounds of blocked_autorange "
              f"(min_run_time {setup.min_run_time_s:g} s)")
    fitted = Source("calibrated", when, fit_note)
    out = {
        "memory.total": Source("measured", memory_ref, f"{when}: total at calibration time"),
        "memory.usable": Source("measured", memory_ref, f"{when}: available (free) at "
                                "calibration time; other processes change it"),
        "memory.runtime_overhead": Source("measured", when, overhead_note),
        "memory.bandwidth": Source(
            "measured", when, f"best of dst.copy_(src) of float32 tensors of {copies}; bytes = "
            f"read + written (as splitcost counts an operator's bytes); {timing}. The best copy, "
            "not the DRAM-sized one, because batch-1 activations of a few MB stay in cache"),
        "compute.fp32": Source(
            "measured", when, f"best FP32 throughput of {gemm}{conv}; FLOP = 2 x MAC; {timing}"),
        "compute.op_overhead": fitted,
        "compute.latency_error": Source("calibrated", when, band_note),
    }
    for k in PARAMETERS:
        status = fit.status(k)
        out[f"compute.efficiency.{k}"] = (fitted if status == "fitted" else
                                          Source("calibrated", when, f"{status}. {fit_note}"))
    return out


def _setup(infos: Sequence[BackboneInfo], torch_device: str, batch: int, min_run_time: float,
           rounds: int, threads: int) -> Setup:
    return Setup(datetime.date.today().isoformat(), torch.__version__, threads, torch_device,
                 host_name(torch_device), tuple(i.name for i in infos), batch, min_run_time,
                 rounds)


def measure(infos: Sequence[BackboneInfo], setup: Setup, retries: int = RETRIES,
            progress: Progress | None = None) -> tuple[Peaks, list[ModelTiming]]:
    """Build and trace every model, then time the peak probes and every block, interleaved."""
    prepared = []
    for i, info in enumerate(infos):
        if progress:
            progress("building", i, len(infos))
        prepared.append(prepare(info, torch_device=setup.torch_device, batch=setup.batch))
    if progress:
        progress("building", len(infos), len(infos))
    probes, work = peak_tasks(setup.torch_device)
    tasks = [*probes, *(t for prep in prepared for t in prep.tasks)]
    times = time_interleaved(tasks, rounds=setup.rounds, min_run_time=setup.min_run_time_s,
                             threads=setup.threads, progress=progress, stage="timing",
                             retries=retries,
                             cores=1 if setup.torch_device == "cuda" else setup.threads)
    return peaks_from(times, work), [timing_of(prep, times) for prep in prepared]


@dataclass(frozen=True)
class _Evaluation:
    fit: Fit
    blocks: tuple[BlockFit, ...]
    models: tuple[ModelFit, ...]
    band: float
    method: str


def evaluate(timings: Sequence[ModelTiming], base: Device, progress: Progress | None = None
             ) -> _Evaluation:
    """Fit on everything, predict every block and backbone, estimate the error band."""
    if progress:
        progress("fit", 0, 1)
    f = fit_models(timings, base)
    if progress:
        progress("fit", 1, 1)
    device = fitted_device(base, f)
    held = held_out_predictions(timings, base, progress)
    blocks = tuple(BlockFit(b.model, b.block, sum(w.op_class != "view" for w in b.work), b.flops,
                            b.bytes_moved, b.measured_s, predict(b, device), b.disturbed)
                   for t in timings for b in t.blocks)
    models = tuple(ModelFit(t.name, t.whole.measured_s, predict(t.whole, device), h,
                            t.whole.disturbed)
                   for t, h in zip(timings, held, strict=True))
    band, method = error_band(models, blocks)
    return _Evaluation(f, blocks, models, band, method)


def _fit_note(setup: Setup, ev: _Evaluation) -> str:
    block_med = float(np.median([abs(b.error) for b in ev.blocks])) if ev.blocks else math.nan
    disturbed = sum(b.disturbed for b in ev.blocks) + sum(m.disturbed for m in ev.models)
    return (f"fitted to {ev.fit.samples} timed blocks and whole backbones of "
            f"{', '.join(setup.models)} (real torchvision backbones, random weights, eval, "
            f"no_grad, batch {setup.batch}, 3x224x224, fastest of {setup.rounds} interleaved "
            f"rounds) so that splitcost's roofline reproduces the measured times (soft-L1 loss "
            f"on log time; a whole backbone weighs {WHOLE_WEIGHT:g} blocks); in-sample median "
            f"absolute block error {100 * block_med:.1f}%, RMS log error "
            f"{ev.fit.rms_log_error:.3f}; {disturbed} of {len(ev.blocks) + len(ev.models)} "
            f"timings had no measurement free of other processes' load")


def _figures(out: Path, role: str, setup: Setup, peaks: Peaks, ev: _Evaluation) -> _Figures:
    cuda = setup.torch_device == "cuda"
    overhead, overhead_note = runtime_overhead(setup.torch_device)
    total, usable, memory_ref = cuda_memory() if cuda else host_memory()
    where = "CUDA" if cuda else f"{setup.threads} threads"
    title = f"{setup.host} ({where}), PyTorch eager FP32, calibrated {setup.date}"
    return _Figures(
        name=out.stem, title=title, role=role,
        summary=f"this machine as measured by splitcost calibrate: {title}",
        total=total, usable=min(usable, total), overhead=min(overhead, usable - 1),
        bandwidth=peaks.bandwidth, fp32=peaks.fp32, efficiency=ev.fit.efficiency,
        op_overhead_s=ev.fit.op_overhead_s, latency_error=ev.band,
        sources=_sources(setup, peaks, memory_ref, overhead_note, ev.fit, _fit_note(setup, ev),
                         ev.method),
    )


def calibrate(
    out: Path,
    *,
    models: Sequence[str] = DEFAULT_MODELS,
    torch_device: str = "cpu",
    role: str = "edge",
    batch: int = 1,
    min_run_time: float = DEFAULT_MIN_RUN_TIME,
    rounds: int = DEFAULT_ROUNDS,
    threads: int | None = None,
    retries: int = RETRIES,
    progress: Progress | None = None,
) -> CalibrationResult:
    """Measure this machine, fit its device profile and write it to ``out`` (a ``.toml`` file
    whose stem becomes the device's name). Every input is checked before anything is timed.
    ``threads`` defaults to torch's current setting; ``rounds`` passes of ``min_run_time``
    seconds per block; ``retries`` of a measurement that other processes disturbed."""
    out = check_out(Path(out))
    if role not in ("edge", "server"):
        raise InputError(f"--role: expected edge or server, got {role!r}")
    if batch < 1:
        raise InputError(f"--batch: expected an integer of at least 1, got {batch}")
    if min_run_time <= 0 or rounds < 1 or retries < 0 or (threads is not None and threads < 1):
        raise InputError(f"min_run_time, rounds and threads must be positive and retries at "
                         f"least 0, got {min_run_time}, {rounds}, {threads} and {retries}")
    dev_kind = check_torch_device(torch_device)
    infos = check_models(models)
    setup = _setup(infos, dev_kind, batch, min_run_time, rounds,
                   threads or torch.get_num_threads())
    peaks, timings = measure(infos, setup, retries, progress)
    ev = evaluate(timings, _base_device(out.stem, peaks), progress)
    if progress:
        progress("writing the profile", 0, 1)
    written = write_device(out, device_toml(_figures(out, role, setup, peaks, ev)))
    if progress:
        progress("writing the profile", 1, 1)
    return CalibrationResult(str(out), written, peaks, ev.fit, ev.band, ev.method, ev.blocks,
                             ev.models, setup)
