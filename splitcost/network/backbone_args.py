"""Keyword arguments for a backbone's factory: ``--backbone-arg k=v`` (repeatable) or a mapping.

A value is read as a Python literal when it is one (``3``, ``0.5``, ``True``, ``None``,
``(224, 224)``, ``'text'``; ``true``/``false``/``none`` in any case too) and as text otherwise
(``resnet50``). No torch here: the command line checks these before anything is built.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping, Sequence
from typing import Any

from splitcost.errors import InputError

Args = tuple[tuple[str, Any], ...]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_WORDS = {"true": True, "false": False, "none": None, "null": None}
MAX_VALUE_CHARS = 1000


def _value(key: str, text: str) -> Any:
    raw = text.strip()
    if len(raw) > MAX_VALUE_CHARS:
        raise InputError(f"the value of {key!r} is {len(raw)} characters long; at most "
                         f"{MAX_VALUE_CHARS}", parameter="backbone_args")
    if raw.lower() in _WORDS:
        return _WORDS[raw.lower()]
    try:
        return ast.literal_eval(raw)
    except (ValueError, SyntaxError, MemoryError, RecursionError, TypeError):
        return raw  # a plain word: a model name, an activation, a mode


def parse_backbone_args(value: object) -> Args:
    """``["depth=2", "name=resnet50"]`` or ``{"depth": 2}`` -> ``(("depth", 2), ...)``."""
    if value is None:
        return ()
    if isinstance(value, Mapping):
        items = list(value.items())
        for k, _ in items:
            _check_key(k)
        return tuple((str(k), v) for k, v in items)
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise InputError(f"expected a list of NAME=VALUE or a mapping, got {value!r}",
                         parameter="backbone_args")
    if all(isinstance(i, tuple) and len(i) == 2 for i in value):  # already parsed pairs
        for k, _ in value:
            _check_key(k)
        return tuple((str(k), v) for k, v in value)
    out: dict[str, Any] = {}
    for item in value:
        if not isinstance(item, str) or "=" not in item:
            raise InputError(f"expected NAME=VALUE such as depth=2, got {item!r}",
                             parameter="backbone_args")
        key, _, text = item.partition("=")
        key = key.strip()
        _check_key(key)
        if key in out:
            raise InputError(f"{key!r} is given twice", parameter="backbone_args")
        out[key] = _value(key, text)
    return tuple(out.items())


def _check_key(key: object) -> None:
    if not isinstance(key, str) or not _NAME.fullmatch(key):
        raise InputError(f"expected NAME=VALUE with NAME a Python identifier, got {key!r}",
                         parameter="backbone_args")


def shown(args: Args) -> str:
    """``depth=2, name='resnet50'``: as the factory is called."""
    return ", ".join(f"{k}={v!r}" for k, v in args)
