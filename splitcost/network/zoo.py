"""Backbones by name: the paper's aliases, any torchvision classification model, user factories.

A backbone is built on the meta device (no weights, no memory). The backbone of a torchvision
classifier is its feature extractor up to the last feature map, before global pooling and the
classifier, which is what the paper's code takes (``vgg16().features``,
``mobilenet_v3_small().features``, ``efficientnet_b0().features``); :data:`FAMILY_RULES` says how
it is chosen for each family. ``whole=True`` builds the whole classifier instead, so that its MACs
can be checked against torchvision's ``_ops`` metadata.
"""

from __future__ import annotations

import contextlib
import copy
import importlib
import os
import sys
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from splitcost.errors import InputError, unknown_name
from splitcost.network.names import ALIASES, canonical_name, is_user_factory
from splitcost.network.profile import BackboneInfo

# family prefix -> (child modules that make the backbone, or a special rule; sentence for users)
FAMILY_RULES: dict[str, tuple[tuple[str, ...] | str, str]] = {
    "vgg": ("features", "model.features (the convolutional stack, before avgpool and classifier)"),
    "alexnet": ("features", "model.features (before avgpool and classifier)"),
    "mobilenet": ("features", "model.features (before avgpool and classifier)"),
    "efficientnet": ("features", "model.features (before avgpool and classifier)"),
    "convnext": ("features", "model.features (before avgpool and classifier)"),
    "densenet": ("features", "model.features (before the final ReLU, pooling and classifier)"),
    "squeezenet": ("features", "model.features (before the classifier's dropout and conv)"),
    "resnet": (
        ("conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4"),
        "stem + layer1..layer4 (before avgpool and fc)",
    ),
    "resnext": (
        ("conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4"),
        "stem + layer1..layer4 (before avgpool and fc)",
    ),
    "wide_resnet": (
        ("conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4"),
        "stem + layer1..layer4 (before avgpool and fc)",
    ),
    "regnet": (("stem", "trunk_output"), "stem + trunk_output (before avgpool and fc)"),
    "mnasnet": ("layers", "model.layers (before the spatial mean and classifier)"),
    "shufflenet": (
        ("conv1", "maxpool", "stage2", "stage3", "stage4", "conv5"),
        "conv1..conv5 (before the spatial mean and fc)",
    ),
    "googlenet": (
        (
            "conv1", "maxpool1", "conv2", "conv3", "maxpool2", "inception3a", "inception3b",
            "maxpool3", "inception4a", "inception4b", "inception4c", "inception4d",
            "inception4e", "maxpool4", "inception5a", "inception5b",
        ),
        "conv1..inception5b (before avgpool, dropout and fc; no auxiliary heads)",
    ),
    "inception": (
        (
            "Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3", "maxpool1", "Conv2d_3b_1x1",
            "Conv2d_4a_3x3", "maxpool2", "Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a",
            "Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e", "Mixed_7a", "Mixed_7b", "Mixed_7c",
        ),
        "Conv2d_1a_3x3..Mixed_7c (before avgpool, dropout and fc; no auxiliary head)",
    ),
    "maxvit": (("stem", "blocks"), "stem + blocks (before the classifier's pooling)"),
    "swin": (("features", "norm"), "features + norm, channels last (before permute, pooling)"),
    "vit": ("vit", "patch embedding + class token + encoder: every token (before x[:, 0])"),
}


def torchvision_names() -> list[str]:
    import torchvision

    return list(torchvision.models.list_models(module=torchvision.models))


def family_of(name: str) -> str:
    for prefix in sorted(FAMILY_RULES, key=len, reverse=True):
        if name.startswith(prefix):
            return prefix
    raise InputError(f"no backbone rule for torchvision model {name!r}; use --whole")


