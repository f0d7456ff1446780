"""MACs and parameters of every torchvision classifier against torchvision's own weights
metadata (``_ops`` is GMACs, though torchvision calls it GFLOPS; ``num_params`` is exact).

The metadata was computed by torchvision's maintainers with a dispatch-level counter (PR #6936),
independently of splitcost. It is printed to 2 or 3 decimals, so the tolerance is 1% or half of
the last printed digit, whichever is larger.
"""

from __future__ import annotations

import warnings

import pytest
import torchvision
from torchvision.models import get_model_weights, list_models

from splitcost.network.profiler import profile

WEIGHTS = [
    (name, w)
    for name in list_models(module=torchvision.models)
    for w in get_model_weights(name)
]


def _tolerance(printed: float) -> float:
    text = repr(printed)
    decimals = len(text.split(".")[1]) if "." in text else 0
    return max(0.01 * printed, 0.5 * 10**-decimals)


def test_every_classifier_is_covered() -> None:
    assert len({n for n, _ in WEIGHTS}) == len(list_models(module=torchvision.models)) >= 80


@pytest.mark.parametrize(("name", "weights"), WEIGHTS, ids=[str(w) for _, w in WEIGHTS])
def test_macs_and_params_match_torchvision_metadata(name: str, weights: object) -> None:
    crop = weights.transforms.keywords["crop_size"]  # type: ignore[attr-defined]
    meta = weights.meta  # type: ignore[attr-defined]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p = profile(name, (3, crop, crop), whole=True)
    assert p.params == meta["num_params"]
    assert abs(p.macs / 1e9 - meta["_ops"]) <= _tolerance(meta["_ops"])
    assert p.flops == 2 * p.macs
