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

pytest.importorskip("matplotlib")

import splitcost
from splitcost.cli import main
from splitcost.errors import InputError
from splitcost.render.plots import (
    envelope_changes,
    fleet_figure,
    latency_figure,
    save,
    sweep_figure,
)
from splitcost.studies.compare import Report, compare
from splitcost.studies.plan import Plan, plan
from splitcost.studies.sweep import Sweep, sweep
from splitcost.units import format_rate

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
    assert "efficientnet" in ax.get_title() and "jetson-nano-4gb" in ax.get_title()
    assert "bit/s" in ax.get_xlabel() and "latency" in ax.get_ylabel()


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
    top, bottom, memory = fig.axes
    n = len(swept.results)
    names = [r.cut.name for r in swept.results]
    assert [t.get_text() for t in bottom.get_xticklabels()] == names
    payload = [p for p in top.patches if p.get_gid() == "payload"]
    assert [p.get_height() for p in payload] == pytest.approx(
        [r.scenario.payload_bytes / 1e6 for r in swept.results])  # MB = 1e6 bytes
    for part, attr in (("edge compute", "edge_s"), ("transfer", "transfer_s"),
                       ("server compute", "server_s")):
        bars = [p for p in bottom.patches if p.get_gid() == part]
        assert len(bars) == n
        assert [b.get_height() for b in bars] == pytest.approx(
            [getattr(r.scenario, attr) for r in swept.results])  # seconds: totals over 1 s
    # Stacked: each bar's top is the cut's total latency.
    tops = [b.get_y() + b.get_height() for b in bottom.patches
            if b.get_gid() == "server compute"]
    assert tops == pytest.approx([r.scenario.total_s for r in swept.results])
    edge = lines_by_gid(memory, "edge memory")[""]
    assert list(edge.get_ydata()) == pytest.approx(
        [r.scenario.edge_memory_bytes / 1e9 for r in swept.results])
    usable = lines_by_gid(memory, "usable memory")[""]
    assert usable.get_ydata()[0] == pytest.approx(swept.device.memory_usable / 1e9)
    assert swept.best is not None
    best = [p for p in top.patches if p.get_gid() == "best"]
    assert len(best) == 1
    assert best[0].get_x() + best[0].get_width() / 2 == pytest.approx(swept.best_index)
    ann = annotated(bottom, "best cut")
    assert len(ann) == 1 and swept.best in ann[0].get_text()
    labels = legend_labels(fig)
    assert "payload per inference (MB)" in labels and "transfer" in labels
    assert "jetson-nano-4gb usable memory: 2.54 GB" in labels
    assert "MB" in top.get_ylabel() and "(s)" in bottom.get_ylabel()


# --- fleet -------------------------------------------------------------------------------------


def test_fleet_figure_series(fleet: Plan) -> None:
    fig = fleet_figure(fleet)
    ax = fig.axes[0]
    lines = lines_by_gid(ax, "fleet:")
    assert sorted(lines) == ["MTL-Split", "RoC"]  # the scenarios that use a server
    for name, line in lines.items():
        row = fleet.row(name)
        s = fleet.report.scenario(name)
        x, y = line.get_data()
        # By hand: M devices x F inferences/s x server seconds per inference, in percent.
        for m, u in zip(x, y, strict=True):
            assert u == pytest.approx(m * fleet.fps * s.server_s * 100, rel=1e-9)
        assert row.max_devices_per_server is not None
        cap = f"{name}: max {row.max_devices_per_server:,} devices per server"
        assert any(cap == t.get_text().replace("\n", " ") for t in annotated(ax, "max devices"))
    assert [ln.get_ydata()[0] for ln in ax.get_lines() if ln.get_gid() == "saturation"] == [100]
    assert [ln.get_xdata()[0] for ln in ax.get_lines() if ln.get_gid() == "planned"] == [200]
    labels = legend_labels(fig)
    servers = fleet.row("MTL-Split").servers_needed
    cap_split = fleet.row("MTL-Split").max_devices_per_server or 0
    split = f"MTL-Split: {servers} server for 200 devices (max {cap_split:,} per server"
    assert any(label.startswith(split) for label in labels)
    assert any(label.startswith("MTL-Local: no server") for label in labels)
    assert "%" in ax.get_ylabel() and "rtx-3090" in ax.get_ylabel()


# --- writing -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def figure(report: Report) -> Any:
    return latency_figure(report)


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


def test_save_refuses_bad_paths(figure: Any, tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"\.png or \.svg"):
        save(figure, tmp_path / "latency.jpg")
    with pytest.raises(InputError, match="does not exist"):
        save(figure, tmp_path / "missing" / "latency.png")
    assert list(tmp_path.iterdir()) == []


def test_missing_matplotlib_is_one_line(report: Report, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(InputError, match=r"pip install 'splitcost\[plot\]'"):
        latency_figure(report)


# --- the command -------------------------------------------------------------------------------


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        main(list(args))
        code = 0
    except SystemExit as e:
        code = int(e.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_plot_command_writes_the_figure(capsys: pytest.CaptureFixture[str],
                                        tmp_path: Path) -> None:
    out = tmp_path / "x.png"
    code, text, _ = run(capsys, "plot", "latency", "--out", str(out))
    assert code == 0 and out.read_bytes()[:8] == PNG_SIGNATURE
    assert str(out) in text


def test_plot_command_bad_input(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "plot", "histogram", "--out", str(tmp_path / "x.png"))
    assert code == 2 and "latency, sweep, fleet" in err and len(err.strip().splitlines()) == 1
    code, _, err = run(capsys, "plot", "latency", "--out", str(tmp_path / "x.gif"))
    assert code == 2 and "--out" in err and ".png or .svg" in err
    assert list(tmp_path.iterdir()) == []
