"""Every example runs, quickly, and prints what it promises."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("*.py"))

# What each example must print (figures checked elsewhere against their oracles).
EXPECTED = {
    "paper_table4.py": [
        "forward/backward 724.08 MB",
        "forward/backward 3452.09 MB",
        "LoC, 2 tasks, torchinfo model, batch 32: 7.10 GB of 2.54 GB usable -> does not fit",
        "inference model, batch 1",
        "96.4 s on the link",
    ],
    # Uplink per camera by hand: 5/s x 602,112 B x 8 = 24.1 Mbit/s = 401% of LTE's 6 Mbit/s;
    # Z_b 250,880 B -> 10 Mbit/s = 167%; as int8 62,720 B + scale and zero point -> 42%.
    "fleet_lte.py": [
        "RoC       a camera cannot keep up: uplink 24.1 Mbit/s (5/s x 602 kB) is 401% of LTE",
        "MTL-Split a camera cannot keep up: uplink 10 Mbit/s (5/s x 251 kB) is 167% of LTE",
        "MTL-Split each camera keeps up",
        "int8 sends 62.7 kB instead of 251 kB per inference: the LTE uplink goes from 167% to "
        "42% busy, and MTL-Split now keeps up",
    ],
    # Parameters, output shape and conv MACs counted by PyTorch on CPU; the skip payload by hand
    # (16x112x112 + 16x56x56 float32).
    "own_backbone.py": [
        "my_backbone:make: 307,824 params, 54,390,784 MACs, Z_b 1x128x7x7 = 25,088 bytes",
        "PyTorch on CPU: 307,824 params, output 1x128x7x7, 54,390,784 conv MACs -> agrees",
        "stage1.conv1 sends 1,003,520 bytes = skip 802,816 + conv1 output 200,704",
        "Best cut for latency: 'stage4.relu'",
    ],
    # The p99 of a branched network on the Nano is its fixed edge time (a camera's frames at a
    # fixed rate queue nowhere below 100%): branch '2' is 134 ms, branch '1' 155 ms (the Nano's
    # eager profile as issue 12 fitted it).
    "branch_for_slo.py": [
        "The most task-specific layout within the SLO: branch '2' (3.99 M params of each "
        "task's own), MTL-Local, p99 134 ms",
    ],
    "my_backbone.py": ["my_backbone:make -> 307,824 params, 1x3x224x224 -> 1x128x7x7"],
}


# Arguments for examples whose full run is longer than a test should be.
ARGS = {"train_shapes.py": ["--quick"]}


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_runs(path: Path) -> None:
    out = subprocess.run([sys.executable, str(path), *ARGS.get(path.name, [])],
                         capture_output=True, text=True, timeout=120, check=True).stdout
    assert out.strip()
    for line in EXPECTED.get(path.name, []):
        assert line in out
