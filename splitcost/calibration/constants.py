"""Calibration's settings: the default models, the fit's bounds and weights, timing defaults."""

from __future__ import annotations

from collections.abc import Callable

from splitcost.kinds import COMPUTE_CLASSES, OPTIONAL_CLASSES

Progress = Callable[[str, int, int], None]

# Dense 3x3 convolutions (resnet18); inverted residuals with depthwise, squeeze-excite and
# hardswish at realistic widths (mobilenet_v3_large; the _small variant's layers are so small that
# per-operator overhead is all they measure); depthwise 3x3 and 5x5 with SiLU (efficientnet_b0);
# pooling and concatenation (squeezenet1_1); matmul, layer norm and softmax (swin_t). Every
# operator class.
# Grouped 3x3 convolutions (resnext50_32x4d, 4 channels per group): without them the grouped
# class falls back to the depthwise efficiency. A one-layer LSTM (hidden 256 on 32 tokens of 64
# features; splitcost.calibration.nets) fits the recurrent kernels' efficiency, a one-layer
# transformer encoder (d 384, 128 tokens) the dense matmuls of a sequence model. ~70 blocks, ~0.4 s
# of compute per pass on one core of a 2020s x86 CPU.
DEFAULT_MODELS = ("resnet18", "mobilenet_v3_large", "efficientnet_b0", "squeezenet1_1", "swin_t",
                  "resnext50_32x4d", "splitcost.calibration.nets:lstm",
                  "splitcost.calibration.nets:encoder_small")
INPUT_SHAPE = (3, 224, 224)
# The fitted efficiencies, in Efficiency's field order: the five required classes and memory,
# then the optional ones (left out of the profile when no timed operator uses them).
PARAMETERS = (*COMPUTE_CLASSES, "memory", *OPTIONAL_CLASSES)
REQUIRED_PARAMETERS = 6
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
PERSISTENT_LOAD = 4  # retries in a row that stayed busy: the load is lasting, stop retrying
PRECISION = "fp32"
NOISY_DISTURBED = 0.25  # more than this share of timings never measured quiet: too noisy
NOISY_SPREAD = 0.15  # or the median task's two fastest repeats this far apart
FUSION_ALPHA = 0.5  # nn-Meter's threshold: op1 -> op2 fused when it saves alpha x the cheaper
