"""Timing on this machine: the peak probes and every frontier block of real backbones.

Peaks: FP32 throughput (a large GEMM; on CPU also a large 3x3 convolution, because oneDNN's
convolutions beat the BLAS GEMM on some CPUs) and memory bandwidth (the best of copies of a few
sizes; bytes moved = read + written, as :func:`splitcost.pricing.scenarios.op_work` counts them).
Blocks: for each calibration model (a real torchvision backbone with random weights, ``eval()``,
``torch.no_grad()``), the inputs of its module-frontier blocks
(:func:`splitcost.network.cuts.module_frontier`, the blocks ``sweep`` cuts at) are captured in one
real forward pass, then each block is timed alone with ``torch.utils.benchmark.Timer`` (a warm-up
call, then ``blocked_autorange``); the whole backbone is timed too.

Timing on a machine that is not idle: every probe and block is timed once per round, rounds
interleaved, and keeps its fastest time (a ``blocked_autorange`` block's mean): other processes
only ever add time, and a preempted OpenMP thread stalls all the others at the next barrier. A
measurement during which other processes used the cores we need (read from /proc/stat) is
retried, and a time that never had a quiet measurement is flagged ``disturbed``.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils._pytree import tree_map

from splitcost.calibration.constants import (
    DEFAULT_MIN_RUN_TIME,
    DEFAULT_ROUNDS,
    INPUT_SHAPE,
    PERSISTENT_LOAD,
    QUIET_MARGIN,
    QUIET_WAIT_S,
    RETRIES,
    Progress,
)
from splitcost.calibration.results import (
    WHOLE,
    ModelTiming,
    Peaks,
    Sample,
)
from splitcost.errors import InputError
from splitcost.kinds import Runtime
from splitcost.network.cuts import module_frontier
from splitcost.network.profile import BackboneInfo, Profile
from splitcost.network.profiler import profile
from splitcost.network.zoo import build
from splitcost.pricing.fusion import kernels
from splitcost.pricing.request import op_work


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
    """A task's fastest time, how many of its measurements other processes disturbed, and how
    far its two fastest measurements are apart (0 with one measurement)."""

    seconds: float
    clean: int
    disturbed: int
    spread: float = 0.0


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
    busy = 0  # retries in a row that found the machine busy again
    with torch_threads(threads), torch.no_grad():
        for r in range(rounds):
            for i, t in enumerate(tasks):
                if progress:
                    progress(stage, r * len(tasks) + i, total)
                # Under load that lasts (not a burst), waiting buys nothing: after a few
                # retries in a row that stayed busy, stop retrying until one comes out clean.
                tries = retries + 1 if busy < PERSISTENT_LOAD else 1
                for attempt in range(tries):
                    if attempt:
                        wait_quiet(quiet)
                    s, load = _measure_once(t, min_run_time, threads)
                    (clean if load <= quiet else dirty)[t.key].append(s)
                    if load <= quiet:
                        busy = 0
                        break
                    if attempt:
                        busy += 1
    if progress:
        progress(stage, total, total)
    return {k: _timed(clean[k], dirty[k]) for k in clean}


def _timed(clean: list[float], dirty: list[float]) -> Timed:
    chosen = sorted(clean or dirty)
    spread = chosen[1] / chosen[0] - 1.0 if len(chosen) > 1 and chosen[0] > 0 else 0.0
    return Timed(chosen[0], len(clean), len(dirty), spread)


def paired_difference(first: Callable[[], Any], second: Callable[[], Any], *,
                      pairs: int = 21, block_s: float = 0.005) -> float:
    """Median seconds that one call of ``second`` takes beyond one of ``first``, the two timed
    in alternation (``pairs`` blocks of each, ``block_s`` long): a slow drift or a burst of
    other processes' work moves both of a pair alike and drops out of the difference, and the
    median ignores the pairs a burst split."""
    first(), second()
    start = time.perf_counter()
    first()
    one = max(time.perf_counter() - start, 1e-7)
    calls = max(1, int(block_s / one))
    diffs = []
    for _ in range(pairs):
        t0 = time.perf_counter()
        for _ in range(calls):
            first()
        t1 = time.perf_counter()
        for _ in range(calls):
            second()
        t2 = time.perf_counter()
        diffs.append(((t2 - t1) - (t1 - t0)) / calls)
    diffs.sort()
    return diffs[len(diffs) // 2]


COPY_SIZES = {"cpu": (256 << 10, 2 << 20, 8 << 20, 256 << 20), "cuda": (32 << 20, 256 << 20)}
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
    the same modules as ``profile(name)`` traces on meta tensors. The caller's RNG state is
    kept."""
    with torch.random.fork_rng(devices=[]):
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
    """A backbone ready to time: its meta profile, its frontier blocks and their real calls,
    per runtime (a block the runtime cannot run is left out, with the reason)."""

    name: str
    profile: Profile = field(repr=False)
    blocks: tuple[tuple[str, int, int], ...]  # (path, start, end) of each timed block
    tasks: tuple[Task, ...] = field(repr=False)  # one per block, then the whole backbone
    runtime_tasks: dict[Runtime, tuple[Task, ...]] = field(default_factory=dict, repr=False)
    skipped: tuple[tuple[Runtime, str, str], ...] = ()  # (runtime, block, why)


