"""Writing a file atomically, with the mode a new file gets under the user's umask.

A temporary file beside the target (same folder, so the rename cannot cross file systems) is
written, flushed to disk, given the mode ``open()`` would have given a new file (0666 less the
umask; the mode of the file it replaces, if any), then renamed over the target: a reader sees
the old file or the new one, never half of one, and an interrupted write leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any


def umask() -> int:
    """The process's umask (read by setting it and setting it back: there is no getter)."""
    current = os.umask(0o022)
    os.umask(current)
    return current


def new_file_mode(target: Path) -> int:
    """The mode the written file gets: the replaced file's, else 0666 less the umask."""
    try:
        return target.stat().st_mode & 0o7777
    except FileNotFoundError:
        return 0o666 & ~umask()


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """A temporary path beside ``target`` to write (by any means); renamed onto ``target``
    with the right mode when the block succeeds, removed when it fails."""
    final = Path(target)
    # The temporary name keeps the extension: some writers choose the format by it.
    fd, tmp = tempfile.mkstemp(prefix=f".{final.stem}.", suffix=f".tmp{final.suffix}",
                               dir=final.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, new_file_mode(final))
        os.replace(tmp, final)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


@contextlib.contextmanager
def atomic_open(target: str | os.PathLike[str], mode: str = "w",
                encoding: str | None = "utf-8") -> Iterator[IO[Any]]:
    """An open file to write ``target`` atomically (``"w"`` text, ``"wb"`` bytes)."""
    with atomic_path(target) as tmp:
        kwargs: dict[str, Any] = {} if "b" in mode else {"encoding": encoding}
        with open(tmp, mode, **kwargs) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
