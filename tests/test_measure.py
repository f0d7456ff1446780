"""A real split run on loopback, and every way the server can fail ending in one line."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from splitcost.cli import main
from splitcost.deploy.measurement import (
    PHASES,
    MeasureError,
    SplitConfig,
    build_split,
    measure,
    serve,
    stat,
)
from splitcost.deploy.wire import encode

SMALL = {"input_shape": (3, 32, 32), "hidden": 16}


def test_loopback_run_measures_every_phase() -> None:
    r = measure("mobilenet", 2, images=4, warmup=1, payload_dtype="float16",
                device="jetson-nano-4gb", server_device="rtx-3090", **SMALL)  # type: ignore[arg-type]
    assert r.spawned and r.images == 4
    assert r.max_abs_error < 0.05  # float16 payload: outputs close to the eager network's
    for phase in PHASES:
        m = r.measured[phase]
        assert 0 <= m.min_s <= m.median_s <= m.p95_s
        assert (r.predicted[phase] is None) == (phase == "serialise")  # not modelled
    assert r.measured["total"].min_s >= r.measured["edge"].min_s
    assert r.payload_tensors == (("backbone_12_2", (1, 576, 1, 1)),)
    assert r.payload_bytes == 576 * 2  # splitcost's Split@output as float16
    assert r.frame_bytes > r.payload_bytes  # + the headers
    assert r.link_probed and r.probe is not None and r.probe.rtt_s > 0
    d = r.to_dict()
    assert d["config"]["backbone"] == "mobilenet" and set(d["measured"]) == set(PHASES)


def test_stat_nearest_rank() -> None:
    s = stat([float(i) for i in range(1, 21)])
    assert (s.median_s, s.p95_s, s.min_s) == (10.5, 19.0, 1.0)


@contextmanager
def _fake_server(behaviour: Callable[[socket.socket], None]) -> Iterator[str]:
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(10)
    port = listener.getsockname()[1]

    def run() -> None:
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        with conn:
            behaviour(conn)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        listener.close()
        t.join(timeout=5)


def _silent(conn: socket.socket) -> None:
    time.sleep(1.5)


def _garbage(conn: socket.socket) -> None:
    conn.recv(1 << 16)
    conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n" + b"x" * 64)


def _hang_up(conn: socket.socket) -> None:
    conn.recv(1 << 16)


def _half_frame(conn: socket.socket) -> None:
    conn.recv(1 << 16)
    conn.sendall(encode("ready", meta={"payload": ["x"]})[:25])


@pytest.mark.parametrize(("behaviour", "words"), [
    (_silent, "did not answer within 0.5 s"),
    (_garbage, "not a splitcost frame"),
    (_hang_up, "closed the connection before a frame"),
    (_half_frame, "mid-frame"),
])
def test_a_bad_server_ends_the_run_with_one_line(behaviour: Callable[[socket.socket], None],
                                                 words: str) -> None:
    with _fake_server(behaviour) as address:
        t0 = time.monotonic()
        with pytest.raises(MeasureError, match=words) as e:
            measure("resnet18", 1, images=1, connect=address, timeout=0.5, **SMALL)  # type: ignore[arg-type]
        assert time.monotonic() - t0 < 10
    assert "\n" not in str(e.value)


def test_no_server_is_a_refused_connection() -> None:
    probe = socket.create_server(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nobody listens there now
    with pytest.raises(MeasureError, match="connection refused"):
        measure("resnet18", 1, images=1, connect=f"127.0.0.1:{port}", timeout=1, **SMALL)  # type: ignore[arg-type]


def test_server_refuses_another_network() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    hosted = SplitConfig("resnet18", (3,), "layer3", (3, 32, 32), 16, 0)
    _, split = build_split(hosted)  # fx tracing is process-wide: not beside another thread's
    t = threading.Thread(target=serve, args=(listener, hosted),
                         kwargs={"connections": 1, "accept_timeout": 20, "timeout": 5,
                                 "split": split},
                         daemon=True)
    t.start()
    try:
        with pytest.raises(MeasureError, match="this server hosts"):
            measure("resnet18", [2], images=1, cut="layer3", connect=f"127.0.0.1:{port}",
                    timeout=20, **SMALL)  # type: ignore[arg-type]
    finally:
        t.join(timeout=20)
        listener.close()


def test_cli_refused_is_one_line_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    probe = socket.create_server(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    with pytest.raises(SystemExit) as e:
        main(["measure", "--backbone", "resnet18", "--input", "3x32x32", "--connect",
              f"127.0.0.1:{port}", "--images", "1"])
    assert e.value.code == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "connection refused" in err


@pytest.mark.parametrize(("args", "words"), [
    (["--connect", "nohost"], "HOST:PORT"),
    (["--payload-dtype", "int4"], "--payload-dtype"),
    (["--cut", "input", "--payload-dtype", "int8"], "float32"),
    (["--device", "no-such-device"], "unknown device"),
])
def test_cli_bad_input_exit_2(args: list[str], words: str,
                              capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["measure", "--input", "3x32x32", "--images", "1", *args])
    assert e.value.code == 2
    assert words in capsys.readouterr().err
