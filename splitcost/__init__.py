"""splitcost: where should a neural network run, and what does each choice cost?

The public API is imported lazily so that ``import splitcost`` (and the CLI's ``--help``,
``devices`` and ``links``) never pays for importing torch::

    import splitcost
    p = splitcost.profile("efficientnet", input_shape=(3, 224, 224))
    r = splitcost.compare(p, tasks=3, device="jetson-nano-4gb", link="1gbps")
    r.to_dict()
    r.to_frame()           # a pandas DataFrame (pip install 'splitcost[frame]')
    r.plot("latency.png")  # the figure (pip install 'splitcost[plot]')
    splitcost.explore("resnet18,efficientnet_b0", devices="jetson-nano-4gb", links="wifi5")
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from splitcost._version import __version__

# name -> the module that defines it. No public name is also the name of a splitcost
# submodule: importing a submodule binds it on its package, and it would shadow the function.
_LAZY = {
    "profile": "splitcost.network.profiler",
    "Profile": "splitcost.network.profile",
    "compare": "splitcost.studies.compare",
    "Report": "splitcost.studies.compare",
    "sweep": "splitcost.studies.sweep",
    "Sweep": "splitcost.studies.sweep",
    "plan": "splitcost.studies.plan",
    "grid": "splitcost.studies.grid",
    "GridPrices": "splitcost.pricing.grid",
    "Plan": "splitcost.studies.plan",
    "explore": "splitcost.studies.explore",
    "Explore": "splitcost.studies.explore",
    "figure": "splitcost.render.plots",
    "save_figure": "splitcost.render.plots",
    "pricing_request": "splitcost.studies.inputs",
    "latency": "splitcost.studies.latency",
    "Latency": "splitcost.pricing.latency",
    "PricingRequest": "splitcost.pricing.request",
    "load_device": "splitcost.hardware.catalog",
    "load_link": "splitcost.hardware.catalog",
    "Device": "splitcost.hardware.device",
    "Link": "splitcost.hardware.link",
    "InputError": "splitcost.errors",
    "to_text": "splitcost.render.registry",
    "verdict": "splitcost.render.verdicts",
}

__all__ = [
    "Device",
    "Explore",
    "GridPrices",
    "InputError",
    "Latency",
    "Link",
    "Plan",
    "PricingRequest",
    "Profile",
    "Report",
    "Sweep",
    "__version__",
    "compare",
    "explore",
    "figure",
    "grid",
    "latency",
    "load_device",
    "load_link",
    "plan",
    "pricing_request",
    "profile",
    "save_figure",
    "sweep",
    "to_text",
    "verdict",
]

if TYPE_CHECKING:
    from splitcost.errors import InputError
    from splitcost.hardware.catalog import load_device, load_link
    from splitcost.hardware.device import Device
    from splitcost.hardware.link import Link
    from splitcost.network.profile import Profile
    from splitcost.network.profiler import profile
    from splitcost.pricing.grid import GridPrices
    from splitcost.pricing.latency import Latency
    from splitcost.pricing.request import PricingRequest
    from splitcost.render.plots import figure, save_figure
    from splitcost.render.registry import to_text
    from splitcost.render.verdicts import verdict
    from splitcost.studies.compare import Report, compare
    from splitcost.studies.explore import Explore, explore
    from splitcost.studies.grid import grid
    from splitcost.studies.inputs import pricing_request
    from splitcost.studies.latency import latency
    from splitcost.studies.plan import Plan, plan
    from splitcost.studies.sweep import Sweep, sweep


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'splitcost' has no attribute {name!r}")
