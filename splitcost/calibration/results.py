"""What a calibration measured and fitted: peaks, timed samples, fits and the whole result."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from splitcost._notebook import Notebook
from splitcost.calibration.constants import (
    FUSION_ALPHA,
    INPUT_SHAPE,
    NOISY_DISTURBED,
    NOISY_SPREAD,
    PARAMETERS,
)
from splitcost.hardware.device import Device, Efficiency
from splitcost.hardware.roofline import OpWork
from splitcost.kinds import OpClass, Runtime
from splitcost.network.profile import Profile


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
        """The best copy's bandwidth: batch-1 activations of a few MB live in cache."""
        return max(b for _, b in self.copies)

    @property
    def dram_bandwidth(self) -> float:
        """The largest copy's bandwidth (DRAM on every machine here), written to the profile
        as memory.bandwidth: weights of tens of MB (a task head) stream from DRAM."""
        return max(self.copies)[1]

    @property
    def cache_bytes(self) -> int | None:
        """The working set (source + destination) of the largest copy still running at 80% of
        the best copy's rate: what fits in cache. None when no copy beat DRAM by 25%."""
        if self.bandwidth < 1.25 * self.dram_bandwidth:
            return None
        fast = [n for n, b in self.copies if b >= 0.8 * self.bandwidth]
        return 2 * max(fast)

    def to_dict(self) -> dict[str, Any]:
        return {
            "fp32_flops": self.fp32,
            "gemm_flops": self.gemm_flops,
            "gemm_n": self.gemm_n,
            "conv_flops": self.conv_flops,
            "conv_shape": self.conv_shape,
            "bandwidth": self.bandwidth,
            "dram_bandwidth": self.dram_bandwidth,
            "cache_bytes": self.cache_bytes,
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
        return sum(w.bytes_moved for w in self.work if w.op_class is not OpClass.VIEW)

    @property
    def priced(self) -> bool:
        """Whether the roofline gives it any time at all (a block of views costs nothing)."""
        return any(w.op_class is not OpClass.VIEW for w in self.work)


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
        if getattr(self.efficiency, key) is None:
            return "not measured: no timed operator is of this class (the profile falls back)"
        if key in self.unconstrained:
            return ("only bounded below: every such operator is bound by the other roofline "
                    "term, and any larger value predicts the same times")
        if float(getattr(self.efficiency, key)) >= 1.0 - 1e-9:
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
class FusionTest:
    """One pair's times (seconds, an empty graph's cost subtracted), nn-Meter's verdict from
    them, and the kernels the runtime builds for each graph, which decide (a timing on a shared
    machine can be noisy; the two agree on a quiet one)."""

    rule: str
    first_s: float
    second_s: float
    pair_s: float
    kernels: tuple[int, int, int] = (0, 0, 0)  # the three graphs' kernels once optimised

    @property
    def saved_s(self) -> float:
        return self.first_s + self.second_s - self.pair_s

    @property
    def timed_fused(self) -> bool:
        """nn-Meter's verdict from the times."""
        return self.saved_s > FUSION_ALPHA * min(self.first_s, self.second_s)

    @property
    def fused(self) -> bool:
        """The runtime's own verdict: op1 -> op2 runs as many kernels as op1 alone."""
        return 0 < self.kernels[2] <= self.kernels[0]

    @property
    def agree(self) -> bool:
        return self.fused == self.timed_fused

    def to_dict(self) -> dict[str, object]:
        return {"rule": self.rule, "first_s": self.first_s, "second_s": self.second_s,
                "pair_s": self.pair_s, "saved_s": self.saved_s, "timed_fused": self.timed_fused,
                "kernels": list(self.kernels), "fused": self.fused}


@dataclass(frozen=True)
class Noise:
    """How much other processes disturbed the timings: a calibration on a machine this busy is
    not to be trusted (:attr:`noisy`)."""

    timings: int
    disturbed: int  # timings that never had a measurement free of other processes' load
    median_spread: float  # median over timings of (second fastest / fastest - 1)
    load_before: float  # 1-minute load average when timing began
    load_after: float

    @property
    def disturbed_share(self) -> float:
        return self.disturbed / self.timings if self.timings else 0.0

    @property
    def noisy(self) -> bool:
        return self.disturbed_share > NOISY_DISTURBED or self.median_spread > NOISY_SPREAD

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "disturbed_share": self.disturbed_share, "noisy": self.noisy}


@dataclass(frozen=True)
class RuntimeFit:
    """One runtime's calibration: its fit, every block and backbone beside the prediction, its
    error band, and (a fusing runtime) the fusions measured and the empty-graph cost."""

    runtime: Runtime
    fit: Fit
    blocks: tuple[BlockFit, ...]
    models: tuple[ModelFit, ...]
    latency_error: float
    error_method: str
    fuses: tuple[str, ...] = ()
    fusion_tests: tuple[FusionTest, ...] = ()
    call_overhead_s: float = 0.0  # an empty graph's run, subtracted from each timing
    skipped: tuple[tuple[str, str, str], ...] = ()  # (model, block, why) not timed here

    def to_dict(self) -> dict[str, Any]:
        return {
            "runtime": self.runtime,
            "fit": self.fit.to_dict(),
            "latency_error": self.latency_error,
            "error_method": self.error_method,
            "fuses": list(self.fuses),
            "fusion_tests": [t.to_dict() for t in self.fusion_tests],
            "call_overhead_s": self.call_overhead_s,
            "skipped": [{"model": m, "block": b, "why": w} for m, b, w in self.skipped],
            "blocks": [b.to_dict() for b in self.blocks],
            "models": [m.to_dict() for m in self.models],
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
    runtimes: tuple[Runtime, ...] = (Runtime.EAGER,)

    @property
    def when(self) -> str:
        return (f"splitcost calibrate on {self.date}, torch {self.torch}, {self.threads} "
                f"threads, {self.torch_device}")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["models"] = list(self.models)
        d["runtimes"] = [str(r) for r in self.runtimes]
        d["input_shape"] = list(INPUT_SHAPE)
        return d


@dataclass(frozen=True, repr=False)
class CalibrationResult(Notebook):
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
    runtimes: tuple[RuntimeFit, ...] = ()  # eager first, then any other runtime calibrated
    noise: Noise | None = None

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
                "runtimes": {r.value: sec.to_dict() for r, sec in d.runtimes.items()},
                "op_overhead_s": d.op_overhead_s,
                "latency_error": self.latency_error,
            },
            "peaks": self.peaks.to_dict(),
            "fit": self.fit.to_dict(),
            "error_method": self.error_method,
            "blocks": [b.to_dict() for b in self.blocks],
            "models": [m.to_dict() for m in self.models],
            "setup": self.setup.to_dict(),
            "runtimes": [r.to_dict() for r in self.runtimes],
            "noise": None if self.noise is None else self.noise.to_dict(),
        }