def resolve(requested: str, whole: bool = False) -> BackboneInfo:
    """Name -> BackboneInfo, without building anything (unknown names list the closest)."""
    text = requested.strip()
    if not text:
        raise InputError("is empty; give a name such as efficientnet or resnet50",
                         parameter="backbone")
    if is_user_factory(text):
        module, _, factory = text.partition(":")
        if not module or not factory:
            raise InputError(
                f"expected a user backbone as package.module:factory, got {requested!r}"
            )
        return BackboneInfo(text, requested, "user", "the module returned by the factory", True)
    name = canonical_name(text)
    names = torchvision_names()
    if name not in names:
        raise unknown_name(
            "backbone", text, [*ALIASES, *names], "or use package.module:factory for your own"
        )
    if whole:
        return BackboneInfo(name, requested, "torchvision", "the whole classifier", True)
    parts, rule = FAMILY_RULES[family_of(name)]
    root = parts if isinstance(parts, str) and parts != "vit" else ""
    return BackboneInfo(name, requested, "torchvision", f"{name}(): {rule}", False, root)


# --- building on meta -----------------------------------------------------------------------


# In-place methods that only change values (what weight initialisation calls): on a meta
# tensor, which has no values, they change nothing, so a meta build skips them.
_VALUE_ONLY = frozenset({
    "normal_", "uniform_", "zero_", "fill_", "erfinv_", "mul_", "add_", "clamp_",
    "bernoulli_", "exponential_", "random_", "log_normal_", "cauchy_", "geometric_",
})


class _SkipInit(TorchFunctionMode):
    """Skip weight initialisation while building: weights are never used, only their shapes.

    ``torch.nn.init`` functions are skipped outright, and the value-only in-place methods they
    call are skipped on meta tensors (their result is the tensor itself); on meta, where
    PyTorch runs them as Python decompositions, they were most of a build's time.
    """

    def __torch_function__(
        self, func: Any, types: Any, args: Any = (), kwargs: Any = None
    ) -> Any:
        kwargs = kwargs or {}
        if getattr(func, "__module__", None) == "torch.nn.init":
            return kwargs.get("tensor", args[0] if args else None)
        if (getattr(func, "__name__", "") in _VALUE_ONLY and args
                and isinstance(args[0], torch.Tensor) and args[0].is_meta
                and not any(isinstance(a, torch.Tensor) for a in (*args[1:], *kwargs.values()))):
            return args[0]
        return func(*args, **kwargs)


def build_on_meta(factory: Callable[[], nn.Module]) -> tuple[nn.Module, str]:
    """Build with parameters on the meta device.

    Some constructors compute with tensors (RegNet derives its widths with ``torch.arange`` and
    reads them back); on meta that fails, so such a model is built on CPU with weight
    initialisation skipped, then moved to meta. Returns the model and how it was built.
    """
    try:
        with torch.device("meta"), _SkipInit():
            model = factory()
        return _check_module(model), "meta"
    except (NotImplementedError, RuntimeError):
        pass
    with torch.device("cpu"), _SkipInit():
        model = _check_module(factory())
    return model.to("meta"), "cpu, then moved to meta (its constructor computes with tensors)"


def _check_module(model: object) -> nn.Module:
    if not isinstance(model, nn.Module):
        raise InputError(f"the factory returned {type(model).__name__}, not a torch.nn.Module")
    return model


def meta_twin(model: nn.Module) -> nn.Module:
    """A copy of ``model`` whose parameters and buffers are meta tensors; ``model`` is untouched.

    The deep copy's memo maps each parameter and buffer to a meta stand-in, so no weight is
    copied and tied weights stay tied.
    """
    memo: dict[int, Any] = {}
    for p in model.parameters():
        memo[id(p)] = nn.Parameter(torch.empty_like(p, device="meta"), p.requires_grad)
    for b in model.buffers():
        memo[id(b)] = torch.empty_like(b, device="meta")
    return copy.deepcopy(model, memo)


class Stages(nn.Sequential):
    """Named children of a model run in order, keeping the model's own module names."""


