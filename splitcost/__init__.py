"""splitcost: where should a neural network run, and what does each choice cost?

The public API is imported lazily so that ``import splitcost`` (and the CLI's ``--help``,
``devices`` and ``links``) never pays for importing torch::

    import splitcost
    p = splitcost.profile("efficientnet", input_shape=(3, 224, 224))
    r = splitcost.compare(p, tasks=3, device="jetson-nano-4gb", link="1gbps")
    r.to_dict()
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_LAZY = {
    "profile": "splitcost.profiling",
    "Profile": "splitcost.profiling",
    "compare": "splitcost.report",
    "Report": "splitcost.report",
    "sweep": "splitcost.sweep",
    "Sweep": "splitcost.sweep",
    "plan": "splitcost.plan",
    "Plan": "splitcost.plan",
    "load_device": "splitcost.profiles",
    "load_link": "splitcost.profiles",
    "Device": "splitcost.profiles",
    "Link": "splitcost.profiles",
    "InputError": "splitcost.errors",
}

__all__ = [
    "Device",
    "InputError",
    "Link",
    "Plan",
    "Profile",
    "Report",
    "Sweep",
    "compare",
    "load_device",
    "load_link",
    "plan",
    "profile",
    "sweep",
]

if TYPE_CHECKING:
    from splitcost.errors import InputError
    from splitcost.plan import Plan, plan
    from splitcost.profiles import Device, Link, load_device, load_link
    from splitcost.profiling import Profile, profile
    from splitcost.report import Report, compare
    from splitcost.sweep import Sweep, sweep


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'splitcost' has no attribute {name!r}")
