"""Both halves through torch.export and back: the loaded programs compose to the eager net."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import torch

from splitcost.cli import main
from splitcost.deploy.export import export_split, load_split
from splitcost.deploy.mtl import build_mtl


def test_round_trip_matches_the_eager_network(tmp_path: Path) -> None:
    torch.manual_seed(0)
    net = build_mtl("resnet18", "3,2", input_shape=(3, 64, 64))
    split = net.split("layer1.0.conv1")  # two tensors cross
    result = export_split(net, split, tmp_path / "out", payload_dtype="int8",
                          backbone="resnet18", tasks=[3, 2])
    assert net.training  # the network's mode is restored
    edge, server, manifest = load_split(tmp_path / "out")
    x = torch.randn(3, 3, 64, 64)  # another batch than the example: the batch is dynamic
    net.eval()
    with torch.no_grad():
        payload = edge(x)
        got = server(*payload)
        want = net(x)
    assert len(payload) == 2
    for a, b in zip(got, want, strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=0)
    assert manifest == result.manifest
    assert manifest["cut"] == "layer1.0.conv1"
    assert manifest["input"] == {"shape": [3, 64, 64], "dtype": "float32", "batch": "dynamic"}
    assert [t["shape"] for t in manifest["payload"]["tensors"]] == [["batch", 64, 16, 16]] * 2
    assert manifest["payload"]["encoding"] == "int8"
    # int8: one byte per element + a float32 scale and an int32 zero point per tensor
    assert manifest["payload"]["encoded_bytes_per_sample"] == 2 * 64 * 16 * 16 + 2 * 8
    assert manifest["torch_version"] == torch.__version__
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    onnx = importlib.util.find_spec("onnx") is not None
    expected = ["edge.pt2", "manifest.json", "server.pt2"]
    if not onnx:
        assert names == expected  # no temporary file left behind
        assert any("onnx package is not installed" in n for n in result.notes)
    elif not result.notes:  # the exporter's own dependencies (onnxscript) were there too
        assert names == sorted([*expected, "edge.onnx", "server.onnx"])
    assert not list(tmp_path.glob("*.tmp*"))


def test_cli_writes_only_under_out(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "halves"
    main(["export", "--backbone", "mobilenet", "--tasks", "2", "--cut", "output",
          "--input", "3x32x32", "--out", str(out), "--format", "json"])
    data = json.loads(capsys.readouterr().out)
    assert data["manifest"]["payload"]["tensors"][0]["shape"] == ["batch", 576, 1, 1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["halves"]


def test_cli_bad_cut_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["export", "--backbone", "resnet18", "--cut", "layer9", "--input", "3x32x32",
              "--out", str(tmp_path / "x")])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown cut 'layer9'" in err
    assert not (tmp_path / "x").exists()