def input_of(model: nn.Module) -> tuple[int, ...]:
    """A calibration network's input, batch excluded: its ``calibration_input``, else an
    image."""
    shape = getattr(model, "calibration_input", None)
    return tuple(int(d) for d in shape) if shape is not None else INPUT_SHAPE


def task_key(runtime: Runtime, model: str, block: str) -> str:
    return f"{model}/{block}" if runtime is Runtime.EAGER else f"{runtime}:{model}/{block}"


def prepare(info: BackboneInfo, *, torch_device: str = "cpu", batch: int = 1,
            runtimes: Sequence[Runtime] = (Runtime.EAGER,), threads: int = 1) -> Prepared:
    """Build ``info``'s backbone for real, trace it on meta tensors and capture the real input
    of each of its frontier blocks (:func:`splitcost.network.cuts.module_frontier`); a task per
    block and runtime (ONNX Runtime: each block exported and run by its own session)."""
    model = real_backbone(info, torch_device)
    shape = input_of(model)
    p = profile(info.name, shape, batch=batch)
    calls = module_frontier(p.trace)
    x = torch.randn(batch, *shape, device=torch_device,
                    generator=torch.Generator(torch_device).manual_seed(1))
    inputs = capture_inputs(model, [(c.path, c.name) for c in calls], x)
    blocks, tasks = [], []
    for c in calls:
        if c.path not in inputs:
            continue
        module = model.get_submodule(c.name)
        args, kwargs = inputs[c.path]
        blocks.append((c.path, c.start, c.end))
        tasks.append(Task(task_key(Runtime.EAGER, info.name, c.path),
                          partial(module, *args, **kwargs)))
    tasks.append(Task(task_key(Runtime.EAGER, info.name, WHOLE), partial(model, x)))
    by_runtime: dict[Runtime, tuple[Task, ...]] = {Runtime.EAGER: tuple(tasks)}
    skipped: list[tuple[Runtime, str, str]] = []
    if Runtime.ONNXRUNTIME in runtimes:
        from splitcost.calibration.onnx import runner

        ort_tasks = []
        for path, module_args in [*((c.path, (model.get_submodule(c.name), inputs[c.path]))
                                    for c in calls if c.path in inputs),
                                  (WHOLE, (model, ((x,), {})))]:
            module, (args, kwargs) = module_args
            fn, why = runner(module, args, threads) if not kwargs else (None, "keyword inputs")
            if fn is None:
                skipped.append((Runtime.ONNXRUNTIME, path, why))
                continue
            ort_tasks.append(Task(task_key(Runtime.ONNXRUNTIME, info.name, path), fn))
        by_runtime[Runtime.ONNXRUNTIME] = tuple(ort_tasks)
    return Prepared(info.name, p, tuple(blocks), tuple(tasks), by_runtime, tuple(skipped))


def timing_of(prep: Prepared, times: dict[str, Timed], runtime: Runtime = Runtime.EAGER,
              fuses: Sequence[str] = (), offset_s: float = 0.0) -> ModelTiming:
    """A prepared model's samples under ``runtime`` (its kernels grouped by ``fuses``), from
    the times of its tasks less ``offset_s`` (what running an empty ONNX graph costs)."""
    p = prep.profile
    floor = 1e-7

    def sample(path: str, start: int, end: int) -> Sample | None:
        t = times.get(task_key(runtime, prep.name, path))
        if t is None:
            return None
        work = (tuple(op_work(p, start, end)) if runtime is Runtime.EAGER else
                tuple(k.work for k in kernels(p.trace, fuses, start, end)))
        return Sample(prep.name, path, start, end, work, max(t.seconds - offset_s, floor),
                      disturbed=t.clean == 0)

    blocks = tuple(b for b in (sample(*blk) for blk in prep.blocks) if b is not None)
    whole = sample(WHOLE, 0, len(p.trace.ops))
    if whole is None:
        raise InputError(f"{prep.name} cannot run whole under {runtime}: "
                         + next((w for r, b, w in prep.skipped if b == WHOLE), "not exported"),
                         parameter="models")
    return ModelTiming(prep.name, p, blocks, whole)


def time_models(infos: Sequence[BackboneInfo], *, torch_device: str = "cpu", batch: int = 1,
                min_run_time: float = DEFAULT_MIN_RUN_TIME, rounds: int = DEFAULT_ROUNDS,
                threads: int | None = None, retries: int = RETRIES,
                progress: Progress | None = None, runtime: Runtime = Runtime.EAGER,
                fuses: Sequence[str] = (), offset_s: float = 0.0) -> list[ModelTiming]:
    """Every frontier block and whole backbone of ``infos``, timed for real (interleaved) under
    ``runtime``."""
    threads = threads or torch.get_num_threads()
    prepared = []
    for i, info in enumerate(infos):
        if progress:
            progress("building", i, len(infos))
        prepared.append(prepare(info, torch_device=torch_device, batch=batch,
                                runtimes=(Runtime.EAGER, runtime), threads=threads))
    tasks = [t for prep in prepared for t in prep.runtime_tasks[runtime]]
    times = time_interleaved(tasks, rounds=rounds, min_run_time=min_run_time, threads=threads,
                             progress=progress, stage="timing blocks", retries=retries,
                             cores=1 if torch_device == "cuda" else threads)
    return [timing_of(prep, times, runtime, fuses, offset_s) for prep in prepared]
