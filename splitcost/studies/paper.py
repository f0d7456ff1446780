"""The paper's Table 4 and Sec. 4.2 beside what splitcost computes. Numbers only: the row
sentences and reasons are :mod:`splitcost.render.paper`'s.

Configuration of the paper's code: backbones ``mobilenet_v3_small().features`` and
``efficientnet_b0().features``, input resized to 3x224x224, batch 32, torchinfo 1.8.0 for the
memory figures, MB = 10^6 bytes. The FACES images are 2835x3543 RGB.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from splitcost._notebook import Notebook
from splitcost.kinds import MemoryModel, Processes
from splitcost.network.memory import TorchinfoMemory
from splitcost.network.profile import Profile

PAPER_BATCH = 32
FACES = (3, 2835, 3543)
GIGABIT = 1e9
TCP_GOODPUT = 0.941  # 1 Gbit Ethernet's TCP goodput (the ethernet-1g profile's efficiency)
PAPER_ZB_MB = 1.5  # the Z_b size Sec. 4.2 sends 100 of
IMAGES = 100  # Sec. 4.2's batch of inputs sent over the link
JETSON = "jetson-nano-4gb"

# Values as printed in the paper (Table 4 and Sec. 4.2).
TABLE4 = {
    "MobileNetV3": {"params_m": 0.9, "params_mb": 3.58, "fb_mb": 724.08, "est_mb": 727.66,
                    "zb_params_m": 55.3, "zb_mb": 0.21},
    "EfficientNet": {"params_m": 4.0, "params_mb": 15.45, "fb_mb": 3452.09, "est_mb": 3467.54,
                     "zb_params_m": 406.06, "zb_mb": 1.56},
}
BACKBONES = {"MobileNetV3": "mobilenet", "EfficientNet": "efficientnet"}
LOC_GB = {"MobileNetV3": {2: 1.5, 3: 2.1}, "EfficientNet": {2: 6.9, 3: 10.3}}
IMPROVEMENT_PCT = {2: 38, 3: 57}  # Sec. 4.2's memory improvement of MTL over LoC, EfficientNet
FACES_INPUT_MB = 115
FACES_100_S = 98
ZB_100_S = 12


class Status(StrEnum):
    EXACT = "exact"  # the same digits
    REPRODUCED = "reproduced"  # the same quantity measured
    ARITHMETIC = "paper's arithmetic"  # follows from the paper's printed figures
    NOT_REPRODUCED = "not reproduced"  # no reading of the setup gives the printed value
    VERDICT = "verdict"  # a fits / does not fit verdict recomputed


@dataclass(frozen=True)
class BackboneFigures:
    """One backbone of Table 4 as splitcost measures it."""

    label: str  # "MobileNetV3", "EfficientNet"
    name: str  # the backbone name profiled
    params: int
    torchinfo: TorchinfoMemory  # at batch 32
    zb_shape: tuple[int, ...]  # per image, batch excluded
    zb_bytes_per_image: int
    macs_per_image: int

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["zb_shape"] = list(self.zb_shape)
        return d


@dataclass(frozen=True)
class LocVerdict:
    """Sec. 4.2's LoC on the Jetson Nano for one backbone, task count and memory model."""

    label: str
    tasks: int
    memory_model: MemoryModel
    batch: int
    processes: Processes
    edge_memory_bytes: int
    usable_bytes: int
    feasible: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class PaperRow:
    """One printed figure beside splitcost's, with the status of the comparison."""

    key: str  # which figure: "params", "fb", "est", "zb_params", "zb", "loc", ...
    label: str  # the backbone ("" for the FACES input)
    tasks: int | None
    printed: float
    computed: float
    unit: str  # of printed and computed: "M", "MB", "GB", "%", "s"
    status: Status

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, repr=False)
class PaperResult(Notebook):
    backbones: tuple[BackboneFigures, ...]
    loc_verdicts: tuple[LocVerdict, ...]
    faces_input_bytes: int
    faces_zb_bytes: int
    rows: tuple[PaperRow, ...]

    def backbone(self, label: str) -> BackboneFigures:
        return next(b for b in self.backbones if b.label == label)

    def count(self, *statuses: Status) -> int:
        return sum(r.status in statuses for r in self.rows)

    def to_dict(self) -> dict[str, Any]:
        return {
            "batch": PAPER_BATCH,
            "backbones": [b.to_dict() for b in self.backbones],
            "loc_verdicts": [v.to_dict() for v in self.loc_verdicts],
            "faces_input_bytes": self.faces_input_bytes,
            "faces_zb_bytes": self.faces_zb_bytes,
            "rows": [r.to_dict() for r in self.rows],
        }


def _figures(label: str, p32: Profile, p1: Profile) -> BackboneFigures:
    return BackboneFigures(label, BACKBONES[label], p32.params, p32.memory.torchinfo,
                           p1.zb_shape[1:], p1.zb_bytes, p1.macs)


