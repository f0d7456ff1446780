"""The figures: the series each one draws, the values on them, and the files save() writes.

Values are checked against figures derived by hand from a scenario's parts (latency at a
bandwidth, where two scenarios cross, a server's utilisation at a fleet size), not against the
functions that draw them.
"""

from __future__ import annotations

import math
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from cli_run import run

pytest.importorskip("matplotlib")

import splitcost
from splitcost.errors import InputError
from splitcost.render.plots import (
    envelope_changes,
    fleet_figure,
    latency_figure,
    save,
    sweep_figure,
    tail_figure,
)
from splitcost.studies.compare import Report, compare
from splitcost.studies.inputs import pricing_inputs
from splitcost.studies.plan import Plan, plan, plan_request
from splitcost.studies.sweep import Sweep, sweep
from splitcost.units import format_rate

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_queueing import _md1_sojourn_quantile

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def profile() -> Any:
    return splitcost.profile("efficientnet", input_shape=(3, 224, 224))


@pytest.fixture(scope="module")
def report(profile: Any) -> Report:
    return compare(profile, 3, link="1gbps")


@pytest.fixture(scope="module")
def swept(profile: Any) -> Sweep:
    return sweep(profile, 3, link="lte")


@pytest.fixture(scope="module")
def fleet(profile: Any) -> Plan:
    return plan(profile, 3, devices=200, fps=5, link="lte", payload_dtype="int8")


def lines_by_gid(ax: Any, prefix: str) -> dict[str, Any]:
    return {ln.get_gid()[len(prefix):]: ln for ln in ax.get_lines()
            if (ln.get_gid() or "").startswith(prefix)}


def legend_labels(fig: Any) -> list[str]:
    legends = [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]
    legends += list(fig.legends)
    return [t.get_text() for lg in legends for t in lg.get_texts()]


def annotated(ax: Any, gid: str) -> list[Any]:
    return [t for t in ax.texts if t.get_gid() == gid]


# --- latency against bandwidth -----------------------------------------------------------------


def by_hand(s: Any, link: Any, bandwidth: float) -> Any:
    """A scenario's latency at another uplink rate: compute + RTT + bits / goodput."""
    if s.transfer.payload_bytes == 0:
        return s.edge_s + s.server_s
    bits = (s.transfer.payload_bytes + s.transfer.result_bytes) * 8
    assert link.downlink_bps is None  # the down link scales with the up link
    return s.edge_s + s.server_s + link.rtt_s + bits / (bandwidth * link.efficiency)


def test_latency_figure_draws_each_scenario_exactly(report: Report) -> None:
    fig = latency_figure(report, bandwidths=[1e6, 1e9, 1e10])
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    lines = lines_by_gid(ax, "scenario:")
    assert list(lines) == ["LoC", "MTL-Local", "RoC", "MTL-Split"]
    for s in report.scenarios:
        x, y = lines[s.name].get_data()
        assert list(x) == [1e6, 1e9, 1e10]
        for b, v in zip(x, y, strict=True):
            assert v == pytest.approx(by_hand(s, report.link, b), rel=1e-9)
        # At the link's own bandwidth the line passes through the report's total.
        assert y[1] == pytest.approx(s.total_s, rel=1e-9)
    assert len(set(lines["LoC"].get_ydata())) == 1  # local scenarios are flat
    labels = legend_labels(fig)
    assert "MTL-Local (on the edge)" in labels and "RoC (over the link)" in labels
    assert "this link: 1gbps, 1 Gbit/s" in labels and "fastest that fits" in labels
    title = fig.get_suptitle()
    assert "efficientnet" in title and "jetson-nano-4gb" in title
    assert "bit/s" in ax.get_xlabel() and "latency" in ax.get_ylabel()


