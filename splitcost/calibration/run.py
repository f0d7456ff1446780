"""The whole calibration: check the inputs, measure, fit, evaluate and write the profile.

Nothing here prints; progress goes to an optional ``progress(stage, done, total)`` callback.
"""

from __future__ import annotations

import datetime
import math
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
    ModelFit,
    ModelTiming,
    Peaks,
    Setup,
)
from splitcost.calibration.timing import (
    peak_tasks,
    peaks_from,
    prepare,
    time_interleaved,
    timing_of,
)
from splitcost.errors import InputError
from splitcost.hardware.device import Device, Efficiency, Source
from splitcost.hardware.schema import device_toml
from splitcost.kinds import OpClass
from splitcost.network.profile import BackboneInfo
from splitcost.network.zoo import resolve


def check_models(models: Sequence[str]) -> list[BackboneInfo]:
    """Resolve every calibration model before anything is timed (unknown names fail fast)."""
    names = [m.strip() for m in models if m.strip()]
    if not names:
        raise InputError("give at least one torchvision backbone, e.g. resnet18",
                         parameter="models")
    infos = [resolve(n) for n in names]
    for info in infos:
        if info.source != "torchvision":
            raise InputError(f"{info.requested!r} is not a torchvision model; "
                             "calibration builds real torchvision backbones", parameter="models")
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


def _base_device(name: str, peaks: Peaks) -> Device:
    """A device with the measured peaks and placeholder efficiencies, for fitting."""
    cache = peaks.cache_bytes
    return Device(name=name, title=name, role="edge", summary=name, memory_total=1,
                  memory_usable=1, runtime_overhead=0, memory_bandwidth=peaks.dram_bandwidth,
                  peak_flops={"fp32": peaks.fp32}, efficiency=Efficiency(*[0.5] * 6),
                  op_overhead_s=1e-5, cache_bytes=cache,
                  cache_bandwidth=peaks.bandwidth if cache else None)


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
    blocks = tuple(BlockFit(b.model, b.block,
                            sum(w.op_class is not OpClass.VIEW for w in b.work), b.flops,
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


def _profile(out: Path, role: str, setup: Setup, peaks: Peaks, ev: _Evaluation) -> Device:
    """The calibrated device, as its profile file will hold it."""
    cuda = setup.torch_device == "cuda"
    overhead, overhead_note = runtime_overhead(setup.torch_device)
    total, usable, memory_ref = cuda_memory() if cuda else host_memory()
    where = "CUDA" if cuda else f"{setup.threads} threads"
    title = f"{setup.host} ({where}), PyTorch eager FP32, calibrated {setup.date}"
    usable = min(usable, total)
    return Device(
        name=out.stem, title=title, role=role,
        summary=f"this machine as measured by splitcost calibrate: {title}",
        memory_total=total, memory_usable=usable, runtime_overhead=min(overhead, usable - 1),
        memory_bandwidth=peaks.dram_bandwidth, peak_flops={"fp32": peaks.fp32},
        efficiency=ev.fit.efficiency, op_overhead_s=ev.fit.op_overhead_s,
        latency_error=ev.band,
        sources=_sources(setup, peaks, memory_ref, overhead_note, ev.fit, _fit_note(setup, ev),
                         ev.method),
        cache_bytes=peaks.cache_bytes,
        cache_bandwidth=peaks.bandwidth if peaks.cache_bytes else None,
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
        raise InputError(f"expected edge or server, got {role!r}", parameter="role")
    if batch < 1:
        raise InputError(f"expected an integer of at least 1, got {batch}", parameter="batch")
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
    text = device_toml(_profile(out, role, setup, peaks, ev),
                       "Written by 'splitcost calibrate'; every figure's [sources] entry says how.")
    written = write_device(out, text)
    if progress:
        progress("writing the profile", 1, 1)
    return CalibrationResult(str(out), written, peaks, ev.fit, ev.band, ev.method, ev.blocks,
                             ev.models, setup)
