"""``latency()``: how long a network takes on a device under a runtime, in total and by module."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from splitcost import defaults as D
from splitcost.hardware.device import Device
from splitcost.network.profile import Profile
from splitcost.pricing.latency import Latency, latency_of
from splitcost.studies.inputs import device_of, profile_of, runtime_of


def latency(backbone: Profile | str | Any, device: str | Device = D.DEVICE, *,
            runtime: str = D.RUNTIME, profiles: Sequence[str | os.PathLike[str]] = ()
            ) -> Latency:
    """The predicted compute time of ``backbone`` (a Profile, or a name or module profiled at
    the defaults: give a Profile for another precision, batch or input) on ``device`` under
    ``runtime`` (eager, tensorrt or onnxruntime), with every module's share.

    >>> r = latency(profile("resnet18", whole=True, dtype="float16"), "rtx-3090")
    >>> r.total_s, r.to_dict()["latency"]["total_s"]  # doctest: +SKIP
    """
    d = device_of(device, profiles)
    return latency_of(profile_of(backbone), d, runtime_of(runtime, (d,)))


__all__ = ["Latency", "latency"]