def test_latency_figure_band(report: Report) -> None:
    """The shaded likely range at the link's rate is the report's range, and elsewhere each
    device's validated error of its compute around the line (the Nano's and the 3090's)."""
    ax = latency_figure(report, bandwidths=[1e6, report.link.bandwidth_bps, 1e10]).axes[0]
    bands = {c.get_gid()[5:]: c for c in ax.collections if (c.get_gid() or "").startswith(
        "band:")}
    edge_err, server_err = report.device.latency_error, report.server.latency_error
    assert edge_err and server_err  # both profiles carry a validated band
    assert "MTL-Split" in bands and "RoC" in bands
    for name, band in bands.items():
        s = report.scenario(name)
        vertices = band.get_paths()[0].vertices
        at = [v for v in vertices if math.isclose(v[0], report.link.bandwidth_bps)]
        lows, highs = min(v[1] for v in at), max(v[1] for v in at)
        assert s.band is not None
        assert lows == pytest.approx(s.band.low_s, rel=1e-9)
        assert highs == pytest.approx(s.band.high_s, rel=1e-9)
        far = [v for v in vertices if math.isclose(v[0], 1e6)]
        line = by_hand(s, report.link, 1e6)
        spread = edge_err * s.edge_s + server_err * s.server_s
        assert min(v[1] for v in far) == pytest.approx(line - spread, rel=1e-9)
        assert max(v[1] for v in far) == pytest.approx(line + spread, rel=1e-9)
    label = (f"likely range (jetson-nano-4gb compute +/-{100 * edge_err:.0f}%; rtx-3090 compute "
             f"+/-{100 * server_err:.0f}%)")
    assert label in legend_labels(ax.figure)


def test_latency_figure_marks_the_crossovers(report: Report) -> None:
    fig = latency_figure(report)
    ax = fig.axes[0]
    marked = annotated(ax, "crossover") + annotated(ax, "breakeven")
    at = [a.xy[0] for a in marked]
    flips = [f for f in report.breakeven if f.parameter == "bandwidth"]
    assert flips, "the report has break-even bandwidths"
    for f in flips:
        assert any(math.isclose(x, f.value, rel_tol=0.01) for x in at), (f, at)
    # By hand: RoC catches MTL-Local where compute + bits / B equals MTL-Local's time.
    local, roc = report.scenario("MTL-Local"), report.scenario("RoC")
    bits = (roc.transfer.payload_bytes + roc.transfer.result_bytes) * 8
    crossing = bits / (local.total_s - roc.edge_s - roc.server_s - report.link.rtt_s)
    strong = annotated(ax, "crossover")
    hit = [a for a in strong if math.isclose(a.xy[0], crossing, rel_tol=0.01)]
    assert len(hit) == 1
    text = hit[0].get_text()
    assert format_rate(crossing) in text and "MTL-Local below" in text and "RoC above" in text
    # The link itself is marked.
    assert [ln.get_xdata()[0] for ln in ax.get_lines() if ln.get_gid() == "link"] == [1e9]


def test_latency_figure_greys_what_does_not_fit() -> None:
    p = splitcost.profile("efficientnet", input_shape=(3, 224, 224), batch=32)
    r = compare(p, 2, memory_model="torchinfo", link="1gbps")  # the paper's LoC does not fit
    assert not r.scenario("LoC").feasible
    fig = latency_figure(r)
    line = lines_by_gid(fig.axes[0], "scenario:")["LoC"]
    assert line.get_linestyle() == "--" and line.get_alpha() < 1
    assert "LoC (does not fit)" in legend_labels(fig)


def test_envelope_changes_by_hand() -> None:
    # A: 1 s flat; B: 10 bits / bandwidth. They cross at 10 bit/s; below it A is faster.
    assert envelope_changes([("A", 1.0, 0.0), ("B", 0.0, 10.0)]) == [(10.0, "A", "B")]
    # C is never fastest: no change involves it.
    lines = [("A", 1.0, 0.0), ("B", 0.0, 10.0), ("C", 2.0, 1.0)]
    assert envelope_changes(lines) == [(10.0, "A", "B")]
    assert envelope_changes([("A", 1.0, 0.0)]) == []


# --- every cut ---------------------------------------------------------------------------------


