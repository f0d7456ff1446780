"""Export both halves of a split for deployment: ``torch.export`` programs, ONNX when the optional
``onnx`` package is installed, and a manifest that says what crosses the link.

The halves are exported with a dynamic batch dimension where ``torch.export`` accepts one (so one
file serves any batch), else at the example batch; the manifest says which. An export is whole or
absent: every file is written into a temporary folder beside ``out``, which then takes ``out``'s
place in one atomic exchange (``renameat2(RENAME_EXCHANGE)`` on Linux), so an interrupted export,
or re-export over an older one, leaves the older export as it was. The manifest names each file
it belongs to with its SHA-256 and the export's id, and :func:`load_split` refuses a folder whose
files do not match (an edge half from one export beside a server half from another). Nothing is
written outside ``out`` and its temporary sibling; a folder holding anything but an earlier
export is refused rather than replaced.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import hashlib
import json
import os
import shutil
import sys
import tempfile
import uuid
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import torch

from splitcost._notebook import Notebook
from splitcost.deploy.mtl import MTLNet, SplitNet, eval_mode
from splitcost.errors import InputError
from splitcost.hardware.encoding import Encoding, payload_encoding

MANIFEST_VERSION = 2
MANIFEST = "manifest.json"


class NoteKind(StrEnum):
    """Something the reader of an export should know (the sentences are in render/)."""

    BATCH_FIXED = "batch fixed"  # a dynamic batch did not export; the example batch is fixed
    ONNX_NOT_INSTALLED = "onnx not installed"
    ONNX_FAILED = "onnx failed"
    ONNX_NOT_ASKED = "onnx not asked"


@dataclass(frozen=True)
class ExportNote:
    kind: NoteKind
    batch: int | None = None
    error_type: str = ""  # the exception's type name, when one was raised
    error: str = ""  # its first line, as the exporter wrote it

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "batch": self.batch, "error_type": self.error_type,
                "error": self.error}


@dataclass(frozen=True, repr=False)
class ExportResult(Notebook):
    """What was written, and what the manifest says."""

    out_dir: str
    files: tuple[str, ...]  # names inside out_dir
    manifest: dict[str, Any]
    notes: tuple[ExportNote, ...]
    replaced: bool = False  # an earlier export in out_dir was replaced

    def to_dict(self) -> dict[str, Any]:
        return {"out_dir": self.out_dir, "files": list(self.files), "manifest": self.manifest,
                "notes": [n.to_dict() for n in self.notes], "replaced": self.replaced}


def _first_line(e: BaseException) -> str:
    lines = str(e).strip().splitlines()
    return lines[0][:200] if lines else ""


def _unwritable(path: Path, e: OSError) -> InputError:
    return InputError(f"cannot write into {str(path)!r}: {e.strerror or e}", parameter="out")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux ``renameat2``); False where the system has none."""
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    errno = ctypes.get_errno()
    if errno in (22, 38, 95):  # EINVAL, ENOSYS, EOPNOTSUPP: the file system cannot exchange
        return False
    raise OSError(errno, os.strerror(errno), str(b))


def _swap_in(staged: Path, out_dir: Path) -> None:
    """Put the staged folder at ``out_dir``; an older export there goes, never half of it."""
    if not out_dir.exists():
        os.rename(staged, out_dir)
        return
    if _exchange(staged, out_dir):
        shutil.rmtree(staged)  # now the older export
        return
    # No exchange: the older export steps aside first, for as short a time as two renames.
    aside = staged.with_name(staged.name + ".old")
    os.rename(out_dir, aside)
    try:
        os.rename(staged, out_dir)
    except BaseException:
        os.rename(aside, out_dir)
        raise
    shutil.rmtree(aside)


def _check_replaceable(out_dir: Path) -> bool:
    """Whether ``out_dir`` holds an earlier export (True), is empty or absent (False); a folder
    with anything else in it is refused: replacing it would delete the user's files."""
    if not out_dir.exists():
        return False
    if not out_dir.is_dir():
        raise InputError(f"{str(out_dir)!r} exists and is not a folder", parameter="out")
    names = {p.name for p in out_dir.iterdir()}
    if not names:
        return False
    try:
        manifest = json.loads((out_dir / MANIFEST).read_text(encoding="utf-8"))
        listed = set(manifest["files"]["sha256"]) | {MANIFEST}
    except (OSError, ValueError, KeyError, TypeError):
        listed = set()
    if not listed or not names <= listed:
        others = sorted(names - listed)[:3]
        raise InputError(f"{str(out_dir)!r} holds files that are not a splitcost export "
                         f"({', '.join(others)}); give a new or empty folder", parameter="out")
    return True


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


