"""Calibration: the fit recovers a known device from block times it generated, and a tiny real
calibration writes a profile that ``load_device`` and ``sweep`` accept."""

from __future__ import annotations

import math
import random
from pathlib import Path

import pytest

from splitcost.calibration import PARAMETERS, Sample, calibrate, fit
from splitcost.cli import main
from splitcost.hardware.catalog import load_device
from splitcost.hardware.device import Device, Efficiency
from splitcost.hardware.roofline import OpWork
from splitcost.network.profiler import profile
from splitcost.studies.sweep import sweep

PEAK, BANDWIDTH = 100e9, 10e9
TRUTH = {"conv": 0.6, "depthwise": 0.05, "matmul": 0.3, "elementwise": 0.004, "pool": 0.01,
         "memory": 0.7, "pointwise": 0.4, "grouped": 0.1, "recurrent": 0.02}
OVERHEAD = 20e-6
STEPS = 16  # of every recurrent operator


def generated_time(work: list[OpWork]) -> float:
    """The generating model, written out here: max(FLOPs / (peak x eff), bytes / (bandwidth x
    eff_memory)) + overhead per operator; a recurrent one is STEPS such terms of 1/STEPS of its
    work each, its own efficiency scaling the memory term too (a step is a GEMV)."""
    total = 0.0
    for w in work:
        n = w.steps
        step_eff = TRUTH[w.op_class] if n > 1 else 1.0
        total += n * max(w.flops / n / (PEAK * TRUTH[w.op_class]),
                         w.bytes_moved / n / (BANDWIDTH * TRUTH["memory"] * step_eff)) + OVERHEAD
    return total


def synthetic_blocks(rng: random.Random, n: int) -> list[Sample]:
    """Blocks of operators of every class, some compute-bound and some memory-bound (copies
    with no FLOPs, big-weight matmuls), some tiny (overhead-bound)."""
    kinds = [("conv", 1e6, 1e9, 20.0, 200.0), ("depthwise", 1e5, 1e7, 1.0, 10.0),
             ("matmul", 1e6, 1e8, 0.1, 100.0), ("elementwise", 1e4, 1e6, 0.2, 0.5),
             ("pool", 1e4, 1e6, 0.5, 2.0), ("elementwise", 0.0, 0.0, 0.0, 0.0),
             ("pointwise", 1e6, 1e8, 5.0, 50.0), ("grouped", 1e5, 1e8, 2.0, 20.0),
             ("recurrent", 1e6, 1e8, 10.0, 100.0)]
    blocks = []
    for i in range(n):
        work = []
        for _ in range(rng.randint(1, 8)):
            cls, lo, hi, ilo, ihi = rng.choice(kinds)
            if hi == 0.0:  # a copy: bytes only
                work.append(OpWork(cls, 0, int(10 ** rng.uniform(4, 7))))
                continue
            flops = 10 ** rng.uniform(math.log10(lo), math.log10(hi))
            intensity = 10 ** rng.uniform(math.log10(ilo), math.log10(ihi))  # FLOP per byte
            work.append(OpWork(cls, int(flops), int(flops / intensity),
                               STEPS if cls == "recurrent" else 1))
        blocks.append(Sample("synthetic", f"b{i}", 0, len(work), tuple(work),
                             generated_time(work)))
    return blocks


def start_device() -> Device:
    return Device(name="fit", title="fit", role="edge", summary="fit", memory_total=1,
                  memory_usable=1, runtime_overhead=0, memory_bandwidth=BANDWIDTH,
                  peak_flops={"fp32": PEAK}, efficiency=Efficiency(*[0.5] * 6),
                  op_overhead_s=1e-5)


def test_fit_recovers_the_generating_device() -> None:
    blocks = synthetic_blocks(random.Random(5), 80)
    f = fit(blocks, start_device())
    assert set(TRUTH) == set(PARAMETERS)
    for k in PARAMETERS:
        assert getattr(f.efficiency, k) == pytest.approx(TRUTH[k], rel=0.02), k
    assert f.op_overhead_s == pytest.approx(OVERHEAD, rel=0.02)
    assert f.rms_log_error < 1e-3


