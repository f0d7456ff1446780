"""`splitcost profile --device`: every module's predicted time and the total, in every format, and
the same from the API."""

from __future__ import annotations

import json

import pytest

import splitcost
from splitcost.cli import main


def _json(capsys: pytest.CaptureFixture[str], *args: str) -> dict:  # type: ignore[type-arg]
    main(["profile", *args, "--format", "json"])
    data: dict = json.loads(capsys.readouterr().out)  # type: ignore[type-arg]
    return data


def test_the_issue_command_prints_latency_total(capsys: pytest.CaptureFixture[str]) -> None:
    d = _json(capsys, "--device", "rtx-3090", "--precision", "float16", "--whole")
    total = d["latency"]["total_s"]
    api = splitcost.latency(splitcost.profile("efficientnet", whole=True, dtype="float16"),
                            "rtx-3090")
    assert total == pytest.approx(api.total_s, rel=1e-12) and total > 0
    assert d["latency"]["runtime"] == "eager" and d["latency"]["precision"] == "float16"
    assert all("time_s" in m for m in d["modules"])
    # The top-level modules' shares add up to the total.
    assert sum(m["time_s"] for m in d["modules"] if m["depth"] == 1) == pytest.approx(total)
    # The band the profile validated (rtx-3090 eager: +/-20%).
    assert d["latency"]["low_s"] == pytest.approx(total * 0.8)


def test_runtime_and_batch(capsys: pytest.CaptureFixture[str]) -> None:
    one = _json(capsys, "-b", "resnet18", "--device", "jetson-nano-4gb", "--runtime",
                "tensorrt")["latency"]
    eight = _json(capsys, "-b", "resnet18", "--device", "jetson-nano-4gb", "--runtime",
                  "tensorrt", "--batch", "8")["latency"]
    assert one["runtime"] == "tensorrt" and one["kernels"] < 68  # fewer kernels than operators
    assert eight["batch"] == 8 and eight["total_s"] > one["total_s"]


def test_the_table_and_csv_show_the_times(capsys: pytest.CaptureFixture[str]) -> None:
    main(["profile", "-b", "resnet18", "--device", "rtx-3090"])
    out = capsys.readouterr().out
    assert "Latency on rtx-3090 (eager, float32, batch 1)" in out and "Time" in out
    main(["profile", "-b", "resnet18", "--device", "rtx-3090", "--format", "csv"])
    header = capsys.readouterr().out.splitlines()[0]
    assert header.endswith("time_s")
