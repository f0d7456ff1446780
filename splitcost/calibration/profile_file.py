"""The profile file: a device TOML with a ``[sources]`` entry for every figure (kind ``measured``
or ``calibrated``, with how, when and with what it was measured), written atomically."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from splitcost.calibration.constants import (
    PARAMETERS,
)
from splitcost.errors import InputError
from splitcost.hardware.catalog import load_device
from splitcost.hardware.device import Device, Efficiency, Source


def _q(text: str) -> str:
    """A TOML basic string (JSON's escapes are valid TOML)."""
    return json.dumps(text, ensure_ascii=False)


def _num(x: float) -> str:
    return f"{x:.6g}"


@dataclass(frozen=True)
class _Figures:
    name: str
    title: str
    role: str
    summary: str
    total: int
    usable: int
    overhead: int
    bandwidth: float
    cache_bytes: int | None
    cache_bandwidth: float
    fp32: float
    efficiency: Efficiency
    op_overhead_s: float
    latency_error: float
    sources: dict[str, Source]


def device_toml(f: _Figures) -> str:
    """The text of a device profile (schema in profiles/README.md)."""
    lines = [
        "# Written by 'splitcost calibrate'; every figure's [sources] entry says how.",
        "schema = 1",
        f"name = {_q(f.name)}",
        f"title = {_q(f.title)}",
        f"role = {_q(f.role)}",
        f"summary = {_q(f.summary)}",
        "",
        "[memory]",
        f"total = {f.total}",
        f"usable = {f.usable}",
        f"runtime_overhead = {f.overhead}",
        f'bandwidth = "{_num(f.bandwidth / 1e9)} GB/s"',
        *([f"cache_size = {f.cache_bytes}",
           f'cache_bandwidth = "{_num(f.cache_bandwidth / 1e9)} GB/s"'] if f.cache_bytes else []),
        "",
        "[compute]",
        f'fp32 = "{_num(f.fp32 / 1e9)} GFLOP/s"',
        f'op_overhead = "{_num(f.op_overhead_s * 1e6)} us"',
        f"latency_error = {_num(f.latency_error)}",
        "",
        "[compute.efficiency]",
        *(f"{k} = {_num(getattr(f.efficiency, k))}" for k in PARAMETERS),
        "",
        "[sources]",
    ]
    for key, src in f.sources.items():
        if key.startswith("memory.cache") and not f.cache_bytes:
            continue
        lines.append(f"{_q(key)} = {{ kind = {_q(src.kind)}, ref = {_q(src.ref)}, "
                     f"note = {_q(src.note)} }}")
    return "\n".join(lines) + "\n"


def check_out(out: Path) -> Path:
    """Fail before measuring anything when the profile cannot be written where asked: a file is
    really created and removed next to ``out`` (permission bits say little to root or on
    special file systems)."""
    out = Path(out)
    if out.suffix != ".toml":
        raise InputError(f"--out: expected a .toml file, got {str(out)!r}")
    if out.is_dir():
        raise InputError(f"--out: {str(out)!r} is a directory")
    parent = out.parent
    if not parent.is_dir():
        raise InputError(f"--out: folder {str(parent)!r} does not exist")
    try:
        fd, probe = tempfile.mkstemp(dir=parent, prefix=f".{out.stem}.", suffix=".tmp")
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise InputError(f"--out: cannot write in {str(parent)!r}: {e.strerror or e}") from None
    if out.exists() and not os.access(out, os.W_OK):
        raise InputError(f"--out: cannot replace {str(out)!r} (permission denied)")
    return out


def write_device(out: Path, text: str) -> Device:
    """Check that ``load_device`` accepts ``text``, then write it atomically to ``out``."""
    with tempfile.TemporaryDirectory() as tmp:
        probe = Path(tmp) / out.name
        probe.write_text(text, encoding="utf-8")
        load_device(str(probe))
    try:
        fd, tmp_name = tempfile.mkstemp(dir=out.parent, prefix=f".{out.stem}.", suffix=".tmp")
    except OSError as e:
        raise InputError(f"--out: cannot write in {str(out.parent)!r}: {e.strerror or e}"
                         ) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp_name, out)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        if isinstance(e, OSError):
            raise InputError(f"--out: cannot write {str(out)!r}: {e.strerror or e}") from None
        raise
    return load_device(str(out))
