"""Fitting a device profile to the timings, and the error band of the fit.

The six efficiencies and ``op_overhead`` minimise a robust (soft-L1) loss of the log error
between the roofline prediction (:func:`splitcost.hardware.roofline.op_time` over
:func:`splitcost.pricing.scenarios.op_work` of each block's operators) and the measured times: a
coordinate grid search, then Levenberg-Marquardt with reweighting, numpy only. Error band:
leave-one-model-out: fit without model m, predict m's whole backbone; the median absolute
relative error over the models is written as ``compute.latency_error``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from splitcost.calibration.constants import (
    EFFICIENCY_FLOOR,
    IRLS_ROUNDS,
    OVERHEAD_RANGE,
    PARAMETERS,
    PRECISION,
    PRIOR_WEIGHT,
    REQUIRED_PARAMETERS,
    ROBUST_SCALE,
    WHOLE_WEIGHT,
    Progress,
)
from splitcost.calibration.results import (
    BlockFit,
    Fit,
    ModelFit,
    ModelTiming,
    Sample,
)
from splitcost.errors import InputError
from splitcost.hardware.device import Device, Efficiency
from splitcost.hardware.roofline import OpWork, compute_time
from splitcost.kinds import OpClass


class _Problem:
    """The samples as a matrix of operator counts over the distinct operators, so that one
    evaluation prices each distinct operator once, as
    :func:`splitcost.hardware.roofline.op_time` does."""

    def __init__(self, samples: Sequence[Sample], weights: Sequence[float], device: Device):
        index: dict[OpWork, int] = {}
        for s in samples:
            for w in s.work:
                if w.op_class is not OpClass.VIEW:
                    index.setdefault(w, len(index))
        self.works = list(index)
        self.counts = np.zeros((len(samples), len(index)))
        for i, s in enumerate(samples):
            for w in s.work:
                if w.op_class is not OpClass.VIEW:
                    self.counts[i, index[w]] += 1
        self.log_measured = np.log([s.measured_s for s in samples])
        self.weights = np.asarray(weights, dtype=float)
        self.sqrt_w = np.sqrt(self.weights)
        self.base = device
        # op_time's two roofline terms with the efficiencies factored out, so that an evaluation
        # is a few array operations: compute = flops / (peak x eff[class]), memory = bytes /
        # (the bandwidth that applies x eff[memory]) (see splitcost.hardware.roofline).
        peak = device.peak(PRECISION)
        self.flop_s = np.array([w.flops / peak for w in self.works])
        self.byte_s = np.array([w.bytes_moved / _bandwidth(w, device) for w in self.works])
        self.cls = np.array([PARAMETERS.index(str(w.op_class)) for w in self.works], dtype=int)
        # The steps of a recurrent kernel: its efficiency scales both terms (roofline.device_time)
        self.stepped = np.array([w.steps > 1 for w in self.works])

    def device(self, theta: np.ndarray) -> Device:
        eff = Efficiency(*(float(v) for v in np.exp(theta[:N_EFF])))
        return replace(self.base, efficiency=eff, op_overhead_s=float(np.exp(theta[N_EFF])))

    def predict(self, theta: np.ndarray) -> np.ndarray:
        eff = np.exp(theta[:N_EFF])
        memory = self.byte_s / (eff[MEMORY] * np.where(self.stepped, eff[self.cls], 1.0))
        t = np.maximum(self.flop_s / eff[self.cls], memory) + np.exp(theta[N_EFF])
        out: np.ndarray = self.counts @ t
        return out

    def log_errors(self, theta: np.ndarray) -> np.ndarray:
        out: np.ndarray = np.log(self.predict(theta)) - self.log_measured
        return out

    def residuals(self, theta: np.ndarray) -> np.ndarray:
        fit = self.log_errors(theta) * self.sqrt_w
        prior = math.sqrt(PRIOR_WEIGHT) * (theta[:N_EFF] - math.log(0.5))
        return np.concatenate([fit, prior])

    def reweight(self, theta: np.ndarray) -> None:
        """Soft-L1 weights (iteratively reweighted least squares): a sample whose log error is
        well beyond ROBUST_SCALE counts linearly rather than squared, so that a few blocks the
        roofline cannot describe (a lone in-place ReLU costs far less than one per-operator
        overhead) do not bend the fit for all the others."""
        r = self.log_errors(theta)
        self.sqrt_w = np.sqrt(self.weights / np.sqrt(1.0 + (r / ROBUST_SCALE) ** 2))


N_EFF = len(PARAMETERS)
MEMORY = PARAMETERS.index("memory")


def _bandwidth(w: OpWork, device: Device) -> float:
    """The bandwidth :func:`splitcost.hardware.roofline.device_time` streams ``w`` at."""
    if w.steps > 1:
        return device.cache_bandwidth or device.memory_bandwidth
    return device.bandwidth_for(w.bytes_moved)


def _bounds() -> tuple[np.ndarray, np.ndarray]:
    lower = np.array([math.log(EFFICIENCY_FLOOR)] * N_EFF + [math.log(OVERHEAD_RANGE[0])])
    upper = np.array([0.0] * N_EFF + [math.log(OVERHEAD_RANGE[1])])
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

    theta0 = np.array([math.log(0.5)] * N_EFF + [math.log(1e-5)])
    theta = coordinate_search(cost, theta0, lower, upper)
    for i in range(IRLS_ROUNDS):
        if i:
            problem.reweight(theta)
        theta, _ = levenberg_marquardt(problem.residuals, theta, lower, upper)
    dev = problem.device(theta)
    logs, w = problem.log_errors(theta), problem.weights
    rms = float(np.sqrt((w * logs**2).sum() / w.sum()))
    free = unconstrained(problem, theta)
    # An optional class no timed operator has is left out: the profile falls back for it.
    absent = {k for k in PARAMETERS[REQUIRED_PARAMETERS:]
              if not any(wk.op_class == k for wk in problem.works)}
    none: dict[str, Any] = {k: None for k in absent}
    eff = replace(dev.efficiency, **none)
    return Fit(eff, dev.op_overhead_s, rms, len(priced),
               tuple(k for k in free if k not in absent))


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
