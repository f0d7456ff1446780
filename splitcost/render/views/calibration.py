"""The views of ``splitcost calibrate``: the fitted figures, whole backbones, every block."""

from __future__ import annotations

from typing import TYPE_CHECKING

from splitcost.render.grid import Grid
from splitcost.render.registry import RenderOptions
from splitcost.render.views.common import register

if TYPE_CHECKING:
    from splitcost.calibration.results import CalibrationResult

KIND = "splitcost.calibration.results:CalibrationResult"


def verdict(r: CalibrationResult) -> str:
    return (f"Wrote {r.path}: latency error band ±{100 * r.latency_error:.0f}% "
            f"({r.error_method}). Use it as --device {r.path} or --server {r.path}.")


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
        *((f"compute.efficiency.{k}", f"{getattr(eff, k):.3g}", r.fit.status(k))
          for k in ("conv", "depthwise", "matmul", "elementwise", "pool", "memory")),
        ("compute.op_overhead", format_seconds(d.op_overhead_s), "fitted"),
        ("compute.latency_error", f"±{100 * r.latency_error:.1f}%", r.error_method),
    ]
    s = r.setup
    context = (f"{s.host}, torch {s.torch}, {s.threads} threads, {s.torch_device}, batch "
               f"{s.batch}, 3x224x224; models {', '.join(s.models)}; fastest of {s.rounds} "
               f"rounds x {s.min_run_time_s:g} s per block",
               f"fit: RMS log error {r.fit.rms_log_error:.3f} over {r.fit.samples} blocks and "
               "whole backbones")
    return Grid(f"Calibrated device {d.name} ({d.role})", ("figure", "value", "how"),
                tuple(rows), context=context, right=(1,))


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:+.1f}%"


def models_grid(r: CalibrationResult) -> Grid:
    from splitcost.units import format_seconds

    rows = tuple((m.model, format_seconds(m.measured_s), format_seconds(m.predicted_s),
                  _pct(m.error), "-" if m.held_out_s is None else format_seconds(m.held_out_s),
                  _pct(m.held_out_error)) for m in r.models)
    return Grid("Whole backbones", ("model", "measured", "predicted", "error", "LOMO",
                                    "LOMO error"), rows,
                notes=("LOMO: predicted by a fit that left this model out (leave one model "
                       "out)",), right=(1, 2, 3, 4, 5))


def blocks_grid(r: CalibrationResult) -> Grid:
    from splitcost.units import format_count, format_seconds

    rows = tuple((b.model, b.block, str(b.ops), format_count(b.flops),
                  format_seconds(b.measured_s), format_seconds(b.predicted_s), _pct(b.error))
                 for b in r.blocks)
    return Grid("Per-block fit", ("model", "block", "ops", "FLOPs", "measured", "predicted",
                                  "error"), rows, right=(2, 3, 4, 5, 6), keep=(0, 1))


def calibration_grids(r: CalibrationResult, options: RenderOptions | None = None
                      ) -> tuple[Grid, ...]:
    last = blocks_grid(r)
    return (figures_grid(r), models_grid(r), Grid(
        last.title, last.columns, last.rows, last.context, last.notes, last.right, last.keep,
        verdict=verdict(r)))


register(KIND, "calibration", calibration_grids)