def test_fit_under_noise_stays_close() -> None:
    rng = random.Random(7)
    noisy = [Sample(b.model, b.block, b.start, b.end, b.work,
                    b.measured_s * math.exp(rng.gauss(0.0, 0.05)))
             for b in synthetic_blocks(rng, 120)]
    f = fit(noisy, start_device())
    for k in PARAMETERS:
        assert getattr(f.efficiency, k) == pytest.approx(TRUTH[k], rel=0.15), k
    assert f.op_overhead_s == pytest.approx(OVERHEAD, rel=0.15)


def test_fit_says_which_efficiencies_the_data_cannot_see() -> None:
    # Only dense convolutions and copies: nothing depends on the other classes' efficiencies.
    rng = random.Random(3)
    blocks = [b for b in synthetic_blocks(rng, 300)
              if all(w.op_class == "conv" or w.flops == 0 for w in b.work)]
    f = fit(blocks, start_device())
    assert set(f.unconstrained) == {"depthwise", "matmul", "elementwise", "pool"}
    # The optional classes no block has are left out, so the profile falls back for them.
    assert (f.efficiency.pointwise, f.efficiency.grouped, f.efficiency.recurrent) == (None,) * 3
    assert f.status("grouped").startswith("not measured")
    assert f.status("conv") == "fitted" and f.status("pool").startswith("only bounded below")
    assert f.efficiency.conv == pytest.approx(TRUTH["conv"], rel=0.02)


def test_tiny_real_calibration_feeds_sweep(tmp_path: Path) -> None:
    out = tmp_path / "tiny-host.toml"
    steps: list[str] = []
    r = calibrate(out, models=["mobilenet_v3_small"], min_run_time=0.01, rounds=1, retries=0,
                  progress=lambda stage, done, total: steps.append(stage))
    assert {"building", "timing", "fit", "writing the profile"} <= set(steps)
    device = load_device(str(out))
    assert device.name == "tiny-host" and device.role == "edge"
    assert device.latency_error is not None and device.latency_error > 0
    # The classes a run did not measure (grouped, recurrent, ...) stay unset, as f.status says.
    fitted = [getattr(device.efficiency, k) for k in PARAMETERS]
    assert all(0 < v <= 1 for v in fitted if v is not None)
    assert all(getattr(device.efficiency, k) is not None for k in ("conv", "memory"))
    assert {s.kind for s in device.sources.values()} <= {"measured", "calibrated"}
    assert device.runtime_overhead > 0 and device.memory_usable <= device.memory_total
    assert r.to_dict()["path"] == str(out) and r.blocks and r.models[0].measured_s > 0
    p = profile("mobilenet_v3_small")
    sw = sweep(p, 2, device=str(out), server=str(out), link="100 Mbit/s")
    assert sw.best is not None
    assert all(res.scenario.total_s > 0 for res in sw.results)


@pytest.mark.parametrize(("args", "message"), [
    (["--models", "resnet18,mobilenet_v9"], "unknown backbone 'mobilenet_v9'; closest"),
    (["--torch-device", "cuda"], "CUDA"),
    (["--role", "cloud"], "--role"),
    (["--format", "csv"], "--format"),
])
def test_bad_input_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                      args: list[str], message: str) -> None:
    import torch

    if "cuda" in args and torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(SystemExit) as e:
        main(["calibrate", "--out", str(tmp_path / "h.toml"), *args])
    err = capsys.readouterr().err
    assert e.value.code == 2 and message in err and err.count("\n") == 1
    assert not (tmp_path / "h.toml").exists()


def test_unwritable_out_fails_before_timing(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["calibrate", "--out", "/no/such/folder/host.toml"])
    err = capsys.readouterr().err
    assert e.value.code == 2 and "does not exist" in err and err.count("\n") == 1
