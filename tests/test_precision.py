"""Precision follows the model: a module's own dtype, the input, the payload and the labels; and a
device without arithmetic at a precision is priced at the rate it has (its FP32 one)."""

from __future__ import annotations

import pytest
from torch import nn

import splitcost
from splitcost.render.registry import Format, to_text


def test_a_half_module_is_profiled_in_float16() -> None:
    m = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU()).half()
    p = splitcost.profile(m, (3, 32, 32))
    assert p.dtype == "float16" and p.input.dtype == "float16"
    # 3 x 32 x 32 half-precision input: 2 bytes each; 8 x 3 x 3 x 3 weights + 8 biases
    assert p.input_bytes == 3 * 32 * 32 * 2
    assert p.param_bytes == (8 * 27 + 8) * 2
    assert next(m.parameters()).dtype.itemsize == 2  # the module itself untouched
    asked = splitcost.profile(m, (3, 32, 32), dtype="float32")
    assert asked.dtype == "float32" and asked.param_bytes == (8 * 27 + 8) * 4


def test_payload_and_input_follow_the_precision() -> None:
    p = splitcost.profile("resnet18", dtype="float16")
    r = splitcost.compare(p, tasks=1, device="jetson-nano-4gb", link="1gbps", what_if=False)
    by = {s.name: s for s in r.scenarios}
    # Z_b of resnet18's backbone: 512 x 7 x 7 at 2 bytes; the input 3 x 224 x 224 at 2 bytes.
    assert by["MTL-Split"].payload_bytes == 512 * 7 * 7 * 2
    assert by["MTL-Split"].payload_encoding == "float16"
    assert by["RoC"].payload_bytes == 3 * 224 * 224 * 2
    assert r.to_dict()["context"]["input_encoding"] == "float16"
    text = to_text(r, Format.TABLE, 120)
    assert "1x3x224x224 float16 (301 kB)" in text
    # An explicit encoding wins.
    r = splitcost.compare(p, tasks=1, payload_dtype="float32", input_dtype="uint8",
                          what_if=False)
    by = {s.name: s for s in r.scenarios}
    assert by["MTL-Split"].payload_bytes == 512 * 7 * 7 * 4
    assert by["RoC"].payload_bytes == 3 * 224 * 224


def test_fp16_is_not_faster_on_a_device_without_fp16_arithmetic() -> None:
    pi = splitcost.load_device("raspberry-pi-4-4gb")
    assert not pi.native("fp16")
    fp32 = splitcost.latency(splitcost.profile("resnet18", dtype="float32"), pi)
    fp16 = splitcost.latency(splitcost.profile("resnet18", dtype="float16"), pi)
    # Its FP32 cost (batch norm keeps FP32 statistics even at FP16, a few bytes more)
    assert fp32.total_s <= fp16.total_s == pytest.approx(fp32.total_s, rel=0.01)
    assert not fp16.native and fp32.native
    r = splitcost.compare(splitcost.profile("resnet18", dtype="float16"), tasks=1,
                          device="raspberry-pi-4-4gb", what_if=False)
    assert ("the edge device raspberry-pi-4-4gb has no float16 arithmetic"
            in to_text(r, Format.TABLE, 200))


def test_bf16_on_a_jetson_nano_runs_at_its_fp32_rate_not_fp16() -> None:
    nano = splitcost.load_device("jetson-nano-4gb")
    assert nano.native("fp16") and not nano.native("bf16")
    assert nano.peak("bf16") == nano.peak("fp32") < nano.peak("fp16")
    fp32 = splitcost.latency(splitcost.profile("resnet18", dtype="float32"), nano)
    bf16 = splitcost.latency(splitcost.profile("resnet18", dtype="bfloat16"), nano)
    fp16 = splitcost.latency(splitcost.profile("resnet18", dtype="float16"), nano)
    assert bf16.total_s == pytest.approx(fp32.total_s, rel=0.01)
    assert fp16.total_s < 0.8 * bf16.total_s
