"""A loopback server process (``python -m splitcost.deploy.measurement``) on a port the kernel
picks."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator

from splitcost.deploy.measurement.config import (
    SplitConfig,
)


@contextlib.contextmanager
def spawn_server(cfg: SplitConfig, timeout: float, threads: int | None = None
                 ) -> Iterator[tuple[str, subprocess.Popen[bytes], str]]:
    """A server process on a loopback port chosen by the kernel; killed on the way out."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    fd, log = tempfile.mkstemp(prefix="splitcost-server-", suffix=".log")
    cmd = [sys.executable, "-m", "splitcost.deploy.measurement", str(listener.fileno()),
           json.dumps(cfg.to_dict()), str(timeout), str(threads or 0)]
    try:
        proc = subprocess.Popen(cmd, pass_fds=(listener.fileno(),), stdin=subprocess.DEVNULL,
                                stdout=fd, stderr=fd)
    finally:
        listener.close()
        os.close(fd)
    try:
        yield f"127.0.0.1:{port}", proc, log
    finally:
        if proc.poll() is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.unlink(log)


def _last_line(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = [ln.strip() for ln in f if ln.strip()]
    except OSError:
        return ""
    return lines[-1] if lines else ""
