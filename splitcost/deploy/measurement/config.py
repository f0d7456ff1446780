"""What both sides agree on: the network they build and where it is split; the measured phases,
the timeouts and the one-line error of a run that cannot go on."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch

from splitcost.defaults import HIDDEN as DEFAULT_HIDDEN
from splitcost.deploy.mtl import MTLNet, SplitNet, build_mtl

PHASES = ("edge", "serialise", "transfer", "server", "total")
DEFAULT_TIMEOUT_S = 30.0
START_TIMEOUT_S = 180.0  # the server process imports torch and builds the network first


class MeasureError(Exception):
    """The run could not go on (no server, a timeout, a bad frame); one line."""


@dataclass(frozen=True)
class SplitConfig:
    """Which network both sides build, and where it is split."""

    backbone: str
    tasks: tuple[int, ...]
    cut: str = "output"
    input_shape: tuple[int, ...] = (3, 224, 224)
    hidden: int = DEFAULT_HIDDEN
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["tasks"], d["input_shape"] = list(self.tasks), list(self.input_shape)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SplitConfig:
        return cls(str(d["backbone"]), tuple(int(t) for t in d["tasks"]), str(d["cut"]),
                   tuple(int(s) for s in d["input_shape"]), int(d["hidden"]), int(d["seed"]))


def build_split(cfg: SplitConfig) -> tuple[MTLNet, SplitNet]:
    """The seeded network in eval mode and its halves; the caller's RNG state is kept."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        net = build_mtl(cfg.backbone, list(cfg.tasks), cfg.hidden, cfg.input_shape)
    net.eval()
    return net, net.split(cfg.cut)
