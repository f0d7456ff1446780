"""A real split run over TCP, measured phase by phase, beside splitcost's prediction.

The edge (this process) runs the edge half, encodes the payload (:mod:`splitcost.wire`) and sends
it; a server process runs the server half and the heads and sends the task outputs back. Both
build the same network from the same seed (so the edge can check the returned outputs against
its own eager forward), and the server checks that the edge asks for the network it hosts.

Per inference, after warm-up: ``edge`` (edge half), ``serialise`` (encode and decode, both
directions, both sides), ``transfer`` (from the first byte sent to the last byte of the answer
received, less the server's busy time: the payload up, the outputs back and the round trip, as
splitcost's transfer model counts them), ``server`` (server half and heads), ``total`` (input to
decoded outputs). The prediction is splitcost's ``Split@cut`` scenario for the same network, the
given device profiles and the link: a given ``--link``, else the one a short probe measures
(round-trip time of small frames, goodput of large ones).

Every socket has a timeout: a server that is not there, hangs, drops the connection or sends a
bad frame ends the run with a :class:`MeasureError` (one line), never a hang.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import select
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import torch

from splitcost.errors import InputError
from splitcost.heads import DEFAULT_HIDDEN, parse_tasks
from splitcost.mtl import MTLNet, SplitNet, build_mtl
from splitcost.payload import payload_encoding
from splitcost.profiles import Device, Link, load_device, load_link
from splitcost.wire import (
    RawFrame,
    WireError,
    encode,
    encode_tensors,
    read_frame,
    send_frame,
    tensors_of,
)

PHASES = ("edge", "serialise", "transfer", "server", "total")
DEFAULT_TIMEOUT_S = 30.0
START_TIMEOUT_S = 180.0  # the server process imports torch and builds the network first


class MeasureError(Exception):
    """The run could not go on (no server, a timeout, a bad frame); one line."""


@dataclass(frozen=True)
class SplitConfig:
    """Which network both sides build, and where it is split."""

    backbone: str
    tasks: tuple[int, ...]
    cut: str = "output"
    input_shape: tuple[int, ...] = (3, 224, 224)
    hidden: int = DEFAULT_HIDDEN
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["tasks"], d["input_shape"] = list(self.tasks), list(self.input_shape)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SplitConfig:
        return cls(str(d["backbone"]), tuple(int(t) for t in d["tasks"]), str(d["cut"]),
                   tuple(int(s) for s in d["input_shape"]), int(d["hidden"]), int(d["seed"]))


def build_split(cfg: SplitConfig) -> tuple[MTLNet, SplitNet]:
    """The seeded network in eval mode and its halves; the caller's RNG state is kept."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        net = build_mtl(cfg.backbone, list(cfg.tasks), cfg.hidden, cfg.input_shape)
    net.eval()
    return net, net.split(cfg.cut)


@dataclass(frozen=True)
class Stat:
    """Seconds over the measured images."""

    median_s: float
    p95_s: float
    min_s: float

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def stat(values: Sequence[float]) -> Stat:
    """Median, 95th percentile (nearest rank) and minimum."""
    xs = sorted(values)
    n = len(xs)
    mid = xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2
    return Stat(mid, xs[max(0, math.ceil(0.95 * n) - 1)], xs[0])


@dataclass(frozen=True)
class Probe:
    """The link as measured: round trip of small frames, goodput of large ones."""

    rtt_s: float
    bandwidth_bps: float
    probe_bytes: int

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass(frozen=True)
class MeasureResult:
    """Measured phases beside the prediction for the same network, devices and link."""

    config: SplitConfig
    server: str  # host:port
    spawned: bool  # the server process was started here (loopback)
    payload_dtype: str
    images: int
    warmup: int
    payload_tensors: tuple[tuple[str, tuple[int, ...]], ...]
    payload_bytes: int  # splitcost's encoded payload bytes
    frame_bytes: int  # the payload frame on the wire, headers included
    result_frame_bytes: int
    measured: dict[str, Stat]
    predicted: dict[str, float | None]
    link: Link
    link_probed: bool
    probe: Probe | None
    device: str | None
    server_device: str | None
    max_abs_error: float  # server outputs vs the edge's own eager forward (warm-up images)
    notes: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "config": self.config.to_dict(),
            "server": self.server,
            "spawned": self.spawned,
            "payload_dtype": self.payload_dtype,
            "images": self.images,
            "warmup": self.warmup,
            "payload_tensors": [{"name": n, "shape": list(s)} for n, s in self.payload_tensors],
            "payload_bytes": self.payload_bytes,
            "frame_bytes": self.frame_bytes,
            "result_frame_bytes": self.result_frame_bytes,
            "measured": {k: v.to_dict() for k, v in self.measured.items()},
            "predicted": dict(self.predicted),
            "link": self.link.to_dict(),
            "link_probed": self.link_probed,
            "probe": self.probe.to_dict() if self.probe else None,
            "device": self.device,
            "server_device": self.server_device,
            "max_abs_error": self.max_abs_error,
            "notes": list(self.notes),
        }


