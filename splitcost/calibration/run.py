"""The whole calibration: check the inputs, measure, fit, evaluate and write the profile.

Nothing here prints; progress goes to an optional ``progress(stage, done, total)`` callback.
"""

from __future__ import annotations

import datetime
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from splitcost.calibration.constants import (
    DEFAULT_MIN_RUN_TIME,
    DEFAULT_MODELS,
    DEFAULT_ROUNDS,
    PARAMETERS,
    RETRIES,
    WHOLE_WEIGHT,
    Progress,
)
from splitcost.calibration.fitting import (
    error_band,
    fit_models,
    fitted_device,
    held_out_predictions,
    predict,
)
from splitcost.calibration.host import (
    cuda_memory,
    host_memory,
    host_name,
    runtime_overhead,
)
from splitcost.calibration.profile_file import check_out, write_device
from splitcost.calibration.results import (
    BlockFit,
    CalibrationResult,
    Fit,
    FusionTest,
    ModelFit,
    ModelTiming,
    Noise,
    Peaks,
    RuntimeFit,
    Setup,
)
from splitcost.calibration.timing import (
    Prepared,
    Task,
    Timed,
    paired_difference,
    peak_tasks,
    peaks_from,
    prepare,
    time_interleaved,
    timing_of,
    torch_threads,
)
from splitcost.errors import InputError, choice
from splitcost.hardware.device import Device, Efficiency, RuntimeProfile, Source
from splitcost.hardware.schema import device_toml
from splitcost.kinds import OpClass, Runtime
from splitcost.network.profile import BackboneInfo
from splitcost.network.zoo import resolve

CALIBRATED_RUNTIMES = (Runtime.EAGER, Runtime.ONNXRUNTIME)
NETS = "splitcost.calibration.nets:"


def check_models(models: Sequence[str]) -> list[BackboneInfo]:
    """Resolve every calibration model before anything is timed (unknown names fail fast)."""
    names = [m.strip() for m in models if m.strip()]
    if not names:
        raise InputError("give at least one torchvision backbone, e.g. resnet18",
                         parameter="models")
    infos = [resolve(n) for n in names]
    for info in infos:
        if info.source != "torchvision" and not info.name.startswith(NETS):
            raise InputError(f"{info.requested!r} is not a torchvision model; calibration "
                             f"builds real torchvision backbones (and {NETS}lstm)",
                             parameter="models")
    if len({i.name for i in infos}) != len(infos):
        raise InputError("a model is named twice", parameter="models")
    return infos


def check_torch_device(torch_device: str) -> str:
    key = torch_device.strip().lower()
    if key not in ("cpu", "cuda"):
        raise InputError(f"expected cpu or cuda, got {torch_device!r}", parameter="torch_device")
    if key == "cuda" and not torch.cuda.is_available():
        raise InputError(f"--torch-device cuda: CUDA is not available here (torch "
                         f"{torch.__version__}, built for CUDA {torch.version.cuda or 'none'})")
    return key


def check_runtime(runtime: str, torch_device: str) -> tuple[Runtime, ...]:
    """The runtimes to calibrate: eager always (the profile's [compute] table), and ONNX
    Runtime's CPU execution provider when asked."""
    key = Runtime(choice("runtime", runtime, [r.value for r in CALIBRATED_RUNTIMES]))
    if key is Runtime.EAGER:
        return (Runtime.EAGER,)
    if torch_device != "cpu":
        raise InputError("ONNX Runtime is calibrated on the CPU (its CPU execution provider); "
                         "use --torch-device cpu", parameter="runtime")
    from splitcost.calibration.onnx import require_onnxruntime

    require_onnxruntime()
    return (Runtime.EAGER, key)


def base_device(name: str, peaks: Peaks) -> Device:
    """A device with the measured peaks and placeholder efficiencies, for fitting."""
    cache = peaks.cache_bytes
    return Device(name=name, title=name, role="edge", summary=name, memory_total=1,
                  memory_usable=1, runtime_overhead=0, memory_bandwidth=peaks.dram_bandwidth,
                  peak_flops={"fp32": peaks.fp32}, efficiency=Efficiency(*[0.5] * 6),
                  op_overhead_s=1e-5, cache_bytes=cache,
                  cache_bandwidth=peaks.bandwidth if cache else None)


