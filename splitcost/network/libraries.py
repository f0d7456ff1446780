"""Backbones from model libraries: ``timm:NAME`` and ``hf:NAME_OR_CONFIG`` (Hugging Face
transformers), built without weights and without network access.

Both libraries are optional (``pip install 'splitcost[timm]'`` / ``'splitcost[hf]'``), imported
only when such a backbone is asked for.

* ``timm:NAME`` is ``timm.create_model(NAME, pretrained=False, **args)``; its backbone is what
  ``model.forward_features(x)`` computes: every feature map (or token) before timm's pooling and
  classifier head (``forward_head``), as the paper's code takes ``features``.
* ``hf:NAME`` is ``AutoModel.from_config(config)``: the base model without any task head (and
  without BERT's or ViT's pooler); its backbone output is ``last_hidden_state``, every token.
  The config comes from a model type (``hf:bert``, ``hf:gpt2``, ``hf:vit``: transformers'
  defaults, changed with ``--backbone-arg num_hidden_layers=4``), a local ``config.json`` or a
  folder holding one, or a Hub name already in the local cache. A Hub name that is not cached
  would need a download, which splitcost never makes: that is said in one line.

The backbone module (:class:`Adopted`) holds the model's own child modules that its forward uses,
under their own names (``layer1.0.conv1``, ``encoder.layer.0``), and the model's own top-level
parameters (a ViT's ``cls_token``, ``pos_embed``); the library's forward runs them.
"""

from __future__ import annotations

import importlib.util
import inspect
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from splitcost.errors import InputError, unknown_name
from splitcost.network.backbone_args import Args

TIMM_RULE = "model.forward_features(x): every feature map before timm's pooling and head"
HF_RULE = ("AutoModel.from_config (the base model, no task head, no pooler): "
           "last_hidden_state, every token")


def require(package: str, extra: str) -> None:
    if importlib.util.find_spec(package) is None:
        raise InputError(f"{package} is not installed; pip install 'splitcost[{extra}]' "
                         f"(or pip install {package})", parameter="backbone")


class Adopted(nn.Module):
    """A library model's forward over the child modules it uses, kept under their own names.

    The model object itself is held outside the module tree (its unused children, such as the
    classifier, are then neither counted nor moved); its used children and its top-level
    parameters and buffers are registered here, the same objects, so that the model's forward
    runs exactly them.
    """

    def __init__(self, model: nn.Module, run: Callable[..., Any], used: set[str] | None):
        super().__init__()
        object.__setattr__(self, "model", model)
        object.__setattr__(self, "_run", run)
        for name, child in model.named_children():
            if used is None or name in used:
                self.add_module(name, child)
        for name, p in model.named_parameters(recurse=False):
            self.register_parameter(name, p)
        for name, b in model.named_buffers(recurse=False):
            self.register_buffer(name, b)

    def train(self, mode: bool = True) -> Adopted:
        super().train(mode)
        model: nn.Module = self.__dict__["model"]
        model.training = mode  # the library's forward may read its own flag
        return self

    def forward(self, *inputs: torch.Tensor) -> Any:
        run: Callable[..., Any] = self.__dict__["_run"]
        return run(self.__dict__["model"], *inputs)


def used_children(model: nn.Module, run: Callable[..., Any], inputs: Sequence[torch.Tensor]
                  ) -> set[str] | None:
    """The direct children ``run`` calls, from one run on meta tensors (None: it failed, so
    keep every child and let the trace say why in one line)."""
    from splitcost.network.zoo import meta_twin

    twin = meta_twin(model)
    names = {id(c): n for n, c in twin.named_children()}
    used: set[str] = set()
    hooks = [c.register_forward_pre_hook(lambda m, a: used.add(names[id(m)]))
             for _, c in twin.named_children()]
    try:
        with torch.no_grad(), torch.device("meta"):
            run(twin.eval(), *[torch.empty(t.shape, dtype=t.dtype, device="meta")
                               for t in inputs])
    except Exception:  # the real trace reports it, with the module and operator
        return None
    finally:
        for h in hooks:
            h.remove()
    return used


# --- timm ---------------------------------------------------------------------------------------


def timm_names() -> list[str]:
    require("timm", "timm")
    import timm

    return list(timm.list_models())


def check_timm(name: str) -> str:
    names = timm_names()
    if name not in names:
        raise unknown_name("timm model", name, names, "see timm.list_models()",
                           parameter="backbone")
    return name


def _timm_features(model: nn.Module, *inputs: torch.Tensor) -> Any:
    forward_features: Callable[..., Any] = getattr(model, "forward_features")  # noqa: B009
    return forward_features(*inputs)


def timm_factory(name: str, args: Args) -> Callable[[], nn.Module]:
    import timm

    kwargs = dict(args)
    if kwargs.get("pretrained"):
        raise InputError("pretrained=True downloads weights; splitcost profiles without them",
                         parameter="backbone_args")
    kwargs["pretrained"] = False

    def factory() -> nn.Module:
        model: nn.Module = timm.create_model(name, **kwargs)
        return model

    return factory


