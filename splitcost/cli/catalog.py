"""`splitcost devices` and `splitcost links`: the profiles, without importing torch."""

from __future__ import annotations

from pathlib import Path

from splitcost.cli.app import app
from splitcost.cli.options import command
from splitcost.cli.output import show
from splitcost.render.registry import Format


@command(app, result="splitcost.hardware.catalog:DeviceCatalog", shared=("profiles",))
def devices(profiles: list[Path] | None = None, fmt: Format = Format.TABLE) -> None:
    """The device profiles: memory, usable memory, runtime overhead, peaks, sources."""
    from splitcost.hardware.catalog import device_catalog

    show(device_catalog(profiles or []), fmt)


@command(app, result="splitcost.hardware.catalog:LinkCatalog", shared=("profiles",))
def links(profiles: list[Path] | None = None, fmt: Format = Format.TABLE) -> None:
    """The link profiles: uplink rate, protocol efficiency, RTT, sources."""
    from splitcost.hardware.catalog import link_catalog

    show(link_catalog(profiles or []), fmt)