def _sources(setup: Setup, peaks: Peaks, memory_ref: str, overhead_note: str,
             fits: Sequence[RuntimeFit], notes: dict[Runtime, str]) -> dict[str, Source]:
    when = setup.when
    gemm = f"{peaks.gemm_n}x{peaks.gemm_n} FP32 torch.mm: {peaks.gemm_flops / 1e9:.1f} GFLOP/s"
    conv = ("" if peaks.conv_flops is None else
            f"; 3x3 conv2d ({peaks.conv_shape}): {peaks.conv_flops / 1e9:.1f} GFLOP/s")
    copies = ", ".join(f"{n / 2**20:g} MiB: {b / 1e9:.1f} GB/s" for n, b in peaks.copies)
    timing = (f"fastest of {setup.rounds} interleaved rounds of blocked_autorange "
              f"(min_run_time {setup.min_run_time_s:g} s)")
    out = {
        "memory.total": Source("measured", memory_ref, f"{when}: total at calibration time"),
        "memory.usable": Source("measured", memory_ref, f"{when}: available (free) at "
                                "calibration time; other processes change it"),
        "memory.runtime_overhead": Source("measured", when, overhead_note),
        "memory.bandwidth": Source(
            "measured", when, f"dst.copy_(src) of float32 tensors of {copies}; bytes = read + "
            f"written (as splitcost counts an operator's bytes); {timing}. The largest copy's "
            "rate (DRAM): an operator whose bytes exceed memory.cache_size streams from DRAM"),
        "memory.cache_size": Source(
            "measured", when, "source + destination of the largest copy still at 80% of the best "
            f"copy's rate ({copies})"),
        "memory.cache_bandwidth": Source(
            "measured", when, f"the best copy's rate ({copies}); {timing}"),
        "compute.fp32": Source(
            "measured", when, f"best FP32 throughput of {gemm}{conv}; FLOP = 2 x MAC; {timing}"),
    }
    for rf in fits:
        table = "compute" if rf.runtime is Runtime.EAGER else f"runtime.{rf.runtime}"
        fitted = Source("calibrated", when, notes[rf.runtime])
        out[f"{table}.op_overhead"] = fitted
        out[f"{table}.latency_error"] = Source("calibrated", when, rf.error_method)
        for k in PARAMETERS:
            status = rf.fit.status(k)
            out[f"{table}.efficiency.{k}"] = (fitted if status == "fitted" else
                                              Source("calibrated", when,
                                                     f"{status}. {notes[rf.runtime]}"))
        if rf.runtime is not Runtime.EAGER:
            tests = "; ".join(f"{t.rule} {'fused' if t.fused else 'not fused'} "
                              f"({t.kernels[0]} + {t.kernels[1]} -> {t.kernels[2]} kernels; "
                              f"{1e6 * t.first_s:.1f} + {1e6 * t.second_s:.1f} vs "
                              f"{1e6 * t.pair_s:.1f} us, timed "
                              f"{'fused' if t.timed_fused else 'not fused'})"
                              for t in rf.fusion_tests)
            out[f"{table}.fuses"] = Source(
                "calibrated", when, "a rule is kept when ONNX Runtime's optimised graph of op1 "
                "-> op2 runs no more kernels than op1's alone; beside it nn-Meter's timing test "
                "(microsoft/nn-Meter docs/builder/test_fusion_rules.md: fused when T1 + T2 - "
                "T12 > 0.5 min(T1, T2); T1, T2 against an empty graph and T12 against T1, "
                f"medians of 21 alternating blocks of 5 ms): {tests or 'none ran'}")
    return out


def make_setup(infos: Sequence[BackboneInfo], torch_device: str, batch: int, min_run_time: float,
           rounds: int, threads: int, runtimes: Sequence[Runtime]) -> Setup:
    return Setup(datetime.date.today().isoformat(), torch.__version__, threads, torch_device,
                 host_name(torch_device), tuple(i.name for i in infos), batch, min_run_time,
                 rounds, tuple(runtimes))


