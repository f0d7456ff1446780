"""The server side: the server half and the heads, serving edges one connection at a time.

A server outlives its clients. Every frame is checked before it is used: ``hello`` first (the
edge must ask for the network this server hosts), sizes bounded by what the hosted split can
take (:class:`Accepts`, read before the body is allocated), an ``infer`` frame's tensors
against the split's payload (names, dtypes, per-sample shapes, one batch within bounds). A bad
frame is answered with an ``error`` frame and ends that connection; a client that vanishes,
resets or goes silent ends only its own connection. :func:`handle` says how each connection
ended (:class:`Outcome`) and never raises for anything a client sends.
"""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import torch

from splitcost.deploy.measurement.config import (
    DEFAULT_TIMEOUT_S,
    START_TIMEOUT_S,
    SplitConfig,
    build_split,
)
from splitcost.deploy.mtl import SplitNet
from splitcost.deploy.wire import (
    ENCODINGS,
    ConnectionLost,
    RawFrame,
    WireError,
    WireTimeout,
    encode,
    encode_tensors,
    read_frame,
    send_frame,
    tensors_of,
)

MAX_BATCH = 64  # samples in one infer frame
PROBE_BYTES = 4 << 20  # the edge's link probe sends 1 MiB frames


class Outcome(StrEnum):
    """How one connection ended."""

    BYE = "bye"  # the edge said bye
    CLOSED = "closed"  # the edge closed or reset the connection
    TIMEOUT = "timeout"  # the edge went silent past the timeout
    REFUSED = "refused"  # a malformed or unexpected frame, answered with an error frame
    FAILED = "failed"  # a valid frame the server half could not run, answered likewise


@dataclass(frozen=True)
class Accepts:
    """What the hosted split takes in one ``infer`` frame, from its payload."""

    names: tuple[str, ...]
    dtypes: tuple[str, ...]
    sample_shapes: tuple[tuple[int, ...], ...]  # each payload tensor without its batch
    max_batch: int

    @classmethod
    def of(cls, split: SplitNet) -> Accepts:
        # Shape values the fx graph fixed to the example input (batch 1) pin the batch too.
        batch = 1 if split.specialised else MAX_BATCH
        return cls(split.payload_names, tuple(p.dtype for p in split.payload),
                   tuple(p.shape[1:] for p in split.payload), batch)

    @property
    def max_body(self) -> int:
        """The largest body a frame may announce: an infer frame at the largest batch in the
        widest encoding, or a probe frame."""
        per_sample = sum(_numel(s) for s in self.sample_shapes) * max(ENCODINGS.values())
        return max(PROBE_BYTES, per_sample * self.max_batch)

    def check(self, raw: RawFrame) -> str | None:
        """Why an infer frame does not fit the split (None: it fits)."""
        entries: list[Mapping[str, Any]] = list(raw.header.get("tensors", []))
        names = tuple(str(e["name"]) for e in entries)
        if names != self.names:
            return (f"payload tensors {_short(list(names))} are not the server half's inputs "
                    f"{list(self.names)}")
        batches = set()
        for e, dtype, shape in zip(entries, self.dtypes, self.sample_shapes, strict=True):
            got = tuple(e["shape"])
            if e["dtype"] != dtype:
                return f"tensor {e['name']!r} is {e['dtype']}, the server half takes {dtype}"
            if len(got) != len(shape) + 1 or got[1:] != shape:
                return (f"tensor {e['name']!r} has shape {list(got)}; the server half takes "
                        f"[batch, {', '.join(map(str, shape))}]")
            batches.add(got[0])
        if len(batches) > 1:
            return f"the payload tensors disagree on the batch: {sorted(batches)}"
        batch = batches.pop() if batches else 1
        if not 1 <= batch <= self.max_batch:
            return f"batch {batch} is outside 1..{self.max_batch} for this server"
        return None


