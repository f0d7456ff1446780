"""Heads on several servers: which tasks each server runs, and how the payload reaches them.

A placement puts each task's head (and, past the branch point, its copy of the backbone's tail)
on one of K servers. Every server runs what comes after the cut for its own tasks; a part of the
trunk after the cut and before the branch point runs on every server that needs it. The payload
reaches them in one of two ways (:class:`FanOut`):

* ``unicast``: the edge sends each server its own copy over the uplink, one after another (the
  uplink carries K copies, and the edge's radio pays for each);
* ``relay``: the edge sends one copy to the first server, which forwards each other server its
  share over the link between servers (its RTT/2 plus the bytes, one server after another).

The inference completes when the slowest server has answered: the maximum over servers.
Pure data; the pricing is :func:`splitcost.pricing.scenarios.split`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from splitcost.hardware.device import Device
from splitcost.hardware.link import Link

if TYPE_CHECKING:
    from splitcost.pricing.request import PricingRequest


class FanOut(StrEnum):
    """How one payload reaches several servers."""

    UNICAST = "unicast"  # a copy per server on the uplink
    RELAY = "relay"  # one copy to the first server, forwarded between servers


@dataclass(frozen=True)
class ServerGroup:
    """One server and the tasks (0-based, in the request's order) whose heads it runs."""

    device: Device
    tasks: tuple[int, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"server": self.device.name, "tasks": [t + 1 for t in self.tasks]}


@dataclass(frozen=True)
class Placement:
    """Tasks on servers, and how the payload fans out to them."""

    groups: tuple[ServerGroup, ...]
    fan_out: FanOut = FanOut.UNICAST
    relay: Link | None = None  # the link between servers; only read with ``relay``

    def to_dict(self) -> dict[str, Any]:
        return {
            "servers": [g.to_dict() for g in self.groups],
            "fan_out": self.fan_out,
            "relay_link": None if self.relay is None or self.fan_out is FanOut.UNICAST
            else self.relay.name,
        }


def server_groups(pr: PricingRequest) -> tuple[ServerGroup, ...]:
    """The servers of a request and their tasks: every task on ``pr.server`` without a
    placement. A task the placement does not name (a what-if with more tasks) runs on the
    first server; a named task beyond the request's tasks is ignored."""
    n = len(pr.heads)
    if pr.placement is None:
        return (ServerGroup(pr.server, tuple(range(n))),)
    groups = [ServerGroup(g.device, tuple(t for t in g.tasks if t < n))
              for g in pr.placement.groups]
    named = {t for g in groups for t in g.tasks}
    rest = tuple(t for t in range(n) if t not in named)
    if rest:
        groups[0] = ServerGroup(groups[0].device, tuple(sorted(groups[0].tasks + rest)))
    return tuple(g for g in groups if g.tasks)


def fan_out(pr: PricingRequest) -> FanOut:
    return FanOut.UNICAST if pr.placement is None else pr.placement.fan_out


__all__ = ["FanOut", "Placement", "ServerGroup", "fan_out", "server_groups"]
