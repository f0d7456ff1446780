"""Calibration: time real networks on this machine and fit a device profile to the timings.

Why: the roofline of :mod:`splitcost.hardware.roofline` is only as good as the device profile's
efficiencies and per-operator overhead, and vendor peaks say little about what PyTorch eager
achieves. ``calibrate()`` measures the machine it runs on and writes a profile that ``--device``
accepts:

1. **peaks**: FP32 throughput (a large GEMM; on CPU also a large 3x3 convolution, because oneDNN's
   convolutions beat the BLAS GEMM on some CPUs) and memory bandwidth (the best of copies of a
   few sizes; bytes moved = read + written, as :func:`splitcost.pricing.scenarios.op_work` counts
   them). The best, because the fitted efficiencies must stay in (0, 1] relative to these figures;
2. **blocks**: for each calibration model (a real torchvision backbone with random weights,
   ``eval()``, ``torch.no_grad()``), the inputs of its module-frontier blocks
   (:func:`splitcost.network.cuts.module_frontier`, the blocks ``sweep`` cuts at) are captured in
   one real forward pass, then each block is timed alone with ``torch.utils.benchmark.Timer``
   (a warm-up call, then ``blocked_autorange``); the whole backbone is timed too;
3. **fit**: the efficiencies (one per operator class, and memory's) and ``op_overhead``
   minimise a robust (soft-L1) loss of the log error between the roofline prediction
   (:func:`splitcost.hardware.roofline.op_time` over :func:`splitcost.pricing.request.op_work`
   of each block's operators) and the measured times: a coordinate grid search, then
   Levenberg-Marquardt with reweighting, numpy only;
4. **error band**: leave-one-model-out: fit without model m, predict m's whole backbone; the
   median absolute relative error over the models is written as ``compute.latency_error``;
5. **profile**: a device TOML with a ``[sources]`` entry for every figure (kind ``measured`` or
   ``calibrated``, with how, when and with what it was measured), written atomically.

``runtime="onnxruntime"`` does steps 2 to 4 a second time with every block exported to ONNX and
run by ONNX Runtime's CPU execution provider, grouping the trace's operators into the kernels
ONNX Runtime runs by the fusions it is measured to make (:mod:`.fusion_tests`, nn-Meter's test),
and writes them as a ``[runtime.onnxruntime]`` section.

Timing on a machine that is not idle: every probe and block is timed once per round, rounds
interleaved, and keeps its fastest time (a ``blocked_autorange`` block's mean): other processes
only ever add time, and a preempted OpenMP thread stalls all the others at the next barrier. A
measurement during which other processes used the cores we need (read from /proc/stat) is
retried, and a time that never had a quiet measurement is flagged ``disturbed``.

Nothing here prints; progress goes to an optional ``progress(stage, done, total)`` callback.

One module per concern: :mod:`.constants` (the default models, the fit's bounds and weights, the
timing defaults), :mod:`.results` (what a calibration returns), :mod:`.timing` (steps 1 and 2),
:mod:`.fitting` (steps 3 and 4), :mod:`.host` (memory and the runtime's overhead),
:mod:`.profile_file` (step 5) and :mod:`.run` (the whole calibration, :func:`calibrate`).
"""

from __future__ import annotations

from splitcost.calibration.constants import (
    DEFAULT_MIN_RUN_TIME,
    DEFAULT_MODELS,
    DEFAULT_ROUNDS,
    EFFICIENCY_FLOOR,
    INPUT_SHAPE,
    IRLS_ROUNDS,
    OVERHEAD_RANGE,
    PARAMETERS,
    PRECISION,
    PRIOR_WEIGHT,
    QUIET_MARGIN,
    QUIET_WAIT_S,
    RETRIES,
    ROBUST_SCALE,
    WHOLE_WEIGHT,
    Progress,
)
from splitcost.calibration.fitting import (
    coordinate_search,
    error_band,
    fit,
    fit_models,
    fitted_device,
    held_out_predictions,
    levenberg_marquardt,
    predict,
    unconstrained,
)
from splitcost.calibration.host import cuda_memory, host_memory, host_name, runtime_overhead
from splitcost.calibration.profile_file import check_out, write_device
from splitcost.calibration.results import (
    WHOLE,
    BlockFit,
    CalibrationResult,
    Fit,
    FusionTest,
    ModelFit,
    ModelTiming,
    Noise,
    Peaks,
    RuntimeFit,
    Sample,
    Setup,
)
from splitcost.calibration.run import (
    CALIBRATED_RUNTIMES,
    Measured,
    base_device,
    calibrate,
    check_models,
    check_runtime,
    check_torch_device,
    evaluate,
    fitted_runtimes,
    make_setup,
    measure,
    runtime_sections,
)
from splitcost.calibration.timing import (
    CONV,
    COPY_SIZES,
    Prepared,
    Task,
    Timed,
    capture_inputs,
    input_of,
    others_load,
    peak_tasks,
    peaks_from,
    prepare,
    real_backbone,
    task_key,
    time_call,
    time_interleaved,
    time_models,
    timing_of,
    torch_threads,
    wait_quiet,
)

__all__ = [
    "CALIBRATED_RUNTIMES",
    "CONV",
    "COPY_SIZES",
    "DEFAULT_MIN_RUN_TIME",
    "DEFAULT_MODELS",
    "DEFAULT_ROUNDS",
    "EFFICIENCY_FLOOR",
    "INPUT_SHAPE",
    "IRLS_ROUNDS",
    "OVERHEAD_RANGE",
    "PARAMETERS",
    "PRECISION",
    "PRIOR_WEIGHT",
    "QUIET_MARGIN",
    "QUIET_WAIT_S",
    "RETRIES",
    "ROBUST_SCALE",
    "WHOLE",
    "WHOLE_WEIGHT",
    "BlockFit",
    "CalibrationResult",
    "Fit",
    "FusionTest",
    "Measured",
    "ModelFit",
    "ModelTiming",
    "Noise",
    "Peaks",
    "Prepared",
    "Progress",
    "RuntimeFit",
    "Sample",
    "Setup",
    "Task",
    "Timed",
    "base_device",
    "calibrate",
    "capture_inputs",
    "check_models",
    "check_out",
    "check_runtime",
    "check_torch_device",
    "coordinate_search",
    "cuda_memory",
    "error_band",
    "evaluate",
    "fit",
    "fit_models",
    "fitted_device",
    "fitted_runtimes",
    "held_out_predictions",
    "host_memory",
    "host_name",
    "input_of",
    "levenberg_marquardt",
    "make_setup",
    "measure",
    "others_load",
    "peak_tasks",
    "peaks_from",
    "predict",
    "prepare",
    "real_backbone",
    "runtime_overhead",
    "runtime_sections",
    "task_key",
    "time_call",
    "time_interleaved",
    "time_models",
    "timing_of",
    "torch_threads",
    "unconstrained",
    "wait_quiet",
    "write_device",
]
