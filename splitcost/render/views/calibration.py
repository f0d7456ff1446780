"""The views of ``splitcost calibrate``: the fitted figures, whole backbones, every block."""

from __future__ import annotations

from typing import TYPE_CHECKING

from splitcost.render.grid import Grid
from splitcost.render.registry import RenderOptions
from splitcost.render.views.common import register

if TYPE_CHECKING:
    from splitcost.calibration.results import CalibrationResult, RuntimeFit

KIND = "splitcost.calibration.results:CalibrationResult"


def verdict(r: CalibrationResult) -> str:
    bands = "; ".join(f"{f.runtime} ±{100 * f.latency_error:.0f}%" for f in r.runtimes) or (
        f"±{100 * r.latency_error:.0f}%")
    text = (f"Wrote {r.path}: latency error band {bands} ({r.error_method}). Use it as "
            f"--device {r.path} or --server {r.path}.")
    n = r.noise
    if n is not None and n.noisy:
        text = (f"The machine was too noisy to trust this calibration: {n.disturbed} of "
                f"{n.timings} timings never ran free of other processes' load, the median "
                f"timing's two fastest repeats are {100 * n.median_spread:.0f}% apart, load "
                f"average {n.load_before:.1f} -> {n.load_after:.1f}. Run it again on a quiet "
                f"machine (or with fewer --threads). " + text)
    return text


def figures_grid(r: CalibrationResult) -> Grid:
    from splitcost.units import format_bytes, format_flop_rate, format_seconds

    d, p = r.device, r.peaks
    eff = d.efficiency
    conv = "" if p.conv_flops is None else f"; 3x3 conv {format_flop_rate(p.conv_flops)}"
    copies = ", ".join(f"{n / 2**20:g} MiB {format_bytes(b)}/s" for n, b in p.copies)
    rows = [
        ("memory.total", format_bytes(d.memory_total), d.sources["memory.total"].ref),
        ("memory.usable", format_bytes(d.memory_usable), "available at calibration time"),
        ("memory.runtime_overhead", format_bytes(d.runtime_overhead),
         d.sources["memory.runtime_overhead"].note),
        ("memory.bandwidth", f"{format_bytes(d.memory_bandwidth)}/s",
         f"the largest copy (DRAM): {copies}"),
        *((("memory.cache_size", format_bytes(d.cache_bytes), "largest copy at 80% of the best"),
           ("memory.cache_bandwidth", f"{format_bytes(d.cache_bandwidth or 0)}/s",
            "the best copy")) if d.cache_bytes else ()),
        ("compute.fp32", format_flop_rate(d.peak_flops["fp32"]),
         f"best of {p.gemm_n}² GEMM {format_flop_rate(p.gemm_flops)}{conv}"),
        *((f"compute.efficiency.{k}", "-" if getattr(eff, k) is None else
           f"{getattr(eff, k):.3g}", r.fit.status(k))
          for k in ("conv", "pointwise", "depthwise", "grouped", "matmul", "recurrent",
                    "elementwise", "pool", "memory")),
        ("compute.op_overhead", format_seconds(d.op_overhead_s), "fitted"),
        ("compute.latency_error", f"±{100 * r.latency_error:.1f}%", r.error_method),
    ]
    for f in r.runtimes[1:]:
        t = f"runtime.{f.runtime}"
        rows += [
            *((f"{t}.efficiency.{k}", "-" if getattr(f.fit.efficiency, k) is None else
               f"{getattr(f.fit.efficiency, k):.3g}", f.fit.status(k))
              for k in ("conv", "pointwise", "depthwise", "grouped", "matmul", "recurrent",
                        "elementwise", "pool", "memory")),
            (f"{t}.op_overhead", format_seconds(f.fit.op_overhead_s),
             f"fitted; an empty graph's run ({format_seconds(f.call_overhead_s)}) subtracted "
             "from every timing"),
            (f"{t}.fuses", ", ".join(f.fuses) or "none", "measured (nn-Meter's test)"),
            (f"{t}.latency_error", f"±{100 * f.latency_error:.1f}%", f.error_method),
        ]
    s = r.setup
    context: tuple[str, ...] = (
        f"{s.host}, torch {s.torch}, {s.threads} threads, {s.torch_device}, batch {s.batch}; "
        f"runtimes {', '.join(str(x) for x in s.runtimes)}; models {', '.join(s.models)}; "
        f"fastest of {s.rounds} rounds x {s.min_run_time_s:g} s per block",
        f"fit: RMS log error {r.fit.rms_log_error:.3f} over {r.fit.samples} blocks and whole "
        "backbones",
    )
    if r.noise is not None:
        n = r.noise
        context += (f"noise: {n.disturbed} of {n.timings} timings disturbed by other processes, "
                    f"median repeat spread {100 * n.median_spread:.1f}%, load average "
                    f"{n.load_before:.1f} -> {n.load_after:.1f}"
                    + (" (too noisy to trust)" if n.noisy else ""),)
    return Grid(f"Calibrated device {d.name} ({d.role})", ("figure", "value", "how"),
                tuple(rows), context=context, right=(1,))


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:+.1f}%"


