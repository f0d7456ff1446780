"""The server side: the server half and the heads, serving edges one frame at a time.

The server checks that the edge asks for the network it hosts; a bad frame is answered with an
``error`` frame and ends the connection.
"""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections.abc import Sequence

import torch

from splitcost.deploy.measurement.config import (
    DEFAULT_TIMEOUT_S,
    START_TIMEOUT_S,
    SplitConfig,
    build_split,
)
from splitcost.deploy.mtl import SplitNet
from splitcost.deploy.wire import (
    RawFrame,
    WireError,
    encode,
    encode_tensors,
    read_frame,
    send_frame,
    tensors_of,
)


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
    """``python -m splitcost.deploy.measurement FD CONFIG_JSON TIMEOUT THREADS``: the server."""
    fd, config, timeout, threads = int(argv[0]), json.loads(argv[1]), float(argv[2]), int(argv[3])
    if threads > 0:
        torch.set_num_threads(threads)
    listener = socket.socket(fileno=fd)
    serve(listener, SplitConfig.from_dict(config), timeout=timeout, connections=1,
          accept_timeout=START_TIMEOUT_S)
    return 0