def _table4_rows(b: BackboneFigures) -> list[PaperRow]:
    printed = TABLE4[b.label]
    t = b.torchinfo
    return [
        PaperRow("params", b.label, None, printed["params_m"], b.params / 1e6, "M",
                 Status.REPRODUCED),
        PaperRow("params_size", b.label, None, printed["params_mb"], t.params_bytes / 1e6,
                 "MB", Status.NOT_REPRODUCED),
        PaperRow("fb", b.label, None, printed["fb_mb"], t.forward_backward_bytes / 1e6, "MB",
                 Status.EXACT if round(t.forward_backward_bytes / 1e6, 2) == printed["fb_mb"]
                 else Status.NOT_REPRODUCED),
        PaperRow("est", b.label, None, printed["est_mb"],
                 (t.params_bytes + t.forward_backward_bytes) / 1e6, "MB", Status.ARITHMETIC),
        PaperRow("zb_params", b.label, None, printed["zb_params_m"],
                 b.zb_bytes_per_image / 4 / 1e6, "M", Status.NOT_REPRODUCED),
        PaperRow("zb", b.label, None, printed["zb_mb"], b.zb_bytes_per_image / 1e6, "MB",
                 Status.NOT_REPRODUCED),
    ]


def _loc_rows(b: BackboneFigures) -> list[PaperRow]:
    printed = TABLE4[b.label]
    rows = []
    for n, shown_gb in LOC_GB[b.label].items():
        product = n * printed["est_mb"] / 1e3
        status = Status.ARITHMETIC if abs(round(product, 1) - shown_gb) < 0.05 else (
            Status.NOT_REPRODUCED)
        rows.append(PaperRow("loc", b.label, n, shown_gb, n * b.torchinfo.total_bytes / 1e9,
                             "GB", status))
    return rows


def improvement_read(n: int) -> float:
    """Sec. 4.2's improvement, reading Table 4's 'Z_b #params' as MB of one head on the edge."""
    est = TABLE4["EfficientNet"]["est_mb"]
    head = TABLE4["EfficientNet"]["zb_params_m"]
    return 100 * (1 - (est + n * head) / (n * est))


def _improvement_rows() -> list[PaperRow]:
    rows = []
    for n, printed in IMPROVEMENT_PCT.items():
        read = improvement_read(n)
        status = Status.ARITHMETIC if abs(read - printed) < 1 else Status.NOT_REPRODUCED
        rows.append(PaperRow("improvement", "EfficientNet", n, printed, 100 * (1 - 1 / n), "%",
                             status))
    return rows


def _link_rows(faces_input: int, zb_224: int) -> list[PaperRow]:
    return [
        PaperRow("faces_input", "", None, FACES_INPUT_MB, faces_input / 2**20, "MiB",
                 Status.REPRODUCED),
        PaperRow("faces_100", "", None, FACES_100_S, IMAGES * faces_input * 8 / GIGABIT, "s",
                 Status.NOT_REPRODUCED),
        PaperRow("zb_100", "EfficientNet", None, ZB_100_S,
                 IMAGES * PAPER_ZB_MB * 1e6 * 8 / GIGABIT, "s", Status.NOT_REPRODUCED),
    ]


def _loc_verdicts(traced: dict[tuple[str, int], Profile]) -> list[LocVerdict]:
    """Sec. 4.2's LoC verdict on the Jetson Nano, under the paper's model and under inference."""
    from splitcost.studies.compare import compare

    out = []
    cases = ((MemoryModel.TORCHINFO, PAPER_BATCH, Processes.ONE),
             (MemoryModel.INFERENCE, 1, Processes.ONE),
             (MemoryModel.INFERENCE, 1, Processes.PER_TASK))
    for label in BACKBONES:
        for n in LOC_GB[label]:
            for model, batch, processes in cases:
                r = compare(traced[(label, batch)], n, device=JETSON, memory_model=model,
                            processes=processes, what_if=False)
                loc = r.scenario("LoC")
                out.append(LocVerdict(label, n, model, batch, processes, loc.edge_memory_bytes,
                                      r.device.memory_usable, loc.feasible))
    return out


def reproduce() -> PaperResult:
    """Profile the paper's backbones in its configuration and line them up with its figures."""
    from splitcost.network.profiler import profile  # torch: the backbones are traced

    rows: list[PaperRow] = []
    figures = []
    traced: dict[tuple[str, int], Profile] = {}
    for label, name in BACKBONES.items():
        p32 = profile(name, (3, 224, 224), batch=PAPER_BATCH)
        p1 = profile(name, (3, 224, 224), batch=1)
        traced[(label, 1)], traced[(label, PAPER_BATCH)] = p1, p32
        b = _figures(label, p32, p1)
        figures.append(b)
        rows += _table4_rows(b) + _loc_rows(b)
    rows += _improvement_rows()
    verdicts = _loc_verdicts(traced)
    faces = profile("efficientnet", FACES, batch=1)
    rows += _link_rows(faces.input_bytes, traced[("EfficientNet", 1)].zb_bytes)
    return PaperResult(tuple(figures), tuple(verdicts), faces.input_bytes, faces.zb_bytes,
                       tuple(rows))
