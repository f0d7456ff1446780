"""`splitcost devices` and `splitcost links`: the profiles, without importing torch."""

from __future__ import annotations

from typing import Any

from splitcost.cli.app import app
from splitcost.cli.options import (
    Format,
    Profiles,
    check_format,
)
from splitcost.cli.output import output


@app.command()
def devices(profiles: Profiles = None, fmt: Format = "table") -> None:
    """The device profiles: memory, usable memory, runtime overhead, peaks, sources."""
    from splitcost.profiles import device_names, load_device

    fmt = check_format(fmt, ("table", "json", "markdown"))
    dirs = profiles or []
    items = [load_device(n, dirs) for n in device_names(dirs)]
    _render_list(fmt, items, "devices")


@app.command()
def links(profiles: Profiles = None, fmt: Format = "table") -> None:
    """The link profiles: uplink rate, protocol efficiency, RTT, sources."""
    from splitcost.profiles import link_names, load_link

    fmt = check_format(fmt, ("table", "json", "markdown"))
    dirs = profiles or []
    items = [load_link(n, dirs) for n in link_names(dirs)]
    _render_list(fmt, items, "links")


def _render_list(fmt: str, items: list[Any], kind: str) -> None:
    from splitcost.render import cells

    grid = cells.devices_grid if kind == "devices" else cells.links_grid
    output(fmt, lambda: {kind: [i.to_dict() for i in items]}, lambda: grid(items))


