"""A hypothesis state machine that drives a real split server with frame sequences.

One server thread (:func:`splitcost.deploy.measurement.serve`, the residual model of
``tests/models.py`` split after ``conv1``: two tensors cross, the skip and conv1's output)
listens on loopback. The machine opens connections and sends, in any order: good and bad
hellos, pings, probes, good infer frames, infer frames with wrong shapes, names, dtypes or
batches, absurd shapes, random and mutated bytes, half frames; it closes, resets (RST) and
abandons connections mid-frame. What it checks:

* a good infer after a good hello returns the eager network's outputs (a real CPU forward);
* hello comes first: anything else before it is refused with an ``error`` frame;
* every bad frame is answered with an ``error`` frame or a closed connection, never a hang;
* after any step, a fresh connection is served (the server never dies), and at the end the
  server thread is still alive.

Used by ``tests/test_server_fuzz.py`` (a few short runs in CI) and ``fuzz/fuzz_server.py`` (runs
for minutes).
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections import Counter
from typing import Any

import torch
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from splitcost.deploy.measurement import Outcome, SplitConfig, build_split, serve
from splitcost.deploy.mtl import MTLNet, SplitNet
from splitcost.deploy.wire import FIXED, MAGIC, ConnectionLost, encode, read_frame, tensors_of

CONFIG = SplitConfig("models:Residual", (3, 2), "conv1", (3, 8, 8), 8, 0)
SERVER_TIMEOUT_S = 0.5  # a silent client is dropped after this
CLIENT_TIMEOUT_S = 10.0  # far longer: a reply that does not come is a hang


class Server:
    """The split server in a thread, shared by every run of the machine in this process."""

    _instance: Server | None = None

    def __init__(self) -> None:
        self.net, self.split = build_split(CONFIG)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.outcomes: Counter[Outcome] = Counter()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            serve(self.listener, CONFIG, timeout=SERVER_TIMEOUT_S, split=self.split,
                  on_connection=lambda o, _why: self.outcomes.update([o]))
        except BaseException as e:  # the finding this whole machine looks for
            self.error = e
            raise

    @classmethod
    def get(cls) -> Server:
        if cls._instance is None:
            cls._instance = cls()
        return cls._instance

    def alive(self) -> bool:
        return self.thread.is_alive() and self.error is None


def _connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=CLIENT_TIMEOUT_S)
    sock.settimeout(CLIENT_TIMEOUT_S)
    return sock


def _reset(sock: socket.socket) -> None:
    """Close with an RST, as a process killed mid-reply leaves its connection."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def _reply(sock: socket.socket) -> str:
    """The kind of the server's next frame, or "closed" when it closed the connection."""
    try:
        return read_frame(sock).kind
    except ConnectionLost:
        return "closed"


def _payload(split: SplitNet, x: torch.Tensor) -> list[tuple[str, torch.Tensor]]:
    with torch.no_grad():
        return list(zip(split.payload_names, split.edge(x), strict=True))


def good_round_trip(server: Server, seed: int, batch: int = 1) -> None:
    """hello, infer, bye on a fresh connection; the outputs are the eager network's."""
    net: MTLNet = server.net
    x = torch.randn((batch, *CONFIG.input_shape), generator=torch.Generator().manual_seed(seed))
    # Every frame made before connecting: the client is never silent long enough for the
    # server's timeout, however loaded the machine.
    hello = encode("hello", meta={"config": CONFIG.to_dict()})
    infer = encode("infer", _payload(server.split, x), meta={"index": seed})
    with _connect(server.port) as sock:
        sock.sendall(hello)
        ready = read_frame(sock)
        assert ready.kind == "ready", ready.meta
        sock.sendall(infer)
        raw = read_frame(sock)
        assert raw.kind == "result", raw.meta
        got = list(tensors_of(raw).values())
        with torch.no_grad():
            want = net(x)
        for a, b in zip(got, want, strict=True):
            torch.testing.assert_close(a, b, atol=1e-5, rtol=0)
        sock.sendall(encode("bye"))


