"""The MTL-Split paper's Table 4 and Sec. 4.2 from splitcost's Python API.

Run: .venv/bin/python examples/paper_table4.py
"""

from __future__ import annotations

import splitcost


def main() -> None:
    # Table 4: torchinfo 1.8.0's figures at batch 32, 3x224x224 (MB = 10^6 bytes).
    for label, name in (("MobileNetV3", "mobilenet"), ("EfficientNet", "efficientnet")):
        p = splitcost.profile(name, input_shape=(3, 224, 224), batch=32)
        t = p.memory.torchinfo
        print(f"{label:13s} params {p.params / 1e6:.1f} M, params size {t.params_bytes / 1e6:.2f} "
              f"MB, forward/backward {t.forward_backward_bytes / 1e6:.2f} MB")

    # Sec. 4.2, LoC: two single-task EfficientNets on a Jetson Nano, under the paper's memory
    # model (torchinfo, batch 32) and under the inference model at batch 1.
    for model, batch in (("torchinfo", 32), ("inference", 1)):
        p = splitcost.profile("efficientnet", batch=batch)
        r = splitcost.compare(p, tasks=2, device="jetson-nano-4gb", link="1gbps",
                              memory_model=model)
        loc = r.scenario("LoC")
        print(f"LoC, 2 tasks, {model} model, batch {batch}: {loc.edge_memory_bytes / 1e9:.2f} GB "
              f"of {r.device.memory_usable / 1e9:.2f} GB usable -> "
              f"{'fits' if loc.feasible else 'does not fit'}")

    # Sec. 4.2, RoC: 100 FACES images (2835x3543 RGB, float32) over an ideal 1 Gbit/s link.
    faces = splitcost.profile("efficientnet", input_shape=(3, 2835, 3543))
    r = splitcost.compare(faces, tasks="3,2,3", link="1gbps", images=100)
    roc = r.scenario("RoC")
    print(f"RoC, 100 FACES inputs of {faces.input_bytes / 2**20:.0f} MiB: "
          f"{100 * roc.transfer.uplink_s:.1f} s on the link")


if __name__ == "__main__":
    main()
