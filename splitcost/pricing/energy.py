"""Edge energy per inference, joules.

The device computing (active power x edge compute), the device waiting for the results (idle
power x transfer and server time), the radio sending the payload (energy per bit + base power
while sending). A cellular radio that was idle also burns a tail after the burst, given
separately because back-to-back inferences share it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from splitcost.hardware.device import Device
from splitcost.hardware.link import Link
from splitcost.hardware.transfer import Transfer


@dataclass(frozen=True)
class Energy:
    compute_j: float
    idle_j: float
    radio_j: float
    tail_j: float
    radio_modelled: bool  # False: the payload crossed a link without a radio energy model

    @property
    def total_j(self) -> float:
        return self.compute_j + self.idle_j + self.radio_j

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["total_j"] = self.total_j
        return d


def edge_energy(device: Device, link: Link, edge_s: float, server_s: float, xfer: Transfer
                ) -> Energy | None:
    """Energy per inference on the edge device; None without the device's power figures."""
    if device.power_active_w is None:
        return None
    idle = (device.power_idle_w or 0.0) * (xfer.total_s + server_s)
    radio, tail = 0.0, 0.0
    if xfer.payload_bytes and link.energy is not None:
        radio = link.energy.per_bit_j * xfer.payload_bytes * 8
        radio += link.energy.base_power_w * xfer.uplink_s
        tail = link.energy.tail_j
    modelled = not xfer.payload_bytes or link.energy is not None
    return Energy(device.power_active_w * edge_s, idle, radio, tail, modelled)
