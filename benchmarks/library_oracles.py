"""The timm and transformers figures the tests assert, printed as a table: splitcost's
parameters and MACs beside sum(p.numel()) and FlopCounterMode on a real CPU forward.

Run: .venv/bin/python benchmarks/library_oracles.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from test_oracle_libraries import HF, TIMM, _flops

import splitcost


def main() -> None:
    import timm
    import transformers

    print(f"{'model':34} {'params':>12} {'= numel':>8} {'2 x MACs':>15} {'FlopCounter':>15} "
          f"{'ratio':>7}")
    for name in TIMM:
        torch.manual_seed(0)
        model = timm.create_model(name, pretrained=False).eval()
        size = tuple(model.pretrained_cfg["input_size"])
        p = splitcost.profile(f"timm:{name}", size, whole=True)
        oracle = _flops(model, torch.randn(1, *size))
        same = p.params == sum(q.numel() for q in model.parameters())
        print(f"{'timm:' + name:34} {p.params:>12,} {same!s:>8} {2 * p.macs:>15,} "
              f"{oracle:>15,} {2 * p.macs / oracle:>7.4f}")
    for model_type, (args, text) in HF.items():
        p = splitcost.profile(f"hf:{model_type}", text, backbone_args=args)
        config = transformers.AutoConfig.for_model(model_type, **args)
        extra = {} if model_type == "gpt2" else {"add_pooling_layer": False}
        model = transformers.AutoModel.from_config(config, **extra).eval()
        x = (torch.randint(0, config.vocab_size, (1, *p.input.shape))
             if p.input.dtype == "int64" else torch.randn(1, *p.input.shape))
        oracle = _flops(model, x)
        same = p.params == sum(q.numel() for q in model.parameters())
        print(f"{'hf:' + model_type + ' ' + text:34} {p.params:>12,} {same!s:>8} "
              f"{2 * p.macs:>15,} {oracle:>15,} {2 * p.macs / oracle:>7.4f}")


if __name__ == "__main__":
    main()