# --- the server side -----------------------------------------------------------------------


def _reply_error(conn: socket.socket, message: str) -> None:
    with contextlib.suppress(WireError):
        send_frame(conn, encode("error", meta={"message": message}))


def handle(conn: socket.socket, cfg: SplitConfig, split: SplitNet, timeout: float) -> None:
    """Serve one edge until it says bye, closes, goes silent past ``timeout`` or errs."""
    conn.settimeout(timeout)
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    names = split.payload_names
    while True:
        try:
            raw = read_frame(conn)
        except WireError as e:
            _reply_error(conn, f"bad frame from the edge: {e}")
            return
        kind = raw.kind
        if kind == "hello":
            asked = raw.meta.get("config")
            if asked != cfg.to_dict():
                _reply_error(conn, f"this server hosts {json.dumps(cfg.to_dict())}; the edge "
                             f"asked for {json.dumps(asked)}")
                return
            send_frame(conn, encode("ready", meta={"payload": list(names)}))
        elif kind == "ping":
            send_frame(conn, encode("pong"))
        elif kind == "probe":
            send_frame(conn, encode("ack", meta={"bytes": raw.size}))
        elif kind == "infer":
            send_frame(conn, _infer(raw, split, names))
        elif kind == "bye":
            return
        else:
            _reply_error(conn, f"unknown frame kind {kind!r}")
            return


def _infer(raw: RawFrame, split: SplitNet, names: Sequence[str]) -> bytes:
    t0 = time.perf_counter()
    tensors = tensors_of(raw)
    if list(tensors) != list(names):
        return encode("error", meta={"message": f"payload tensors {list(tensors)} are not "
                                     f"the server half's inputs {list(names)}"})
    t1 = time.perf_counter()
    with torch.no_grad():
        outputs = split.server(*tensors.values())
    t2 = time.perf_counter()
    body = encode_tensors([(f"task{i}", o) for i, o in enumerate(outputs)], "float32")
    t3 = time.perf_counter()
    return body.frame("result", {"decode_s": t1 - t0, "compute_s": t2 - t1,
                                 "encode_s": t3 - t2, "index": raw.meta.get("index")})


def serve(listener: socket.socket, cfg: SplitConfig, *, timeout: float = DEFAULT_TIMEOUT_S,
          connections: int | None = None, accept_timeout: float | None = None,
          split: SplitNet | None = None) -> None:
    """Build the server half (unless ``split`` is given), then serve edges one after another
    (``connections`` of them, or until killed). ``accept_timeout`` bounds each wait for an edge.

    Building traces the network with ``torch.fx``, which patches ``nn.Module.__call__`` for the
    whole process while it runs: in a thread beside other torch work, pass a prebuilt ``split``.
    """
    if split is None:
        _, split = build_split(cfg)
    listener.settimeout(accept_timeout)
    served = 0
    while connections is None or served < connections:
        try:
            conn, _ = listener.accept()
        except TimeoutError:
            return
        with conn:
            handle(conn, cfg, split, timeout)
        served += 1


def _child_main(argv: Sequence[str]) -> int:
    """``python -m splitcost.measure FD CONFIG_JSON TIMEOUT THREADS``: the loopback server."""
    fd, config, timeout, threads = int(argv[0]), json.loads(argv[1]), float(argv[2]), int(argv[3])
    if threads > 0:
        torch.set_num_threads(threads)
    listener = socket.socket(fileno=fd)
    serve(listener, SplitConfig.from_dict(config), timeout=timeout, connections=1,
          accept_timeout=START_TIMEOUT_S)
    return 0


# --- the edge side -------------------------------------------------------------------------


