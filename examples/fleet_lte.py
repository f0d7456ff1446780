"""A fleet of 200 cameras on LTE: which deployment keeps up, and how many servers it needs.

Each camera runs inference 5 times a second on an EfficientNet-B0 backbone with 3 task heads and
reaches an RTX 3090 server over LTE. For every scenario: can each camera keep up (its edge
compute and its LTE uplink below 100% busy), and how many rtx-3090 servers the fleet needs (one
server's compute and network ingress, whichever binds). The MTL-Split payload is tried as float32
(as the paper sends Z_b) and as int8.

Run: .venv/bin/python examples/fleet_lte.py [fleet.png]   (the optional file gets the figure)
The same from the command line:
    splitcost plan --backbone efficientnet --tasks 3 --devices 200 --fps 5 --link lte \
        --payload-dtype int8 --plot fleet.png
"""

from __future__ import annotations

import sys

import splitcost
from splitcost.studies.plan import FleetRow, plan
from splitcost.units import format_bytes, format_rate

CAMERAS = 200
FPS = 5.0


def explain(row: FleetRow, payload_bytes: int) -> str:
    """One line: does each camera keep up, and what the fleet needs from the servers."""
    if not row.device_ok:
        if row.device_binding == "uplink":
            need = FPS * payload_bytes * 8
            why = (f"uplink {format_rate(need)} ({FPS:g}/s x {format_bytes(payload_bytes)}) "
                   f"is {row.uplink_utilisation:.0%} of LTE")
        elif row.device_binding == "edge compute":
            why = f"edge compute is {row.edge_utilisation:.0%} busy at {FPS:g}/s"
        else:
            why = row.device_binding
        text = f"a camera cannot keep up: {why}"
        if row.servers_needed:
            text += (f"; the server side alone would need {row.servers_needed} rtx-3090 "
                     f"server(s) of {row.max_devices_per_server} cameras each "
                     f"({server_binding(row)} binds)")
        return text
    text = "each camera keeps up"
    if row.servers_needed == 0:
        return f"{text} (edge {row.edge_utilisation:.0%} busy); no server needed"
    if row.servers_needed is None:
        return f"{text}, but the model does not fit one server's memory"
    return (f"{text} (edge {row.edge_utilisation:.0%}, uplink {row.uplink_utilisation:.0%} "
            f"busy); {row.servers_needed} rtx-3090 server(s), one takes "
            f"{row.max_devices_per_server} cameras ({server_binding(row)} binds; fleet ingress "
            f"{format_rate(row.ingress_bps)})")


def server_binding(row: FleetRow) -> str:
    """What limits one server: its compute (F x server time per camera) or its ingress."""
    by_compute = int(1.0 / row.server_load_per_device)
    return "server compute" if row.max_devices_per_server == by_compute else "server ingress"


def main() -> None:
    p = splitcost.profile("efficientnet", input_shape=(3, 224, 224))
    print(f"{CAMERAS} cameras x {FPS:g} inferences/s, efficientnet + 3 heads, jetson-nano-4gb "
          f"-> lte -> rtx-3090")
    plans = {}
    for dtype in ("float32", "int8"):
        pl = plan(p, 3, devices=CAMERAS, fps=FPS, device="jetson-nano-4gb", server="rtx-3090",
                  link="lte", payload_dtype=dtype)
        plans[dtype] = pl
        print(f"\nMTL-Split payload as {dtype}:")
        for row in pl.rows:
            s = pl.report.scenario(row.name)
            print(f"  {row.name:9s} {explain(row, s.payload_bytes)}")
        print(f"  -> {splitcost.verdict(pl)}")

    f32, i8 = (plans[d].row("MTL-Split") for d in ("float32", "int8"))
    zb32 = plans["float32"].report.scenario("MTL-Split").payload_bytes
    zb8 = plans["int8"].report.scenario("MTL-Split").payload_bytes
    print(f"\nint8 sends {format_bytes(zb8)} instead of {format_bytes(zb32)} per inference: the "
          f"LTE uplink goes from {f32.uplink_utilisation:.0%} to {i8.uplink_utilisation:.0%} "
          f"busy, and MTL-Split {'now keeps up' if i8.device_ok else 'still cannot keep up'}"
          f" with {i8.servers_needed} server(s) for the {CAMERAS} cameras.")

    if len(sys.argv) > 1:
        from splitcost.render.plots import fleet_figure, save

        save(fleet_figure(plans["int8"]), sys.argv[1])
        print(f"figure: {sys.argv[1]}")


if __name__ == "__main__":
    main()