@dataclass(frozen=True)
class Measured:
    """Everything timed: the peaks, each runtime's model timings and its extra figures."""

    peaks: Peaks
    timings: dict[Runtime, list[ModelTiming]]
    fusion_tests: tuple[FusionTest, ...]
    call_overhead_s: float
    skipped: tuple[tuple[str, str, str], ...]
    noise: Noise


def fusion_tests(threads: int, progress: Progress | None = None) -> tuple[FusionTest, ...]:
    """nn-Meter's test of every rule (:mod:`splitcost.calibration.fusion_tests`) under ONNX
    Runtime: op1 and op2 timed against the graph's lead-in alone, op1 -> op2 against op1, each as
    the median of alternating blocks (:func:`splitcost.calibration.timing.paired_difference`),
    and each graph's kernels once ONNX Runtime has optimised it (less the lead-in's)."""
    from splitcost.calibration.fusion_tests import RULES, inputs, modules
    from splitcost.calibration.onnx import export, optimized_kernels, runner

    out = []
    for i, (rule, family) in enumerate(RULES):
        if progress:
            progress("fusion tests", i, len(RULES))
        args = inputs(family, rule)
        graphs = modules(rule, family)
        base, first, second, pair = (runner(m, args, threads)[0] for m in graphs)
        if base is None or first is None or second is None or pair is None:
            continue
        with torch_threads(threads):
            t1 = max(paired_difference(base, first), 1e-9)
            t2 = max(paired_difference(base, second), 1e-9)
            extra = paired_difference(first, pair)
        lead, *counts = [len(optimized_kernels(export(m, args), threads)) for m in graphs]
        out.append(FusionTest(rule, t1, t2, t1 + extra,
                              (counts[0] - lead, counts[1] - lead, counts[2] - lead)))
    if progress:
        progress("fusion tests", len(RULES), len(RULES))
    return tuple(out)


def _noise(times: dict[str, Timed], before: float, after: float) -> Noise:
    spreads = [t.spread for t in times.values()]
    return Noise(len(times), sum(t.clean == 0 for t in times.values()),
                 float(np.median(spreads)) if spreads else 0.0, before, after)


def _prepare_all(infos: Sequence[BackboneInfo], setup: Setup,
                 progress: Progress | None) -> list[Prepared]:
    prepared = []
    for i, info in enumerate(infos):
        if progress:
            progress("building", i, len(infos))
        prepared.append(prepare(info, torch_device=setup.torch_device, batch=setup.batch,
                                runtimes=setup.runtimes, threads=setup.threads))
    if progress:
        progress("building", len(infos), len(infos))
    return prepared


def measure(infos: Sequence[BackboneInfo], setup: Setup, retries: int = RETRIES,
            progress: Progress | None = None) -> Measured:
    """Build and trace every model, then time the peak probes, every block under every
    runtime (and, for ONNX Runtime, an empty graph and the fusion tests), interleaved."""
    prepared = _prepare_all(infos, setup, progress)
    probes, work = peak_tasks(setup.torch_device)
    tasks = [*probes, *(t for prep in prepared for t in prep.tasks)]
    ort = Runtime.ONNXRUNTIME in setup.runtimes
    if ort:
        from splitcost.calibration.onnx import call_overhead_runner

        tasks.append(Task("onnxruntime:empty", call_overhead_runner(setup.threads)))
        tasks += [t for prep in prepared for t in prep.runtime_tasks[Runtime.ONNXRUNTIME]]
    before = os.getloadavg()[0]
    tests = fusion_tests(setup.threads, progress) if ort else ()
    times = time_interleaved(tasks, rounds=setup.rounds, min_run_time=setup.min_run_time_s,
                             threads=setup.threads, progress=progress, stage="timing",
                             retries=retries,
                             cores=1 if setup.torch_device == "cuda" else setup.threads)
    noise = _noise(times, before, os.getloadavg()[0])
    timings = {Runtime.EAGER: [timing_of(prep, times) for prep in prepared]}
    offset = times["onnxruntime:empty"].seconds if ort else 0.0
    if ort:
        fuses = tuple(t.rule for t in tests if t.fused)
        timings[Runtime.ONNXRUNTIME] = [timing_of(prep, times, Runtime.ONNXRUNTIME, fuses, offset)
                                        for prep in prepared]
    skipped = tuple((prep.name, block, why) for prep in prepared
                    for _, block, why in prep.skipped)
    return Measured(peaks_from(times, work), timings, tests, offset, skipped, noise)