def timm_default_input(model: nn.Module) -> tuple[int, ...] | None:
    cfg = getattr(model, "pretrained_cfg", None) or {}
    size = cfg.get("input_size")
    return tuple(int(d) for d in size) if size else None


def timm_backbone(model: nn.Module, inputs: Sequence[torch.Tensor]) -> nn.Module:
    return Adopted(model, _timm_features, used_children(model, _timm_features, inputs))


# --- transformers -------------------------------------------------------------------------------


def _config_class_attrs(config: Any) -> list[str]:
    return sorted(k for k in config.to_dict() if not k.startswith("_"))


def hf_config(text: str, args: Args) -> Any:
    """The config of ``hf:text``, with ``args`` set on it; no network access."""
    require("transformers", "hf")
    from transformers import CONFIG_MAPPING, AutoConfig

    kwargs = dict(args)
    path = Path(text).expanduser()
    if text in CONFIG_MAPPING:
        config = AutoConfig.for_model(text)
    elif path.is_file() or (path.is_dir() and (path / "config.json").is_file()):
        try:
            config = AutoConfig.from_pretrained(os.fspath(path), local_files_only=True)
        except (OSError, ValueError, KeyError) as e:
            raise InputError(f"cannot read the config {str(path)!r}: "
                             f"{str(e).splitlines()[0][:200]}", parameter="backbone") from e
    elif "/" in text or (text.count("-") >= 1 and text not in CONFIG_MAPPING):
        try:
            config = AutoConfig.from_pretrained(text, local_files_only=True)
        except (OSError, ValueError) as e:
            raise InputError(
                f"hf:{text} needs a download of its config from the Hugging Face Hub, which "
                "splitcost does not make (it builds from a config, no weights, no network); "
                "give a model type such as hf:bert with --backbone-arg, or a local config.json",
                parameter="backbone") from e
    else:
        raise unknown_name("transformers model type", text, list(CONFIG_MAPPING),
                           "or give a local config.json", parameter="backbone")
    known = set(config.to_dict())
    for key, value in kwargs.items():
        if key not in known:
            raise unknown_name(f"{type(config).__name__} field", key, known,
                               parameter="backbone_args")
        setattr(config, key, value)
    return config


def hf_factory(config: Any) -> Callable[[], nn.Module]:
    from transformers import AutoModel

    def factory() -> nn.Module:
        model_class: Any = AutoModel._model_mapping[type(config)]  # what from_config builds
        extra = {}
        if "add_pooling_layer" in inspect.signature(model_class).parameters:
            extra["add_pooling_layer"] = False
        model: nn.Module = AutoModel.from_config(config, **extra)  # type: ignore[no-untyped-call]
        return model

    return factory


def _hf_hidden(model: nn.Module, *inputs: torch.Tensor, **given: Any) -> Any:
    kwargs: dict[str, Any] = {"return_dict": True, **given}
    if "use_cache" in inspect.signature(model.forward).parameters:
        kwargs["use_cache"] = False  # a key/value cache is for generation, not one pass
    out = model(*inputs, **kwargs)
    hidden = getattr(out, "last_hidden_state", None)
    return hidden if hidden is not None else out[0]


def _hf_hidden_masked(model: nn.Module, *inputs: torch.Tensor) -> Any:
    """:func:`_hf_hidden` with an explicit all-ones attention mask beside the token ids."""
    ids = inputs[0]
    mask = torch.ones(ids.shape, dtype=torch.long, device=ids.device)
    return _hf_hidden(model, ids, *inputs[1:], attention_mask=mask)


EAGER_NOTE = ("attention as transformers' eager kernel with an all-ones mask (its sdpa mask code "
              "reads tensor values)")


def hf_backbone(model: nn.Module, inputs: Sequence[torch.Tensor]) -> tuple[nn.Module, str]:
    """The base model's backbone, and a note when it is traced another way than by default.

    Causal decoders (GPT-2, Llama) build their attention mask by reading tensor values when
    transformers' default ``sdpa`` attention is used, which a meta trace cannot follow: they are
    traced with the ``eager`` attention kernel and an explicit all-ones mask instead (the same
    MACs; the eager kernel holds the score matrix, as it does on a real run).
    """
    if not inputs or used_children(model, _hf_hidden, inputs) is not None:
        return Adopted(model, _hf_hidden, None), ""
    if len(inputs) != 1 or inputs[0].is_floating_point() or not hasattr(
            model, "set_attn_implementation"):
        return Adopted(model, _hf_hidden, None), ""  # the trace says why, in one line
    switch: Callable[[str], None] = getattr(model, "set_attn_implementation")  # noqa: B009
    switch("eager")
    return Adopted(model, _hf_hidden_masked, None), EAGER_NOTE


def hf_default_input(config: Any) -> tuple[tuple[int, ...], str]:
    """A sample input the model takes: an image for vision configs, 128 token ids otherwise."""
    if hasattr(config, "image_size") and hasattr(config, "num_channels"):
        size = config.image_size
        hw = tuple(size) if isinstance(size, list | tuple) else (size, size)
        return (int(config.num_channels), int(hw[0]), int(hw[1])), "float32"
    return (128,), "int64"
