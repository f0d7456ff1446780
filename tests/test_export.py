"""Both halves through torch.export and back: the loaded programs compose to the eager net."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import torch

from splitcost.cli import main
from splitcost.deploy.export import NoteKind, export_split, load_split
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
        assert [n.kind for n in result.notes] == [NoteKind.ONNX_NOT_INSTALLED]
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


# --- whole or absent ---------------------------------------------------------------------------


def _export(net: object, cut: str, out: Path) -> dict[str, object]:
    from splitcost.deploy.mtl import MTLNet

    assert isinstance(net, MTLNet)
    return export_split(net, net.split(cut), out, backbone="resnet18", tasks=[3],
                        onnx=False).manifest


def _composes(out: Path, net: object) -> None:
    from splitcost.deploy.mtl import MTLNet

    assert isinstance(net, MTLNet)
    edge, server, _ = load_split(out)
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        for a, b in zip(server(*edge(x)), net.eval()(x), strict=True):
            torch.testing.assert_close(a, b, atol=1e-5, rtol=0)


def test_interrupted_reexport_leaves_the_old_export(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The issue's case: re-exporting at layer3 over a layer1 export, interrupted after the
    edge half is written (Ctrl-C), leaves the layer1 export whole and loadable."""
    import splitcost.deploy.export as export

    torch.manual_seed(0)
    net = build_mtl("resnet18", [3], input_shape=(3, 32, 32))
    out = tmp_path / "split"
    old = _export(net, "layer1", out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    saved: list[str] = []
    real = export._save_program

    def interrupted(ep: object, path: Path) -> None:
        if saved:
            raise KeyboardInterrupt
        real(ep, path)
        saved.append(path.name)

    monkeypatch.setattr(export, "_save_program", interrupted)
    with pytest.raises(KeyboardInterrupt):
        _export(net, "layer3", out)
    assert saved == ["edge.pt2"]  # the new edge half was written before the interrupt
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["split"]  # no staging folder left
    _, _, manifest = load_split(out)
    assert manifest == old and manifest["cut"] == "layer1"
    _composes(out, net)
    monkeypatch.undo()
    new = _export(net, "layer3", out)  # a whole re-export replaces it whole
    assert load_split(out)[2] == new and new["cut"] == "layer3"
    _composes(out, net)


def test_killed_reexport_leaves_a_whole_export(tmp_path: Path) -> None:
    """A re-export killed (SIGKILL) at some moment: the folder is the old export or the new
    one, each whole, never a mix."""
    import signal
    import subprocess
    import sys
    import time

    torch.manual_seed(0)
    net = build_mtl("resnet18", [3], input_shape=(3, 32, 32))
    out = tmp_path / "split"
    _export(net, "layer1", out)
    script = ("import sys, torch; from splitcost.deploy.export import export_split; "
              "from splitcost.deploy.mtl import build_mtl; torch.manual_seed(0); "
              "n = build_mtl('resnet18', [3], input_shape=(3, 32, 32)); "
              "export_split(n, n.split('layer3'), sys.argv[1], onnx=False)")
    proc = subprocess.Popen([sys.executable, "-c", script, str(out)])
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        staged = [p for p in tmp_path.iterdir() if p.name.startswith(".split.")]
        if staged and any(p.name == "edge.pt2" for p in staged[0].iterdir()):
            break  # killed while the new halves are being written
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    _, _, manifest = load_split(out)
    assert manifest["cut"] in ("layer1", "layer3")
    _composes(out, net)


def test_mixed_pair_is_refused(tmp_path: Path) -> None:
    from splitcost.errors import InputError

    torch.manual_seed(0)
    net = build_mtl("resnet18", [3], input_shape=(3, 32, 32))
    _export(net, "layer1", tmp_path / "a")
    _export(net, "layer3", tmp_path / "b")
    (tmp_path / "a" / "edge.pt2").write_bytes((tmp_path / "b" / "edge.pt2").read_bytes())
    with pytest.raises(InputError, match=r"edge\.pt2 is not the file this manifest belongs to"):
        load_split(tmp_path / "a")
    (tmp_path / "b" / "server.pt2").unlink()
    with pytest.raises(InputError, match=r"server\.pt2 is missing"):
        load_split(tmp_path / "b")


def test_a_folder_of_other_files_is_not_replaced(tmp_path: Path) -> None:
    from splitcost.errors import InputError

    torch.manual_seed(0)
    net = build_mtl("resnet18", [3], input_shape=(3, 32, 32))
    (tmp_path / "project").mkdir()
    (tmp_path / "project" / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="not a splitcost export") as e:
        _export(net, "layer1", tmp_path / "project")
    assert e.value.parameter == "out"
    assert [p.name for p in (tmp_path / "project").iterdir()] == ["notes.txt"]