def _numel(shape: Sequence[int]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def _short(value: Any, limit: int = 120) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= limit else text[:limit] + "..."


def _reply_error(conn: socket.socket, message: str) -> None:
    with contextlib.suppress(WireError):
        send_frame(conn, encode("error", meta={"message": message}))


def handle(conn: socket.socket, cfg: SplitConfig, split: SplitNet, timeout: float,
           accepts: Accepts | None = None) -> tuple[Outcome, str]:
    """Serve one edge until it says bye, closes, goes silent past ``timeout`` or sends a frame
    that cannot be used. Returns how the connection ended and, for the bad endings, why."""
    accepts = accepts or Accepts.of(split)
    conn.settimeout(timeout)
    with contextlib.suppress(OSError):  # a client gone already: the first read says so
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    hosted = cfg.to_dict()
    greeted = False
    try:
        while True:
            try:
                raw = read_frame(conn, accepts.max_body)
            except ConnectionLost as e:
                return Outcome.CLOSED, str(e)
            except WireTimeout as e:
                return Outcome.TIMEOUT, str(e)
            except WireError as e:
                _reply_error(conn, f"bad frame from the edge: {e}")
                return Outcome.REFUSED, str(e)
            kind = raw.kind
            if kind == "bye":
                return Outcome.BYE, ""
            if kind == "hello":
                asked = raw.meta.get("config")
                if asked != hosted:
                    why = (f"this server hosts {json.dumps(hosted)}; the edge asked for "
                           f"{_short(asked)}")
                    _reply_error(conn, why)
                    return Outcome.REFUSED, why
                greeted = True
                send_frame(conn, encode("ready", meta={"payload": list(accepts.names)}))
            elif not greeted:
                why = f"expected a hello frame first, got {_short(kind)!r}"
                _reply_error(conn, why)
                return Outcome.REFUSED, why
            elif kind == "ping":
                send_frame(conn, encode("pong"))
            elif kind == "probe":
                send_frame(conn, encode("ack", meta={"bytes": raw.size}))
            elif kind == "infer":
                misfit = accepts.check(raw)
                if misfit is not None:
                    _reply_error(conn, misfit)
                    return Outcome.REFUSED, misfit
                try:
                    answer = _infer(raw, split)
                except (RuntimeError, ValueError, TypeError, IndexError) as e:
                    # Checked against the manifest, yet the half refused it: say why, go on
                    # serving others.
                    first = (str(e).strip().splitlines() or [type(e).__name__])[0]
                    why = f"the server half failed: {type(e).__name__}: {first[:200]}"
                    _reply_error(conn, why)
                    return Outcome.FAILED, why
                send_frame(conn, answer)
            else:
                why = f"unknown frame kind {_short(kind)!r}"
                _reply_error(conn, why)
                return Outcome.REFUSED, why
    except ConnectionLost as e:  # sending: the edge reset the connection mid-reply
        return Outcome.CLOSED, str(e)
    except WireTimeout as e:
        return Outcome.TIMEOUT, str(e)


def _infer(raw: RawFrame, split: SplitNet) -> bytes:
    t0 = time.perf_counter()
    tensors = tensors_of(raw)
    t1 = time.perf_counter()
    with torch.no_grad():
        outputs = split.server(*tensors.values())
    t2 = time.perf_counter()
    body = encode_tensors([(f"task{i}", o) for i, o in enumerate(outputs)], "float32")
    t3 = time.perf_counter()
    return body.frame("result", {"decode_s": t1 - t0, "compute_s": t2 - t1,
                                 "encode_s": t3 - t2, "index": raw.meta.get("index")})


Listener = Callable[[Outcome, str], None]


def serve(listener: socket.socket, cfg: SplitConfig, *, timeout: float = DEFAULT_TIMEOUT_S,
          connections: int | None = None, accept_timeout: float | None = None,
          split: SplitNet | None = None, on_connection: Listener | None = None,
          ) -> Counter[Outcome]:
    """Build the server half (unless ``split`` is given), then serve edges one after another
    (``connections`` of them, or until killed). ``accept_timeout`` bounds each wait for an edge;
    ``on_connection`` hears how each connection ended. Returns the count of each ending.

    Building traces the network with ``torch.fx``, which patches ``nn.Module.__call__`` for the
    whole process while it runs: in a thread beside other torch work, pass a prebuilt ``split``.
    """
    if split is None:
        _, split = build_split(cfg)
    accepts = Accepts.of(split)
    listener.settimeout(accept_timeout)
    served: Counter[Outcome] = Counter()
    while connections is None or served.total() < connections:
        try:
            conn, _ = listener.accept()
        except TimeoutError:
            return served
        except (ConnectionAbortedError, ConnectionResetError):
            continue  # the client left before it was accepted
        with conn:
            outcome, why = handle(conn, cfg, split, timeout, accepts)
        served[outcome] += 1
        if on_connection is not None:
            on_connection(outcome, why)
    return served


def _child_main(argv: Sequence[str]) -> int:
    """``python -m splitcost.deploy.measurement FD CONFIG_JSON TIMEOUT THREADS``: the server."""
    fd, config, timeout, threads = int(argv[0]), json.loads(argv[1]), float(argv[2]), int(argv[3])
    if threads > 0:
        torch.set_num_threads(threads)
    listener = socket.socket(fileno=fd)
    serve(listener, SplitConfig.from_dict(config), timeout=timeout, connections=1,
          accept_timeout=START_TIMEOUT_S)
    return 0


__all__ = ["MAX_BATCH", "Accepts", "Outcome", "handle", "serve"]
