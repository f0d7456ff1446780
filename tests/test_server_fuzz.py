"""The split server survives its clients: the issue's three crashing frames one by one, then
the state machine of tests/server_machine.py for a short run (fuzz/fuzz_server.py runs it for
minutes)."""

from __future__ import annotations

import socket

import pytest
import torch
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test
from server_machine import (
    CONFIG,
    Server,
    ServerMachine,
    _bad_infer,
    _connect,
    _reply,
    _reset,
    good_round_trip,
)

from splitcost.deploy.measurement import Outcome
from splitcost.deploy.wire import encode, read_frame


@pytest.fixture(scope="module")
def server() -> Server:
    return Server.get()


def _hello(sock: socket.socket) -> None:
    sock.sendall(encode("hello", meta={"config": CONFIG.to_dict()}))
    assert read_frame(sock).kind == "ready"


@pytest.mark.parametrize("greeted", [False, True])
def test_right_name_wrong_shape_is_refused(server: Server, greeted: bool) -> None:
    """The issue's `mat1 and mat2 shapes cannot be multiplied` frame, before and after hello."""
    with _connect(server.port) as sock:
        if greeted:
            _hello(sock)
        sock.sendall(_bad_infer("wrong shape", server.split, torch.randn(1, 3, 8, 8)))
        raw = read_frame(sock)
        assert raw.kind == "error"
        message = str(raw.meta["message"])
        assert ("hello frame first" in message) if not greeted else (
            "has shape [1, 192]; the server half takes [batch, 3, 8, 8]" in message), message
    good_round_trip(server, 1)


def test_absurd_shape_is_refused(server: Server) -> None:
    """The issue's shape [0, 10**30] (a TypeError in torch.empty before)."""
    with _connect(server.port) as sock:
        _hello(sock)
        sock.sendall(_bad_infer("absurd shape", server.split, torch.randn(1, 3, 8, 8)))
        raw = read_frame(sock)
        assert raw.kind == "error" and "shape must be at most" in str(raw.meta["message"])
    good_round_trip(server, 2)


@pytest.mark.parametrize("greeted", [False, True])
def test_ping_then_reset_leaves_the_server_up(server: Server, greeted: bool) -> None:
    """A client that sends ping and resets the connection (the server exited before)."""
    before = server.outcomes.total()
    for _ in range(5):
        sock = _connect(server.port)
        if greeted:
            _hello(sock)
        sock.sendall(encode("ping"))
        _reset(sock)
    good_round_trip(server, 3, batch=2)
    assert server.alive()
    assert server.outcomes.total() >= before + 5  # served in turn: all 5 before the good one


def test_every_ending_is_counted(server: Server) -> None:
    with _connect(server.port) as sock:
        sock.sendall(encode("bye"))
        assert _reply(sock) == "closed"
    good_round_trip(server, 4)
    assert server.outcomes[Outcome.BYE] >= 2


def test_state_machine_short_run(server: Server) -> None:
    run_state_machine_as_test(ServerMachine, settings=settings(
        max_examples=15, stateful_step_count=12, deadline=None, derandomize=True,
        suppress_health_check=list(HealthCheck)))
    assert server.alive()
