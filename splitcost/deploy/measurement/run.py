"""The measured run: warm-up and timed inferences, then the result beside the prediction.

Per inference, after warm-up: ``edge`` (edge half), ``serialise`` (encode and decode, both
directions, both sides), ``transfer`` (from the first byte sent to the last byte of the answer
received, less the server's busy time: the payload up, the outputs back and the round trip, as
splitcost's transfer model counts them), ``server`` (server half and heads), ``total`` (input to
decoded outputs). The prediction is splitcost's ``Split@cut`` scenario for the same network, the
given device profiles and the link: a given ``--link``, else the one a short probe measures
(round-trip time of small frames, goodput of large ones).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence

import torch

from splitcost.defaults import HIDDEN as DEFAULT_HIDDEN
from splitcost.deploy.measurement.config import (
    DEFAULT_TIMEOUT_S,
    PHASES,
    START_TIMEOUT_S,
    MeasureError,
    SplitConfig,
    build_split,
)
from splitcost.deploy.measurement.edge import Edge, parse_address, probe_link
from splitcost.deploy.measurement.results import MeasureResult, Probe, stat
from splitcost.deploy.measurement.spawn import _last_line, spawn_server
from splitcost.deploy.mtl import MTLNet, SplitNet
from splitcost.deploy.wire import (
    encode,
    tensors_of,
)
from splitcost.errors import InputError
from splitcost.hardware.catalog import load_device, load_link
from splitcost.hardware.device import Device
from splitcost.hardware.encoding import payload_encoding
from splitcost.hardware.link import Link
from splitcost.network.tasks import parse_tasks


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
    if images < 1:
        raise InputError(f"expected at least 1, got {images}", parameter="images")
    if warmup < 0:
        raise InputError(f"expected at least 0, got {warmup}", parameter="warmup")
    if timeout <= 0:
        raise InputError(f"expected a positive number of seconds, got {timeout:g}",
                         parameter="timeout")
    payload_encoding(payload_dtype)
    if cut == "input" and payload_dtype != "float32":
        raise InputError("a cut at the input sends the input as float32 (RoC); the payload "
                         "dtype applies to a cut after the first layer", parameter="payload_dtype")
    cfg = SplitConfig(backbone, tuple(t.classes for t in parse_tasks(tasks)), cut,
                      tuple(int(d) for d in input_shape), hidden, seed)
    dev = load_device(device) if isinstance(device, str) else device
    srv_in = server_device if server_device is not None else device
    srv = load_device(srv_in) if isinstance(srv_in, str) else srv_in
    lnk = load_link(link) if isinstance(link, str) else link
    if connect is not None:
        parse_address(connect)
    if threads is not None and threads < 1:
        raise InputError(f"expected at least 1, got {threads}", parameter="threads")
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
    from splitcost.pricing.scenarios import split
    from splitcost.studies.inputs import pricing_request

    link = lnk if lnk is not None else loopback_link(probe)
    predicted: dict[str, float | None] = dict.fromkeys(PHASES)
    placeholder = dev or srv
    from splitcost.network.profiler import profile

    request = pricing_request(profile(cfg.backbone, cfg.input_shape), list(cfg.tasks),
                              device=placeholder or "jetson-nano-4gb",
                              server=srv or placeholder or "rtx-3090", link=link,
                              payload_dtype=dtype, hidden=cfg.hidden)
    s = split(request, request.cut(cfg.cut))
    predicted["transfer"] = s.transfer_s
    if dev is not None:
        predicted["edge"] = s.edge_s
    if srv is not None:
        predicted["server"] = s.server_s
    if dev is not None and srv is not None:
        predicted["total"] = s.total_s
    return MeasureResult(
        config=cfg, server=address, spawned=spawned, payload_dtype=dtype, images=images,
        warmup=warmup,
        payload_tensors=tuple((pt.name, pt.shape) for pt in run.split.payload),
        payload_bytes=s.payload_bytes, frame_bytes=run.frame_bytes,
        result_frame_bytes=run.result_bytes,
        measured={k: stat(v) for k, v in run.phases.items()}, predicted=predicted,
        link=link, link_probed=lnk is None, probe=probe,
        device=dev.name if dev else None, server_device=srv.name if srv else None,
        max_abs_error=run.max_error,
    )
