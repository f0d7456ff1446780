"""The command line: the main job, the JSON contract, lazy torch, and bad input."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from cli_run import run

import splitcost


def test_the_main_job(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "report", "--backbone", "efficientnet", "--tasks", "3",
                       "--link", "1gbps")
    assert code == 0
    for word in ("LoC", "MTL-Local", "RoC", "MTL-Split", "jetson-nano-4gb", "rtx-3090",
                 "Memory model: inference", "fastest scenario that fits"):
        assert word in out


def test_report_json_contract(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "report", "-b", "efficientnet", "-t", "3", "-l", "1gbps",
                       "--format", "json")
    assert code == 0
    d = json.loads(out)
    assert d["schema_version"] == 2 and d["kind"] == "report"
    assert d["splitcost_version"] == splitcost.__version__
    c = d["context"]
    bb = c["backbone"]
    assert {"name", "input_shape", "batch", "params", "param_bytes", "macs", "flops", "zb_shape",
            "zb_bytes"} <= set(bb)
    assert bb["zb_bytes"] == 250_880 and bb["zb_shape"] == [1, 1280, 7, 7]
    assert [t["classes"] for t in c["tasks"]] == [10, 10, 10]
    assert {"classes", "params", "macs"} <= set(c["tasks"][0])
    assert c["device"]["name"] == "jetson-nano-4gb" and c["server"]["name"] == "rtx-3090"
    assert c["link"] == c["link"] | {"bandwidth_bps": 1e9, "rtt_s": 0.0, "efficiency": 1.0}
    assert c["memory_model"] == "inference"
    names = [s["name"] for s in d["scenarios"]]
    assert names == ["LoC", "MTL-Local", "RoC", "MTL-Split"]
    keys = {"feasible", "binding", "edge_memory_bytes", "server_memory_bytes", "payload_bytes",
            "edge_s", "transfer_s", "server_s", "total_s"}
    for s in d["scenarios"]:
        assert keys <= set(s)
    roc = d["scenarios"][2]
    assert roc["payload_bytes"] == 602_112
    for s in d["scenarios"]:  # the Jetson profile has power figures: energy per scenario
        e = s["energy"]
        assert e["total_j"] == pytest.approx(e["compute_j"] + e["idle_j"] + e["radio_j"])
        assert e["compute_j"] == pytest.approx(10.0 * s["edge_s"])  # 10 W active
    assert d["scenarios"][3]["payload_bytes"] == 250_880
    fastest = min((s for s in d["scenarios"] if s["feasible"]), key=lambda s: s["total_s"])
    assert d["best"] == d["verdict"]["best"] == fastest["name"]


def test_profile_json_contract(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "profile", "--backbone", "mobilenet", "--format", "json")
    assert code == 0
    d = json.loads(out)
    assert {"params", "param_bytes", "macs", "flops", "zb_shape", "zb_bytes", "input_bytes",
            "modules", "memory"} <= set(d)
    assert set(d["memory"]["torchinfo"]) == {"input_bytes", "forward_backward_bytes",
                                             "params_bytes", "total_bytes"}
    assert {"peak_activation_bytes", "params_bytes", "buffers_bytes", "total_bytes"} <= set(
        d["memory"]["inference"])
    assert d["macs"] == sum(m["macs"] for m in d["modules"] if m["depth"] == 1)
    assert set(d["memory"]["training"]) >= {"params_bytes", "grads_bytes", "optimizer_bytes",
                                            "saved_activation_bytes", "total_bytes"}
    assert d["memory"]["inference"]["peak_module"]
    assert max(c["live_bytes"] for c in d["live_curve"]) == d["memory"]["inference"][
        "peak_activation_bytes"]


@pytest.mark.parametrize("fmt", ["csv", "markdown", "table"])
def test_other_formats(capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    code, out, _ = run(capsys, "report", "--format", fmt)
    assert code == 0 and "MTL-Split" in out


def test_paper(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "paper", "--format", "json")
    assert code == 0
    d = json.loads(out)
    values = {(r["key"], r["label"]): r for r in d["rows"]}
    # Table 4's forward/backward pass sizes (MB = 10^6 bytes), as printed in the paper.
    fb = values[("fb", "MobileNetV3")]
    assert round(fb["computed"], 2) == 724.08 and fb["status"] == "exact"
    fb = values[("fb", "EfficientNet")]
    assert round(fb["computed"], 2) == 3452.09 and fb["status"] == "exact"
    code, out, _ = run(capsys, "paper", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert rows and all(r["note"] for r in rows)


def _python(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).parent.parent)
    return out.stdout.strip()


@pytest.mark.parametrize("args", [["--help"], ["devices"], ["links"], ["report", "--help"]])
def test_no_torch_for_help_devices_links(args: list[str]) -> None:
    code = (
        "import sys\nfrom splitcost.cli import main\n"
        f"try:\n    main({args!r})\nexcept SystemExit:\n    pass\n"
        "print('TORCH' if 'torch' in sys.modules else 'NO TORCH')"
    )
    assert _python(code).endswith("NO TORCH")


BAD = [
    (["report", "--backbone", "efficentnet"], "closest: efficientnet"),
    (["report", "--link", "1gbsp"], "1gbps"),
    (["report", "--input", "3x224"], "takes one image per sample as CxHxW"),
    (["profile", "--backbone", "vgg16", "--input", "3x16x16"], "3x32x32"),
    (["report", "--tasks", "0"], "at least one task"),
    (["report", "--device", "jetson-nano-4g"], "closest: jetson-nano-4gb"),
    (["report", "--memory-model", "peak"], "inference, torchinfo"),
    (["report", "--batch", "0"], "--batch"),
    (["report", "--format", "xml"], "--format"),
    (["report", "--payload-dtype", "int4"], "--payload-dtype"),
    (["report", "--input-dtype", "png"], "--input-dtype"),
    (["report", "--images", "0"], "--images"),
    (["profile", "--input", "3xx224"], "3x224x224"),
    (["profile", "--backbone", "nosuchpkg.mod:make"], "cannot import"),
    (["report", "--no-such-option"], "No such option"),
    (["report", "--cut", "layer9"], "unknown cut"),
    (["sweep", "--objective", "speed"], "--objective"),
    (["sweep", "--slo", "fast"], "--slo"),
    (["sweep", "--max-payload", "-1MB"], "--max-payload"),
    (["sweep", "--cuts", "some"], "--cuts"),
    (["sweep", "--depth", "0"], "--depth"),
    (["report", "--processes", "many"], "--processes"),
    (["profile", "--optimizer", "lion"], "--optimizer"),
    (["plan", "--devices", "0"], "--devices"),
    (["plan", "--fps", "fast"], "--fps"),
    (["plan", "--fps", "-2"], "--fps"),
    (["plan", "--ingress", "10"], "--ingress"),
    (["plan", "--concurrency", "0"], "--concurrency"),
    (["cache", "wipe"], "ACTION: expected one of info, clear"),
]


@pytest.mark.parametrize(("args", "expected"), BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_input_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], args: list[str], expected: str
) -> None:
    code, out, err = run(capsys, *args)
    assert code == 2
    assert expected in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert out == ""


def test_profile_file_with_a_missing_field(capsys: pytest.CaptureFixture[str],
                                           tmp_path: Path) -> None:
    good = Path(__file__).parent.parent / "profiles" / "devices" / "jetson-nano-4gb.toml"
    bad = tmp_path / "devices" / "broken.toml"
    bad.parent.mkdir()
    bad.write_text(good.read_text().replace('name = "jetson-nano-4gb"', 'name = "broken"')
                   .replace('usable = "2420 MiB"', ""))
    code, _, err = run(capsys, "report", "--device", str(bad))
    assert code == 2
    assert str(bad) in err and "'memory.usable': missing" in err


def test_sweep_json_contract(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "sweep", "--backbone", "resnet50", "--link", "lte",
                       "--format", "json")
    assert code == 0
    d = json.loads(out)
    keys = {"cut", "payload_bytes", "payload_tensors", "edge_params", "edge_macs",
            "edge_memory_bytes", "edge_s", "transfer_s", "server_s", "total_s", "feasible"}
    assert [c["cut"] for c in d["cuts"]][:2] == ["input", "conv1"]
    for c in d["cuts"]:
        assert keys <= set(c)
        assert c["total_s"] == pytest.approx(c["edge_s"] + c["transfer_s"] + c["server_s"])
    assert d["best"] in [c["cut"] for c in d["cuts"]]
    assert set(d["pareto"]) <= {c["cut"] for c in d["cuts"]}
    assert d["breakeven"] and d["breakeven"][0]["bandwidth_bps"] > 0
    assert d["cuts"][-1]["payload_bytes"] == 2048 * 7 * 7 * 4  # Z_b


def test_sweep_table_marks_the_best_and_the_flip(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "sweep", "--backbone", "resnet50", "--link", "lte")
    assert code == 0
    assert "best" in out and "Best cut for latency: 'layer4'" in out
    assert "Mbit/s 'input' wins" in out


def test_sweep_constraints_and_objectives(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "sweep", "-b", "efficientnet", "--objective", "payload",
                       "--max-payload", "100kB", "--slo", "10s", "--format", "json")
    assert code == 0
    d = json.loads(out)
    smallest = min((c for c in d["cuts"] if c["meets_constraints"]),
                   key=lambda c: c["payload_bytes"])
    assert d["best"] == smallest["cut"]
    assert all(c["payload_bytes"] <= 100_000 for c in d["cuts"] if c["meets_constraints"])


def test_report_with_a_cut(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "report", "-b", "resnet18", "--cut", "layer3", "--cut",
                       "layer1.0.conv1", "--format", "json")
    assert code == 0
    names = [s["name"] for s in json.loads(out)["scenarios"]]
    assert names[-2:] == ["Split@layer3", "Split@layer1.0.conv1"]


def test_every_operator_cut(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "sweep", "-b", "vgg16", "--input", "3x2835x3543", "--batch", "32",
                       "--cuts", "all", "--format", "json")
    assert code == 0
    d = json.loads(out)
    assert len(d["cuts"]) > 31 and d["cuts"][1]["cut"].startswith("op0:")


def test_loc_processes(capsys: pytest.CaptureFixture[str]) -> None:
    results = {}
    for processes in ("one", "per-task"):
        code, out, _ = run(capsys, "report", "-b", "efficientnet", "-t", "2", "--processes",
                           processes, "--format", "json")
        assert code == 0
        d = json.loads(out)
        loc = d["scenarios"][0]
        assert loc["memory_model"] == "inference"
        results[processes] = loc["edge_memory"]
    one, per_task = results["one"], results["per-task"]
    overhead = one["runtime_overhead_bytes"]
    assert per_task["runtime_overhead_bytes"] == 2 * overhead
    assert per_task["params_bytes"] == one["params_bytes"]


def test_report_cites_the_runtime_overhead(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "report", "-b", "efficientnet", "-t", "2", "--format", "markdown")
    assert code == 0
    # By default one line says what is counted; --sources cites where each figure comes from.
    assert "Runtime overhead counted per process: 1.07 GB on jetson-nano-4gb (estimate)" in out
    assert "pytorch/pytorch" not in out
    code, out, _ = run(capsys, "report", "-b", "efficientnet", "-t", "2", "--format", "markdown",
                       "--sources")
    assert code == 0
    assert "Runtime overhead counted per process on jetson-nano-4gb" in out
    assert "pytorch/pytorch" in out  # the cited source
    assert "jetson-nano-4gb memory.usable (derived)" in out and "lte" not in out


def test_plan(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "plan", "--backbone", "efficientnet", "--tasks", "3",
                       "--devices", "200", "--fps", "5", "--link", "lte")
    assert code == 0
    assert "Binding" in out and ("server compute" in out or "uplink" in out)
    code, out, _ = run(capsys, "plan", "-b", "efficientnet", "-n", "200", "--fps", "5",
                       "--link", "lte", "--payload-dtype", "int8", "--format", "json")
    d = json.loads(out)
    split = next(s for s in d["scenarios"] if s["name"] == "MTL-Split")
    assert split["device_ok"] and split["servers_needed"] >= 1
    assert split["binding"] in ("server compute", "server ingress", "server memory")


def test_report_breakeven_and_sensitivity(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "report", "-b", "efficientnet", "-l", "1gbps", "--format", "json")
    assert code == 0
    d = json.loads(out)
    assert any(f["parameter"] == "bandwidth" for f in d["breakeven"])
    inputs = {s["input"] for s in d["sensitivity"]}
    assert {"uplink bandwidth", "RTT", "edge device throughput", "tasks", "payload"} <= inputs
    assert any(f["parameter"] == "bandwidth" for f in d["verdict"]["flips"])
