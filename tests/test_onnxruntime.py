"""ONNX Runtime as a runtime: the kernels splitcost groups a network into against the kernels
ONNX Runtime's own optimised graph runs, the fusion tests' verdicts by hand, and a tiny
`calibrate --runtime onnxruntime` whose profile prices a report under that runtime."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from splitcost.calibration import FusionTest, calibrate
from splitcost.calibration.onnx import export, optimized_kernels, runner
from splitcost.calibration.timing import real_backbone
from splitcost.cli import main
from splitcost.hardware.catalog import load_device
from splitcost.hardware.runtimes import DEFAULT_FUSES
from splitcost.kinds import Runtime
from splitcost.network.profiler import profile
from splitcost.network.zoo import resolve
from splitcost.pricing.fusion import kernels

# What the fusion tests found for ONNX Runtime 1.32's CPU execution provider here (the defaults
# a profile without its own fuses gets).
ORT_RULES = DEFAULT_FUSES[Runtime.ONNXRUNTIME]


def test_fusion_verdicts_by_hand() -> None:
    # nn-Meter: op1 40 us, op2 10 us, both 42 us: 8 saved > 0.5 x 10: fused; 46 us: 4 saved: not
    assert FusionTest("conv+activation", 40e-6, 10e-6, 42e-6).timed_fused
    assert not FusionTest("conv+activation", 40e-6, 10e-6, 46e-6).timed_fused
    # The runtime's graph decides: op1 -> op2 in as many kernels as op1 alone
    assert FusionTest("x+y", 1, 1, 1, (1, 1, 1)).fused
    assert not FusionTest("x+y", 1, 1, 1, (1, 1, 2)).fused


def test_an_exported_block_computes_what_torch_does() -> None:
    torch.manual_seed(0)
    block = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.BatchNorm2d(8),
                                torch.nn.ReLU()).eval()
    x = torch.randn(1, 3, 16, 16)
    fn, why = runner(block, [x], 1)
    assert fn is not None, why
    with torch.no_grad():
        assert torch.allclose(torch.from_numpy(fn()[0]), block(x), atol=1e-5)


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v2", "squeezenet1_1", "googlenet"])
def test_kernels_match_onnxruntimes_optimised_graph(name: str) -> None:
    info = resolve(name)
    ours = kernels(profile(name).trace, ORT_RULES)
    theirs = optimized_kernels(export(real_backbone(info, "cpu"), [torch.randn(1, 3, 224, 224)]),
                               1)
    assert len(ours) == pytest.approx(len(theirs), rel=0.1), (len(ours), theirs)


def test_tiny_onnxruntime_calibration_prices_a_report(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "ort-host.toml"
    r = calibrate(out, models=["mobilenet_v3_small"], min_run_time=0.01, rounds=1, retries=0,
                  threads=1, runtime="onnxruntime")
    device = load_device(str(out))
    section = device.runtime(Runtime.ONNXRUNTIME)
    assert section.latency_error is not None and section.op_overhead_s >= 0
    assert "conv+norm" in section.fuses  # every ONNX export folds an eval batch norm
    assert [f.runtime for f in r.runtimes] == [Runtime.EAGER, Runtime.ONNXRUNTIME]
    assert r.runtimes[1].fusion_tests and r.noise is not None
    main(["report", "--device", str(out), "--server", str(out), "--runtime", "onnxruntime",
          "--format", "json", "-b", "mobilenet"])
    assert '"runtime": "onnxruntime"' in capsys.readouterr().out
