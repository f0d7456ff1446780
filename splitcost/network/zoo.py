"""Backbones by name: the paper's aliases, torchvision classification, detection and
segmentation models, ``timm:NAME``, ``hf:NAME_OR_CONFIG`` (:mod:`splitcost.network.libraries`)
and user factories ``package.module:factory``, each with optional keyword arguments.

A backbone is built on the meta device (no weights, no memory). The backbone of a torchvision
classifier is its feature extractor up to the last feature map, before global pooling and the
classifier, which is what the paper's code takes (``vgg16().features``,
``mobilenet_v3_small().features``, ``efficientnet_b0().features``); :data:`FAMILY_RULES` says how
it is chosen for each family, :data:`LIBRARY_RULES` for detection, segmentation, timm and
transformers. ``whole=True`` builds the whole classifier instead, so that its MACs can be checked
against torchvision's ``_ops`` metadata. Nothing is downloaded: torchvision models are built with
``weights=None, weights_backbone=None``, timm's with ``pretrained=False``, transformers' from a
config. User code that fails (a factory that raises, a download attempted) is one line naming the
factory; ``splitcost --traceback`` shows the whole of it.
"""

from __future__ import annotations

import contextlib
import copy
import importlib
import inspect
import os
import sys
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from splitcost.errors import InputError, unknown_name
from splitcost.network import libraries
from splitcost.network.backbone_args import Args, shown
from splitcost.network.names import ALIASES, canonical_name
from splitcost.network.profile import BackboneInfo
from splitcost.units import InputSpec

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


# torchvision's other model families, by the module that holds them: the backbone they share.
LIBRARY_RULES = {
    "detection": "model.backbone: the feature extractor and FPN, every feature map (before "
                 "the region proposals and box heads; images as given, no resize)",
    "segmentation": "model.backbone: the trunk's feature maps (before the segmentation head)",
    "timm": libraries.TIMM_RULE,
    "hf": libraries.HF_RULE,
}


def torchvision_names() -> list[str]:
    import torchvision

    return list(torchvision.models.list_models(module=torchvision.models))


def torchvision_family(name: str) -> str | None:
    """``detection`` or ``segmentation`` for those torchvision models; None otherwise."""
    import torchvision.models as tvm

    for family in ("detection", "segmentation"):
        if name in tvm.list_models(module=getattr(tvm, family)):
            return family
    return None


def _all_torchvision() -> list[str]:
    import torchvision.models as tvm

    return [*torchvision_names(), *tvm.list_models(module=tvm.detection),
            *tvm.list_models(module=tvm.segmentation)]


def family_of(name: str) -> str:
    for prefix in sorted(FAMILY_RULES, key=len, reverse=True):
        if name.startswith(prefix):
            return prefix
    raise InputError(f"no backbone rule for torchvision model {name!r}; use --whole")


def _named(name: str, args: Args) -> str:
    return f"{name}({shown(args)})" if args else name


def resolve(requested: str, whole: bool = False, args: Args = ()) -> BackboneInfo:
    """Name -> BackboneInfo, without building anything (unknown names list the closest)."""
    if not isinstance(requested, str):
        raise InputError(f"expected a backbone name, got {type(requested).__name__}",
                         parameter="backbone")
    text = requested.strip()
    if not text:
        raise InputError("is empty; give a name such as efficientnet or resnet50",
                         parameter="backbone")
    prefix, _, rest = text.partition(":")
    if prefix in ("timm", "hf") and rest:
        if prefix == "timm":
            libraries.check_timm(rest)
        else:
            libraries.hf_config(rest, args)  # checks the name and the arguments now
        rule = "the whole model" if whole else LIBRARY_RULES[prefix]
        return BackboneInfo(_named(text, args), requested, prefix, rule, whole, args=args)
    if ":" in text:
        module, _, factory = text.partition(":")
        if module.startswith("torchvision.models") and factory.lower() in _all_torchvision():
            # torchvision's own builders by path: the same model as by name, backbone and all
            return resolve(factory, whole, args)
        if not module or not factory:
            raise InputError(
                f"expected a user backbone as package.module:factory, timm:NAME or hf:NAME, "
                f"got {requested!r}", parameter="backbone"
            )
        return BackboneInfo(_named(text, args), requested, "user",
                            "the module returned by the factory", True, args=args)
    name = canonical_name(text)
    names = _all_torchvision()
    if name not in names:
        raise unknown_name(
            "backbone", text, [*ALIASES, *names],
            "or use timm:NAME, hf:NAME or package.module:factory for your own",
            parameter="backbone",
        )
    family = torchvision_family(name)
    if family is not None:
        if whole:
            raise InputError(f"{name} runs whole only on real images (its heads filter boxes "
                             "by value); profile its backbone (no --whole)", parameter="whole")
        return BackboneInfo(_named(name, args), requested, "torchvision",
                            f"{name}(): {LIBRARY_RULES[family]}", False, root="backbone",
                            args=args)
    if whole:
        return BackboneInfo(_named(name, args), requested, "torchvision",
                            "the whole classifier", True, args=args)
    parts, rule = FAMILY_RULES[family_of(name)]
    root = parts if isinstance(parts, str) and parts != "vit" else ""
    return BackboneInfo(_named(name, args), requested, "torchvision", f"{name}(): {rule}",
                        False, root=root, args=args)


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


