"""A real split run over TCP, measured phase by phase, beside splitcost's prediction.

The edge (this process) runs the edge half, encodes the payload (:mod:`splitcost.deploy.wire`) and
sends it; a server process runs the server half and the heads and sends the task outputs back. Both
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

One module per concern: :mod:`.config` (the network both sides build, the phases, the timeouts,
:class:`MeasureError`), :mod:`.results` (what a run returns), :mod:`.server` (the server side),
:mod:`.edge` (the edge's connection and the link probe), :mod:`.spawn` (a loopback server
process) and :mod:`.run` (the whole measured run, :func:`measure`). ``python -m
splitcost.deploy.measurement`` is the loopback server process that :func:`spawn_server` starts.
"""

from __future__ import annotations

from splitcost.deploy.measurement.config import (
    DEFAULT_TIMEOUT_S,
    PHASES,
    START_TIMEOUT_S,
    MeasureError,
    SplitConfig,
    build_split,
)
from splitcost.deploy.measurement.edge import Edge, parse_address, probe_link
from splitcost.deploy.measurement.results import MeasureResult, Probe, Stat, stat
from splitcost.deploy.measurement.run import loopback_link, measure
from splitcost.deploy.measurement.server import Accepts, Outcome, handle, serve
from splitcost.deploy.measurement.spawn import spawn_server

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "PHASES",
    "START_TIMEOUT_S",
    "Accepts",
    "Edge",
    "MeasureError",
    "MeasureResult",
    "Outcome",
    "Probe",
    "SplitConfig",
    "Stat",
    "build_split",
    "handle",
    "loopback_link",
    "measure",
    "parse_address",
    "probe_link",
    "serve",
    "spawn_server",
    "stat",
]
