"""The latency validation of benchmarks/latency_validation.py, on a CUDA GPU, as one short run.

For a lent GPU machine (see DEVELOPERS.md): calibrates the GPU with ``splitcost calibrate``'s
code (``torch_device="cuda"``: FP32 GEMM peak with TF32 off as PyTorch's default for matmul,
copy bandwidth, the default calibration models timed block by block with CUDA synchronised by
``torch.utils.benchmark``), then predicts and measures the same disjoint held-out backbones,
per block, whole, and per cut (edge = this GPU, server = this GPU x 10, ideal 100 Mbit/s link).
Writes the calibrated profile and a JSON of every figure to $OUT (or ./latency_cuda_out).

Run: python benchmarks/latency_cuda.py   (about 2 minutes on an H100; exits with a message and
status 1 where CUDA is absent).
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path

import torch
from latency_validation import HELD_OUT, held_out_table, host_table, validate
from rich.console import Console

from splitcost.calibration import DEFAULT_MODELS, calibrate, check_models, time_models
from splitcost.kinds import Runtime

ROUNDS = 2
MIN_RUN_TIME = 0.05


def main() -> None:
    if not torch.cuda.is_available():
        sys.exit(f"latency_cuda: CUDA is not available on this machine (torch {torch.__version__}"
                 f", built for CUDA {torch.version.cuda or 'none'}); run it on a GPU machine.")
    out = Path(os.environ.get("OUT") or "latency_cuda_out")
    out.mkdir(parents=True, exist_ok=True)
    console = Console(width=200)
    t0 = time.perf_counter()
    console.print(f"{torch.cuda.get_device_name()}, torch {torch.__version__}, CUDA "
                  f"{torch.version.cuda}, cuDNN {torch.backends.cudnn.version()}, TF32 matmul "
                  f"{torch.backends.cuda.matmul.allow_tf32}, TF32 cuDNN "
                  f"{torch.backends.cudnn.allow_tf32}")
    path = out / "cuda-host.toml"
    cal = calibrate(path, models=DEFAULT_MODELS, torch_device="cuda", role="server",
                    rounds=ROUNDS, min_run_time=MIN_RUN_TIME)
    console.print(host_table(cal))
    console.print(f"calibration: {time.perf_counter() - t0:.0f} s, in-sample RMS log error "
                  f"{cal.fit.rms_log_error:.3f}")
    timings = time_models(check_models(HELD_OUT), torch_device="cuda", rounds=ROUNDS,
                          min_run_time=MIN_RUN_TIME)
    results = [validate(t, cal.device, Runtime.EAGER, True) for t in timings]
    console.print(held_out_table(Runtime.EAGER, results))
    held = {t.name: [{"block": b.block, "measured_s": b.measured_s} for b in t.blocks]
            for t in timings}
    (out / "latency_cuda.json").write_text(json.dumps({
        "calibration": cal.to_dict(),
        "held_out": [asdict(r) | {"whole_error": r.whole_error} for r in results],
        "held_out_blocks": held,
    }, indent=1, default=str))
    console.print(f"total {time.perf_counter() - t0:.0f} s; wrote {path} and "
                  f"{out / 'latency_cuda.json'}")


if __name__ == "__main__":
    main()