def test_sweep_figure_series(swept: Sweep) -> None:
    fig = sweep_figure(swept)
    payload_ax, memory_ax, latency_ax = fig.axes
    n = len(swept.results)
    # Every cut is named, with what it comes after: '6' over '4x MBConv' (its four children,
    # counted from torchvision's efficientnet_b0: features[6] holds four MBConv blocks).
    labels = [t.get_text() for t in latency_ax.get_xticklabels()]
    assert labels[0] == "input (RoC)"
    six = next(i for i, r in enumerate(swept.results) if r.cut.name == "6")
    assert labels[six] == "6\n4x MBConv"
    assert labels[1] == "0\nConv2dNormActivation" and labels[2] == "1\n1x MBConv"
    payload = [p for p in payload_ax.patches if p.get_gid() == "payload"]
    assert [p.get_height() for p in payload] == pytest.approx(
        [r.scenario.payload_bytes / 1e6 for r in swept.results])  # MB = 1e6 bytes
    assert "MB" in payload_ax.get_ylabel() and "GB" not in payload_ax.get_ylabel()
    for part, attr in (("edge compute", "edge_s"), ("transfer", "transfer_s"),
                       ("server compute", "server_s")):
        bars = [p for p in latency_ax.patches if p.get_gid() == part]
        assert len(bars) == n
        assert [b.get_height() for b in bars] == pytest.approx(
            [getattr(r.scenario, attr) for r in swept.results])  # seconds: totals over 1 s
    tops = [b.get_y() + b.get_height() for b in latency_ax.patches
            if b.get_gid() == "server compute"]
    assert tops == pytest.approx([r.scenario.total_s for r in swept.results])
    # The likely range: each cut's total minus and plus its compute share of +/-25%.
    bars = next(c for c in latency_ax.containers if c.get_label() == "likely range of the total")
    segments = bars.lines[2][0].get_segments()
    banded = [r for r in swept.results if r.scenario.band]
    for seg, r in zip(segments, banded, strict=True):
        s = r.scenario
        # each device's validated error of its own compute
        compute = (s.edge_s * swept.device.latency_error
                   + s.server_s * swept.server.latency_error)
        assert seg[0][1] == pytest.approx(s.total_s - compute, rel=1e-9)
        assert seg[1][1] == pytest.approx(s.total_s + compute, rel=1e-9)
    edge = lines_by_gid(memory_ax, "edge memory")[""]
    assert list(edge.get_ydata()) == pytest.approx(
        [r.scenario.edge_memory_bytes / 1e9 for r in swept.results])
    usable = lines_by_gid(memory_ax, "usable memory")[""]
    assert usable.get_ydata()[0] == pytest.approx(swept.device.memory_usable / 1e9)
    assert "GB" in memory_ax.get_ylabel()
    assert swept.best is not None
    best = [p for p in payload_ax.patches if p.get_gid() == "best"]
    assert len(best) == 1
    assert best[0].get_x() + best[0].get_width() / 2 == pytest.approx(swept.best_index)
    ann = annotated(latency_ax, "best cut")
    # On LTE, MTL-Local (91 ms) beats the best cut (182 ms): the figure says so.
    assert len(ann) == 1 and swept.best in ann[0].get_text()
    assert "MTL-Local is faster" in ann[0].get_text()
    labels = legend_labels(fig)
    assert "transfer" in labels and "jetson-nano-4gb usable memory: 2.54 GB" in labels
    assert any(t.endswith("faster than every cut") for t in labels)
    assert "(s)" in latency_ax.get_ylabel()


def test_sweep_figure_shows_the_objective() -> None:
    sw = sweep(splitcost.profile("resnet18"), 3, link="lte", objective="energy")
    fig = sweep_figure(sw)
    assert len(fig.axes) == 4  # payload, edge memory, latency, edge energy
    bars = [p for p in fig.axes[3].patches if p.get_gid() == "edge energy"]
    assert [b.get_height() for b in bars] == pytest.approx(
        [r.scenario.energy.total_j for r in sw.results])
    assert "(J)" in fig.axes[3].get_ylabel()


def test_sweep_figure_no_cut_meets_the_slo(profile: Any) -> None:
    sw = sweep(profile, 3, link="lte", slo_s=0.1)
    assert sw.best is None and sw.local_ok
    fig = sweep_figure(sw)
    legend = fig.axes[2].get_legend()
    assert legend.get_title().get_text() == "no cut meets every constraint; MTL-Local does"
    assert not [p for p in fig.axes[0].patches if p.get_gid() == "best"]


# --- fleet -------------------------------------------------------------------------------------