def parse_address(text: str) -> tuple[str, int]:
    host, sep, port = text.strip().rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise InputError(f"expected HOST:PORT such as 127.0.0.1:9000, got {text!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


@contextlib.contextmanager
def spawn_server(cfg: SplitConfig, timeout: float, threads: int | None = None
                 ) -> Iterator[tuple[str, subprocess.Popen[bytes], str]]:
    """A server process on a loopback port chosen by the kernel; killed on the way out."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    fd, log = tempfile.mkstemp(prefix="splitcost-server-", suffix=".log")
    cmd = [sys.executable, "-m", "splitcost.measure", str(listener.fileno()),
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


def measure(
    backbone: str,
    tasks: int | str | list[int] = 2,
    *,
    images: int = 50,
    warmup: int = 3,
    cut: str = "output",
    connect: str | None = None,
    payload_dtype: str = "float32",
    device: str | Device | None = None,
    server_device: str | Device | None = None,
    link: str | Link | None = None,
    input_shape: Sequence[int] = (3, 224, 224),
    hidden: int = DEFAULT_HIDDEN,
    seed: int = 0,
    timeout: float = DEFAULT_TIMEOUT_S,
    start_timeout: float = START_TIMEOUT_S,
    threads: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> MeasureResult:
    """Run the split for real: ``images`` inferences after ``warmup``, on loopback (a server
    process started here) or against ``connect`` (``host:port``, started with ``--serve``).
    ``threads`` sets torch's intra-op threads here and in a spawned server (as calibrated)."""
    if images < 1 or warmup < 0:
        raise InputError(f"--images must be at least 1 and --warmup at least 0, got {images} "
                         f"and {warmup}")
    if timeout <= 0:
        raise InputError(f"--timeout must be positive, got {timeout:g}")
    payload_encoding(payload_dtype)
    if cut == "input" and payload_dtype != "float32":
        raise InputError("--cut input sends the input as float32 (RoC); --payload-dtype "
                         "applies to a cut after the first layer")
    cfg = SplitConfig(backbone, tuple(t.classes for t in parse_tasks(tasks)), cut,
                      tuple(int(d) for d in input_shape), hidden, seed)
    dev = load_device(device) if isinstance(device, str) else device
    srv_in = server_device if server_device is not None else device
    srv = load_device(srv_in) if isinstance(srv_in, str) else srv_in
    lnk = load_link(link) if isinstance(link, str) else link
    if connect is not None:
        parse_address(connect)
    if threads is not None and threads < 1:
        raise InputError(f"--threads must be at least 1, got {threads}")
    net, split = build_split(cfg)
    with contextlib.ExitStack() as stack:
        if threads is not None:
            stack.callback(torch.set_num_threads, torch.get_num_threads())
            torch.set_num_threads(threads)
        if connect is None:
            address, proc, log = stack.enter_context(spawn_server(cfg, timeout, threads))
        else:
            address, proc, log = connect, None, ""
        edge = Edge(address, timeout)
        stack.callback(edge.close)

        def alive() -> str | None:
            if proc is None or proc.poll() is None:
                return None
            why = _last_line(log)
            return f"the server process exited with status {proc.returncode}" + (
                f": {why}" if why else "")

        edge.send(encode("hello", meta={"config": cfg.to_dict()}))
        edge.wait_readable(start_timeout if proc is not None else timeout, alive)
        ready = edge.receive("ready")
        if list(ready.meta.get("payload", [])) != list(split.payload_names):
            raise MeasureError(f"server {address}: its half takes {ready.meta.get('payload')}, "
                               f"this edge sends {list(split.payload_names)}")
        probe = probe_link(edge)
        run = _Run(edge, net, split, payload_dtype, cfg)
        for i in range(warmup):
            run.once(-1 - i, check=True)
        for i in range(images):
            run.once(i)
            if progress is not None:
                progress(i + 1, images)
    return _result(cfg, run, address, connect is None, payload_dtype, images, warmup, probe,
                   dev, srv, lnk)


class _Run:
    """One inference at a time, its phases recorded."""

    def __init__(self, edge: Edge, net: MTLNet, split: SplitNet, dtype: str, cfg: SplitConfig):
        self.edge, self.net, self.split, self.dtype = edge, net, split, dtype
        self.gen = torch.Generator().manual_seed(cfg.seed + 1)
        self.phases: dict[str, list[float]] = {p: [] for p in PHASES}
        self.max_error = 0.0
        self.frame_bytes = 0
        self.result_bytes = 0

    def once(self, index: int, check: bool = False) -> None:
        x = torch.randn((1, *self.net.input_shape), generator=self.gen)
        t0 = time.perf_counter()
        with torch.no_grad():
            payload = self.split.edge(x)
        t1 = time.perf_counter()
        frame = encode("infer", zip(self.split.payload_names, payload, strict=True),
                       self.dtype, {"index": index})
        t2 = time.perf_counter()
        self.edge.send(frame)
        raw = self.edge.receive("result")
        t3 = time.perf_counter()
        outputs = list(tensors_of(raw).values())
        t4 = time.perf_counter()
        meta = raw.meta
        busy = float(meta["decode_s"]) + float(meta["compute_s"]) + float(meta["encode_s"])
        self.frame_bytes, self.result_bytes = len(frame), raw.size
        if check:
            with torch.no_grad():
                local = self.net(x)
            for a, b in zip(outputs, local, strict=True):
                self.max_error = max(self.max_error, float((a - b).abs().max()))
            return
        self.phases["edge"].append(t1 - t0)
        self.phases["serialise"].append(
            (t2 - t1) + float(meta["decode_s"]) + float(meta["encode_s"]) + (t4 - t3))
        self.phases["transfer"].append(max(0.0, (t3 - t2) - busy))
        self.phases["server"].append(float(meta["compute_s"]))
        self.phases["total"].append(t4 - t0)


def loopback_link(probe: Probe) -> Link:
    """The probed connection as a link profile: measured goodput (efficiency 1) and RTT."""
    from splitcost.units import format_rate, format_seconds

    return Link(
        name="loopback-probed",
        title=f"this connection, probed: {format_rate(probe.bandwidth_bps)} goodput, RTT "
              f"{format_seconds(probe.rtt_s)}",
        summary="measured by a short probe: median round trip of small frames, goodput of a "
                f"{probe.probe_bytes:,}-byte frame",
        bandwidth_bps=probe.bandwidth_bps,
        rtt_s=probe.rtt_s,
        efficiency=1.0,
    )


def _result(cfg: SplitConfig, run: _Run, address: str, spawned: bool, dtype: str, images: int,
            warmup: int, probe: Probe, dev: Device | None, srv: Device | None,
            lnk: Link | None) -> MeasureResult:
    from splitcost.profiling import profile
    from splitcost.report import compare

    link = lnk if lnk is not None else loopback_link(probe)
    p = profile(cfg.backbone, cfg.input_shape)
    notes = ["serialisation is measured, not modelled: splitcost's prediction has no such term"]
    if lnk is None:
        notes.append(f"link predicted from a probe of this connection (RTT "
                     f"{probe.rtt_s * 1e6:.0f} µs, {probe.bandwidth_bps / 1e9:.3g} Gbit/s)")
    if spawned:
        notes.append("loopback: the edge and the server processes share this machine")
    predicted: dict[str, float | None] = dict.fromkeys(PHASES)
    placeholder = dev or srv
    r = compare(p, list(cfg.tasks), device=placeholder or "jetson-nano-4gb",
                server=srv or placeholder or "rtx-3090", link=link, payload_dtype=dtype,
                hidden=cfg.hidden, cuts=[cfg.cut])
    s = r.scenarios[-1]
    predicted["transfer"] = s.transfer_s
    if dev is not None:
        predicted["edge"] = s.edge_s
    if srv is not None:
        predicted["server"] = s.server_s
    if dev is not None and srv is not None:
        predicted["total"] = s.total_s
    else:
        notes.append("no --device profile given: compute is not predicted (make one with "
                     "'splitcost calibrate')")
    return MeasureResult(
        config=cfg, server=address, spawned=spawned, payload_dtype=dtype, images=images,
        warmup=warmup,
        payload_tensors=tuple((pt.name, pt.shape) for pt in run.split.payload),
        payload_bytes=s.payload_bytes, frame_bytes=run.frame_bytes,
        result_frame_bytes=run.result_bytes,
        measured={k: stat(v) for k, v in run.phases.items()}, predicted=predicted,
        link=link, link_probed=lnk is None, probe=probe,
        device=dev.name if dev else None, server_device=srv.name if srv else None,
        max_abs_error=run.max_error, notes=tuple(notes),
    )


if __name__ == "__main__":
    sys.exit(_child_main(sys.argv[1:]))
