"""Backbone names that need no import: the paper's aliases and the canonical spelling of a
torchvision name, so that a cached profile is found without importing torchvision."""

from __future__ import annotations

# The paper's code names (github.com/intelligolabs/MTL-Split).
ALIASES = {
    "vgg": "vgg16",
    "mobilenet": "mobilenet_v3_small",
    "mobilenetv3": "mobilenet_v3_small",
    "efficientnet": "efficientnet_b0",
}


def canonical_name(requested: str) -> str:
    """The name :func:`splitcost.network.zoo.resolve` looks a zoo backbone up by."""
    text = requested.strip()
    return ALIASES.get(text.lower(), text.lower())


def is_user_factory(requested: str) -> bool:
    """``package.module:factory``: the user's code builds the network."""
    return ":" in requested