def build_on_meta(factory: Callable[[], nn.Module], what: str = "") -> tuple[nn.Module, str]:
    """Build with parameters on the meta device.

    Some constructors compute with tensors (RegNet derives its widths with ``torch.arange`` and
    reads them back); on meta that fails, so such a model is built on CPU with weight
    initialisation skipped, then moved to meta. Returns the model and how it was built. A
    factory that fails on CPU too is one line naming ``what`` (:func:`user_code`).
    """
    try:
        with torch.device("meta"), _SkipInit():
            model = factory()
        return _check_module(model), "meta"
    except InputError:
        raise
    except Exception:  # built again on CPU below, where a real failure surfaces
        pass
    with user_code(what), torch.device("cpu"), _SkipInit():
        model = _check_module(factory())
    return model.to("meta"), "cpu, then moved to meta (its constructor computes with tensors)"


def _is_download(e: BaseException) -> bool:
    """Whether ``e`` is a failed download (this machine has no network, by design)."""
    import http.client
    import socket
    import urllib.error

    kinds: tuple[type[BaseException], ...] = (urllib.error.URLError, http.client.HTTPException,
                                               socket.gaierror, ConnectionError, TimeoutError)
    hub = sys.modules.get("huggingface_hub.errors")
    if hub is not None:
        kinds += tuple(getattr(hub, n) for n in ("OfflineModeIsEnabled",
                                                 "LocalEntryNotFoundError") if hasattr(hub, n))
    requests = sys.modules.get("requests.exceptions")
    if requests is not None:
        kinds += (requests.RequestException,)
    seen: set[int] = set()
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, kinds):
            return True
        e = e.__cause__ or e.__context__  # type: ignore[assignment]
    return False


@contextlib.contextmanager
def user_code(what: str) -> Iterator[None]:
    """Run a factory (the user's code, or a library's): whatever it raises becomes one line
    that names it, the original kept as the cause for ``--traceback``."""
    try:
        yield
    except InputError:
        raise
    except Exception as e:
        first = (str(e).strip().splitlines() or [""])[0][:300]
        said = f"{type(e).__name__}: {first}" if first else type(e).__name__
        if _is_download(e):
            raise InputError(f"{what or 'the factory'} tried to download ({said}); splitcost "
                             "builds models without weights and without network access: pass "
                             "no pretrained weights (e.g. --backbone-arg weights=None)",
                             parameter="backbone") from e
        hint, parameter = "", "backbone"
        if isinstance(e, TypeError) and "unexpected keyword argument" in first:
            hint, parameter = "; check the --backbone-arg names", "backbone_args"
        elif isinstance(e, TypeError) and "argument" in first:
            hint = "; give the factory's arguments with --backbone-arg NAME=VALUE"
        raise InputError(f"{what or 'the factory'} raised {said}{hint}",
                         parameter=parameter) from e


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
    try:
        return copy.deepcopy(model, dict(memo))
    except (TypeError, copy.Error, RuntimeError):
        pass
    # Something the module holds cannot be copied (a lock, a file, a process handle): the twin
    # shares those objects with the original instead; tracing reads only shapes.
    for m in model.modules():
        for value in vars(m).values():
            if isinstance(value, torch.Tensor | nn.Module | dict):
                continue
            try:
                copy.deepcopy(value, dict(memo))
            except Exception:  # not copyable: shared, as the comment above says
                memo[id(value)] = value
    try:
        return copy.deepcopy(model, memo)
    except Exception as e:
        raise InputError(f"cannot make a meta copy of the {type(model).__name__} to trace "
                         f"({type(e).__name__}: {str(e)[:200]}); pass a factory "
                         "(package.module:factory) instead", parameter="backbone") from e


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


def check_input(info: BackboneInfo, shape: tuple[int, ...] | InputSpec) -> None:
    """torchvision models take one CxHxW image per sample."""
    spec = shape if isinstance(shape, InputSpec) else InputSpec(tuple(shape))
    if info.source == "torchvision" and (len(spec.shape) != 3 or spec.more):
        raise InputError(f"{info.name} takes one image per sample as CxHxW, such as 3x224x224; "
                         f"got {spec}", parameter="input_shape")


