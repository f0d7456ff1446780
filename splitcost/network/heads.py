"""Task heads as in the paper's code, built and traced on meta.

Each head is ``Linear(flat(Z_b) -> hidden) -> Dropout -> ReLU -> Linear(hidden -> classes)``
(MTL-Split, Sec. 4 and its code), hidden = 256 by default.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import torch
from torch import nn

from splitcost.defaults import HIDDEN as DEFAULT_HIDDEN
from splitcost.network.profile import BackboneInfo, Profile
from splitcost.network.profiler import profile_module
from splitcost.network.tasks import Task
from splitcost.units import InputSpec

DEFAULT_DROPOUT = 0.2


def build_head(in_features: int, classes: int, hidden: int = DEFAULT_HIDDEN,
               dropout: float = DEFAULT_DROPOUT) -> nn.Module:
    """One task head, as the paper's code builds it."""
    return nn.Sequential(
        OrderedDict(
            [
                ("fc1", nn.Linear(in_features, hidden)),
                ("dropout", nn.Dropout(dropout)),
                ("relu", nn.ReLU()),
                ("fc2", nn.Linear(hidden, classes)),
            ]
        )
    )


def head_profiles(bb: Profile, tasks: Sequence[Task], hidden: int = DEFAULT_HIDDEN
                  ) -> tuple[Profile, ...]:
    """Trace one head per distinct class count on the flattened Z_b of ``bb``."""
    features = sum(m.numel for m in bb.trace.outputs) // bb.batch
    traced: dict[int, Profile] = {}
    for t in tasks:
        if t.classes in traced:
            continue
        with torch.device("meta"):
            head = build_head(features, t.classes, hidden)
        name = f"head({features}->{hidden}->{t.classes})"
        info = BackboneInfo(name, name, "module", "task head as in the paper's code", True)
        traced[t.classes] = profile_module(
            head, InputSpec((features,)), batch=bb.batch, dtype=bb.dtype, info=info,
            built="meta",
        )
    return tuple(traced[t.classes] for t in tasks)