def check_out(out: str | os.PathLike[str]) -> Path:
    """Fail before anything is built when ``out`` cannot take an export: its folder missing or
    not writable (a folder is really made and removed beside it), or a folder of other files."""
    out_dir = Path(out)
    if not out_dir.parent.is_dir():
        # Make the folder asked for, never a tree of them from a mistyped path.
        raise InputError(f"folder {str(out_dir.parent)!r} does not exist", parameter="out")
    _check_replaceable(out_dir)
    try:
        os.rmdir(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".probe",
                                  dir=out_dir.parent))
    except OSError as e:
        raise _unwritable(out_dir.parent, e) from None
    return out_dir


def export_split(net: MTLNet, split: SplitNet, out: str | os.PathLike[str], *,
                 payload_dtype: str = "float32", backbone: str = "",
                 tasks: list[int] | None = None, batch: int = 1,
                 onnx: bool = True) -> ExportResult:
    """Write ``edge.pt2``, ``server.pt2`` (and ``edge.onnx``, ``server.onnx``) and
    ``manifest.json`` into ``out`` (created if missing, an earlier export there replaced as a
    whole). The network is exported in eval mode and its modes are restored afterwards."""
    encoding = payload_encoding(payload_dtype)
    out_dir = check_out(out)
    replaced = _check_replaceable(out_dir)
    try:
        staged = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".export",
                                       dir=out_dir.parent))
        # mkdtemp makes the folder private (0700); give it the mode a new folder would get
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(staged, 0o777 & ~umask)
    except OSError as e:
        raise _unwritable(out_dir.parent, e) from None
    try:
        files, manifest, notes = _write_all(net, split, staged, encoding, backbone, tasks,
                                            batch, onnx)
        _swap_in(staged, out_dir)
    except OSError as e:
        raise _unwritable(out_dir, e) from None
    finally:
        if staged.exists():
            shutil.rmtree(staged, ignore_errors=True)
    return ExportResult(str(out_dir), tuple(files), manifest, tuple(notes), replaced)


def _save_program(ep: Any, path: Path) -> None:
    torch.export.save(ep, str(path))


def _write_all(net: MTLNet, split: SplitNet, folder: Path, encoding: Encoding, backbone: str,
               tasks: list[int] | None, batch: int, onnx: bool
               ) -> tuple[list[str], dict[str, Any], list[ExportNote]]:
    """Every file of the export, written into ``folder``."""
    x = torch.randn((batch, *net.input_shape))
    notes: list[ExportNote] = []
    with eval_mode(net):
        with torch.no_grad():
            payload = tuple(split.edge(x))
        try:  # an example batch of 2: torch.export fixes a dimension of size 1
            edge_ep, server_ep = _export_pair(split, torch.randn((2, *net.input_shape)), True)
            dynamic = True
        except Exception as e:  # the graph fixes the batch somewhere: export it as it is
            edge_ep, server_ep = _export_pair(split, x, False)
            dynamic = False
            notes.append(ExportNote(NoteKind.BATCH_FIXED, batch, type(e).__name__))
    files = ["edge.pt2", "server.pt2"]
    for name, ep in (("edge.pt2", edge_ep), ("server.pt2", server_ep)):
        _save_program(ep, folder / name)
    if onnx:
        onnx_files, onnx_note = _onnx(folder, edge_ep, server_ep)
    else:
        onnx_files, onnx_note = [], ExportNote(NoteKind.ONNX_NOT_ASKED)
    files += onnx_files
    if onnx_note is not None:
        notes.append(onnx_note)
    digests = {name: _sha256(folder / name) for name in files}
    manifest = _manifest(net, split, encoding, backbone, tasks, batch, dynamic, onnx_files,
                         payload, digests)
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    files.append(MANIFEST)
    return files, manifest, notes


def _onnx(out_dir: Path, edge_ep: Any, server_ep: Any) -> tuple[list[str], ExportNote | None]:
    """ONNX files when ``onnx`` is importable (the ``onnx`` extra); a note otherwise."""
    import importlib.util

    if importlib.util.find_spec("onnx") is None:
        return [], ExportNote(NoteKind.ONNX_NOT_INSTALLED)
    written: list[str] = []
    try:
        for name, ep in (("edge.onnx", edge_ep), ("server.onnx", server_ep)):
            _write_onnx(ep, out_dir / name)
            written.append(name)
    except Exception as e:  # the exporter's failures are many and version-dependent
        for name in ("edge.onnx", "server.onnx"):  # half an ONNX pair is no use
            with contextlib.suppress(FileNotFoundError):
                (out_dir / name).unlink()
        return [], ExportNote(NoteKind.ONNX_FAILED, error_type=type(e).__name__,
                              error=_first_line(e))
    return written, None