def _bad_infer(kind: str, split: SplitNet, x: torch.Tensor) -> bytes:
    payload = _payload(split, x)
    if kind == "wrong shape":  # the mat1/mat2 frame: the right name, the wrong shape
        name, t = payload[0]
        return encode("infer", [(name, t.reshape(1, -1)), *payload[1:]])
    if kind == "wrong names":
        return encode("infer", [(f"x{i}", t) for i, (_, t) in enumerate(payload)])
    if kind == "missing tensor":
        return encode("infer", payload[:1])
    if kind == "swapped order":
        return encode("infer", payload[::-1])
    if kind == "batch disagrees":
        (n0, t0), (n1, t1) = payload
        return encode("infer", [(n0, t0), (n1, torch.cat([t1, t1]))])
    if kind == "batch too large":
        return encode("infer", [(n, t.expand(65, *t.shape[1:]).contiguous())
                                for n, t in payload])
    if kind == "zero batch":
        return encode("infer", [(n, t[:0]) for n, t in payload])
    if kind == "float64":
        header = {"kind": "infer", "tensors": [
            {"name": n, "shape": list(t.shape), "dtype": "float64", "encoding": "float32",
             "nbytes": 4 * t.numel()} for n, t in payload]}
        body = b"".join(t.numpy().tobytes() for _, t in payload)
        return _raw_frame(header, body)
    if kind == "absurd shape":  # the issue's [0, 10**30]
        header = {"kind": "infer", "tensors": [
            {"name": payload[0][0], "shape": [0, 10**30], "dtype": "float32",
             "encoding": "float32", "nbytes": 0}]}
        return _raw_frame(header, b"")
    raise AssertionError(kind)


BAD_INFERS = ("wrong shape", "wrong names", "missing tensor", "swapped order", "batch disagrees",
              "batch too large", "zero batch", "float64", "absurd shape")


def _raw_frame(header: Any, body: bytes = b"", *, header_len: int | None = None,
               body_len: int | None = None) -> bytes:
    h = header if isinstance(header, bytes) else json.dumps(header).encode()
    return FIXED.pack(MAGIC, 1, 0, len(h) if header_len is None else header_len,
                      len(body) if body_len is None else body_len) + h + body


ODD_FRAMES = {
    "unknown kind": encode("reboot"),
    "error from the client": encode("error", meta={"message": "x"}),
    "result from the client": encode("result"),
    "nested JSON": _raw_frame(b"[" * 100_000 + b"]" * 100_000),
    "huge integer": _raw_frame(b'{"kind": "x", "n": ' + b"9" * 5000 + b"}"),
    "body past the server's bound": _raw_frame({"kind": "probe"}, body_len=1 << 29),
    "not JSON": _raw_frame(b"\xff\xfe"),
    "HTTP": b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    "hello without config": encode("hello"),
    "hello for another network": encode("hello", meta={"config": {**CONFIG.to_dict(),
                                                                  "cut": "conv2"}}),
    "long kind": encode("k" * 100_000),
}


