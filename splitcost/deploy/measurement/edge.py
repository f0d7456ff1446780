"""The edge side: the connection to the server and the link probe.

Every socket has a timeout: a server that is not there, hangs, drops the connection or sends a
bad frame ends the run with a :class:`MeasureError` (one line), never a hang.
"""

from __future__ import annotations

import contextlib
import select
import socket
import time
from collections.abc import Callable

import torch

from splitcost.deploy.measurement.config import (
    MeasureError,
)
from splitcost.deploy.measurement.results import Probe, stat
from splitcost.deploy.wire import (
    RawFrame,
    WireError,
    encode,
    read_frame,
    send_frame,
)
from splitcost.errors import InputError


def parse_address(text: str) -> tuple[str, int]:
    host, sep, port = text.strip().rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise InputError(f"expected HOST:PORT such as 127.0.0.1:9000, got {text!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


class Edge:
    """The edge's connection: frames out, answers in, every error one line."""

    def __init__(self, address: str, timeout: float):
        self.address = address
        host, port = parse_address(address)
        try:
            self.sock = socket.create_connection((host, port), timeout=timeout)
        except ConnectionRefusedError:
            raise MeasureError(f"no server at {address} (connection refused)") from None
        except TimeoutError:
            raise MeasureError(f"no answer from {address} within {timeout:g} s") from None
        except OSError as e:
            raise MeasureError(f"cannot connect to {address}: {e.strerror or e}") from None
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.timeout = timeout

    def send(self, data: bytes) -> None:
        try:
            send_frame(self.sock, data)
        except WireError as e:
            raise MeasureError(f"server {self.address}: {e}") from None

    def receive(self, expect: str) -> RawFrame:
        try:
            raw = read_frame(self.sock)
        except WireError as e:
            raise MeasureError(f"server {self.address}: {e}") from None
        if raw.kind == "error":
            raise MeasureError(f"server {self.address}: {raw.meta.get('message', 'error')}")
        if raw.kind != expect:
            raise MeasureError(f"server {self.address}: sent a {raw.kind!r} frame, expected "
                               f"{expect!r}")
        return raw

    def wait_readable(self, limit: float, alive: Callable[[], str | None]) -> None:
        """Wait for the server's first answer, checking that its process still runs."""
        end = time.monotonic() + limit
        while time.monotonic() < end:
            ready, _, _ = select.select([self.sock], [], [], 0.25)
            if ready:
                return
            dead = alive()
            if dead is not None:
                raise MeasureError(dead)
        raise MeasureError(f"server {self.address} did not answer within {limit:g} s")

    def close(self) -> None:
        with contextlib.suppress(OSError, MeasureError):
            self.send(encode("bye"))
        self.sock.close()


def probe_link(edge: Edge, pings: int = 15, large: int = 1 << 20) -> Probe:
    """Median round trip of small frames, and goodput of ``large``-byte frames (64 kB ones
    when those take over 50 ms: a slow link is probed briefly)."""
    rtts = []
    ping = encode("ping")
    for _ in range(pings + 2):
        t0 = time.perf_counter()
        edge.send(ping)
        edge.receive("pong")
        rtts.append(time.perf_counter() - t0)
    rtt = stat(rtts[2:]).median_s

    def best_time(size: int) -> tuple[int, float]:
        blob = encode("probe", [("blob", torch.zeros(size // 4))])
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            edge.send(blob)
            edge.receive("ack")
            times.append(time.perf_counter() - t0)
        return len(blob), max(min(times) - rtt, 1e-9)

    size, seconds = best_time(64 * 1024)
    if seconds < 0.05:
        size, seconds = best_time(large)
    return Probe(rtt, size * 8 / seconds, size)
