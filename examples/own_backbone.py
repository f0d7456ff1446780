"""Your own backbone, by ``package.module:factory``: profile it, price every cut, compare.

``my_backbone.py`` (next to this file) is the user's code: a ``make()`` factory that returns the
backbone as a ``torch.nn.Module``. splitcost imports the module, calls the factory, builds the
network on the meta device and traces it once. The spec is ``my_backbone:make`` because this
folder is on ``sys.path`` (Python puts a script's folder there); in a project it would be
``mypackage.models:make``, importable from where you run splitcost.

Run: .venv/bin/python examples/own_backbone.py
The same from the command line (the module must be importable from the current folder):
    cd examples && splitcost profile --backbone my_backbone:make
    cd examples && splitcost sweep --backbone my_backbone:make --link lte --depth 2
    cd examples && splitcost report --backbone my_backbone:make --link lte
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from torch import nn

import splitcost
from splitcost.studies.sweep import sweep
from splitcost.units import format_bytes, format_count, format_rate, format_seconds

HERE = Path(__file__).resolve().parent
SPEC = "my_backbone:make"
SHAPE = (3, 224, 224)


def pytorch_check() -> tuple[int, tuple[int, ...], int]:
    """Parameters, output shape and convolution MACs of the real model on CPU, by PyTorch's own
    count and a forward pass: figures splitcost did not compute."""
    import my_backbone  # the same module splitcost imports

    model = my_backbone.make().eval()
    macs = 0

    def count(module: nn.Module, _inputs: object, output: torch.Tensor) -> None:
        nonlocal macs
        assert isinstance(module, nn.Conv2d)
        k = module.kernel_size[0] * module.kernel_size[1]
        macs += output.numel() * (module.in_channels // module.groups) * k

    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            m.register_forward_hook(count)
    with torch.no_grad():
        out = model(torch.zeros(1, *SHAPE))
    params = sum(p.numel() for p in model.parameters())
    return params, tuple(out.shape), macs


def main() -> None:
    if str(HERE) not in sys.path:  # run from anywhere: my_backbone.py lives next to this file
        sys.path.insert(0, str(HERE))

    # 1. Profile: one trace on meta tensors, no weights allocated.
    p = splitcost.profile(SPEC, input_shape=SHAPE)
    zb = "x".join(str(d) for d in p.zb_shape)
    print(f"{p.name}: {p.params:,} params, {p.macs:,} MACs, Z_b {zb} = {p.zb_bytes:,} bytes")
    params, shape, macs = pytorch_check()
    same = (params, shape, macs) == (p.params, p.zb_shape, p.macs)
    print(f"PyTorch on CPU: {params:,} params, output {'x'.join(map(str, shape))}, "
          f"{macs:,} conv MACs -> {'agrees' if same else 'DIFFERS'}")

    # 2. Every cut, inside the residual blocks too (depth 2), over LTE.
    sw = sweep(p, 3, link="lte", depth=2)
    print(f"\nEvery cut over {sw.link.name} ({format_rate(sw.link.bandwidth_bps)}), 3 heads on "
          f"{sw.server.name}:")
    print(f"  {'cut':14s} {'payload':>10s} {'edge':>9s} {'transfer':>9s} {'total':>9s}")
    for i, r in enumerate(sw.results):
        s = r.scenario
        mark = "  <- best" if i == sw.best else ""
        print(f"  {r.cut.name:14s} {format_bytes(s.payload_bytes):>10s} "
              f"{format_seconds(s.edge_s):>9s} {format_seconds(s.transfer_s):>9s} "
              f"{format_seconds(s.total_s):>9s}{mark}")
    inside = next(r for r in sw.results if r.cut.name == "stage1.conv1")
    skip, conv1 = 16 * 112 * 112 * 4, 16 * 56 * 56 * 4  # float32 bytes, by hand
    print(f"A cut inside a residual block sends the skip tensor too: stage1.conv1 sends "
          f"{inside.cut.payload_bytes:,} bytes = skip {skip:,} + conv1 output {conv1:,} "
          f"(by hand: {skip + conv1:,})")
    print(splitcost.verdict(sw))

    # 3. The four scenarios and the verdict.
    rep = splitcost.compare(p, tasks=3, device="jetson-nano-4gb", link="lte")
    print()
    for s in rep.scenarios:
        print(f"  {s.name:9s} {'fits' if s.feasible else 'does not fit':12s} "
              f"{format_seconds(s.total_s):>9s} per inference")
    print(splitcost.verdict(rep))
    heads = sum(h.macs for h in rep.heads)
    print(f"(MACs per inference: backbone {format_count(p.macs)}, heads {format_count(heads)})")


if __name__ == "__main__":
    main()