def build(
    info: BackboneInfo, image_hw: tuple[int, int] | None = None, *, real: bool = False,
    spec: InputSpec | None = None,
) -> tuple[nn.Module, str]:
    """Build the backbone (or whole model). Returns (module, how it was built).

    On meta by default (no weights, no memory); ``real=True`` builds it on CPU with randomly
    initialised weights, for the code that runs it (the split network, calibration). ``spec``
    is the input the backbone will be traced on (a library backbone is chosen with it).
    """
    args = dict(info.args)
    name = info.factory_name
    if info.source == "user":
        return build_user(name, real=real, args=info.args)
    if info.source in ("timm", "hf"):
        return _build_library(info, real, spec)
    import torchvision

    kwargs = {**_torchvision_kwargs(name, image_hw), **args}
    family = torchvision_family(name)
    if family is not None:
        kwargs.setdefault("weights", None)
        kwargs.setdefault("weights_backbone", None)  # its default downloads ImageNet weights
    if name.startswith(("googlenet", "inception")):
        kwargs.setdefault("init_weights", False)  # skips scipy's slow truncated-normal init
    if name == "googlenet":
        kwargs.setdefault("aux_logits", False)  # as torchvision builds it with weights
    what = f"torchvision's {name}({shown(tuple(kwargs.items()))})"

    def factory() -> nn.Module:
        return _check_module(torchvision.models.get_model(name, **kwargs))

    with warnings_quiet():
        model, how = _build(factory, real, what)
    if family is not None:
        backbone = model.backbone
        assert isinstance(backbone, nn.Module)
        return backbone, how
    if info.whole:
        return model, how
    return extract_backbone(name, model), how


def _build(factory: Callable[[], nn.Module], real: bool, what: str) -> tuple[nn.Module, str]:
    if real:
        with user_code(what):
            return _check_module(factory()), "cpu, random weights"
    return build_on_meta(factory, what)


def _build_library(info: BackboneInfo, real: bool, spec: InputSpec | None
                   ) -> tuple[nn.Module, str]:
    prefix, _, rest = info.factory_name.partition(":")
    what = f"{info.factory_name}({shown(info.args)})"
    if prefix == "timm":
        factory = libraries.timm_factory(rest, info.args)
    else:
        factory = libraries.hf_factory(libraries.hf_config(rest, info.args))

    with warnings_quiet():
        model, how = _build(factory, real, what)
    if prefix == "hf":
        inputs = [torch.empty((1, *i.shape), dtype=getattr(torch, i.dtype))
                  for i in (spec.all if spec is not None else ())]
        backbone, note = libraries.hf_backbone(model, inputs)
        return backbone, f"{how}; {note}" if note else how
    if info.whole:
        return model, how
    shape = spec.shape if spec is not None else libraries.timm_default_input(model)
    inputs = [torch.empty((1, *shape))] if shape else []
    return libraries.timm_backbone(model, inputs), how


@contextlib.contextmanager
def warnings_quiet() -> Iterator[None]:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def build_user(spec: str, *, real: bool = False, args: Args = ()) -> tuple[nn.Module, str]:
    """Import ``package.module`` and call ``factory(**args)``: this runs the user's code, by
    design; whatever it raises is one line naming the factory (:func:`user_code`).

    On meta unless ``real``; a module object named in place of a factory is used as it is when
    ``real`` (never copied or moved), as a meta twin otherwise. A factory with a
    ``weights_backbone`` parameter (torchvision's detection and segmentation builders) gets
    ``weights_backbone=None`` unless given: its default downloads ImageNet weights.
    """
    module_name, _, attr = spec.partition(":")
    # Like `python -m`, the working folder is searched, but only while this import runs.
    here = os.getcwd()
    added = here not in sys.path and "" not in sys.path
    if added:
        sys.path.insert(0, here)
    try:
        with user_code(f"importing {module_name!r}"):
            try:
                module = importlib.import_module(module_name)
            except ImportError as e:
                raise InputError(f"cannot import {module_name!r} for --backbone {spec!r}: {e}",
                                 parameter="backbone") from None
    finally:
        if added and here in sys.path:
            sys.path.remove(here)
    factory = getattr(module, attr, None)
    if factory is None:
        public = [n for n in dir(module) if not n.startswith("_")]
        raise unknown_name(f"factory in {module_name}", attr, public, parameter="backbone")
    if isinstance(factory, nn.Module):
        if args:
            raise InputError(f"{spec!r} is a module object, not a factory: it takes no "
                             "arguments", parameter="backbone_args")
        if real:
            return factory, "the module object"
        return meta_twin(factory), "meta twin of the module object"
    if not callable(factory):
        raise InputError(f"{spec!r} is not callable; expected a function returning an nn.Module",
                         parameter="backbone")
    kwargs = dict(args)
    with contextlib.suppress(TypeError, ValueError):  # builtins may have no signature
        if "weights_backbone" in inspect.signature(factory).parameters:
            kwargs.setdefault("weights_backbone", None)
    what = f"the factory {spec}({shown(tuple(kwargs.items()))})"

    def call() -> nn.Module:
        return _check_module(factory(**kwargs))

    if real:
        with user_code(what):
            return call(), "cpu, the factory's weights"
    return build_on_meta(call, what)