def test_fleet_figure_series(fleet: Plan) -> None:
    fig = fleet_figure(fleet)
    ax, use = fig.axes
    lines = lines_by_gid(ax, "fleet:")
    assert sorted(lines) == ["MTL-Split", "RoC"]  # the scenarios that use a server
    for name, line in lines.items():
        row = fleet.row(name)
        s = fleet.report.scenario(name)
        x, y = line.get_data()
        # By hand: one server takes floor(1 / (F x server seconds)) devices (or its ingress
        # over F x payload bits, whichever is smaller); M devices need ceil(M / that).
        per = min(math.floor(1 / (fleet.fps * s.server_s)),
                  math.floor(fleet.ingress_bps / (fleet.fps * s.payload_bytes * 8)))
        for m, servers in zip(x, y, strict=True):
            assert servers == math.ceil(m / per)
        assert row.max_devices_per_server == per
    assert [ln.get_xdata()[0] for ln in ax.get_lines() if ln.get_gid() == "planned"] == [200]
    labels = legend_labels(fig)
    split = fleet.row("MTL-Split")
    assert any(t.startswith(f"MTL-Split: {split.servers_needed} server(s) for 200")
               for t in labels)
    assert any(t.startswith("MTL-Local: no server") for t in labels)
    assert "servers needed" in ax.get_ylabel() and "fleet size" in ax.get_xlabel()
    assert "against fleet size" in ax.get_title()
    # What binds, at the planned fleet: one device's uplink, F x payload bits / goodput.
    uplink = [p for p in use.patches if p.get_gid() == "use:uplink"]
    rows = list(fleet.rows)
    for bar, row in zip(uplink, rows, strict=True):
        s = fleet.report.scenario(row.name)
        expected = 100 * fleet.fps * s.payload_bytes * 8 / fleet.report.link.goodput_bps
        assert bar.get_height() == pytest.approx(expected, rel=1e-9)
    hatched = {row.name for bar, row in zip(uplink, rows, strict=True) if bar.get_hatch()}
    assert hatched == {r.name for r in rows if str(r.binding) == "uplink"}


def test_fleet_figure_when_the_uplink_binds(profile: Any) -> None:
    pl = plan(profile, 3, devices=200, fps=5, link="lte")  # float32 Z_b: 167% of LTE
    assert not pl.row("MTL-Split").device_ok
    labels = legend_labels(fleet_figure(pl))
    assert any(t.startswith("MTL-Split: devices cannot keep up (uplink 167% busy)")
               for t in labels)


# --- writing -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def figure(report: Report) -> Any:
    return latency_figure(report)


# --- tail latency against fleet size -----------------------------------------------------------


TAIL_FPS = 7.0


@pytest.fixture(scope="module")
def tail(profile: Any) -> Plan:
    request = pricing_inputs(3, link="lte", payload_dtype="int8").request(profile)
    # 7/s: more than the Nano's LoC keeps up with (7 x 165 ms of edge compute per second)
    return plan_request(request, devices=200, fps=TAIL_FPS, ingress_bps=10e9, cuts=["4"],
                        max_batch=16, slo_s=0.15, curves=True)


def test_tail_figure_series(tail: Plan) -> None:
    fig = tail_figure(tail)
    ax = fig.axes[0]
    lines = lines_by_gid(ax, "tail:")
    assert set(lines) == {"MTL-Split", "Split@4"}  # the served scenarios whose devices keep up
    for curve in tail.curves:
        x, y = lines[curve.name].get_data()
        assert list(x) == [m for m, _ in curve.points]
        assert list(y) == [v for _, v in curve.points]
        row = tail.row(curve.name)
        # One device on a server at 7/s: Poisson arrivals at 7/s queue as M/D/1 does (batches
        # of two are rare), so the p99 is the unloaded latency with S(1) replaced by the
        # M/D/1 sojourn's p99 (Erlang's formula).
        g = row.groups[0]
        md1 = _md1_sojourn_quantile(TAIL_FPS, g.service_batch1_s, 0.99)
        assert y[0] == pytest.approx(row.latency_s - g.service_batch1_s + md1, rel=0.005)
        # Where it saturates, by hand: a server's compute (B / S(B) requests/s) or its
        # network interface, whichever admits fewer devices at 7 inferences/s each.
        by_hand = min(16 / g.service_max_batch_s / TAIL_FPS,
                      10e9 / (TAIL_FPS * 8 * curve_bytes(tail, row)))
        assert curve.saturates_at == pytest.approx(by_hand, rel=1e-9)
        (vline,) = lines_by_gid(ax, f"saturates:{curve.name}").values() or [None]
        assert vline is None or vline.get_xdata()[0] == pytest.approx(by_hand)
        assert all(m < by_hand for m in x)
        q = row.latency_percentiles
        assert q is not None
        planned = lines_by_gid(ax, "planned:")[curve.name]
        assert list(planned.get_data()[1]) == [q.p99_s]
    slo = lines_by_gid(ax, "slo")[""]
    assert slo.get_ydata()[0] == pytest.approx(0.15)
    local = lines_by_gid(ax, "local:")
    assert local["MTL-Local"].get_ydata()[0] == pytest.approx(tail.row("MTL-Local").latency_s)
    labels = " ".join(legend_labels(fig))
    assert "LoC: no latency, above 100% load (edge compute)" in labels
    assert "RoC: no latency, above 100% load (uplink)" in labels


