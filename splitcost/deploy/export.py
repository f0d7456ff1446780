"""Export both halves of a split for deployment: ``torch.export`` programs, ONNX when the optional
``onnx`` package is installed, and a manifest that says what crosses the link.

The halves are exported with a dynamic batch dimension where ``torch.export`` accepts one (so one
file serves any batch), else at the example batch; the manifest says which. Every file is written
to a temporary name in the output folder and renamed into place, so a reader never sees half a
file and an interrupted export leaves no partial file behind. Nothing is written outside ``out``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from splitcost._files import atomic_path
from splitcost._notebook import Notebook
from splitcost.deploy.mtl import MTLNet, SplitNet, eval_mode
from splitcost.errors import InputError
from splitcost.hardware.encoding import Encoding, payload_encoding

MANIFEST_VERSION = 1


@dataclass(frozen=True, repr=False)
class ExportResult(Notebook):
    """What was written, and what the manifest says."""

    out_dir: str
    files: tuple[str, ...]  # names inside out_dir
    manifest: dict[str, Any]
    notes: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"out_dir": self.out_dir, "files": list(self.files), "manifest": self.manifest,
                "notes": list(self.notes)}


def _export_pair(split: SplitNet, x: torch.Tensor, dynamic: bool) -> tuple[Any, Any]:
    """Both halves through ``torch.export``, the batch dimension dynamic or fixed."""
    with torch.no_grad():
        payload = tuple(split.edge(x))
    if not dynamic:
        return (torch.export.export(split.edge, (x,)),
                torch.export.export(split.server, payload))
    batch = torch.export.Dim("batch", min=1, max=4096)
    edge = torch.export.export(split.edge, (x,), dynamic_shapes={"x": {0: batch}})
    shapes = {name: {0: batch} for name in split.payload_names}
    return edge, torch.export.export(split.server, payload, dynamic_shapes=shapes)


def export_split(net: MTLNet, split: SplitNet, out: str | os.PathLike[str], *,
                 payload_dtype: str = "float32", backbone: str = "",
                 tasks: list[int] | None = None, batch: int = 1,
                 onnx: bool = True) -> ExportResult:
    """Write ``edge.pt2``, ``server.pt2`` (and ``edge.onnx``, ``server.onnx``) and
    ``manifest.json`` into ``out`` (created if missing). The network is exported in eval mode
    and its modes are restored afterwards."""
    encoding = payload_encoding(payload_dtype)
    out_dir = Path(out)
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"--out {str(out_dir)!r} exists and is not a folder")
    if not out_dir.parent.is_dir():
        # Make the folder asked for, never a tree of them from a mistyped path.
        raise InputError(f"folder {str(out_dir.parent)!r} does not exist", parameter="out")
    out_dir.mkdir(exist_ok=True)
    x = torch.randn((batch, *net.input_shape))
    notes: list[str] = []
    with eval_mode(net):
        with torch.no_grad():
            payload = tuple(split.edge(x))
        try:  # an example batch of 2: torch.export fixes a dimension of size 1
            edge_ep, server_ep = _export_pair(split, torch.randn((2, *net.input_shape)), True)
            dynamic = True
        except Exception as e:  # the graph fixes the batch somewhere: export it as it is
            edge_ep, server_ep = _export_pair(split, x, False)
            dynamic = False
            notes.append(f"batch fixed at {batch}: a dynamic batch did not export "
                         f"({type(e).__name__})")
    files = ["edge.pt2", "server.pt2"]
    for name, ep in (("edge.pt2", edge_ep), ("server.pt2", server_ep)):
        with atomic_path(out_dir / name) as tmp:
            torch.export.save(ep, str(tmp))
    onnx_files, onnx_note = _onnx(out_dir, edge_ep, server_ep) if onnx else ([], "not asked")
    files += onnx_files
    if onnx_note:
        notes.append(f"ONNX: {onnx_note}")
    manifest = _manifest(net, split, encoding, backbone, tasks, batch, dynamic, onnx_files,
                         payload)
    with atomic_path(out_dir / "manifest.json") as tmp:
        tmp.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    files.append("manifest.json")
    return ExportResult(str(out_dir), tuple(files), manifest, tuple(notes))


def _onnx(out_dir: Path, edge_ep: Any, server_ep: Any) -> tuple[list[str], str]:
    """ONNX files when ``onnx`` is importable (the ``onnx`` extra); a note otherwise."""
    import importlib.util

    if importlib.util.find_spec("onnx") is None:
        return [], "skipped: the onnx package is not installed (pip install 'splitcost[onnx]')"
    written: list[str] = []
    try:
        for name, ep in (("edge.onnx", edge_ep), ("server.onnx", server_ep)):
            with atomic_path(out_dir / name) as tmp:
                _write_onnx(ep, tmp)
            written.append(name)
    except Exception as e:  # the exporter's failures are many and version-dependent
        return written, f"export failed: {type(e).__name__}: {str(e).splitlines()[0][:200]}"
    return written, ""


def _write_onnx(ep: Any, path: Path) -> None:
    program = torch.onnx.export(ep, (), dynamo=True, verbose=False)
    if program is None:
        raise RuntimeError("the exporter returned no program")
    program.save(str(path))


def _manifest(net: MTLNet, split: SplitNet, encoding: Encoding, backbone: str,
              tasks: list[int] | None, batch: int, dynamic: bool, onnx_files: list[str],
              payload: tuple[torch.Tensor, ...]) -> dict[str, Any]:
    classes = tasks if tasks is not None else [_out_features(h) for h in net.heads]
    numel = sum(t[0].numel() for t in payload)  # one sample
    return {
        "manifest_version": MANIFEST_VERSION,
        "backbone": backbone or type(net.backbone).__name__,
        "tasks": [{"classes": c} for c in classes],
        "cut": split.cut,
        "input": {"shape": list(net.input_shape), "dtype": "float32",
                  "batch": "dynamic" if dynamic else batch},
        "precision": "float32",
        "payload": {
            "encoding": encoding.label,
            "note": "the halves exchange float32 tensors; the wire encodes them as "
                    f"{encoding.label} (splitcost.deploy.wire) and decodes back to float32",
            "tensors": [
                {"name": p.name, "shape": ["batch", *p.shape[1:]] if dynamic else list(p.shape),
                 "dtype": p.dtype, "bytes_per_sample": t[0].numel() * t.element_size()}
                for p, t in zip(split.payload, payload, strict=True)
            ],
            "encoded_bytes_per_sample": encoding.encoded_bytes(numel, len(payload)),
        },
        "outputs": [{"task": i, "shape": ["batch", c]} for i, c in enumerate(classes)],
        "specialised": list(split.specialised),
        "files": {"edge": "edge.pt2", "server": "server.pt2",
                  "onnx": onnx_files},
        "torch_version": torch.__version__,
    }


def _out_features(head: torch.nn.Module) -> int:
    last = [m for m in head.modules() if isinstance(m, torch.nn.Linear)][-1]
    return int(last.out_features)


def load_split(out: str | os.PathLike[str]) -> tuple[torch.nn.Module, torch.nn.Module,
                                                      dict[str, Any]]:
    """Load ``(edge, server, manifest)`` back from an export folder."""
    out_dir = Path(out)
    manifest = json.loads((out_dir / "manifest.json").read_text(encoding="utf-8"))
    edge = torch.export.load(str(out_dir / "edge.pt2")).module()
    server = torch.export.load(str(out_dir / "server.pt2")).module()
    return edge, server, manifest