def evaluate(timings: Sequence[ModelTiming], base: Device, progress: Progress | None = None,
             runtime: Runtime = Runtime.EAGER) -> RuntimeFit:
    """Fit on everything, predict every block and backbone, estimate the error band."""
    stage = "fit" if runtime is Runtime.EAGER else f"fit ({runtime})"
    if progress:
        progress(stage, 0, 1)
    f = fit_models(timings, base)
    if progress:
        progress(stage, 1, 1)
    device = fitted_device(base, f)
    held = held_out_predictions(timings, base, progress)
    blocks = tuple(BlockFit(b.model, b.block,
                            sum(w.op_class != OpClass.VIEW for w in b.work), b.flops,
                            b.bytes_moved, b.measured_s, predict(b, device), b.disturbed)
                   for t in timings for b in t.blocks)
    models = tuple(ModelFit(t.name, t.whole.measured_s, predict(t.whole, device), h,
                            t.whole.disturbed)
                   for t, h in zip(timings, held, strict=True))
    band, method = error_band(models, blocks)
    return RuntimeFit(runtime, f, blocks, models, band, method)


def _fit_note(setup: Setup, rf: RuntimeFit) -> str:
    block_med = float(np.median([abs(b.error) for b in rf.blocks])) if rf.blocks else math.nan
    disturbed = sum(b.disturbed for b in rf.blocks) + sum(m.disturbed for m in rf.models)
    how = ("PyTorch eager, real modules, eval, no_grad" if rf.runtime is Runtime.EAGER else
           f"ONNX Runtime {_ort_version()} CPU execution provider, each block exported to ONNX "
           f"(opset 17) and run by its own session (all graph optimisations), an empty graph's "
           f"run ({1e6 * rf.call_overhead_s:.1f} us) subtracted; kernels grouped by the fusions "
           f"measured: {', '.join(rf.fuses) or 'none'}")
    return (f"fitted to {rf.fit.samples} timed blocks and whole backbones of "
            f"{', '.join(setup.models)} ({how}; random weights, batch {setup.batch}, fastest of "
            f"{setup.rounds} interleaved rounds) so that splitcost's roofline reproduces the "
            f"measured times (soft-L1 loss on log time; a whole backbone weighs "
            f"{WHOLE_WEIGHT:g} blocks); in-sample median absolute block error "
            f"{100 * block_med:.1f}%, RMS log error {rf.fit.rms_log_error:.3f}; {disturbed} of "
            f"{len(rf.blocks) + len(rf.models)} timings had no measurement free of other "
            "processes' load")


def _ort_version() -> str:
    import onnxruntime

    return str(onnxruntime.__version__)


def _profile(out: Path, role: str, setup: Setup, peaks: Peaks, fits: Sequence[RuntimeFit]
             ) -> Device:
    """The calibrated device, as its profile file will hold it."""
    cuda = setup.torch_device == "cuda"
    overhead, overhead_note = runtime_overhead(setup.torch_device)
    total, usable, memory_ref = cuda_memory() if cuda else host_memory()
    where = "CUDA" if cuda else f"{setup.threads} threads"
    kinds = " and ".join("PyTorch eager" if f.runtime is Runtime.EAGER else "ONNX Runtime"
                         for f in fits)
    title = f"{setup.host} ({where}), {kinds} FP32, calibrated {setup.date}"
    usable = min(usable, total)
    eager = fits[0]
    sections = runtime_sections(fits)
    return Device(
        name=out.stem, title=title, role=role,
        summary=f"this machine as measured by splitcost calibrate: {title}",
        memory_total=total, memory_usable=usable, runtime_overhead=min(overhead, usable - 1),
        memory_bandwidth=peaks.dram_bandwidth, peak_flops={"fp32": peaks.fp32},
        efficiency=eager.fit.efficiency, op_overhead_s=eager.fit.op_overhead_s,
        latency_error=eager.latency_error,
        sources=_sources(setup, peaks, memory_ref, overhead_note, fits,
                         {f.runtime: _fit_note(setup, f) for f in fits}),
        cache_bytes=peaks.cache_bytes,
        cache_bandwidth=peaks.bandwidth if peaks.cache_bytes else None,
        overlap=cuda, runtimes=sections,
    )