class ServerMachine(RuleBasedStateMachine):
    """One client at a time against the shared server (it serves connections in turn)."""

    steps_run = 0  # every step of every run in this process (the fuzzer reports it)

    def __init__(self) -> None:
        super().__init__()
        self.server = Server.get()
        self.sock: socket.socket | None = None
        self.greeted = False
        self.last = 0.0  # when this client last sent the server something
        self.gap = 0.0  # the silence before the last frame sent

    def _idle(self) -> bool:
        """Whether the server may have dropped this connection for silence before the last
        frame: the steps between two frames can outlast its timeout on a loaded machine, and
        dropping a silent client is right then."""
        return self.gap > SERVER_TIMEOUT_S / 2

    def _expect(self, *kinds: str) -> str:
        """The server's answer, one of ``kinds``; "closed" too when the connection was idle
        (the connection is then dropped here as well)."""
        assert self.sock is not None
        answer = _reply(self.sock)
        if answer == "closed" and self._idle():
            self._drop()
            return answer
        assert answer in kinds, (answer, kinds)
        return answer

    # connections ---------------------------------------------------------------------------

    def _drop(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock, self.greeted = None, False

    def _send(self, data: bytes) -> bool:
        assert self.sock is not None
        now = time.monotonic()
        self.gap, self.last = now - self.last, now
        try:
            self.sock.sendall(data)
        except OSError:  # the server closed this connection already
            self._drop()
            return False
        return True

    @rule()
    def connect(self) -> None:
        self._drop()
        self.sock = _connect(self.server.port)
        self.last = time.monotonic()

    @precondition(lambda self: self.sock is not None)
    @rule()
    def close(self) -> None:
        self._drop()

    @precondition(lambda self: self.sock is not None)
    @rule()
    def reset(self) -> None:
        assert self.sock is not None
        _reset(self.sock)
        self.sock, self.greeted = None, False

    # frames --------------------------------------------------------------------------------

    @precondition(lambda self: self.sock is not None)
    @rule()
    def hello(self) -> None:
        if self._send(encode("hello", meta={"config": CONFIG.to_dict()})):
            self.greeted = self._expect("ready") == "ready"

    @precondition(lambda self: self.sock is not None)
    @rule(then_reset=st.booleans())
    def ping(self, then_reset: bool) -> None:
        """The issue's case: a ping, then the client resets before reading the pong."""
        if not self._send(encode("ping")):
            return
        assert self.sock is not None
        if then_reset:
            _reset(self.sock)
            self.sock, self.greeted = None, False
            return
        if self.greeted:
            self._expect("pong")
        elif self._expect("error") == "error":  # hello comes first
            self._drop()

    @precondition(lambda self: self.sock is not None and self.greeted)
    @rule(size=st.sampled_from([0, 4, 1 << 16]))
    def probe(self, size: int) -> None:
        if self._send(encode("probe", [("blob", torch.zeros(size // 4))])):
            self._expect("ack")

    @precondition(lambda self: self.sock is not None)
    @rule(seed=st.integers(0, 2**16), batch=st.integers(1, 3))
    def infer(self, seed: int, batch: int) -> None:
        x = torch.randn((batch, *CONFIG.input_shape),
                        generator=torch.Generator().manual_seed(seed))
        if not self._send(encode("infer", _payload(self.server.split, x))):
            return
        if not self.greeted:
            self._expect("error")
            self._drop()
            return
        self._expect("result")

    @precondition(lambda self: self.sock is not None)
    @rule(kind=st.sampled_from(BAD_INFERS))
    def bad_infer(self, kind: str) -> None:
        x = torch.randn((1, *CONFIG.input_shape))
        if self._send(_bad_infer(kind, self.server.split, x)):
            assert self.sock is not None
            assert _reply(self.sock) in ("error", "closed")
        self._drop()

    @precondition(lambda self: self.sock is not None)
    @rule(kind=st.sampled_from(sorted(ODD_FRAMES)))
    def odd_frame(self, kind: str) -> None:
        if self._send(ODD_FRAMES[kind]):
            assert self.sock is not None
            assert _reply(self.sock) in ("error", "closed")
        self._drop()

    @precondition(lambda self: self.sock is not None)
    @rule(data=st.binary(min_size=1, max_size=256))
    def random_bytes(self, data: bytes) -> None:
        """Random bytes: refused, or waited on until the server's timeout drops us."""
        if self._send(data):
            assert self.sock is not None
            assert _reply(self.sock) in ("error", "closed")
        self._drop()

    @precondition(lambda self: self.sock is not None)
    @rule(position=st.integers(0, 10_000), value=st.integers(0, 255), seed=st.integers(0, 99))
    def mutated(self, position: int, value: int, seed: int) -> None:
        """A good infer frame with one byte changed: refused or, if still valid, answered."""
        x = torch.randn((1, *CONFIG.input_shape), generator=torch.Generator().manual_seed(seed))
        frame = bytearray(encode("infer", _payload(self.server.split, x)))
        frame[position % len(frame)] = value
        if self._send(bytes(frame)):
            assert self.sock is not None
            assert _reply(self.sock) in ("error", "closed", "result")
        self._drop()

    @precondition(lambda self: self.sock is not None)
    @rule(cut=st.integers(1, 200), then=st.sampled_from(["close", "reset", "wait"]))
    def half_frame(self, cut: int, then: str) -> None:
        """A client that dies mid-frame, or goes silent mid-frame."""
        frame = encode("infer", _payload(self.server.split, torch.randn(1, 3, 8, 8)))
        if not self._send(frame[:cut]):
            return
        assert self.sock is not None
        if then == "reset":
            _reset(self.sock)
            self.sock, self.greeted = None, False
            return
        if then == "wait":  # the server's timeout ends it; it may say so first
            assert _reply(self.sock) in ("closed", "error")
        self._drop()

    # the server lives ----------------------------------------------------------------------

    @rule(seed=st.integers(0, 2**16), batch=st.integers(1, 2))
    def fresh_client_is_served(self, seed: int, batch: int) -> None:
        self._drop()  # one connection at a time: ours would keep the next one waiting
        good_round_trip(self.server, seed, batch)

    @invariant()
    def server_alive(self) -> None:
        ServerMachine.steps_run += 1
        assert self.server.alive(), self.server.error

    def teardown(self) -> None:
        self._drop()
        good_round_trip(self.server, 0)
        assert self.server.alive(), self.server.error