def _fits(r: CalibrationResult) -> tuple[RuntimeFit, ...]:
    from splitcost.calibration.results import RuntimeFit
    from splitcost.kinds import Runtime

    return r.runtimes or (RuntimeFit(Runtime.EAGER, r.fit, r.blocks, r.models,
                                     r.latency_error, r.error_method),)


def models_grid(r: CalibrationResult) -> Grid:
    from splitcost.units import format_seconds

    rows = tuple((str(f.runtime), m.model, format_seconds(m.measured_s),
                  format_seconds(m.predicted_s), _pct(m.error),
                  "-" if m.held_out_s is None else format_seconds(m.held_out_s),
                  _pct(m.held_out_error)) for f in _fits(r) for m in f.models)
    return Grid("Whole backbones", ("runtime", "model", "measured", "predicted", "error", "LOMO",
                                    "LOMO error"), rows,
                notes=("LOMO: predicted by a fit that left this model out (leave one model "
                       "out)",), right=(2, 3, 4, 5, 6), keep=(0, 1))


def fusion_grid(r: CalibrationResult) -> Grid | None:
    from splitcost.units import format_seconds

    tests = [(f.runtime, t) for f in _fits(r) for t in f.fusion_tests]
    if not tests:
        return None
    rows = tuple((str(rt), t.rule, format_seconds(t.first_s), format_seconds(t.second_s),
                  format_seconds(t.pair_s), format_seconds(t.saved_s),
                  "fused" if t.timed_fused else "-",
                  f"{t.kernels[0]} + {t.kernels[1]} -> {t.kernels[2]}",
                  "fused" if t.fused else "-") for rt, t in tests)
    agree = sum(t.agree for _, t in tests)
    return Grid("Fusion tests", ("runtime", "rule", "op1", "op2", "op1 -> op2", "saved",
                                 "timed", "kernels", "kept"), rows,
                notes=("timed: nn-Meter's test, fused when op1 + op2 - (op1 -> op2) > 0.5 x "
                       "the cheaper; kernels: what the runtime's optimised graphs run; a rule is "
                       f"kept when op1 -> op2 runs no more kernels than op1. The two agree on "
                       f"{agree} of {len(tests)}.",),
                right=(2, 3, 4, 5), keep=(0, 1))


def blocks_grid(r: CalibrationResult) -> Grid:
    from splitcost.units import format_count, format_seconds

    rows = tuple((str(f.runtime), b.model, b.block, str(b.ops), format_count(b.flops),
                  format_seconds(b.measured_s), format_seconds(b.predicted_s), _pct(b.error))
                 for f in _fits(r) for b in f.blocks)
    skipped = [f"{m}/{b} ({why})" for f in _fits(r) for m, b, why in f.skipped]
    notes = (f"Not timed under ONNX Runtime (not exported): {'; '.join(skipped)}",) if (
        skipped) else ()
    return Grid("Per-block fit", ("runtime", "model", "block", "kernels", "FLOPs", "measured",
                                  "predicted", "error"), rows, notes=notes,
                right=(3, 4, 5, 6, 7), keep=(0, 1, 2))


def calibration_grids(r: CalibrationResult, options: RenderOptions | None = None
                      ) -> tuple[Grid, ...]:
    last = blocks_grid(r)
    fusion = fusion_grid(r)
    return (figures_grid(r), models_grid(r), *((fusion,) if fusion else ()), Grid(
        last.title, last.columns, last.rows, last.context, last.notes, last.right, last.keep,
        verdict=verdict(r)))


register(KIND, "calibration", calibration_grids)