def runtime_sections(fits: Sequence[RuntimeFit]) -> dict[Runtime, RuntimeProfile]:
    """The sections of the runtimes other than eager (the first fit), as calibrated."""
    return {f.runtime: RuntimeProfile(f.runtime, f.fit.efficiency, f.fit.op_overhead_s,
                                      f.latency_error, False, f.fuses) for f in fits[1:]}


def fitted_runtimes(m: Measured, base: Device, runtimes: Sequence[Runtime],
                    progress: Progress | None = None, models: Sequence[str] | None = None
                    ) -> list[RuntimeFit]:
    """Each runtime's fit of the measured timings (of ``models`` only, when given), with the
    fusions measured for a fusing runtime."""
    fits = []
    for r in runtimes:
        timings = [t for t in m.timings[r] if models is None or t.name in models]
        rf = evaluate(timings, base, progress, r)
        if r is not Runtime.EAGER:
            rf = RuntimeFit(rf.runtime, rf.fit, rf.blocks, rf.models, rf.latency_error,
                            rf.error_method, tuple(t.rule for t in m.fusion_tests if t.fused),
                            m.fusion_tests, m.call_overhead_s, m.skipped)
        fits.append(rf)
    return fits


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
    runtime: str = "eager",
    progress: Progress | None = None,
) -> CalibrationResult:
    """Measure this machine, fit its device profile and write it to ``out`` (a ``.toml`` file
    whose stem becomes the device's name). Every input is checked before anything is timed.
    ``threads`` defaults to torch's current setting; ``rounds`` passes of ``min_run_time``
    seconds per block; ``retries`` of a measurement that other processes disturbed.
    ``runtime="onnxruntime"`` also times every block under ONNX Runtime, measures which
    fusions it makes, and writes a ``[runtime.onnxruntime]`` section beside PyTorch eager's."""
    out = check_out(Path(out))
    if role not in ("edge", "server"):
        raise InputError(f"expected edge or server, got {role!r}", parameter="role")
    if batch < 1:
        raise InputError(f"expected an integer of at least 1, got {batch}", parameter="batch")
    if min_run_time <= 0 or rounds < 1 or retries < 0 or (threads is not None and threads < 1):
        raise InputError(f"min_run_time, rounds and threads must be positive and retries at "
                         f"least 0, got {min_run_time}, {rounds}, {threads} and {retries}")
    dev_kind = check_torch_device(torch_device)
    runtimes = check_runtime(runtime, dev_kind)
    infos = check_models(models)
    setup = make_setup(infos, dev_kind, batch, min_run_time, rounds,
                   threads or torch.get_num_threads(), runtimes)
    m = measure(infos, setup, retries, progress)
    base = base_device(out.stem, m.peaks)
    fits = fitted_runtimes(m, base, runtimes, progress)
    if progress:
        progress("writing the profile", 0, 1)
    text = device_toml(_profile(out, role, setup, m.peaks, fits),
                       "Written by 'splitcost calibrate'; every figure's [sources] entry says how.")
    written = write_device(out, text)
    if progress:
        progress("writing the profile", 1, 1)
    eager = fits[0]
    return CalibrationResult(str(out), written, m.peaks, eager.fit, eager.latency_error,
                             eager.error_method, eager.blocks, eager.models, setup,
                             tuple(fits), m.noise)


__all__ = ["CALIBRATED_RUNTIMES", "Fit", "Measured", "base_device", "calibrate", "check_models",
           "check_runtime", "check_torch_device", "evaluate", "fitted_runtimes", "make_setup",
           "measure", "runtime_sections"]