class ViTFeatures(nn.Module):
    """torchvision's VisionTransformer up to the encoder's output: every token, before x[:, 0].

    Adopts the model's ``conv_proj``, ``class_token`` and ``encoder`` so that module paths are
    the model's own (``encoder.layers.encoder_layer_0``); the forward is torchvision's.
    """

    def __init__(self, vit: Any):
        super().__init__()
        self.image_size: int = vit.image_size
        self.patch_size: int = vit.patch_size
        self.hidden_dim: int = vit.hidden_dim
        self.class_token = vit.class_token
        self.conv_proj = vit.conv_proj
        self.encoder = vit.encoder

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, h, w = x.shape
        p = self.patch_size
        x = self.conv_proj(x)
        x = x.reshape(n, self.hidden_dim, (h // p) * (w // p))
        x = x.permute(0, 2, 1)
        x = torch.cat([self.class_token.expand(n, -1, -1), x], dim=1)
        out: torch.Tensor = self.encoder(x)
        return out


def extract_backbone(name: str, model: nn.Module) -> nn.Module:
    """The backbone of torchvision classifier ``name`` (see FAMILY_RULES)."""
    parts, _ = FAMILY_RULES[family_of(name)]
    if parts == "vit":
        return ViTFeatures(model)
    if isinstance(parts, str):
        sub = getattr(model, parts)
        assert isinstance(sub, nn.Module)
        return sub
    return Stages(OrderedDict((p, getattr(model, p)) for p in parts))


def _torchvision_kwargs(name: str, image_hw: tuple[int, int] | None) -> dict[str, Any]:
    """Constructor arguments that depend on the input resolution."""
    if image_hw is None:
        return {}
    if name.startswith("vit_"):
        if image_hw[0] != image_hw[1]:
            raise InputError(f"{name} needs a square input, got {image_hw[0]}x{image_hw[1]}")
        return {"image_size": image_hw[0]}
    if name.startswith("maxvit"):
        return {"input_size": image_hw}
    return {}


def check_input(info: BackboneInfo, shape: tuple[int, ...]) -> None:
    """torchvision classifiers take one CxHxW image per sample."""
    if info.source == "torchvision" and len(shape) != 3:
        text = "x".join(str(d) for d in shape)
        raise InputError(f"{info.name} takes one image per sample as CxHxW, such as 3x224x224; "
                         f"got {text}")


def build(
    info: BackboneInfo, image_hw: tuple[int, int] | None = None, *, real: bool = False
) -> tuple[nn.Module, str]:
    """Build the backbone (or whole model). Returns (module, how it was built).

    On meta by default (no weights, no memory); ``real=True`` builds it on CPU with randomly
    initialised weights, for the code that runs it (the split network, calibration).
    """
    if info.source == "user":
        return build_user(info.name, real=real)
    import torchvision

    kwargs = _torchvision_kwargs(info.name, image_hw)
    if info.name.startswith(("googlenet", "inception")):
        kwargs["init_weights"] = False  # skips scipy's slow truncated-normal init
    if info.name == "googlenet":
        kwargs["aux_logits"] = False  # as torchvision builds it with weights

    def factory() -> nn.Module:
        return _check_module(torchvision.models.get_model(info.name, **kwargs))

    with warnings_quiet():
        model, how = (factory(), "cpu, random weights") if real else build_on_meta(factory)
    if info.whole:
        return model, how
    return extract_backbone(info.name, model), how


@contextlib.contextmanager
def warnings_quiet() -> Iterator[None]:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def build_user(spec: str, *, real: bool = False) -> tuple[nn.Module, str]:
    """Import ``package.module`` and call ``factory()``: this runs the user's code, by design.

    On meta unless ``real``; a module object named in place of a factory is used as it is when
    ``real`` (never copied or moved), as a meta twin otherwise.
    """
    module_name, _, attr = spec.partition(":")
    # Like `python -m`, the working folder is searched, but only while this import runs.
    here = os.getcwd()
    added = here not in sys.path and "" not in sys.path
    if added:
        sys.path.insert(0, here)
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise InputError(f"cannot import {module_name!r} for --backbone {spec!r}: {e}") from None
    finally:
        if added and here in sys.path:
            sys.path.remove(here)
    factory = getattr(module, attr, None)
    if factory is None:
        public = [n for n in dir(module) if not n.startswith("_")]
        raise unknown_name(f"factory in {module_name}", attr, public)
    if isinstance(factory, nn.Module):
        if real:
            return factory, "the module object"
        return meta_twin(factory), "meta twin of the module object"
    if not callable(factory):
        raise InputError(f"{spec!r} is not callable; expected a function returning an nn.Module")
    if real:
        return _check_module(factory()), "cpu, the factory's weights"
    return build_on_meta(factory)