def curve_bytes(pl: Plan, row: Any) -> int:
    s = pl.report.scenario(row.name)
    return s.servers[0].payload_bytes


def test_tail_figure_needs_curves(fleet: Plan) -> None:
    with pytest.raises(InputError, match="no tail curves"):
        tail_figure(fleet)


def test_save_png(figure: Any, tmp_path: Path) -> None:
    import matplotlib.image

    out = tmp_path / "latency.png"
    save(figure, out)
    assert out.read_bytes()[:8] == PNG_SIGNATURE
    pixels = matplotlib.image.imread(out)
    assert pixels.shape[0] > 500 and pixels.shape[1] > 1000
    assert [p.name for p in tmp_path.iterdir()] == ["latency.png"]  # nothing else left
    save(figure, tmp_path / "again.PNG")  # the extension's case does not matter
    assert (tmp_path / "again.PNG").read_bytes()[:8] == PNG_SIGNATURE


def test_save_svg(figure: Any, tmp_path: Path) -> None:
    out = tmp_path / "latency.svg"
    out.write_text("old")
    save(figure, out)  # replaces the file
    root = ET.parse(out).getroot()
    assert root.tag.endswith("svg")
    assert [p.name for p in tmp_path.iterdir()] == ["latency.svg"]


def test_save_pdf(figure: Any, tmp_path: Path) -> None:
    out = tmp_path / "latency.pdf"
    save(figure, out)
    assert out.read_bytes()[:5] == b"%PDF-"
    assert [p.name for p in tmp_path.iterdir()] == ["latency.pdf"]


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_save_honours_the_umask(figure: Any, tmp_path: Path, umask: int) -> None:
    import os

    old = os.umask(umask)
    try:
        save(figure, tmp_path / "x.png")
    finally:
        os.umask(old)
    assert (tmp_path / "x.png").stat().st_mode & 0o777 == 0o666 & ~umask


def test_save_refuses_bad_paths(figure: Any, tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"\.png, \.svg or \.pdf"):
        save(figure, tmp_path / "latency.jpg")
    with pytest.raises(InputError, match="does not exist"):
        save(figure, tmp_path / "missing" / "latency.png")
    assert list(tmp_path.iterdir()) == []


def test_missing_matplotlib_is_one_line(report: Report, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(InputError, match=r"pip install 'splitcost\[plot\]'"):
        latency_figure(report)


# --- the command -------------------------------------------------------------------------------


def test_plot_command_writes_the_figure(capsys: pytest.CaptureFixture[str],
                                        tmp_path: Path) -> None:
    out = tmp_path / "x.png"
    code, text, _ = run(capsys, "plot", "latency", "--out", str(out))
    assert code == 0 and out.read_bytes()[:8] == PNG_SIGNATURE
    assert str(out) in text


def test_plot_command_bad_input(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "plot", "histogram", "--out", str(tmp_path / "x.png"))
    assert code == 2 and "latency, sweep, fleet, tail" in err
    assert len(err.strip().splitlines()) == 1
    code, _, err = run(capsys, "plot", "latency", "--out", str(tmp_path / "x.gif"))
    assert code == 2 and "--out" in err and ".png, .svg or .pdf" in err
    assert list(tmp_path.iterdir()) == []