def _write_onnx(ep: Any, path: Path) -> None:
    program = torch.onnx.export(ep, (), dynamo=True, verbose=False)
    if program is None:
        raise RuntimeError("the exporter returned no program")
    program.save(str(path))


def _manifest(net: MTLNet, split: SplitNet, encoding: Encoding, backbone: str,
              tasks: list[int] | None, batch: int, dynamic: bool, onnx_files: list[str],
              payload: tuple[torch.Tensor, ...], digests: dict[str, str]) -> dict[str, Any]:
    classes = tasks if tasks is not None else [_out_features(h) for h in net.heads]
    numel = sum(t[0].numel() for t in payload)  # one sample
    return {
        "manifest_version": MANIFEST_VERSION,
        "export_id": uuid.uuid4().hex,
        "backbone": backbone or type(net.backbone).__name__,
        "tasks": [{"classes": c} for c in classes],
        "cut": split.cut,
        "input": {"shape": list(net.input_shape), "dtype": "float32",
                  "batch": "dynamic" if dynamic else batch},
        "precision": "float32",
        "payload": {
            # The halves exchange float32 tensors; the wire (splitcost.deploy.wire) sends them
            # in `encoding` and decodes them back to float32.
            "encoding": encoding.label,
            "exchanged_dtype": "float32",
            "wire": "splitcost.deploy.wire",
            "tensors": [
                {"name": p.name, "shape": ["batch", *p.shape[1:]] if dynamic else list(p.shape),
                 "dtype": p.dtype, "bytes_per_sample": t[0].numel() * t.element_size()}
                for p, t in zip(split.payload, payload, strict=True)
            ],
            "encoded_bytes_per_sample": encoding.encoded_bytes(numel, len(payload)),
        },
        "outputs": [{"task": i, "shape": ["batch", c]} for i, c in enumerate(classes)],
        "specialised": list(split.specialised),
        "files": {"edge": "edge.pt2", "server": "server.pt2", "onnx": onnx_files,
                  "sha256": digests},
        "torch_version": torch.__version__,
    }


def _out_features(head: torch.nn.Module) -> int:
    last = [m for m in head.modules() if isinstance(m, torch.nn.Linear)][-1]
    return int(last.out_features)


def load_split(out: str | os.PathLike[str]) -> tuple[torch.nn.Module, torch.nn.Module,
                                                      dict[str, Any]]:
    """Load ``(edge, server, manifest)`` back from an export folder, after checking that every
    file is the one its manifest names (a mixed pair is refused)."""
    out_dir = Path(out)
    try:
        manifest = json.loads((out_dir / MANIFEST).read_text(encoding="utf-8"))
    except OSError as e:
        raise InputError(f"{str(out_dir)!r} holds no readable {MANIFEST}: {e.strerror or e}",
                         parameter="out") from None
    except ValueError as e:
        raise InputError(f"{out_dir / MANIFEST}: not valid JSON: {e}", parameter="out") from None
    if not isinstance(manifest, dict):
        raise InputError(f"{out_dir / MANIFEST}: not a manifest", parameter="out")
    files = manifest.get("files")
    digests = files.get("sha256") if isinstance(files, dict) else None
    if (manifest.get("manifest_version") != MANIFEST_VERSION or not isinstance(files, dict)
            or not isinstance(digests, dict)):
        raise InputError(f"{out_dir / MANIFEST}: manifest version "
                         f"{manifest.get('manifest_version')!r}, this splitcost reads "
                         f"{MANIFEST_VERSION}; export again", parameter="out")
    for role in ("edge", "server"):
        name = files.get(role)
        if not isinstance(name, str) or name not in digests:
            raise InputError(f"{out_dir / MANIFEST}: names no {role} file", parameter="out")
        path = out_dir / name
        if not path.is_file():
            raise InputError(f"{path} is missing; the export is incomplete", parameter="out")
        if _sha256(path) != digests[name]:
            raise InputError(f"{path} is not the file this manifest belongs to (export "
                             f"{manifest.get('export_id')}): a mixed export; export again",
                             parameter="out")
    edge = torch.export.load(str(out_dir / files["edge"])).module()
    server = torch.export.load(str(out_dir / files["server"])).module()
    return edge, server, manifest
