"""The ImageNet-1k accuracy torchvision publishes for a classifier's pretrained weights.

This is the pretrained *whole classifier's* top-1 on ImageNet-1k validation, as torchvision's
weights metadata gives it (``weights.meta["_metrics"]["ImageNet-1K"]``) for its default weights,
at the weights' own crop size: a hint of how good the backbone's features are, not a measure of
the user's tasks. Models without torchvision weights have none.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class ImageNetAccuracy:
    """torchvision's published ImageNet-1k accuracy of one set of pretrained weights."""

    top1: float  # percent
    top5: float | None  # percent
    weights: str  # "ResNet50_Weights.IMAGENET1K_V2"
    crop_size: int | None  # the resolution the accuracy was measured at

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def imagenet_accuracy(name: str) -> ImageNetAccuracy | None:
    """The default weights' ImageNet-1k accuracy of torchvision classifier ``name``; None when
    torchvision has no such weights (a user model, a name it does not know)."""
    import torchvision

    try:
        enum = torchvision.models.get_model_weights(name)
    except (ValueError, KeyError):
        return None
    weights = enum.DEFAULT
    metrics = weights.meta.get("_metrics", {}).get("ImageNet-1K")
    if not metrics or "acc@1" not in metrics:
        return None
    transforms = getattr(weights, "transforms", None)
    crop = getattr(transforms, "keywords", {}).get("crop_size")
    top5 = metrics.get("acc@5")
    return ImageNetAccuracy(float(metrics["acc@1"]), None if top5 is None else float(top5),
                            str(weights), int(crop) if crop is not None else None)
