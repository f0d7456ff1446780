"""Where the calibrated profile goes: checking the path before anything is measured, and writing
the file (the text comes from :func:`splitcost.hardware.schema.device_toml`) atomically."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from splitcost._files import atomic_open
from splitcost.errors import InputError
from splitcost.hardware.catalog import load_device
from splitcost.hardware.device import Device


def check_out(out: Path) -> Path:
    """Fail before measuring anything when the profile cannot be written where asked: a file is
    really created and removed next to ``out`` (permission bits say little to root or on
    special file systems)."""
    out = Path(out)
    if out.suffix != ".toml":
        raise InputError(f"expected a .toml file, got {str(out)!r}", parameter="out")
    if out.is_dir():
        raise InputError(f"{str(out)!r} is a directory", parameter="out")
    parent = out.parent
    if not parent.is_dir():
        raise InputError(f"folder {str(parent)!r} does not exist", parameter="out")
    try:
        fd, probe = tempfile.mkstemp(dir=parent, prefix=f".{out.stem}.", suffix=".tmp")
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise InputError(f"cannot write in {str(parent)!r}: {e.strerror or e}",
                         parameter="out") from None
    if out.exists() and not os.access(out, os.W_OK):
        raise InputError(f"cannot replace {str(out)!r} (permission denied)", parameter="out")
    return out


def write_device(out: Path, text: str) -> Device:
    """Check that ``load_device`` accepts ``text``, then write it atomically to ``out``."""
    with tempfile.TemporaryDirectory() as tmp:
        probe = Path(tmp) / out.name
        probe.write_text(text, encoding="utf-8")
        load_device(str(probe))
    try:
        with atomic_open(out, "w") as fh:
            fh.write(text)
    except OSError as e:
        raise InputError(f"cannot write {str(out)!r}: {e.strerror or e}",
                         parameter="out") from None
    return load_device(str(out))
