"""The real split over an emulated link: measured transfer and end-to-end times vs splitcost.

Needs root and iproute2. Two network namespaces (the edge's and the server's) joined by a veth
pair; ``tc netem`` on each end shapes the rate and adds half the round-trip time, so each
direction sees the link. The server (``splitcost measure --serve``) runs in one namespace, the edge
(``splitcost measure --connect --link ...``) in the other; traffic stays inside them, and the
namespaces are deleted in a ``finally``.

Where the kernel has no ``sch_netem`` (some VM kernels ship without it), the rate is shaped with
``tbf`` (in the kernel, as netem would) and the delay comes from a small relay: a third
namespace sits between two veth pairs and forwards each Ethernet frame, untouched, RTT/2 after it
arrived (AF_PACKET sockets; GSO off so that frames stay within the MTU). The table says which.

The prediction is splitcost's ``Split@cut`` for the same network and a link profile that states
the emulated rate, the RTT and TCP's efficiency over Ethernet framing as ``tc`` counts it
(1448 payload bytes per 1514-byte frame with timestamps). Compute is predicted only when
``--device`` gives a profile of this machine (``splitcost calibrate``).

    sudo .venv/bin/python benchmarks/netem_split.py [--images 20] [--device host.toml]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPLITCOST = [sys.executable, "-m", "splitcost"]
MTU = 1500
TCP_EFFICIENCY = 1448 / 1514  # TCP payload per frame as tc counts it (IP + Ethernet header)


@dataclass(frozen=True)
class LinkSetting:
    name: str
    rate_mbit: float
    rtt_ms: float


@dataclass(frozen=True)
class Case:
    backbone: str
    cut: str
    dtype: str = "float32"


LINKS = (LinkSetting("100 Mbit/s, 20 ms RTT", 100, 20), LinkSetting("10 Mbit/s, 50 ms RTT", 10, 50))
CASES = (
    Case("mobilenet", "output"),  # Z_b 576x7x7: 113 kB
    Case("resnet18", "layer3"),  # 256x14x14: 201 kB
    Case("efficientnet", "output"),  # Z_b 1280x7x7: 251 kB
    Case("efficientnet", "output", "float16"),  # 125 kB
)


def sh(*args: str, ns: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    cmd = ["ip", "netns", "exec", ns, *args] if ns else list(args)
    return subprocess.run(cmd, check=check, capture_output=True, text=True)


class Topology:
    """The namespaces and links; ``netem`` tells whether the kernel emulates the delay."""

    def __init__(self) -> None:
        tag = str(os.getpid() % 100000)
        self.edge, self.server, self.wire = f"scE{tag}", f"scS{tag}", f"scW{tag}"
        self.edge_if, self.server_if = f"scE{tag}e", f"scS{tag}s"
        self.edge_ip, self.server_ip = "10.231.0.1", "10.231.0.2"
        self.namespaces: list[str] = []
        self.netem = False
        self.relay: subprocess.Popen[bytes] | None = None

    def up(self) -> None:
        for ns in (self.edge, self.server):
            sh("ip", "netns", "add", ns)
            self.namespaces.append(ns)
        self.netem = self._netem_available()
        if self.netem:
            sh("ip", "link", "add", self.edge_if, "type", "veth", "peer", "name", self.server_if)
            sh("ip", "link", "set", self.edge_if, "netns", self.edge)
            sh("ip", "link", "set", self.server_if, "netns", self.server)
        else:
            sh("ip", "netns", "add", self.wire)
            self.namespaces.append(self.wire)
            for ns, dev, peer in ((self.edge, self.edge_if, "wa"), (self.server, self.server_if,
                                                                     "wb")):
                sh("ip", "link", "add", dev, "type", "veth", "peer", "name", f"{dev[:-1]}{peer}")
                sh("ip", "link", "set", dev, "netns", ns)
                sh("ip", "link", "set", f"{dev[:-1]}{peer}", "netns", self.wire)
                sh("ip", "link", "set", f"{dev[:-1]}{peer}", "up", "mtu", str(MTU), ns=self.wire)
        for ns, dev, ip in ((self.edge, self.edge_if, self.edge_ip),
                            (self.server, self.server_if, self.server_ip)):
            sh("ip", "addr", "add", f"{ip}/24", "dev", dev, ns=ns)
            sh("ip", "link", "set", dev, "up", "mtu", str(MTU), "gso_max_segs", "1", ns=ns)
            sh("ip", "link", "set", "lo", "up", ns=ns)

    def _netem_available(self) -> bool:
        probe = sh("tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms",
                   ns=self.edge, check=False)
        sh("tc", "qdisc", "del", "dev", "lo", "root", ns=self.edge, check=False)
        return probe.returncode == 0

    def shape(self, link: LinkSetting) -> None:
        """Rate on both ends; delay RTT/2 each way (netem, or the relay)."""
        half = f"{link.rtt_ms / 2:g}ms"
        rate = f"{link.rate_mbit:g}mbit"
        for ns, dev in ((self.edge, self.edge_if), (self.server, self.server_if)):
            sh("tc", "qdisc", "del", "dev", dev, "root", ns=ns, check=False)
            if self.netem:
                sh("tc", "qdisc", "add", "dev", dev, "root", "netem", "rate", rate, "delay", half,
                   "limit", "10000", ns=ns)
            else:
                sh("tc", "qdisc", "add", "dev", dev, "root", "tbf", "rate", rate, "burst",
                   "3028", "limit", "4mb", ns=ns)
        if not self.netem:
            self.stop_relay()
            tag = self.edge_if[:-1]
            a, b = f"{tag}wa", f"{self.server_if[:-1]}wb"
            self.relay = subprocess.Popen(
                ["ip", "netns", "exec", self.wire, sys.executable, __file__, "--relay", a, b,
                 str(link.rtt_ms / 2000)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            time.sleep(0.5)
            if self.relay.poll() is not None:
                raise RuntimeError(f"the relay failed: {self.relay.stderr.read().decode()}"
                                   if self.relay.stderr else "the relay failed")

    def slow_start_after_idle(self, on: bool) -> None:
        """Linux restarts TCP's congestion window after an idle RTO (RFC 2861), so a payload
        sent after a long edge compute ramps up again; off is the usual tuning for such
        request/response traffic. Set in both namespaces (the sysctl is per namespace)."""
        for ns in (self.edge, self.server):
            sh("sh", "-c", f"echo {int(on)} > /proc/sys/net/ipv4/tcp_slow_start_after_idle",
               ns=ns)

    def stop_relay(self) -> None:
        if self.relay is not None and self.relay.poll() is None:
            self.relay.terminate()
            try:
                self.relay.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.relay.kill()
                self.relay.wait()
        self.relay = None

    def down(self) -> None:
        self.stop_relay()
        for ns in reversed(self.namespaces):
            sh("ip", "netns", "del", ns, check=False)
        self.namespaces.clear()


# --- the relay that adds the delay where netem is missing ----------------------------------


def relay(if_a: str, if_b: str, delay_s: float) -> None:
    """Forward every frame between two interfaces, ``delay_s`` after it arrived.

    veth leaves TCP checksums to the receiver (CHECKSUM_PARTIAL): each frame is read and sent
    with its virtio-net header (PACKET_VNET_HDR), so the kernel completes the checksum on the
    way out instead of the relay touching the bytes.
    """
    eth_p_all, sol_packet, packet_vnet_hdr = 0x0003, 263, 15
    socks = {}
    for name in (if_a, if_b):
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(eth_p_all))
        s.setsockopt(sol_packet, packet_vnet_hdr, 1)
        s.bind((name, 0))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        s.setblocking(False)
        socks[name] = s
    other = {if_a: socks[if_b], if_b: socks[if_a]}
    by_fd = {s.fileno(): name for name, s in socks.items()}
    queue: deque[tuple[float, socket.socket, bytes]] = deque()
    while True:
        now = time.monotonic()
        while queue and queue[0][0] <= now:
            _, out, frame = queue.popleft()
            with contextlib.suppress(OSError):
                out.send(frame)
        wait = max(0.0, queue[0][0] - time.monotonic()) if queue else 1.0
        ready, _, _ = select.select(list(socks.values()), [], [], wait)
        now = time.monotonic()
        for s in ready:
            name = by_fd[s.fileno()]
            while True:
                try:
                    frame, addr = s.recvfrom(65536)
                except BlockingIOError:
                    break
                if addr[2] == socket.PACKET_OUTGOING:
                    continue  # our own sends, seen again
                queue.append((now + delay_s, other[name], frame))


# --- the runs ------------------------------------------------------------------------------


def link_toml(folder: Path, link: LinkSetting) -> Path:
    name = f"emulated-{link.rate_mbit:g}m-{link.rtt_ms:g}ms"
    path = folder / f"{name}.toml"
    path.write_text(
        f'schema = 1\nname = "{name}"\ntitle = "emulated {link.name}"\n'
        f'bandwidth = "{link.rate_mbit:g} Mbit/s"\nrtt = "{link.rtt_ms:g} ms"\n'
        f"efficiency = {TCP_EFFICIENCY:.4f}\n\n[sources]\n"
        f'"bandwidth" = {{ kind = "measured", ref = "tc rate of this benchmark" }}\n'
        f'"rtt" = {{ kind = "measured", ref = "delay of this benchmark, RTT/2 each way" }}\n'
        f'"efficiency" = {{ kind = "derived", ref = "1448 TCP bytes per 1514-byte frame" }}\n',
        encoding="utf-8")
    return path


@contextlib.contextmanager
def server(topo: Topology, case: Case, images_shape: str, port: int) -> Iterator[None]:
    cmd = ["ip", "netns", "exec", topo.server, *SPLITCOST, "measure", "--serve",
           f"{topo.server_ip}:{port}", "--backbone", case.backbone, "--tasks", "2", "--cut",
           case.cut, "--input", images_shape]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()  # "serving ..." once it listens
        if "serving" not in line:
            raise RuntimeError(f"server did not start: {line.strip()}")
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run_case(topo: Topology, case: Case, link_path: Path, args: argparse.Namespace,
             port: int) -> dict[str, object]:
    with server(topo, case, args.input, port):
        cmd = ["ip", "netns", "exec", topo.edge, *SPLITCOST, "measure", "--connect",
               f"{topo.server_ip}:{port}", "--backbone", case.backbone, "--tasks", "2", "--cut",
               case.cut, "--input", args.input, "--payload-dtype", case.dtype, "--images",
               str(args.images), "--warmup", "3", "--link", str(link_path), "--timeout", "60",
               "--format", "json"]
        if args.device:
            cmd += ["--device", args.device]
        out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
        if out.returncode != 0:
            raise RuntimeError(f"edge failed: {out.stderr.strip()}")
        result: dict[str, object] = json.loads(out.stdout)
        return result


def ms(s: float | None) -> str:
    return "-" if s is None else f"{s * 1e3:.1f}"


def main() -> int:
    parser = argparse.ArgumentParser(description="the split over an emulated link")
    parser.add_argument("--images", type=int, default=20)
    parser.add_argument("--input", default="3x224x224")
    parser.add_argument("--device", default=None, help="device profile of this machine")
    parser.add_argument("--slow-start-after-idle", choices=("on", "off", "both"),
                        default="both", help="net.ipv4.tcp_slow_start_after_idle (Linux: on)")
    parser.add_argument("--only", default="", help="run the cases whose name holds this text "
                        "(e.g. 'float16' or 'mobilenet')")
    parser.add_argument("--link", choices=("all", "100", "10"), default="all")
    parser.add_argument("--relay", nargs=3, metavar=("IF_A", "IF_B", "DELAY_S"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.relay:
        relay(args.relay[0], args.relay[1], float(args.relay[2]))
        return 0
    if os.geteuid() != 0 or shutil.which("ip") is None or shutil.which("tc") is None:
        print("needs root and iproute2 (ip, tc)", file=sys.stderr)
        return 2
    topo = Topology()
    rows = []
    try:
        topo.up()
        how = "tc netem (rate + delay)" if topo.netem else \
            "tc tbf (rate) + frame relay in a third namespace (delay): no sch_netem in this kernel"
        print(f"Emulation: {how}; MTU {MTU}; {args.images} images after 3 warm-up; tasks 2; "
              f"input {args.input}", flush=True)
        idle = {"on": [True], "off": [False], "both": [True, False]}[args.slow_start_after_idle]
        port = 9100
        with tempfile.TemporaryDirectory() as tmp:
            for link in LINKS:
                if args.link != "all" and f"{link.rate_mbit:g}" != args.link:
                    continue
                topo.shape(link)
                path = link_toml(Path(tmp), link)
                for on in idle:
                    topo.slow_start_after_idle(on)
                    for case in CASES:
                        if args.only not in f"{case.backbone} @ {case.cut} {case.dtype}":
                            continue
                        port += 1
                        r = run_case(topo, case, path, args, port)
                        rows.append((link, on, case, r))
                        print(f"  done: {link.name}, restart after idle {on}, {case}",
                              file=sys.stderr, flush=True)
    finally:
        topo.down()
    print_table(rows)
    return 0


def print_table(rows: list[tuple[LinkSetting, bool, Case, dict[str, object]]]) -> None:
    head = (f"{'link':<22}{'idle':>5}{'rtt':>6}  {'split':<29}{'payload':>9}{'transfer':>9}"
            f"{'pred':>7}{'err':>8}{'p95':>7}{'total':>8}{'pred':>7}")
    print(head)
    print("-" * len(head))
    for link, on, case, r in rows:
        measured, predicted, probe = r["measured"], r["predicted"], r["probe"]
        assert isinstance(measured, dict) and isinstance(predicted, dict)
        assert isinstance(probe, dict)
        t = measured["transfer"]["median_s"]
        p = predicted["transfer"]
        err = "-" if p is None else f"{(p - t) / t * 100:+.1f}%"
        split = f"{case.backbone} @ {case.cut} {case.dtype}"
        print(f"{link.name:<22}{'on' if on else 'off':>5}{ms(probe['rtt_s']):>6}  {split:<29}"
              f"{int(str(r['payload_bytes'])) / 1e3:>7.0f}kB{ms(t):>9}{ms(p):>7}{err:>8}"
              f"{ms(measured['transfer']['p95_s']):>7}{ms(measured['total']['median_s']):>8}"
              f"{ms(predicted['total']):>7}")
    print("Times in ms; medians over the images (p95: of transfer). transfer = first payload "
          "byte sent to last result byte received, less the server's busy time. pred = "
          "splitcost's Split@cut (transfer: RTT + payload and results at rate x 1448/1514). "
          "idle = net.ipv4.tcp_slow_start_after_idle; rtt = the edge's probe (median round "
          "trip of small frames over the connection).")


if __name__ == "__main__":
    sys.exit(main())
